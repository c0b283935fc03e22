//! The real SyncEvolution client against the real binary in front of Radicale: a SyncML
//! 1.0 session and the DevInf the bridge answers it with, two identical to-dos without a
//! UID added on the phone in one sync, and a large item whose chunks the client must not
//! trim.

mod support;

use std::path::{Path, PathBuf};

use support::e2e::{options, World};
use support::items::{self, unfold};
use support::syncevolution::{Datastore, PhoneOptions, SyncMlVersion, SyncMode};

/// Every session directory the bridge recorded for `device`, oldest first.
fn recorded_sessions(data_dir: &Path, device: &str) -> Vec<PathBuf> {
    let dir = data_dir.join("debug").join(device);
    let mut sessions: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    sessions.sort();
    sessions
}

/// The text of every message the bridge sent in a recorded session.
fn sent_messages(session: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(session)
        .unwrap_or_else(|e| panic!("{}: {e}", session.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-out.xml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

/// The `<DevInf ...>...</DevInf>` document of a message, if it carries one.
fn devinf_of(message: &str) -> Option<&str> {
    let start = message.find("<DevInf")?;
    let end = message[start..].find("</DevInf>")? + start + "</DevInf>".len();
    Some(&message[start..end])
}

#[test]
fn a_syncml_10_client_syncs_contacts_and_gets_a_10_devinf() {
    const DEVICE: &str = "syncml10-phone";
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_LOG__DEBUG_DEVICES",
            &format!("[\"{DEVICE}\"]"),
        )
    });
    let mut phone = world.phone(
        DEVICE,
        PhoneOptions {
            version: SyncMlVersion::V1_0,
            ..options(&[Datastore::Contacts])
        },
    );
    for c in items::contacts(3) {
        phone.put_item(Datastore::Contacts, &c.file, &c.vcard);
    }

    let slow = phone.sync(SyncMode::Slow, &[]);
    support::e2e::assert_mode(&slow, Datastore::Contacts, "slow");
    assert_eq!(world.server_items(Datastore::Contacts).len(), 3);

    // Changes both ways: one edit and one add on the phone, one add on the server.
    let edited = items::contact(0)
        .vcard
        .replace("END:VCARD", "NOTE:geändert am Telefon\r\nEND:VCARD");
    phone.modify_item(Datastore::Contacts, &items::contact(0).file, &edited);
    let added = items::contact(3);
    phone.put_item(Datastore::Contacts, &added.file, &added.vcard);
    let server_card = items::dav_vcard("srv-10", "Hopper", "Grace", &["TEL;TYPE=cell:+15550100"]);
    let url = format!("{}srv-10.vcf", world.collection(Datastore::Contacts));
    assert!(world
        .dav()
        .put(&url, "text/vcard", &server_card)
        .is_success());

    let two = phone.sync(SyncMode::TwoWay, &[]);
    support::e2e::assert_mode(&two, Datastore::Contacts, "two-way");
    let c = two.source(Datastore::Contacts);
    assert_eq!(c.local_added(), 1, "{:?}", two.report);
    assert_eq!(c.remote_added() + c.remote_updated(), 2, "{:?}", two.report);
    let server = world.server_items(Datastore::Contacts);
    assert_eq!(server.len(), 5, "{server:?}");
    assert_eq!(
        support::e2e::containing(&server, "geändert am Telefon").len(),
        1
    );
    assert!(phone
        .items(Datastore::Contacts)
        .iter()
        .any(|(_, c)| unfold(c).contains("Hopper")));

    // What the bridge told the 1.0 client about itself: a 1.0 DevInf, nothing of 1.1.
    let sessions = recorded_sessions(world.bridge.data_dir(), DEVICE);
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let sent: Vec<String> = sessions.iter().flat_map(|s| sent_messages(s)).collect();
    assert!(sent.iter().all(|m| m.contains("<VerDTD>1.0</VerDTD>")));
    assert!(
        sent.iter().all(|m| !m.contains("MaxObjSize")),
        "MaxObjSize is not a 1.0 element"
    );
    let devinfs: Vec<&str> = sent.iter().filter_map(|m| devinf_of(m)).collect();
    assert!(!devinfs.is_empty(), "the bridge never sent its DevInf");
    for d in devinfs {
        assert!(d.contains("<VerDTD>1.0</VerDTD>"), "{d}");
        for not_1_0 in [
            "<UTC",
            "<SupportLargeObjs",
            "<SupportNumberOfChanges",
            "<FieldLevel",
            "<Filter-Rx",
            "<Property>",
        ] {
            assert!(!d.contains(not_1_0), "{not_1_0} in a 1.0 DevInf: {d}");
        }
    }
}

#[test]
fn two_identical_uidless_items_are_both_stored() {
    let world = World::start();
    let mut phone = world.phone("twins-phone", options(&[Datastore::Tasks]));
    phone.sync(SyncMode::Slow, &[]).assert_success();

    // Two to-dos with the same bytes and no UID, added on the phone before one sync:
    // the bridge converts them within the same second.
    let todo = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:client1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    phone.put_item(Datastore::Tasks, "twin-1.vcs", todo);
    phone.put_item(Datastore::Tasks, "twin-2.vcs", todo);
    let two = phone.sync(SyncMode::TwoWay, &[]);
    support::e2e::assert_mode(&two, Datastore::Tasks, "two-way");
    assert_eq!(
        two.source(Datastore::Tasks).remote_added(),
        2,
        "{:?}",
        two.report
    );

    let server = world.server_items(Datastore::Tasks);
    assert_eq!(server.len(), 2, "{server:?}");
    let uids: Vec<String> = server
        .iter()
        .map(|(_, body)| {
            items::property_values(body, "UID")
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("no UID in {body}"))
        })
        .collect();
    assert_ne!(uids[0], uids[1], "{server:?}");
    // The phone sent them without a UID: both were made by the bridge.
    assert!(uids.iter().all(|u| u.starts_with("sb-")), "{uids:?}");
    assert_ne!(server[0].0, server[1].0);
    assert!(server
        .iter()
        .all(|(_, b)| unfold(b).contains("SUMMARY:client1")));

    // The session completed: the next one is quiet.
    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    support::e2e::assert_mode(&quiet, Datastore::Tasks, "two-way");
    let t = quiet.source(Datastore::Tasks);
    assert_eq!(
        t.local_added() + t.local_updated() + t.remote_added() + t.remote_updated(),
        0,
        "{:?}",
        quiet.report
    );
    assert_eq!(world.server_items(Datastore::Tasks).len(), 2);
    assert_eq!(phone.items(Datastore::Tasks).len(), 2);
}

#[test]
fn a_large_item_is_never_chunked_next_to_whitespace() {
    // A note with a space every third character: most cut points touch one, and the
    // client loses whitespace at the edges of a chunk's data (its size check then fails
    // the session). Message sizes a few bytes apart move the cuts across the text.
    let text = ["ab"; 3_700].join(" ");
    let world = World::start();
    let journal = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VJOURNAL\r\nUID:long-note\r\n\
         DTSTAMP:20260101T000000Z\r\nSUMMARY:ab ab\r\nDESCRIPTION:{text}\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n"
    );
    let url = format!("{}long-note.ics", world.collection(Datastore::Notes));
    assert!(world
        .dav()
        .put(&url, "text/calendar", &journal)
        .is_success());
    for size in [10_240, 10_301, 10_333, 10_401, 10_457, 10_512] {
        let mut phone = world.phone(
            &format!("chunk-edges-{size}"),
            PhoneOptions {
                version: SyncMlVersion::V1_2,
                wbxml: false,
                max_msg_size: Some(size),
                ..options(&[Datastore::Notes])
            },
        );
        let slow = phone.sync(SyncMode::Slow, &[]);
        support::e2e::assert_mode(&slow, Datastore::Notes, "slow");
        let held = phone.items(Datastore::Notes);
        assert_eq!(held.len(), 1, "{size}: {:?}", slow.report);
        let got = held[0].1.replace("\r\n", "\n");
        assert_eq!(
            got.trim_end().len(),
            text.len(),
            "{size}: the note arrived cut"
        );
        assert_eq!(got.trim_end(), text, "{size}");
    }
}

#[test]
fn the_bridges_devinf_fits_the_phones_message_size() {
    // SyncEvolution's smallest message, as XML in SyncML 1.2 (the largest DevInf form):
    // a DevInf with every CTCap would not fit, and the client would give up.
    const DEVICE: &str = "small-devinf-phone";
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_LOG__DEBUG_DEVICES",
            &format!("[\"{DEVICE}\"]"),
        )
    });
    let mut phone = world.phone(
        DEVICE,
        PhoneOptions {
            version: SyncMlVersion::V1_2,
            wbxml: false,
            max_msg_size: Some(10_240),
            ..options(&[Datastore::Contacts])
        },
    );
    let c = items::contact(0);
    phone.put_item(Datastore::Contacts, &c.file, &c.vcard);
    let slow = phone.sync(SyncMode::Slow, &[]);
    support::e2e::assert_mode(&slow, Datastore::Contacts, "slow");
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
    let sessions = recorded_sessions(world.bridge.data_dir(), DEVICE);
    let sent: Vec<String> = sessions.iter().flat_map(|s| sent_messages(s)).collect();
    let with_devinf: Vec<&String> = sent.iter().filter(|m| devinf_of(m).is_some()).collect();
    assert_eq!(
        with_devinf.len(),
        1,
        "the bridge's DevInf was asked for once"
    );
    assert!(
        with_devinf[0].len() <= 10_240,
        "{} bytes",
        with_devinf[0].len()
    );
    // Still the datastores with every type they take.
    let devinf = devinf_of(with_devinf[0]).unwrap_or_default();
    for t in [
        "text/x-vcard",
        "text/vcard",
        "text/x-s4j-sifc",
        "text/x-s4j-sife",
    ] {
        assert!(
            devinf.contains(&format!("<CTType>{t}</CTType>")),
            "{t}: {devinf}"
        );
    }
}
