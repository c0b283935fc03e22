//! Items the bridge sent to a phone whose Map it has not had yet, across sessions.
//! A change to an item the bridge cannot name waits for the Map instead of becoming a
//! copy; a Map that never comes costs a slow sync; an item deleted upstream before its
//! Map came is deleted on the phone once the Map names its LUID.

use std::collections::HashSet;

use super::{store_err, EngineDeps, EngineError};
use crate::store::{DatastoreKey, DatastoreState, MapEntry};

#[derive(Debug, Default)]
pub(super) struct Unmapped {
    /// Server ids sent in an earlier session whose Map is still to come.
    earlier: HashSet<String>,
}

impl Unmapped {
    pub fn load<D>(deps: &EngineDeps<D>, key: &DatastoreKey) -> Result<Self, EngineError> {
        let pending = deps.store.pending_maps(key).map_err(store_err(key))?;
        Ok(Unmapped {
            earlier: pending.into_iter().map(|p| p.server_id).collect(),
        })
    }

    /// The phone starts afresh (a refresh from the server): no Map will come for what
    /// it held.
    pub fn forget_all<D>(deps: &EngineDeps<D>, key: &DatastoreKey) -> Result<(), EngineError> {
        let mut all = Self::load(deps, key)?;
        let ids: Vec<String> = all.earlier.drain().collect();
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

    /// Before the Map's pairs settle: the pairings they make, and the LUIDs among them
    /// whose item is gone upstream added to the deletes the next session owes the phone
    /// (stored at once).
    pub fn settle<D>(
        &mut self,
        deps: &EngineDeps<D>,
        key: &DatastoreKey,
        state: &mut DatastoreState,
        pairs: &[(String, String)],
    ) -> Result<Vec<MapEntry>, EngineError> {
        let mut owed = Vec::new();
        let mut entries = Vec::new();
        for (server_id, luid) in pairs {
            self.earlier.remove(server_id);
            if let Some(p) = deps
                .store
                .pending_map(key, server_id)
                .map_err(store_err(key))?
            {
                if p.gone {
                    owed.push(luid.clone());
                }
                entries.push(MapEntry {
                    luid: luid.clone(),
                    href: p.href,
                    etag: p.etag,
                });
            }
        }
        if owed.is_empty() {
            return Ok(entries);
        }
        let mut stored = deps
            .store
            .datastore_state(key)
            .map_err(store_err(key))?
            .unwrap_or_default();
        for luid in owed {
            if !stored.owed_deletes.contains(&luid) {
                stored.owed_deletes.push(luid.clone());
            }
            if !state.owed_deletes.contains(&luid) {
                state.owed_deletes.push(luid);
            }
        }
        deps.store
            .put_datastore_state(key, &stored)
            .map_err(store_err(key))?;
        Ok(entries)
    }

    /// The session completed without the phone sending the Map of items from earlier
    /// sessions: the phone has forgotten them, so their entries go and the next session
    /// is slow, where matching pairs the phone's copies with the server's items.
    pub fn never_mapped<D>(
        &mut self,
        deps: &EngineDeps<D>,
        key: &DatastoreKey,
    ) -> Result<bool, EngineError> {
        if self.earlier.is_empty() {
            return Ok(false);
        }
        let ids: Vec<String> = self.earlier.drain().collect();
        tracing::info!(datastore = %key.datastore, count = ids.len(), "Map never came: next session is slow");
        deps.store
            .remove_pending_maps(key, &ids)
            .map_err(store_err(key))?;
        Ok(true)
    }
}
