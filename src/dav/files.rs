//! Plain WebDAV files, for device backups: a folder (MKCOL) and a file in it (PUT).

use bytes::Bytes;

use super::client::DavRequest;
use super::collections::Created;
use super::error::DavError;
use super::href;
use super::user::DavUser;

impl DavUser {
    /// Creates a plain collection at `path`; an existing one is fine.
    pub async fn mkcol(&self, path: &str) -> Result<Created, DavError> {
        let resp = self
            .send(DavRequest::new(
                "MKCOL",
                self.url(&href::canonical_path(path))?,
            ))
            .await?;
        match resp.status.as_u16() {
            200 | 201 => Ok(Created::Created),
            405 => Ok(Created::AlreadyExists),
            _ => Err(resp.error("MKCOL")),
        }
    }

    /// Stores a file at `folder`/`name`, replacing an older one (backups are
    /// written whole). Returns the file's href and its etag when the server gave one.
    pub async fn put_file(
        &self,
        folder: &str,
        name: &str,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<(String, Option<String>), DavError> {
        let path = href::child(&href::canonical_path(folder), name);
        let req = DavRequest::new("PUT", self.url(&path)?).header("content-type", content_type)?;
        let req = DavRequest {
            body: Some(body.into()),
            ..req
        };
        let resp = self.send(req).await?;
        if !resp.status.is_success() {
            return Err(resp.error("PUT"));
        }
        Ok((path, resp.header("etag").map(str::to_owned)))
    }
}
