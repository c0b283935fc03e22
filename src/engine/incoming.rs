//! The phone's changes going upstream: each one planned against what the server holds,
//! the writes run with preconditions, and the outcome settled into a status, the map and
//! what goes back to the phone.

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};

use super::history::{copies_held, phone_copy, BothChanged, Change};
use super::{
    convert_status, dav_status, items, refuses_item, store_err, ConflictPolicy, DatastoreRun,
    DavItems, EngineDeps, EngineError, PhoneChange, SyncMethod,
};
use crate::convert::capability::Capability;
use crate::convert::{self, fingerprint, merge, union, Component};
use crate::dav::{href, DavError, Written};
use crate::store::{MapChange, MapEntry};
use crate::syncml::codes::StatusCode;

/// Upstream writes in flight at once for one message's items.
const WRITE_CONCURRENCY: usize = 4;

/// A planned upstream operation for one phone change.
pub(super) enum Plan {
    Done(StatusCode),
    Create {
        luid: String,
        collection: String,
        name: String,
        body: Vec<u8>,
        status: StatusCode,
        /// The item, when its UID was made by the bridge: if its name is taken upstream
        /// (412), it is written again under a fresh UID and name.
        renameable: Option<Component>,
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

impl DatastoreRun {
    /// Applies a batch of the phone's changes (one message's worth) and returns one status
    /// per change, in order. Map entries are stored before this returns.
    pub async fn apply_phone_changes<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        changes: Vec<PhoneChange>,
    ) -> Result<Vec<StatusCode>, EngineError> {
        let luids: Vec<String> = changes.iter().map(|c| c.luid().to_owned()).collect();
        let result = self.apply_resumable(deps, changes).await;
        // A change that failed upstream stays on the phone, which sends it again:
        // until then what it holds is its own, whatever the server sends.
        let failed = |status: &StatusCode| status.code() >= 500;
        match &result {
            Ok(statuses) => {
                let luids = luids.into_iter().zip(statuses);
                self.unsettled
                    .extend(luids.filter(|(_, s)| failed(s)).map(|(l, _)| l));
            }
            Err(_) => self.unsettled.extend(luids),
        }
        let statuses = self.noting_failure(deps, result)?;
        if let Err(e) = self.save_resumable(deps) {
            // Only a resume is lost: the statuses stand, their writes and maps are stored.
            tracing::warn!(datastore = %self.key.datastore, error = %e, "cannot keep the session for a resume");
        }
        Ok(statuses)
    }

    pub(super) async fn apply_inner<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
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
        let mut gone = HashSet::new();
        if self.index.is_none() {
            // An Add under a known LUID is one the phone sends again (its status never
            // reached it): the item it names is read like a replaced one.
            let hrefs: Vec<String> = changes
                .iter()
                .filter(|c| !matches!(c, PhoneChange::Delete { .. }))
                .filter_map(|c| self.luid_to_href.get(c.luid()).cloned())
                .collect();
            if !hrefs.is_empty() {
                match self.fetch(deps, &hrefs).await {
                    Ok(fetched) => {
                        let found: HashSet<&String> = fetched.iter().map(|it| &it.href).collect();
                        gone = hrefs
                            .iter()
                            .filter(|h| !found.contains(h))
                            .cloned()
                            .collect();
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
        // Kept to resolve a write again should it meet a 412.
        let originals = changes.clone();
        let plans: Vec<Plan> = changes
            .into_iter()
            .map(|c| self.plan(deps, c, &current, &gone))
            .collect();
        self.record_intents(deps, &plans)?;
        let results: Vec<(Plan, Result<Option<Written>, DavError>)> =
            stream::iter(plans.into_iter().map(|p| execute(deps, p)))
                .buffered(WRITE_CONCURRENCY)
                .collect()
                .await;
        let mut statuses = Vec::with_capacity(n);
        let mut map_changes = Vec::new();
        for ((plan, result), change) in results.into_iter().zip(&originals) {
            let (plan, result, resolved) = self.retry_stale_write(deps, change, plan, result).await;
            let deleted = matches!(plan, Plan::Delete { .. });
            let status = self.settle(plan, result, &mut map_changes);
            statuses.push(if resolved && deleted && status == StatusCode::Ok {
                // The phone's delete won over an edit made upstream meanwhile.
                StatusCode::ConflictResolvedClientWins
            } else {
                status
            });
        }
        if !map_changes.is_empty() {
            deps.store
                .apply_map(&self.key, &map_changes)
                .map_err(store_err(&self.key))?;
        }
        Ok(statuses)
    }

    /// Stores, before any create is sent, which LUID each new item will be and where.
    /// Should the bridge die after the PUT but before the map entry, the phone sends the
    /// Add again and finds the item it names instead of making a duplicate.
    pub(super) fn record_intents<D>(
        &mut self,
        deps: &EngineDeps<D>,
        plans: &[Plan],
    ) -> Result<(), EngineError> {
        let intents: Vec<MapChange> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Create {
                    luid,
                    collection,
                    name,
                    ..
                } => Some(MapChange::Put(MapEntry {
                    luid: luid.clone(),
                    href: href::child(collection, name),
                    etag: None,
                    phone_copy: None,
                    sent_copy: None,
                })),
                _ => None,
            })
            .collect();
        if intents.is_empty() {
            return Ok(());
        }
        deps.store
            .apply_map(&self.key, &intents)
            .map_err(store_err(&self.key))
    }

    fn plan<D>(
        &mut self,
        deps: &EngineDeps<D>,
        change: PhoneChange,
        current: &HashMap<String, (String, Component)>,
        gone: &HashSet<String>,
    ) -> Plan {
        let (luid, format, data, is_add) = match change {
            PhoneChange::Delete { luid } => return self.plan_delete(luid, deps.policy),
            PhoneChange::Add { luid, format, data } => (luid, format, data, true),
            PhoneChange::Replace { luid, format, data } => (luid, format, data, false),
        };
        let incoming = match items::phone_to_dav(format, &data, &deps.opts) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(datastore = %self.key.datastore, %luid, error = %e, "phone item not converted");
                return Plan::Done(convert_status(&e));
            }
        };
        let added = StatusCode::ItemAdded;
        let ok = if is_add {
            StatusCode::ItemAdded
        } else {
            StatusCode::Ok
        };
        let copy = fingerprint::of(&incoming);
        self.phone_copies.insert(luid.clone(), phone_copy(&copy));
        // Known LUID: the item it names.
        let mut known = self.luid_to_href.get(&luid).cloned();
        // Every session where the phone sends all it holds pairs its copies of items
        // whose Map never came (a refresh from the phone as a slow sync).
        let sends_all = self.method.phone_sends_all() && self.method.writes_upstream();
        if known.is_none() && sends_all && self.unmapped.waiting() {
            known = self
                .pair_by_copy(deps, &luid, &copy.whole)
                .or_else(|| self.pair_by_match(deps, &luid, &incoming))
                .or_else(|| self.pair_with_gone(deps, &luid, &copy));
        }
        if let Some(href) = &known {
            let now = self.server_now(href, current, gone);
            // Matched in a slow sync, not added: a phone counts a 201 as a new server item.
            let status = if self.index.is_some() {
                StatusCode::Ok
            } else {
                ok
            };
            let plan = self.plan_by_history(&luid, href, &copy, &incoming, now, status);
            if let Some(plan) = plan {
                return plan;
            }
        }
        if let Some(index) = &self.index {
            let hit = known
                .as_ref()
                .and_then(|h| index.by_href.get(h).copied())
                .or_else(|| {
                    let zone = deps.opts.device_tz;
                    index.find(&incoming, zone, &self.taken)
                });
            if let Some(i) = hit {
                let it = &index.items[i];
                let (href, etag, tree) = (it.href.clone(), it.etag.clone(), it.tree.clone());
                self.taken.insert(href.clone());
                // Matched, not added: a phone counts a 201 as a new server item.
                if self.method == SyncMethod::RefreshFromClient {
                    return self.plan_merge(
                        luid,
                        href,
                        etag,
                        &tree,
                        &incoming,
                        StatusCode::Ok,
                        false,
                    );
                }
                return self.plan_union(luid, href, etag, &tree, &incoming);
            }
            if let Some(href) = known.filter(|h| !index.by_href.contains_key(h)) {
                // As in a two-way sync: under the href every phone's map names, so another
                // phone's copy or change lands on the same item instead of a second one.
                tracing::info!(datastore = %self.key.datastore, %luid, %href, "mapped item gone upstream, re-creating");
                return self.plan_recreate(luid, &href, incoming, added);
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
            // Mapped but gone upstream: the phone's version comes back, under the href
            // every phone's map names, so another phone's change lands on it too.
            tracing::info!(datastore = %self.key.datastore, %luid, %href, "mapped item gone upstream, re-creating");
            return self.plan_recreate(luid, &href, incoming, added);
        }
        if !is_add && self.may_await_map(deps, &incoming) {
            // The phone names an item the bridge never learned: most likely one it sent
            // whose Map is still to come. It waits for the Map rather than become a copy.
            tracing::info!(datastore = %self.key.datastore, %luid, "change to an unmapped item waits for the phone's Map");
            self.held_for_map = true;
            if self.method == SyncMethod::RefreshFromClient {
                self.spare_awaited_namesakes(deps, &incoming);
            }
            return Plan::Done(StatusCode::RetryLater);
        }
        self.plan_create(luid, incoming, added)
    }

    /// A new upstream item in the collection for its component, named by its UID.
    pub(super) fn plan_create(
        &self,
        luid: String,
        mut incoming: Component,
        status: StatusCode,
    ) -> Plan {
        let uid = items::ensure_uid(&mut incoming);
        let body = convert::dav_bytes(&incoming);
        Plan::Create {
            luid,
            collection: self.collection_for_item(&incoming),
            name: items::resource_name(&uid, self.is_card()),
            body,
            status,
            renameable: items::uid_is_ours(&uid).then_some(incoming),
        }
    }

    /// The phone's version of an item deleted upstream, written again at its old href.
    fn plan_recreate(
        &self,
        luid: String,
        old: &str,
        mut incoming: Component,
        status: StatusCode,
    ) -> Plan {
        // An href of a collection the run no longer reads (one gone and rediscovered)
        // cannot be written again: the item is new in the run's own collection.
        let Some((collection, name)) = self.split_in_read_collection(old) else {
            return self.plan_create(luid, incoming, status);
        };
        items::ensure_uid(&mut incoming);
        Plan::Create {
            luid,
            collection,
            name,
            body: convert::dav_bytes(&incoming),
            status,
            renameable: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn plan_merge(
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
        self.plan_write(luid, href, etag, existing, merged, status)
    }

    /// A slow sync's pair: neither version is known to be newer, so their union is
    /// written and, when the phone lacks part of it, sent back to the phone.
    pub(super) fn plan_union(
        &mut self,
        luid: String,
        href: String,
        etag: String,
        existing: &Component,
        incoming: &Component,
    ) -> Plan {
        let united = match union::unite(existing, incoming) {
            Ok(u) => u,
            Err(e) => {
                tracing::info!(datastore = %self.key.datastore, %luid, error = %e, "cannot unite");
                return Plan::Done(convert_status(&e));
            }
        };
        if union::phone_lacks(&united, incoming, &self.cap) {
            // What goes back is read from the server after the write, as it was stored.
            self.send_back.insert(href.clone());
        }
        self.plan_write(luid, href, etag, existing, united, StatusCode::Ok)
    }

    /// The update that writes `merged` over `existing`, or only maps the LUID when the
    /// server already holds all of it.
    pub(super) fn plan_write(
        &mut self,
        luid: String,
        href: String,
        etag: String,
        existing: &Component,
        merged: Component,
        status: StatusCode,
    ) -> Plan {
        if self.send_back.contains(&href) {
            // The phone keeps its copy until the written version reaches it.
            if let Some(view) = self.phone_view(&merged) {
                self.written_views.insert(luid.clone(), phone_copy(&view));
            }
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

    pub(super) fn plan_conflict<D>(
        &mut self,
        deps: &EngineDeps<D>,
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
                let bases = self.map.get(&href).and_then(copies_held);
                if let Some(bases) = bases.filter(|b| b.iter().all(|c| !c.fields.is_empty())) {
                    let copy = fingerprint::of(&incoming);
                    let change = Change {
                        luid,
                        href,
                        etag,
                        incoming: &incoming,
                        copy: &copy,
                        bases: &bases,
                    };
                    return self.plan_three_way(change, existing, BothChanged::PhoneFields, status);
                }
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
                self.plan_create(luid, incoming, status)
            }
        }
    }

    fn plan_delete(&mut self, luid: String, policy: ConflictPolicy) -> Plan {
        let ok = StatusCode::Ok;
        let Some(href) = self.luid_to_href.get(&luid).cloned() else {
            // Already gone: nothing to do (libsynthesis answers 200 too).
            return Plan::Done(ok);
        };
        if policy != ConflictPolicy::ClientWins && self.deleted_unseen(&href) {
            // As a delete that meets a 412: the edit is kept and goes to the phone as
            // new (`resend_as_new`).
            tracing::info!(datastore = %self.key.datastore, %luid, %href, "the phone deleted an item before the newer version it answered 404 reached it: the item is kept");
            return Plan::Done(StatusCode::ConflictResolvedServerWins);
        }
        if !matches!(
            self.method,
            SyncMethod::TwoWay | SyncMethod::OneWayFromClient
        ) {
            // Only an explicit delete in a session whose anchors matched deletes upstream.
            return Plan::Done(ok);
        }
        let synced = self.map.get(&href).and_then(|e| e.etag.clone());
        let Some(etag) = synced.or_else(|| self.prev_etag(&href).cloned()) else {
            return Plan::Done(StatusCode::CommandFailed);
        };
        Plan::Delete { luid, href, etag }
    }

    fn settle(
        &mut self,
        plan: Plan,
        result: Result<Option<Written>, DavError>,
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
                let (phone_copy, sent_copy) = self.copy_in_step(&luid, &w.href);
                let entry = MapEntry {
                    phone_copy,
                    sent_copy,
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
                let (phone_copy, sent_copy) = self.copy_in_step(&luid, &href);
                let entry = MapEntry {
                    phone_copy,
                    sent_copy,
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
                StatusCode::Ok
            }
            (Plan::Delete { luid, href, .. }, Err(DavError::Conflict { .. })) => {
                // Changed upstream since the phone saw it: the server's version wins and
                // goes back to the phone as a new item.
                self.map.remove(&href);
                self.luid_to_href.remove(&luid);
                map_changes.push(MapChange::RemoveLuid(luid));
                self.send_back.insert(href);
                StatusCode::ConflictResolvedServerWins
            }
            (Plan::Delete { luid, href, .. }, Err(DavError::NotFound { .. })) => {
                // Gone already: the phone is not sent a delete of what it deleted.
                self.written.insert(href.clone(), None);
                self.map.remove(&href);
                self.luid_to_href.remove(&luid);
                map_changes.push(MapChange::RemoveLuid(luid));
                StatusCode::Ok
            }
            (Plan::Create { luid, .. }, Err(e @ DavError::Conflict { .. })) => {
                // The name is taken by another item: the intent must not point at it.
                tracing::warn!(datastore = %self.key.datastore, error = %e, "new item's name taken upstream");
                map_changes.push(MapChange::RemoveLuid(luid));
                self.failed = true;
                dav_status(&e)
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
                    Plan::Create { luid, .. } => {
                        map_changes.push(MapChange::RemoveLuid(luid));
                    }
                    Plan::Done(_) => {}
                }
                dav_status(&e)
            }
            (_, Err(e)) => {
                tracing::warn!(datastore = %self.key.datastore, error = %e, "upstream write failed");
                self.failed = true;
                dav_status(&e)
            }
            (Plan::Create { .. }, Ok(None)) => StatusCode::CommandFailed,
        }
    }
}

/// Runs one planned upstream operation.
pub(super) async fn execute<D: DavItems>(
    deps: &EngineDeps<D>,
    plan: Plan,
) -> (Plan, Result<Option<Written>, DavError>) {
    let result = match &plan {
        Plan::Done(_) => Ok(None),
        Plan::Create {
            collection,
            name,
            body,
            renameable,
            ..
        } => create(deps, collection, name, body, renameable.clone())
            .await
            .map(Some),
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

/// Tries to rename a new item whose name is taken, before giving up.
const RENAME_ATTEMPTS: usize = 3;

/// Creates a new item; one whose UID the bridge made is written again under a fresh
/// UID and name when its name is taken (two identical UID-less items from a phone).
async fn create<D: DavItems>(
    deps: &EngineDeps<D>,
    collection: &str,
    name: &str,
    body: &[u8],
    renameable: Option<Component>,
) -> Result<Written, DavError> {
    let ct = content_type_of(body);
    let first = deps.dav.create(collection, name, ct, body.to_vec()).await;
    let (Err(DavError::Conflict { .. }), Some(mut item)) = (&first, renameable) else {
        return first;
    };
    let mut last = first;
    for _ in 0..RENAME_ATTEMPTS {
        let uid = items::fresh_uid(&mut item);
        let name = items::resource_name(&uid, item.name == "VCARD");
        tracing::info!(%collection, %name, "new item's name taken upstream, written under a fresh one");
        last = deps
            .dav
            .create(collection, &name, ct, convert::dav_bytes(&item))
            .await;
        if !matches!(last, Err(DavError::Conflict { .. })) {
            break;
        }
    }
    last
}

fn content_type_of(body: &[u8]) -> &'static str {
    if body.starts_with(b"BEGIN:VCARD") {
        "text/vcard; charset=utf-8"
    } else {
        "text/calendar; charset=utf-8"
    }
}
