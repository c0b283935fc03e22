//! Debug recordings replayed as regression tests: a recording made by a real SyncEvolution
//! session through the debug switch is posted again to a fresh bridge in front of a fresh
//! Radicale, and every reply must carry the statuses the recorded one did.

mod support;

use std::path::{Path, PathBuf};

use support::e2e::{options, World, PASSWORD, USER};
use support::items;
use support::replay::{replay, Exchange};
use support::syncevolution::{Datastore, SyncMode};

const DEVICE: &str = "replay-phone-1";

fn assert_same_statuses(exchanges: &[Exchange]) {
    assert!(!exchanges.is_empty());
    for e in exchanges {
        assert!(
            !e.recorded.is_empty(),
            "{}: no statuses recorded",
            e.message
        );
        assert_eq!(e.replayed, e.recorded, "{}", e.message);
    }
}

/// The one session directory under `data_dir/debug/DEVICE/`.
fn recorded_session(data_dir: &Path) -> PathBuf {
    let device_dir = data_dir.join("debug").join(DEVICE);
    let mut sessions: Vec<PathBuf> = std::fs::read_dir(&device_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", device_dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.remove(0)
}

#[test]
fn a_fresh_recording_replays_with_the_same_statuses() {
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_LOG__DEBUG_DEVICES",
            &format!("[\"{DEVICE}\"]"),
        )
    });
    let mut phone = world.phone(DEVICE, options(&[Datastore::Contacts]));
    for i in 0..2 {
        let c = items::contact(i);
        phone.put_item(Datastore::Contacts, &c.file, &c.vcard);
    }
    phone.sync(SyncMode::Slow, &[]).assert_success();
    let session = recorded_session(world.bridge.data_dir());
    if let Some(save) = std::env::var_os("SYNCML_BRIDGE_TEST_SAVE_RECORDING") {
        let to = PathBuf::from(save);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(&session).unwrap().flatten() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }

    let fresh = World::start();
    let exchanges = replay(&session, &fresh.bridge.syncml_url(), USER, PASSWORD);
    assert_same_statuses(&exchanges);
    assert_eq!(fresh.server_items(Datastore::Contacts).len(), 2);
}

#[test]
fn the_committed_recording_replays_with_the_same_statuses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/replay/syncevolution-slow-contacts");
    let world = World::start();
    let exchanges = replay(&dir, &world.bridge.syncml_url(), USER, PASSWORD);
    assert_same_statuses(&exchanges);
    // The phone's two contacts reached Radicale again.
    assert_eq!(world.server_items(Datastore::Contacts).len(), 2);
}
