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
use syncml_bridge::convert::{self, ConvertOptions, Format};
pub use syncml_bridge::replay::Report;
use syncml_bridge::replay::{replay_with, Recorded, Recording, ReplayOptions};
use syncml_bridge::syncml::model::{Command, Data, Meta};

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
        .block_on(replay_with(recording, &options, |session| {
            // Blocking HTTP may not run on the replay's runtime thread.
            std::thread::scope(|s| {
                s.spawn(|| seed(world, session))
                    .join()
                    .expect("seeding the server's items")
            })
        }))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The items the recorded server added to the phone in this session, put in Radicale
/// before the session starts: they were the server's own items then (Horde's test harness
/// did the same with its backend). The recorded server's Replaces and Deletes are not
/// repeated: they name the phone's ids, whose upstream items only the bridge knows.
fn seed(world: &World, session: &[Recorded]) {
    let now = chrono::Utc::now();
    for (i, (format, bytes)) in session
        .iter()
        .filter_map(|m| m.server.as_deref())
        .flat_map(server_adds)
        .enumerate()
    {
        let name = format!("seed-{}-{i}", now.timestamp_micros());
        let format = convert::sniff::settle(format, &bytes);
        let tree = convert::to_dav(format, &bytes, &ConvertOptions::new(now))
            .unwrap_or_else(|e| panic!("the recorded server's {format} item: {e}"));
        let body = with_uid(&String::from_utf8_lossy(&convert::dav_bytes(&tree)), &name);
        let (datastore, ext, mime) = if tree.name == "VCARD" {
            (Datastore::Contacts, "vcf", "text/vcard")
        } else if body.contains("BEGIN:VTODO") {
            (Datastore::Tasks, "ics", "text/calendar")
        } else if body.contains("BEGIN:VJOURNAL") {
            (Datastore::Notes, "ics", "text/calendar")
        } else {
            (Datastore::Calendar, "ics", "text/calendar")
        };
        let href = format!("{}{name}.{ext}", world.collection(datastore));
        let reply = world.dav().put(&href, mime, &body);
        assert!(
            (200..300).contains(&reply.status),
            "seeding {href}: {} {}",
            reply.status,
            reply.body
        );
    }
}

/// The item with a UID (Radicale wants one; SIF items carry none), after its first
/// component's BEGIN line.
fn with_uid(body: &str, uid: &str) -> String {
    if body.lines().any(|l| l.starts_with("UID:")) {
        return body.to_owned();
    }
    let mut out = String::with_capacity(body.len() + uid.len() + 8);
    let mut done = false;
    for line in body.split_inclusive('\n') {
        out.push_str(line);
        let name = line.trim_end();
        if !done
            && matches!(
                name,
                "BEGIN:VCARD" | "BEGIN:VEVENT" | "BEGIN:VTODO" | "BEGIN:VJOURNAL"
            )
        {
            out.push_str(&format!("UID:{uid}\r\n"));
            done = true;
        }
    }
    out
}

/// (format, bytes) of every item a recorded reply adds to the phone.
fn server_adds(reply: &str) -> Vec<(Format, Vec<u8>)> {
    use base64::Engine;
    let Ok(decoded) = syncml_bridge::syncml::decode(reply.as_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for command in &decoded.message.body.commands {
        let Command::Sync(sync) = command else {
            continue;
        };
        for inner in &sync.commands {
            let Command::Add(add) = inner else { continue };
            for item in &add.items {
                let field = |f: &dyn Fn(&Meta) -> Option<String>| {
                    item.meta
                        .as_ref()
                        .and_then(f)
                        .or_else(|| add.meta.as_ref().and_then(f))
                };
                let Some(format) = field(&|m| m.content_type.clone())
                    .and_then(|t| Format::from_mime(&t, field(&|m| m.version.clone()).as_deref()))
                else {
                    continue;
                };
                let Some(Data::Text(text)) = &item.data else {
                    continue;
                };
                let b64 = field(&|m| m.format.clone()).is_some_and(|f| f == "b64");
                let bytes = if b64 {
                    let clean: String = text.split_whitespace().collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(clean)
                        .expect("the recorded server's b64 item")
                } else {
                    text.clone().into_bytes()
                };
                out.push((format, bytes));
            }
        }
    }
    out
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
