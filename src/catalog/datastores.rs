//! Which DAV collection kind a phone's datastore name means (mappings/datastores.toml).

use std::collections::BTreeMap;

use serde::Deserialize;

const ALIASES: &str = include_str!("../../mappings/datastores.toml");

/// A kind of datastore the bridge serves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DatastoreKind {
    /// `addressbook`, or the calendar component the collection holds (`VEVENT`, `VTODO`, `VJOURNAL`).
    pub collection: String,
    pub aliases: Vec<String>,
    /// Another kind this datastore also covers on devices that combine them.
    #[serde(default)]
    pub combined_with: Option<String>,
    /// The aliases that also say the items travel as Funambol SIF (`scard`, `scal`...).
    #[serde(default)]
    pub sif_aliases: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("mappings/datastores.toml: {0}")]
pub struct AliasTableError(String);

/// The alias table, by kind name (`contacts`, `calendar`, `tasks`, `notes`).
#[derive(Debug, Clone)]
pub struct AliasTable {
    kinds: BTreeMap<String, DatastoreKind>,
}

/// A phone's datastore URI split into the name to match and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreUri {
    /// The exact spelling the phone used; echoed back in every reply.
    pub as_sent: String,
    /// Lower-cased, without `./` and without options.
    pub name: String,
    /// Whatever followed `?` (or `#`), kept for per-datastore options.
    pub options: Option<String>,
}

impl DatastoreUri {
    pub fn parse(uri: &str) -> DatastoreUri {
        let trimmed = uri.trim();
        let (path, options) = match trimmed.find(['?', '#']) {
            Some(i) => (&trimmed[..i], Some(trimmed[i + 1..].to_owned())),
            None => (trimmed, None),
        };
        let path = path.strip_prefix("./").unwrap_or(path).trim_matches('/');
        DatastoreUri {
            as_sent: uri.to_owned(),
            name: path.to_lowercase(),
            options,
        }
    }
}

impl AliasTable {
    /// The table embedded at build time.
    pub fn builtin() -> Result<AliasTable, AliasTableError> {
        AliasTable::from_toml(ALIASES)
    }

    pub fn from_toml(text: &str) -> Result<AliasTable, AliasTableError> {
        let kinds: BTreeMap<String, DatastoreKind> =
            toml::from_str(text).map_err(|e| AliasTableError(e.to_string()))?;
        for (name, kind) in &kinds {
            if let Some(alias) = kind.sif_aliases.iter().find(|a| !kind.aliases.contains(a)) {
                return Err(AliasTableError(format!(
                    "[{name}] sif_aliases names `{alias}`, which is not one of its aliases"
                )));
            }
            if let Some(other) = &kind.combined_with {
                if !kinds.contains_key(other) {
                    return Err(AliasTableError(format!(
                        "[{name}] combined_with names unknown kind `{other}`"
                    )));
                }
            }
        }
        Ok(AliasTable { kinds })
    }

    /// The kind a datastore name stands for, by alias (case-insensitive, `./` and options ignored).
    pub fn kind_of(&self, uri: &DatastoreUri) -> Option<(&str, &DatastoreKind)> {
        self.kinds
            .iter()
            .find(|(_, k)| k.aliases.iter().any(|a| a.eq_ignore_ascii_case(&uri.name)))
            .map(|(n, k)| (n.as_str(), k))
    }

    /// Whether the name is one Funambol clients give a datastore they sync in SIF.
    pub fn names_sif(&self, uri: &DatastoreUri) -> bool {
        self.kinds.values().any(|k| {
            k.sif_aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&uri.name))
        })
    }

    pub fn kind(&self, name: &str) -> Option<&DatastoreKind> {
        self.kinds.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_seen_on_phones_resolve() {
        let t = AliasTable::builtin().unwrap();
        for (uri, kind) in [
            ("Contacts", "contacts"),
            ("./Contacts", "contacts"),
            ("card", "contacts"),
            ("scard", "contacts"),
            ("Calendar", "calendar"),
            ("./calendar?/dr(-30,90)", "calendar"),
            ("cal", "calendar"),
            ("Task", "tasks"),
            ("task", "tasks"),
            ("stask", "tasks"),
            ("scal", "calendar"),
            ("note", "notes"),
            ("snote", "notes"),
            ("todo", "tasks"),
            ("Memo", "notes"),
            ("./Notepad", "notes"),
            ("Journal", "notes"),
        ] {
            let u = DatastoreUri::parse(uri);
            assert_eq!(t.kind_of(&u).map(|(n, _)| n), Some(kind), "{uri}");
        }
        assert!(t.kind_of(&DatastoreUri::parse("sms")).is_none());
        for sif in ["scard", "./scal", "STASK", "snote?x"] {
            assert!(t.names_sif(&DatastoreUri::parse(sif)), "{sif}");
        }
        for vob in ["card", "cal", "task", "note", "Contacts"] {
            assert!(!t.names_sif(&DatastoreUri::parse(vob)), "{vob}");
        }
        assert_eq!(
            t.kind("calendar").unwrap().combined_with.as_deref(),
            Some("tasks")
        );
    }

    #[test]
    fn uri_keeps_spelling_and_options() {
        let u = DatastoreUri::parse("./Calendar?/slow");
        assert_eq!(u.as_sent, "./Calendar?/slow");
        assert_eq!(u.name, "calendar");
        assert_eq!(u.options.as_deref(), Some("/slow"));
    }

    #[test]
    fn broken_tables_are_refused() {
        assert!(
            AliasTable::from_toml("[a]\ncollection='x'\naliases=[]\ncombined_with='b'\n").is_err()
        );
        assert!(AliasTable::from_toml("[a]\nnope=1").is_err());
        assert!(
            AliasTable::from_toml("[a]\ncollection='x'\naliases=['a']\nsif_aliases=['sa']\n")
                .is_err()
        );
    }
}
