//! Property-name aliases from `mappings/vcard/aliases.toml`: device names that stand for
//! standard properties, and vCard 4.0 names of 3.0-era X- properties.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct AliasFile {
    #[serde(default)]
    input: HashMap<String, String>,
    #[serde(default)]
    v40: HashMap<String, String>,
    #[serde(default)]
    calendar: HashMap<String, String>,
}

static ALIASES: LazyLock<AliasFile> = LazyLock::new(|| {
    toml::from_str(include_str!("../../mappings/vcard/aliases.toml")).unwrap_or_else(|e| {
        // Embedded at build time and checked by a unit test; never reached in a release.
        tracing::error!(error = %e, "mappings/vcard/aliases.toml is invalid");
        AliasFile::default()
    })
});

/// The standard name a device-specific property stands for (`X-EPOCSECONDNAME` -> `NICKNAME`).
pub fn device_to_standard(name: &str) -> Option<&'static str> {
    lookup(&ALIASES.input, name)
}

/// The vCard 4.0 name of a 3.0-era X- property (`X-ANNIVERSARY` -> `ANNIVERSARY`).
pub fn to_v40(name: &str) -> Option<&'static str> {
    lookup(&ALIASES.v40, name)
}

/// The X- name older versions use for a vCard 4.0 property (`ANNIVERSARY` -> `X-ANNIVERSARY`).
pub fn from_v40(name: &str) -> Option<&'static str> {
    let mut found: Option<&'static str> = None;
    for (x, v40) in &ALIASES.v40 {
        // Several X- names may map to one 4.0 name; the shortest is the canonical one.
        if v40.eq_ignore_ascii_case(name) && found.is_none_or(|f| x.len() < f.len()) {
            found = Some(x.as_str());
        }
    }
    found
}

/// The iCalendar construct a vCalendar 1.0 CTCap name stands for (`AALARM` -> `VALARM`).
pub fn calendar_to_standard(name: &str) -> Option<&'static str> {
    lookup(&ALIASES.calendar, name)
}

fn lookup(map: &'static HashMap<String, String>, name: &str) -> Option<&'static str> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_loads() {
        assert_eq!(device_to_standard("x-epocsecondname"), Some("NICKNAME"));
        assert_eq!(to_v40("X-ANNIVERSARY"), Some("ANNIVERSARY"));
        assert_eq!(from_v40("ANNIVERSARY"), Some("X-ANNIVERSARY"));
        assert_eq!(calendar_to_standard("DALARM"), Some("VALARM"));
        assert_eq!(device_to_standard("TEL"), None);
    }
}
