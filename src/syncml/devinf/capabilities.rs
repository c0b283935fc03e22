//! "What can this device store for content type X": the answer the conversion layer
//! needs to avoid erasing fields a phone cannot hold (devinf guide §5).

use super::ctcap::CtCap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const NAMED_PARAMS_TABLE: &str = include_str!("../../../mappings/ctcap-named-params.txt");

fn named_params() -> &'static BTreeSet<String> {
    static SET: OnceLock<BTreeSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        NAMED_PARAMS_TABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_ascii_uppercase)
            .collect()
    })
}

fn is_named_param(name: &str) -> bool {
    name.starts_with("X-") || named_params().contains(name)
}

/// The properties a device keeps for one content type. Names are upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentCaps {
    pub properties: BTreeMap<String, PropertyCaps>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyCaps {
    pub max_size: Option<u32>,
    pub max_occur: Option<u32>,
    pub no_truncate: bool,
    /// Allowed `TYPE` values, from either the 1.2 `TYPE` ValEnums or the 1.1 bare
    /// `ParamName`s. Empty when the device lists none.
    pub type_values: BTreeSet<String>,
    /// Other named parameters and their allowed values (empty set: any value).
    pub params: BTreeMap<String, BTreeSet<String>>,
    /// `ValEnum`s of the property itself (e.g. BEGIN -> VEVENT, VTODO).
    pub values: BTreeSet<String>,
}

impl ContentCaps {
    /// Merges every CTCap given (a type may be listed more than once, e.g. events and
    /// tasks separately). `None` when there is none.
    pub(crate) fn from_ctcaps<'a>(caps: impl Iterator<Item = &'a CtCap>) -> Option<Self> {
        let mut out: Option<ContentCaps> = None;
        for cap in caps {
            let out = out.get_or_insert_with(ContentCaps::default);
            for p in &cap.properties {
                let pc = out
                    .properties
                    .entry(p.name.trim().to_ascii_uppercase())
                    .or_default();
                pc.max_size = match (pc.max_size, p.max_size) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                pc.max_occur = match (pc.max_occur, p.max_occur) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                pc.no_truncate |= p.no_truncate;
                pc.values
                    .extend(p.val_enums.iter().map(|v| v.trim().to_ascii_uppercase()));
                for pp in &p.params {
                    let name = pp.name.trim().to_ascii_uppercase();
                    let vals = pp.val_enums.iter().map(|v| v.trim().to_ascii_uppercase());
                    if name == "TYPE" {
                        pc.type_values.extend(vals);
                    } else if is_named_param(&name) {
                        pc.params.entry(name).or_default().extend(vals);
                    } else {
                        pc.type_values.insert(name);
                    }
                }
            }
        }
        out
    }

    /// Whether the device keeps this property at all.
    pub fn can_store(&self, property: &str) -> bool {
        self.properties
            .contains_key(&property.trim().to_ascii_uppercase())
    }

    /// Whether the device keeps this property with this TYPE value. A property listed
    /// without any TYPE values is taken to accept any.
    pub fn can_store_type(&self, property: &str, type_value: &str) -> bool {
        match self.properties.get(&property.trim().to_ascii_uppercase()) {
            None => false,
            Some(p) => {
                p.type_values.is_empty()
                    || p.type_values
                        .contains(&type_value.trim().to_ascii_uppercase())
            }
        }
    }

    pub fn property(&self, property: &str) -> Option<&PropertyCaps> {
        self.properties.get(&property.trim().to_ascii_uppercase())
    }
}
