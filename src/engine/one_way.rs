//! One-way syncs that run slow (the anchors did not match): the phone sends every item,
//! but only one side takes the other's. What that leaves apart, an item one side lacks
//! or a phone edit the server's version would overwrite, makes the next session slow,
//! where both sides are matched and united; nothing is lost in between.

use super::history::copies_held;
use super::SyncMethod;
use super::{items, store_err, DatastoreRun, DavItems, EngineDeps, EngineError, PhoneChange};
use crate::convert::fingerprint;
use crate::store::{MapChange, MapEntry};
use crate::syncml::codes::StatusCode;

impl DatastoreRun {
    /// Sessions that write nothing upstream. In a one-way slow sync to the phone the
    /// phone's items are matched to learn their LUIDs; the server's version of a match
    /// goes to the phone only where it overwrites no edit of the phone's.
    pub(super) async fn match_without_writing<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        changes: Vec<PhoneChange>,
    ) -> Result<Vec<StatusCode>, EngineError> {
        let mut statuses = Vec::with_capacity(changes.len());
        if self.method == SyncMethod::OneWaySlowToClient {
            self.ensure_index(deps).await?;
        }
        let mut map_changes = Vec::new();
        for c in changes {
            statuses.push(StatusCode::Ok);
            let (PhoneChange::Add { luid, format, data }
            | PhoneChange::Replace { luid, format, data }) = &c
            else {
                continue;
            };
            if self.index.is_none() {
                continue;
            }
            let Ok(tree) = items::phone_to_dav(*format, data, &deps.opts) else {
                continue;
            };
            let copy = fingerprint::of(&tree);
            // Its LUID's pairing first: identity matching misses an item the phone
            // edited. A copy of an item whose Map never came pairs as in a slow sync.
            let mut known = self.luid_to_href.get(luid).cloned();
            if known.is_none() && self.unmapped.waiting() {
                known = self
                    .pair_by_copy(deps, luid, &copy.whole)
                    .or_else(|| self.pair_by_match(deps, luid, &tree));
            }
            let Some(index) = self.index.as_ref() else {
                continue;
            };
            let paired = known.and_then(|h| index.by_href.get(&h).copied());
            let found = paired.or_else(|| index.find(&tree, deps.opts.device_tz, &self.taken));
            let Some(i) = found else {
                if self.may_await_map(deps, &tree) {
                    // A changed copy of an item sent whose Map is still due: that item is
                    // not sent again over it; the next, slow, sync pairs them.
                    self.spare_awaited_namesakes(deps, &tree);
                }
                tracing::info!(datastore = %self.key.datastore, %luid, "one-way slow sync: a phone item the server lacks waits for the next sync, which is slow");
                self.left_apart = true;
                continue;
            };
            let it = &index.items[i];
            let (href, server_tree) = (it.href.clone(), it.tree.clone());
            self.taken.insert(href.clone());
            let entry = self.map.get(&href).filter(|e| e.luid == *luid);
            let unchanged = entry
                .and_then(copies_held)
                .is_some_and(|held| held.iter().any(|h| h.whole == copy.whole));
            let same = self
                .phone_view(&server_tree)
                .is_some_and(|v| v.whole == copy.whole);
            if !same {
                if unchanged {
                    // The phone did not touch it: the server's version is newer.
                    self.send_back.insert(href.clone());
                } else {
                    tracing::info!(datastore = %self.key.datastore, %luid, %href, "one-way slow sync: the phone's differing item is not overwritten; the next sync is slow");
                    self.left_apart = true;
                }
            }
            if entry.is_none() {
                map_changes.push(MapChange::Put(MapEntry {
                    luid: luid.clone(),
                    href: href.clone(),
                    etag: None,
                    phone_copy: None,
                    sent_copy: None,
                }));
                self.luid_to_href.insert(luid.clone(), href);
            }
        }
        if !map_changes.is_empty() {
            deps.store
                .apply_map(&self.key, &map_changes)
                .map_err(store_err(&self.key))?;
        }
        Ok(statuses)
    }

    /// Whether this session left the two sides apart in a way no two-way sync repairs:
    /// a one-way slow sync to the server sends nothing back, so a server item the phone
    /// lacks, or a union the phone lacks part of, would never reach it.
    pub(super) fn left_apart(&self) -> bool {
        if self.left_apart {
            return true;
        }
        if self.method != SyncMethod::OneWaySlowToServer {
            return false;
        }
        let untaken = self
            .index
            .as_ref()
            .is_some_and(|ix| ix.items.iter().any(|it| !self.taken.contains(&it.href)));
        if untaken || !self.send_back.is_empty() {
            tracing::info!(datastore = %self.key.datastore, "one-way slow sync to the server: the phone lacks server items; the next sync is slow");
            return true;
        }
        false
    }
}
