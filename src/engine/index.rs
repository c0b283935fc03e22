//! The slow-sync index: every server item of the run's collections, read once and keyed
//! by href, UID and content so the phone's items find their server twins.

use std::collections::{HashMap, HashSet};

use super::{dav_err, items, DatastoreRun, DavItems, EngineDeps, EngineError};
use chrono_tz::Tz;

use crate::convert::matching::{disagreement, same_item_keyed};
use crate::convert::matchkey::{match_key, MatchKey};
use crate::convert::Component;
use crate::dav::ChangeState;

/// A server item held for slow-sync matching.
#[derive(Debug, Clone)]
pub(super) struct ServerItem {
    pub(super) href: String,
    pub(super) etag: String,
    pub(super) tree: Component,
    pub(super) key: MatchKey,
}

/// All server items of the collection, indexed for matching.
#[derive(Debug, Default)]
pub(super) struct ServerIndex {
    pub(super) items: Vec<ServerItem>,
    pub(super) by_href: HashMap<String, usize>,
    by_uid: HashMap<String, usize>,
    by_content: HashMap<String, Vec<usize>>,
    /// The listings' change states (taken before this session's writes), one per
    /// upstream collection of the run, in the same order.
    pub(super) states: Vec<ChangeState>,
}

impl ServerIndex {
    /// The server items that share the phone's `item`'s identity (its UID, or its
    /// identity key), whether or not their fields agree.
    pub(super) fn namesakes(&self, item: &Component, zone: Tz) -> Vec<&ServerItem> {
        let key = &match_key(item, zone);
        let by_uid = key.uid.as_ref().and_then(|u| self.by_uid.get(u)).copied();
        let by_content = self.by_content.get(&key.content).into_iter().flatten();
        by_uid
            .into_iter()
            .chain(
                by_content
                    .copied()
                    .filter(|&i| self.items[i].key.matches(key)),
            )
            .map(|i| &self.items[i])
            .collect()
    }

    /// The server item that is the same item as the phone's `item`, of those not yet
    /// paired: by UID, else by identity key and fields that agree. `zone` reads floating
    /// times.
    pub(super) fn find(
        &self,
        item: &Component,
        zone: Tz,
        taken: &HashSet<String>,
    ) -> Option<usize> {
        let key = &match_key(item, zone);
        if let Some(&i) = key.uid.as_ref().and_then(|u| self.by_uid.get(u)) {
            if !taken.contains(&self.items[i].href) {
                return Some(i);
            }
        }
        self.by_content
            .get(&key.content)?
            .iter()
            .copied()
            .find(|&i| {
                let it = &self.items[i];
                if taken.contains(&it.href) {
                    return false;
                }
                let same = same_item_keyed(&it.tree, &it.key, item, key, zone);
                if !same && it.key.matches(key) {
                    // Worth a line: the user may wonder why a namesake became a second item.
                    let field = disagreement(&it.tree, item, zone).unwrap_or("UID");
                    tracing::info!(href = %it.href, field, "same identity, but a field disagrees: kept apart");
                }
                same
            })
    }
}

impl DatastoreRun {
    /// Lists and reads every server item once (slow syncs, refreshes).
    pub(super) async fn ensure_index<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
    ) -> Result<(), EngineError> {
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
}
