//! Writing items with preconditions: a create never replaces, an update or delete
//! only applies to the version the bridge last saw. A 412 becomes
//! [`DavError::Conflict`] for the engine to resolve.

use bytes::Bytes;

use super::client::{DavRequest, DavResponse};
use super::error::DavError;
use super::href;
use super::user::DavUser;
use super::xml::DAV;

/// Where and as what version an item was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The href the server stored the item under (it may differ from the one asked).
    pub href: String,
    pub etag: String,
}

impl DavUser {
    /// Creates `name` in `collection` with `If-None-Match: *`. A 412 (something is
    /// already there) is a conflict carrying the existing item's etag.
    pub async fn create(
        &self,
        collection: &str,
        name: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<Written, DavError> {
        let path = href::child(collection, name);
        let req = DavRequest::new("PUT", self.url(&path)?)
            .header("if-none-match", "*")?
            .header("content-type", content_type)?;
        let req = DavRequest {
            body: Some(body.into()),
            ..req
        };
        let resp = self.send(req).await?;
        self.finish_put(&path, resp).await
    }

    /// Replaces the item at `href` if it still has `etag` (`If-Match`).
    pub async fn update(
        &self,
        href: &str,
        etag: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<Written, DavError> {
        let path = href::canonical_path(href);
        let req = DavRequest::new("PUT", self.url(&path)?)
            .header("if-match", etag)?
            .header("content-type", content_type)?;
        let req = DavRequest {
            body: Some(body.into()),
            ..req
        };
        let resp = self.send(req).await?;
        self.finish_put(&path, resp).await
    }

    /// Deletes the item at `href` if it still has `etag`.
    pub async fn delete(&self, href: &str, etag: &str) -> Result<(), DavError> {
        let path = href::canonical_path(href);
        let req = DavRequest::new("DELETE", self.url(&path)?).header("if-match", etag)?;
        let resp = self.send(req).await?;
        match resp.status.as_u16() {
            200 | 202 | 204 => Ok(()),
            412 => Err(self.conflict(&path).await),
            _ => Err(resp.error("DELETE")),
        }
    }

    async fn finish_put(&self, path: &str, resp: DavResponse) -> Result<Written, DavError> {
        match resp.status.as_u16() {
            200 | 201 | 204 => {}
            412 => return Err(self.conflict(path).await),
            _ => return Err(resp.error("PUT")),
        }
        // A server may store the item elsewhere and say so in Location.
        let stored = match resp.header("location") {
            Some(loc) => href::resolve(&resp.url, loc)?,
            None => path.to_owned(),
        };
        let etag = match resp.header("etag") {
            Some(e) if stored == path => e.to_owned(),
            _ => self
                .current_etag(&stored)
                .await?
                .ok_or_else(|| DavError::Malformed {
                    url: stored.clone(),
                    message: "the server gives no etag for the stored item".into(),
                })?,
        };
        Ok(Written { href: stored, etag })
    }

    /// The conflict error for `path`, with the item's current etag when readable.
    async fn conflict(&self, path: &str) -> DavError {
        let current_etag = self.current_etag(path).await.ok().flatten();
        tracing::info!(href = path, "upstream precondition failed");
        DavError::Conflict {
            href: path.to_owned(),
            current_etag,
        }
    }

    /// The item's etag now, or None if it does not exist.
    pub async fn current_etag(&self, href: &str) -> Result<Option<String>, DavError> {
        let path = href::canonical_path(href);
        match self.propfind(self.url(&path)?, "0", &["D:getetag"]).await {
            Ok(ms) => Ok(ms
                .get(&path)
                .or(ms.responses.first())
                .and_then(|r| r.prop_text(DAV, "getetag"))),
            Err(DavError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
