//! The `Phone` drives real syncs end to end against the capture server of
//! `scripts/capture_syncml.py --serve`, and reports what happened per datastore.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::syncevolution::{ClientAuth, Datastore, Phone, PhoneOptions, SyncMlVersion, SyncMode};
use support::syncml_xml::{element_paths, texts_at};
use support::tools::{free_port, require, wait_until, OwnedProcess};

fn capture_server(out: &Path) -> (OwnedProcess, u16) {
    let python = require("python3", "python3");
    require("wbxml2xml", "libwbxml2-utils");
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/capture_syncml.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(["--serve", &port.to_string(), "--out"])
        .arg(out.join("messages"));
    let mut server = OwnedProcess::spawn("capture server", command, &out.join("server.log"));
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        server.exited().is_some() || TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if !up || server.exited().is_some() {
        server.fail("did not start");
    }
    (server, port)
}

const ADA: &str =
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada;;;\r\nTEL;CELL:+442079460000\r\nEND:VCARD\r\n";
const GRACE: &str =
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Hopper;Grace;;;\r\nTEL;CELL:+12025550100\r\nEND:VCARD\r\n";
const MEETING: &str = "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Meeting\r\n\
DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn phone_slow_then_two_way_sync_with_counts() {
    let work = tempfile::tempdir().unwrap();
    let (_server, port) = capture_server(work.path());

    let mut phone = Phone::new();
    phone.configure(
        &format!("http://127.0.0.1:{port}/syncml"),
        "alice",
        "secret",
        "harness-phone-2",
        PhoneOptions {
            version: SyncMlVersion::V1_2,
            wbxml: true,
            datastores: vec![Datastore::Contacts, Datastore::Calendar],
            timeout: Duration::from_secs(90),
            ..PhoneOptions::default()
        },
    );
    phone.put_item(Datastore::Contacts, "ada", ADA);
    phone.put_item(Datastore::Contacts, "grace", GRACE);
    phone.put_item(Datastore::Calendar, "meeting", MEETING);

    let slow = phone.sync(SyncMode::Slow, &[]);
    slow.assert_success();
    let report = slow.report.as_ref().expect("a session report");
    let contacts = slow.source(Datastore::Contacts);
    let calendar = slow.source(Datastore::Calendar);
    assert_eq!(contacts.mode.as_deref(), Some("slow"), "{report:?}");
    assert_eq!(contacts.remote_added(), 2, "{report:?}");
    assert_eq!(contacts.local_added(), 1, "{report:?}");
    assert_eq!(calendar.remote_added(), 1, "{report:?}");
    assert_eq!(calendar.local_added(), 1, "{report:?}");

    let cards = phone.items(Datastore::Contacts);
    assert_eq!(cards.len(), 3, "{cards:?}");
    assert!(cards.iter().any(|(_, c)| c.contains("Turing")), "{cards:?}");
    assert_eq!(phone.items(Datastore::Calendar).len(), 2);

    // The server answers a two-way sync with a Replace of its contact and a Delete of its event.
    phone.modify_item(
        Datastore::Contacts,
        "ada",
        &ADA.replace("+442079460000", "+442079460009"),
    );
    phone.delete_item(Datastore::Calendar, "meeting");
    let two_way = phone.sync(SyncMode::TwoWay, &[]);
    two_way.assert_success();
    let report = two_way.report.as_ref().expect("a session report");
    let contacts = two_way.source(Datastore::Contacts);
    let calendar = two_way.source(Datastore::Calendar);
    assert_eq!(contacts.mode.as_deref(), Some("two-way"), "{report:?}");
    assert_eq!(contacts.remote_updated(), 1, "{report:?}");
    assert_eq!(contacts.local_updated(), 1, "{report:?}");
    assert_eq!(calendar.remote_removed(), 1, "{report:?}");
    assert_eq!(calendar.local_removed(), 1, "{report:?}");

    assert!(phone.items(Datastore::Calendar).is_empty());
    let cards = phone.items(Datastore::Contacts);
    assert!(
        cards.iter().any(|(_, c)| c.contains("+441234567899")),
        "the server's Replace reached the phone: {cards:?}"
    );

    // Every message went over the wire as WBXML.
    let recorded: Vec<_> = std::fs::read_dir(work.path().join("messages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-request.wbxml"))
        .collect();
    assert_eq!(recorded.len(), 6, "{recorded:?}");
}

#[test]
fn phone_run_that_cannot_connect_fails_without_hanging() {
    let mut phone = Phone::new();
    let port = free_port(); // nothing listens here
    phone.configure(
        &format!("http://127.0.0.1:{port}/syncml"),
        "alice",
        "secret",
        "harness-phone-3",
        PhoneOptions {
            datastores: vec![Datastore::Contacts],
            timeout: Duration::from_secs(60),
            ..PhoneOptions::default()
        },
    );
    let outcome = phone.sync(SyncMode::TwoWay, &[Datastore::Contacts]);
    assert!(!outcome.timed_out(), "{}", outcome.output);
    assert!(!outcome.crashed(), "{}", outcome.output);
    assert!(!outcome.succeeded());
    let report = outcome
        .report
        .expect("a failed session still writes status.ini");
    assert_ne!(report.status, Some(0));
    assert!(report.error.is_some(), "{report:?}");
}

#[test]
fn phone_syncs_tasks_and_notes_over_syncml_1_1_xml_with_basic_auth() {
    let work = tempfile::tempdir().unwrap();
    let (_server, port) = capture_server(work.path());
    let mut phone = Phone::new();
    phone.configure(
        &format!("http://127.0.0.1:{port}/syncml"),
        "bob",
        "hunter2",
        "harness-phone-4",
        PhoneOptions {
            version: SyncMlVersion::V1_1,
            wbxml: false,
            auth: ClientAuth::Basic,
            datastores: vec![Datastore::Tasks, Datastore::Notes],
            timeout: Duration::from_secs(90),
            ..PhoneOptions::default()
        },
    );
    phone.put_item(
        Datastore::Tasks,
        "milk",
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:Buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    phone.put_item(Datastore::Notes, "list", "eggs\nflour\n");

    let outcome = phone.sync(SyncMode::Slow, &[]);
    outcome.assert_success();
    assert_eq!(outcome.source(Datastore::Tasks).remote_added(), 1);
    assert_eq!(outcome.source(Datastore::Notes).remote_added(), 1);

    let first = std::fs::read_to_string(work.path().join("messages/01-request.xml")).unwrap();
    let paths = element_paths(&first).unwrap();
    assert_eq!(
        texts_at(&paths, "SyncML/SyncHdr/VerProto"),
        vec!["SyncML/1.1"]
    );
    assert_eq!(
        texts_at(&paths, "SyncML/SyncHdr/Cred/Meta/Type"),
        vec!["syncml:auth-basic"]
    );
    let sync = std::fs::read_to_string(work.path().join("messages/02-request.xml")).unwrap();
    let paths = element_paths(&sync).unwrap();
    let mut types = texts_at(&paths, "SyncML/SyncBody/Sync/Add/Meta/Type");
    types.sort();
    assert_eq!(types, vec!["text/plain", "text/x-vcalendar"]);
}
