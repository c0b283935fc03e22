//! The way back to a working sync after a failure, with the real SyncEvolution client and
//! Radicale: a slow sync the bridge demands (508 on the phone's two-way Alert) completes in
//! the same session, a bridge killed mid-sync costs one failed sync and no more, and an
//! upstream outage is reported to the phone and caught up by the next sync.

mod support;

use support::e2e::{assert_mode, options, World, PASSWORD, USER};
use support::items;
use support::relay::{bridge_behind_relay, bridge_behind_relay_with};
use support::syncevolution::{Datastore, Phone, SyncMode};

const CONTACTS: Datastore = Datastore::Contacts;

#[test]
fn a_slow_sync_demanded_by_the_bridge_completes_with_syncevolution() {
    let world = World::start();
    let device = "e2e-508-path";
    let mut phone = world.phone(device, options(&[CONTACTS]));
    for i in 0..2 {
        let c = items::contact(i);
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    assert_eq!(world.server_items(CONTACTS).len(), 2);

    // The admin asks for a slow sync: the phone's two-way Alert gets 508.
    world.bridge.admin(&["devices", "resync", device]);
    let after_resync = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&after_resync, CONTACTS, "slow");
    assert_eq!(world.server_items(CONTACTS).len(), 2, "no duplicates");

    // The device is forgotten altogether (anchors and maps lost).
    world.bridge.admin(&["devices", "remove", device]);
    let after_remove = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&after_remove, CONTACTS, "slow");
    assert_eq!(world.server_items(CONTACTS).len(), 2, "no duplicates");

    // And the sync after that is an ordinary two-way one.
    assert_mode(&phone.sync(SyncMode::TwoWay, &[]), CONTACTS, "two-way");
}

/// PUTs Radicale received so far.
fn puts(world: &World) -> usize {
    world
        .upstream_requests()
        .iter()
        .filter(|(m, _)| m == "PUT")
        .count()
}

#[test]
fn a_kill_9_mid_sync_is_followed_by_one_successful_sync() {
    let mut world = World::start();
    let mut opts = options(&[CONTACTS]);
    opts.max_msg_size = Some(10240);
    // The client gives up on a dead server within seconds instead of retrying for
    // minutes (the interval is also how long it waits for one answer).
    opts.extra.push(("RetryDuration".into(), "10".into()));
    opts.extra.push(("RetryInterval".into(), "8".into()));
    let mut phone = world.phone("e2e-kill-9", opts);
    let first = items::contact(0);
    phone.put_item(CONTACTS, &first.file, &first.vcard);
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let n = 60;
    for i in 1..n {
        let c = items::contact(i);
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    let before = puts(&world);
    let world_ref = &world;
    let interrupted = std::thread::scope(|s| {
        let run = s.spawn(|| phone.sync(SyncMode::TwoWay, &[]));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while puts(world_ref) < before + 5 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = std::process::Command::new("kill")
            .args(["-9", &world_ref.bridge.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success());
        run.join().expect("sync thread")
    });
    assert!(
        !interrupted.succeeded(),
        "the killed session cannot have succeeded"
    );
    let written = puts(&world);
    assert!(written < n, "the kill came too late: {written} PUTs");

    world = world.restart_bridge();
    let next = phone.sync(SyncMode::TwoWay, &[]);
    next.assert_success();
    let held = world.server_items(CONTACTS);
    assert_eq!(held.len(), n, "every contact once, none twice");
}

#[test]
fn an_outage_is_reported_to_the_phone_and_caught_up_by_the_next_sync() {
    let radicale = support::radicale::Radicale::start();
    let collections = radicale.standard_collections(USER);
    let (relay, bridge) = bridge_behind_relay(&radicale);
    let mut phone = Phone::new();
    phone.configure(
        &bridge.syncml_url(),
        USER,
        PASSWORD,
        "e2e-outage",
        options(&[CONTACTS]),
    );
    let c = items::contact(0);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");

    // The DAV server goes away while the log-in is still remembered, and meanwhile
    // someone adds a card on it.
    relay.set_up(false);
    radicale.client(USER).put(
        &format!("{}srv-outage.vcf", collections[0]),
        "text/vcard",
        &items::dav_vcard(
            "srv-outage",
            "Outage",
            "Olivia",
            &["TEL;TYPE=CELL:+4915112345"],
        ),
    );
    let during = phone.sync(SyncMode::TwoWay, &[]);
    assert!(
        !during.succeeded(),
        "the phone was told the sync succeeded: {:?}",
        during.report
    );
    assert!(
        bridge
            .log_text()
            .contains("reading the server's changes failed")
            || bridge.log_text().contains("upstream"),
        "no log line"
    );

    // Back up: the next sync works and brings the card.
    relay.set_up(true);
    let after = phone.sync(SyncMode::TwoWay, &[]);
    after.assert_success();
    assert!(
        phone
            .items(CONTACTS)
            .iter()
            .any(|(_, body)| body.contains("Olivia")),
        "the server's card did not arrive"
    );
    assert_eq!(
        support::e2e::fetch_all(&radicale.client(USER), &collections[0], true).len(),
        2
    );
}

/// The code of the bridge's own Alert in a reply.
fn alert_code(text: &str) -> Option<u16> {
    let at = text.find("<Alert>")?;
    let data = text[at..].find("<Data>")? + at + 6;
    let end = text[data..].find('<')? + data;
    text[data..end].trim().parse().ok()
}

#[test]
fn a_resume_the_bridge_cannot_honour_turns_into_a_sync_that_works() {
    use support::crafted::{alert, basic, header_code, statuses_for, Crafted};
    let world = World::start();
    let url = world.bridge.syncml_url();
    let empty_sync = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let sync_status = "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>3</CmdRef><Cmd>Sync</Cmd><Data>200</Data></Status>";
    // A completed session leaves anchors behind.
    let mut phone = Crafted::new(&url, "crafted-resume", "1");
    for (cred, body) in [
        (basic(USER, PASSWORD), alert(201, None, "1")),
        (String::new(), empty_sync.to_owned()),
        (String::new(), sync_status.to_owned()),
    ] {
        let m = phone.message(&cred, &body, true);
        phone.post(&m);
    }

    // The phone asks to resume an interrupted session: refused with 509, and a two-way
    // sync from the matching anchors takes its place (not 406, not a failed session).
    let mut phone = Crafted::new(&url, "crafted-resume", "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, Some("1"), "2"), true);
    let reply = phone.post(&m);
    assert_eq!(header_code(&reply), 212);
    assert_eq!(statuses_for(&reply, "Alert")[0].code, 509, "{}", reply.text);
    assert_eq!(alert_code(&reply.text), Some(200), "{}", reply.text);
    // Statuses come before the bridge's own commands.
    let status_at = reply.text.rfind("<Status>").expect("statuses");
    let alert_at = reply.text.find("<Alert>").expect("our alert");
    assert!(status_at < alert_at, "{}", reply.text);

    // Anchors that do not match: 508 and a slow sync.
    let mut stranger_anchors = Crafted::new(&url, "crafted-resume-2", "1");
    let m = stranger_anchors.message(&basic(USER, PASSWORD), &alert(225, Some("7"), "8"), true);
    let reply = stranger_anchors.post(&m);
    assert_eq!(statuses_for(&reply, "Alert")[0].code, 508, "{}", reply.text);
    assert_eq!(alert_code(&reply.text), Some(201), "{}", reply.text);
}

/// The longest time the bridge took to answer a SyncML message, from its request log.
fn slowest_answer_ms(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("path=/syncml") && l.contains("answered"))
        .filter_map(|l| {
            let at = l.rfind("latency_ms=")? + "latency_ms=".len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_slow_upstream_never_makes_the_phone_wait_past_the_deadline() {
    let radicale = support::radicale::Radicale::start();
    let collections = radicale.standard_collections(USER);
    // The default deadline (15 s), and 8 s per upstream request: a session makes several
    // requests one after the other (log-in, discovery, listing, writes).
    let (relay, bridge) = bridge_behind_relay(&radicale);
    relay.set_delay(std::time::Duration::from_secs(8));
    let mut phone = Phone::new();
    phone.configure(
        &bridge.syncml_url(),
        USER,
        PASSWORD,
        "e2e-slow-upstream",
        options(&[CONTACTS]),
    );
    for i in 0..4 {
        let c = items::contact(i);
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let c = items::contact(4);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    assert_mode(&phone.sync(SyncMode::TwoWay, &[]), CONTACTS, "two-way");
    let held = support::e2e::fetch_all(&radicale.client(USER), &collections[0], true);
    assert_eq!(held.len(), 5, "every contact once");
    let log = bridge.log_text();
    assert!(
        log.contains("answer not ready by the deadline"),
        "the deadline never came into play"
    );
    let slowest = slowest_answer_ms(&log);
    assert!(slowest < 20_000, "a phone message waited {slowest} ms");
}

#[test]
fn a_message_for_a_session_whose_work_is_still_running_is_answered_in_time() {
    use support::crafted::{alert, basic, header_code, Crafted};
    let radicale = support::radicale::Radicale::start();
    radicale.standard_collections(USER);
    let (relay, bridge) = bridge_behind_relay_with(&radicale, |b| {
        b.env("SYNCML_BRIDGE_LIMITS__ANSWER_WITHIN_SECS", "2")
    });
    relay.set_delay(std::time::Duration::from_millis(1500));
    let url = bridge.syncml_url();
    let mut phone = Crafted::new(&url, "crafted-busy", "1");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    let first = phone.post(&init);
    // Log-in and discovery take longer than the deadline: the phone is asked for more.
    assert!(!first.text.contains("<Final"), "{}", first.text);
    assert!(first.text.contains("<Data>222</Data>"), "{}", first.text);

    // The reply is lost; the phone resends message 1 to the URL it started with (no
    // token, its credentials): answered within the deadline, not held behind the work.
    let mut again = Crafted::new(&url, "crafted-busy", "1");
    let started = std::time::Instant::now();
    let (status, _) = again.post_raw(&init);
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    // Asking for the rest until the answer is ready brings the server's Alert.
    let mut reply = first;
    for _ in 0..20 {
        if reply.text.contains("<Cmd>Alert</Cmd>") {
            break;
        }
        let more = "<Alert><CmdID>1</CmdID><Data>222</Data></Alert>";
        let m = phone.message("", more, false);
        reply = phone.post(&m);
        assert_eq!(header_code(&reply), 200, "{}", reply.text);
    }
    assert!(reply.text.contains("<Cmd>Alert</Cmd>"), "{}", reply.text);
}
