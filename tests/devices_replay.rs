//! The recorded sessions of real devices in `tests/devices/` (see its README), each
//! replayed against the real binary in front of Radicale: every answer must accept the
//! device's items, and Radicale must end up holding the device's live items as it meant
//! them.

mod support;

use support::devices::{load, replay_and_check, replay_recording};
use support::e2e::World;
use support::syncevolution::Datastore;

#[test]
fn replay_sony_ericsson_p900_calendar_and_tasks_in_one_datastore() {
    replay_and_check("sony-ericsson-p900-calendar-tasks");
}

#[test]
fn replay_funambol_outlook_3_0_15_sif_calendar() {
    replay_and_check("funambol-outlook-3.0.15-calendar");
}

#[test]
fn replay_sync4j_pocketpc_sif_calendar() {
    replay_and_check("sync4j-pocketpc-calendar");
}

#[test]
fn replay_sync4j_pocketpc_sif_contacts() {
    replay_and_check("sync4j-pocketpc-contacts");
}

#[test]
fn replay_sync4j_pocketpc_sif_notes() {
    replay_and_check("sync4j-pocketpc-notes");
}

#[test]
fn replay_synthesis_client_tasks() {
    replay_and_check("synthesis-tasks");
}

#[test]
fn replay_nokia_6300_s40_contacts_slow_sync() {
    replay_and_check("nokia-6300-s40-contacts");
}

#[test]
fn replay_nokia_e51_s60_calendar_and_tasks_in_one_datastore() {
    replay_and_check("nokia-e51-s60-calendar-tasks");
}

#[test]
fn replay_motorola_v3_calendar_without_item_types() {
    replay_and_check("motorola-v3-calendar");
}

#[test]
fn replay_syncevolution_1_2_wbxml_contacts_and_calendar() {
    replay_and_check("syncevolution-1.2-wbxml-contacts-calendar");
}

#[test]
fn replay_siemens_s65_latin1_contacts() {
    replay_and_check("siemens-s65-contacts");
}

/// A Sync4j PocketPC client sends no DevInf, puts `text/x-s4j-sifc` on the command and
/// `b64` on the item: its contacts are read as SIF, and the server's own contacts go to it
/// in SIF, in the same session and in a later one where it sends no item at all.
#[test]
fn sif_items_are_parsed_by_their_declared_type_without_devinf() {
    let world = World::start();
    let mut first = load("sync4j-pocketpc-contacts");
    let mut second = first.clone();
    first.messages.truncate(4);
    let report = replay_recording(&world, &first);
    assert!(report.passed(), "{report}");
    let cards = world.server_items(Datastore::Contacts);
    assert!(
        cards.iter().any(|(_, c)| c.contains("FN:Client1")),
        "the phone's SIF contact is not upstream: {cards:?}"
    );
    assert!(!cards.iter().any(|(_, c)| c.contains("<?xml")), "{cards:?}");
    // The server's own contact went to the phone in SIF in the same session, and the
    // phone's Map for it (its recorded id rewritten to the bridge's) was accepted.
    let replies = |r: &support::devices::Report| -> String {
        r.exchanges
            .iter()
            .map(|e| String::from_utf8_lossy(&e.reply).into_owned())
            .collect()
    };
    assert!(replies(&report).contains("text/x-s4j-sifc"), "{report}");
    let map = report
        .exchanges
        .iter()
        .flat_map(|e| &e.statuses)
        .find(|s| s.cmd == "Map")
        .unwrap_or_else(|| panic!("the phone's Map got no status:\n{report}"));
    assert_eq!(map.code, 200, "{report}");

    world.dav().put(
        &format!("{}server-card.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:server-card\r\nFN:Server Card\r\nN:Card;Server;;;\r\nEND:VCARD\r\n",
    );
    // The third recorded session: the phone sends no item of its own, so only what the
    // bridge remembered from the first session can tell it to answer in SIF.
    second.messages.drain(..8);
    second.messages.truncate(4);
    let report = replay_recording(&world, &second);
    assert!(report.passed(), "{report}");
    let replies = replies(&report);
    assert!(
        replies.contains("text/x-s4j-sifc") && !replies.contains("text/x-vcard"),
        "the server's cards did not go out as SIF:\n{replies}"
    );
}

/// The P900's all-day event runs `T000000Z` to `T240000Z`: hour 24 is the next day's
/// midnight, and Radicale gets a one-day all-day event.
#[test]
fn a_p900_all_day_event_ending_at_hour_24_is_stored() {
    let world = World::start();
    let mut first = load("sony-ericsson-p900-calendar-tasks");
    first.messages.truncate(3);
    let report = replay_recording(&world, &first);
    assert!(report.passed(), "{report}");
    let events: Vec<String> = world
        .server_items(Datastore::Calendar)
        .into_iter()
        .map(|(_, b)| support::items::unfold(&b))
        .collect();
    let christmas = events
        .iter()
        .find(|e| e.contains("christmas all day"))
        .unwrap_or_else(|| panic!("the all-day event is missing: {events:?}"));
    assert!(
        christmas.contains("DTSTART;VALUE=DATE:20061225"),
        "{christmas}"
    );
    assert!(
        christmas.contains("DTEND;VALUE=DATE:20061226"),
        "{christmas}"
    );
    assert!(!christmas.contains("T240000"), "{christmas}");
    assert!(christmas.contains("VERSION:2.0"), "{christmas}");
}

/// Every recording of the corpus has its named test, its provenance and its expectations.
#[test]
fn every_recording_has_its_test_and_its_expectations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/devices");
    let this = include_str!("devices_replay.rs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(this.contains(&format!("\"{name}\"")), "{name} has no test");
        assert!(
            entry.path().join("SOURCE.md").exists(),
            "{name} has no SOURCE.md"
        );
        assert!(
            !support::devices::expected(&name).is_empty(),
            "{name}: empty expect.toml"
        );
        n += 1;
    }
    assert!(n >= 10, "only {n} recordings");
}

/// `syncml-bridge replay` against a running bridge: each exchange printed with its
/// statuses, exit 0 when every check passed, and a non-zero exit naming what failed.
#[test]
fn the_replay_command_prints_every_exchange_and_fails_on_a_failed_check() {
    let world = World::start();
    let run = |password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
            .arg("replay")
            .arg(support::devices::dir("motorola-v3-calendar"))
            .args(["--url", &world.bridge.syncml_url()])
            .args(["--user", support::e2e::USER, "--password", password])
            .output()
            .expect("run syncml-bridge replay")
    };
    let ok = run(support::e2e::PASSWORD);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("02-in.xml"), "{out}");
    assert!(out.contains("Add 2/4 4097: 201"), "{out}");
    assert!(
        out.contains("3 messages replayed, 0 with a failed check: PASS"),
        "{out}"
    );
    assert_eq!(world.server_items(Datastore::Calendar).len(), 2);

    let bad = run("not-the-password");
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(2), "{out}");
    assert!(out.contains("FAILED: the header status is 401"), "{out}");
    assert!(out.contains(": FAIL"), "{out}");
    assert!(!out.contains("not-the-password"), "{out}");
}

/// Funambol and Sync4j clients ask for the next message (Alert 222) after the server's
/// last package and only then send their statuses and Map: the session stays open for
/// them, with the server's items sent (and mapped) or not.
#[test]
fn a_phone_asking_for_more_after_the_last_package_still_gets_its_map_answered() {
    for seeded in [true, false] {
        let world = World::start();
        let mut first = load("funambol-outlook-3.0.15-calendar");
        first.messages.truncate(4);
        if !seeded {
            // Without the recorded server's replies nothing is put upstream first.
            for m in &mut first.messages {
                m.server = None;
            }
        }
        let report = replay_recording(&world, &first);
        assert!(report.passed(), "seeded={seeded}:\n{report}");
        let last = &report.exchanges[3];
        assert!(
            last.statuses
                .iter()
                .any(|s| s.cmd == "SyncHdr" && s.code == 200),
            "seeded={seeded}:\n{report}"
        );
        assert!(
            last.statuses
                .iter()
                .any(|s| s.cmd == "Map" && s.code == 200),
            "seeded={seeded}:\n{report}"
        );
    }
}

/// The time spellings of the SyncML 1.0 era, sent the P900's way (vCalendar 1.0 labelled
/// `text/calendar`, one datastore for the agenda): each reaches Radicale as the day or the
/// time the phone meant.
#[test]
fn every_1_0_era_time_spelling_reaches_radicale_as_the_phone_meant_it() {
    let spellings: [(&str, &str, &str); 5] = [
        // UTC midnight to hour 24 (Sony Ericsson P800/P900).
        (
            "utc-24",
            "DTSTART:20061225T000000Z\r\nDTEND:20061225T240000Z",
            "X-EPOCAGENDAENTRYTYPE:EVENT",
        ),
        // Local midnight to hour 24 (Motorola, UIQ).
        (
            "local-24",
            "DTSTART:20070704T000000\r\nDTEND:20070704T240000",
            "X-EPOCAGENDAENTRYTYPE:EVENT",
        ),
        // Date values.
        (
            "date-only",
            "DTSTART:20070408\r\nDTEND:20070409",
            "X-EPOCAGENDAENTRYTYPE:EVENT",
        ),
        // Start equal to end at midnight (Nokia Series 40).
        (
            "start-is-end",
            "DTSTART:20070501T000000\r\nDTEND:20070501T000000",
            "X-EPOCAGENDAENTRYTYPE:EVENT",
        ),
        // A timed appointment in the phone's local time, without a zone.
        (
            "local-time",
            "DTSTART:20070315T093000\r\nDTEND:20070315T103000",
            "X-EPOCAGENDAENTRYTYPE:APPOINTMENT",
        ),
    ];
    let world = World::start();
    let mut rec = load("sony-ericsson-p900-calendar-tasks");
    rec.messages.truncate(3);
    for m in &mut rec.messages {
        m.server = None;
    }
    let items: String = spellings
        .iter()
        .enumerate()
        .map(|(i, (name, times, kind))| {
            format!(
                "<Replace><CmdID>{}</CmdID><Meta><Type xmlns='syncml:metinf'>text/calendar</Type>\
                 </Meta><Item><Source><LocURI>{}</LocURI></Source><Data><![CDATA[BEGIN:VCALENDAR\r\n\
                 VERSION:1.0\r\nBEGIN:VEVENT\r\nUID:{}\r\nSUMMARY:{name}\r\n{times}\r\n{kind}\r\n\
                 CLASS:PUBLIC\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n]]></Data></Item></Replace>",
                5 + i,
                700 + i,
                700 + i
            )
        })
        .collect();
    // And a to-do of the same agenda, due at the phone's local midnight.
    let items = format!(
        "{items}<Replace><CmdID>20</CmdID><Meta><Type xmlns='syncml:metinf'>text/calendar</Type>\
         </Meta><Item><Source><LocURI>720</LocURI></Source><Data><![CDATA[BEGIN:VCALENDAR\r\n\
         VERSION:1.0\r\nBEGIN:VTODO\r\nUID:720\r\nSUMMARY:due-local-midnight\r\n\
         DUE:20070531T000000\r\nX-EPOCAGENDAENTRYTYPE:TODO\r\nEND:VTODO\r\nEND:VCALENDAR\r\n\
         ]]></Data></Item></Replace>"
    );
    let sync = &mut rec.messages[1].client;
    let (start, end) = (
        sync.find("<Replace>").expect("the recorded Replace"),
        sync.find("</Sync>").expect("the recorded Sync"),
    );
    sync.replace_range(start..end, &items);
    let report = replay_recording(&world, &rec);
    assert!(report.passed(), "{report}");

    let events: Vec<String> = world
        .server_items(Datastore::Calendar)
        .into_iter()
        .map(|(_, b)| support::items::unfold(&b))
        .collect();
    let event = |name: &str| -> &String {
        events
            .iter()
            .find(|e| e.lines().any(|l| l == format!("SUMMARY:{name}")))
            .unwrap_or_else(|| panic!("{name} is not upstream: {events:#?}"))
    };
    for (name, start, end) in [
        ("utc-24", "20061225", "20061226"),
        ("local-24", "20070704", "20070705"),
        ("date-only", "20070408", "20070409"),
        ("start-is-end", "20070501", "20070502"),
    ] {
        let e = event(name);
        assert!(
            e.contains(&format!("DTSTART;VALUE=DATE:{start}")),
            "{name}: {e}"
        );
        assert!(
            e.contains(&format!("DTEND;VALUE=DATE:{end}")),
            "{name}: {e}"
        );
    }
    let timed = event("local-time");
    assert!(
        timed.contains("T093000") || timed.contains("T0930"),
        "{timed}"
    );
    assert!(!timed.contains("VALUE=DATE"), "{timed}");
    for e in &events {
        assert!(e.contains("VERSION:2.0") && !e.contains("T240000"), "{e}");
    }
    let tasks = world.server_items(Datastore::Tasks);
    assert_eq!(
        tasks.len(),
        1,
        "the to-do is not in the task list: {tasks:?}"
    );
    let todo = support::items::unfold(&tasks[0].1);
    assert!(todo.contains("DUE;VALUE=DATE:20070531"), "{todo}");
}

/// A bridge that takes only MD5 challenges the replay's Basic log-in; the replay answers
/// with MD5 over the nonce it was given, in every session (SyncML 1.0 and 1.1 digests).
#[test]
fn a_replay_logs_in_with_md5_when_the_bridge_challenges_for_it() {
    let world = World::start_with(|b| {
        support::crafted::md5_policy(b).app_password(support::e2e::USER, support::e2e::PASSWORD)
    });
    for name in ["motorola-v3-calendar", "sony-ericsson-p900-calendar-tasks"] {
        let mut rec = load(name);
        rec.messages.truncate(3);
        for m in &mut rec.messages {
            m.server = None;
        }
        let report = replay_recording(&world, &rec);
        assert!(report.passed(), "{name}:\n{report}");
        assert!(
            report.exchanges[0]
                .statuses
                .iter()
                .any(|s| s.cmd == "SyncHdr" && s.code == 212),
            "{name}:\n{report}"
        );
    }
    assert_eq!(world.server_items(Datastore::Calendar).len(), 4);
}
