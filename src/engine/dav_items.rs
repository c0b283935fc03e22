//! The upstream operations the engine uses, as a trait: the real client implements it,
//! and so does the in-memory server ([`super::memory_dav`]) the engine's tests and the
//! sync simulator run against.

use std::future::Future;

use crate::dav::{ChangeState, Changes, DataKind, DavError, DavUser, Fetched, Written};

/// Item-level access to one user's collections, with the preconditions the durability
/// rules rely on: a create never replaces, an update or delete applies only to the
/// version last seen, and a failed precondition is [`DavError::Conflict`].
pub trait DavItems: Send + Sync {
    /// Changes in `collection` since `previous` (the default state lists everything).
    fn changes(
        &self,
        collection: &str,
        previous: &ChangeState,
    ) -> impl Future<Output = Result<Changes, DavError>> + Send;

    /// Reads `hrefs` of `collection`; the ones gone are listed as missing.
    fn multiget(
        &self,
        collection: &str,
        kind: DataKind,
        hrefs: &[String],
    ) -> impl Future<Output = Result<Fetched, DavError>> + Send;

    /// Creates `name` in `collection` (`If-None-Match: *`).
    fn create(
        &self,
        collection: &str,
        name: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send;

    /// Replaces `href` if it still has `etag` (`If-Match`).
    fn update(
        &self,
        href: &str,
        etag: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send;

    /// Deletes `href` if it still has `etag` (`If-Match`).
    fn delete(&self, href: &str, etag: &str) -> impl Future<Output = Result<(), DavError>> + Send;
}

impl DavItems for DavUser {
    fn changes(
        &self,
        collection: &str,
        previous: &ChangeState,
    ) -> impl Future<Output = Result<Changes, DavError>> + Send {
        DavUser::changes(self, collection, previous)
    }

    fn multiget(
        &self,
        collection: &str,
        kind: DataKind,
        hrefs: &[String],
    ) -> impl Future<Output = Result<Fetched, DavError>> + Send {
        DavUser::multiget(self, collection, kind, hrefs)
    }

    fn create(
        &self,
        collection: &str,
        name: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send {
        DavUser::create(self, collection, name, content_type, body)
    }

    fn update(
        &self,
        href: &str,
        etag: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Written, DavError>> + Send {
        DavUser::update(self, href, etag, content_type, body)
    }

    fn delete(&self, href: &str, etag: &str) -> impl Future<Output = Result<(), DavError>> + Send {
        DavUser::delete(self, href, etag)
    }
}
