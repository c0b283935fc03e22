//! An in-memory CalDAV/CardDAV server behind [`DavItems`], for running the engine
//! without a network: the engine's unit tests and the sync simulator use it.
//!
//! It keeps what the durability rules depend on: every write gets a fresh etag, each
//! collection has a sync token that moves with every change, `If-None-Match: *` and
//! `If-Match` fail with a 412 ([`DavError::Conflict`]), and an item or a whole collection
//! can be told to refuse writes with a status (403 read-only, 400 rejected data...).
//! Other clients' edits are made with [`MemoryDav::put`] and [`MemoryDav::remove`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use super::DavItems;
use crate::dav::{
    diff, href, ChangeMethod, ChangeState, Changes, DataKind, DavError, Fetched, Item, Written,
};

/// One stored resource.
#[derive(Debug, Clone)]
struct Resource {
    etag: String,
    data: String,
}

#[derive(Debug, Default)]
struct Collection {
    items: BTreeMap<String, Resource>,
    /// Bumped on every change; the sync token is `mem-<collection>-<version>`.
    version: u64,
}

#[derive(Debug, Default)]
struct Server {
    collections: BTreeMap<String, Collection>,
    /// hrefs (items or collections) whose writes are refused, with the HTTP status.
    refusals: HashMap<String, u16>,
    next_etag: u64,
    /// Write requests received (create, update, delete), refused or not.
    writes: usize,
    /// hrefs another client edits just before the bridge's next writes to them land:
    /// the data it stores and how many more writes it races.
    races: HashMap<String, (String, usize)>,
}

impl Server {
    fn fresh_etag(&mut self) -> String {
        self.next_etag += 1;
        format!("\"{}\"", self.next_etag)
    }

    /// The collection holding `href`: the longest collection path it starts with.
    fn collection_of(&self, href: &str) -> Option<String> {
        self.collections
            .keys()
            .filter(|c| href.starts_with(c.as_str()) && href.len() > c.len())
            .max_by_key(|c| c.len())
            .cloned()
    }

    fn collection_mut(&mut self, path: &str) -> Result<&mut Collection, DavError> {
        self.collections
            .get_mut(path)
            .ok_or_else(|| DavError::NotFound {
                url: path.to_owned(),
            })
    }

    /// The refusal configured for a write to `href` (its own, else its collection's).
    fn refusal(&self, method: &str, href: &str) -> Option<DavError> {
        let status = self.refusals.get(href).copied().or_else(|| {
            self.collection_of(href)
                .and_then(|c| self.refusals.get(&c).copied())
        })?;
        let url = href.to_owned();
        let method = method.to_owned();
        Some(match status {
            403 => DavError::Forbidden { method, url },
            404 | 410 => DavError::NotFound { url },
            500..=599 => DavError::ServerError {
                method,
                url,
                status,
            },
            _ => DavError::UnexpectedStatus {
                method,
                url,
                status,
            },
        })
    }

    fn store(&mut self, href: &str, data: String) -> Result<Written, DavError> {
        let etag = self.fresh_etag();
        let path = self.collection_of(href).ok_or_else(|| DavError::NotFound {
            url: href.to_owned(),
        })?;
        let c = self.collection_mut(&path)?;
        c.items.insert(
            href.to_owned(),
            Resource {
                etag: etag.clone(),
                data,
            },
        );
        c.version += 1;
        Ok(Written {
            href: href.to_owned(),
            etag,
        })
    }

    /// Another client's edit landing between the bridge's read and its write.
    fn race(&mut self, href: &str) {
        let Some((data, left)) = self.races.get_mut(href) else {
            return;
        };
        *left -= 1;
        let data = data.clone();
        if *left == 0 {
            self.races.remove(href);
        }
        // The href is an item of a known collection: storing cannot fail here.
        let _ = self.store(href, data);
    }

    fn current_etag(&self, href: &str) -> Option<String> {
        let c = self.collections.get(&self.collection_of(href)?)?;
        c.items.get(href).map(|r| r.etag.clone())
    }

    fn conflict(&self, href: &str) -> DavError {
        DavError::Conflict {
            href: href.to_owned(),
            current_etag: self.current_etag(href),
        }
    }

    fn create(&mut self, collection: &str, name: &str, body: Vec<u8>) -> Result<Written, DavError> {
        self.writes += 1;
        let path = href::child(&dir(collection), name);
        if let Some(e) = self.refusal("PUT", &path) {
            return Err(e);
        }
        self.collection_mut(&dir(collection))?;
        self.race(&path);
        if self.current_etag(&path).is_some() {
            return Err(self.conflict(&path));
        }
        self.store(&path, text(body))
    }

    fn update(&mut self, href: &str, etag: &str, body: Vec<u8>) -> Result<Written, DavError> {
        self.writes += 1;
        if let Some(e) = self.refusal("PUT", href) {
            return Err(e);
        }
        self.race(href);
        if self.current_etag(href).as_deref() != Some(etag) {
            return Err(self.conflict(href));
        }
        self.store(href, text(body))
    }

    fn delete(&mut self, href: &str, etag: &str) -> Result<(), DavError> {
        self.writes += 1;
        if let Some(e) = self.refusal("DELETE", href) {
            return Err(e);
        }
        self.race(href);
        match self.current_etag(href) {
            None => Err(DavError::NotFound {
                url: href.to_owned(),
            }),
            Some(current) if current != etag => Err(self.conflict(href)),
            Some(_) => {
                let path = self.collection_of(href).unwrap_or_default();
                let c = self.collection_mut(&path)?;
                c.items.remove(href);
                c.version += 1;
                Ok(())
            }
        }
    }

    fn changes(&self, collection: &str, previous: &ChangeState) -> Result<Changes, DavError> {
        let path = dir(collection);
        let c = self
            .collections
            .get(&path)
            .ok_or_else(|| DavError::NotFound { url: path.clone() })?;
        let etags: BTreeMap<String, String> = c
            .items
            .iter()
            .map(|(h, r)| (h.clone(), r.etag.clone()))
            .collect();
        let (changed, deleted) = diff(&previous.etags, &etags);
        let prefix = format!("mem-{path}-");
        let method = match &previous.sync_token {
            Some(t) if t.starts_with(&prefix) => ChangeMethod::SyncToken,
            _ => ChangeMethod::FullListing,
        };
        Ok(Changes {
            changed,
            deleted,
            state: ChangeState {
                sync_token: Some(format!("{prefix}{}", c.version)),
                ctag: None,
                etags,
            },
            method,
        })
    }

    fn multiget(&self, collection: &str, hrefs: &[String]) -> Result<Fetched, DavError> {
        let path = dir(collection);
        let c = self
            .collections
            .get(&path)
            .ok_or_else(|| DavError::NotFound { url: path.clone() })?;
        let mut out = Fetched::default();
        for h in hrefs {
            match c.items.get(h) {
                Some(r) => out.items.push(Item {
                    href: h.clone(),
                    etag: Some(r.etag.clone()),
                    data: r.data.clone(),
                }),
                None => out.missing.push(h.clone()),
            }
        }
        Ok(out)
    }
}

/// A collection path with its trailing slash.
fn dir(collection: &str) -> String {
    format!("{}/", collection.trim_end_matches('/'))
}

fn text(body: Vec<u8>) -> String {
    String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The in-memory server. Clones share the same contents.
#[derive(Debug, Clone, Default)]
pub struct MemoryDav {
    inner: Arc<Mutex<Server>>,
}

impl MemoryDav {
    pub fn new() -> Self {
        MemoryDav::default()
    }

    fn lock(&self) -> MutexGuard<'_, Server> {
        // A panicking test thread leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an empty collection at `path` (e.g. `/dav/alice/calendar/`).
    pub fn add_collection(&self, path: &str) {
        self.lock().collections.entry(dir(path)).or_default();
    }

    /// Stores `data` at `href` as another client would, without preconditions; returns
    /// the new etag.
    pub fn put(&self, href: &str, data: &str) -> Result<String, DavError> {
        self.lock().store(href, data.to_owned()).map(|w| w.etag)
    }

    /// Deletes `href` as another client would; whether it existed.
    pub fn remove(&self, href: &str) -> bool {
        let mut s = self.lock();
        let Some(path) = s.collection_of(href) else {
            return false;
        };
        let Some(c) = s.collections.get_mut(&path) else {
            return false;
        };
        let found = c.items.remove(href).is_some();
        if found {
            c.version += 1;
        }
        found
    }

    /// The (etag, data) stored at `href`.
    pub fn get(&self, href: &str) -> Option<(String, String)> {
        let s = self.lock();
        let c = s.collections.get(&s.collection_of(href)?)?;
        c.items.get(href).map(|r| (r.etag.clone(), r.data.clone()))
    }

    /// The hrefs of a collection, sorted.
    pub fn hrefs(&self, collection: &str) -> Vec<String> {
        let s = self.lock();
        s.collections
            .get(&dir(collection))
            .map(|c| c.items.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// From now on writes to `href` (an item, or every item of a collection) fail
    /// with `status`: 403 for a read-only calendar, 400 or 415 for rejected data.
    pub fn refuse(&self, href: &str, status: u16) {
        self.lock().refusals.insert(href.to_owned(), status);
    }

    /// Another client stores `data` at `href` just before each of the bridge's next
    /// `times` writes to it lands, so each meets a failed precondition (412) as with a
    /// real edit between the bridge's read and its write.
    pub fn race_next_writes(&self, href: &str, data: &str, times: usize) {
        if times > 0 {
            self.lock()
                .races
                .insert(href.to_owned(), (data.to_owned(), times));
        }
    }

    /// Write requests received so far (create, update and delete).
    pub fn writes(&self) -> usize {
        self.lock().writes
    }
}

impl DavItems for MemoryDav {
    fn changes(
        &self,
        collection: &str,
        previous: &ChangeState,
    ) -> impl Future<Output = Result<Changes, DavError>> + Send {
        let r = self.lock().changes(collection, previous);
        async move { r }
    }

    fn multiget(
        &self,
        collection: &str,
        _kind: DataKind,
        hrefs: &[String],
    ) -> impl Future<Output = Result<Fetched, DavError>> + Send {
        let r = self.lock().multiget(collection, hrefs);
        async move { r }
    }

    fn create(
        &self,
        collection: &str,
        name: &str,
        _content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send {
        let r = self.lock().create(collection, name, body);
        async move { r }
    }

    fn update(
        &self,
        href: &str,
        etag: &str,
        _content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send {
        let r = self.lock().update(href, etag, body);
        async move { r }
    }

    fn delete(&self, href: &str, etag: &str) -> impl Future<Output = Result<(), DavError>> + Send {
        let r = self.lock().delete(href, etag);
        async move { r }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAL: &str = "/cal/";

    #[tokio::test]
    async fn listings_follow_writes_with_moving_tokens() {
        let dav = MemoryDav::new();
        dav.add_collection(CAL);
        let first = dav.changes(CAL, &ChangeState::default()).await.unwrap();
        assert_eq!(first.method, ChangeMethod::FullListing);
        assert!(first.changed.is_empty());
        let w = dav
            .create(CAL, "a.ics", "text/calendar", b"A".to_vec())
            .await
            .unwrap();
        assert_eq!(w.href, "/cal/a.ics");
        let second = dav.changes(CAL, &first.state).await.unwrap();
        assert_eq!(second.method, ChangeMethod::SyncToken);
        assert_ne!(second.state.sync_token, first.state.sync_token);
        assert_eq!(second.changed.len(), 1);
        assert_eq!(second.changed[0].etag, w.etag);
        assert!(dav.remove(&w.href));
        let third = dav.changes(CAL, &second.state).await.unwrap();
        assert_eq!(third.deleted, vec![w.href.clone()]);
        let read = dav
            .multiget(CAL, DataKind::Calendar, std::slice::from_ref(&w.href))
            .await
            .unwrap();
        assert_eq!(read.missing, vec![w.href]);
    }

    #[tokio::test]
    async fn preconditions_and_refusals() {
        let dav = MemoryDav::new();
        dav.add_collection(CAL);
        let etag = dav.put("/cal/a.ics", "A").unwrap();
        let taken = dav.create(CAL, "a.ics", "text/calendar", Vec::new()).await;
        assert!(
            matches!(taken, Err(DavError::Conflict { current_etag: Some(ref e), .. }) if *e == etag)
        );
        let stale = dav.delete("/cal/a.ics", "\"old\"").await;
        assert!(matches!(stale, Err(DavError::Conflict { .. })));
        let w = dav
            .update("/cal/a.ics", &etag, "text/calendar", b"B".to_vec())
            .await
            .unwrap();
        assert_eq!(dav.get("/cal/a.ics"), Some((w.etag.clone(), "B".into())));
        dav.refuse("/cal/a.ics", 403);
        let refused = dav.delete("/cal/a.ics", &w.etag).await;
        assert!(matches!(refused, Err(DavError::Forbidden { .. })));
        let gone = dav.changes("/nowhere/", &ChangeState::default()).await;
        assert!(matches!(gone, Err(DavError::NotFound { .. })));
        assert_eq!(dav.writes(), 4);
    }
}
