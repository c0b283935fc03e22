//! What a device can store: from its DevInf CTCap when it sent one, else from the known
//! capability of its format (`mappings/capability.toml`). The merge uses this to decide
//! which server properties the device's item replaces and which it must leave alone.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::vobject::Component;
use super::{aliases, Format};

/// What a device keeps of one property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyCap {
    /// Longest value the device keeps (CTCap `MaxSize`/`Size`).
    pub max_size: Option<usize>,
    /// How many instances it keeps (CTCap `MaxOccur`).
    pub max_occur: Option<usize>,
    /// The device rejects longer values instead of truncating them.
    pub no_truncate: bool,
    /// TYPE values it tells apart, upper-case; empty when the CTCap does not say.
    pub types: Vec<String>,
    /// The values it takes (CTCap `ValEnum` of the property); empty when any.
    pub values: Vec<String>,
}

/// One `PropParam` (1.2) or `ParamName` with its `ValEnum`s (1.1) from a CTCap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtCapParam {
    pub name: String,
    pub values: Vec<String>,
}

/// One CTCap property as the DevInf parser hands it over, in the device's own names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtCapProperty {
    pub name: String,
    pub values: Vec<String>,
    pub max_size: Option<usize>,
    pub max_occur: Option<usize>,
    pub no_truncate: bool,
    pub params: Vec<CtCapParam>,
}

/// Where a capability came from, which decides what a missing property means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilitySource {
    /// The device's CTCap listed its properties.
    CtCap,
    /// The device's format (no CTCap).
    Format,
    /// Nothing is known: only properties present in the device's item replace.
    Unknown,
}

/// What a device can store of one item type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    source: CapabilitySource,
    /// The device carries every property (vCard 3.0 / iCalendar clients).
    all: bool,
    /// DAV property names, upper-case.
    properties: HashMap<String, PropertyCap>,
    /// Name prefixes the device stores every property of (`X-SIF-` pass-through), upper-case.
    prefixes: Vec<String>,
    /// Sub-components it holds (`VALARM`).
    components: HashMap<String, PropertyCap>,
    /// The device truncates without saying so (libsynthesis `limitedfieldlengths`).
    pub limited_field_lengths: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatCapFile {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    max_occur: HashMap<String, usize>,
}

static FORMAT_CAPS: LazyLock<HashMap<String, FormatCapFile>> = LazyLock::new(|| {
    toml::from_str(include_str!("../../mappings/capability.toml")).unwrap_or_else(|e| {
        // Embedded at build time and checked by a unit test.
        tracing::error!(error = %e, "mappings/capability.toml is invalid");
        HashMap::new()
    })
});

/// Type values that do not tell slots apart.
const NEUTRAL_TYPES: &[&str] = &["PREF", "VOICE", "INTERNET"];

/// Upper-case TYPE values that tell one slot of a repeated property from another.
pub fn significant_types<'a>(types: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = types
        .into_iter()
        .map(|t| t.to_ascii_uppercase())
        .filter(|t| !NEUTRAL_TYPES.contains(&t.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Capability {
    /// Nothing known: the device's item replaces only what it contains.
    pub fn unknown() -> Capability {
        Capability {
            source: CapabilitySource::Unknown,
            all: false,
            properties: HashMap::new(),
            prefixes: Vec::new(),
            components: HashMap::new(),
            limited_field_lengths: false,
        }
    }

    /// The capability of a format when the device sent no CTCap.
    pub fn from_format(format: Format) -> Capability {
        let mut cap = Capability {
            source: CapabilitySource::Format,
            ..Capability::unknown()
        };
        let Some(file) = FORMAT_CAPS.get(format.name()) else {
            return Capability::unknown();
        };
        cap.all = file.all;
        cap.prefixes = file
            .prefixes
            .iter()
            .map(|p| p.to_ascii_uppercase())
            .collect();
        for p in &file.properties {
            let name = p.to_ascii_uppercase();
            let max_occur = file.max_occur.get(&name).copied();
            cap.properties.insert(
                name,
                PropertyCap {
                    max_occur,
                    ..PropertyCap::default()
                },
            );
        }
        for c in &file.components {
            let name = c.to_ascii_uppercase();
            let max_occur = file.max_occur.get(&name).copied();
            cap.components.insert(
                name,
                PropertyCap {
                    max_occur,
                    ..PropertyCap::default()
                },
            );
        }
        cap
    }

    /// The capability a DevInf CTCap describes. Device names are mapped to DAV names
    /// (`X-EPOCSECONDNAME` -> `NICKNAME`, `AALARM` -> `VALARM`); DS 1.1 lists of bare type
    /// values as `ParamName`s and DS 1.2 `TYPE` params with `ValEnum`s are both read.
    pub fn from_ctcap(props: &[CtCapProperty]) -> Capability {
        let mut cap = Capability {
            source: CapabilitySource::CtCap,
            ..Capability::unknown()
        };
        for p in props {
            let upper = p.name.trim().to_ascii_uppercase();
            if matches!(upper.as_str(), "BEGIN" | "END" | "VERSION" | "") {
                continue;
            }
            let mut types = Vec::new();
            for param in &p.params {
                let pname = param.name.trim().to_ascii_uppercase();
                match pname.as_str() {
                    "TYPE" => {
                        types.extend(param.values.iter().map(|v| v.trim().to_ascii_uppercase()))
                    }
                    "ENCODING" | "CHARSET" | "VALUE" | "LANGUAGE" => {}
                    // DS 1.1 style: the parameter name is the bare type value.
                    _ => types.push(pname),
                }
            }
            let entry = PropertyCap {
                max_size: p.max_size.filter(|&s| s > 0),
                max_occur: p.max_occur.filter(|&n| n > 0),
                no_truncate: p.no_truncate,
                types,
                values: p.values.iter().map(|v| v.trim().to_owned()).collect(),
            };
            if let Some(comp) = aliases::calendar_to_standard(&upper) {
                let slot = cap.components.entry(comp.to_owned()).or_default();
                // AALARM and DALARM both count towards the one alarm slot a phone has.
                slot.max_occur = match (slot.max_occur, entry.max_occur) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b).or(Some(1)),
                };
                continue;
            }
            let name = aliases::device_to_standard(&upper)
                .map(str::to_owned)
                .unwrap_or(upper);
            cap.properties
                .entry(name)
                .and_modify(|e| {
                    e.types.extend(entry.types.iter().cloned());
                    e.max_occur = e.max_occur.max(entry.max_occur);
                })
                .or_insert(entry);
        }
        // FN is implied by N on 2.1 phones that list only N.
        if cap.properties.contains_key("N") && !cap.properties.contains_key("FN") {
            cap.properties
                .insert("FN".to_owned(), PropertyCap::default());
        }
        cap
    }

    /// Forgets the CTCap's MaxSize and NoTruncate (devices whose sizes are unreliable).
    pub fn without_max_sizes(mut self) -> Capability {
        for p in self.properties.values_mut() {
            p.max_size = None;
            p.no_truncate = false;
        }
        self
    }

    /// Marks the device as truncating silently (per-device rule).
    pub fn with_limited_field_lengths(mut self, on: bool) -> Capability {
        self.limited_field_lengths = on;
        self
    }

    /// The device carries every property (vCard 3.0 / iCalendar clients).
    pub fn carries_everything(&self) -> bool {
        self.all
    }

    pub fn source(&self) -> CapabilitySource {
        self.source
    }

    /// True when a property the device can store but left out means "deleted".
    pub fn absent_means_deleted(&self) -> bool {
        self.source != CapabilitySource::Unknown
    }

    /// Whether the device keeps property `name` (DAV name).
    pub fn can_store(&self, name: &str) -> bool {
        let upper = name.to_ascii_uppercase();
        self.all
            || self.properties.contains_key(&upper)
            || self.prefixes.iter().any(|p| upper.starts_with(p.as_str()))
    }

    /// Limits for property `name`, when known.
    pub fn property(&self, name: &str) -> Option<&PropertyCap> {
        self.properties.get(&name.to_ascii_uppercase())
    }

    /// Whether the device keeps sub-components named `name` (`VALARM`).
    pub fn can_store_component(&self, name: &str) -> bool {
        self.all || self.components.contains_key(&name.to_ascii_uppercase())
    }

    pub fn component(&self, name: &str) -> Option<&PropertyCap> {
        self.components.get(&name.to_ascii_uppercase())
    }

    /// Whether an instance with these TYPE values fits a slot the device has.
    pub fn fits_types(&self, name: &str, types: &[String]) -> bool {
        if self.all {
            return true;
        }
        let Some(p) = self.property(name) else {
            return self.can_store(name);
        };
        super::shaping::map_types(&p.types, types).is_some()
    }
}

impl Capability {
    /// What to send a device of a DAV item (see [`super::shaping`]). The result is also
    /// what to remember as "last sent" for [`super::merge::merge_with_sent`].
    pub fn restrict(&self, item: &Component) -> Component {
        super::shaping::shape(self, item).item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::vobject::{parse, ParseOptions};

    #[test]
    fn restrict_follows_the_ctcap() {
        let mut tel = prop("TEL", &[("TYPE", &["CELL", "HOME"])]);
        tel.max_occur = Some(1);
        let mut note = prop("NOTE", &[]);
        note.max_size = Some(5);
        let mut title = prop("TITLE", &[]);
        title.max_size = Some(3);
        title.no_truncate = true;
        let cap = Capability::from_ctcap(&[prop("N", &[]), tel, note, title]);
        let card = parse(
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nN:A;B;;;\r\nTEL;TYPE=work:1\r\nTEL;TYPE=cell:2\r\nTEL;TYPE=home:3\r\nNOTE:\\,bcdefg\r\nTITLE:Boss\r\nPHOTO;ENCODING=b:AA\r\nEND:VCARD\r\n",
            &ParseOptions::standard(),
        )
        .unwrap();
        let out = cap.restrict(&card);
        let names: Vec<&str> = out.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["VERSION", "UID", "N", "TEL", "NOTE"]);
        assert_eq!(out.value("TEL"), Some("2"));
        assert_eq!(out.value("NOTE"), Some("\\,bcde"));
        assert_eq!(Capability::unknown().restrict(&card), card);
    }

    /// Every DAV property a SIF field table maps to is one its device stores, so the
    /// capability table cannot fall behind the field tables.
    #[test]
    fn sif_capabilities_cover_their_field_tables() {
        let tables = [
            (
                Format::Sifc,
                include_str!("../../mappings/sif/contact.toml"),
            ),
            (Format::Sife, include_str!("../../mappings/sif/event.toml")),
            (Format::Sift, include_str!("../../mappings/sif/task.toml")),
            (Format::Sifn, include_str!("../../mappings/sif/note.toml")),
        ];
        for (format, table) in tables {
            let cap = Capability::from_format(format);
            for line in table.lines() {
                let Some(rest) = line.trim().strip_prefix("property = \"") else {
                    continue;
                };
                let name = rest.trim_end_matches('"');
                // SEQUENCE is the server's own, whatever the device says.
                assert!(
                    cap.can_store(name) || name == "SEQUENCE",
                    "{format} cannot store {name}"
                );
            }
            assert!(cap.can_store("X-SIF-ANYTHING"), "{format}");
            assert!(!cap.can_store("X-NEXTCLOUD-TAG"), "{format}");
        }
        assert!(Capability::from_format(Format::Sift).can_store("PERCENT-COMPLETE"));
        assert!(!Capability::from_format(Format::Vcal10).can_store("X-SIF-ANYTHING"));
    }

    fn prop(name: &str, params: &[(&str, &[&str])]) -> CtCapProperty {
        CtCapProperty {
            name: name.into(),
            params: params
                .iter()
                .map(|(n, v)| CtCapParam {
                    name: (*n).into(),
                    values: v.iter().map(|s| (*s).into()).collect(),
                })
                .collect(),
            ..CtCapProperty::default()
        }
    }

    #[test]
    fn format_table_loads_for_every_format() {
        for f in Format::ALL {
            let cap = Capability::from_format(f);
            assert_eq!(cap.source(), CapabilitySource::Format, "{f}");
        }
        let v21 = Capability::from_format(Format::Vcard21);
        assert!(v21.can_store("tel"));
        assert!(!v21.can_store("PHOTO"));
        assert!(Capability::from_format(Format::Vcard30).can_store("X-ANYTHING"));
        let vcal = Capability::from_format(Format::Vcal10);
        assert_eq!(vcal.component("VALARM").unwrap().max_occur, Some(1));
    }

    #[test]
    fn ds11_and_ds12_type_styles() {
        let cap = Capability::from_ctcap(&[
            prop("BEGIN", &[]),
            prop("N", &[]),
            prop("TEL", &[("HOME", &[]), ("WORK", &[]), ("CELL", &[])]),
            prop("EMAIL", &[("TYPE", &["INTERNET", "HOME"])]),
            prop("X-EPOCSECONDNAME", &[]),
            prop("AALARM", &[]),
        ]);
        assert!(cap.can_store("FN"), "implied by N");
        assert!(cap.can_store("NICKNAME"));
        assert!(!cap.can_store("PHOTO"));
        assert!(cap.can_store_component("VALARM"));
        assert!(cap.fits_types("TEL", &["CELL".into(), "VOICE".into()]));
        assert!(!cap.fits_types("TEL", &["PAGER".into()]));
        assert!(cap.fits_types("EMAIL", &["home".into()]));
        assert!(!cap.fits_types("EMAIL", &["WORK".into()]));
        assert!(cap.absent_means_deleted());
        assert!(!Capability::unknown().absent_means_deleted());
    }
}
