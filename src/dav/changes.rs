//! Change detection: one interface over sync-collection (RFC 6578), the Depth-1
//! `getetag` listing diffed against a snapshot, and the ctag / sync-token check.
//!
//! The state always keeps the etag snapshot, also when a sync token is used, so an
//! invalid or expired token falls back to a full listing whose diff still yields
//! exactly the changes (with deletions) the device has not seen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bodies;
use super::client::{ChangeDetection, DavRequest};
use super::error::DavError;
use super::href;
use super::multistatus::{self, MultiStatus};
use super::user::DavUser;
use super::xml::{CALSERVER, DAV};

/// Rounds of a truncated (507) sync-collection answer followed before giving up.
const MAX_SYNC_ROUNDS: usize = 1000;

/// What the engine stores per collection between sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeState {
    pub sync_token: Option<String>,
    pub ctag: Option<String>,
    /// href -> etag of every item at the time of the state.
    pub etags: BTreeMap<String, String>,
}

impl ChangeState {
    /// Records a write made by the bridge, so it is not reported back as a change.
    pub fn record_write(&mut self, href: &str, etag: &str) {
        self.etags.insert(href.to_owned(), etag.to_owned());
    }

    pub fn record_delete(&mut self, href: &str) {
        self.etags.remove(href);
    }

    /// Whether the collection tags `now` say something changed since this state: the
    /// sync tokens compared when both have one, else the ctags; true when neither can be.
    pub fn differs_from(&self, now: &ChangeState) -> bool {
        match (&self.sync_token, &now.sync_token, &self.ctag, &now.ctag) {
            (Some(old), Some(new), _, _) => old != new,
            (_, _, Some(old), Some(new)) => old != new,
            _ => true,
        }
    }
}

/// How the changes were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeMethod {
    /// A sync-collection REPORT from the stored token.
    SyncToken,
    /// A full listing (initial sync-collection, or the stored token was refused),
    /// diffed against the snapshot.
    FullListing,
    /// The Depth-1 `getetag` PROPFIND diffed against the snapshot.
    EtagDiff,
}

/// An item that is new or changed since the previous state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub href: String,
    /// Empty when the server sent no etag with the change; a read supplies it.
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub changed: Vec<Changed>,
    pub deleted: Vec<String>,
    /// The state to store once the session that used these changes completed.
    pub state: ChangeState,
    pub method: ChangeMethod,
}

/// The pure diff of two snapshots: items new or with another etag, and items gone.
pub fn diff(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (Vec<Changed>, Vec<String>) {
    let changed = new
        .iter()
        .filter(|(h, e)| old.get(*h) != Some(*e))
        .map(|(h, e)| Changed {
            href: h.clone(),
            etag: e.clone(),
        })
        .collect();
    let deleted = old
        .keys()
        .filter(|h| !new.contains_key(*h))
        .cloned()
        .collect();
    (changed, deleted)
}

/// Applies a sync-collection delta to a snapshot. Entries whose etag the snapshot
/// already holds (the bridge's own writes) are dropped from the reported changes.
pub fn apply_delta(
    old: &BTreeMap<String, String>,
    delta_changed: Vec<Changed>,
    delta_deleted: Vec<String>,
) -> (BTreeMap<String, String>, Vec<Changed>, Vec<String>) {
    let mut snapshot = old.clone();
    let mut changed = Vec::new();
    for c in delta_changed {
        if c.etag.is_empty() || snapshot.get(&c.href) != Some(&c.etag) {
            snapshot.insert(c.href.clone(), c.etag.clone());
            changed.push(c);
        }
    }
    let mut deleted = Vec::new();
    for h in delta_deleted {
        if snapshot.remove(&h).is_some() {
            deleted.push(h);
        }
    }
    (snapshot, changed, deleted)
}

/// The members of a collection listing: items only (no sub-collections, not itself).
fn members(collection: &str, ms: &MultiStatus) -> (Vec<Changed>, Vec<String>) {
    let mut present = Vec::new();
    let mut gone = Vec::new();
    for r in &ms.responses {
        if href::same_collection(&r.href, collection) || r.href.ends_with('/') {
            continue;
        }
        if r.is_gone() {
            gone.push(r.href.clone());
        } else {
            present.push(Changed {
                href: r.href.clone(),
                etag: r.prop_text(DAV, "getetag").unwrap_or_default(),
            });
        }
    }
    (present, gone)
}

/// Why a sync-collection REPORT did not give an answer.
enum SyncFailure {
    /// The server refused the token or the report (4xx/501): list in full instead.
    Refused(u16),
    Error(DavError),
}

impl DavUser {
    /// Changes in `collection` since `previous` (the default state for a first sync),
    /// by the method the config and the server allow.
    pub async fn changes(
        &self,
        collection: &str,
        previous: &ChangeState,
    ) -> Result<Changes, DavError> {
        if self.client.settings().change_detection == ChangeDetection::EtagDiff {
            return self.changes_by_etags(collection, previous).await;
        }
        if let Some(token) = previous.sync_token.as_deref() {
            match self.sync_collection(collection, Some(token)).await {
                Ok((delta_changed, delta_deleted, token)) => {
                    let (etags, changed, deleted) =
                        apply_delta(&previous.etags, delta_changed, delta_deleted);
                    return Ok(Changes {
                        changed,
                        deleted,
                        state: ChangeState {
                            sync_token: Some(token),
                            ctag: None,
                            etags,
                        },
                        method: ChangeMethod::SyncToken,
                    });
                }
                Err(SyncFailure::Refused(status)) => {
                    tracing::info!(collection, status, "sync token refused, listing in full");
                }
                Err(SyncFailure::Error(e)) => return Err(e),
            }
        }
        match self.sync_collection(collection, None).await {
            Ok((listing, _, token)) => {
                let etags: BTreeMap<String, String> =
                    listing.into_iter().map(|c| (c.href, c.etag)).collect();
                let (changed, deleted) = diff(&previous.etags, &etags);
                Ok(Changes {
                    changed,
                    deleted,
                    state: ChangeState {
                        sync_token: Some(token),
                        ctag: None,
                        etags,
                    },
                    method: ChangeMethod::FullListing,
                })
            }
            Err(SyncFailure::Refused(status)) => {
                tracing::debug!(collection, status, "no sync-collection, using etag listing");
                self.changes_by_etags(collection, previous).await
            }
            Err(SyncFailure::Error(e)) => Err(e),
        }
    }

    /// The Depth-1 `getetag` listing diffed against the snapshot. The collection's own
    /// ctag and sync token come in the same answer, for [`DavUser::has_changed`].
    pub async fn changes_by_etags(
        &self,
        collection: &str,
        previous: &ChangeState,
    ) -> Result<Changes, DavError> {
        let ms = self
            .propfind(
                self.url(collection)?,
                "1",
                &["D:getetag", "D:resourcetype", "CS:getctag", "D:sync-token"],
            )
            .await?;
        let own = ms.get(collection);
        let (listing, _) = members(collection, &ms);
        let etags: BTreeMap<String, String> =
            listing.into_iter().map(|c| (c.href, c.etag)).collect();
        let (changed, deleted) = diff(&previous.etags, &etags);
        Ok(Changes {
            changed,
            deleted,
            state: ChangeState {
                sync_token: own.and_then(|r| r.prop_text(DAV, "sync-token")),
                ctag: own.and_then(|r| r.prop_text(CALSERVER, "getctag")),
                etags,
            },
            method: ChangeMethod::EtagDiff,
        })
    }

    /// The cheap question, one Depth-0 PROPFIND: has anything changed since `state`?
    /// True when the server offers neither a sync token nor a ctag to compare.
    pub async fn has_changed(
        &self,
        collection: &str,
        state: &ChangeState,
    ) -> Result<bool, DavError> {
        Ok(state.differs_from(&self.current_tags(collection).await?))
    }

    /// The collection's sync token and ctag as they are now (one Depth-0 PROPFIND),
    /// as a state without a snapshot.
    pub async fn current_tags(&self, collection: &str) -> Result<ChangeState, DavError> {
        let ms = self
            .propfind(self.url(collection)?, "0", &["CS:getctag", "D:sync-token"])
            .await?;
        let own = ms.get(collection).or(ms.responses.first());
        Ok(ChangeState {
            sync_token: own.and_then(|r| r.prop_text(DAV, "sync-token")),
            ctag: own.and_then(|r| r.prop_text(CALSERVER, "getctag")),
            etags: BTreeMap::new(),
        })
    }

    /// One sync-collection exchange, following truncated answers (507 on the
    /// collection) with the token they return. Gives (present, gone, new token).
    async fn sync_collection(
        &self,
        collection: &str,
        token: Option<&str>,
    ) -> Result<(Vec<Changed>, Vec<String>, String), SyncFailure> {
        let url = self.url(collection).map_err(SyncFailure::Error)?;
        let mut token = token.map(str::to_owned);
        let mut present: BTreeMap<String, String> = BTreeMap::new();
        let mut gone: Vec<String> = Vec::new();
        for _ in 0..MAX_SYNC_ROUNDS {
            let req = DavRequest::new("REPORT", url.clone())
                .header("depth", "1")
                .map_err(SyncFailure::Error)?
                .xml(bodies::sync_collection(token.as_deref()));
            let resp = self.send(req).await.map_err(SyncFailure::Error)?;
            match resp.status.as_u16() {
                207 => {}
                s @ (400 | 403 | 405 | 409 | 412 | 415 | 422 | 501) => {
                    return Err(SyncFailure::Refused(s))
                }
                _ => return Err(SyncFailure::Error(resp.error("REPORT"))),
            }
            let ms = multistatus::parse(&url, &resp.body).map_err(SyncFailure::Error)?;
            let new_token = ms.sync_token.clone().ok_or_else(|| {
                SyncFailure::Error(DavError::Malformed {
                    url: url.to_string(),
                    message: "sync-collection answer without sync-token".into(),
                })
            })?;
            let truncated = ms.get(collection).is_some_and(|r| r.status == Some(507));
            let (p, g) = members(collection, &ms);
            for c in p {
                gone.retain(|h| *h != c.href);
                present.insert(c.href, c.etag);
            }
            for h in g {
                present.remove(&h);
                gone.push(h);
            }
            if !truncated || token.as_deref() == Some(new_token.as_str()) {
                let present = present
                    .into_iter()
                    .map(|(href, etag)| Changed { href, etag })
                    .collect();
                return Ok((present, gone, new_token));
            }
            token = Some(new_token);
        }
        Err(SyncFailure::Error(DavError::Malformed {
            url: url.to_string(),
            message: format!("sync-collection still truncated after {MAX_SYNC_ROUNDS} rounds"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(h, e)| (h.to_string(), e.to_string()))
            .collect()
    }

    #[test]
    fn diff_finds_new_changed_and_deleted() {
        let old = snap(&[("/c/a", "1"), ("/c/b", "1"), ("/c/d", "1")]);
        let new = snap(&[("/c/a", "1"), ("/c/b", "2"), ("/c/e", "1")]);
        let (changed, deleted) = diff(&old, &new);
        let hrefs: Vec<_> = changed.iter().map(|c| c.href.as_str()).collect();
        assert_eq!(hrefs, ["/c/b", "/c/e"]);
        assert_eq!(changed[0].etag, "2");
        assert_eq!(deleted, ["/c/d"]);
        let (changed, deleted) = diff(&new, &new);
        assert!(changed.is_empty() && deleted.is_empty());
        let (changed, deleted) = diff(&BTreeMap::new(), &new);
        assert_eq!(changed.len(), 3);
        assert!(deleted.is_empty());
    }

    #[test]
    fn delta_skips_own_writes_and_unknown_deletes() {
        let mut state = ChangeState {
            etags: snap(&[("/c/a", "1"), ("/c/b", "1")]),
            ..ChangeState::default()
        };
        state.record_write("/c/mine", "7");
        let (snapshot, changed, deleted) = apply_delta(
            &state.etags,
            vec![
                Changed {
                    href: "/c/mine".into(),
                    etag: "7".into(),
                },
                Changed {
                    href: "/c/a".into(),
                    etag: "2".into(),
                },
            ],
            vec!["/c/b".into(), "/c/never-seen".into()],
        );
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].href, "/c/a");
        assert_eq!(deleted, ["/c/b"]);
        assert_eq!(snapshot, snap(&[("/c/a", "2"), ("/c/mine", "7")]));
    }

    #[test]
    fn tags_compare_token_first_then_ctag() {
        let tags = |t: Option<&str>, c: Option<&str>| ChangeState {
            sync_token: t.map(Into::into),
            ctag: c.map(Into::into),
            etags: BTreeMap::new(),
        };
        assert!(!tags(Some("a"), Some("1")).differs_from(&tags(Some("a"), Some("2"))));
        assert!(tags(Some("a"), None).differs_from(&tags(Some("b"), None)));
        assert!(!tags(None, Some("1")).differs_from(&tags(Some("b"), Some("1"))));
        assert!(tags(None, None).differs_from(&tags(Some("b"), Some("1"))));
    }

    #[test]
    fn state_round_trips_through_json() {
        let state = ChangeState {
            sync_token: Some("http://radicale.org/ns/sync/x".into()),
            ctag: Some("\"3\"".into()),
            etags: snap(&[("/c/a", "\"1\"")]),
        };
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<ChangeState>(&text).unwrap(), state);
    }
}
