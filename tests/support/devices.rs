//! The corpus of recorded device sessions (`tests/devices/`): each recording replayed with
//! the bridge's own replay code against a fresh bridge in front of a fresh Radicale, every
//! answer checked, then what Radicale holds compared with the recording's `expect.toml`.
//!
//! `expect.toml` names, per datastore (`contacts`, `calendar`, `tasks`, `notes`), how many
//! items the device's live data makes upstream and, per item, lines its unfolded body must
//! hold (`["SUMMARY:client1", "DTSTART:20061222T110000Z"]`); `absent` lists lines no item
//! of that datastore may hold (a raw XML body, a wrong date).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use syncml_bridge::replay::{replay, Recording, ReplayOptions, Report};

use super::e2e::{World, PASSWORD, USER};
use super::items::unfold;
use super::syncevolution::Datastore;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub count: usize,
    #[serde(default)]
    pub items: Vec<Vec<String>>,
    #[serde(default)]
    pub absent: Vec<String>,
}

/// The directory of the recording `name` under `tests/devices/`.
pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/devices")
        .join(name)
}

/// The expected upstream items of a recording, by datastore.
pub fn expected(name: &str) -> BTreeMap<String, Expected> {
    let path = dir(name).join("expect.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn datastore(key: &str) -> Datastore {
    match key {
        "contacts" => Datastore::Contacts,
        "calendar" => Datastore::Calendar,
        "tasks" => Datastore::Tasks,
        "notes" => Datastore::Notes,
        other => panic!("expect.toml: unknown datastore {other}"),
    }
}

/// The recording `name`.
pub fn load(name: &str) -> Recording {
    Recording::load(&dir(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Replays the recording `name` against `world`'s bridge as alice.
pub fn replay_into(world: &World, name: &str) -> Report {
    replay_recording(world, &load(name))
}

/// Replays `recording` (perhaps a part of one) against `world`'s bridge as alice.
pub fn replay_recording(world: &World, recording: &Recording) -> Report {
    let name = recording.dir.display().to_string();
    let options = ReplayOptions {
        url: world.bridge.syncml_url(),
        credentials: Some((USER.to_owned(), PASSWORD.to_owned())),
        timeout: Duration::from_secs(60),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the replay");
    runtime
        .block_on(replay(recording, &options))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Replays `name` into a fresh world and checks every answer and what Radicale holds.
pub fn replay_and_check(name: &str) -> World {
    let world = World::start();
    let report = replay_into(&world, name);
    assert!(
        report.passed(),
        "{name}: failed checks:\n{}\n\nfull report:\n{report}\nbridge log:\n{}",
        report.problems().join("\n"),
        world.log_tail(60)
    );
    check_upstream(&world, name);
    world
}

/// Radicale holds exactly the items `expect.toml` lists, with the lines it names.
pub fn check_upstream(world: &World, name: &str) {
    for (key, want) in expected(name) {
        let items: Vec<String> = world
            .server_items(datastore(&key))
            .into_iter()
            .map(|(_, body)| unfold(&body))
            .collect();
        assert_eq!(
            items.len(),
            want.count,
            "{name}: {key} holds {} items, expected {}:\n{}",
            items.len(),
            want.count,
            items.join("\n---\n")
        );
        for lines in &want.items {
            assert!(
                items.iter().any(|body| lines
                    .iter()
                    .all(|l| body.lines().any(|b| b.trim_end() == l))),
                "{name}: no {key} item holds all of {lines:?}:\n{}",
                items.join("\n---\n")
            );
        }
        for line in &want.absent {
            assert!(
                !items.iter().any(|b| b.contains(line.as_str())),
                "{name}: a {key} item holds {line:?}:\n{}",
                items.join("\n---\n")
            );
        }
    }
}
