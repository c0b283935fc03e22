//! Where a user's backups live: the folder URL from `backup.folder` and a DAV client
//! for the file server (the upstream's own when they share an origin).

use url::Url;

use crate::config::BackupConfig;
use crate::dav::{href, ChangeState, DavClient, DavError, DavUser};

use super::naming::BackupName;
use super::BackupError;

/// Most folder levels created above the backup folder when its parents are missing.
const MAX_MISSING_PARENTS: usize = 8;

/// One user's backup folder and the credentials to write it.
#[derive(Debug, Clone)]
pub struct BackupTarget {
    files: DavUser,
    /// Canonical path, ending in `/`.
    folder: String,
    url: Url,
    max_bytes: u64,
}

/// A backup file in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub name: BackupName,
    pub url: Url,
}

impl BackupTarget {
    /// The folder `config` gives for `user`'s upstream account, written with the same
    /// credentials.
    pub fn for_user(config: &BackupConfig, user: &DavUser) -> Result<Self, BackupError> {
        let base = user.client().settings().base.clone();
        let url = config.folder_url(base.as_str(), user.credentials().user())?;
        Self::at(url, user, config.max_bytes)
    }

    /// A target at an explicit folder URL.
    pub fn at(folder: Url, user: &DavUser, max_bytes: u64) -> Result<Self, BackupError> {
        let upstream = user.client().settings();
        let files = if folder.origin() == upstream.base.origin() {
            user.clone()
        } else {
            let mut settings = upstream.clone();
            let mut base = folder.clone();
            base.set_path("/");
            base.set_query(None);
            settings.base = base;
            settings.collections.clear();
            let client =
                DavClient::with_settings(settings).map_err(|source| BackupError::Files {
                    url: folder.to_string(),
                    source,
                })?;
            client.user(user.credentials().clone())
        };
        let mut path = href::canonical_path(folder.path());
        if !path.ends_with('/') {
            path.push('/');
        }
        let url = files.url(&path).map_err(|source| BackupError::Files {
            url: folder.to_string(),
            source,
        })?;
        Ok(BackupTarget {
            files,
            folder: path,
            url,
            max_bytes,
        })
    }

    /// The folder's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub(crate) fn files(&self) -> &DavUser {
        &self.files
    }

    pub(crate) fn folder(&self) -> &str {
        &self.folder
    }

    /// The URL of a file in the folder.
    pub(crate) fn file_url(&self, name: &str) -> Url {
        let path = href::child(&self.folder, name);
        self.files.url(&path).unwrap_or_else(|_| self.url.clone())
    }

    /// The typed error for a failure of the file server.
    pub(crate) fn error(&self, url: &str, e: DavError) -> BackupError {
        match e {
            DavError::Unauthorized { url } => BackupError::FilesUnauthorized {
                user: self.files.credentials().user().to_owned(),
                url,
            },
            e if e.is_unavailable() => BackupError::FilesUnavailable { source: e },
            source => BackupError::Files {
                url: url.to_owned(),
                source,
            },
        }
    }

    /// The names of the files in the folder; None when the folder does not exist.
    pub(crate) async fn file_names(&self) -> Result<Option<Vec<String>>, BackupError> {
        match self
            .files
            .changes_by_etags(&self.folder, &ChangeState::default())
            .await
        {
            Ok(listing) => Ok(Some(
                listing
                    .changed
                    .iter()
                    .filter_map(|c| last_segment(&c.href))
                    .collect(),
            )),
            Err(DavError::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(self.url.as_str(), e)),
        }
    }

    /// Creates the folder, and its missing parents up to a few levels (MKCOL answers
    /// 409 while a parent is missing).
    pub(crate) async fn create_folder(&self) -> Result<(), BackupError> {
        let mut pending = vec![self.folder.clone()];
        while let Some(path) = pending.last().cloned() {
            match self.files.mkcol(&path).await {
                Ok(_) => {
                    tracing::info!(folder = %path, "created backup folder");
                    pending.pop();
                }
                Err(DavError::UnexpectedStatus { status: 409, .. })
                    if pending.len() <= MAX_MISSING_PARENTS =>
                {
                    match parent(&path) {
                        Some(p) => pending.push(p),
                        None => {
                            return Err(self.error(
                                self.url.as_str(),
                                DavError::UnexpectedStatus {
                                    method: "MKCOL".into(),
                                    url: path,
                                    status: 409,
                                },
                            ))
                        }
                    }
                }
                Err(e) => return Err(self.error(self.url.as_str(), e)),
            }
        }
        Ok(())
    }
}

/// The decoded last segment of an href.
fn last_segment(href: &str) -> Option<String> {
    let seg = href.trim_end_matches('/').rsplit('/').next()?;
    let decoded = percent_encoding::percent_decode_str(seg)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!decoded.is_empty()).then_some(decoded)
}

/// `/a/b/` -> `/a/`; None for `/`.
fn parent(path: &str) -> Option<String> {
    let trimmed = path.trim_end_matches('/');
    let (head, _) = trimmed.rsplit_once('/')?;
    (!trimmed.is_empty()).then(|| format!("{head}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_parent_and_name() {
        assert_eq!(parent("/a/b%20c/").as_deref(), Some("/a/"));
        assert_eq!(parent("/a/").as_deref(), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(
            last_segment("/f/x%20y/n%C3%BC200812310001-notes.ics").as_deref(),
            Some("nü200812310001-notes.ics")
        );
        assert_eq!(last_segment("/"), None);
    }
}
