//! Listing backups and putting a backup's items back into a DAV collection, without
//! duplicating what is still there: items are matched by UID (by content when an item
//! has none) and an item already present is never replaced.

use std::collections::{HashMap, HashSet};

use rand::Rng;

use crate::dav::{Collection, CollectionType, DavError, DavUser, ItemKind};

use super::format::{self, Entry};
use super::naming::{self, BackupName};
use super::target::{BackupFile, BackupTarget};
use super::writer::read_all;
use super::BackupError;

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Items created, by href.
    pub added: Vec<String>,
    /// Items already there with the same content.
    pub unchanged: usize,
    /// Items already there (same UID) with other content, left as they are: the DAV
    /// copy may be a later edit.
    pub kept: usize,
}

/// The backups in the folder, oldest first (by date, counter, datastore). A missing
/// folder holds none.
pub async fn list_backups(target: &BackupTarget) -> Result<Vec<BackupFile>, BackupError> {
    let mut files: Vec<BackupFile> = target
        .file_names()
        .await?
        .unwrap_or_default()
        .iter()
        .filter_map(|n| BackupName::parse(n))
        .map(|name| BackupFile {
            url: target.file_url(&name.file_name()),
            name,
        })
        .collect();
    files.sort_by(|a, b| {
        (
            a.name.date,
            a.name.counter,
            a.name.kind.key(),
            &a.name.prefix,
        )
            .cmp(&(
                b.name.date,
                b.name.counter,
                b.name.kind.key(),
                &b.name.prefix,
            ))
    });
    Ok(files)
}

/// Reads a backup file by its name in the folder.
pub async fn read_backup(
    target: &BackupTarget,
    file_name: &str,
) -> Result<(BackupName, String), BackupError> {
    let name = BackupName::parse(file_name).ok_or_else(|| BackupError::NotABackupName {
        name: file_name.chars().take(200).collect(),
    })?;
    let url = target.file_url(file_name);
    let path = url.path().to_owned();
    match target.files().get(&path).await {
        Ok(item) => Ok((name, item.data)),
        Err(DavError::NotFound { .. }) => Err(BackupError::NotFound {
            name: file_name.to_owned(),
            folder: target.url().to_string(),
        }),
        Err(e) => Err(target.error(url.as_str(), e)),
    }
}

/// Puts the items of backup `file_name` into `collection`: items whose UID is not
/// there are created, the others are left alone (see [`RestoreReport`]).
pub async fn restore(
    user: &DavUser,
    target: &BackupTarget,
    file_name: &str,
    collection: &Collection,
) -> Result<RestoreReport, BackupError> {
    let (name, text) = read_backup(target, file_name).await?;
    let kind = name.kind;
    let fits = match kind {
        ItemKind::Contacts => collection.kind == CollectionType::AddressBook,
        _ => collection.kind == CollectionType::Calendar,
    };
    if !fits {
        return Err(BackupError::WrongCollection {
            name: file_name.to_owned(),
            kind: kind.key(),
            collection: collection.href.clone(),
        });
    }
    let calendar = kind != ItemKind::Contacts;
    let damaged = |source| BackupError::Damaged {
        name: file_name.to_owned(),
        source,
    };
    let entries = if calendar {
        format::split_calendar(&text)
    } else {
        format::split_vcards(&text)
    }
    .map_err(damaged)?;

    let mut present = Present::read(user, kind, &collection.href).await?;
    let mut report = RestoreReport::default();
    for entry in entries {
        let content = comparable(&entry.text, calendar).map_err(damaged)?;
        match present.find(&entry, &content) {
            Some(true) => report.unchanged += 1,
            Some(false) => report.kept += 1,
            None => {
                let href = create(user, kind, &collection.href, &entry).await?;
                present.add(&entry, content);
                report.added.push(href);
            }
        }
    }
    tracing::info!(
        backup = file_name,
        collection = %collection.href,
        added = report.added.len(),
        unchanged = report.unchanged,
        kept = report.kept,
        "backup restored"
    );
    Ok(report)
}

/// What the collection holds, by UID and by content.
struct Present {
    by_uid: HashMap<String, String>,
    contents: HashSet<String>,
}

impl Present {
    async fn read(user: &DavUser, kind: ItemKind, collection: &str) -> Result<Self, BackupError> {
        let calendar = kind != ItemKind::Contacts;
        let mut present = Present {
            by_uid: HashMap::new(),
            contents: HashSet::new(),
        };
        for item in read_all(user, kind, collection).await? {
            // An item the server holds but this reader cannot parse still blocks nothing:
            // it is matched by neither UID nor content.
            let Ok(content) = comparable(&item.data, calendar) else {
                tracing::warn!(href = %item.href, "unreadable item ignored for matching");
                continue;
            };
            for uid in format::uids_of(&item.data, calendar).unwrap_or_default() {
                present.by_uid.insert(uid, content.clone());
            }
            present.contents.insert(content);
        }
        Ok(present)
    }

    /// Some(same content?) when the entry is already there.
    fn find(&self, entry: &Entry, content: &str) -> Option<bool> {
        match &entry.uid {
            Some(uid) => self.by_uid.get(uid).map(|c| c == content),
            None => self.contents.contains(content).then_some(true),
        }
    }

    fn add(&mut self, entry: &Entry, content: String) {
        if let Some(uid) = &entry.uid {
            self.by_uid.insert(uid.clone(), content.clone());
        }
        self.contents.insert(content);
    }
}

/// The part of an item that says whether two copies are the same: the whole vCard,
/// or a calendar object's components without the header and time zones.
fn comparable(text: &str, calendar: bool) -> Result<String, format::FormatError> {
    if calendar {
        Ok(format::calendar_components(text)?.concat())
    } else {
        Ok(format::normalise_breaks(text.trim_end()))
    }
}

/// Creates the entry under a name from its UID, or a random one when the UID does
/// not make a safe name or that name is taken.
async fn create(
    user: &DavUser,
    kind: ItemKind,
    collection: &str,
    entry: &Entry,
) -> Result<String, BackupError> {
    let ext = naming::extension(kind);
    let content_type = kind.data_kind().content_type();
    let from_uid = entry.uid.as_deref().filter(|u| {
        !u.is_empty()
            && u.len() <= 100
            && u.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    });
    let mut name = match from_uid {
        Some(uid) => format!("{uid}.{ext}"),
        None => random_name(ext),
    };
    for attempt in 0..3 {
        match user
            .create(collection, &name, content_type, entry.text.clone())
            .await
        {
            Ok(written) => return Ok(written.href),
            Err(DavError::Conflict { .. }) if attempt < 2 => name = random_name(ext),
            Err(source) => {
                return Err(BackupError::Restore {
                    collection: collection.to_owned(),
                    source,
                })
            }
        }
    }
    Err(BackupError::Restore {
        collection: collection.to_owned(),
        source: DavError::Conflict {
            href: name,
            current_etag: None,
        },
    })
}

fn random_name(ext: &str) -> String {
    let n: u128 = rand::thread_rng().gen();
    format!("{n:032x}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_by_uid_then_by_content() {
        let card = |uid: &str, fn_: &str| {
            format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{fn_}\r\nEND:VCARD\r\n")
        };
        let mut present = Present {
            by_uid: HashMap::new(),
            contents: HashSet::new(),
        };
        let a = Entry {
            uid: Some("a".into()),
            text: card("a", "Ann"),
        };
        let ca = comparable(&a.text, false).unwrap();
        assert_eq!(present.find(&a, &ca), None);
        present.add(&a, ca.clone());
        assert_eq!(present.find(&a, &ca), Some(true));
        let edited = comparable(&card("a", "Anne"), false).unwrap();
        assert_eq!(present.find(&a, &edited), Some(false));
        let no_uid = Entry {
            uid: None,
            text: "BEGIN:VCARD\nFN:x\nEND:VCARD\n".into(),
        };
        let cn = comparable(&no_uid.text, false).unwrap();
        assert_eq!(present.find(&no_uid, &cn), None);
        present.add(&no_uid, cn.clone());
        assert_eq!(present.find(&no_uid, &cn), Some(true));
    }

    #[test]
    fn calendar_copies_compare_without_their_header() {
        let a = "BEGIN:VCALENDAR\r\nPRODID:one\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let b = "BEGIN:VCALENDAR\nPRODID:two\nVERSION:2.0\nBEGIN:VTODO\nUID:t\nEND:VTODO\nEND:VCALENDAR\n";
        assert_eq!(comparable(a, true).unwrap(), comparable(b, true).unwrap());
        assert!(random_name("ics").ends_with(".ics"));
        assert_ne!(random_name("ics"), random_name("ics"));
    }
}
