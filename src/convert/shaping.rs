//! What a device is sent of a DAV item, by its CTCap: properties it does not list left
//! out, TYPE values and property values kept within its `ValEnum`s (mapped to an allowed
//! value where a well-known one exists), values cut to its `MaxSize` — or left out where
//! it declares `NoTruncate`. The merge asks the same rules whether a value the device
//! sends back is only the shaped form of the server's, so the server's whole value stays.

use std::collections::HashMap;

use super::capability::{Capability, CapabilitySource, PropertyCap};
use super::vobject::{
    escape_text, join_structured, split_structured, unescape_text, Component, Dialect, Property,
};

/// Properties every item keeps on its way to a device, listed or not: the converter
/// builds the device's form from them (a DURATION becomes the vCalendar DTEND, a
/// RECURRENCE-ID folds an exception into its series), so leaving one out would change
/// what the device's own properties say.
const ALWAYS_SENT: &[&str] = &[
    "VERSION",
    "BEGIN",
    "END",
    "UID",
    "DTSTART",
    "DTEND",
    "DUE",
    "DURATION",
    "RECURRENCE-ID",
];
/// Values that are never cut: a shorter one would be a different number, address, date
/// or rule. With `NoTruncate` a too-long one is left out instead.
const NEVER_TRUNCATED: &[&str] = &[
    "TEL",
    "EMAIL",
    "URL",
    "BDAY",
    "PHOTO",
    "RRULE",
    "EXDATE",
    "RDATE",
    "CATEGORIES",
    "TRIGGER",
];
/// Structured values, cut field by field so every field keeps its start.
const STRUCTURED: &[&str] = &["N", "ADR", "ORG"];
/// TYPE values that only qualify a slot; a device without them gets the value without.
const QUALIFIERS: &[&str] = &[
    "PREF", "VOICE", "INTERNET", "POSTAL", "PARCEL", "DOM", "INTL", "MSG", "X400",
];
/// TYPE values with a well-known equivalent a device may list instead.
const TYPE_EQUIVALENTS: &[(&str, &str)] = &[
    ("IPHONE", "CELL"),
    ("MOBILE", "CELL"),
    ("PCS", "CELL"),
    ("MAIN", "WORK"),
];
/// Property values with a well-known equivalent (`CLASS:CONFIDENTIAL` on a phone that
/// only knows PUBLIC and PRIVATE).
const VALUE_EQUIVALENTS: &[(&str, &str, &str)] = &[
    ("CLASS", "CONFIDENTIAL", "PRIVATE"),
    ("STATUS", "TENTATIVE", "CONFIRMED"),
    ("STATUS", "IN-PROCESS", "NEEDS-ACTION"),
];
/// Properties whose values are structured or free, never compared with a `ValEnum`.
const NO_VALUE_ENUM: &[&str] = &["N", "ADR", "ORG", "FN", "NOTE", "SUMMARY", "DESCRIPTION"];

/// Why a property a device can store was not sent as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeNote {
    /// Cut from `len` to the device's `max` characters (per field for N, ADR, ORG).
    Truncated {
        name: String,
        len: usize,
        max: usize,
    },
    /// Longer than the device's `max` and the device declares `NoTruncate`: left out.
    TooLongNoTruncate {
        name: String,
        len: usize,
        max: usize,
    },
    /// A value outside the device's `ValEnum`, with no allowed equivalent: left out.
    NotInValEnum { name: String, value: String },
}

/// An item as a device is sent it, with what was changed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    pub item: Component,
    pub notes: Vec<ShapeNote>,
}

/// What becomes of one property instance on its way to the device.
enum Fate {
    Sent(Property),
    Truncated(Property, ShapeNote),
    Withheld(Option<ShapeNote>),
}

/// Whether the device's CTCap decides what it is sent (without one everything goes).
pub fn applies(cap: &Capability) -> bool {
    cap.source() == CapabilitySource::CtCap
}

/// The item shaped for a device with capability `cap`.
pub fn shape(cap: &Capability, item: &Component) -> Shaped {
    let mut notes = Vec::new();
    let shaped = shape_component(cap, item, &mut notes);
    Shaped {
        item: shaped,
        notes,
    }
}

fn shape_component(cap: &Capability, item: &Component, notes: &mut Vec<ShapeNote>) -> Component {
    if cap.source() == CapabilitySource::Unknown || cap.carries_everything() {
        return item.clone();
    }
    let mut out = Component::new(&item.name);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for p in &item.properties {
        if ALWAYS_SENT.contains(&p.name.as_str()) {
            out.properties.push(p.clone());
            continue;
        }
        let Some(limits) = limits_of(cap, &p.name) else {
            continue;
        };
        let n = counts.entry(p.name.clone()).or_default();
        if limits.max_occur.is_some_and(|m| *n >= m) {
            continue;
        }
        match fate(&limits, p) {
            Fate::Sent(q) => {
                *n += 1;
                out.properties.push(q);
            }
            Fate::Truncated(q, note) => {
                *n += 1;
                out.properties.push(q);
                notes.push(note);
            }
            Fate::Withheld(note) => notes.extend(note),
        }
    }
    let mut comp_counts: HashMap<String, usize> = HashMap::new();
    for c in &item.components {
        // Containers (VCALENDAR -> VEVENT) and zones always go; the rest by slot.
        let container = matches!(
            c.name.as_str(),
            "VEVENT" | "VTODO" | "VJOURNAL" | "VTIMEZONE"
        );
        if container {
            out.components.push(shape_component(cap, c, notes));
            continue;
        }
        let Some(slot) = cap.component(&c.name) else {
            continue;
        };
        let n = comp_counts.entry(c.name.clone()).or_default();
        if slot.max_occur.is_none_or(|m| *n < m) {
            *n += 1;
            out.components.push(c.clone());
        }
    }
    out
}

/// The device's limits for a property it stores; `None` when it cannot store it.
fn limits_of(cap: &Capability, name: &str) -> Option<PropertyCap> {
    match cap.property(name) {
        Some(limits) => Some(limits.clone()),
        None if cap.can_store(name) => Some(PropertyCap::default()),
        None => None,
    }
}

fn fate(limits: &PropertyCap, p: &Property) -> Fate {
    let Some(types) = map_types(&limits.types, &p.types()) else {
        return Fate::Withheld(None);
    };
    let mut q = p.clone();
    if types != p.types() {
        q.remove_param("TYPE");
        if !types.is_empty() {
            q.params.push(super::vobject::Param {
                name: "TYPE".into(),
                values: types,
            });
        }
    }
    if let Some(note) = fit_value_enum(limits, &mut q) {
        return Fate::Withheld(Some(note));
    }
    let Some(max) = limits.max_size else {
        return Fate::Sent(q);
    };
    let text = unescape_text(&q.value, Dialect::Standard);
    let structured = STRUCTURED.contains(&q.name.as_str());
    let fields = if structured {
        split_structured(&q.value, Dialect::Standard)
    } else {
        vec![text.clone()]
    };
    let longest = fields.iter().map(|f| f.chars().count()).max().unwrap_or(0);
    if longest <= max {
        return Fate::Sent(q);
    }
    if limits.no_truncate {
        return Fate::Withheld(Some(ShapeNote::TooLongNoTruncate {
            name: q.name.clone(),
            len: longest,
            max,
        }));
    }
    if NEVER_TRUNCATED.contains(&q.name.as_str()) || q.is_binary() {
        return Fate::Sent(q);
    }
    let cut = |f: &String| f.chars().take(max).collect::<String>();
    q.value = if structured {
        let cut_fields: Vec<String> = fields.iter().map(cut).collect();
        join_structured(&cut_fields, Dialect::Standard)
    } else {
        escape_text(&cut(&text), Dialect::Standard)
    };
    let note = ShapeNote::Truncated {
        name: q.name.clone(),
        len: longest,
        max,
    };
    Fate::Truncated(q, note)
}

/// The TYPE values the device is sent: each listed value kept, an unlisted one replaced
/// by a listed equivalent, an unlisted qualifier dropped. `None` when a value that tells
/// slots apart has no place on the device (the instance is not sent: the device has no
/// slot for it, and the server keeps it).
pub fn map_types(allowed: &[String], types: &[String]) -> Option<Vec<String>> {
    if allowed.is_empty() {
        return Some(types.to_vec());
    }
    let listed = |t: &str| allowed.iter().any(|a| a.eq_ignore_ascii_case(t));
    let mut out: Vec<String> = Vec::with_capacity(types.len());
    for t in types {
        let upper = t.to_ascii_uppercase();
        let mapped = if listed(&upper) {
            Some(t.clone())
        } else {
            TYPE_EQUIVALENTS
                .iter()
                .find(|(from, to)| *from == upper && listed(to))
                .map(|(_, to)| (*to).to_owned())
        };
        match mapped {
            Some(m) => {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(&m)) {
                    out.push(m);
                }
            }
            None if QUALIFIERS.contains(&upper.as_str()) => {}
            None => return None,
        }
    }
    Some(out)
}

/// Keeps a property value within the device's `ValEnum`; `Some` when it cannot be.
fn fit_value_enum(limits: &PropertyCap, q: &mut Property) -> Option<ShapeNote> {
    if limits.values.is_empty() || NO_VALUE_ENUM.contains(&q.name.as_str()) {
        return None;
    }
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let allowed = |v: &str| limits.values.iter().find(|a| norm(a) == norm(v));
    let value = q.value.trim().to_owned();
    if allowed(&value).is_some() {
        return None;
    }
    // The converter spells the value for the device; the DAV spelling goes here.
    let equivalent = VALUE_EQUIVALENTS
        .iter()
        .find(|(name, from, to)| {
            *name == q.name && norm(from) == norm(&value) && allowed(to).is_some()
        })
        .map(|(_, _, to)| *to);
    match equivalent {
        Some(to) => {
            q.value = to.to_owned();
            None
        }
        None => Some(ShapeNote::NotInValEnum {
            name: q.name.clone(),
            value,
        }),
    }
}

/// Whether the device, shaped by `cap`, was sent `existing` in a form that says the same
/// as `incoming`: then `incoming` is that shaped form coming back (cut, a TYPE mapped),
/// and the server's own value stays.
pub fn is_shaped_form(cap: &Capability, existing: &Property, incoming: &Property) -> bool {
    if !applies(cap) {
        return false;
    }
    let Some(limits) = limits_of(cap, &existing.name) else {
        return false;
    };
    let sent = match fate(&limits, existing) {
        Fate::Sent(q) | Fate::Truncated(q, _) => q,
        Fate::Withheld(_) => return false,
    };
    if sent == *existing {
        return false;
    }
    let same_types = || {
        let mut a = sent.types();
        let mut b = incoming.types();
        a.retain(|t| !QUALIFIERS.contains(&t.as_str()));
        b.retain(|t| !QUALIFIERS.contains(&t.as_str()));
        a.sort();
        b.sort();
        a == b
    };
    let fields = |p: &Property| {
        split_structured(&p.value, Dialect::Standard)
            .into_iter()
            .map(|f| f.trim().to_owned())
            .collect::<Vec<_>>()
    };
    let same_value = if STRUCTURED.contains(&existing.name.as_str()) {
        let (a, b) = (fields(&sent), fields(incoming));
        let len = a.len().max(b.len());
        (0..len).all(|k| a.get(k).map_or("", String::as_str) == b.get(k).map_or("", String::as_str))
    } else {
        unescape_text(&sent.value, Dialect::Standard)
            .trim()
            .replace("\r\n", "\n")
            == unescape_text(&incoming.value, Dialect::Standard)
                .trim()
                .replace("\r\n", "\n")
    };
    same_value && same_types()
}

/// Whether the device was never sent `existing` although it stores that property (too
/// long under `NoTruncate`, a value outside its `ValEnum`, a TYPE it has no slot for):
/// its absence from the device's item then deletes nothing.
pub fn is_withheld(cap: &Capability, existing: &Property) -> bool {
    if !applies(cap) {
        return false;
    }
    match limits_of(cap, &existing.name) {
        Some(limits) => matches!(fate(&limits, existing), Fate::Withheld(_)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::capability::{CtCapParam, CtCapProperty};
    use crate::convert::vobject::{parse, ParseOptions};

    fn prop(name: &str, max: Option<usize>, params: &[(&str, &[&str])]) -> CtCapProperty {
        CtCapProperty {
            name: name.into(),
            max_size: max,
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

    fn card(body: &str) -> Component {
        let text = format!("BEGIN:VCARD\r\nVERSION:3.0\r\n{body}END:VCARD\r\n");
        parse(text.as_bytes(), &ParseOptions::standard()).unwrap()
    }

    fn device() -> Capability {
        let mut title = prop("TITLE", Some(4), &[]);
        title.no_truncate = true;
        let mut class = prop("CLASS", None, &[]);
        class.values = vec!["PUBLIC".into(), "PRIVATE".into()];
        Capability::from_ctcap(&[
            prop("N", Some(10), &[]),
            prop("TEL", None, &[("TYPE", &["HOME", "WORK", "CELL"])]),
            prop("EMAIL", None, &[]),
            title,
            class,
        ])
    }

    #[test]
    fn unlisted_properties_are_left_out_and_long_fields_cut_per_field() {
        let server = card(
            "UID:u1\r\nN:Schwarzenegger;Maximilian;;;\r\nNOTE:kept upstream\r\nTEL;TYPE=PAGER:1\r\n\
             TEL;TYPE=IPHONE:2\r\nTEL;TYPE=WORK,VOICE:3\r\nEMAIL:a@b.c\r\n",
        );
        let shaped = shape(&device(), &server);
        let names: Vec<&str> = shaped
            .item
            .properties
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["VERSION", "UID", "N", "TEL", "TEL", "EMAIL"]);
        assert_eq!(shaped.item.value("N"), Some("Schwarzene;Maximilian;;;"));
        let tels: Vec<(String, Vec<String>)> = shaped
            .item
            .properties_named("TEL")
            .map(|p| (p.value.clone(), p.types()))
            .collect();
        assert_eq!(
            tels,
            [
                ("2".to_owned(), vec!["CELL".to_owned()]),
                ("3".to_owned(), vec!["WORK".to_owned()])
            ]
        );
        assert_eq!(
            shaped.notes,
            [ShapeNote::Truncated {
                name: "N".into(),
                len: 14,
                max: 10
            }]
        );
    }

    #[test]
    fn no_truncate_leaves_a_long_value_out_and_value_enums_map_or_leave_out() {
        let server = card("UID:u1\r\nN:A;B;;;\r\nTITLE:Chief\r\nCLASS:CONFIDENTIAL\r\n");
        let shaped = shape(&device(), &server);
        assert_eq!(shaped.item.value("TITLE"), None);
        assert_eq!(shaped.item.value("CLASS"), Some("PRIVATE"));
        assert_eq!(
            shaped.notes,
            [ShapeNote::TooLongNoTruncate {
                name: "TITLE".into(),
                len: 5,
                max: 4
            }]
        );
        let odd = card("UID:u1\r\nN:A;B;;;\r\nCLASS:X-SECRET\r\n");
        let shaped = shape(&device(), &odd);
        assert_eq!(shaped.item.value("CLASS"), None);
        assert!(is_withheld(&device(), odd.property("CLASS").unwrap()));
        assert!(!is_withheld(&device(), odd.property("N").unwrap()));
    }

    #[test]
    fn the_shaped_form_coming_back_is_recognised() {
        let cap = device();
        let n = Property::new("N", "Schwarzenegger;Maximilian;;;");
        assert!(is_shaped_form(
            &cap,
            &n,
            &Property::new("N", "Schwarzene;Maximilian")
        ));
        assert!(!is_shaped_form(
            &cap,
            &n,
            &Property::new("N", "Schwarzene;Max")
        ));
        let short = Property::new("N", "Doe;Jo;;;");
        assert!(!is_shaped_form(&cap, &short, &Property::new("N", "Doe;Jo")));
        let tel = Property::new("TEL", "2").with_param("TYPE", "IPHONE");
        assert!(is_shaped_form(
            &cap,
            &tel,
            &Property::new("TEL", "2").with_param("TYPE", "CELL")
        ));
        assert!(!is_shaped_form(
            &cap,
            &tel,
            &Property::new("TEL", "2").with_param("TYPE", "HOME")
        ));
        assert!(!is_shaped_form(
            &Capability::unknown(),
            &n,
            &Property::new("N", "Schwarzene;Maximilian")
        ));
    }

    #[test]
    fn times_and_identity_go_even_when_the_ctcap_lists_only_the_summary() {
        let cap = Capability::from_ctcap(&[prop("SUMMARY", Some(5), &[])]);
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\n\
                    DTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nSUMMARY:Meeting\r\n\
                    LOCATION:Room\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let event = parse(text.as_bytes(), &ParseOptions::standard()).unwrap();
        let shaped = shape(&cap, &event).item;
        let inner = &shaped.components[0];
        let names: Vec<&str> = inner.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["UID", "DTSTART", "DURATION", "SUMMARY"]);
        assert_eq!(inner.value("SUMMARY"), Some("Meeti"));
    }

    #[test]
    fn a_device_whose_sizes_are_ignored_gets_whole_values() {
        let server = card("UID:u1\r\nN:Schwarzenegger;Maximilian;;;\r\nTITLE:Chief\r\n");
        let shaped = shape(&device().without_max_sizes(), &server);
        assert_eq!(shaped.item.value("N"), Some("Schwarzenegger;Maximilian;;;"));
        assert_eq!(shaped.item.value("TITLE"), Some("Chief"));
        assert!(shaped.notes.is_empty());
    }

    /// The merge takes back what the device was sent as no change: the cut name, a TYPE
    /// mapped to one it knows, a value withheld under NoTruncate, a property it lacks.
    #[test]
    fn the_shaped_item_sent_back_merges_to_the_server_item() {
        let server = card(
            "UID:u1\r\nN:Schwarzenegger;Maximilian;;;\r\nTITLE:Chief\r\nNOTE:gym\r\n\
             TEL;TYPE=IPHONE:+4917222\r\nTEL;TYPE=PAGER:+4930111\r\nEMAIL:a@b.c\r\n",
        );
        let cap = device();
        let sent = shape(&cap, &server).item;
        let merged = crate::convert::merge::merge(&server, &sent, &cap).unwrap();
        assert_eq!(merged, server);
        let mut edited = sent.clone();
        edited.set(Property::new("EMAIL", "new@b.c"));
        let merged = crate::convert::merge::merge(&server, &edited, &cap).unwrap();
        assert_eq!(merged.value("EMAIL"), Some("new@b.c"));
        assert_eq!(merged.value("N"), server.value("N"));
        assert_eq!(merged.value("TITLE"), Some("Chief"));
        let tels: Vec<Vec<String>> = merged.properties_named("TEL").map(|p| p.types()).collect();
        assert_eq!(tels, [vec!["IPHONE".to_owned()], vec!["PAGER".to_owned()]]);
    }

    #[test]
    fn type_mapping_keeps_listed_values_and_drops_qualifiers() {
        let allowed: Vec<String> = ["HOME", "WORK", "CELL"].map(String::from).to_vec();
        let t = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            map_types(&allowed, &t(&["cell", "PREF"])),
            Some(t(&["cell"]))
        );
        assert_eq!(map_types(&allowed, &t(&["MOBILE"])), Some(t(&["CELL"])));
        assert_eq!(map_types(&allowed, &t(&["PAGER"])), None);
        assert_eq!(map_types(&[], &t(&["PAGER"])), Some(t(&["PAGER"])));
    }
}
