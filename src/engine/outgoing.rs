//! The server's changes for the phone: which items go (by sync method), read and
//! converted to the phone's format, with pending maps for the new ones; and the change
//! state each collection moves to when the session completes.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::history::phone_copy;
use super::{
    dav_err, items, store_err, DatastoreRun, DavItems, EngineDeps, EngineError, ServerChange,
    SyncMethod,
};
use crate::convert::fingerprint;
use crate::convert::shaping::{self, ShapeNote};
use crate::convert::Component;
use crate::dav::{ChangeState, Changes, DavError};
use crate::store::{MapChange, MapEntry, PendingMap};

/// What goes to the phone, gathered before conversion.
#[derive(Default)]
struct Outgoing {
    /// Deletes, ahead of everything else.
    out: Vec<ServerChange>,
    /// hrefs whose server version goes to the phone, in order.
    to_send: Vec<String>,
    /// (etag, tree) of the hrefs already read.
    bodies: HashMap<String, (String, Component)>,
}

impl DatastoreRun {
    /// The server id an item is sent under: its href, or a digest when the phone keeps
    /// shorter ids.
    pub(super) fn server_id(&self, href: &str) -> String {
        if href.len() <= self.max_guid {
            return href.to_owned();
        }
        let digest = Sha256::digest(href.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        hex[..self.max_guid.clamp(4, 64)].to_owned()
    }

    /// The server's changes for the phone, converted to its format. Call once, after the
    /// phone's whole package was applied. Pending maps for the Adds are stored.
    pub async fn server_changes<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
    ) -> Result<Vec<ServerChange>, EngineError> {
        let result = self.server_changes_inner(deps).await;
        self.noting_failure(deps, result)
    }

    async fn server_changes_inner<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
    ) -> Result<Vec<ServerChange>, EngineError> {
        let mut o = Outgoing::default();
        match self.method {
            SyncMethod::TwoWay | SyncMethod::OneWayFromServer => {
                self.collect_changes(deps, &mut o).await?
            }
            SyncMethod::Slow | SyncMethod::OneWaySlowToClient | SyncMethod::RefreshFromServer => {
                self.collect_all(deps, &mut o).await?
            }
            SyncMethod::RefreshFromClient => {
                self.ensure_index(deps).await?;
                self.delete_untaken(deps).await?;
            }
            SyncMethod::ClientReset => {
                for i in 0..self.upstreams.len() {
                    let listing = self.changes_since_last(deps, i).await?;
                    self.upstreams[i].next = Some(listing.state);
                }
            }
            SyncMethod::OneWayFromClient => {
                let states = self.upstreams.iter().map(|u| u.prev.clone()).collect();
                self.settle_states(states);
            }
            SyncMethod::OneWaySlowToServer => {
                // Every phone item was matched against the whole collection: what the
                // phone lacks of it makes the next session slow (`left_apart`), so the
                // server is in step as of now. A change list from an older state would
                // miss deletes that state never knew of.
                self.ensure_index(deps).await?;
                if let Some(index) = &self.index {
                    let states = index.states.clone();
                    self.settle_states(states);
                }
            }
        }
        self.read_missing(deps, &mut o).await?;
        self.convert_for_phone(deps, o)
    }

    /// What changed in the `i`th collection since the last completed session.
    async fn changes_since_last<D: DavItems>(
        &self,
        deps: &EngineDeps<D>,
        i: usize,
    ) -> Result<Changes, EngineError> {
        let u = &self.upstreams[i];
        deps.dav
            .changes(&u.href, &u.prev)
            .await
            .map_err(dav_err(&self.key))
    }

    /// Two-way and one-way from the server: what changed upstream since the last
    /// session, less this session's own writes, plus what must undo a refused change.
    async fn collect_changes<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        o: &mut Outgoing,
    ) -> Result<(), EngineError> {
        o.out.extend(self.doomed_deletes());
        // Phone items whose server item went before their Map came, unless the phone's
        // change re-created the item this session.
        for luid in std::mem::take(&mut self.previous.owed_deletes) {
            let owed = self
                .luid_to_href
                .get(&luid)
                .is_some_and(|h| !self.written.contains_key(h));
            if owed && !self.forget_luids.contains(&luid) {
                o.out.push(ServerChange::Delete { luid: luid.clone() });
                self.forget_luids.push(luid);
            }
        }
        // Items a late Map paired are read again below rather than taken from the change
        // lists, which may list them only because they were new since the last
        // completed session: sent again as a Replace, the version the phone already
        // has would overwrite an edit it makes before its next session (SyncEvolution).
        let late: HashSet<String> = self
            .previous
            .late_mapped
            .iter()
            .filter_map(|l| self.luid_to_href.get(l).cloned())
            .collect();
        for i in 0..self.upstreams.len() {
            let changes = self.changes_since_last(deps, i).await?;
            for c in &changes.changed {
                // A Map of this session shows the phone holds this very version.
                let held = self
                    .mapped_now
                    .get(&c.href)
                    .is_some_and(|sent| sent.as_deref() == Some(c.etag.as_str()));
                if (late.contains(&c.href) || held) && !self.send_back.contains(&c.href) {
                    continue;
                }
                let echo = self
                    .written
                    .get(&c.href)
                    .is_some_and(|w| w.as_deref() == Some(c.etag.as_str()) || w.is_none());
                // Sent in an earlier session and its Map may still come: sent again as
                // new it could be a second copy. Once mapped it is read again; if the
                // Map never comes the next sync is slow and matching decides.
                let awaited = !self.map.contains_key(&c.href)
                    && self.unmapped.awaits(&self.server_id(&c.href));
                if (!echo || self.send_back.contains(&c.href)) && !awaited {
                    o.to_send.push(c.href.clone());
                }
            }
            for href in &changes.deleted {
                if self.written.contains_key(href) {
                    // Re-created this session by the phone's change: it lives on.
                    continue;
                }
                self.unmapped
                    .gone_upstream(deps, &self.key, href, self.server_id(href));
                if let Some(entry) = self.map.get(href) {
                    if self.forget_luids.contains(&entry.luid) {
                        // Already deleted on the phone this session.
                        continue;
                    }
                    if self.unsettled.contains(&entry.luid) {
                        // The phone's change to it comes again next session.
                        continue;
                    }
                    if self
                        .luid_to_href
                        .get(&entry.luid)
                        .is_some_and(|now| now != href)
                    {
                        // The phone's change re-created its item under a new href this
                        // session: the item lives on, on both sides.
                        continue;
                    }
                    o.out.push(ServerChange::Delete {
                        luid: entry.luid.clone(),
                    });
                    self.forget_luids.push(entry.luid.clone());
                }
            }
            self.upstreams[i].next = Some(changes.state);
        }
        let late = std::mem::take(&mut self.previous.late_mapped);
        self.verify_late_maps(deps, late, &mut o.out, &mut o.to_send)
            .await?;
        // Server versions that must undo a refused phone change, even where the
        // upstream did not change them, and those too large for the phone last time.
        let resend = self.resend_as_new();
        let listed: HashSet<&String> = o.to_send.iter().collect();
        let mut extra: Vec<String> = self
            .send_back
            .iter()
            .chain(self.previous.held_back.iter())
            .chain(resend.iter())
            .filter(|h| !listed.contains(h))
            .cloned()
            .collect();
        extra.dedup();
        extra.sort();
        o.to_send.extend(extra);
        Ok(())
    }

    /// The items the phone said it no longer holds: each goes as new under a fresh id,
    /// unless the phone's own change this session deleted or wrote it.
    fn resend_as_new(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for href in std::mem::take(&mut self.previous.resend) {
            if self.written.contains_key(&href) {
                continue;
            }
            let Some(entry) = self.map.get(&href) else {
                continue;
            };
            if self.luid_to_href.get(&entry.luid) != Some(&href) {
                continue;
            }
            if !self.forget_luids.contains(&entry.luid) {
                self.forget_luids.push(entry.luid.clone());
            }
            out.push(href);
        }
        out
    }

    /// Slow syncs and refreshes from the server: every server item the phone's items
    /// were not matched with (or that must go back anyway).
    async fn collect_all<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        o: &mut Outgoing,
    ) -> Result<(), EngineError> {
        self.ensure_index(deps).await?;
        // The phone sent all it holds: the slow sync's matching judges every pairing,
        // and every server item it lacks goes. A delete owed for an item gone upstream
        // is void: the phone sent its copy, which came back (a slow sync deletes
        // nothing), or it no longer holds it.
        self.previous.late_mapped.clear();
        self.previous.owed_deletes.clear();
        self.previous.resend.clear();
        o.out.extend(self.doomed_deletes());
        if let Some(index) = &self.index {
            for it in &index.items {
                if !self.taken.contains(&it.href) || self.send_back.contains(&it.href) {
                    o.to_send.push(it.href.clone());
                    // One this session wrote is read again: the index has its old version.
                    if !self.written.contains_key(&it.href) {
                        o.bodies
                            .insert(it.href.clone(), (it.etag.clone(), it.tree.clone()));
                    }
                }
            }
            let states = index.states.clone();
            self.settle_states(states);
        }
        if self.method == SyncMethod::Slow && !self.failed {
            // Pairings for items the phone no longer holds are stale; after a failure
            // an untaken pairing may be a phone item the upstream did not take.
            let stale: Vec<String> = self
                .map
                .values()
                .filter(|e| {
                    // A LUID re-created under a new href this session is not stale.
                    !self.taken.contains(&e.href)
                        && self.luid_to_href.get(&e.luid) == Some(&e.href)
                        && !self.forget_luids.contains(&e.luid)
                })
                .map(|e| e.luid.clone())
                .collect();
            self.forget_luids.extend(stale);
        }
        Ok(())
    }

    /// Reads the items to send that no listing brought along.
    async fn read_missing<D: DavItems>(
        &self,
        deps: &EngineDeps<D>,
        o: &mut Outgoing,
    ) -> Result<(), EngineError> {
        let missing: Vec<String> = o
            .to_send
            .iter()
            .filter(|h| !o.bodies.contains_key(*h))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let fetched = self
            .fetch(deps, &missing)
            .await
            .map_err(dav_err(&self.key))?;
        for item in fetched {
            match items::parse_dav(&item.data, &deps.opts) {
                Ok(tree) => {
                    o.bodies
                        .insert(item.href, (item.etag.unwrap_or_default(), tree));
                }
                Err(e) => {
                    tracing::warn!(href = %item.href, error = %e, "server item unreadable, not sent");
                }
            }
        }
        Ok(())
    }

    /// Converts the items to send: a Replace for a mapped item, else an Add under a
    /// server id whose pending map is stored.
    fn convert_for_phone<D>(
        &mut self,
        deps: &EngineDeps<D>,
        o: Outgoing,
    ) -> Result<Vec<ServerChange>, EngineError> {
        let Outgoing {
            mut out,
            to_send,
            bodies,
        } = o;
        let mut pending = Vec::new();
        let mut map_changes = Vec::new();
        let mut held_back = Vec::new();
        for href in to_send {
            let Some((etag, tree)) = bodies.get(&href) else {
                continue;
            };
            let shaped = self.shape_for_phone(&href, tree);
            let format = items::format_for_item(self.phone_format, tree);
            let data = match items::dav_to_phone(format, &shaped, &deps.opts) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(%href, error = %e, "server item not convertible for the phone");
                    continue;
                }
            };
            if let Some(limit) = self.phone_max_obj.filter(|&m| data.len() as u64 > m) {
                let uid = items::uid_of(tree).unwrap_or_default();
                tracing::warn!(datastore = %self.key.datastore, %href, %uid, size = data.len(), limit, "server item larger than the phone's MaxObjSize: not sent, offered again next session");
                held_back.push(super::HeldBack {
                    href: href.clone(),
                    size: data.len(),
                    limit,
                });
                continue;
            }
            let etag = (!etag.is_empty()).then(|| etag.clone());
            // The copy the phone will hold, as its own items are read.
            let phone_copy = items::phone_to_dav(format, &data, &deps.opts)
                .ok()
                .map(|t| phone_copy(&fingerprint::of(&t)));
            // A pairing a slow sync found stale names a LUID the phone no longer has:
            // the item goes as new.
            let paired = self
                .map
                .get(&href)
                .filter(|e| !self.forget_luids.contains(&e.luid));
            match paired {
                Some(entry) if self.unsettled.contains(&entry.luid) => {
                    tracing::info!(datastore = %self.key.datastore, luid = %entry.luid, %href, "the phone's change to the item failed upstream: the server's version waits for the next session");
                }
                Some(entry) => {
                    if format != self.phone_format {
                        self.item_formats.insert(entry.luid.clone(), format);
                    }
                    out.push(ServerChange::Replace {
                        luid: entry.luid.clone(),
                        data,
                    });
                    if let Some(copy) = &phone_copy {
                        self.sent_copies.insert(entry.luid.clone(), copy.clone());
                    }
                    // Until the phone acknowledges it, it holds the copy it had or this
                    // one; after two unacknowledged versions what it holds is not known.
                    // A version written this session and never sent does not count.
                    let fresh = self.written_views.contains_key(&entry.luid);
                    let (kept, sent) = match (&entry.phone_copy, &entry.sent_copy, phone_copy) {
                        (Some(kept), before, Some(sent))
                            if fresh || before.as_ref().is_none_or(|b| b.whole == sent.whole) =>
                        {
                            (Some(kept.clone()), Some(sent))
                        }
                        _ => (None, None),
                    };
                    map_changes.push(MapChange::Put(MapEntry {
                        etag,
                        phone_copy: kept,
                        sent_copy: sent,
                        ..entry.clone()
                    }));
                }
                None => {
                    let server_id = self.server_id(&href);
                    if format != self.phone_format {
                        self.item_formats.insert(server_id.clone(), format);
                    }
                    out.push(ServerChange::Add {
                        server_id: server_id.clone(),
                        data,
                    });
                    pending.push(PendingMap {
                        server_id,
                        href,
                        etag,
                        gone: false,
                        phone_copy,
                    });
                }
            }
        }
        // A session that sends nothing leaves the items held back for the next one.
        if !matches!(
            self.method,
            SyncMethod::OneWayFromClient | SyncMethod::OneWaySlowToServer
        ) {
            self.held_back = Some(held_back);
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

    /// The item as the phone's CTCap lets it be sent; what was cut or left out is logged
    /// (the server keeps its whole value: the merge knows the shaped form when it comes back).
    fn shape_for_phone(&self, href: &str, tree: &Component) -> Component {
        if !shaping::applies(&self.cap) {
            return tree.clone();
        }
        let shaped = shaping::shape(&self.cap, tree);
        for note in &shaped.notes {
            match note {
                ShapeNote::Truncated { name, len, max } => {
                    tracing::info!(datastore = %self.key.datastore, %href, property = %name, len, max, "value cut to the phone's MaxSize; the server keeps the whole value");
                }
                ShapeNote::TooLongNoTruncate { name, len, max } => {
                    tracing::info!(datastore = %self.key.datastore, %href, property = %name, len, max, "value longer than the phone's MaxSize and the phone declares NoTruncate: not sent, the server keeps it");
                }
                ShapeNote::NotInValEnum { name, value } => {
                    tracing::info!(datastore = %self.key.datastore, %href, property = %name, %value, "value not among the phone's ValEnum: not sent, the server keeps it");
                }
            }
        }
        shaped.item
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
    async fn delete_untaken<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
    ) -> Result<(), EngineError> {
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
}
