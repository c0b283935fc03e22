//! What a map entry remembers of the last exchange of an item with the phone: the etag
//! the server's version had and the digest of the copy the phone had. With it the
//! bridge tells which side changed an item since, instead of guessing:
//! - the phone's copy is unchanged (a slow sync sends everything it holds; a session
//!   that broke sends its change again): whatever happened upstream since is newer, so
//!   the server's version goes to the phone, and an item deleted upstream is deleted on
//!   the phone instead of coming back;
//! - in a slow sync, only the phone's copy changed: it is merged in as a two-way sync's
//!   change is, so a value the phone replaced does not survive beside the new one.
//!
//! When both changed, or nothing is remembered, the usual rules apply: a two-way
//! sync's conflict policy, a slow sync's union.

use std::collections::{HashMap, HashSet};

use super::incoming::Plan;
use super::{
    convert_status, items, store_err, DatastoreRun, EngineDeps, EngineError, ServerChange,
    SyncMethod,
};
use crate::convert::capability::Capability;
use crate::convert::fingerprint::{self, Fingerprint};
use crate::convert::three_way::{self, Sides};
use crate::convert::{merge, shaping, union, Component};
use crate::dav::href;
use crate::store::{MapChange, MapEntry, PhoneCopy};
use crate::syncml::codes::StatusCode;

/// A phone's change to a mapped item, with what is known of its copies.
pub(super) struct Change<'a> {
    pub luid: String,
    pub href: String,
    pub etag: String,
    pub incoming: &'a Component,
    /// The copy the phone sends now.
    pub copy: &'a Fingerprint,
    /// The copies it may hold from the last exchange, the newest last.
    pub bases: &'a [PhoneCopy],
}

/// The copies the phone may hold of a mapped item: the one confirmed, and the version
/// sent since without an acknowledgement; `None` when that is not known.
pub(super) fn copies_held(entry: &MapEntry) -> Option<Vec<PhoneCopy>> {
    let kept = entry.phone_copy.clone()?;
    Some(
        std::iter::once(kept)
            .chain(entry.sent_copy.clone())
            .collect(),
    )
}

/// The rule for a field both sides changed.
pub(super) enum BothChanged {
    /// A slow sync: neither is newer, both values are kept where the field holds many.
    Unite,
    /// The merge conflict policy: the phone's value for each field it sent.
    PhoneFields,
}

/// What the server holds now at a mapped href.
pub(super) enum ServerNow {
    Holds {
        etag: String,
    },
    Gone,
    /// Listed but unreadable: nothing is concluded from it.
    Unknown,
}

impl DatastoreRun {
    /// What the server holds at `href`: from the slow sync's index, else from the
    /// items read for this message (`current`, and `gone`: asked for, not there).
    pub(super) fn server_now(
        &self,
        href: &str,
        current: &HashMap<String, (String, Component)>,
        gone: &HashSet<String>,
    ) -> ServerNow {
        if let Some(index) = &self.index {
            return match index.by_href.get(href) {
                Some(&i) => ServerNow::Holds {
                    etag: index.items[i].etag.clone(),
                },
                None if index.states.iter().any(|s| s.etags.contains_key(href)) => {
                    ServerNow::Unknown
                }
                None => ServerNow::Gone,
            };
        }
        match current.get(href) {
            Some((etag, _)) => ServerNow::Holds { etag: etag.clone() },
            None if gone.contains(href) => ServerNow::Gone,
            None => ServerNow::Unknown,
        }
    }

    /// The plan for the phone's copy `luid` (digest `copy`) of the item mapped at
    /// `href`, when the map entry tells which side changed it; `None` for the usual
    /// rules.
    pub(super) fn plan_by_history(
        &mut self,
        luid: &str,
        href: &str,
        copy: &Fingerprint,
        incoming: &Component,
        now: ServerNow,
        ok: StatusCode,
    ) -> Option<Plan> {
        let entry = self.map.get(href)?;
        if self.taken.contains(href) {
            return None;
        }
        // No digest: the last exchange was not confirmed in step, so nothing is
        // concluded. With one, the phone holds it or the version sent since.
        let bases = copies_held(entry)?;
        let phone_unchanged = bases.iter().any(|b| b.whole == copy.whole);
        // The version the map's etag names is the newest copy.
        let holds_newest = bases.last().is_some_and(|b| b.whole == copy.whole);
        let sent_since = entry.sent_copy.is_some();
        let synced = entry.etag.clone();
        match now {
            ServerNow::Unknown => None,
            // A collection gone and rediscovered says nothing about its items: they are
            // written anew like any other phone item.
            ServerNow::Gone if !phone_unchanged || !self.reads_collection_of(href) => None,
            // A refresh from the phone restores what the server lost: the phone's copy
            // is written again, never deleted from the phone.
            ServerNow::Gone if self.method == SyncMethod::RefreshFromClient => None,
            ServerNow::Gone => {
                tracing::info!(datastore = %self.key.datastore, %luid, %href, "the phone's copy is unchanged and the item was deleted upstream: deleted on the phone");
                if !self.doomed.iter().any(|d| d == luid) {
                    self.doomed.push(luid.to_owned());
                }
                Some(Plan::Done(ok))
            }
            ServerNow::Holds { etag } => {
                let server_unchanged = synced.as_deref() == Some(etag.as_str());
                if phone_unchanged {
                    self.taken.insert(href.to_owned());
                    if !server_unchanged || !holds_newest {
                        tracing::info!(datastore = %self.key.datastore, %luid, %href, "the phone's copy is unchanged and the server's changed since: the server's goes to the phone");
                        self.send_back.insert(href.to_owned());
                    }
                    return Some(Plan::Done(ok));
                }
                // Where the phone sends all it holds and its items are written, both
                // sides' changes are told apart by the copy the phone had.
                if !matches!(
                    self.method,
                    SyncMethod::Slow | SyncMethod::OneWaySlowToServer
                ) {
                    return None;
                }
                let index = self.index.as_ref()?;
                let tree = index.items[*index.by_href.get(href)?].tree.clone();
                let (luid, href) = (luid.to_owned(), href.to_owned());
                if server_unchanged && !sent_since {
                    // Only the phone changed it: its change goes upstream as in a two-way sync.
                    self.taken.insert(href.clone());
                    return Some(self.plan_merge(luid, href, etag, &tree, incoming, ok, false));
                }
                if bases.iter().any(|b| b.fields.is_empty()) {
                    return None;
                }
                self.taken.insert(href.clone());
                let change = Change {
                    luid,
                    href,
                    etag,
                    incoming,
                    copy,
                    bases: &bases,
                };
                Some(self.plan_three_way(change, &tree, BothChanged::Unite, ok))
            }
        }
    }

    /// Both sides changed the item since the phone's copy `change.bases`: each field comes
    /// from the side that changed it, and a field both changed by `both`.
    pub(super) fn plan_three_way(
        &mut self,
        change: Change<'_>,
        server: &Component,
        both: BothChanged,
        status: StatusCode,
    ) -> Plan {
        let Change {
            luid,
            href,
            etag,
            incoming,
            copy,
            bases,
        } = change;
        let Some(view) = self.phone_view(server) else {
            return self.plan_union(luid, href, etag, server, incoming);
        };
        let phone_change = merge::merge(server, incoming, &self.cap);
        let both_changed = match both {
            BothChanged::Unite => union::unite(server, incoming),
            BothChanged::PhoneFields => merge::merge(server, incoming, &Capability::unknown()),
        };
        let (phone_change, both_changed) = match (phone_change, both_changed) {
            (Ok(p), Ok(b)) => (p, b),
            (Err(e), _) | (_, Err(e)) => {
                tracing::info!(datastore = %self.key.datastore, %luid, error = %e, "cannot merge");
                return Plan::Done(convert_status(&e));
            }
        };
        let sides = Sides {
            bases: bases.iter().map(|b| &b.fields).collect(),
            phone: &copy.fields,
            server: &view.fields,
        };
        let result = three_way::pick(server, &phone_change, &both_changed, &sides);
        tracing::info!(datastore = %self.key.datastore, %luid, %href, "both sides changed the item: each field from the side that changed it");
        if union::phone_lacks(&result, incoming, &self.cap) {
            self.send_back.insert(href.clone());
        }
        self.plan_write(luid, href, etag, server, result, status)
    }

    /// Whether the phone answered the last version sent of `href` with 404 (it had
    /// deleted the item) and that version holds what the phone never had: its delete
    /// then did not see it.
    pub(super) fn deleted_unseen(&self, href: &str) -> bool {
        if !self.previous.resend.iter().any(|h| h == href) {
            return false;
        }
        let Some(entry) = self.map.get(href) else {
            return false;
        };
        match (&entry.phone_copy, &entry.sent_copy) {
            (Some(held), Some(sent)) => held.whole != sent.whole,
            _ => true,
        }
    }

    /// The server's version `tree` as the phone would hold it once sent.
    pub(super) fn phone_view(&self, tree: &Component) -> Option<Fingerprint> {
        let shaped = if shaping::applies(&self.cap) {
            shaping::shape(&self.cap, tree).item
        } else {
            tree.clone()
        };
        let format = items::format_for_item(self.phone_format, tree);
        let data = items::dav_to_phone(format, &shaped, &self.opts).ok()?;
        let back = items::phone_to_dav(format, &data, &self.opts).ok()?;
        Some(fingerprint::of(&back))
    }

    /// The copies the phone may hold of `luid` once its change is written at `href`:
    /// the one it sent, and the version written when that must go back to it (the
    /// phone holds it only once it arrives).
    pub(super) fn copy_in_step(
        &mut self,
        luid: &str,
        href: &str,
    ) -> (Option<PhoneCopy>, Option<PhoneCopy>) {
        let Some(copy) = self.phone_copies.remove(luid) else {
            return (None, None);
        };
        if !self.send_back.contains(href) {
            return (Some(copy), None);
        }
        match self.written_views.get(luid) {
            Some(view) => (Some(copy), Some(view.clone())),
            None => (None, None),
        }
    }

    /// The phone acknowledged the Replace sent to `luid`: the copy it holds is the one
    /// sent.
    pub(super) fn confirm_copy(&mut self, luid: &str) {
        if let Some(copy) = self
            .sent_copies
            .remove(luid)
            .filter(|_| !self.unsettled.contains(luid))
        {
            self.confirmed_copies.push((luid.to_owned(), copy));
        }
    }

    /// Stores the digests of the copies the phone acknowledged (the session completed).
    pub(super) fn store_confirmed_copies<D>(
        &mut self,
        deps: &EngineDeps<D>,
    ) -> Result<(), EngineError> {
        let mut changes = Vec::new();
        for (luid, copy) in std::mem::take(&mut self.confirmed_copies) {
            let entry = deps
                .store
                .map_by_luid(&self.key, &luid)
                .map_err(store_err(&self.key))?;
            if let Some(e) = entry {
                changes.push(MapChange::Put(MapEntry {
                    phone_copy: Some(copy),
                    sent_copy: None,
                    ..e
                }));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        deps.store
            .apply_map(&self.key, &changes)
            .map_err(store_err(&self.key))
    }

    /// The Deletes for the unchanged copies of items deleted upstream; their map entries
    /// go when the session completes.
    pub(super) fn doomed_deletes(&mut self) -> Vec<ServerChange> {
        let doomed = std::mem::take(&mut self.doomed);
        let mut out = Vec::with_capacity(doomed.len());
        for luid in doomed {
            if !self.forget_luids.contains(&luid) {
                self.forget_luids.push(luid.clone());
            }
            out.push(ServerChange::Delete { luid });
        }
        out
    }

    /// Whether `h` is a resource of a collection this run reads.
    fn reads_collection_of(&self, h: &str) -> bool {
        self.split_in_read_collection(h).is_some()
    }

    /// `h` as (collection, name), when the collection is one this run reads (not one
    /// gone and rediscovered under another href).
    pub(super) fn split_in_read_collection(&self, h: &str) -> Option<(String, String)> {
        href::split(h).filter(|(c, _)| {
            self.upstreams
                .iter()
                .any(|u| href::same_collection(&u.href, c))
        })
    }
}

/// What the map keeps of a copy's fingerprint.
pub(super) fn phone_copy(f: &Fingerprint) -> PhoneCopy {
    PhoneCopy {
        whole: f.whole.clone(),
        fields: f.fields.clone(),
    }
}
