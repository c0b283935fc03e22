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
use syncml_bridge::replay::rewrite;
pub use syncml_bridge::replay::Report;
use syncml_bridge::replay::{replay_with, Recorded, Recording, ReplayOptions};
use syncml_bridge::store::{DatastoreKey, Store};
use syncml_bridge::syncml::model::{Command, Data, Item, Meta};

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

/// What the recorded server sent the phone in this session, done upstream before the
/// session starts, so the bridge has the same to send: its own items are put in Radicale
/// (as Horde's test harness did with its backend), its new versions and deletes of the
/// phone's items are written to the items the bridge mapped those LUIDs to. A change to an
/// item the bridge does not know is left out.
fn seed(world: &World, session: &[Recorded]) {
    let now = chrono::Utc::now();
    let device = session
        .first()
        .and_then(|m| rewrite::element(rewrite::header(&m.client), "Source"))
        .and_then(|s| rewrite::element(s, "LocURI"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let changes = session
        .iter()
        .filter_map(|m| m.server.as_deref())
        .flat_map(server_changes);
    for (i, change) in changes.enumerate() {
        let name = format!("seed-{}-{i}", now.timestamp_micros());
        match change {
            ServerChange::Add(format, bytes) => {
                let (datastore, body) = dav_body(format, &bytes, &name);
                let (ext, mime) = if datastore == Datastore::Contacts {
                    ("vcf", "text/vcard")
                } else {
                    ("ics", "text/calendar")
                };
                let href = format!("{}{name}.{ext}", world.collection(datastore));
                world.dav().put(&href, mime, &body);
            }
            ServerChange::Replace(luid, format, bytes) => {
                let Some(href) = href_of(world, &device, &luid) else {
                    continue;
                };
                let Some(old) = world.dav().get(&href) else {
                    continue;
                };
                let uid = unfold(&old.body)
                    .lines()
                    .find_map(|l| l.strip_prefix("UID:").map(str::to_owned))
                    .unwrap_or(name);
                let (datastore, body) = dav_body(format, &bytes, &uid);
                let mime = if datastore == Datastore::Contacts {
                    "text/vcard"
                } else {
                    "text/calendar"
                };
                world.dav().put(&href, mime, &body);
            }
            ServerChange::Delete(luid) => {
                if let Some(href) = href_of(world, &device, &luid) {
                    world.dav().delete(&href);
                }
            }
        }
    }
}

/// A recorded item in its DAV form with `uid` as its UID (in place of the recorded
/// server's own, if any), and the datastore it belongs to.
fn dav_body(format: Format, bytes: &[u8], uid: &str) -> (Datastore, String) {
    let tree = convert::to_dav(format, bytes, &ConvertOptions::new(chrono::Utc::now()))
        .unwrap_or_else(|e| panic!("the recorded server's {format} item: {e}"));
    let body = String::from_utf8_lossy(&convert::dav_bytes(&tree)).into_owned();
    let datastore = if tree.name == "VCARD" {
        Datastore::Contacts
    } else if body.contains("BEGIN:VTODO") {
        Datastore::Tasks
    } else if body.contains("BEGIN:VJOURNAL") {
        Datastore::Notes
    } else {
        Datastore::Calendar
    };
    let body: String = body
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("UID:"))
        .collect();
    (datastore, with_uid(&body, uid))
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

/// What the recorded server did to the phone in a reply.
enum ServerChange {
    Add(Format, Vec<u8>),
    /// A new version of the phone's item `luid`.
    Replace(String, Format, Vec<u8>),
    Delete(String),
}

/// Every Add, Replace and Delete a recorded reply sends the phone, in order.
fn server_changes(reply: &str) -> Vec<ServerChange> {
    let Ok(decoded) = syncml_bridge::syncml::decode(reply.as_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for command in &decoded.message.body.commands {
        let Command::Sync(sync) = command else {
            continue;
        };
        for inner in &sync.commands {
            match inner {
                Command::Add(c) | Command::Replace(c) => {
                    let add = matches!(inner, Command::Add(_));
                    for item in &c.items {
                        let Some((format, bytes)) = item_body(item, c.meta.as_ref()) else {
                            continue;
                        };
                        let luid = item.target.as_ref().map(|l| l.loc_uri.clone());
                        out.push(match (add, luid) {
                            (false, Some(luid)) => ServerChange::Replace(luid, format, bytes),
                            _ => ServerChange::Add(format, bytes),
                        });
                    }
                }
                Command::Delete(d) => out.extend(
                    d.items
                        .iter()
                        .filter_map(|i| i.target.as_ref())
                        .map(|l| ServerChange::Delete(l.loc_uri.clone())),
                ),
                _ => {}
            }
        }
    }
    out
}

/// An item's format and bytes, its Meta read field by field over its command's.
fn item_body(item: &Item, command: Option<&Meta>) -> Option<(Format, Vec<u8>)> {
    use base64::Engine;
    let field = |f: &dyn Fn(&Meta) -> Option<String>| {
        item.meta
            .as_ref()
            .and_then(f)
            .or_else(|| command.and_then(f))
    };
    let format = field(&|m| m.content_type.clone())
        .and_then(|t| Format::from_mime(&t, field(&|m| m.version.clone()).as_deref()))?;
    let Some(Data::Text(text)) = &item.data else {
        return None;
    };
    let bytes = if field(&|m| m.format.clone()).is_some_and(|f| f == "b64") {
        let clean: String = text.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .expect("the recorded server's b64 item")
    } else {
        text.clone().into_bytes()
    };
    Some((convert::sniff::settle(format, &bytes), bytes))
}

/// The upstream href the bridge keeps for the phone's item `luid`, from its store.
fn href_of(world: &World, device: &str, luid: &str) -> Option<String> {
    let store = Store::open(world.bridge.data_dir()).expect("open the bridge's store");
    let datastores = store
        .datastores(USER, device)
        .expect("the device's datastores");
    datastores.into_iter().find_map(|(name, _)| {
        store
            .map_by_luid(&DatastoreKey::new(USER, device, name.as_str()), luid)
            .expect("read the map")
            .map(|e| e.href)
    })
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
