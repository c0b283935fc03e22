//! Conflicts that arise inside a session, with the real SyncEvolution client and Radicale:
//! someone edits an item upstream between the bridge's read and its write, so Radicale
//! answers the bridge's conditional PUT with 412. The bridge reads the item again, resolves
//! the conflict by its policy and writes again in the same session; the phone sees a
//! successful sync.

mod support;

use support::e2e::{assert_mode, options, PASSWORD, USER};
use support::items;
use support::relay::bridge_behind_relay_with;
use support::syncevolution::{Datastore, Phone, SyncMode};
use support::webdav::url_path;

const CONTACTS: Datastore = Datastore::Contacts;

/// What a sync that met a 412 left: Radicale's card and the phone's, unfolded.
struct Outcome {
    server: String,
    phone: String,
}

const NEW_MOBILE: &str = "+4917699999999";
const UPSTREAM_NOTE: &str = "Edited upstream meanwhile";

/// The phone changes a contact's mobile number while someone adds a note to it on
/// Radicale just before the bridge's PUT of the phone's change arrives; the bridge runs
/// with `policy`. The sync must succeed, resolve the 412 inside the session and leave
/// the next sync quiet.
fn sync_racing_an_upstream_edit(policy: &str, device: &str) -> Outcome {
    let radicale = support::radicale::Radicale::start();
    let collections = radicale.standard_collections(USER);
    let (relay, bridge) = bridge_behind_relay_with(&radicale, |b| {
        b.env("SYNCML_BRIDGE_SYNC__CONFLICT_POLICY", policy)
    });
    let mut phone = Phone::new();
    phone.configure(
        &bridge.syncml_url(),
        USER,
        PASSWORD,
        device,
        options(&[CONTACTS]),
    );
    let contact = items::contact(1);
    phone.put_item(CONTACTS, &contact.file, &contact.vcard);
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let dav = radicale.client(USER);
    let held = support::e2e::fetch_all(&dav, &collections[0], true);
    let [(href, body)] = &held[..] else {
        panic!("one contact upstream expected: {held:?}");
    };

    let edited = contact.vcard.replace(&contact.tels[0], NEW_MOBILE);
    assert_ne!(edited, contact.vcard);
    phone.modify_item(CONTACTS, &contact.file, &edited);
    let upstream_version = body.replace("END:VCARD", &format!("NOTE:{UPSTREAM_NOTE}\r\nEND:VCARD"));
    let racer = radicale.client(USER);
    let target = href.clone();
    relay.before_first("PUT", &url_path(href), move || {
        let reply = racer.put(&target, "text/vcard; charset=utf-8", &upstream_version);
        assert!(
            reply.is_success(),
            "the racing PUT failed: {}",
            reply.status
        );
    });

    let during = phone.sync(SyncMode::TwoWay, &[]);
    during.assert_success();
    assert_mode(&during, CONTACTS, "two-way");
    let log = bridge.log_text();
    assert!(
        log.contains("changed upstream during the session, resolved again"),
        "the bridge's PUT never met the 412:\n{log}"
    );
    let held = support::e2e::fetch_all(&dav, &collections[0], true);
    assert_eq!(held.len(), 1, "no duplicate: {held:?}");
    let on_phone = phone.items(CONTACTS);
    assert_eq!(on_phone.len(), 1, "{on_phone:?}");

    // The anchors moved: the next sync is an ordinary two-way one with nothing to do.
    let next = phone.sync(SyncMode::TwoWay, &[]);
    next.assert_success();
    assert_mode(&next, CONTACTS, "two-way");
    let report = next.source(CONTACTS);
    let moved = [
        report.local_added(),
        report.local_updated(),
        report.local_removed(),
        report.remote_added(),
        report.remote_updated(),
        report.remote_removed(),
    ];
    assert_eq!(moved, [0; 6], "the next sync was not quiet: {report:?}");
    Outcome {
        server: items::unfold(&held[0].1),
        phone: items::unfold(&on_phone[0].1),
    }
}

fn holds_new_mobile(card: &str) -> bool {
    items::digits(card).contains(&items::digits(NEW_MOBILE))
}

#[test]
fn a_contact_edited_upstream_during_the_sync_is_resolved_inside_the_session() {
    // The default policy (merge): the phone's number and the upstream note, on both sides.
    let o = sync_racing_an_upstream_edit("merge", "e2e-conflict-412");
    assert!(holds_new_mobile(&o.server), "{}", o.server);
    assert!(o.server.contains(UPSTREAM_NOTE), "{}", o.server);
    assert!(o.phone.contains(UPSTREAM_NOTE), "{}", o.phone);
    assert!(o.phone.contains(NEW_MOBILE), "{}", o.phone);
}

#[test]
fn a_contact_edited_upstream_during_the_sync_keeps_the_edit_under_server_wins() {
    let o = sync_racing_an_upstream_edit("server-wins", "e2e-conflict-412-server");
    assert!(!holds_new_mobile(&o.server), "{}", o.server);
    assert!(o.server.contains(UPSTREAM_NOTE), "{}", o.server);
    // The server's version replaced the phone's change on the phone.
    assert!(o.phone.contains(UPSTREAM_NOTE), "{}", o.phone);
    assert!(!o.phone.contains(NEW_MOBILE), "{}", o.phone);
}
