//! One datastore's sync within a session: the phone's changes written upstream, the
//! server's changes prepared for the phone, conflicts, slow-sync matching, the Map and
//! the anchors. Follows the durability rules of DESIGN.md: a phone item is acknowledged
//! only after its DAV write and map entry are stored; anchors and DAV change state move
//! only in [`DatastoreRun::commit`], which the session calls once the session completed.

pub mod conflict;
pub mod items;
pub mod sync_method;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use sha2::{Digest, Sha256};

use crate::convert::capability::Capability;
use crate::convert::matchkey::{match_key, MatchKey};
use crate::convert::{self, merge, Component, ConvertError, ConvertOptions, Format};
use crate::dav::{ChangeState, DavError, DavUser, ItemKind};
use crate::store::{
    DatastoreKey, DatastoreState, MapChange, MapEntry, PendingMap, Store, StoreError,
};
use crate::syncml::codes::StatusCode;

pub use conflict::ConflictPolicy;
pub use sync_method::SyncMethod;

/// Upstream writes in flight at once for one message's items.
const WRITE_CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("datastore {datastore}: {source}")]
    Store {
        datastore: String,
        source: StoreError,
    },
    #[error("datastore {datastore}: upstream: {source}")]
    Dav { datastore: String, source: DavError },
    #[error("datastore {datastore}: stored change state is damaged: {message}")]
    State { datastore: String, message: String },
}

/// What the engine needs from the session.
#[derive(Clone)]
pub struct EngineDeps {
    pub store: Arc<Store>,
    pub dav: DavUser,
    pub policy: ConflictPolicy,
    pub opts: ConvertOptions,
}

/// One change the phone sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneChange {
    Add {
        luid: String,
        format: Format,
        data: Vec<u8>,
    },
    Replace {
        luid: String,
        format: Format,
        data: Vec<u8>,
    },
    Delete {
        luid: String,
    },
}

impl PhoneChange {
    pub fn luid(&self) -> &str {
        match self {
            PhoneChange::Add { luid, .. }
            | PhoneChange::Replace { luid, .. }
            | PhoneChange::Delete { luid } => luid,
        }
    }
}

/// One change for the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerChange {
    /// A new item under a server id the phone answers with its Map.
    Add {
        server_id: String,
        data: Vec<u8>,
    },
    Replace {
        luid: String,
        data: Vec<u8>,
    },
    Delete {
        luid: String,
    },
}

/// A server item held for slow-sync matching.
#[derive(Debug, Clone)]
struct ServerItem {
    href: String,
    etag: String,
    tree: Component,
    key: MatchKey,
}

/// All server items of the collection, indexed for matching.
#[derive(Debug, Default)]
struct ServerIndex {
    items: Vec<ServerItem>,
    by_href: HashMap<String, usize>,
    by_uid: HashMap<String, usize>,
    by_content: HashMap<String, Vec<usize>>,
    /// The listings' change states (taken before this session's writes), one per
    /// upstream collection of the run, in the same order.
    states: Vec<ChangeState>,
}

impl ServerIndex {
    fn find(&self, key: &MatchKey, taken: &HashSet<String>) -> Option<usize> {
        if let Some(&i) = key.uid.as_ref().and_then(|u| self.by_uid.get(u)) {
            if !taken.contains(&self.items[i].href) {
                return Some(i);
            }
        }
        self.by_content
            .get(&key.content)?
            .iter()
            .copied()
            .find(|&i| !taken.contains(&self.items[i].href) && self.items[i].key.matches(key))
    }
}

/// A planned upstream operation for one phone change.
enum Plan {
    Done(StatusCode),
    Create {
        luid: String,
        collection: String,
        name: String,
        body: Vec<u8>,
        status: StatusCode,
    },
    Update {
        luid: String,
        href: String,
        etag: String,
        body: Vec<u8>,
        status: StatusCode,
    },
    Delete {
        luid: String,
        href: String,
        etag: String,
    },
}

/// One upstream collection a datastore reads and writes.
#[derive(Debug, Clone)]
struct Upstream {
    href: String,
    kind: ItemKind,
    /// The change state stored by the last completed session.
    prev: ChangeState,
    /// The change state stored at commit.
    next: Option<ChangeState>,
}

impl Upstream {
    /// Whether `href` names a resource of this collection.
    fn holds(&self, href: &str) -> bool {
        let dir = self.href.trim_end_matches('/');
        href.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// One datastore of one session.
pub struct DatastoreRun {
    pub key: DatastoreKey,
    pub method: SyncMethod,
    pub kind: ItemKind,
    pub phone_format: Format,
    pub cap: Capability,
    /// Longest server id the phone keeps (DevInf MaxGUIDSize).
    pub max_guid: usize,
    pub phone_next: String,
    pub server_next: String,
    previous: DatastoreState,
    /// The collections read and written: the datastore's own first, then the task list
    /// of a combined calendar+tasks datastore (Nokia, Sony Ericsson).
    upstreams: Vec<Upstream>,
    /// The task list of a combined datastore (may be its own collection), kept in the
    /// state so the next session needs no discovery.
    task_collection: Option<String>,
    server_uri: String,
    /// href -> map entry, loaded once.
    map: HashMap<String, MapEntry>,
    luid_to_href: HashMap<String, String>,
    index: Option<ServerIndex>,
    /// Server items the phone's items were matched with or wrote (slow and refresh).
    taken: HashSet<String>,
    /// hrefs this session wrote or deleted for the phone, with the etag written.
    written: HashMap<String, Option<String>>,
    /// hrefs whose server version must go back to the phone despite being touched.
    send_back: HashSet<String>,
    /// LUIDs whose map entries go when the session completes.
    forget_luids: Vec<String>,
    /// Whether anything failed upstream (anchors then stay where they were).
    pub failed: bool,
}

fn store_err(k: &DatastoreKey) -> impl FnOnce(StoreError) -> EngineError + '_ {
    move |source| EngineError::Store {
        datastore: k.datastore.clone(),
        source,
    }
}

fn dav_err(k: &DatastoreKey) -> impl FnOnce(DavError) -> EngineError + '_ {
    move |source| EngineError::Dav {
        datastore: k.datastore.clone(),
        source,
    }
}

/// The status a phone item gets for an upstream failure.
fn dav_status(e: &DavError) -> StatusCode {
    StatusCode::from_code(match e {
        e if e.is_unavailable() => 503,
        DavError::Forbidden { .. } => 425,
        DavError::TooLarge { .. } => 413,
        DavError::Conflict { .. } => 409,
        DavError::UnexpectedStatus { status, .. } if matches!(status, 400 | 413 | 415 | 422) => {
            if *status == 422 {
                400
            } else {
                *status
            }
        }
        _ => 500,
    })
}

/// Whether the upstream refused this one item for good (a read-only calendar, data it
/// will not store) rather than failed: the phone is told and the session completes;
/// repeating the session would only be refused again.
fn refuses_item(e: &DavError) -> bool {
    match e {
        DavError::Forbidden { .. } => true,
        DavError::UnexpectedStatus { status, .. } => matches!(status, 400 | 413 | 415 | 422),
        _ => false,
    }
}

fn convert_status(e: &ConvertError) -> StatusCode {
    StatusCode::from_code(match e {
        ConvertError::UnknownFormat(_)
        | ConvertError::Unsupported { .. }
        | ConvertError::Incompatible { .. } => 415,
        _ => 400,
    })
}

/// What the stored state says about a datastore before the session starts.
pub struct Prior {
    pub state: DatastoreState,
}

impl Prior {
    pub fn load(store: &Store, key: &DatastoreKey) -> Result<Prior, EngineError> {
        let state = store
            .datastore_state(key)
            .map_err(store_err(key))?
            .unwrap_or_default();
        Ok(Prior { state })
    }

    /// The upstream collection of the last completed session, when it was one.
    pub fn known_collection(&self) -> Option<&str> {
        self.known_collections().map(|(own, _)| own)
    }

    /// The collections of the last completed session: the datastore's own and the task
    /// list a combined calendar+tasks datastore also covered (which may be the same).
    pub fn known_collections(&self) -> Option<(&str, Option<&str>)> {
        let tasks = self.state.task_collection.as_deref();
        let own: Vec<&String> = self
            .state
            .collections
            .keys()
            .filter(|k| Some(k.as_str()) != tasks)
            .collect();
        match (own.as_slice(), tasks) {
            ([only], t) => Some((only.as_str(), t)),
            ([], Some(t)) if self.state.collections.contains_key(t) => Some((t, Some(t))),
            _ => None,
        }
    }

    /// Whether the phone's Last anchor is the Next the bridge stored at the end of the
    /// last completed session (and no slow sync was forced).
    pub fn anchors_match(&self, phone_last: Option<&str>) -> bool {
        !self.state.force_slow
            && self.state.phone_anchor.is_some()
            && self.state.phone_anchor.as_deref() == phone_last
    }
}

/// How a run is set up.
pub struct RunSetup {
    pub key: DatastoreKey,
    pub method: SyncMethod,
    pub collection: String,
    pub kind: ItemKind,
    pub phone_format: Format,
    pub cap: Capability,
    pub max_guid: usize,
    pub phone_next: String,
    /// A task collection the datastore also covers (combined calendar+tasks devices).
    pub task_collection: Option<String>,
    /// The datastore's name as the phone sent it.
    pub server_uri: String,
}

impl DatastoreRun {
    pub fn new(deps: &EngineDeps, prior: Prior, setup: RunSetup) -> Result<Self, EngineError> {
        let key = setup.key;
        let mut wanted = vec![(setup.collection.clone(), setup.kind)];
        if let Some(tasks) = &setup.task_collection {
            if !crate::dav::href::same_collection(tasks, &setup.collection) {
                wanted.push((tasks.clone(), ItemKind::Tasks));
            }
        }
        let mut upstreams = Vec::with_capacity(wanted.len());
        for (href, kind) in wanted {
            let prev = match prior.state.collections.get(&href) {
                Some(json) => serde_json::from_str(json).map_err(|e| EngineError::State {
                    datastore: key.datastore.clone(),
                    message: e.to_string(),
                })?,
                None => ChangeState::default(),
            };
            upstreams.push(Upstream {
                href,
                kind,
                prev,
                next: None,
            });
        }
        let mut run = DatastoreRun {
            method: setup.method,
            kind: setup.kind,
            phone_format: setup.phone_format,
            cap: setup.cap,
            max_guid: setup.max_guid,
            phone_next: setup.phone_next,
            server_next: Utc::now().format("%Y%m%dT%H%M%SZ").to_string(),
            previous: prior.state,
            upstreams,
            task_collection: setup.task_collection,
            server_uri: setup.server_uri,
            map: HashMap::new(),
            luid_to_href: HashMap::new(),
            index: None,
            taken: HashSet::new(),
            written: HashMap::new(),
            send_back: HashSet::new(),
            forget_luids: Vec::new(),
            failed: false,
            key,
        };
        if matches!(
            run.method,
            SyncMethod::RefreshFromServer | SyncMethod::ClientReset
        ) {
            // The phone empties this datastore: its old LUIDs mean nothing any more.
            deps.store
                .clear_map(&run.key)
                .map_err(store_err(&run.key))?;
        } else {
            for e in deps.store.map(&run.key).map_err(store_err(&run.key))? {
                run.luid_to_href.insert(e.luid.clone(), e.href.clone());
                run.map.insert(e.href.clone(), e);
            }
        }
        Ok(run)
    }

    /// The server's anchor of the last completed session.
    pub fn server_last(&self) -> Option<&str> {
        self.previous.server_anchor.as_deref()
    }

    fn is_card(&self) -> bool {
        self.kind == ItemKind::Contacts
    }

    /// Every upstream collection of the run with the kind of item it holds.
    pub fn collections(&self) -> impl Iterator<Item = (ItemKind, &str)> {
        self.upstreams.iter().map(|u| (u.kind, u.href.as_str()))
    }

    /// Which upstream collection a resource belongs to (the datastore's own when none
    /// claims it).
    fn upstream_of(&self, href: &str) -> usize {
        self.upstreams
            .iter()
            .position(|u| u.holds(href))
            .unwrap_or(0)
    }

    /// The collection a new item goes to: the one for its component (a VTODO of a
    /// combined calendar goes to the task list), else the datastore's own.
    fn collection_for_item(&self, item: &Component) -> String {
        let main = item
            .components
            .iter()
            .find(|c| c.name != "VTIMEZONE")
            .map(|c| c.name.as_str());
        self.upstreams
            .iter()
            .find(|u| main.is_some() && u.kind.component() == main)
            .unwrap_or(&self.upstreams[0])
            .href
            .clone()
    }

    /// The etag a resource had when the last completed session ended.
    fn prev_etag(&self, href: &str) -> Option<&String> {
        self.upstreams[self.upstream_of(href)].prev.etags.get(href)
    }

    /// Reads `hrefs` (of any of the run's collections), one multiget per collection.
    async fn fetch(
        &self,
        deps: &EngineDeps,
        hrefs: &[String],
    ) -> Result<Vec<crate::dav::Item>, DavError> {
        let mut out = Vec::with_capacity(hrefs.len());
        for (i, u) in self.upstreams.iter().enumerate() {
            let mine: Vec<String> = hrefs
                .iter()
                .filter(|h| self.upstream_of(h) == i)
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            let fetched = deps
                .dav
                .multiget(&u.href, u.kind.data_kind(), &mine)
                .await?;
            out.extend(fetched.items);
        }
        Ok(out)
    }

    /// Lists and reads every server item once (slow syncs, refreshes).
    async fn ensure_index(&mut self, deps: &EngineDeps) -> Result<(), EngineError> {
        if self.index.is_some() {
            return Ok(());
        }
        let mut index = ServerIndex::default();
        let mut fetched = Vec::new();
        for u in &self.upstreams {
            let listing = deps
                .dav
                .changes(&u.href, &ChangeState::default())
                .await
                .map_err(dav_err(&self.key))?;
            let hrefs: Vec<String> = listing.changed.iter().map(|c| c.href.clone()).collect();
            let items = deps
                .dav
                .multiget(&u.href, u.kind.data_kind(), &hrefs)
                .await
                .map_err(dav_err(&self.key))?;
            fetched.extend(items.items);
            index.states.push(listing.state);
        }
        for item in fetched {
            let tree = match items::parse_dav(&item.data, &deps.opts) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(href = %item.href, error = %e, "server item unreadable, not matched");
                    continue;
                }
            };
            let key = match_key(&tree, deps.opts.device_tz);
            let i = index.items.len();
            index.by_href.insert(item.href.clone(), i);
            if let Some(u) = &key.uid {
                index.by_uid.insert(u.clone(), i);
            }
            if !key.content.is_empty() {
                index
                    .by_content
                    .entry(key.content.clone())
                    .or_default()
                    .push(i);
            }
            let etag = item
                .etag
                .or_else(|| {
                    let i = self.upstream_of(&item.href);
                    index.states.get(i)?.etags.get(&item.href).cloned()
                })
                .unwrap_or_default();
            index.items.push(ServerItem {
                href: item.href,
                etag,
                tree,
                key,
            });
        }
        self.index = Some(index);
        Ok(())
    }

    /// Applies a batch of the phone's changes (one message's worth) and returns one status
    /// per change, in order. Map entries are stored before this returns.
    pub async fn apply_phone_changes(
        &mut self,
        deps: &EngineDeps,
        changes: Vec<PhoneChange>,
    ) -> Result<Vec<StatusCode>, EngineError> {
        let n = changes.len();
        if !self.method.writes_upstream() {
            return self.match_without_writing(deps, changes).await;
        }
        if self.method.phone_sends_all() {
            self.ensure_index(deps).await?;
        }
        // Current server versions of the items the phone replaces, in one read.
        let mut current: HashMap<String, (String, Component)> = HashMap::new();
        if self.index.is_none() {
            let hrefs: Vec<String> = changes
                .iter()
                .filter(|c| matches!(c, PhoneChange::Replace { .. }))
                .filter_map(|c| self.luid_to_href.get(c.luid()).cloned())
                .collect();
            if !hrefs.is_empty() {
                match self.fetch(deps, &hrefs).await {
                    Ok(fetched) => {
                        for item in fetched {
                            if let Ok(tree) = items::parse_dav(&item.data, &deps.opts) {
                                current.insert(
                                    item.href.clone(),
                                    (item.etag.unwrap_or_default(), tree),
                                );
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(datastore = %self.key.datastore, error = %e, "cannot read the items the phone replaces");
                        self.failed = true;
                        return Ok(vec![dav_status(&e); n]);
                    }
                }
            }
        }
        let plans: Vec<Plan> = changes
            .into_iter()
            .map(|c| self.plan(deps, c, &current))
            .collect();
        let results: Vec<(Plan, Result<Option<crate::dav::Written>, DavError>)> =
            stream::iter(plans.into_iter().map(|p| execute(deps, p)))
                .buffered(WRITE_CONCURRENCY)
                .collect()
                .await;
        let mut statuses = Vec::with_capacity(n);
        let mut map_changes = Vec::new();
        for (plan, result) in results {
            statuses.push(self.settle(plan, result, &mut map_changes));
        }
        if !map_changes.is_empty() {
            deps.store
                .apply_map(&self.key, &map_changes)
                .map_err(store_err(&self.key))?;
        }
        Ok(statuses)
    }

    /// One-way slow to the phone: the phone's items are matched (to learn their LUIDs)
    /// but nothing is written upstream.
    async fn match_without_writing(
        &mut self,
        deps: &EngineDeps,
        changes: Vec<PhoneChange>,
    ) -> Result<Vec<StatusCode>, EngineError> {
        let mut statuses = Vec::with_capacity(changes.len());
        if self.method == SyncMethod::OneWaySlowToClient {
            self.ensure_index(deps).await?;
        }
        let mut map_changes = Vec::new();
        for c in changes {
            if let (
                PhoneChange::Add { luid, format, data }
                | PhoneChange::Replace { luid, format, data },
                Some(index),
            ) = (&c, self.index.as_ref())
            {
                if let Ok(tree) = items::phone_to_dav(*format, data, &deps.opts) {
                    let key = match_key(&tree, deps.opts.device_tz);
                    if let Some(i) = index.find(&key, &self.taken) {
                        let it = &index.items[i];
                        self.taken.insert(it.href.clone());
                        // The server's version wins: it goes back to the phone.
                        self.send_back.insert(it.href.clone());
                        map_changes.push(MapChange::Put(MapEntry {
                            luid: luid.clone(),
                            href: it.href.clone(),
                            etag: None,
                        }));
                        self.luid_to_href.insert(luid.clone(), it.href.clone());
                    }
                }
            }
            statuses.push(StatusCode::from_code(200));
        }
        if !map_changes.is_empty() {
            deps.store
                .apply_map(&self.key, &map_changes)
                .map_err(store_err(&self.key))?;
        }
        Ok(statuses)
    }

    fn plan(
        &mut self,
        deps: &EngineDeps,
        change: PhoneChange,
        current: &HashMap<String, (String, Component)>,
    ) -> Plan {
        let (luid, format, data, is_add) = match change {
            PhoneChange::Delete { luid } => return self.plan_delete(luid),
            PhoneChange::Add { luid, format, data } => (luid, format, data, true),
            PhoneChange::Replace { luid, format, data } => (luid, format, data, false),
        };
        let mut incoming = match items::phone_to_dav(format, &data, &deps.opts) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(datastore = %self.key.datastore, %luid, error = %e, "phone item not converted");
                return Plan::Done(convert_status(&e));
            }
        };
        let added = StatusCode::from_code(201);
        let ok = StatusCode::from_code(if is_add { 201 } else { 200 });
        // Known LUID: the item it names.
        let known = self.luid_to_href.get(&luid).cloned();
        if let Some(index) = &self.index {
            let hit = known
                .as_ref()
                .and_then(|h| index.by_href.get(h).copied())
                .or_else(|| {
                    let key = match_key(&incoming, deps.opts.device_tz);
                    index.find(&key, &self.taken)
                });
            if let Some(i) = hit {
                let it = &index.items[i];
                self.taken.insert(it.href.clone());
                return self.plan_merge(
                    luid,
                    it.href.clone(),
                    it.etag.clone(),
                    &it.tree.clone(),
                    &incoming,
                    // Matched, not added: a phone counts a 201 as a new server item.
                    StatusCode::from_code(200),
                    false,
                );
            }
        } else if let Some(href) = known {
            if let Some((etag, tree)) = current.get(&href) {
                let synced = self.map.get(&href).and_then(|e| e.etag.clone());
                let conflict = !is_add
                    && synced.as_deref().is_some_and(|s| s != etag)
                    && self.prev_etag(&href).is_some_and(|s| s != etag);
                if conflict {
                    return self.plan_conflict(deps, luid, href, etag.clone(), tree, incoming);
                }
                return self.plan_merge(luid, href, etag.clone(), tree, &incoming, ok, false);
            }
            // Mapped but gone upstream: the phone's version comes back as a new item.
            tracing::info!(datastore = %self.key.datastore, %luid, %href, "mapped item gone upstream, re-creating");
        }
        let uid = items::ensure_uid(&mut incoming);
        Plan::Create {
            luid,
            collection: self.collection_for_item(&incoming),
            name: items::resource_name(&uid, self.is_card()),
            body: convert::dav_bytes(&incoming),
            status: added,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_merge(
        &mut self,
        luid: String,
        href: String,
        etag: String,
        existing: &Component,
        incoming: &Component,
        status: StatusCode,
        send_back: bool,
    ) -> Plan {
        let merged = match merge::merge(existing, incoming, &self.cap) {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(datastore = %self.key.datastore, %luid, error = %e, "cannot merge");
                return Plan::Done(convert_status(&e));
            }
        };
        if send_back {
            self.send_back.insert(href.clone());
        }
        if merged == *existing {
            // Nothing new for the server: map only.
            self.luid_to_href.insert(luid.clone(), href.clone());
            self.written.insert(href.clone(), Some(etag.clone()));
            return Plan::Update {
                luid,
                href,
                etag,
                body: Vec::new(),
                status,
            };
        }
        Plan::Update {
            luid,
            href,
            etag,
            body: convert::dav_bytes(&merged),
            status,
        }
    }

    fn plan_conflict(
        &mut self,
        deps: &EngineDeps,
        luid: String,
        href: String,
        etag: String,
        existing: &Component,
        mut incoming: Component,
    ) -> Plan {
        let policy = deps.policy;
        tracing::info!(datastore = %self.key.datastore, %luid, %href, ?policy, "conflict");
        let status = policy.status();
        match policy {
            ConflictPolicy::ServerWins => {
                self.send_back.insert(href.clone());
                self.written.insert(href, None);
                Plan::Done(status)
            }
            ConflictPolicy::Merge => {
                // Only the fields the phone sent replace the server's: what it left out
                // may be what the server side just added.
                let cap = std::mem::replace(&mut self.cap, Capability::unknown());
                let plan = self.plan_merge(luid, href, etag, existing, &incoming, status, true);
                self.cap = cap;
                plan
            }
            ConflictPolicy::ClientWins => {
                self.plan_merge(luid, href, etag, existing, &incoming, status, false)
            }
            ConflictPolicy::Duplicate => {
                // The server's version goes to the phone as a new item.
                self.send_back.insert(href.clone());
                if let Some(old) = self.map.remove(&href) {
                    self.luid_to_href.remove(&old.luid);
                }
                if let Some(holder) = incoming
                    .components
                    .iter_mut()
                    .find(|c| c.name != "VTIMEZONE")
                {
                    holder.remove("UID");
                } else {
                    incoming.remove("UID");
                }
                let uid = items::ensure_uid(&mut incoming);
                Plan::Create {
                    luid,
                    collection: self.collection_for_item(&incoming),
                    name: items::resource_name(&uid, self.is_card()),
                    body: convert::dav_bytes(&incoming),
                    status,
                }
            }
        }
    }

    fn plan_delete(&mut self, luid: String) -> Plan {
        let ok = StatusCode::from_code(200);
        let Some(href) = self.luid_to_href.get(&luid).cloned() else {
            // Already gone: nothing to do (libsynthesis answers 200 too).
            return Plan::Done(ok);
        };
        if !matches!(
            self.method,
            SyncMethod::TwoWay | SyncMethod::OneWayFromClient
        ) {
            // Only an explicit delete in a session whose anchors matched deletes upstream.
            return Plan::Done(ok);
        }
        let synced = self.map.get(&href).and_then(|e| e.etag.clone());
        let Some(etag) = synced.or_else(|| self.prev_etag(&href).cloned()) else {
            return Plan::Done(StatusCode::from_code(500));
        };
        Plan::Delete { luid, href, etag }
    }

    fn settle(
        &mut self,
        plan: Plan,
        result: Result<Option<crate::dav::Written>, DavError>,
        map_changes: &mut Vec<MapChange>,
    ) -> StatusCode {
        match (plan, result) {
            (Plan::Done(s), _) => s,
            (
                Plan::Create { luid, status, .. } | Plan::Update { luid, status, .. },
                Ok(Some(w)),
            ) => {
                self.written.insert(w.href.clone(), Some(w.etag.clone()));
                self.taken.insert(w.href.clone());
                self.luid_to_href.insert(luid.clone(), w.href.clone());
                let entry = MapEntry {
                    luid,
                    href: w.href.clone(),
                    etag: Some(w.etag),
                };
                self.map.insert(w.href, entry.clone());
                map_changes.push(MapChange::Put(entry));
                status
            }
            (
                Plan::Update {
                    luid,
                    href,
                    etag,
                    status,
                    ..
                },
                Ok(None),
            ) => {
                let entry = MapEntry {
                    luid,
                    href: href.clone(),
                    etag: Some(etag),
                };
                self.map.insert(href, entry.clone());
                map_changes.push(MapChange::Put(entry));
                status
            }
            (Plan::Delete { luid, href, .. }, Ok(_)) => {
                self.written.insert(href.clone(), None);
                self.map.remove(&href);
                self.luid_to_href.remove(&luid);
                map_changes.push(MapChange::RemoveLuid(luid));
                StatusCode::from_code(200)
            }
            (Plan::Delete { luid, href, .. }, Err(DavError::Conflict { .. })) => {
                // Changed upstream since the phone saw it: the server's version wins and
                // goes back to the phone as a new item.
                self.map.remove(&href);
                self.luid_to_href.remove(&luid);
                map_changes.push(MapChange::RemoveLuid(luid));
                self.send_back.insert(href);
                StatusCode::from_code(419)
            }
            (Plan::Delete { href, .. }, Err(DavError::NotFound { .. })) => {
                self.written.insert(href, None);
                StatusCode::from_code(200)
            }
            (plan, Err(e)) if refuses_item(&e) => {
                tracing::warn!(datastore = %self.key.datastore, error = %e, "upstream refused the phone's change; the server's version goes back to the phone");
                match plan {
                    Plan::Update { href, .. } => {
                        self.send_back.insert(href);
                    }
                    Plan::Delete { luid, href, .. } => {
                        // The item stays upstream: it returns to the phone as a new one.
                        self.map.remove(&href);
                        self.luid_to_href.remove(&luid);
                        map_changes.push(MapChange::RemoveLuid(luid));
                        self.send_back.insert(href);
                    }
                    Plan::Create { .. } | Plan::Done(_) => {}
                }
                dav_status(&e)
            }
            (_, Err(e)) => {
                tracing::warn!(datastore = %self.key.datastore, error = %e, "upstream write failed");
                self.failed = true;
                dav_status(&e)
            }
            (Plan::Create { .. }, Ok(None)) => StatusCode::from_code(500),
        }
    }

    /// The server id an item is sent under: its href, or a digest when the phone keeps
    /// shorter ids.
    fn server_id(&self, href: &str) -> String {
        if href.len() <= self.max_guid {
            return href.to_owned();
        }
        let digest = Sha256::digest(href.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        hex[..self.max_guid.clamp(4, 64)].to_owned()
    }

    /// The server's changes for the phone, converted to its format. Call once, after the
    /// phone's whole package was applied. Pending maps for the Adds are stored.
    pub async fn server_changes(
        &mut self,
        deps: &EngineDeps,
    ) -> Result<Vec<ServerChange>, EngineError> {
        let mut out = Vec::new();
        let mut to_send: Vec<String> = Vec::new();
        let mut bodies: HashMap<String, (String, Component)> = HashMap::new();
        match self.method {
            SyncMethod::TwoWay | SyncMethod::OneWayFromServer => {
                for i in 0..self.upstreams.len() {
                    let u = &self.upstreams[i];
                    let changes = deps
                        .dav
                        .changes(&u.href, &u.prev)
                        .await
                        .map_err(dav_err(&self.key))?;
                    for c in &changes.changed {
                        let echo = self
                            .written
                            .get(&c.href)
                            .is_some_and(|w| w.as_deref() == Some(c.etag.as_str()) || w.is_none());
                        if !echo || self.send_back.contains(&c.href) {
                            to_send.push(c.href.clone());
                        }
                    }
                    for href in &changes.deleted {
                        if let Some(entry) = self.map.get(href) {
                            out.push(ServerChange::Delete {
                                luid: entry.luid.clone(),
                            });
                            self.forget_luids.push(entry.luid.clone());
                        }
                    }
                    self.upstreams[i].next = Some(changes.state);
                }
                // Server versions that must undo a refused phone change, even where the
                // upstream did not change them.
                let listed: HashSet<&String> = to_send.iter().collect();
                let mut extra: Vec<String> = self
                    .send_back
                    .iter()
                    .filter(|h| !listed.contains(h))
                    .cloned()
                    .collect();
                extra.sort();
                to_send.extend(extra);
            }
            SyncMethod::Slow | SyncMethod::OneWaySlowToClient | SyncMethod::RefreshFromServer => {
                self.ensure_index(deps).await?;
                if let Some(index) = &self.index {
                    for it in &index.items {
                        if !self.taken.contains(&it.href) || self.send_back.contains(&it.href) {
                            to_send.push(it.href.clone());
                            bodies.insert(it.href.clone(), (it.etag.clone(), it.tree.clone()));
                        }
                    }
                    let states = index.states.clone();
                    self.settle_states(states);
                }
                if self.method == SyncMethod::Slow {
                    // Pairings for items the phone no longer holds are stale.
                    let stale: Vec<String> = self
                        .map
                        .values()
                        .filter(|e| !self.taken.contains(&e.href))
                        .map(|e| e.luid.clone())
                        .collect();
                    self.forget_luids.extend(stale);
                }
            }
            SyncMethod::RefreshFromClient => {
                self.ensure_index(deps).await?;
                self.delete_untaken(deps).await?;
            }
            SyncMethod::ClientReset => {
                for i in 0..self.upstreams.len() {
                    let u = &self.upstreams[i];
                    let listing = deps
                        .dav
                        .changes(&u.href, &u.prev)
                        .await
                        .map_err(dav_err(&self.key))?;
                    self.upstreams[i].next = Some(listing.state);
                }
            }
            SyncMethod::OneWayFromClient | SyncMethod::OneWaySlowToServer => {
                let states = self.upstreams.iter().map(|u| u.prev.clone()).collect();
                self.settle_states(states);
            }
        }
        let missing: Vec<String> = to_send
            .iter()
            .filter(|h| !bodies.contains_key(*h))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let fetched = self
                .fetch(deps, &missing)
                .await
                .map_err(dav_err(&self.key))?;
            for item in fetched {
                match items::parse_dav(&item.data, &deps.opts) {
                    Ok(tree) => {
                        bodies.insert(item.href, (item.etag.unwrap_or_default(), tree));
                    }
                    Err(e) => {
                        tracing::warn!(href = %item.href, error = %e, "server item unreadable, not sent");
                    }
                }
            }
        }
        let mut pending = Vec::new();
        let mut map_changes = Vec::new();
        for href in to_send {
            let Some((etag, tree)) = bodies.get(&href) else {
                continue;
            };
            let data = match items::dav_to_phone(self.phone_format, tree, &deps.opts) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(%href, error = %e, "server item not convertible for the phone");
                    continue;
                }
            };
            let etag = (!etag.is_empty()).then(|| etag.clone());
            match self.map.get(&href) {
                Some(entry) => {
                    out.push(ServerChange::Replace {
                        luid: entry.luid.clone(),
                        data,
                    });
                    map_changes.push(MapChange::Put(MapEntry {
                        etag,
                        ..entry.clone()
                    }));
                }
                None => {
                    let server_id = self.server_id(&href);
                    out.push(ServerChange::Add {
                        server_id: server_id.clone(),
                        data,
                    });
                    pending.push(PendingMap {
                        server_id,
                        href,
                        etag,
                    });
                }
            }
        }
        if !pending.is_empty() {
            deps.store
                .put_pending_maps(&self.key, &pending)
                .map_err(store_err(&self.key))?;
        }
        if !map_changes.is_empty() {
            deps.store
                .apply_map(&self.key, &map_changes)
                .map_err(store_err(&self.key))?;
        }
        Ok(out)
    }

    /// Sets each collection's next change state: `states` (one per collection, taken
    /// before this session's writes) plus the writes themselves, so they are not echoed.
    fn settle_states(&mut self, states: Vec<ChangeState>) {
        for (i, mut state) in states.into_iter().enumerate() {
            for (href, etag) in &self.written {
                if self.upstream_of(href) != i {
                    continue;
                }
                match etag {
                    Some(e) => state.record_write(href, e),
                    None => state.record_delete(href),
                }
            }
            if let Some(u) = self.upstreams.get_mut(i) {
                u.next = Some(state);
            }
        }
    }

    /// Refresh from the phone: server items the phone did not send are deleted.
    async fn delete_untaken(&mut self, deps: &EngineDeps) -> Result<(), EngineError> {
        let Some(index) = &self.index else {
            return Ok(());
        };
        let doomed: Vec<(String, String)> = index
            .items
            .iter()
            .filter(|it| !self.taken.contains(&it.href))
            .map(|it| (it.href.clone(), it.etag.clone()))
            .collect();
        tracing::info!(
            datastore = %self.key.datastore,
            count = doomed.len(),
            "refresh from the phone: deleting server items the phone lacks"
        );
        let states = index.states.clone();
        for (href, etag) in doomed {
            match deps.dav.delete(&href, &etag).await {
                Ok(()) | Err(DavError::NotFound { .. }) => {
                    self.written.insert(href, None);
                }
                Err(e) => {
                    tracing::warn!(%href, error = %e, "refresh delete failed");
                    self.failed = true;
                }
            }
        }
        self.settle_states(states);
        Ok(())
    }

    /// The phone's Map: (server id, LUID) pairs.
    pub fn apply_map(
        &mut self,
        deps: &EngineDeps,
        pairs: &[(String, String)],
    ) -> Result<(), EngineError> {
        let unknown = deps
            .store
            .settle_pending_maps(&self.key, pairs)
            .map_err(store_err(&self.key))?;
        if !unknown.is_empty() {
            tracing::info!(datastore = %self.key.datastore, count = unknown.len(), "Map names ids never sent");
        }
        Ok(())
    }

    /// The collection vanished upstream (deleted or moved): the next session discovers
    /// the datastore's collection again and starts with a slow sync.
    pub fn forget_collection_if_gone(&self, deps: &EngineDeps, error: &EngineError) {
        if !matches!(
            error,
            EngineError::Dav {
                source: DavError::NotFound { .. },
                ..
            }
        ) {
            return;
        }
        let mut state = self.previous.clone();
        for u in &self.upstreams {
            state.collections.remove(&u.href);
        }
        state.task_collection = None;
        state.force_slow = true;
        match deps.store.put_datastore_state(&self.key, &state) {
            Ok(()) => {
                tracing::warn!(datastore = %self.key.datastore, collection = %self.upstreams[0].href, "upstream collection gone, rediscovering next session");
            }
            Err(e) => {
                tracing::error!(datastore = %self.key.datastore, error = %e, "cannot store the datastore state");
            }
        }
    }

    /// Stores the anchors and change state: the session completed. Nothing moves when
    /// something failed upstream, so the next session repeats the work.
    pub fn commit(&mut self, deps: &EngineDeps) -> Result<(), EngineError> {
        if self.failed {
            tracing::warn!(datastore = %self.key.datastore, "upstream errors: anchors kept, next session repeats");
            return Ok(());
        }
        if !self.forget_luids.is_empty() {
            let changes: Vec<MapChange> = self
                .forget_luids
                .drain(..)
                .map(MapChange::RemoveLuid)
                .collect();
            deps.store
                .apply_map(&self.key, &changes)
                .map_err(store_err(&self.key))?;
        }
        let mut state = self.previous.clone();
        state.phone_anchor = Some(self.phone_next.clone());
        state.server_anchor = Some(self.server_next.clone());
        state.force_slow = false;
        state.last_sync = Some(Utc::now().timestamp());
        state.last_result = Some("ok".into());
        // Only the collections of this run stay: a collection the config or the
        // device's profile no longer names would hide which one is the datastore's.
        state
            .collections
            .retain(|href, _| self.upstreams.iter().any(|u| &u.href == href));
        for u in &self.upstreams {
            if let Some(next) = &u.next {
                let json = serde_json::to_string(next).map_err(|e| EngineError::State {
                    datastore: self.key.datastore.clone(),
                    message: e.to_string(),
                })?;
                state.collections.insert(u.href.clone(), json);
            }
        }
        state.task_collection = self.task_collection.clone();
        state.server_uri = Some(self.server_uri.clone());
        deps.store
            .put_datastore_state(&self.key, &state)
            .map_err(store_err(&self.key))
    }
}

/// Runs one planned upstream operation.
async fn execute(
    deps: &EngineDeps,
    plan: Plan,
) -> (Plan, Result<Option<crate::dav::Written>, DavError>) {
    let result = match &plan {
        Plan::Done(_) => Ok(None),
        Plan::Create {
            collection,
            name,
            body,
            ..
        } => {
            let ct = content_type_of(body);
            deps.dav
                .create(collection, name, ct, body.clone())
                .await
                .map(Some)
        }
        Plan::Update { body, .. } if body.is_empty() => Ok(None),
        Plan::Update {
            href, etag, body, ..
        } => {
            let ct = content_type_of(body);
            deps.dav
                .update(href, etag, ct, body.clone())
                .await
                .map(Some)
        }
        Plan::Delete { href, etag, .. } => deps.dav.delete(href, etag).await.map(|()| None),
    };
    (plan, result)
}

fn content_type_of(body: &[u8]) -> &'static str {
    if body.starts_with(b"BEGIN:VCARD") {
        "text/vcard; charset=utf-8"
    } else {
        "text/calendar; charset=utf-8"
    }
}
