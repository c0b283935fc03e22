//! Device backups to a WebDAV file collection of the user's upstream (Nextcloud:
//! `/remote.php/dav/files/USER/SyncML backups/`), and restoring them.
//!
//! A backup run writes one file per datastore, in formats people can open: a `.vcf`
//! holding the address book's vCards as the server keeps them, a `.ics` holding a
//! calendar's items in one VCALENDAR with each time zone once. Names follow
//! [`naming`]: `nokia200812310001-contacts.vcf`. A file is created with
//! `If-None-Match: *`, so no backup is ever overwritten; the folder is created when
//! missing.
//!
//! The engine calls [`backup_collections`] for the `backup[=prefix]` URL parameter and
//! before destructive sync types (when `backup.automatic` is on); the admin CLI calls
//! [`list_backups`] and [`restore`].
//!
//! Restore never replaces or deletes: an item whose UID is already in the collection
//! is left as it is (reported as unchanged or as kept when its content differs), so a
//! restore can be repeated safely and never undoes a later edit.

mod format;
pub mod naming;
mod restore;
mod target;
mod writer;

use chrono::NaiveDate;

use crate::config::ConfigError;
use crate::dav::DavError;

pub use format::FormatError;
pub use naming::BackupName;
pub use restore::{list_backups, read_backup, restore, RestoreReport};
pub use target::{BackupFile, BackupTarget};
pub use writer::{backup_collection, backup_collections, WrittenBackup};

/// Every way a backup or restore can fail. Messages name the URL or collection and
/// never carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup folder: {0}")]
    Folder(#[from] ConfigError),
    #[error("invalid backup prefix `{prefix}`: use 1 to 32 ASCII letters, digits, `-` or `_`")]
    InvalidPrefix { prefix: String },
    #[error("no backup number left for prefix `{prefix}` on {date}: 9999 backups that day")]
    CounterExhausted { prefix: String, date: NaiveDate },
    #[error(
        "the backup of {collection} would be {size} bytes, more than backup.max_bytes ({limit})"
    )]
    TooLarge {
        collection: String,
        size: u64,
        limit: u64,
    },
    /// The items to back up or to compare against could not be read.
    #[error("cannot read {collection} from the DAV server: {source}")]
    ReadItems {
        collection: String,
        #[source]
        source: DavError,
    },
    #[error("item {href} is not a well-formed vCard or iCalendar object: {source}")]
    BadItem {
        href: String,
        #[source]
        source: FormatError,
    },
    #[error("the file server refused the credentials of {user} for {url}")]
    FilesUnauthorized { user: String, url: String },
    /// Connection refused, timeout or 5xx from the file server: try again later.
    #[error("the file server is unavailable: {source}")]
    FilesUnavailable {
        #[source]
        source: DavError,
    },
    #[error("the file server failed at {url}: {source}")]
    Files {
        url: String,
        #[source]
        source: DavError,
    },
    #[error("`{name}` is not a backup file name (e.g. nokia200812310001-contacts.vcf)")]
    NotABackupName { name: String },
    #[error("no backup {name} in {folder}")]
    NotFound { name: String, folder: String },
    #[error("backup {name} is damaged: {source}")]
    Damaged {
        name: String,
        #[source]
        source: FormatError,
    },
    #[error("backup {name} holds {kind}, which collection {collection} cannot hold")]
    WrongCollection {
        name: String,
        kind: &'static str,
        collection: String,
    },
    #[error("cannot restore into {collection}: {source}")]
    Restore {
        collection: String,
        #[source]
        source: DavError,
    },
}
