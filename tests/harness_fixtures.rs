//! The captured SyncEvolution corpus is complete and says what its README says.

mod support;

use std::path::{Path, PathBuf};

use support::syncml_xml::{element_paths, texts_at, wbxml_to_xml};

const SESSIONS: [(&str, &str, bool); 4] = [
    ("1.1-xml", "1.1", false),
    ("1.1-wbxml", "1.1", true),
    ("1.2-xml", "1.2", false),
    ("1.2-wbxml", "1.2", true),
];

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/syncevolution")
        .join(name)
}

/// The request NN of a session as (element path, text) pairs; WBXML is decoded with the
/// installed wbxml2xml and must give the same tree as the stored decoding.
fn request(name: &str, wbxml: bool, n: u32) -> Vec<(String, String)> {
    let dir = fixture_dir(name);
    if wbxml {
        let raw = std::fs::read(dir.join(format!("{n:02}-request.wbxml"))).unwrap();
        let decoded = wbxml_to_xml(&raw).unwrap();
        let stored =
            std::fs::read_to_string(dir.join(format!("{n:02}-request.wbxml2xml.xml"))).unwrap();
        let paths = element_paths(&decoded).unwrap();
        assert_eq!(paths, element_paths(&stored).unwrap(), "{name}/{n:02}");
        paths
    } else {
        let xml = std::fs::read_to_string(dir.join(format!("{n:02}-request.xml"))).unwrap();
        element_paths(&xml).unwrap_or_else(|e| panic!("{name}/{n:02}: {e}"))
    }
}

#[test]
fn every_scenario_is_a_slow_then_two_way_sync() {
    for (name, version, wbxml) in SESSIONS {
        let output = std::fs::read_to_string(fixture_dir(name).join("client-output.txt")).unwrap();
        assert!(output.contains("Synchronization successful"), "{name}");

        let proto = format!("SyncML/{version}");
        let devinf = format!("./devinf{}", version.replace('.', ""));

        let pkg1 = request(name, wbxml, 1);
        assert_eq!(
            texts_at(&pkg1, "SyncML/SyncHdr/VerProto"),
            vec![proto.as_str()]
        );
        assert_eq!(
            texts_at(&pkg1, "SyncML/SyncHdr/Cred/Meta/Type"),
            vec!["syncml:auth-md5"],
            "{name}"
        );
        assert_eq!(
            texts_at(&pkg1, "SyncML/SyncBody/Alert/Data"),
            vec!["201", "201"]
        );
        let mut targets = texts_at(&pkg1, "SyncML/SyncBody/Alert/Item/Target/LocURI");
        targets.sort();
        assert_eq!(targets, vec!["Calendar", "Contacts"], "{name}");
        assert_eq!(
            texts_at(&pkg1, "SyncML/SyncBody/Put/Item/Source/LocURI"),
            vec![devinf.as_str()]
        );
        assert_eq!(
            texts_at(&pkg1, "SyncML/SyncBody/Get/Item/Target/LocURI"),
            vec![devinf.as_str()]
        );

        let pkg3 = request(name, wbxml, 2);
        let mut synced = texts_at(&pkg3, "SyncML/SyncBody/Sync/Target/LocURI");
        synced.sort();
        assert_eq!(synced, vec!["Calendar", "Contacts"], "{name}");
        let adds = texts_at(&pkg3, "SyncML/SyncBody/Sync/Add/Item/Data");
        assert_eq!(adds.len(), 5, "{name}: 3 contacts and 2 events");
        assert_eq!(
            adds.iter().filter(|d| d.starts_with("BEGIN:VCARD")).count(),
            3
        );
        assert!(
            adds.iter().any(|d| d.contains("Müller")),
            "{name}: UTF-8 kept"
        );
        assert_eq!(texts_at(&pkg3, "SyncML/SyncBody/Final").len(), 1);

        let pkg5 = request(name, wbxml, 3);
        let mut mapped = texts_at(&pkg5, "SyncML/SyncBody/Map/MapItem/Target/LocURI");
        mapped.sort();
        assert_eq!(mapped, vec!["srv-contact-1", "srv-event-1"], "{name}");

        // The two-way session after a change, a delete and an add on the phone.
        let again = request(name, wbxml, 4);
        assert_eq!(
            texts_at(&again, "SyncML/SyncBody/Alert/Data"),
            vec!["200", "200"]
        );
        let lasts = texts_at(&again, "SyncML/SyncBody/Alert/Item/Meta/Anchor/Last");
        let firsts = texts_at(&pkg1, "SyncML/SyncBody/Alert/Item/Meta/Anchor/Next");
        assert_eq!(
            lasts, firsts,
            "{name}: Last anchors are the previous Next anchors"
        );

        let changes = request(name, wbxml, 5);
        let replaced = texts_at(&changes, "SyncML/SyncBody/Sync/Replace/Item/Source/LocURI");
        let deleted = texts_at(&changes, "SyncML/SyncBody/Sync/Delete/Item/Source/LocURI");
        let added = texts_at(&changes, "SyncML/SyncBody/Sync/Add/Item/Source/LocURI");
        assert_eq!(
            (replaced, deleted, added),
            (vec!["1"], vec!["2"], vec!["new-1"])
        );
        let replaced_data = texts_at(&changes, "SyncML/SyncBody/Sync/Replace/Item/Data");
        assert!(replaced_data[0].contains("+442079460002"), "{name}");

        let end = request(name, wbxml, 6);
        assert!(texts_at(&end, "SyncML/SyncBody/Map").is_empty());
        let commands = texts_at(&end, "SyncML/SyncBody/Status/Cmd");
        assert!(
            commands.contains(&"Replace") && commands.contains(&"Delete"),
            "{name}"
        );
        assert!(
            !fixture_dir(name)
                .join(format!(
                    "07-request.{}",
                    if wbxml { "wbxml" } else { "xml" }
                ))
                .exists(),
            "{name}: two sessions of three client packages"
        );
    }
}

#[test]
fn multi_message_package_is_split_and_continued_after_alert_222() {
    let name = "1.2-xml-multimsg";
    let first = request(name, false, 2);
    let second = request(name, false, 3);
    assert!(texts_at(&first, "SyncML/SyncBody/Final").is_empty());
    assert_eq!(texts_at(&second, "SyncML/SyncBody/Final").len(), 1);
    let adds = texts_at(&first, "SyncML/SyncBody/Sync/Add/Item/Source/LocURI").len()
        + texts_at(&second, "SyncML/SyncBody/Sync/Add/Item/Source/LocURI").len();
    assert_eq!(adds, 42, "40 contacts and 2 events");

    let reply = std::fs::read_to_string(fixture_dir(name).join("02-response.xml")).unwrap();
    let reply = element_paths(&reply).unwrap();
    assert!(texts_at(&reply, "SyncML/SyncBody/Alert/Data").contains(&"222"));
    assert!(texts_at(&reply, "SyncML/SyncBody/Final").is_empty());

    let maps = request(name, false, 4);
    assert_eq!(
        texts_at(&maps, "SyncML/SyncBody/Map/MapItem/Target/LocURI").len(),
        2
    );
}

#[test]
fn tasks_and_notes_travel_as_vcalendar_and_plain_text() {
    let name = "1.1-wbxml-tasks-notes";
    let pkg1 = request(name, true, 1);
    let mut targets = texts_at(&pkg1, "SyncML/SyncBody/Alert/Item/Target/LocURI");
    targets.sort();
    assert_eq!(targets, vec!["Notes", "Tasks"]);

    let pkg3 = request(name, true, 2);
    let types = texts_at(&pkg3, "SyncML/SyncBody/Sync/Add/Meta/Type");
    assert_eq!(
        types,
        vec![
            "text/plain",
            "text/plain",
            "text/x-vcalendar",
            "text/x-vcalendar"
        ]
    );
    let data = texts_at(&pkg3, "SyncML/SyncBody/Sync/Add/Item/Data");
    assert!(data.iter().any(|d| d.contains("café upstairs")));
    assert_eq!(data.iter().filter(|d| d.contains("BEGIN:VTODO")).count(), 2);
    assert!(!fixture_dir(name).join("03-request.wbxml").exists());
}
