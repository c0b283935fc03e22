//! Sessions driven with crafted SyncML 1.2 XML messages over plain HTTP against the real
//! bridge and Radicale: a repeated scheme under the MD5 policy, allow and deny lists, a
//! resent message, a phone that never sends its Map, conflicts, upstream outages and
//! refusals, device profiles.

mod support;

use support::crafted::{
    alert, basic, header_code, inner, md5_policy, statuses_for, sync_with_add, Crafted, Reply,
};
use support::e2e::{writes_among, World, OTHER_PASSWORD, OTHER_USER, PASSWORD, USER};
use support::items;
use support::relay::bridge_behind_relay;
use support::syncevolution::Datastore;

/// The phone's one Add was matched with the server's one card: 200, nothing sent back to
/// the phone, no upstream write since request `before`.
fn assert_matched_without_writes(world: &World, reply: &Reply, before: usize) {
    let adds: Vec<u16> = statuses_for(reply, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, vec![200], "matched, not added:\n{}", reply.text);
    assert_eq!(
        reply.text.matches("<Add>").count(),
        0,
        "the card went back to the phone:\n{}",
        reply.text
    );
    let during = world.upstream_requests()[before..].to_vec();
    assert_eq!(writes_among(&during), 0, "{during:?}");
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
}

#[test]
fn basic_repeated_under_an_md5_policy_is_refused() {
    let world = World::start_with(|b| md5_policy(b).app_password(OTHER_USER, OTHER_PASSWORD));
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-basic", "7");
    let first = phone.message(
        &basic(OTHER_USER, OTHER_PASSWORD),
        &alert(201, None, "1"),
        true,
    );
    let challenged = phone.post(&first);
    // Wrong scheme: 401 with a challenge for the right one (407 is for no credentials).
    assert_eq!(header_code(&challenged), 401, "{}", challenged.text);
    assert!(
        challenged.text.contains("syncml:auth-md5"),
        "no MD5 challenge:\n{}",
        challenged.text
    );
    let again = phone.message(
        &basic(OTHER_USER, OTHER_PASSWORD),
        &alert(201, None, "1"),
        true,
    );
    let refused = phone.post(&again);
    assert_eq!(header_code(&refused), 401, "{}", refused.text);
    assert!(
        !refused.text.contains("<Chal>"),
        "challenged twice:\n{}",
        refused.text
    );
    assert!(statuses_for(&refused, "Alert")
        .iter()
        .all(|s| s.code != 200));
}

#[test]
fn allow_and_deny_lists_refuse_with_403() {
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_AUTH__ALLOW",
            r#"["alice", "bob", "*@example.org"]"#,
        )
        .env("SYNCML_BRIDGE_AUTH__DENY", r#"["BOB"]"#)
    });
    let mut bob = Crafted::new(&world.bridge.syncml_url(), "crafted-bob", "8");
    let m = bob.message(
        &basic(OTHER_USER, OTHER_PASSWORD),
        &alert(201, None, "1"),
        true,
    );
    let denied = bob.post(&m);
    assert_eq!(header_code(&denied), 403, "{}", denied.text);
    assert!(world
        .server_items_of(OTHER_USER, Datastore::Contacts)
        .is_empty());

    let mut alice = Crafted::new(&world.bridge.syncml_url(), "crafted-alice", "9");
    let m = alice.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    let accepted = alice.post(&m);
    assert_eq!(header_code(&accepted), 212, "{}", accepted.text);

    // Not on the allow list (a wrong password would be 401, this one is right upstream).
    let world = World::start_with(|b| b.env("SYNCML_BRIDGE_AUTH__ALLOW", r#"["*@example.org"]"#));
    let mut alice = Crafted::new(&world.bridge.syncml_url(), "crafted-alice", "10");
    let m = alice.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&alice.post(&m)), 403);
}

#[test]
fn a_resent_message_is_answered_again_and_not_applied_twice() {
    let world = World::start();
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-resend", "11");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);

    let card = items::contact(4).vcard;
    let sync = phone.message("", &sync_with_add("luid-1", &card), true);
    let first = phone.post(&sync);
    let adds: Vec<u16> = statuses_for(&first, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, vec![201], "{}", first.text);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);

    // The reply was lost: the phone sends the very same message (same MsgID) again.
    let before = world.upstream_requests().len();
    let resent = phone.post(&sync);
    let during = world.upstream_requests()[before..].to_vec();
    let again: Vec<u16> = statuses_for(&resent, "Add")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(again, adds, "{}", resent.text);
    assert_eq!(
        writes_among(&during),
        0,
        "the resend wrote upstream: {during:?}"
    );
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
}

#[test]
fn a_phone_that_never_sent_its_map_is_completed_next_session_without_duplicates() {
    let world = World::start();
    world.dav().put(
        &format!("{}srv-5.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        &items::dav_vcard("srv-5", "Nomap", "Olga", &["TEL;TYPE=CELL:+4917012345"]),
    );

    // Session 1: slow sync, the phone has nothing, the server sends its card ... and the
    // phone goes away before its Map.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-nomap", "12");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    let empty = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let m = phone.message("", empty, true);
    let package4 = phone.post(&m);
    assert_eq!(
        package4.text.matches("<Add>").count(),
        1,
        "{}",
        package4.text
    );

    // Session 2: the phone now holds that card under its own LUID and asks for a two-way
    // sync from anchors the bridge never stored: a slow sync follows, the card is matched.
    let before = world.upstream_requests().len();
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-nomap", "13");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&init);
    assert_eq!(header_code(&answer), 212);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        508,
        "{}",
        answer.text
    );
    let phone_card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Nomap;Olga;;;\r\nFN:Olga Nomap\r\n\
                      TEL;CELL:+4917012345\r\nEND:VCARD\r\n";
    let m = phone.message("", &sync_with_add("phone-luid-5", phone_card), true);
    let package4 = phone.post(&m);
    assert_matched_without_writes(&world, &package4, before);
}

/// A Put of a DevInf announcing SupportNumberOfChanges, and the contacts Alert.
fn devinf_put_and_alert() -> String {
    "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
     <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
     <VerDTD>1.2</VerDTD><Man>Crafted</Man><Mod>NoC</Mod><DevID>crafted-noc</DevID><DevTyp>phone</DevTyp>\
     <SupportNumberOfChanges/><DataStore><SourceRef>./contacts</SourceRef>\
     <Rx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref>\
     <Tx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Tx-Pref>\
     <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
     </DevInf></Data></Item></Put>"
        .to_owned()
        + &alert(201, None, "1")
}

#[test]
fn the_servers_sync_carries_number_of_changes_when_the_phone_supports_it() {
    let world = World::start();
    for (uid, given) in [("noc-1", "Ada"), ("noc-2", "Grace")] {
        world.dav().put(
            &format!("{}{uid}.vcf", world.collection(Datastore::Contacts)),
            "text/vcard",
            &items::dav_vcard(uid, "Counted", given, &[]),
        );
    }
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-noc", "14");
    let init = phone.message(&basic(USER, PASSWORD), &devinf_put_and_alert(), true);
    let answer = phone.post(&init);
    assert_eq!(header_code(&answer), 212, "{}", answer.text);
    let empty = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let m = phone.message("", empty, true);
    let package4 = phone.post(&m);
    assert_eq!(
        package4.text.matches("<Add>").count(),
        2,
        "{}",
        package4.text
    );
    assert_eq!(
        inner(&package4.text, "NumberOfChanges"),
        Some("2"),
        "{}",
        package4.text
    );
}

/// A Sync with one Replace of `card` (vCard 2.1) under `luid`.
fn sync_with_replace(luid: &str, card: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
         <Replace><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{card}]]></Data></Item></Replace></Sync>"
    )
}

/// Both sides change the same card between two sessions; returns the phone's status for
/// its Replace, the server's package 4 and the card Radicale holds afterwards.
fn conflict_round(world: &World, device: &str) -> (u16, Reply, String) {
    let card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Conflict;Carla;;;\r\nFN:Carla Conflict\r\n\
                TEL;CELL:+4917000001\r\nEND:VCARD\r\n";
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "20");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &sync_with_add("c-1", card), true);
    let p4 = phone.post(&m);
    assert_eq!(statuses_for(&p4, "Add")[0].code, 201, "{}", p4.text);
    let m = phone.message("", "", true);
    phone.post(&m);

    // The server's copy gains an e-mail address, the phone changes the number.
    let (href, body) = world.server_items(Datastore::Contacts).remove(0);
    let edited = body.replace(
        "END:VCARD",
        "EMAIL;TYPE=INTERNET:carla@example.org\r\nEND:VCARD",
    );
    world.dav().put(&href, "text/vcard", &edited);
    let phone_edit = card.replace("+4917000001", "+4917000002");

    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "21");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "two-way expected:\n{}",
        answer.text
    );
    let m = phone.message("", &sync_with_replace("c-1", &phone_edit), true);
    let p4 = phone.post(&m);
    let status = statuses_for(&p4, "Replace")[0].code;
    let server = world.server_items(Datastore::Contacts);
    assert_eq!(server.len(), 1, "{server:?}");
    (status, p4, server[0].1.clone())
}

#[test]
fn a_conflict_is_merged_by_default() {
    let world = World::start();
    let (status, p4, server) = conflict_round(&world, "crafted-merge");
    assert_eq!(status, 207, "{}", p4.text);
    // The phone's number and the server's e-mail address both kept, and sent back.
    assert!(
        server.contains("+4917000002") && server.contains("carla@example.org"),
        "{server}"
    );
    assert!(!server.contains("+4917000001"), "{server}");
    let back =
        inner(&p4.text, "Replace").unwrap_or_else(|| panic!("nothing sent back:\n{}", p4.text));
    assert!(back.contains("carla@example.org"), "{back}");
}

#[test]
fn a_conflict_under_server_wins_keeps_the_server_version() {
    let world = World::start_with(|b| b.env("SYNCML_BRIDGE_SYNC__CONFLICT_POLICY", "server-wins"));
    let (status, p4, server) = conflict_round(&world, "crafted-server-wins");
    assert_eq!(status, 419, "{}", p4.text);
    assert!(
        server.contains("+4917000001") && server.contains("carla@example.org"),
        "{server}"
    );
    assert!(!server.contains("+4917000002"), "{server}");
    let back =
        inner(&p4.text, "Replace").unwrap_or_else(|| panic!("nothing sent back:\n{}", p4.text));
    assert!(
        back.contains("+4917000001") && back.contains("carla@example.org"),
        "{back}"
    );
}

#[test]
fn an_upstream_failure_mid_sync_keeps_the_anchors_and_the_next_sync_repeats_once() {
    let radicale = support::radicale::Radicale::start();
    let collections = radicale.standard_collections(USER);
    let (relay, bridge) = bridge_behind_relay(&radicale);
    let card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Outage;Otto;;;\r\nFN:Otto Outage\r\nEND:VCARD\r\n";
    let held = || support::e2e::fetch_all(&radicale.client(USER), &collections[0], true);

    // Session 1: logged in, then the upstream goes away before package 3.
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-outage", "30");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    relay.set_up(false);
    let m = phone.message("", &sync_with_add("o-1", card), true);
    let failed = phone.post(&m);
    let codes: Vec<u16> = statuses_for(&failed, "Add")
        .iter()
        .chain(statuses_for(&failed, "Sync").iter())
        .map(|s| s.code)
        .collect();
    assert!(
        codes.iter().any(|c| *c >= 500),
        "no upstream error reported: {codes:?}\n{}",
        failed.text
    );
    let m = phone.message("", "", true);
    phone.post(&m);
    relay.set_up(true);
    assert!(held().is_empty());

    // Session 2: the phone's Last is the Next of session 1, which the bridge never stored:
    // a slow sync, and the card lands once.
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-outage", "31");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        508,
        "{}",
        answer.text
    );
    let m = phone.message("", &sync_with_add("o-1", card), true);
    let p4 = phone.post(&m);
    assert_eq!(statuses_for(&p4, "Add")[0].code, 201, "{}", p4.text);
    let m = phone.message("", "", true);
    phone.post(&m);
    assert_eq!(held().len(), 1);

    // Session 3: the anchors moved now, a two-way sync follows and changes nothing.
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-outage", "32");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("2"), "3"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
    assert_eq!(held().len(), 1);
}

#[test]
fn a_collection_gone_upstream_is_rediscovered_and_slow_synced() {
    let world = World::start();
    let card = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Moved;Mia;;;\r\nFN:Mia Moved\r\nEND:VCARD\r\n";
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-moved", "40");
    let init = phone.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &sync_with_add("m-1", card), true);
    assert_eq!(statuses_for(&phone.post(&m), "Add")[0].code, 201);
    let m = phone.message("", "", true);
    phone.post(&m);

    // The address book is replaced by one under another name.
    let dav = world.dav();
    assert!(dav
        .delete(world.collection(Datastore::Contacts))
        .is_success());
    let moved = world
        .collection(Datastore::Contacts)
        .replace("/contacts/", "/people/");
    assert!(dav.create_addressbook(&moved).is_success());

    // The stored collection answers 404: that session fails and keeps its anchors ...
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-moved", "41");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "2"), true);
    assert_eq!(statuses_for(&phone.post(&init), "Alert")[0].code, 200);
    let empty = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let m = phone.message("", empty, true);
    phone.post(&m);

    // ... and the next one finds the new address book and slow-syncs into it.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-moved", "42");
    let init = phone.message(&basic(USER, PASSWORD), &alert(200, Some("1"), "3"), true);
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        508,
        "{}",
        answer.text
    );
    let m = phone.message("", &sync_with_add("m-1", card), true);
    assert_eq!(statuses_for(&phone.post(&m), "Add")[0].code, 201);
    let held = support::e2e::fetch_all(&dav, &moved, true);
    assert_eq!(held.len(), 1, "{held:?}");
}

/// A Put of a Nokia DevInf (`model`, with or without `<UTC/>`) and a slow-sync Alert of its
/// calendar.
fn nokia_calendar_init(model: &str, device: &str, utc: bool) -> String {
    let utc = if utc { "<UTC/>" } else { "" };
    format!(
        "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
         <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
         <VerDTD>1.2</VerDTD><Man>Nokia</Man><Mod>{model}</Mod><DevID>{device}</DevID><DevTyp>phone</DevTyp>{utc}\
         <DataStore><SourceRef>./Calendar</SourceRef>\
         <Rx-Pref><CTType>text/x-vcalendar</CTType><VerCT>1.0</VerCT></Rx-Pref>\
         <Tx-Pref><CTType>text/x-vcalendar</CTType><VerCT>1.0</VerCT></Tx-Pref>\
         <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
         </DevInf></Data></Item></Put>\
         <Alert><CmdID>6</CmdID><Data>201</Data><Item><Target><LocURI>Calendar</LocURI></Target>\
         <Source><LocURI>./Calendar</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\"><Next>1</Next></Anchor></Meta></Item></Alert>"
    )
}

/// The vCalendar items the bridge sends a Nokia phone of `model` for the server's event.
fn event_as_sent_to(world: &World, model: &str, device: &str, utc: bool) -> String {
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, "21");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &nokia_calendar_init(model, device, utc),
        true,
    );
    let answer = phone.post(&init);
    assert_eq!(header_code(&answer), 212, "{}", answer.text);
    let empty = "<Sync><CmdID>2</CmdID><Target><LocURI>Calendar</LocURI></Target><Source><LocURI>./Calendar</LocURI></Source></Sync>";
    let m = phone.message("", empty, true);
    let package4 = phone.post(&m);
    assert_eq!(
        package4.text.matches("<Add>").count(),
        1,
        "{}",
        package4.text
    );
    package4.text
}

#[test]
fn device_profiles_choose_utc_or_local_times_for_the_phone() {
    let world =
        World::start_with(|b| b.env("SYNCML_BRIDGE_SYNC__DEVICE_TIMEZONE", "Europe/Berlin"));
    world.dav().put(
        &format!("{}srv-meeting.ics", world.collection(Datastore::Calendar)),
        "text/calendar",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VEVENT\r\n\
         UID:srv-meeting\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260112T180000Z\r\n\
         DTEND:20260112T190000Z\r\nSUMMARY:Treffen\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    // A Series 40 phone announcing UTC gets UTC.
    let s40 = event_as_sent_to(&world, "Nokia 6300", "IMEI:351234000000001", true);
    assert!(s40.contains("DTSTART:20260112T180000Z"), "{s40}");
    // The 6630 is on the list of Nokia phones with broken UTC handling: local time (Berlin).
    let n6630 = event_as_sent_to(&world, "Nokia 6630", "IMEI:351234000000002", true);
    assert!(n6630.contains("DTSTART:20260112T190000\r"), "{n6630}");
    // A phone whose DevInf does not announce UTC gets local time too.
    let no_utc = event_as_sent_to(&world, "Nokia 3310", "IMEI:351234000000003", false);
    assert!(no_utc.contains("DTSTART:20260112T190000\r"), "{no_utc}");
    // An admin gives that phone its own zone: its next session gets New York times.
    world.bridge.admin(&[
        "devices",
        "timezone",
        "IMEI:351234000000003",
        "America/New_York",
    ]);
    let zoned = event_as_sent_to(&world, "Nokia 3310", "IMEI:351234000000003", false);
    assert!(zoned.contains("DTSTART:20260112T130000\r"), "{zoned}");
}

#[test]
fn a_phone_starting_over_mid_session_repeats_it_without_duplicates() {
    let world = World::start();
    let card = items::contact(7).vcard;

    // Session A: the phone's Add is written upstream, then the phone restarts before the
    // session ends (no Map, no final package).
    let mut a = Crafted::new(&world.bridge.syncml_url(), "crafted-restart", "31");
    let init = a.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&a.post(&init)), 212);
    let sync = a.message("", &sync_with_add("luid-7", &card), true);
    let first = a.post(&sync);
    let adds: Vec<u16> = statuses_for(&first, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, vec![201], "{}", first.text);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);

    // Session B: same device, new SessionID, the same slow sync from the start. The old
    // session is dropped; the item is recognised by its LUID, nothing is written again.
    let before = world.upstream_requests().len();
    let mut b = Crafted::new(&world.bridge.syncml_url(), "crafted-restart", "32");
    let init = b.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&b.post(&init)), 212);
    let sync = b.message("", &sync_with_add("luid-7", &card), true);
    let second = b.post(&sync);
    assert_matched_without_writes(&world, &second, before);

    // A late message of the abandoned session changes nothing.
    let late = a.message("", &sync_with_add("luid-8", &items::contact(8).vcard), true);
    let reply = a.post(&late);
    assert_ne!(header_code(&reply), 200, "{}", reply.text);
    assert_eq!(world.server_items(Datastore::Contacts).len(), 1);
}

/// Package 1's Alert for the `readonly` address book.
fn readonly_alert(code: u16, last: Option<&str>, next: &str) -> String {
    alert(code, last, next).replace(
        "<Target><LocURI>contacts</LocURI></Target>",
        "<Target><LocURI>readonly</LocURI></Target>",
    )
}

/// A Sync of the `readonly` address book carrying `commands`.
fn readonly_sync(commands: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>readonly</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{commands}</Sync>"
    )
}

/// The Source LocURI of the first `tag` command of a reply (the server id of an Add).
fn first_source(text: &str, tag: &str) -> String {
    let cmd = inner(text, tag).unwrap_or_else(|| panic!("no {tag} in:\n{text}"));
    let at = cmd.find("<Source><LocURI>").expect("a Source") + "<Source><LocURI>".len();
    cmd[at..cmd[at..].find('<').expect("end of LocURI") + at].to_owned()
}

#[test]
fn a_change_the_upstream_refuses_is_undone_on_the_phone_and_the_anchors_move_on() {
    // A read-only address book (a shared or subscribed one): alice may read, not write.
    let radicale = support::radicale::Radicale::builder()
        .rights(
            "[readonly]\nuser: .+\ncollection: {user}/readonly\npermissions: r\n\
             [root]\nuser: .+\ncollection:\npermissions: R\n\
             [principal]\nuser: .+\ncollection: {user}\npermissions: RW\n\
             [collections]\nuser: .+\ncollection: {user}/[^/]+\npermissions: rw\n",
        )
        .start();
    let book = radicale
        .storage_dir()
        .join("collection-root")
        .join(USER)
        .join("readonly");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::write(
        book.join(".Radicale.props"),
        r#"{"D:displayname": "readonly", "tag": "VADDRESSBOOK"}"#,
    )
    .unwrap();
    let original = items::dav_vcard("ro-1", "Readonly", "Rita", &["TEL;TYPE=CELL:+4917011111"]);
    std::fs::write(book.join("ro-1.vcf"), &original).unwrap();
    let bridge = support::bridge::Bridge::builder(&radicale.base_url()).start();

    // Session 1: slow sync, the card goes to the phone, which maps it.
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-readonly", "40");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &readonly_alert(201, None, "1"),
        true,
    );
    assert_eq!(header_code(&phone.post(&init)), 212);
    let m = phone.message("", &readonly_sync(""), true);
    let p4 = phone.post(&m);
    let server_id = first_source(&p4.text, "Add");
    let map = format!(
        "<Map><CmdID>3</CmdID><Target><LocURI>readonly</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
         <MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>ro-luid</LocURI></Source></MapItem></Map>"
    );
    let m = phone.message("", &map, true);
    phone.post(&m);

    // Session 2: the phone edits the card; the upstream refuses the write. The phone is
    // told (425) and gets the server's version back.
    let edited = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Readonly;Rita;;;\r\nFN:Rita Readonly\r\n\
                  TEL;CELL:+4917099999\r\nEND:VCARD\r\n";
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-readonly", "41");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &readonly_alert(200, Some("1"), "2"),
        true,
    );
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
    let replace = format!(
        "<Replace><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>ro-luid</LocURI></Source><Data><![CDATA[{edited}]]></Data></Item></Replace>"
    );
    let m = phone.message("", &readonly_sync(&replace), true);
    let p4 = phone.post(&m);
    assert_eq!(statuses_for(&p4, "Replace")[0].code, 425, "{}", p4.text);
    let back =
        inner(&p4.text, "Replace").unwrap_or_else(|| panic!("nothing sent back:\n{}", p4.text));
    assert!(
        back.contains("+4917011111") && back.contains("ro-luid"),
        "{back}"
    );
    let m = phone.message("", "", true);
    phone.post(&m);
    let held = std::fs::read_to_string(book.join("ro-1.vcf")).unwrap();
    assert_eq!(held, original, "the read-only card changed");

    // Session 3: the anchors moved on (no slow sync). The phone deletes the card: refused
    // too, and the card returns to the phone as a new item.
    let mut phone = Crafted::new(&bridge.syncml_url(), "crafted-readonly", "42");
    let init = phone.message(
        &basic(USER, PASSWORD),
        &readonly_alert(200, Some("2"), "3"),
        true,
    );
    let answer = phone.post(&init);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "a refused item must not force a slow sync:\n{}",
        answer.text
    );
    let delete =
        "<Delete><CmdID>3</CmdID><Item><Source><LocURI>ro-luid</LocURI></Source></Item></Delete>";
    let m = phone.message("", &readonly_sync(delete), true);
    let p4 = phone.post(&m);
    assert_eq!(statuses_for(&p4, "Delete")[0].code, 425, "{}", p4.text);
    let again = inner(&p4.text, "Add").unwrap_or_else(|| panic!("not sent back:\n{}", p4.text));
    assert!(again.contains("+4917011111"), "{again}");
    assert!(book.join("ro-1.vcf").exists());
}

#[test]
fn two_identical_todos_without_uid_are_both_stored_and_the_session_completes() {
    let world = World::start();
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-twins", "50");
    let tasks_alert = alert(201, None, "1")
        .replace("<LocURI>contacts</LocURI>", "<LocURI>tasks</LocURI>")
        .replace("./contacts", "./tasks");
    let m = phone.message(&basic(USER, PASSWORD), &tasks_alert, true);
    assert_eq!(header_code(&phone.post(&m)), 212);
    // A phone sends two to-dos with the same text and no UID in one message: converted in
    // the same second, they would get the same UID and name.
    let todo = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:client1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let add = |cmd: u32, luid: &str| {
        format!(
            "<Add><CmdID>{cmd}</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcalendar</Type></Meta>\
             <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{todo}]]></Data></Item></Add>"
        )
    };
    let sync = format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>tasks</LocURI></Target><Source><LocURI>./tasks</LocURI></Source>{}{}</Sync>",
        add(3, "t-1"),
        add(4, "t-2")
    );
    let m = phone.message("", &sync, true);
    let reply = phone.post(&m);
    let adds: Vec<u16> = statuses_for(&reply, "Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, vec![201, 201], "{}", reply.text);
    let status = "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>3</CmdRef><Cmd>Sync</Cmd><Data>200</Data></Status>";
    let m = phone.message("", status, true);
    phone.post(&m);
    assert_eq!(world.server_items(Datastore::Tasks).len(), 2);

    // The session completed: the next one is an ordinary two-way sync.
    let mut phone = Crafted::new(&world.bridge.syncml_url(), "crafted-twins", "51");
    let next = alert(200, Some("1"), "2")
        .replace("<LocURI>contacts</LocURI>", "<LocURI>tasks</LocURI>")
        .replace("./contacts", "./tasks");
    let m = phone.message(&basic(USER, PASSWORD), &next, true);
    let answer = phone.post(&m);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "{}",
        answer.text
    );
}

/// A phone that starts a session over under the same SessionID sends a new first message
/// (new anchors) with the old MsgID 1. It is a new session, not a resend: answered from
/// the resend cache, the old session went on and stored the old anchors, and the phone's
/// next sync was a needless slow sync.
#[test]
fn a_phone_starting_over_under_the_same_session_id_gets_its_new_anchors_stored() {
    let world = World::start();
    let url = world.bridge.syncml_url();
    let mut first_try = Crafted::new(&url, "crafted-startover", "41");
    let init = first_try.message(&basic(USER, PASSWORD), &alert(201, None, "1"), true);
    assert_eq!(header_code(&first_try.post(&init)), 212);

    // The phone gives up before its second message and starts over: same SessionID,
    // MsgID 1 again, a new Next anchor.
    let mut again = Crafted::new(&url, "crafted-startover", "41");
    let init = again.message(&basic(USER, PASSWORD), &alert(201, None, "2"), true);
    assert_eq!(header_code(&again.post(&init)), 212);
    let empty = "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Sync>";
    let m = again.message("", empty, true);
    let package4 = again.post(&m);
    assert!(package4.text.contains("<Final/>"), "{}", package4.text);

    // The next sync names the anchor of the session that completed: a two-way sync.
    let mut next = Crafted::new(&url, "crafted-startover", "42");
    let init = next.message(&basic(USER, PASSWORD), &alert(200, Some("2"), "3"), true);
    let answer = next.post(&init);
    assert_eq!(header_code(&answer), 212);
    assert_eq!(
        statuses_for(&answer, "Alert")[0].code,
        200,
        "the anchors of the restarted session were not stored:\n{}",
        answer.text
    );
}
