//! The engine's rules against the in-memory DAV server: writes planned and settled,
//! conflicts and 412s, refused items, slow-sync matching, combined datastores.

mod slow_sync;

use std::sync::Arc;

use super::memory_dav::MemoryDav;
use super::*;
use crate::convert::capability::Capability;
use crate::convert::{ConvertOptions, Format};
use crate::store::{DatastoreKey, MapChange, MapEntry, Store};

const CONTACTS: &str = "/dav/alice/contacts/";
const CALENDAR: &str = "/dav/alice/calendar/";
const TASKS: &str = "/dav/alice/tasks/";

fn card(name: &str, tel: &str) -> Vec<u8> {
    format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:{name};John\r\nFN:John {name}\r\nTEL;CELL:{tel}\r\nEND:VCARD\r\n")
        .into_bytes()
}

fn server_card(uid: &str, name: &str, tel: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nN:{name};John;;;\r\nFN:John {name}\r\nTEL;TYPE=CELL:{tel}\r\nEND:VCARD\r\n")
}

fn vcal(component: &str, summary: &str) -> Vec<u8> {
    let when = if component == "VTODO" {
        "DUE:20240102T100000Z"
    } else {
        "DTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z"
    };
    format!("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:{component}\r\nSUMMARY:{summary}\r\n{when}\r\nEND:{component}\r\nEND:VCALENDAR\r\n")
        .into_bytes()
}

/// A store, the in-memory upstream with the three collections, and the deps.
struct World {
    _dir: tempfile::TempDir,
    dav: MemoryDav,
    deps: EngineDeps<MemoryDav>,
}

fn world(policy: ConflictPolicy) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let dav = MemoryDav::new();
    for c in [CONTACTS, CALENDAR, TASKS] {
        dav.add_collection(c);
    }
    let deps = EngineDeps {
        store,
        dav: dav.clone(),
        policy,
        opts: ConvertOptions::new(chrono::Utc::now()),
    };
    World {
        _dir: dir,
        dav,
        deps,
    }
}

fn key(datastore: &str) -> DatastoreKey {
    DatastoreKey::new("alice", "IMEI:1", datastore)
}

impl World {
    /// A contacts run of `method`, with the state the last completed session stored.
    fn contacts(&self, method: SyncMethod) -> DatastoreRun {
        self.run(method, "contacts", CONTACTS, ItemKind::Contacts, None)
    }

    /// A calendar datastore that also covers the task list (Nokia, Sony Ericsson).
    fn calendar_with_tasks(&self, method: SyncMethod) -> DatastoreRun {
        self.run(method, "calendar", CALENDAR, ItemKind::Events, Some(TASKS))
    }

    fn run(
        &self,
        method: SyncMethod,
        datastore: &str,
        collection: &str,
        kind: ItemKind,
        task_collection: Option<&str>,
    ) -> DatastoreRun {
        let k = key(datastore);
        let prior = Prior::load(&self.deps.store, &k).expect("prior");
        let phone_format = if kind == ItemKind::Contacts {
            Format::Vcard21
        } else {
            Format::Vcal10
        };
        let setup = RunSetup {
            key: k,
            method,
            collection: collection.to_owned(),
            kind,
            phone_format,
            cap: Capability::unknown(),
            max_guid: 255,
            phone_next: format!("phone-{}", method.number()),
            task_collection: task_collection.map(str::to_owned),
            server_uri: datastore.to_owned(),
        };
        DatastoreRun::new(&self.deps, prior, setup).expect("run")
    }

    /// One whole session: the phone's changes, the server's, the commit.
    async fn session(
        &self,
        run: &mut DatastoreRun,
        changes: Vec<PhoneChange>,
    ) -> (Vec<StatusCode>, Vec<ServerChange>) {
        let statuses = run
            .apply_phone_changes(&self.deps, changes)
            .await
            .expect("apply");
        let out = run
            .server_changes(&self.deps)
            .await
            .expect("server changes");
        run.commit(&self.deps).expect("commit");
        (statuses, out)
    }

    /// One contacts session of `method` in which the phone adds `data` under `luid`.
    async fn session_adding(
        &self,
        method: SyncMethod,
        luid: &str,
        data: Vec<u8>,
    ) -> (Vec<StatusCode>, Vec<ServerChange>) {
        let mut run = self.contacts(method);
        self.session(&mut run, vec![add(luid, Format::Vcard21, data)])
            .await
    }

    /// Another client stores `data` at `href`; the new etag.
    fn edit(&self, href: &str, data: &str) -> String {
        self.dav.put(href, data).expect("put")
    }

    fn href_of(&self, datastore: &str, luid: &str) -> Option<String> {
        self.deps
            .store
            .map(&key(datastore))
            .expect("map")
            .into_iter()
            .find(|e| e.luid == luid)
            .map(|e| e.href)
    }
}

fn add(luid: &str, format: Format, data: Vec<u8>) -> PhoneChange {
    PhoneChange::Add {
        luid: luid.into(),
        format,
        data,
    }
}

fn adds<const N: usize>(format: Format, items: [(&str, Vec<u8>); N]) -> Vec<PhoneChange> {
    items
        .into_iter()
        .map(|(luid, data)| add(luid, format, data))
        .collect()
}

fn replace(luid: &str, data: Vec<u8>) -> PhoneChange {
    PhoneChange::Replace {
        luid: luid.into(),
        format: Format::Vcard21,
        data,
    }
}

/// `out` is one Replace of `luid` holding `text` and one Add of `added`, in any order.
fn assert_replace_and_add(out: &[ServerChange], (luid, text): (&str, &str), added: &str) {
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out.iter()
            .any(|c| matches!(c, ServerChange::Replace { luid: l, data }
            if l == luid && String::from_utf8_lossy(data).contains(text))),
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|c| matches!(c, ServerChange::Add { server_id, .. } if server_id == added)),
        "{out:?}"
    );
}

/// The first session (slow: no anchors) adds one contact; returns its href.
async fn first_sync_with_one_contact(w: &World) -> String {
    let (st, out) = w
        .session_adding(SyncMethod::Slow, "1", card("Doe", "+111"))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    assert!(out.is_empty(), "{out:?}");
    w.href_of("contacts", "1").expect("mapped")
}

#[tokio::test]
async fn an_add_is_written_mapped_and_not_echoed() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    assert!(href.starts_with(CONTACTS), "{href}");
    let (etag, data) = w.dav.get(&href).expect("stored upstream");
    assert!(data.contains("Doe"), "{data}");
    let entry = w.deps.store.map(&key("contacts")).expect("map");
    assert_eq!(entry[0].etag.as_deref(), Some(etag.as_str()));

    // The next two-way session finds the anchors and nothing to send.
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-2")));
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w.session(&mut run, Vec::new()).await;
    assert!(st.is_empty() && out.is_empty(), "{out:?}");
}

#[tokio::test]
async fn a_replace_updates_the_mapped_item() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    let (before, _) = w.dav.get(&href).expect("stored");
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![replace("1", card("Roe", "+111"))])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(out.is_empty(), "{out:?}");
    let (after, data) = w.dav.get(&href).expect("still there");
    assert_ne!(before, after);
    assert!(data.contains("Roe"), "{data}");
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
}

#[tokio::test]
async fn a_delete_removes_the_item_and_its_map_entry() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![PhoneChange::Delete { luid: "1".into() }])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(out.is_empty(), "{out:?}");
    assert!(w.dav.get(&href).is_none());
    assert_eq!(w.href_of("contacts", "1"), None);
}

#[tokio::test]
async fn a_delete_in_a_slow_sync_deletes_nothing_upstream() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    let writes = w.dav.writes();
    let mut run = w.contacts(SyncMethod::Slow);
    let st = run
        .apply_phone_changes(&w.deps, vec![PhoneChange::Delete { luid: "1".into() }])
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.dav.writes(), writes);
    assert!(w.dav.get(&href).is_some());
}

#[tokio::test]
async fn a_server_change_goes_to_the_phone_as_a_replace() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.edit(&href, &server_card("u1", "Moe", "+111"));
    let other = format!("{CONTACTS}other.vcf");
    w.edit(&other, &server_card("u2", "Smith", "+222"));
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert_replace_and_add(&out, ("1", "Moe"), &other);
}

#[tokio::test]
async fn both_changed_is_a_conflict_resolved_by_the_policy() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.edit(&href, &server_card("u1", "Doe", "+999"));
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![replace("1", card("Roe", "+111"))])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedWithMerge]);
    // The merged version goes back to the phone.
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, .. }] if luid == "1"),
        "{out:?}"
    );
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("Roe"), "{data}");
}

#[tokio::test]
async fn server_wins_leaves_the_server_item_alone() {
    let w = world(ConflictPolicy::ServerWins);
    let href = first_sync_with_one_contact(&w).await;
    let changed = w
        .dav
        .put(&href, &server_card("u1", "Doe", "+999"))
        .expect("put");
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![replace("1", card("Roe", "+111"))])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedServerWins]);
    assert_eq!(w.dav.get(&href).map(|(e, _)| e), Some(changed));
    assert!(
        matches!(&out[..], [ServerChange::Replace { .. }]),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_412_on_delete_sends_the_server_version_back() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    // Someone else changed the item: the phone's delete carries a stale etag.
    w.edit(&href, &server_card("u1", "Doe", "+999"));
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![PhoneChange::Delete { luid: "1".into() }])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedServerWins]);
    assert!(w.dav.get(&href).is_some(), "not deleted");
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == href),
        "{out:?}"
    );
    assert!(!run.failed());
}

#[tokio::test]
async fn a_412_on_create_is_not_an_overwrite() {
    let w = world(ConflictPolicy::Merge);
    // The phone's item gets a UID, and so a resource name, that is already taken.
    let taken = format!("{CONTACTS}fixed.vcf");
    w.edit(&taken, &server_card("other", "Else", "+3"));
    let (etag, _) = w.dav.get(&taken).expect("there");
    let err = w
        .dav
        .create(
            CONTACTS,
            "fixed.vcf",
            "text/vcard",
            b"BEGIN:VCARD\r\nEND:VCARD\r\n".to_vec(),
        )
        .await
        .expect_err("precondition");
    assert!(
        matches!(&err, DavError::Conflict { current_etag: Some(e), .. } if *e == etag),
        "{err:?}"
    );
    let err = w
        .dav
        .update(&taken, "\"stale\"", "text/vcard", Vec::new())
        .await
        .expect_err("precondition");
    assert!(matches!(err, DavError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_item_gets_its_status_and_the_session_completes() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav.refuse(CONTACTS, 403);
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(
            &mut run,
            vec![
                add("2", Format::Vcard21, card("New", "+222")),
                replace("1", card("Roe", "+111")),
            ],
        )
        .await;
    assert_eq!(
        st,
        vec![StatusCode::PermissionDenied, StatusCode::PermissionDenied]
    );
    assert!(!run.failed());
    // The refused replace is undone on the phone.
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, .. }] if luid == "1"),
        "{out:?}"
    );
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("Doe"), "{data}");
    // The anchors moved: the session completed.
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-1")));
}

#[tokio::test]
async fn rejected_data_is_a_bad_request_for_that_item_only() {
    let w = world(ConflictPolicy::Merge);
    let mut run = w.contacts(SyncMethod::Slow);
    let first = run
        .apply_phone_changes(&w.deps, vec![add("1", Format::Vcard21, card("Doe", "+1"))])
        .await
        .expect("apply");
    assert_eq!(first, vec![StatusCode::ItemAdded]);
    w.dav.refuse(CONTACTS, 422);
    let st = run
        .apply_phone_changes(&w.deps, vec![add("2", Format::Vcard21, card("Bad", "+2"))])
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::BadRequest]);
    assert!(!run.failed());
}

#[tokio::test]
async fn an_outage_keeps_the_anchors() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    w.dav.refuse(CONTACTS, 503);
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, _) = w
        .session(&mut run, vec![add("2", Format::Vcard21, card("New", "+2"))])
        .await;
    assert_eq!(st, vec![StatusCode::ServiceUnavailable]);
    assert!(run.failed());
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(
        prior.anchors_match(Some("phone-2")),
        "anchors of the first session"
    );
}

#[tokio::test]
async fn a_slow_sync_matches_instead_of_duplicating() {
    let w = world(ConflictPolicy::Merge);
    let same = format!("{CONTACTS}same.vcf");
    let only = format!("{CONTACTS}only.vcf");
    w.edit(&same, &server_card("s1", "Doe", "+111"));
    w.edit(&only, &server_card("s2", "Smith", "+222"));
    let mut run = w.contacts(SyncMethod::Slow);
    let (st, out) = w
        .session(
            &mut run,
            adds(
                Format::Vcard21,
                [("1", card("Doe", "+111")), ("2", card("Brown", "+333"))],
            ),
        )
        .await;
    // Matched, not added: a phone counts a 201 as a new server item.
    assert_eq!(st, vec![StatusCode::Ok, StatusCode::ItemAdded]);
    assert_eq!(w.href_of("contacts", "1").as_deref(), Some(same.as_str()));
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 3);
    // Only the item the phone lacks goes to it.
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == only),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_combined_datastore_splits_writes_and_merges_feeds() {
    let w = world(ConflictPolicy::Merge);
    let mut run = w.calendar_with_tasks(SyncMethod::Slow);
    let collections: Vec<&str> = run.collections().map(|(_, h)| h).collect();
    assert_eq!(collections, vec![CALENDAR, TASKS]);
    let (st, out) = w
        .session(
            &mut run,
            adds(
                Format::Vcal10,
                [
                    ("e1", vcal("VEVENT", "Meeting")),
                    ("t1", vcal("VTODO", "Buy milk")),
                ],
            ),
        )
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded, StatusCode::ItemAdded]);
    assert!(out.is_empty(), "{out:?}");
    let event = w.href_of("calendar", "e1").expect("event mapped");
    let task = w.href_of("calendar", "t1").expect("task mapped");
    assert!(event.starts_with(CALENDAR), "{event}");
    assert!(task.starts_with(TASKS), "{task}");

    // Each collection keeps its own change state: a change in either reaches the phone.
    let prior = Prior::load(&w.deps.store, &key("calendar")).expect("prior");
    assert_eq!(prior.known_collections(), Some((CALENDAR, Some(TASKS))));
    let (etag, data) = w.dav.get(&task).expect("task");
    w.edit(&task, &data.replace("Buy milk", "Buy bread"));
    assert_ne!(w.dav.get(&task).map(|(e, _)| e), Some(etag));
    let new_event = format!("{CALENDAR}new.ics");
    w.edit(&new_event, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:n1\r\nSUMMARY:Lunch\r\nDTSTART:20240103T120000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let mut run = w.calendar_with_tasks(SyncMethod::TwoWay);
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert_replace_and_add(&out, ("t1", "Buy bread"), &new_event);
}

#[tokio::test]
async fn a_vanished_collection_is_rediscovered_next_session() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    let mut run = w.run(
        SyncMethod::TwoWay,
        "contacts",
        "/dav/alice/gone/",
        ItemKind::Contacts,
        None,
    );
    let err = run.server_changes(&w.deps).await.expect_err("gone");
    assert!(matches!(
        err,
        EngineError::Dav {
            source: DavError::NotFound { .. },
            ..
        }
    ));
    assert!(run.failed());
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.state.force_slow);
}

#[tokio::test]
async fn an_add_sent_again_after_the_bridge_died_before_its_map_finds_its_item() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    // A two-way session writes the phone's new card, and the process dies between the
    // PUT and the map entry: only the intent stored before the PUT survives.
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "2", card("Roe", "+222"))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    let href = w.href_of("contacts", "2").expect("mapped");
    let entry = MapEntry {
        luid: "2".into(),
        href: href.clone(),
        etag: None,
        phone_copy: None,
        sent_copy: None,
    };
    w.deps
        .store
        .apply_map(&key("contacts"), &[MapChange::Put(entry)])
        .expect("intent only");

    // The phone never got its status and sends the same Add again.
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "2", card("Roe", "+222"))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 2, "no duplicate");
    assert_eq!(w.href_of("contacts", "2"), Some(href));
}

#[tokio::test]
async fn a_create_refused_upstream_leaves_no_intent_behind() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    w.dav.refuse(CONTACTS, 403);
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "9", card("Poe", "+999"))
        .await;
    assert_ne!(st, vec![StatusCode::ItemAdded]);
    assert_eq!(w.href_of("contacts", "9"), None);
}

#[tokio::test]
async fn two_identical_items_without_uid_are_both_created() {
    let w = world(ConflictPolicy::Merge);
    let mut run = w.run(SyncMethod::Slow, "tasks", TASKS, ItemKind::Tasks, None);
    // The same bytes converted in the same second get the same derived UID and name:
    // the second create meets a 412 and is written under a fresh UID instead.
    let todo = vcal("VTODO", "client1");
    let (st, _) = w
        .session(
            &mut run,
            vec![
                add("1", Format::Vcal10, todo.clone()),
                add("2", Format::Vcal10, todo),
            ],
        )
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded, StatusCode::ItemAdded]);
    assert!(!run.failed(), "the session did not fail");
    let hrefs = w.dav.hrefs(TASKS);
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    let uids: std::collections::BTreeSet<String> = hrefs
        .iter()
        .filter_map(|h| w.dav.get(h))
        .filter_map(|(_, data)| {
            data.lines()
                .find_map(|l| l.strip_prefix("UID:").map(str::to_owned))
        })
        .collect();
    assert_eq!(uids.len(), 2, "two UIDs: {uids:?}");
    assert_ne!(w.href_of("tasks", "1"), w.href_of("tasks", "2"));
}

mod device_limits;
mod event_ends;
mod history;
mod lost_maps;
mod resume;
mod sif_calendar;
mod stale_writes;
