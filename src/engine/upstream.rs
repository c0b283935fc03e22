//! Where a session's upstream comes from. In the server every user gets a [`DavUser`] of
//! the process-wide [`DavClient`], called directly. Any other [`UpstreamSource`] (the
//! sync simulator's in-memory server with its faults) plugs in behind the same calls
//! through [`UserDav::Source`], so the session and the engine run unchanged against it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::DavItems;
use crate::dav::{
    ChangeState, Changes, Collection, Credentials, DataKind, DavClient, DavError, DavUser,
    Discovery, Fetched, ItemKind, Login, Written,
};

/// A boxed future, so an upstream can sit behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One user's upstream as a trait object: the item operations of [`DavItems`] and the
/// collection lookups a session makes before its first item.
pub trait UserUpstream: Send + Sync {
    fn changes<'a>(
        &'a self,
        collection: &'a str,
        previous: &'a ChangeState,
    ) -> BoxFuture<'a, Result<Changes, DavError>>;
    fn multiget<'a>(
        &'a self,
        collection: &'a str,
        kind: DataKind,
        hrefs: &'a [String],
    ) -> BoxFuture<'a, Result<Fetched, DavError>>;
    fn create<'a>(
        &'a self,
        collection: &'a str,
        name: &'a str,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Written, DavError>>;
    fn update<'a>(
        &'a self,
        href: &'a str,
        etag: &'a str,
        content_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<Written, DavError>>;
    fn delete<'a>(&'a self, href: &'a str, etag: &'a str) -> BoxFuture<'a, Result<(), DavError>>;
    fn discover(&self) -> BoxFuture<'_, Result<Discovery, DavError>>;
    fn collection_for(&self, kind: ItemKind) -> BoxFuture<'_, Result<Collection, DavError>>;
    fn configured_collection(&self, kind: ItemKind) -> Result<Option<String>, DavError>;
}

/// Makes each session's upstream and checks log-ins against it.
pub trait UpstreamSource: Send + Sync {
    fn user(&self, creds: &Credentials) -> UserDav;
    /// Whether these credentials were accepted so recently that checking costs nothing.
    fn login_is_remembered(&self, creds: &Credentials) -> bool;
    fn check_login<'a>(&'a self, creds: &'a Credentials) -> BoxFuture<'a, Result<Login, DavError>>;
}

impl UpstreamSource for DavClient {
    fn user(&self, creds: &Credentials) -> UserDav {
        UserDav::Dav(DavClient::user(self, creds.clone()))
    }

    fn login_is_remembered(&self, creds: &Credentials) -> bool {
        DavClient::user(self, creds.clone()).login_is_remembered()
    }

    fn check_login<'a>(&'a self, creds: &'a Credentials) -> BoxFuture<'a, Result<Login, DavError>> {
        let user = DavClient::user(self, creds.clone());
        Box::pin(async move { user.check_login().await })
    }
}

/// A session's upstream: the real client, called directly, or another source's.
#[derive(Clone)]
pub enum UserDav {
    Dav(DavUser),
    Source(Arc<dyn UserUpstream>),
}

impl UserDav {
    /// The real client, for what only it can do (backups to WebDAV files).
    pub fn dav_user(&self) -> Option<&DavUser> {
        match self {
            UserDav::Dav(u) => Some(u),
            UserDav::Source(_) => None,
        }
    }

    pub async fn discover(&self) -> Result<Discovery, DavError> {
        match self {
            UserDav::Dav(u) => u.discover().await,
            UserDav::Source(s) => s.discover().await,
        }
    }

    pub async fn collection_for(&self, kind: ItemKind) -> Result<Collection, DavError> {
        match self {
            UserDav::Dav(u) => u.collection_for(kind).await,
            UserDav::Source(s) => s.collection_for(kind).await,
        }
    }

    pub fn configured_collection(&self, kind: ItemKind) -> Result<Option<String>, DavError> {
        match self {
            UserDav::Dav(u) => u.configured_collection(kind),
            UserDav::Source(s) => s.configured_collection(kind),
        }
    }
}

impl DavItems for UserDav {
    async fn changes(&self, collection: &str, previous: &ChangeState) -> Result<Changes, DavError> {
        match self {
            UserDav::Dav(u) => u.changes(collection, previous).await,
            UserDav::Source(s) => s.changes(collection, previous).await,
        }
    }

    async fn multiget(
        &self,
        collection: &str,
        kind: DataKind,
        hrefs: &[String],
    ) -> Result<Fetched, DavError> {
        match self {
            UserDav::Dav(u) => u.multiget(collection, kind, hrefs).await,
            UserDav::Source(s) => s.multiget(collection, kind, hrefs).await,
        }
    }

    async fn create(
        &self,
        collection: &str,
        name: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Written, DavError> {
        match self {
            UserDav::Dav(u) => u.create(collection, name, content_type, body).await,
            UserDav::Source(s) => s.create(collection, name, content_type, body).await,
        }
    }

    async fn update(
        &self,
        href: &str,
        etag: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Written, DavError> {
        match self {
            UserDav::Dav(u) => u.update(href, etag, content_type, body).await,
            UserDav::Source(s) => s.update(href, etag, content_type, body).await,
        }
    }

    async fn delete(&self, href: &str, etag: &str) -> Result<(), DavError> {
        match self {
            UserDav::Dav(u) => DavItems::delete(u, href, etag).await,
            UserDav::Source(s) => s.delete(href, etag).await,
        }
    }
}
