//! The package states on their own: what each takes, what it refuses, and the data it
//! carries from one message to the next.

use std::sync::Arc;

use super::*;
use crate::config::Config;
use crate::convert::capability::Capability;
use crate::convert::{ConvertOptions, Format};
use crate::dav::{Credentials, ItemKind};
use crate::engine::{ConflictPolicy, DatastoreRun, EngineDeps, Prior, RunSetup, SyncMethod};
use crate::session::context::Shared;
use crate::session::url_params::UrlParams;
use crate::store::{DatastoreKey, DeviceRecord, Store};
use crate::syncml::model::{Data, ItemCommand, Map, SyncBody, SyncHdr};
use crate::syncml::Version;

/// A session for alice's phone with a two-way contacts datastore open; the upstream is
/// unreachable, which these tests never need.
fn session(dir: &std::path::Path) -> SessionCore {
    let mut cfg = Config::default();
    cfg.upstream.url = "http://127.0.0.1:9/".into();
    let store = Arc::new(Store::open(dir).expect("store"));
    let shared = Arc::new(Shared::new(&cfg, store.clone()).expect("shared"));
    let deps = EngineDeps {
        store,
        dav: shared.upstream.user(&Credentials::new("alice", "pw")),
        policy: ConflictPolicy::Merge,
        opts: ConvertOptions::new(chrono::Utc::now()),
    };
    let record = DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:1".into(),
        ..DeviceRecord::default()
    };
    let mut core = SessionCore::new(
        shared,
        "IMEI:1".into(),
        "alice".into(),
        Version::V1_2,
        UrlParams::default(),
        deps,
        record,
    );
    let key = DatastoreKey::new("alice", "IMEI:1", "contacts");
    let prior = Prior::load(&core.deps.store, &key).expect("prior");
    let setup = RunSetup {
        key,
        method: SyncMethod::TwoWay,
        collection: "/dav/alice/contacts/".into(),
        kind: ItemKind::Contacts,
        phone_format: Format::Vcard21,
        cap: Capability::unknown(),
        max_guid: 64,
        phone_next: "1".into(),
        task_collection: None,
        server_uri: "contacts".into(),
    };
    let run = DatastoreRun::new(&core.deps, prior, setup).expect("run");
    core.slots.push(Slot {
        server_uri: "contacts".into(),
        phone_uri: "./contacts".into(),
        run: Some(run),
        sync_index: None,
    });
    core
}

fn message(id: &str, commands: Vec<Command>, final_: bool) -> Message {
    Message {
        header: SyncHdr {
            msg_id: id.into(),
            ..SyncHdr::default()
        },
        body: SyncBody { commands, final_ },
        extra: Vec::new(),
    }
}

/// A Sync of the contacts holding one Add chunk.
fn add_chunk(luid: &str, data: &str, more_data: bool, size: Option<u64>) -> Command {
    Command::Sync(crate::syncml::model::Sync {
        cmd_id: "2".into(),
        target: Some(Location::new("contacts")),
        commands: vec![Command::Add(ItemCommand {
            cmd_id: "3".into(),
            meta: Some(Meta {
                content_type: Some("text/x-vcard".into()),
                size,
                ..Meta::default()
            }),
            items: vec![Item {
                source: Some(Location::new(luid)),
                data: Some(Data::Text(data.into())),
                more_data,
                ..Item::default()
            }],
            ..ItemCommand::default()
        })],
        ..Default::default()
    })
}

fn statuses(answer: &Answer) -> Vec<(String, u16)> {
    answer
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) => Some((s.cmd.clone(), s.code.code())),
            _ => None,
        })
        .collect()
}

fn asks_next_message(answer: &Answer) -> bool {
    answer
        .commands
        .iter()
        .any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::NextMessage))
}

/// One non-final message of package 3, which keeps the session in it.
async fn sync_message(
    state: AwaitSync,
    core: &mut SessionCore,
    sync: Command,
) -> (AwaitSync, Answer) {
    let mut answer = Answer::default();
    let msg = message("2", vec![sync], false);
    match state.handle(core, &msg, &mut answer).await {
        Phase::Sync(next) => (next, answer),
        _ => panic!("package 3 goes on until its final message"),
    }
}

#[tokio::test]
async fn chunks_stay_with_the_sync_state_until_the_last_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = session(dir.path());
    let state = AwaitSync {
        phone_max_obj: None,
        partial: None,
    };
    let first = add_chunk("7", "BEGIN:VCARD\r\n", true, Some(100));
    let (state, answer) = sync_message(state, &mut core, first).await;
    assert!(state.partial.is_some());
    assert_eq!(
        statuses(&answer),
        vec![("Sync".into(), 200), ("Add".into(), 213)]
    );
    // A 213 asks for the rest of the item; no Alert 222 is needed.
    assert!(!asks_next_message(&answer));

    // The last chunk leaves the object shorter than declared.
    let last = add_chunk("7", "END:VCARD\r\n", false, None);
    let (state, answer) = sync_message(state, &mut core, last).await;
    assert!(state.partial.is_none());
    assert_eq!(
        statuses(&answer),
        vec![("Sync".into(), 200), ("Add".into(), 424)]
    );
    assert!(asks_next_message(&answer));
}

#[tokio::test]
async fn a_command_out_of_place_is_refused_and_the_session_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = session(dir.path());
    let map = Command::Map(Map {
        cmd_id: "4".into(),
        target: Location::new("contacts"),
        source: Location::new("./contacts"),
        ..Map::default()
    });

    let mut answer = Answer::default();
    let init = message("1", vec![map.clone()], true);
    let phase = AwaitInit::default()
        .handle(&mut core, &init, &mut answer)
        .await;
    assert!(matches!(phase, Phase::Sync(_)));
    assert_eq!(statuses(&answer), vec![("Map".into(), 403)]);
    // No DevInf yet: package 2 asks for it.
    assert!(answer.commands.iter().any(|c| matches!(c, Command::Get(_))));
    assert!(answer.final_);

    let mut answer = Answer::default();
    let sending = SendingChanges { expects_map: true };
    let state = sending.handle(
        &mut core,
        &message(
            "3",
            vec![add_chunk("1", "x", false, None), map.clone()],
            false,
        ),
        &mut answer,
    );
    assert_eq!(
        statuses(&answer),
        vec![("Sync".into(), 403), ("Map".into(), 200)]
    );
    assert!(matches!(
        state.after_send(&mut core, true),
        Phase::Map(AwaitMap)
    ));

    let mut answer = Answer::default();
    let phase = AwaitMap.handle(&mut core, &message("4", vec![map], true), &mut answer);
    assert!(matches!(phase, Phase::Done));
    assert!(answer.final_);
}

fn next_message_alert() -> Command {
    Command::Alert(crate::syncml::model::Alert {
        cmd_id: "2".into(),
        no_resp: false,
        cred: None,
        code: AlertCode::NextMessage,
        items: Vec::new(),
        extra: Vec::new(),
    })
}

#[test]
fn a_phone_asking_for_the_next_message_in_package_5_has_not_sent_its_map_yet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = session(dir.path());
    let mut answer = Answer::default();
    let phase = AwaitMap.handle(
        &mut core,
        &message("3", vec![next_message_alert()], true),
        &mut answer,
    );
    assert!(matches!(phase, Phase::Map(AwaitMap)));
    assert_eq!(statuses(&answer), vec![("Alert".into(), 200)]);
    assert!(answer.final_);

    let map = Command::Map(Map {
        cmd_id: "4".into(),
        target: Location::new("contacts"),
        source: Location::new("./contacts"),
        ..Map::default()
    });
    let mut answer = Answer::default();
    let phase = AwaitMap.handle(&mut core, &message("4", vec![map], true), &mut answer);
    assert!(matches!(phase, Phase::Done));
    assert_eq!(statuses(&answer), vec![("Map".into(), 200)]);
}

#[test]
fn after_the_end_a_map_is_answered_and_a_request_for_more_keeps_the_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = session(dir.path());
    let mut answer = Answer::default();
    assert!(after_end(
        &mut core,
        &message("3", vec![next_message_alert()], true),
        &mut answer
    ));
    let map = Command::Map(Map {
        cmd_id: "4".into(),
        target: Location::new("contacts"),
        source: Location::new("./contacts"),
        ..Map::default()
    });
    let mut answer = Answer::default();
    assert!(!after_end(
        &mut core,
        &message("4", vec![map], true),
        &mut answer
    ));
    assert_eq!(statuses(&answer), vec![("Map".into(), 200)]);
}

#[tokio::test]
async fn a_map_sent_again_in_package_3_is_taken() {
    // SyncEvolution resends the Map its interrupted session never delivered before its
    // Sync; refused, every later session of the phone failed with 403.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = session(dir.path());
    let state = AwaitSync {
        phone_max_obj: None,
        partial: None,
    };
    let map = Command::Map(Map {
        cmd_id: "5".into(),
        target: Location::new("contacts"),
        source: Location::new("./contacts"),
        ..Map::default()
    });
    let (_, answer) = sync_message(state, &mut core, map).await;
    assert_eq!(statuses(&answer), vec![("Map".into(), 200)]);
}
