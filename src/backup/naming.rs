//! Backup file names: prefix + `YYYYMMDD` + a 4-digit counter that restarts each day,
//! then the datastore and the extension, e.g. `nokia200812310001-contacts.vcf`. The
//! files of one backup run share the counter, so they sort and read as one set.

use chrono::NaiveDate;

use crate::dav::ItemKind;

use super::BackupError;

/// The longest prefix accepted (it comes from a phone's URL parameter).
const MAX_PREFIX_LEN: usize = 32;
/// The counter has four digits.
pub const MAX_COUNTER: u16 = 9999;

/// One parsed backup file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    pub prefix: String,
    pub date: NaiveDate,
    pub counter: u16,
    pub kind: ItemKind,
}

impl BackupName {
    /// The file name, e.g. `nokia200812310001-events.ics`.
    pub fn file_name(&self) -> String {
        format!(
            "{}{}{:04}-{}.{}",
            self.prefix,
            self.date.format("%Y%m%d"),
            self.counter,
            self.kind.key(),
            extension(self.kind)
        )
    }

    /// Reads a name written by [`BackupName::file_name`] for a known `prefix`; None for
    /// any other file in the folder.
    pub fn parse_with_prefix(name: &str, prefix: &str) -> Option<BackupName> {
        let rest = name.strip_prefix(prefix)?;
        let stamp = rest.get(..12)?;
        if !stamp.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let date = NaiveDate::parse_from_str(&stamp[..8], "%Y%m%d").ok()?;
        let counter: u16 = stamp[8..].parse().ok()?;
        let (kind_key, ext) = rest[12..].strip_prefix('-')?.rsplit_once('.')?;
        let kind = kind_from_key(kind_key)?;
        (extension(kind) == ext && counter > 0).then(|| BackupName {
            prefix: prefix.to_owned(),
            date,
            counter,
            kind,
        })
    }

    /// Reads any backup name: the prefix is what precedes the 12 digits of date and
    /// counter before `-kind.ext`.
    pub fn parse(name: &str) -> Option<BackupName> {
        let (stem, _) = name.rsplit_once('-')?;
        let split = stem.len().checked_sub(12)?;
        let prefix = stem.get(..split)?;
        validate_prefix(prefix).ok()?;
        Self::parse_with_prefix(name, prefix)
    }
}

pub fn extension(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Contacts => "vcf",
        _ => "ics",
    }
}

pub fn kind_from_key(key: &str) -> Option<ItemKind> {
    [
        ItemKind::Contacts,
        ItemKind::Events,
        ItemKind::Tasks,
        ItemKind::Notes,
    ]
    .into_iter()
    .find(|k| k.key() == key)
}

/// A prefix must be safe as the start of a file name on any server: ASCII letters,
/// digits, `-` and `_`, at most 32 characters, not empty.
pub fn validate_prefix(prefix: &str) -> Result<(), BackupError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BackupError::InvalidPrefix {
            prefix: prefix.chars().take(64).collect(),
        })
    }
}

/// The first counter for `prefix` on `date` that no listed file uses: one past the
/// highest, so a deleted backup's number is never handed out again the same day.
pub fn next_counter<'a>(
    names: impl IntoIterator<Item = &'a str>,
    prefix: &str,
    date: NaiveDate,
) -> Result<u16, BackupError> {
    let highest = names
        .into_iter()
        .filter_map(|n| BackupName::parse_with_prefix(n, prefix))
        .filter(|n| n.date == date)
        .map(|n| n.counter)
        .max()
        .unwrap_or(0);
    if highest >= MAX_COUNTER {
        return Err(BackupError::CounterExhausted {
            prefix: prefix.to_owned(),
            date,
        });
    }
    Ok(highest + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn names_round_trip() {
        let n = BackupName {
            prefix: "nokia".into(),
            date: day(2008, 12, 31),
            counter: 1,
            kind: ItemKind::Contacts,
        };
        assert_eq!(n.file_name(), "nokia200812310001-contacts.vcf");
        assert_eq!(BackupName::parse(&n.file_name()), Some(n.clone()));
        let t = BackupName {
            prefix: "e51_2".into(),
            counter: 42,
            kind: ItemKind::Tasks,
            ..n
        };
        assert_eq!(t.file_name(), "e51_2200812310042-tasks.ics");
        assert_eq!(BackupName::parse(&t.file_name()), Some(t));
    }

    #[test]
    fn other_files_are_not_backups() {
        for name in [
            "notes.txt",
            "nokia20081231001-contacts.vcf",
            "nokia200813310001-contacts.vcf",
            "nokia200812310001-contacts.ics",
            "nokia200812310001-photos.vcf",
            "nokia200812310000-contacts.vcf",
            "200812310001-contacts.vcf",
            "nokia2008123100x1-contacts.vcf",
        ] {
            assert_eq!(BackupName::parse(name), None, "{name}");
        }
        assert_eq!(
            BackupName::parse_with_prefix("nokia200812310001-contacts.vcf", "sony"),
            None
        );
    }

    #[test]
    fn counter_increments_within_a_day_and_restarts_the_next() {
        let listed = [
            "nokia200812310001-contacts.vcf",
            "nokia200812310001-events.ics",
            "nokia200812310003-tasks.ics",
            "sony200812310007-tasks.ics",
            "readme.txt",
        ];
        let d = day(2008, 12, 31);
        assert_eq!(next_counter(listed, "nokia", d).unwrap(), 4);
        assert_eq!(next_counter(listed, "sony", d).unwrap(), 8);
        assert_eq!(next_counter(listed, "nokia", day(2009, 1, 1)).unwrap(), 1);
        let full = ["nokia200812319999-notes.ics"];
        assert!(matches!(
            next_counter(full, "nokia", d),
            Err(BackupError::CounterExhausted { .. })
        ));
    }

    #[test]
    fn prefixes_are_checked() {
        assert!(validate_prefix("nokia-6300_a").is_ok());
        for bad in ["", "../x", "a b", "ü", &"x".repeat(33)] {
            assert!(
                matches!(validate_prefix(bad), Err(BackupError::InvalidPrefix { .. })),
                "{bad}"
            );
        }
    }
}
