//! Backups taken by the sync flow: the `backup[=prefix]` URL parameter copies the
//! session's collections once it completed, and a destructive sync type (refresh from
//! client, one-way slow to server) first copies the collection it is about to overwrite.

use std::sync::Arc;

use chrono::NaiveDate;

use super::context::Shared;
use super::session_core::SessionCore;
use crate::backup::{backup_collection, backup_collections, BackupError, BackupTarget};
use crate::dav::{Collection, CollectionType, DavError, DavUser, ItemKind};
use crate::engine::SyncMethod;
use crate::syncml::codes::StatusCode;

/// The status a destructive sync's Alert gets when its backup failed (Data store failure).
pub const BACKUP_FAILED_STATUS: StatusCode = StatusCode::DataStoreFailure;

/// Whether `method` overwrites or may lose what the server holds.
pub fn is_destructive(method: SyncMethod) -> bool {
    matches!(
        method,
        SyncMethod::RefreshFromClient | SyncMethod::OneWaySlowToServer
    )
}

/// Today in the bridge's local zone: backup names carry the day the admin sees.
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn collection(href: &str) -> Collection {
    Collection {
        href: href.to_owned(),
        displayname: None,
        kind: CollectionType::Plain,
        components: Vec::new(),
        ctag: None,
        sync_token: None,
        reports: Vec::new(),
    }
}

/// The prefix a backup is named with: the URL's, else `backup.prefix`.
fn prefix_of(shared: &Shared, url_prefix: Option<&str>) -> String {
    match url_prefix.map(str::trim) {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => shared.backup.prefix.clone(),
    }
}

/// A failure that says the upstream keeps no files at the folder (a CalDAV/CardDAV-only
/// server such as Radicale): there is nowhere to back up to, which is not an outage.
fn no_file_collection(e: &BackupError) -> bool {
    match e {
        BackupError::Files { source, .. } => matches!(
            source,
            DavError::Forbidden { .. }
                | DavError::NotFound { .. }
                | DavError::UnexpectedStatus {
                    status: 403..=405 | 409,
                    ..
                }
        ),
        _ => false,
    }
}

impl SessionCore {
    /// Takes the automatic backup before a destructive sync of `collection_href`.
    /// `Err(status)` means the sync must not proceed.
    pub(super) async fn backup_before_destructive(
        &self,
        method: SyncMethod,
        kind: ItemKind,
        collection_href: &str,
        datastore: &str,
    ) -> Result<(), StatusCode> {
        let cfg = &self.shared.backup;
        if !is_destructive(method) || !cfg.automatic {
            return Ok(());
        }
        if cfg.folder.trim().is_empty() {
            tracing::info!(device = %self.device, %datastore, "no backup.folder: destructive sync without a backup");
            return Ok(());
        }
        let prefix = prefix_of(&self.shared, self.url.backup.as_deref());
        let Some(user) = self.deps.dav.dav_user() else {
            tracing::error!(device = %self.device, %datastore, "the upstream takes no backup files: destructive sync refused");
            return Err(BACKUP_FAILED_STATUS);
        };
        let result = match BackupTarget::for_user(cfg, user) {
            Ok(target) => {
                let c = collection(collection_href);
                backup_collection(user, kind, &c, &target, &prefix, today()).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(w) => {
                tracing::info!(device = %self.device, user = %self.user, %datastore, sync_type = method.number(), file = %w.file.url, items = w.items, bytes = w.bytes, "automatic backup written before a destructive sync");
                Ok(())
            }
            Err(e) if no_file_collection(&e) => {
                tracing::warn!(device = %self.device, %datastore, error = %e, "the upstream keeps no files at backup.folder: destructive sync without a backup");
                Ok(())
            }
            Err(e) => {
                tracing::error!(device = %self.device, user = %self.user, %datastore, sync_type = method.number(), error = %e, "automatic backup failed: destructive sync refused");
                Err(BACKUP_FAILED_STATUS)
            }
        }
    }

    /// What the `backup` URL parameter asks for once the session completed: the
    /// collections of its datastores, or None when it asked for nothing.
    pub(super) fn requested_backup(&self) -> Option<SessionBackup> {
        let url_prefix = self.url.backup.as_deref()?;
        let mut sources: Vec<(ItemKind, String)> = Vec::new();
        for run in self.slots.iter().filter_map(|s| s.run.as_ref()) {
            for (kind, href) in run.collections() {
                if !sources.iter().any(|(_, h)| h == href) {
                    sources.push((kind, href.to_owned()));
                }
            }
        }
        if sources.is_empty() {
            return None;
        }
        Some(SessionBackup {
            shared: self.shared.clone(),
            user: self.deps.dav.dav_user()?.clone(),
            device: self.device.clone(),
            prefix: prefix_of(&self.shared, Some(url_prefix)),
            sources,
        })
    }
}

/// A backup of a session's collections, to run after its last reply.
pub struct SessionBackup {
    shared: Arc<Shared>,
    user: DavUser,
    device: String,
    prefix: String,
    sources: Vec<(ItemKind, String)>,
}

impl SessionBackup {
    /// Writes one file per collection; failures are logged, the session is over.
    pub async fn run(self) -> Result<usize, BackupError> {
        let target = BackupTarget::for_user(&self.shared.backup, &self.user)?;
        let collections: Vec<(ItemKind, Collection)> = self
            .sources
            .iter()
            .map(|(k, h)| (*k, collection(h)))
            .collect();
        let refs: Vec<(ItemKind, &Collection)> = collections.iter().map(|(k, c)| (*k, c)).collect();
        let written = backup_collections(&self.user, &refs, &target, &self.prefix, today()).await?;
        for w in &written {
            tracing::info!(device = %self.device, user = %self.user.credentials().user(), file = %w.file.url, items = w.items, bytes = w.bytes, "session backup written");
        }
        Ok(written.len())
    }

    /// Runs the backup in the background, logging its failure.
    pub fn spawn(self) {
        let device = self.device.clone();
        tokio::spawn(async move {
            if let Err(e) = self.run().await {
                tracing::error!(%device, error = %e, "session backup failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refresh_from_client_and_slow_to_server_are_destructive() {
        for n in 1..=9 {
            let m = SyncMethod::from_number(n).unwrap();
            assert_eq!(is_destructive(m), n == 4 || n == 7, "sync type {n}");
        }
    }

    #[test]
    fn missing_file_storage_is_told_from_an_outage() {
        let files = |source| BackupError::Files {
            url: "http://h/f/".into(),
            source,
        };
        assert!(no_file_collection(&files(DavError::Forbidden {
            method: "MKCOL".into(),
            url: "u".into()
        })));
        assert!(no_file_collection(&files(DavError::UnexpectedStatus {
            method: "MKCOL".into(),
            url: "u".into(),
            status: 405
        })));
        assert!(!no_file_collection(&BackupError::FilesUnavailable {
            source: DavError::Timeout {
                method: "PUT".into(),
                url: "u".into()
            }
        }));
        assert!(!no_file_collection(&files(DavError::ServerError {
            method: "PUT".into(),
            url: "u".into(),
            status: 507
        })));
    }
}
