//! What a sync may never do to a user's data, end to end through the real bridge into
//! Radicale: join two different people on a slow sync, drop a server property's
//! parameters on a round trip through a vCard 2.1 phone, or store the empty fields a
//! phone sends. The phones are the SyncEvolution client and, where a test needs a CTCap
//! SyncEvolution cannot be made to send, a crafted SyncML phone.

mod support;

use support::crafted::{alert, basic, header_code, statuses_for, Crafted};
use support::e2e::{assert_mode, containing, options, World, PASSWORD, USER};
use support::items::{self, digits, property_values};
use support::syncevolution::{Datastore, SyncMode};

const CONTACTS: Datastore = Datastore::Contacts;

/// A vCard 2.1 card as a phone holds it.
fn phone_card(lines: &[&str]) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\n{}\r\nEND:VCARD\r\n",
        lines.join("\r\n")
    )
}

const ANNA_HAMBURG: &[&str] = &[
    "N:Schmidt;Anna",
    "FN:Anna Schmidt",
    "TEL;CELL:+491701111111",
    "TEL;HOME:+4940123456",
    "EMAIL;INTERNET:familie.schmidt@example.org",
    "ADR;HOME:;;Elbchaussee 1;Hamburg;;22763;Germany",
    "ORG:Hafen AG",
    "TITLE:Lotsin",
    "NOTE:Kennt den Hafen",
];

const ANNA_MUNICH: &[&str] = &[
    "N:Schmidt;Anna",
    "FN:Anna Schmidt",
    "TEL;CELL:+491712222222",
    "EMAIL;INTERNET:familie.schmidt@example.org",
    "ADR;HOME:;;Leopoldstrasse 9;Muenchen;;80802;Germany",
    "ORG:Brauerei GmbH",
    "TITLE:Braumeisterin",
];

/// Panics unless `body` holds every field of Anna from Hamburg.
fn assert_hamburg_anna(body: &str, whose: &str) {
    let tels: Vec<String> = property_values(body, "TEL")
        .iter()
        .map(|t| digits(t))
        .collect();
    assert!(
        tels.contains(&"491701111111".to_owned()) && tels.contains(&"4940123456".to_owned()),
        "{whose}: numbers {tels:?} in\n{body}"
    );
    for needle in [
        "Elbchaussee 1",
        "Hamburg",
        "Hafen AG",
        "Lotsin",
        "Kennt den Hafen",
        "familie.schmidt@example.org",
    ] {
        assert!(
            items::unfold(body).contains(needle),
            "{whose}: {needle} lost in\n{body}"
        );
    }
    for foreign in ["2222222", "Leopoldstrasse", "Brauerei", "Braumeisterin"] {
        assert!(
            !items::unfold(body).contains(foreign),
            "{whose}: {foreign} joined Anna from Hamburg:\n{body}"
        );
    }
}

#[test]
fn slow_sync_keeps_two_different_people_with_the_same_name_and_family_email() {
    let world = World::start();
    let mut a = world.phone("e2e-anna-hamburg", options(&[CONTACTS]));
    a.put_item(CONTACTS, "anna.vcf", &phone_card(ANNA_HAMBURG));
    assert_mode(&a.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    assert_eq!(world.server_items(CONTACTS).len(), 1);

    // Phone B's first slow sync: same name, same family e-mail, another person.
    let mut b = world.phone("e2e-anna-munich", options(&[CONTACTS]));
    b.put_item(CONTACTS, "anna.vcf", &phone_card(ANNA_MUNICH));
    let sync = b.sync(SyncMode::Slow, &[]);
    assert_mode(&sync, CONTACTS, "slow");

    let server = world.server_items(CONTACTS);
    assert_eq!(server.len(), 2, "two people, two cards: {server:?}");
    let hamburg = containing(&server, "Elbchaussee");
    assert_eq!(hamburg.len(), 1, "{server:?}");
    assert_hamburg_anna(hamburg[0], "Radicale");
    let munich = containing(&server, "Leopoldstrasse");
    assert_eq!(munich.len(), 1, "{server:?}");
    assert!(munich[0].contains("Brauerei GmbH"), "{}", munich[0]);
    // Phone B now holds both, and the log says why its card was not joined.
    assert_eq!(b.items(CONTACTS).len(), 2, "{:?}", b.items(CONTACTS));
    let log = world.bridge.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("kept apart") && l.contains("ORG")),
        "{}",
        world.log_tail(30)
    );

    // Phone A's next sync brings it the other Anna and leaves its own alone.
    let next = a.sync(SyncMode::TwoWay, &[]);
    assert_mode(&next, CONTACTS, "two-way");
    let on_a = a.items(CONTACTS);
    assert_eq!(on_a.len(), 2, "{on_a:?}");
    let own = containing(&on_a, "Elbchaussee");
    assert_eq!(own.len(), 1, "{on_a:?}");
    assert_hamburg_anna(own[0], "phone A");
    assert_eq!(world.server_items(CONTACTS).len(), 2);
}

#[test]
fn a_photo_type_survives_a_round_trip_through_a_vcard21_phone() {
    let world = World::start();
    // 96 bytes that are not text, as a photo would be.
    let photo: String = {
        use base64::Engine as _;
        let bytes: Vec<u8> = (0u8..96).map(|b| b.wrapping_mul(37) ^ 0xA5).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let photo_line = format!("PHOTO;ENCODING=b;TYPE=JPEG:{photo}");
    world.dav().put(
        &format!("{}srv-photo.vcf", world.collection(CONTACTS)),
        "text/vcard",
        &items::dav_vcard(
            "srv-photo",
            "Bild",
            "Paula",
            &[
                "TEL;TYPE=CELL:+491705550000",
                "EMAIL;TYPE=INTERNET:paula@old.example",
                &photo_line,
            ],
        ),
    );
    let mut phone = world.phone("e2e-photo-type", options(&[CONTACTS]));
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let on_phone = phone.items(CONTACTS);
    assert_eq!(on_phone.len(), 1, "{on_phone:?}");
    let (file, card) = &on_phone[0];
    assert!(card.contains("VERSION:2.1"), "{card}");
    assert!(
        items::unfold(card)
            .replace(['\n', ' '], "")
            .contains(&photo),
        "the phone never got the photo:\n{card}"
    );

    // The phone edits the e-mail address and sends its whole card back.
    phone.modify_item(
        CONTACTS,
        file,
        &card.replace("paula@old.example", "paula@new.example"),
    );
    let sync = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&sync, CONTACTS, "two-way");
    assert_eq!(
        sync.source(CONTACTS).remote_updated(),
        1,
        "{:?}",
        sync.report
    );

    let server = world.server_items(CONTACTS);
    assert_eq!(server.len(), 1, "{server:?}");
    let body = items::unfold(&server[0].1);
    assert!(body.contains("paula@new.example"), "edit lost:\n{body}");
    assert!(
        body.contains(&photo_line),
        "the photo's parameters changed:\n{body}"
    );
    assert!(body.contains("UID:srv-photo"), "{body}");
}

/// A DevInf of a crafted vCard 2.1 phone whose CTCap lists `props`, and a slow-sync Alert.
fn devinf_with_ctcap(device: &str, props: &[&str]) -> String {
    let properties: String = ["BEGIN", "END", "VERSION"]
        .iter()
        .chain(props)
        .map(|p| format!("<Property><PropName>{p}</PropName></Property>"))
        .collect();
    format!(
        "<Put><CmdID>5</CmdID><Meta><Type xmlns=\"syncml:metinf\">application/vnd.syncml-devinf+xml</Type></Meta>\
         <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns=\"syncml:devinf\">\
         <VerDTD>1.2</VerDTD><Man>Crafted</Man><Mod>CTCap</Mod><DevID>{device}</DevID><DevTyp>phone</DevTyp>\
         <DataStore><SourceRef>./contacts</SourceRef>\
         <Rx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref>\
         <Tx-Pref><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT></Tx-Pref>\
         <CTCap><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT>{properties}</CTCap>\
         <SyncCap><SyncType>1</SyncType><SyncType>2</SyncType></SyncCap></DataStore>\
         </DevInf></Data></Item></Put>"
    )
}

/// A Sync with one `command` (Add or Replace) of `card` of MIME type `mime` under `luid`.
fn sync_with(command: &str, mime: &str, luid: &str, card: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
         <{command}><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">{mime}</Type></Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{card}]]></Data></Item></{command}></Sync>"
    )
}

/// One session of a crafted phone: its first message (`init`, whose Alert must get
/// `alert_status`), one Sync, and the closing message; returns the status of the Sync's
/// command `cmd`.
fn crafted_session(
    world: &World,
    (device, session): (&str, &str),
    (init, alert_status): (&str, u16),
    (sync, cmd): (&str, &str),
) -> u16 {
    let mut phone = Crafted::new(&world.bridge.syncml_url(), device, session);
    let m = phone.message(&basic(USER, PASSWORD), init, true);
    let answer = phone.post(&m);
    assert_eq!(header_code(&answer), 212, "{}", answer.text);
    let alert = statuses_for(&answer, "Alert");
    assert_eq!(
        alert.first().map(|s| s.code),
        Some(alert_status),
        "{}",
        answer.text
    );
    let m = phone.message("", sync, true);
    let reply = phone.post(&m);
    let status = statuses_for(&reply, cmd)
        .first()
        .unwrap_or_else(|| panic!("no status for {cmd}: {}", reply.text))
        .code;
    let m = phone.message("", "", true);
    phone.post(&m);
    status
}

/// The card Radicale holds whose text contains `needle`.
fn server_card(world: &World, needle: &str) -> String {
    let server = world.server_items(CONTACTS);
    let found = containing(&server, needle);
    assert_eq!(found.len(), 1, "{needle}: {server:?}");
    items::unfold(found[0])
}

#[test]
fn empty_properties_from_a_phone_are_never_stored_upstream() {
    const EMPTIES: [&str; 9] = [
        "BDAY:",
        "PHOTO:",
        "URL:",
        "ROLE:",
        "GEO:;",
        "X-GENDER:",
        "ORG:;;",
        "ADR;HOME:;;;;;;",
        "NOTE:",
    ];
    let no_empty = |body: &str| {
        for line in body.lines() {
            let value = line.split_once(':').map_or("", |(_, v)| v);
            assert!(
                !value.chars().all(|c| matches!(c, ';' | ',' | ' ')),
                "empty property stored upstream: {line:?} in\n{body}"
            );
        }
    };

    // SyncEvolution adds a card with every field, empty ones too.
    let world = World::start();
    let mut phone = world.phone("e2e-empty-fields", options(&[CONTACTS]));
    let mut lines = vec!["N:Leer;Lena", "TEL;CELL:+491706660000"];
    lines.extend(EMPTIES);
    phone.put_item(CONTACTS, "lena.vcf", &phone_card(&lines));
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    no_empty(&server_card(&world, "Leer;Lena"));

    // A vCard 3.0 phone's Add, empty fields spelled its way, and its Replaces: an empty
    // BDAY clears the server's birthday only from a phone whose CTCap lists BDAY.
    let v30 = |name: &str, bday: &str| {
        let mut lines = vec![
            "BEGIN:VCARD".to_owned(),
            "VERSION:3.0".to_owned(),
            format!("N:{name};Bea;;;"),
            "TEL;TYPE=CELL:+491707770000".to_owned(),
            format!("BDAY:{bday}"),
        ];
        lines.extend(
            EMPTIES
                .iter()
                .filter(|l| !l.starts_with("BDAY"))
                .map(|l| l.replace(";HOME", ";TYPE=HOME")),
        );
        lines.push("END:VCARD".to_owned());
        lines.join("\r\n") + "\r\n"
    };
    for (device, name, listed, kept) in [
        (
            "crafted-holds-bday",
            "Geburt",
            &["N", "TEL", "BDAY"][..],
            false,
        ),
        ("crafted-lacks-bday", "Ohne", &["N", "TEL"][..], true),
    ] {
        // Each phone on its own account's data: nothing else to send it.
        let world = World::start();
        let init = devinf_with_ctcap(device, listed) + &alert(201, None, "1");
        let add = sync_with("Add", "text/vcard", "1", &v30(name, "1980-01-02"));
        let status = crafted_session(&world, (device, "1"), (&init, 200), (&add, "Add"));
        assert_eq!(status, 201);
        let stored = server_card(&world, &format!("N:{name};Bea"));
        no_empty(&stored);
        assert!(stored.contains("BDAY:1980-01-02"), "{stored}");

        let replace = sync_with("Replace", "text/vcard", "1", &v30(name, ""));
        let init = alert(200, Some("1"), "2");
        let status = crafted_session(&world, (device, "2"), (&init, 200), (&replace, "Replace"));
        assert_eq!(status, 200);
        let after = server_card(&world, &format!("N:{name};Bea"));
        no_empty(&after);
        assert_eq!(
            after.contains("BDAY:1980-01-02"),
            kept,
            "{device} (CTCap {listed:?}):\n{after}"
        );
        assert!(after.contains("+491707770000"), "{after}");
    }
}

#[test]
fn a_slow_sync_never_removes_a_server_value_the_phone_lacks() {
    let world = World::start();
    let mut phone = world.phone("e2e-slow-union", options(&[CONTACTS]));
    phone.put_item(
        CONTACTS,
        "karl.vcf",
        &phone_card(&["N:Weber;Karl", "TEL;CELL:+491708880000", "TITLE:Koch"]),
    );
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let server = world.server_items(CONTACTS);
    assert_eq!(server.len(), 1, "{server:?}");

    // Someone adds a number and an address on the server; the phone then has to start
    // over with a slow sync, not knowing about that change.
    let (href, body) = &server[0];
    let edited = body.replace(
        "END:VCARD",
        "TEL;TYPE=HOME:+4930123456\r\nEMAIL;TYPE=INTERNET:karl@example.org\r\nEND:VCARD",
    );
    assert!(world.dav().put(href, "text/vcard", &edited).is_success());
    let sync = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&sync, CONTACTS, "slow");

    let server = world.server_items(CONTACTS);
    assert_eq!(server.len(), 1, "joined, not duplicated: {server:?}");
    let body = items::unfold(&server[0].1);
    for kept in [
        "+491708880000",
        "+4930123456",
        "karl@example.org",
        "TITLE:Koch",
    ] {
        assert!(body.contains(kept), "{kept} lost upstream:\n{body}");
    }
    // The phone got what it lacked.
    let on_phone = phone.items(CONTACTS);
    assert_eq!(on_phone.len(), 1, "{on_phone:?}");
    let card = items::unfold(&on_phone[0].1);
    assert!(
        card.contains("+4930123456") && card.contains("karl@example.org"),
        "{card}"
    );
}
