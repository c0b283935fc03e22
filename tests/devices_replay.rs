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
fn replay_siemens_s65_latin1_contacts() {
    replay_and_check("siemens-s65-contacts");
}

/// A Sync4j PocketPC client sends no DevInf, puts `text/x-s4j-sifc` on the command and
/// `b64` on the item: its contacts are read as SIF, and the server's own contacts go to it
/// in SIF in the next session.
#[test]
fn sif_items_are_parsed_by_their_declared_type_without_devinf() {
    let world = World::start();
    let mut first = load("sync4j-pocketpc-contacts");
    let mut second = first.clone();
    first.messages.truncate(4);
    let report = replay_recording(&world, &first);
    assert!(report.passed(), "{report}");
    let cards = world.server_items(Datastore::Contacts);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert!(cards[0].1.contains("FN:Client1"), "{}", cards[0].1);
    assert!(!cards[0].1.contains("<?xml"), "{}", cards[0].1);

    world.dav().put(
        &format!("{}server-card.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:server-card\r\nFN:Server Card\r\nN:Card;Server;;;\r\nEND:VCARD\r\n",
    );
    second.messages.drain(..4);
    second.messages.truncate(2);
    let report = replay_recording(&world, &second);
    assert!(report.passed(), "{report}");
    let replies: String = report
        .exchanges
        .iter()
        .map(|e| String::from_utf8_lossy(&e.reply).into_owned())
        .collect();
    assert!(
        replies.contains("text/x-s4j-sifc"),
        "the server's card did not go out as SIF:\n{replies}"
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
