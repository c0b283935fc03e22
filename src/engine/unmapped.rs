//! Items the bridge sent to a phone whose Map it has not had yet, across sessions.
//! A change to an item the bridge cannot name waits for the Map instead of becoming a
//! copy, and is not sent again as new while its Map may still come; a Map that never
//! comes costs a slow sync; an item deleted upstream before its Map came is deleted on
//! the phone once the Map names its LUID. A Map that comes sessions late pairs items
//! whose fate the change lists read meanwhile may not show (a session that broke keeps
//! its old change state), so each is read again in the next two-way session.

use std::collections::HashMap;

use super::{dav_err, store_err, DatastoreRun, DavItems, EngineDeps, EngineError, ServerChange};
use crate::convert::fingerprint::Fingerprint;
use crate::convert::Component;
use crate::store::{DatastoreKey, DatastoreState, MapEntry, PhoneCopy};

#[derive(Debug, Default)]
pub(super) struct Unmapped {
    /// Server ids sent in an earlier session whose Map is still to come, with the
    /// digest of the copy sent.
    earlier: HashMap<String, Option<PhoneCopy>>,
}

impl Unmapped {
    pub fn load<D>(deps: &EngineDeps<D>, key: &DatastoreKey) -> Result<Self, EngineError> {
        let pending = deps.store.pending_maps(key).map_err(store_err(key))?;
        Ok(Unmapped {
            earlier: pending
                .into_iter()
                .map(|p| (p.server_id, p.phone_copy))
                .collect(),
        })
    }

    /// The phone starts afresh (a refresh from the server): no Map will come for what
    /// it held.
    pub fn forget_all<D>(deps: &EngineDeps<D>, key: &DatastoreKey) -> Result<(), EngineError> {
        let mut all = Self::load(deps, key)?;
        let ids: Vec<String> = all.earlier.drain().map(|(id, _)| id).collect();
        deps.store
            .remove_pending_maps(key, &ids)
            .map_err(store_err(key))
    }

    /// Whether an earlier session's items still wait for their Map.
    pub fn waiting(&self) -> bool {
        !self.earlier.is_empty()
    }

    /// The server item `href` is gone upstream: a pending entry for it is marked, so its
    /// Map, when it comes, leads to a Delete on the phone.
    pub fn gone_upstream<D>(
        &self,
        deps: &EngineDeps<D>,
        key: &DatastoreKey,
        href: &str,
        server_id: String,
    ) {
        let marked = match deps.store.pending_map(key, &server_id) {
            Ok(Some(p)) if p.href == href && !p.gone => {
                let gone = crate::store::PendingMap { gone: true, ..p };
                deps.store.put_pending_maps(key, &[gone])
            }
            Ok(_) => return,
            Err(e) => Err(e),
        };
        if let Err(e) = marked {
            tracing::warn!(datastore = %key.datastore, %href, error = %e, "cannot mark an unmapped item gone");
        }
    }

    /// Whether the item sent under `server_id` in an earlier session still waits for
    /// its Map.
    pub fn awaits(&self, server_id: &str) -> bool {
        self.earlier.contains_key(server_id)
    }

    /// The one item still waiting for its Map whose copy sent has digest `copy`.
    fn sent_as(&self, copy: &str) -> Option<String> {
        let mut hits = self
            .earlier
            .iter()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| c.whole == copy))
            .map(|(id, _)| id);
        let first = hits.next()?;
        // Two items sent alike cannot be told apart by their content.
        hits.next().is_none().then(|| first.clone())
    }

    /// Before the Map's pairs settle: the pairings they make. Among them, LUIDs whose
    /// item is gone upstream are added to the deletes the next session owes the phone,
    /// and those sent in an earlier session to the items it reads again (both stored
    /// at once).
    pub fn settle<D>(
        &mut self,
        deps: &EngineDeps<D>,
        key: &DatastoreKey,
        state: &mut DatastoreState,
        pairs: &[(String, String)],
    ) -> Result<Vec<MapEntry>, EngineError> {
        let mut owed = Vec::new();
        let mut late = Vec::new();
        let mut entries = Vec::new();
        for (server_id, luid) in pairs {
            let earlier = self.earlier.remove(server_id).is_some();
            if let Some(p) = deps
                .store
                .pending_map(key, server_id)
                .map_err(store_err(key))?
            {
                if p.gone {
                    owed.push(luid.clone());
                } else if earlier {
                    late.push(luid.clone());
                }
                entries.push(MapEntry {
                    luid: luid.clone(),
                    href: p.href,
                    etag: p.etag,
                    phone_copy: p.phone_copy,
                    sent_copy: None,
                });
            }
        }
        if owed.is_empty() && late.is_empty() {
            return Ok(entries);
        }
        let mut stored = deps
            .store
            .datastore_state(key)
            .map_err(store_err(key))?
            .unwrap_or_default();
        add_new(&mut stored.owed_deletes, &owed);
        add_new(&mut state.owed_deletes, &owed);
        add_new(&mut stored.late_mapped, &late);
        add_new(&mut state.late_mapped, &late);
        deps.store
            .put_datastore_state(key, &stored)
            .map_err(store_err(key))?;
        Ok(entries)
    }

    /// The session completed without the phone sending the Map of items from earlier
    /// sessions: it may have forgotten them, so the next session is slow, where
    /// matching pairs the phone's copies with the server's items. The entries stay for
    /// a Map sent after the end and for that slow sync's pairing; once a slow sync
    /// (`matched_all`) has judged every phone item they go.
    pub fn never_mapped<D>(
        &mut self,
        deps: &EngineDeps<D>,
        key: &DatastoreKey,
        matched_all: bool,
    ) -> Result<bool, EngineError> {
        if self.earlier.is_empty() {
            return Ok(false);
        }
        if !matched_all {
            tracing::info!(datastore = %key.datastore, count = self.earlier.len(), "Map never came: next session is slow");
            return Ok(true);
        }
        let ids: Vec<String> = self.earlier.drain().map(|(id, _)| id).collect();
        deps.store
            .remove_pending_maps(key, &ids)
            .map_err(store_err(key))?;
        Ok(false)
    }
}

fn add_new(list: &mut Vec<String>, luids: &[String]) {
    for l in luids {
        if !list.contains(l) {
            list.push(l.clone());
        }
    }
}

impl DatastoreRun {
    /// A slow sync's phone item under a LUID the bridge never learned, whose content is
    /// exactly what an earlier session sent and whose Map has not come: it is that item
    /// (a session broke before its Map), paired now as the Map would. Its href, if so.
    pub(super) fn pair_by_copy<D>(
        &mut self,
        deps: &EngineDeps<D>,
        luid: &str,
        copy: &str,
    ) -> Option<String> {
        let server_id = self.unmapped.sent_as(copy)?;
        self.pair_as_the_map_would(deps, server_id, luid)
    }

    /// A slow sync's phone item under a LUID the bridge never learned that has the
    /// identity (the same name, and the same numbers or addresses) of the copy sent of
    /// the one waiting item gone upstream since: the phone's copy of it, changed since.
    /// Paired as the Map would, so it is written again at its old href, where another
    /// phone's change of the same item lands too. Its href, if so.
    pub(super) fn pair_with_gone<D>(
        &mut self,
        deps: &EngineDeps<D>,
        luid: &str,
        copy: &Fingerprint,
    ) -> Option<String> {
        let index = self.index.as_ref()?;
        let mut gone = self
            .unmapped
            .earlier
            .iter()
            .filter(|(_, sent)| sent.as_ref().is_some_and(|s| same_card_identity(s, copy)))
            .filter(|(id, _)| match deps.store.pending_map(&self.key, id) {
                Ok(Some(p)) => !index.by_href.contains_key(&p.href),
                _ => false,
            })
            .map(|(id, _)| id.clone());
        let server_id = gone.next()?;
        // Two such items cannot be told apart.
        if gone.next().is_some() {
            return None;
        }
        tracing::info!(datastore = %self.key.datastore, %luid, "a changed copy of an item sent whose Map never came, gone upstream since: paired with it");
        self.pair_as_the_map_would(deps, server_id, luid)
    }

    /// Pairs `luid` with the item sent under `server_id`; its href.
    fn pair_as_the_map_would<D>(
        &mut self,
        deps: &EngineDeps<D>,
        server_id: String,
        luid: &str,
    ) -> Option<String> {
        if let Err(e) = self.apply_map(deps, &[(server_id, luid.to_owned())]) {
            tracing::warn!(datastore = %self.key.datastore, %luid, error = %e, "cannot pair a phone item with the item it was sent");
            return None;
        }
        self.luid_to_href.get(luid).cloned()
    }

    /// The pairs of a Map that still stand. A pair of an item sent in an earlier session
    /// whose LUID is by now paired with another item comes too late: the phone's item
    /// under that LUID reached the bridge since and was paired by what it holds (a slow
    /// sync found it new, the item sent being gone upstream). Its waiting entry goes.
    pub(super) fn pairs_still_open<D>(
        &mut self,
        deps: &EngineDeps<D>,
        pairs: &[(String, String)],
    ) -> Result<Vec<(String, String)>, EngineError> {
        let (stale, open): (Vec<_>, Vec<_>) = pairs.iter().cloned().partition(|(id, luid)| {
            self.unmapped.awaits(id)
                && self
                    .luid_to_href
                    .get(luid)
                    .is_some_and(|h| self.server_id(h) != *id)
        });
        if !stale.is_empty() {
            let ids: Vec<String> = stale
                .into_iter()
                .map(|(id, luid)| {
                    tracing::info!(datastore = %self.key.datastore, %luid, "a late Map names a phone item paired since with another item: the pair is dropped");
                    self.unmapped.earlier.remove(&id);
                    id
                })
                .collect();
            deps.store
                .remove_pending_maps(&self.key, &ids)
                .map_err(store_err(&self.key))?;
        }
        Ok(open)
    }

    /// Whether a phone change naming a LUID the bridge never learned may be of an item
    /// sent in an earlier session whose Map is still to come. In a two-way sync any such
    /// item may be; a slow sync has already tried to pair it with each, so only one that
    /// shares its identity but not its fields still may (a phone sends its lost Map at
    /// the end of the session). Any other is new.
    pub(super) fn may_await_map<D>(&self, deps: &EngineDeps<D>, incoming: &Component) -> bool {
        if !self.unmapped.waiting() {
            return false;
        }
        let Some(index) = &self.index else {
            return true;
        };
        index
            .namesakes(incoming, deps.opts.device_tz)
            .iter()
            .any(|it| self.unmapped.awaits(&self.server_id(&it.href)))
    }

    /// The phone's `incoming` may be its copy of an item awaiting its Map: in a session
    /// whose next one is slow, those items count as the phone's, so they are neither sent
    /// again over the phone's copy nor, in a refresh from the phone, deleted as items the
    /// phone lacks. The slow sync after sends any the phone turns out not to hold.
    pub(super) fn spare_awaited_namesakes<D>(
        &mut self,
        deps: &EngineDeps<D>,
        incoming: &Component,
    ) {
        let Some(index) = &self.index else {
            return;
        };
        let spared: Vec<String> = index
            .namesakes(incoming, deps.opts.device_tz)
            .iter()
            .filter(|it| self.unmapped.awaits(&self.server_id(&it.href)))
            .map(|it| it.href.clone())
            .collect();
        self.taken.extend(spared);
    }

    /// A slow sync's phone item under a LUID the bridge never learned that the matching
    /// rules pair with a server item sent in an earlier session whose Map has not come:
    /// the phone's copy of that item, changed since (else its copy would have paired it).
    /// Paired now as the Map would, so its changes are told from the server's by the copy
    /// sent. Its href, if so.
    pub(super) fn pair_by_match<D>(
        &mut self,
        deps: &EngineDeps<D>,
        luid: &str,
        incoming: &Component,
    ) -> Option<String> {
        let index = self.index.as_ref()?;
        let i = index.find(incoming, deps.opts.device_tz, &self.taken)?;
        let server_id = self.server_id(&index.items[i].href);
        if !self.unmapped.awaits(&server_id) {
            return None;
        }
        tracing::info!(datastore = %self.key.datastore, %luid, "a changed copy of an item sent whose Map never came: paired with it");
        self.pair_as_the_map_would(deps, server_id, luid)
    }

    /// Reads again the items a late Map paired (`late`, LUIDs) that this session did
    /// not already send or write: one gone upstream gets a Delete, one changed since it
    /// was sent goes again (`to_send`).
    pub(super) async fn verify_late_maps<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        late: Vec<String>,
        out: &mut Vec<ServerChange>,
        to_send: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        let pairs: Vec<(String, String)> = late
            .into_iter()
            .filter(|l| !self.forget_luids.contains(l))
            .filter_map(|l| {
                let h = self.luid_to_href.get(&l)?.clone();
                let settled = self.written.contains_key(&h) || to_send.contains(&h);
                (!settled).then_some((l, h))
            })
            .collect();
        if pairs.is_empty() {
            return Ok(());
        }
        let hrefs: Vec<String> = pairs.iter().map(|(_, h)| h.clone()).collect();
        let fetched = self.fetch(deps, &hrefs).await.map_err(dav_err(&self.key))?;
        for (luid, h) in pairs {
            match fetched.iter().find(|it| it.href == h) {
                None => {
                    tracing::info!(datastore = %self.key.datastore, %luid, href = %h, "an item paired by a late Map is gone upstream: deleted on the phone");
                    out.push(ServerChange::Delete { luid: luid.clone() });
                    self.forget_luids.push(luid);
                }
                Some(it) => {
                    let sent = self.map.get(&h).and_then(|e| e.etag.as_deref());
                    if it.etag.as_deref() != sent {
                        to_send.push(h);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a card's copy `sent` and `copy` name the same person by their digests: the
/// same name, and the same numbers or the same e-mail addresses.
fn same_card_identity(sent: &PhoneCopy, copy: &Fingerprint) -> bool {
    let same = |field: &str| {
        let a = sent.fields.get(field);
        a.is_some() && a == copy.fields.get(field)
    };
    same("VCARD/N") && (same("VCARD/TEL") || same("VCARD/EMAIL"))
}
