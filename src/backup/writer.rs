//! Writing a backup run: read each collection in full, render its file, and create
//! it under the next free name.

use chrono::NaiveDate;

use crate::dav::{ChangeState, Collection, DavError, DavUser, Item, ItemKind};

use super::format;
use super::naming::{self, BackupName, MAX_COUNTER};
use super::target::{BackupFile, BackupTarget};
use super::BackupError;

/// A backup file that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBackup {
    pub file: BackupFile,
    /// How many DAV items (resources) it holds.
    pub items: usize,
    pub bytes: usize,
}

/// One collection rendered, ready to store.
struct Rendered {
    kind: ItemKind,
    collection: String,
    body: String,
    items: usize,
}

/// Backs up one collection holding `kind`: see [`backup_collections`].
pub async fn backup_collection(
    user: &DavUser,
    kind: ItemKind,
    collection: &Collection,
    target: &BackupTarget,
    prefix: &str,
    today: NaiveDate,
) -> Result<WrittenBackup, BackupError> {
    naming::validate_prefix(prefix)?;
    let rendered = render(user, kind, &collection.href, target.max_bytes()).await?;
    let mut counter = first_free_counter(target, prefix, today).await?;
    store(target, &rendered, prefix, today, &mut counter).await
}

/// Backs up every collection of a session, one file each, all under the day's next
/// counter for `prefix` (e.g. `nokia200812310003-contacts.vcf` and
/// `nokia200812310003-events.ics`). Every collection is read before anything is
/// written, so a failed read leaves no partial run behind.
pub async fn backup_collections(
    user: &DavUser,
    sources: &[(ItemKind, &Collection)],
    target: &BackupTarget,
    prefix: &str,
    today: NaiveDate,
) -> Result<Vec<WrittenBackup>, BackupError> {
    naming::validate_prefix(prefix)?;
    let mut rendered = Vec::with_capacity(sources.len());
    for (kind, collection) in sources {
        rendered.push(render(user, *kind, &collection.href, target.max_bytes()).await?);
    }
    let mut counter = first_free_counter(target, prefix, today).await?;
    let mut out = Vec::with_capacity(rendered.len());
    for r in &rendered {
        out.push(store(target, r, prefix, today, &mut counter).await?);
    }
    Ok(out)
}

/// The day's next counter from a listing of the folder, which is created when missing.
async fn first_free_counter(
    target: &BackupTarget,
    prefix: &str,
    today: NaiveDate,
) -> Result<u16, BackupError> {
    let names = match target.file_names().await? {
        Some(names) => names,
        None => {
            target.create_folder().await?;
            Vec::new()
        }
    };
    naming::next_counter(names.iter().map(String::as_str), prefix, today)
}

/// Creates the file under `counter`, or the next free one when the name is taken.
async fn store(
    target: &BackupTarget,
    r: &Rendered,
    prefix: &str,
    today: NaiveDate,
    counter: &mut u16,
) -> Result<WrittenBackup, BackupError> {
    loop {
        let name = BackupName {
            prefix: prefix.to_owned(),
            date: today,
            counter: *counter,
            kind: r.kind,
        };
        let file_name = name.file_name();
        let content_type = r.kind.data_kind().content_type();
        match target
            .files()
            .create(target.folder(), &file_name, content_type, r.body.clone())
            .await
        {
            Ok(_) => {
                let url = target.file_url(&file_name);
                tracing::info!(%url, items = r.items, collection = %r.collection, "backup written");
                return Ok(WrittenBackup {
                    file: BackupFile { name, url },
                    items: r.items,
                    bytes: r.body.len(),
                });
            }
            // Someone took this number since the listing: never overwrite, take the next.
            Err(DavError::Conflict { .. }) if *counter < MAX_COUNTER => *counter += 1,
            Err(DavError::Conflict { .. }) => {
                return Err(BackupError::CounterExhausted {
                    prefix: prefix.to_owned(),
                    date: today,
                })
            }
            Err(e) => {
                let url = target.file_url(&file_name);
                return Err(target.error(url.as_str(), e));
            }
        }
    }
}

/// Every item of a collection, sorted by href so a backup of unchanged data is the
/// same file.
pub(crate) async fn read_all(
    user: &DavUser,
    kind: ItemKind,
    collection: &str,
) -> Result<Vec<Item>, BackupError> {
    let read_error = |source| BackupError::ReadItems {
        collection: collection.to_owned(),
        source,
    };
    let listing = user
        .changes_by_etags(collection, &ChangeState::default())
        .await
        .map_err(read_error)?;
    let hrefs: Vec<String> = listing.changed.into_iter().map(|c| c.href).collect();
    let mut fetched = user
        .multiget(collection, kind.data_kind(), &hrefs)
        .await
        .map_err(read_error)?;
    fetched.items.sort_by(|a, b| a.href.cmp(&b.href));
    Ok(fetched.items)
}

async fn render(
    user: &DavUser,
    kind: ItemKind,
    collection: &str,
    limit: u64,
) -> Result<Rendered, BackupError> {
    let items = read_all(user, kind, collection).await?;
    // Checked one by one, so the error names the item at fault; an item that is not
    // the object the collection holds would otherwise be left out silently.
    let expected = match kind {
        ItemKind::Contacts => "VCARD",
        _ => "VCALENDAR",
    };
    for item in &items {
        let bad = |message: String| BackupError::BadItem {
            href: item.href.clone(),
            source: format::FormatError { line: 1, message },
        };
        let blocks = format::blocks_at(&item.data, 0).map_err(|source| BackupError::BadItem {
            href: item.href.clone(),
            source,
        })?;
        if !blocks.iter().any(|b| b.name == expected) {
            return Err(bad(format!("no {expected} in the item")));
        }
    }
    let texts = items.iter().map(|i| i.data.as_str());
    let body = match kind {
        ItemKind::Contacts => format::join_vcards(texts).map(|(body, _)| body),
        _ => format::join_calendar(texts),
    }
    .map_err(|source| BackupError::BadItem {
        href: collection.to_owned(),
        source,
    })?;
    let size = body.len() as u64;
    if size > limit {
        return Err(BackupError::TooLarge {
            collection: collection.to_owned(),
            size,
            limit,
        });
    }
    Ok(Rendered {
        kind,
        collection: collection.to_owned(),
        body,
        items: items.len(),
    })
}
