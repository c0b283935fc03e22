//! One datastore's sync within a session: the phone's changes written upstream, the
//! server's changes prepared for the phone, conflicts, slow-sync matching, the Map and
//! the anchors. Follows the durability rules of docs/architecture.md: a phone item is
//! acknowledged only after its DAV write and map entry are stored; anchors and DAV change
//! state move only in [`DatastoreRun::commit`], which the session calls once the session
//! completed.
//!
//! The phone's changes are in `incoming.rs`, the server's in `outgoing.rs`, the slow-sync
//! index in `index.rs`. The upstream is any [`DavItems`]: the real client, or the
//! in-memory server of [`memory_dav`].

pub mod conflict;
pub mod dav_items;
mod history;
mod incoming;
mod index;
pub mod items;
pub mod memory_dav;
mod one_way;
mod outgoing;
mod resume;
mod stale_write;
pub mod sync_method;
#[cfg(test)]
mod tests;
mod unmapped;
pub mod upstream;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;

use crate::convert::capability::Capability;
use crate::convert::{Component, ConvertError, ConvertOptions, Format};
use crate::dav::{ChangeState, DavError, DavUser, ItemKind};
use crate::store::{
    DatastoreKey, DatastoreState, MapChange, MapEntry, PhoneCopy, Store, StoreError,
};
use crate::syncml::codes::StatusCode;

pub use conflict::ConflictPolicy;
pub use dav_items::DavItems;
pub use resume::RESUME_MAX_ENTRIES;
pub use stale_write::STALE_WRITE_RETRIES;
pub use sync_method::SyncMethod;
pub use upstream::{UpstreamSource, UserDav, UserUpstream};

use index::ServerIndex;

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

/// What the engine needs from the session. `D` is the upstream: the user's
/// [`DavUser`] in a session, a [`memory_dav::MemoryDav`] in tests.
#[derive(Clone)]
pub struct EngineDeps<D = DavUser> {
    pub store: Arc<Store>,
    pub dav: D,
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
    /// The type the phone declared for its items when it sent no DevInf; kept for the
    /// next sessions.
    pub declared_format: Option<Format>,
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
    /// A one-way slow sync left an item apart: the next session is slow.
    left_apart: bool,
    /// A phone item was held back (417) for a Map of an earlier session.
    held_for_map: bool,
    /// Whether anything failed upstream (anchors then stay where they were). Set by
    /// the engine alone; the session reads it through [`DatastoreRun::failed`].
    failed: bool,
    /// What is kept for a resume should the session not complete.
    resume: resume::ResumeBook,
    /// The largest item the phone takes (its MaxObjSize), when it says.
    pub phone_max_obj: Option<u64>,
    /// Server items too large for the phone, once the server's changes were converted.
    held_back: Option<Vec<HeldBack>>,
    /// Hrefs of items the phone said it no longer holds: sent as new next session.
    resend: Vec<String>,
    /// LUIDs whose change the phone sent failed upstream this session: the phone sends
    /// it again, so the server's version of them waits for the next session.
    unsettled: HashSet<String>,
    /// The version written for a LUID that goes back to the phone, as the phone will
    /// hold it: until it arrives the phone holds its own copy.
    written_views: HashMap<String, PhoneCopy>,
    opts: crate::convert::ConvertOptions,
    /// Server ids and LUIDs of items sent in another format than the datastore's (a task
    /// of a combined SIF calendar goes as a SIF task).
    item_formats: HashMap<String, Format>,
    /// Items sent in earlier sessions whose Map is still to come.
    unmapped: unmapped::Unmapped,
    /// LUID -> digest of the item the phone sent this session, for its map entry.
    phone_copies: HashMap<String, PhoneCopy>,
    /// LUIDs of unchanged phone copies of items deleted upstream (a slow sync's): each
    /// gets a Delete.
    doomed: Vec<String>,
    /// LUID -> digest of the server version sent as a Replace; the phone's success
    /// status moves it to `confirmed_copies`, stored when the session completes.
    sent_copies: HashMap<String, PhoneCopy>,
    confirmed_copies: Vec<(String, PhoneCopy)>,
    /// href -> etag sent, of the items a Map paired this session: the phone holds that
    /// version, so a change list that shows it is no reason to send it again.
    mapped_now: HashMap<String, Option<String>>,
}

/// A server item not sent because it is larger than the phone takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBack {
    pub href: String,
    pub size: usize,
    pub limit: u64,
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
    match e {
        e if e.is_unavailable() => StatusCode::ServiceUnavailable,
        DavError::Forbidden { .. } => StatusCode::PermissionDenied,
        DavError::TooLarge { .. } => StatusCode::RequestEntityTooLarge,
        DavError::Conflict { .. } => StatusCode::Conflict,
        DavError::UnexpectedStatus { status, .. } => match status {
            400 | 422 => StatusCode::BadRequest,
            413 => StatusCode::RequestEntityTooLarge,
            415 => StatusCode::UnsupportedMediaType,
            _ => StatusCode::CommandFailed,
        },
        _ => StatusCode::CommandFailed,
    }
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
    match e {
        ConvertError::UnknownFormat(_)
        | ConvertError::Unsupported { .. }
        | ConvertError::Incompatible { .. } => StatusCode::UnsupportedMediaType,
        _ => StatusCode::BadRequest,
    }
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
    pub fn new<D>(
        deps: &EngineDeps<D>,
        prior: Prior,
        setup: RunSetup,
    ) -> Result<Self, EngineError> {
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
            declared_format: None,
            cap: setup.cap,
            max_guid: setup.max_guid,
            phone_next: setup.phone_next,
            // The session's clock, so a simulated session is the same at every run.
            server_next: deps.opts.now.format("%Y%m%dT%H%M%SZ").to_string(),
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
            left_apart: false,
            held_for_map: false,
            forget_luids: Vec::new(),
            failed: false,
            resume: resume::ResumeBook::default(),
            phone_max_obj: None,
            held_back: None,
            resend: Vec::new(),
            unsettled: HashSet::new(),
            written_views: HashMap::new(),
            opts: deps.opts.clone(),
            item_formats: HashMap::new(),
            unmapped: unmapped::Unmapped::default(),
            phone_copies: HashMap::new(),
            doomed: Vec::new(),
            sent_copies: HashMap::new(),
            confirmed_copies: Vec::new(),
            mapped_now: HashMap::new(),
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
            unmapped::Unmapped::forget_all(deps, &run.key)?;
        } else {
            run.unmapped = unmapped::Unmapped::load(deps, &run.key)?;
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
    async fn fetch<D: DavItems>(
        &self,
        deps: &EngineDeps<D>,
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

    /// The phone's Map: (server id, LUID) pairs.
    pub fn apply_map<D>(
        &mut self,
        deps: &EngineDeps<D>,
        pairs: &[(String, String)],
    ) -> Result<(), EngineError> {
        let open = self.pairs_still_open(deps, pairs);
        let pairs = &self.noting_failure(deps, open)?;
        let owed = self
            .unmapped
            .settle(deps, &self.key, &mut self.previous, pairs);
        let entries = self.noting_failure(deps, owed)?;
        let settled = deps
            .store
            .settle_pending_maps(&self.key, pairs)
            .map_err(store_err(&self.key));
        let unknown = self.noting_failure(deps, settled)?;
        // A Map sent again early in a later session names items this session may change.
        for e in entries {
            self.mapped_now.insert(e.href.clone(), e.etag.clone());
            self.luid_to_href.insert(e.luid.clone(), e.href.clone());
            self.map.insert(e.href.clone(), e);
        }
        if !unknown.is_empty() {
            tracing::info!(datastore = %self.key.datastore, count = unknown.len(), "Map names ids never sent");
        }
        Ok(())
    }

    /// The collection vanished upstream (deleted or moved): the next session discovers
    /// the datastore's collection again and starts with a slow sync.
    fn forget_collection_if_gone<D>(&self, deps: &EngineDeps<D>, error: &EngineError) {
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

    /// The format a server change's item was converted to.
    pub fn format_of(&self, change: &ServerChange) -> Format {
        let id = match change {
            ServerChange::Add { server_id, .. } => server_id,
            ServerChange::Replace { luid, .. } | ServerChange::Delete { luid } => luid,
        };
        self.item_formats
            .get(id)
            .copied()
            .unwrap_or(self.phone_format)
    }

    /// Server items this session did not send because the phone's MaxObjSize is smaller.
    pub fn held_back(&self) -> &[HeldBack] {
        self.held_back.as_deref().unwrap_or_default()
    }

    /// Whether something failed upstream this session: the anchors will not move.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Passes a step's result on; when the step failed the anchors stay, and a
    /// vanished collection is rediscovered next session.
    fn noting_failure<T, D>(
        &mut self,
        deps: &EngineDeps<D>,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        if let Err(e) = &result {
            self.failed = true;
            self.forget_collection_if_gone(deps, e);
        }
        result
    }

    /// Stores the anchors and change state: the session completed. Nothing moves when
    /// something failed upstream, so the next session repeats the work.
    pub fn commit<D>(&mut self, deps: &EngineDeps<D>) -> Result<(), EngineError> {
        // The session completed: there is nothing left to resume.
        deps.store
            .remove_suspended_run(&self.key)
            .map_err(store_err(&self.key))?;
        // What the phone acknowledged holds whatever failed upstream.
        self.store_confirmed_copies(deps)?;
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
        // Earlier Maps still due are dropped once every phone item was matched, unless
        // one was held back for its Map in a session without a Map phase of its own (a
        // refresh from the phone): then the next session, slow, decides.
        let matched_all = self.method.phone_sends_all()
            && self.method.writes_upstream()
            && !(self.held_for_map && self.method != SyncMethod::Slow);
        let never_mapped = self.unmapped.never_mapped(deps, &self.key, matched_all)?;
        let mut state = self.previous.clone();
        state.phone_anchor = Some(self.phone_next.clone());
        state.server_anchor = Some(self.server_next.clone());
        state.force_slow = never_mapped || self.left_apart();
        state.last_sync = Some(Utc::now().timestamp());
        state.last_result = Some("ok".into());
        if let Some(held) = &self.held_back {
            state.held_back = held.iter().map(|h| h.href.clone()).collect();
            if !held.is_empty() {
                state.last_result = Some(format!(
                    "ok; {} item(s) larger than the phone's MaxObjSize not sent",
                    held.len()
                ));
            }
        }
        if !self.method.sends_to_phone() {
            // A merge the phone must get back, and a delete of its unchanged copy of an
            // item deleted upstream, wait for a session that sends.
            for href in &self.send_back {
                if !state.held_back.contains(href) {
                    state.held_back.push(href.clone());
                }
            }
            for luid in &self.doomed {
                if !state.owed_deletes.contains(luid) {
                    state.owed_deletes.push(luid.clone());
                }
            }
        }
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
        for href in self.resend.drain(..) {
            if !state.resend.contains(&href) {
                state.resend.push(href);
            }
        }
        state.task_collection = self.task_collection.clone();
        state.server_uri = Some(self.server_uri.clone());
        if let Some(f) = self.declared_format {
            state.phone_type = Some(f.name().to_owned());
        }
        deps.store
            .put_datastore_state(&self.key, &state)
            .map_err(store_err(&self.key))
    }
}
