//! The upstream the simulated bridge talks to: the in-memory DAV server behind the
//! session's [`UpstreamSource`] seam, with the faults a schedule arms (a 5xx on the n-th
//! request, another client's edit just before the n-th write so its precondition fails).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use syncml_bridge::dav::{
    ChangeState, Changes, Collection, CollectionType, Credentials, DataKind, DavError, Discovery,
    Fetched, ItemKind, Login, Written,
};
use syncml_bridge::engine::memory_dav::MemoryDav;
use syncml_bridge::engine::upstream::BoxFuture;
use syncml_bridge::engine::{DavItems, UpstreamSource, UserDav, UserUpstream};

use crate::model::{parse, Author, Card, Model};

pub const COLLECTION: &str = "/dav/alice/contacts/";

/// Faults armed for the requests to come.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// The n-th request from now fails with 503.
    pub fail_request: Option<u32>,
    /// Just before the n-th update or delete from now, another client edits its item.
    pub edit_before_write: Option<u32>,
}

#[derive(Default)]
struct State {
    armed: Armed,
    /// The phone whose refresh runs: the bridge's deletes are its deletes.
    deleting_for: Option<usize>,
}

/// The simulated upstream: the server's contents, the model they are judged by, the faults.
#[derive(Clone)]
pub struct SimUpstream {
    pub dav: MemoryDav,
    pub model: Arc<Mutex<Model>>,
    state: Arc<Mutex<State>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimUpstream {
    pub fn new(model: Arc<Mutex<Model>>) -> Self {
        let dav = MemoryDav::new();
        dav.add_collection(COLLECTION);
        SimUpstream {
            dav,
            model,
            state: Arc::default(),
        }
    }

    pub fn arm(&self, armed: Armed) {
        lock(&self.state).armed = armed;
    }

    pub fn disarm(&self) {
        lock(&self.state).armed = Armed::default();
    }

    pub fn deleting_for(&self, phone: Option<usize>) {
        lock(&self.state).deleting_for = phone;
    }

    /// Logs a delete the bridge made for a phone's refresh: it removes what the server
    /// held, whether the phone had seen it or not.
    fn log_refresh_delete(&self, removed: Option<Card>) {
        let phone = lock(&self.state).deleting_for;
        if let (Some(p), Some(card)) = (phone, removed) {
            lock(&self.model).delete(card.k, card.tags(), Author::Phone(p));
        }
    }

    /// The server's cards by href (unreadable ones as errors).
    pub fn cards(&self) -> Vec<(String, Result<Card, String>)> {
        self.dav
            .hrefs(COLLECTION)
            .into_iter()
            .filter_map(|h| self.dav.get(&h).map(|(_, data)| (h, parse(&data))))
            .collect()
    }

    /// Another client adds a new person.
    pub fn other_add(&self) {
        let mut m = lock(&self.model);
        let k = m.new_person();
        let tag = m.write(k, (true, true), BTreeSet::new(), Author::Server);
        let card = Card::new(k, Some(tag), Some(tag));
        let href = format!("{COLLECTION}other-{k}.vcf");
        let _ = self.dav.put(&href, &card.vcard30());
    }

    /// Another client edits the `pick`-th item (e-mail and note).
    pub fn other_edit(&self, pick: usize) {
        let hrefs = self.dav.hrefs(COLLECTION);
        if hrefs.is_empty() {
            return;
        }
        self.edit_href(&hrefs[pick % hrefs.len()]);
    }

    fn edit_href(&self, href: &str) {
        let Some((_, data)) = self.dav.get(href) else {
            return;
        };
        let Ok(card) = parse(&data) else { return };
        let mut m = lock(&self.model);
        let tag = m.write(card.k, (true, true), card.tags(), Author::Server);
        let new = Card::new(card.k, Some(tag), Some(tag));
        let _ = self.dav.put(href, &new.vcard30());
    }

    /// Another client deletes the `pick`-th item.
    pub fn other_delete(&self, pick: usize) {
        let hrefs = self.dav.hrefs(COLLECTION);
        if hrefs.is_empty() {
            return;
        }
        let href = &hrefs[pick % hrefs.len()];
        let Some((_, data)) = self.dav.get(href) else {
            return;
        };
        if let Ok(card) = parse(&data) {
            lock(&self.model).delete(card.k, card.tags(), Author::Server);
        }
        self.dav.remove(href);
    }

    /// Counts a request against the armed 5xx.
    fn request(&self, method: &str, url: &str) -> Result<(), DavError> {
        let mut s = lock(&self.state);
        match s.armed.fail_request {
            Some(1) => {
                s.armed.fail_request = None;
                Err(DavError::ServerError {
                    method: method.into(),
                    url: url.into(),
                    status: 503,
                })
            }
            Some(n) => {
                s.armed.fail_request = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a write against the armed edit, and makes the edit when it is due.
    fn before_write(&self, href: &str) {
        let due = {
            let mut s = lock(&self.state);
            match s.armed.edit_before_write {
                Some(1) => {
                    s.armed.edit_before_write = None;
                    true
                }
                Some(n) => {
                    s.armed.edit_before_write = Some(n - 1);
                    false
                }
                None => false,
            }
        };
        if due {
            self.edit_href(href);
        }
    }
}

impl UserUpstream for SimUpstream {
    fn changes<'a>(
        &'a self,
        collection: &'a str,
        previous: &'a ChangeState,
    ) -> BoxFuture<'a, Result<Changes, DavError>> {
        Box::pin(async move {
            self.request("REPORT", collection)?;
            self.dav.changes(collection, previous).await
        })
    }

    fn multiget<'a>(
        &'a self,
        collection: &'a str,
        kind: DataKind,
        hrefs: &'a [String],
    ) -> BoxFuture<'a, Result<Fetched, DavError>> {
        Box::pin(async move {
            self.request("REPORT", collection)?;
            self.dav.multiget(collection, kind, hrefs).await
        })
    }

    fn create<'a>(
        &'a self,
        collection: &'a str,
        name: &'a str,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Written, DavError>> {
        Box::pin(async move {
            self.request("PUT", name)?;
            self.dav.create(collection, name, content_type, body).await
        })
    }

    fn update<'a>(
        &'a self,
        href: &'a str,
        etag: &'a str,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Written, DavError>> {
        Box::pin(async move {
            self.request("PUT", href)?;
            self.before_write(href);
            self.dav.update(href, etag, content_type, body).await
        })
    }

    fn delete<'a>(&'a self, href: &'a str, etag: &'a str) -> BoxFuture<'a, Result<(), DavError>> {
        Box::pin(async move {
            self.request("DELETE", href)?;
            self.before_write(href);
            let removed = self.dav.get(href).and_then(|(_, d)| parse(&d).ok());
            DavItems::delete(&self.dav, href, etag).await?;
            self.log_refresh_delete(removed);
            Ok(())
        })
    }

    fn discover(&self) -> BoxFuture<'_, Result<Discovery, DavError>> {
        Box::pin(async move {
            Ok(Discovery {
                collections: vec![contacts()],
                ..Discovery::default()
            })
        })
    }

    fn collection_for(&self, kind: ItemKind) -> BoxFuture<'_, Result<Collection, DavError>> {
        Box::pin(async move {
            match kind {
                ItemKind::Contacts => Ok(contacts()),
                _ => Err(DavError::NotFound {
                    url: kind.key().into(),
                }),
            }
        })
    }

    fn configured_collection(&self, _kind: ItemKind) -> Result<Option<String>, DavError> {
        Ok(None)
    }
}

fn contacts() -> Collection {
    Collection {
        href: COLLECTION.into(),
        displayname: Some("Contacts".into()),
        kind: CollectionType::AddressBook,
        components: Vec::new(),
        ctag: None,
        sync_token: None,
        reports: vec!["sync-collection".into()],
    }
}

impl UpstreamSource for SimUpstream {
    fn user(&self, _creds: &Credentials) -> UserDav {
        UserDav::Source(Arc::new(self.clone()))
    }

    fn login_is_remembered(&self, _creds: &Credentials) -> bool {
        true
    }

    fn check_login<'a>(
        &'a self,
        _creds: &'a Credentials,
    ) -> BoxFuture<'a, Result<Login, DavError>> {
        Box::pin(async { Ok(Login::Accepted) })
    }
}
