//! Suspend and resume (SyncML 1.2 Alert 224/225) against the real binary and Radicale, with
//! a crafted phone: a session broken part-way is continued by the next one without
//! applying anything twice, and a resume the bridge cannot honour falls back to a normal
//! sync with the status the protocol gives.

mod support;

use support::crafted::{alert, basic, header_code, inner, statuses_for, Crafted, Reply};
use support::e2e::{World, PASSWORD, USER};
use support::items;
use support::syncevolution::Datastore;

const CONTACTS: Datastore = Datastore::Contacts;

/// The contacts Sync holding `commands`.
fn sync(commands: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target>\
         <Source><LocURI>./contacts</LocURI></Source>{commands}</Sync>"
    )
}

/// An Add (or Replace) of `card` under `luid`, with its CmdID.
fn item(cmd: &str, cmd_id: u32, luid: &str, card: &str) -> String {
    format!(
        "<{cmd}><CmdID>{cmd_id}</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{card}]]></Data></Item></{cmd}>"
    )
}

fn adds(luids: &[(&str, usize)], first_id: u32) -> String {
    luids
        .iter()
        .zip(first_id..)
        .map(|((luid, i), id)| item("Add", id, luid, &items::contact(*i).vcard))
        .collect()
}

/// The codes of the reply's statuses for `cmd`, in order.
fn codes(reply: &Reply, cmd: &str) -> Vec<u16> {
    statuses_for(reply, cmd).iter().map(|s| s.code).collect()
}

/// (CmdID, server id) of every Add the bridge sent in `reply`.
fn server_adds(reply: &Reply) -> Vec<(String, String)> {
    reply
        .text
        .split("<Add>")
        .skip(1)
        .filter_map(|chunk| {
            let id = inner(chunk, "CmdID")?.trim().to_owned();
            let source = inner(chunk, "Source")?;
            Some((id, inner(source, "LocURI")?.trim().to_owned()))
        })
        .collect()
}

/// The MsgID of the bridge's reply.
fn msg_id(reply: &Reply) -> String {
    inner(&reply.text, "MsgID")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The phone's Status for the bridge's Add of `server_id`.
fn add_status(reply: &Reply, cmd_id: &str, server_id: &str, id: u32) -> String {
    format!(
        "<Status><CmdID>{id}</CmdID><MsgRef>{}</MsgRef><CmdRef>{cmd_id}</CmdRef><Cmd>Add</Cmd>\
         <SourceRef>{server_id}</SourceRef><Data>201</Data></Status>",
        msg_id(reply)
    )
}

/// A Map pairing server ids with the phone's LUIDs.
fn map(pairs: &[(&str, &str)], id: u32) -> String {
    let items: String = pairs
        .iter()
        .map(|(server, luid)| {
            format!(
                "<MapItem><Target><LocURI>{server}</LocURI></Target><Source><LocURI>{luid}</LocURI></Source></MapItem>"
            )
        })
        .collect();
    format!(
        "<Map><CmdID>{id}</CmdID><Target><LocURI>contacts</LocURI></Target>\
         <Source><LocURI>./contacts</LocURI></Source>{items}</Map>"
    )
}

/// The code of the bridge's own Alert in a reply.
fn our_alert(reply: &Reply) -> Option<u16> {
    let at = reply.text.find("<Alert>")?;
    inner(&reply.text[at..], "Data")?.trim().parse().ok()
}

/// A first, completed slow sync leaves anchors `1` behind (the phone has nothing yet).
fn first_session(world: &World, device: &str) {
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "1");
    let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&m)), 212);
    let m = phone.message("", &sync(""), true);
    phone.post(&m);
    let m = phone.message("", "", true);
    phone.post(&m);
}

/// The FN of contact `i` (family names repeat among the generated contacts).
fn full_name(i: usize) -> String {
    let c = items::contact(i);
    format!("FN:{} {}", c.given, c.family)
}

/// Radicale's contacts, by a text each holds, each expected exactly once.
fn assert_each_once(world: &World, wanted: &[&str]) {
    let held = world.server_items(CONTACTS);
    for name in wanted {
        let n = held.iter().filter(|(_, b)| b.contains(name)).count();
        assert_eq!(n, 1, "{name} held {n} times: {held:#?}");
    }
    assert_eq!(held.len(), wanted.len(), "{held:#?}");
}

#[test]
fn a_broken_session_resumes_with_alert_225_without_duplicates() {
    let world = World::start();
    let device = "crafted-resume-225";
    first_session(&world, device);
    let dav = world.dav();
    let collection = world.collection(CONTACTS).to_owned();
    for (uid, family) in [("srv-a", "Serverin"), ("srv-b", "Serverling")] {
        dav.put(
            &format!("{collection}{uid}.vcf"),
            "text/vcard",
            &items::dav_vcard(uid, family, "Sam", &["TEL;TYPE=CELL:+4915100000"]),
        );
    }
    let phone_names: Vec<String> = (0..4).map(full_name).collect();

    // Session 1: the phone sends half its items, then suspends (Alert 224).
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![200], "{}", answer.text);
    let m = phone.message("", &sync(&adds(&[("luid-0", 0), ("luid-1", 1)], 3)), false);
    let reply = phone.post(&m);
    assert_eq!(codes(&reply, "Add"), vec![201, 201], "{}", reply.text);
    let suspend =
        "<Alert><CmdID>5</CmdID><Data>224</Data><Item><Target><LocURI>contacts</LocURI></Target>\
                   <Source><LocURI>./contacts</LocURI></Source></Item></Alert>";
    let m = phone.message("", suspend, true);
    let reply = phone.post(&m);
    assert_eq!(codes(&reply, "Alert"), vec![200], "{}", reply.text);
    assert!(world
        .bridge
        .log_text()
        .contains("session suspended by the phone"));

    // Session 2 resumes. The phone never saw the status of luid-1 and sends it again
    // with the rest; the server's changes go out, the phone acknowledges one of them and
    // then its next message is lost (the session breaks before its Map).
    let before = world.upstream_requests().len();
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "3");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, Some("1"), "2"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![200], "{}", answer.text);
    // Answered with the code of the sync it continues, as libsynthesis servers do.
    assert_eq!(our_alert(&answer), Some(200), "{}", answer.text);
    let rest = adds(&[("luid-1", 1), ("luid-2", 2), ("luid-3", 3)], 3);
    let m = phone.message("", &sync(&rest), true);
    let package4 = phone.post(&m);
    assert_eq!(
        codes(&package4, "Add"),
        vec![201, 201, 201],
        "{}",
        package4.text
    );
    let puts = support::e2e::writes_among(&world.upstream_requests()[before..]);
    assert_eq!(puts, 2, "luid-1 was written twice");
    let sent = server_adds(&package4);
    assert_eq!(sent.len(), 2, "{}", package4.text);
    let (first_id, first_server_id) = &sent[0];
    let ack = add_status(&package4, first_id, first_server_id, 1);
    let m = phone.message("", &ack, false);
    phone.post(&m);

    // Session 3 resumes again: only the server change the phone did not acknowledge is
    // sent; the phone maps both and the session completes.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "4");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, Some("1"), "2"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![200], "{}", answer.text);
    let m = phone.message("", &sync(""), true);
    let package4 = phone.post(&m);
    let again = server_adds(&package4);
    assert_eq!(again.len(), 1, "{}", package4.text);
    assert_ne!(
        &again[0].1, first_server_id,
        "an acknowledged change was sent again"
    );
    let (id, server_id) = &again[0];
    let closing = format!(
        "{}{}",
        add_status(&package4, id, server_id, 1),
        map(&[(first_server_id, "p-a"), (server_id, "p-b")], 2)
    );
    let m = phone.message("", &closing, true);
    let reply = phone.post(&m);
    assert_eq!(codes(&reply, "Map"), vec![200], "{}", reply.text);

    let mut wanted: Vec<&str> = phone_names.iter().map(String::as_str).collect();
    wanted.extend(["N:Serverin;", "N:Serverling;"]);
    assert_each_once(&world, &wanted);

    // The anchors moved and the maps are right: the next two-way sync is quiet, and a
    // change to a resumed item and to a mapped server item updates them in place.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "5");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("2"), "3"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![200], "{}", answer.text);
    let edited = items::contact(1)
        .vcard
        .replace("END:VCARD", "NOTE:edited\r\nEND:VCARD");
    let server_edit =
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Serverin;Sam;;;\r\nTEL;CELL:+4915100009\r\nEND:VCARD\r\n";
    let changes = format!(
        "{}{}",
        item("Replace", 3, "luid-1", &edited),
        item("Replace", 4, "p-a", server_edit)
    );
    let m = phone.message("", &sync(&changes), true);
    let package4 = phone.post(&m);
    assert_eq!(
        codes(&package4, "Replace"),
        vec![200, 200],
        "{}",
        package4.text
    );
    assert!(server_adds(&package4).is_empty(), "{}", package4.text);
    assert!(!package4.text.contains("<Replace>"), "{}", package4.text);
    assert_each_once(&world, &wanted);
    let held = world.server_items(CONTACTS);
    assert!(
        held.iter().any(|(_, b)| b.contains("NOTE:edited")),
        "{held:#?}"
    );
    assert!(
        held.iter().any(|(_, b)| b.contains("+4915100009")),
        "{held:#?}"
    );
}

#[test]
fn an_impossible_resume_falls_back_with_its_status() {
    let world = World::start_with(|b| b.env("SYNCML_BRIDGE_SYNC__RESUME_WITHIN_HOURS", "0"));
    let device = "crafted-resume-refused";
    first_session(&world, device);

    // A session breaks after its first items (the phone stops answering).
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    phone.post(&m);
    let m = phone.message("", &sync(&adds(&[("luid-0", 0), ("luid-1", 1)], 3)), false);
    assert_eq!(codes(&phone.post(&m), "Add"), vec![201, 201]);

    // Resuming is switched off (the kept session is too old): refused with 509, and the
    // two-way sync its anchors allow runs instead; the resent items are recognised.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "3");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, Some("1"), "2"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![509], "{}", answer.text);
    assert_eq!(our_alert(&answer), Some(200), "{}", answer.text);
    assert!(world
        .bridge
        .log_text()
        .contains("resume refused, falling back to a normal sync"));
    let m = phone.message(
        "",
        &sync(&adds(&[("luid-0", 0), ("luid-1", 1), ("luid-2", 2)], 3)),
        true,
    );
    let package4 = phone.post(&m);
    assert!(
        codes(&package4, "Add")
            .iter()
            .all(|c| (200..300).contains(c)),
        "{}",
        package4.text
    );
    let m = phone.message("", "", true);
    phone.post(&m);
    let names: Vec<String> = (0..3).map(full_name).collect();
    assert_each_once(
        &world,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // A resume from anchors the bridge never stored: 508 and a slow sync.
    let mut stranger = Crafted::new(&world.bridge.syncml_url(), device, "4");
    let m = stranger.message(&basic(USER, PASSWORD), &alert(225, Some("7"), "8"), true);
    let answer = stranger.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![508], "{}", answer.text);
    assert_eq!(our_alert(&answer), Some(201), "{}", answer.text);
}

#[test]
fn a_resume_whose_anchors_differ_from_the_kept_session_is_refused() {
    let world = World::start();
    let device = "crafted-resume-anchors";
    first_session(&world, device);
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    phone.post(&m);
    let m = phone.message("", &sync(&adds(&[("luid-0", 0)], 3)), false);
    assert_eq!(codes(&phone.post(&m), "Add"), vec![201]);

    // The phone claims other anchors than the broken session had: not that session.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "3");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, Some("9"), "10"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![508], "{}", answer.text);
    assert_eq!(our_alert(&answer), Some(201), "{}", answer.text);
    assert!(world
        .bridge
        .log_text()
        .contains("the anchors differ from the interrupted session's"));
    // The slow sync that follows matches the item instead of adding it again.
    let m = phone.message("", &sync(&adds(&[("luid-0", 0)], 3)), true);
    let package4 = phone.post(&m);
    assert_eq!(codes(&package4, "Add"), vec![200], "{}", package4.text);
    assert_each_once(&world, &[full_name(0).as_str()]);
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
fn syncevolution_resumes_after_a_lost_answer() {
    use support::syncevolution::SyncMode;
    let world = World::start();
    let relay = support::relay::Relay::start(world.bridge.port());
    let mut opts = support::e2e::options(&[CONTACTS]);
    opts.max_msg_size = Some(10240);
    opts.extra.push(("RetryDuration".into(), "10".into()));
    opts.extra.push(("RetryInterval".into(), "8".into()));
    let mut phone = support::syncevolution::Phone::new();
    phone.configure(
        &format!("http://127.0.0.1:{}/syncml", relay.port),
        USER,
        PASSWORD,
        "e2e-resume",
        opts,
    );
    let first = items::contact(0);
    phone.put_item(CONTACTS, &first.file, &first.vcard);
    support::e2e::assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let n = 40;
    for i in 1..n {
        let c = items::contact(i);
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    let before = puts(&world);
    let world_ref = &world;
    let relay_ref = &relay;
    let broken = std::thread::scope(|s| {
        let run = s.spawn(|| phone.sync(SyncMode::TwoWay, &[]));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while puts(world_ref) < before + 5 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        relay_ref.set_up(false);
        run.join().expect("sync thread")
    });
    assert!(
        !broken.succeeded(),
        "the broken session cannot have succeeded"
    );
    relay.set_up(true);

    // The client alerts a resume (225) and the bridge continues the broken session: what
    // it applied is answered again without a second write, the rest is written once.
    let next = phone.sync(SyncMode::TwoWay, &[]);
    next.assert_success();
    let log = world.bridge.log_text();
    assert!(
        log.contains("resuming the interrupted session"),
        "no resume:\n{}\n{log}",
        next.output
    );
    assert!(next.output.contains("resum"), "{}", next.output);
    assert_eq!(puts(&world) - before, n - 1, "a contact was written twice");
    let names: Vec<String> = (0..n).map(full_name).collect();
    assert_each_once(
        &world,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    // Completed: the next sync is an ordinary quiet two-way one.
    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    quiet.assert_success();
    support::e2e::assert_mode(&quiet, CONTACTS, "two-way");
    let report = quiet.source(CONTACTS);
    assert_eq!(
        [
            report.local_added(),
            report.local_updated(),
            report.remote_added(),
            report.remote_updated()
        ],
        [0; 4],
        "{report:?}"
    );
}

#[test]
fn a_broken_first_slow_sync_resumes_without_duplicates() {
    let world = World::start();
    let device = "crafted-resume-slow";
    let collection = world.collection(CONTACTS).to_owned();
    world.dav().put(
        &format!("{collection}srv-x.vcf"),
        "text/vcard",
        &items::dav_vcard("srv-x", "Xaver", "Sam", &["TEL;TYPE=CELL:+4915100001"]),
    );

    // The very first sync (slow, no anchors) breaks after half the phone's items.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "1");
    let m = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(codes(&phone.post(&m), "Alert"), vec![200]);
    let m = phone.message("", &sync(&adds(&[("luid-0", 0), ("luid-1", 1)], 3)), false);
    assert_eq!(codes(&phone.post(&m), "Add"), vec![201, 201]);

    // The resume carries no Last anchor (there is none yet): accepted, still a slow sync.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "2");
    let m = phone.message(&basic(USER, PASSWORD), &alert(225, None, "1"), true);
    let answer = phone.post(&m);
    assert_eq!(codes(&answer, "Alert"), vec![200], "{}", answer.text);
    assert_eq!(our_alert(&answer), Some(201), "{}", answer.text);
    let m = phone.message("", &sync(&adds(&[("luid-1", 1), ("luid-2", 2)], 3)), true);
    let package4 = phone.post(&m);
    assert_eq!(codes(&package4, "Add"), vec![201, 201], "{}", package4.text);
    // Only the server's own card goes to the phone, not the phone's items back.
    let sent = server_adds(&package4);
    assert_eq!(sent.len(), 1, "{}", package4.text);
    let (id, server_id) = &sent[0];
    let closing = format!(
        "{}{}",
        add_status(&package4, id, server_id, 1),
        map(&[(server_id, "p-x")], 2)
    );
    let m = phone.message("", &closing, true);
    assert_eq!(codes(&phone.post(&m), "Map"), vec![200]);

    let mut wanted: Vec<String> = (0..3).map(full_name).collect();
    wanted.push("N:Xaver;".into());
    assert_each_once(
        &world,
        &wanted.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // Completed: the next sync is a two-way one from anchors `1`.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "3");
    let m = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    assert_eq!(codes(&phone.post(&m), "Alert"), vec![200]);
}
