//! Merging a device's version of an item into the DAV resource without losing what the
//! device cannot hold.
//!
//! Both sides are DAV trees (the device item already converted). Properties the device
//! can store are taken from its version — removed when it left them out and its capability
//! says absence means deletion — and everything else stays as the server has it. Repeated
//! properties are matched slot by slot, so a phone with two number slots never erases a
//! third number. Values that only differ in spelling (phone formatting, truncation) keep
//! the server's version, so a round trip does not cause an update.

use super::capability::{significant_types, Capability};
use super::shaping;
use super::spelling;
use super::vobject::{split_structured, unescape_text, Component, Dialect, Property};
use super::ConvertError;

/// Properties the server owns whatever the device sends.
pub(super) const SERVER_OWNED: &[&str] = &[
    "UID",
    "VERSION",
    "PRODID",
    "REV",
    "DTSTAMP",
    "CREATED",
    "LAST-MODIFIED",
    "SEQUENCE",
    "CALSCALE",
    "METHOD",
];
/// Properties whose TYPE names a slot (home, work, cell) rather than the value's form.
const SLOT_TYPED: &[&str] = &["TEL", "EMAIL", "ADR", "URL", "IMPP", "LABEL"];
/// Properties that always repeat by slot.
const REPEATED: &[&str] = &[
    "TEL", "EMAIL", "ADR", "URL", "IMPP", "LABEL", "EXDATE", "RDATE", "ATTENDEE",
];
/// Structured values whose missing trailing fields mean "unchanged" (T39m, Nokia S40).
pub(super) const STRUCTURED: &[&str] = &["N", "ADR", "ORG"];
/// Parameters that describe the value itself and come from the device's version.
const VALUE_PARAMS: &[&str] = &["TYPE", "ENCODING", "VALUE", "PREF", "TZID"];

pub(super) fn is_in(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Merges `incoming` (the device's item, converted to the DAV form) into `existing` (the
/// DAV resource). Works on a VCARD or on a VCALENDAR holding one item (plus VTIMEZONEs and
/// recurrence overrides, which the device cannot hold and which are kept).
pub fn merge(
    existing: &Component,
    incoming: &Component,
    cap: &Capability,
) -> Result<Component, ConvertError> {
    merge_inner(existing, incoming, cap, None)
}

/// Like [`merge`], knowing what the device was last sent (`sent`, in DAV form). Then only
/// what the device really held can count as deleted by it: a phone with one number slot
/// that drops its number deletes that number, never the next one that would have moved up,
/// even when the same item arrives twice.
pub fn merge_with_sent(
    existing: &Component,
    incoming: &Component,
    cap: &Capability,
    sent: &Component,
) -> Result<Component, ConvertError> {
    merge_inner(existing, incoming, cap, Some(sent))
}

fn merge_inner(
    existing: &Component,
    incoming: &Component,
    cap: &Capability,
    sent: Option<&Component>,
) -> Result<Component, ConvertError> {
    if existing.name != incoming.name {
        return Err(ConvertError::MergeMismatch {
            existing: existing.name.clone(),
            incoming: incoming.name.clone(),
        });
    }
    if existing.name == "VCALENDAR" {
        return merge_calendar(existing, incoming, sent, &|e, i, s| {
            merge_component(e, i, cap, s)
        });
    }
    Ok(merge_component(existing, incoming, cap, sent))
}

/// The component-level merge a calendar merge applies to the main item: the server's
/// version, the device's and what the device was last sent of it.
pub(super) type MergeItem<'a> =
    dyn Fn(&Component, &Component, Option<&Component>) -> Component + 'a;

fn is_override(c: &Component) -> bool {
    c.property("RECURRENCE-ID").is_some()
}

fn master(cal: &Component) -> Option<&Component> {
    cal.components
        .iter()
        .find(|c| c.name != "VTIMEZONE" && !is_override(c))
}

/// Merges the main items of two calendars with `merge_item`; the server's time zones and
/// recurrence overrides stay, zones only the device's version refers to are added.
pub(super) fn merge_calendar(
    existing: &Component,
    incoming: &Component,
    sent: Option<&Component>,
    merge_item: &MergeItem<'_>,
) -> Result<Component, ConvertError> {
    let mut out = existing.clone();
    let master_idx = out
        .components
        .iter()
        .position(|c| c.name != "VTIMEZONE" && !is_override(c));
    let incoming_master = master(incoming);
    match (master_idx, incoming_master) {
        (Some(i), Some(inc)) => {
            if out.components[i].name != inc.name {
                return Err(ConvertError::MergeMismatch {
                    existing: out.components[i].name.clone(),
                    incoming: inc.name.clone(),
                });
            }
            let sent_master = sent.and_then(master);
            out.components[i] = merge_item(&out.components[i], inc, sent_master);
        }
        (None, Some(inc)) => out.components.push(inc.clone()),
        // The device item holds no item component: nothing of the server's is touched.
        (_, None) => {}
    }
    // Zones the new version refers to and the server lacks.
    for tz in incoming.components_named("VTIMEZONE") {
        let tzid = tz.value("TZID");
        let known = out
            .components_named("VTIMEZONE")
            .any(|e| e.value("TZID") == tzid);
        if !known {
            let at = out
                .components
                .iter()
                .position(|c| c.name != "VTIMEZONE")
                .unwrap_or(out.components.len());
            out.components.insert(at, tz.clone());
        }
    }
    Ok(out)
}

/// Property-level merge of one component and its sub-components.
/// Property-level merge of one component; `sent` is what the device was last sent of it.
pub fn merge_component(
    existing: &Component,
    incoming: &Component,
    cap: &Capability,
    sent: Option<&Component>,
) -> Component {
    let mut names: Vec<&str> = Vec::new();
    for p in existing.properties.iter().chain(&incoming.properties) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
            names.push(&p.name);
        }
    }

    // Rebuild in the server's order; per name the merged instances replace the old ones
    // at the position of the first, new names go at the end.
    let mut merged: Vec<(String, Vec<Property>)> = Vec::with_capacity(names.len());
    for name in names {
        let e: Vec<&Property> = existing.properties_named(name).collect();
        let i: Vec<&Property> = incoming.properties_named(name).collect();
        let s: Option<Vec<&Property>> = sent.map(|c| c.properties_named(name).collect());
        merged.push((
            name.to_owned(),
            merge_property(name, &e, &i, cap, s.as_deref()),
        ));
    }
    let mut out = Component::new(&existing.name);
    let mut emitted: Vec<bool> = vec![false; merged.len()];
    for p in &existing.properties {
        if let Some(k) = merged
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&p.name))
        {
            if !emitted[k] {
                out.properties.extend(merged[k].1.iter().cloned());
                emitted[k] = true;
            }
        }
    }
    for (k, (_, props)) in merged.iter().enumerate() {
        if !emitted[k] {
            out.properties.extend(props.iter().cloned());
        }
    }
    out.components = merge_subcomponents(existing, incoming, cap);
    keep_end_form_of(&mut out, incoming);
    out
}

/// The property that ends `item` other than DURATION (DTEND of an event, DUE of a task).
fn end_property(item: &Component) -> Option<&'static str> {
    match item.name.to_ascii_uppercase().as_str() {
        "VEVENT" => Some("DTEND"),
        "VTODO" => Some("DUE"),
        _ => None,
    }
}

/// An event or task ends either by DTEND/DUE or by DURATION, never both (RFC 5545): when
/// `out` holds both, the form `winner` uses stays and the other goes.
pub(super) fn keep_end_form_of(out: &mut Component, winner: &Component) {
    let Some(end) = end_property(out) else {
        return;
    };
    if out.property(end).is_none() || out.property("DURATION").is_none() {
        return;
    }
    match (
        winner.property(end).is_some(),
        winner.property("DURATION").is_some(),
    ) {
        (true, false) => out.remove("DURATION"),
        (false, true) => out.remove(end),
        // Both or neither: nothing tells which form is meant; the end time is exact.
        _ => out.remove("DURATION"),
    }
}

fn merge_property(
    name: &str,
    existing: &[&Property],
    incoming: &[&Property],
    cap: &Capability,
    sent: Option<&[&Property]>,
) -> Vec<Property> {
    let keep = || existing.iter().map(|p| (*p).clone()).collect::<Vec<_>>();
    if is_in(SERVER_OWNED, name) {
        return if existing.is_empty() {
            incoming.iter().map(|p| (*p).clone()).collect()
        } else {
            keep()
        };
    }
    let storable = cap.can_store(name) || (!cap.absent_means_deleted() && !incoming.is_empty());
    if !storable {
        // A device that sends what it does not announce adds it only where the server has
        // nothing; it never overwrites.
        return if existing.is_empty() {
            incoming.iter().map(|p| (*p).clone()).collect()
        } else {
            keep()
        };
    }
    if is_in(REPEATED, name) || existing.len() > 1 || incoming.len() > 1 {
        return merge_slots(name, existing, incoming, cap, sent);
    }
    match (existing.first(), incoming.first()) {
        (Some(e), Some(i)) => vec![merge_sent_back(name, e, i, cap)],
        (None, Some(i)) => vec![(*i).clone()],
        // Left out: deleted, unless the device was never sent it.
        (Some(e), None)
            if cap.absent_means_deleted()
                && sent.is_none_or(|s| !s.is_empty())
                && !shaping::is_withheld(cap, e) =>
        {
            Vec::new()
        }
        (Some(_), None) | (None, None) => keep(),
    }
}

/// Matches repeated instances slot by slot. The server instances the device can hold
/// ("visible": types it has and within its `MaxOccur`, in server order) are replaced by the
/// device's; the others stay untouched.
fn merge_slots(
    name: &str,
    existing: &[&Property],
    incoming: &[&Property],
    cap: &Capability,
    sent: Option<&[&Property]>,
) -> Vec<Property> {
    let max = cap.property(name).and_then(|p| p.max_occur);
    let fits = |p: &Property| {
        !cap.absent_means_deleted()
            || (cap.fits_types(name, &p.types()) && !shaping::is_withheld(cap, p))
    };
    // The instances the device held: the first that fit its slots, of what it was sent
    // when that is known, else of the server's own list.
    let window: Vec<&Property> = sent
        .unwrap_or(existing)
        .iter()
        .copied()
        .filter(|p| fits(p))
        .take(max.unwrap_or(usize::MAX))
        .collect();
    let mut visible = vec![false; existing.len()];
    let mut claimed = vec![false; window.len()];
    for (k, e) in existing.iter().enumerate() {
        if !fits(e) {
            continue;
        }
        let held = |w: usize| {
            !claimed[w]
                && (std::ptr::eq(window[w], *e)
                    || (sent.is_some() && same_value(name, window[w], e)))
        };
        if let Some(w) = (0..window.len()).find(|&w| held(w)) {
            claimed[w] = true;
            visible[k] = true;
        }
    }

    let mut pair: Vec<Option<usize>> = vec![None; existing.len()];
    let mut used = vec![false; incoming.len()];
    // Same value first, visible or not: a value the server already has is that instance
    // (the phone may have changed only the type). Then the same slot.
    for (j, i) in incoming.iter().enumerate() {
        if let Some(k) = (0..existing.len())
            .filter(|&k| pair[k].is_none() && same_value(name, existing[k], i))
            .min_by_key(|&k| !visible[k])
        {
            pair[k] = Some(j);
            used[j] = true;
        }
    }
    for (j, i) in incoming.iter().enumerate() {
        if used[j] {
            continue;
        }
        let slot = significant_types(i.types().iter());
        if let Some(k) = (0..existing.len()).find(|&k| {
            visible[k] && pair[k].is_none() && significant_types(existing[k].types().iter()) == slot
        }) {
            pair[k] = Some(j);
            used[j] = true;
        }
    }

    let mut out = Vec::with_capacity(existing.len().max(incoming.len()));
    for (k, e) in existing.iter().enumerate() {
        match pair[k] {
            Some(j) => out.push(merge_sent_back(name, e, incoming[j], cap)),
            None if visible[k] && cap.absent_means_deleted() => {}
            None => out.push((*e).clone()),
        }
    }
    out.extend(
        incoming
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(i, _)| (*i).clone()),
    );
    out
}

/// One server instance and what the device sent back for it: the form the device was
/// sent of the server's value (cut to its MaxSize, a TYPE mapped to one it knows) keeps
/// the server's whole value, before any other rule compares the two.
fn merge_sent_back(
    name: &str,
    existing: &Property,
    incoming: &Property,
    cap: &Capability,
) -> Property {
    if shaping::is_shaped_form(cap, existing, incoming) {
        return existing.clone();
    }
    merge_one(name, existing, incoming, cap)
}

/// One server instance and the device's replacement for it.
fn merge_one(name: &str, existing: &Property, incoming: &Property, cap: &Capability) -> Property {
    if same_value(name, existing, incoming) {
        return kept_as_the_server_has_it(name, existing, incoming);
    }
    // What the device was sent of the server's value (cut, a TYPE mapped) coming back.
    if is_cut_off(name, existing, incoming, cap) || shaping::is_shaped_form(cap, existing, incoming)
    {
        return existing.clone();
    }
    let mut out = incoming.clone();
    if out.group.is_none() {
        out.group.clone_from(&existing.group);
    }
    // Parameters the device has no notion of (X-ABLABEL, LANGUAGE, ...) stay.
    for p in &existing.params {
        if !is_in(VALUE_PARAMS, &p.name) && out.param(&p.name).is_none() {
            out.params.push(p.clone());
        }
    }
    if is_in(STRUCTURED, name) {
        out.value = fill_missing_fields(&existing.value, &incoming.value);
    }
    out
}

/// A value the device sent back unchanged keeps the server's property: its parameters
/// (a photo's media type, X-ABLABEL, LANGUAGE...), its group and its spelling. Only a slot
/// type the device really changed (a number moved from HOME to WORK) is taken from the
/// device; a device that knows fewer types than the server holds changes nothing.
fn kept_as_the_server_has_it(name: &str, existing: &Property, incoming: &Property) -> Property {
    let server = significant_types(existing.types().iter());
    let phone = significant_types(incoming.types().iter());
    let moved = phone.iter().any(|t| !server.contains(t));
    if !is_in(SLOT_TYPED, name) || !moved {
        return existing.clone();
    }
    let mut out = existing.clone();
    out.remove_param("TYPE");
    let types = incoming.params.iter().filter(|p| p.name == "TYPE").cloned();
    out.params.splice(0..0, types);
    out
}

/// `Müller;Hans` over `Müller;Hans;Peter;Dr.;` keeps the fields the device did not send.
fn fill_missing_fields(existing: &str, incoming: &str) -> String {
    let inc_count = split_structured(incoming, Dialect::Standard).len();
    let raw_fields = split_raw(existing);
    if inc_count >= raw_fields.len() {
        return incoming.to_owned();
    }
    let mut out = incoming.to_owned();
    for f in &raw_fields[inc_count..] {
        out.push(';');
        out.push_str(f);
    }
    out
}

/// Splits on unescaped `;` keeping escapes.
fn split_raw(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b';' => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&value[start.min(value.len())..]);
    out
}

/// Whether two values say the same thing despite spelling (phone number formatting,
/// e-mail case, trailing empty structured fields, line-end style, escapes, binary data
/// however it is encoded, dates and times however they are written).
pub fn same_value(name: &str, a: &Property, b: &Property) -> bool {
    let upper = name.to_ascii_uppercase();
    if let (Some(x), Some(y)) = (spelling::binary_payload(a), spelling::binary_payload(b)) {
        return x == y;
    }
    match upper.as_str() {
        "TEL" => spelling::same_number(&phone_digits(&a.value), &phone_digits(&b.value)),
        "BDAY" | "ANNIVERSARY" | "X-ANNIVERSARY" => spelling::same_date(&a.value, &b.value),
        _ if is_in(spelling::TIMES, &upper) => spelling::same_time(a, b),
        "EMAIL" => a.value.trim().eq_ignore_ascii_case(b.value.trim()),
        _ if is_in(STRUCTURED, &upper) => {
            let fa = split_structured(&a.value, Dialect::Standard);
            let fb = split_structured(&b.value, Dialect::Standard);
            let len = fa.len().max(fb.len());
            (0..len)
                .all(|k| fa.get(k).map_or("", |s| s.trim()) == fb.get(k).map_or("", |s| s.trim()))
        }
        _ => normalize_text(&a.value) == normalize_text(&b.value),
    }
}

/// Digits of a phone number, with a leading `+` kept.
pub fn phone_digits(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("tel:").unwrap_or(v);
    let mut out: String = v.chars().filter(char::is_ascii_digit).collect();
    if v.starts_with('+') {
        out.insert(0, '+');
    }
    out
}

fn normalize_text(v: &str) -> String {
    unescape_text(v.trim(), Dialect::Standard).replace("\r\n", "\n")
}

/// The device kept only the start of the server's value (limited field lengths).
fn is_cut_off(name: &str, existing: &Property, incoming: &Property, cap: &Capability) -> bool {
    let e = normalize_text(&existing.value);
    let i = normalize_text(&incoming.value);
    if i.is_empty() || i.len() >= e.len() || !e.starts_with(&i) {
        return false;
    }
    let limit = cap.property(name).and_then(|p| p.max_size);
    cap.limited_field_lengths || limit.is_some_and(|m| incoming.value.chars().count() >= m)
}

/// Sub-components (VALARM) the device can hold are replaced in order up to its slot
/// count; the rest, and all of them when it has no slot, are kept.
fn merge_subcomponents(
    existing: &Component,
    incoming: &Component,
    cap: &Capability,
) -> Vec<Component> {
    let mut names: Vec<&str> = Vec::new();
    for c in existing.components.iter().chain(&incoming.components) {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        let e: Vec<&Component> = existing.components_named(name).collect();
        let i: Vec<&Component> = incoming.components_named(name).collect();
        let storable =
            cap.can_store_component(name) || (!cap.absent_means_deleted() && !i.is_empty());
        if !storable {
            if e.is_empty() {
                out.extend(i.into_iter().cloned());
            } else {
                out.extend(e.into_iter().cloned());
            }
            continue;
        }
        let slots = cap
            .component(name)
            .and_then(|c| c.max_occur)
            .unwrap_or(usize::MAX);
        let visible = e.len().min(slots);
        for k in 0..e.len().max(i.len()) {
            match (e.get(k), i.get(k)) {
                // Inside a slot the device's properties win and the server's others stay
                // (an alarm's DESCRIPTION or ATTACH the phone has no field for).
                (Some(ec), Some(ic)) if k < visible => {
                    out.push(merge_component(ec, ic, &Capability::unknown(), None))
                }
                (Some(ec), None) if k < visible => {
                    if !cap.absent_means_deleted() {
                        out.push((*ec).clone());
                    }
                }
                (Some(ec), _) => {
                    out.push((*ec).clone());
                    if let Some(ic) = i.get(k) {
                        out.push((*ic).clone());
                    }
                }
                (None, Some(ic)) => out.push((*ic).clone()),
                (None, None) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::capability::{CtCapParam, CtCapProperty};
    use super::super::vobject::{parse, ParseOptions};
    use super::super::Format;
    use super::*;

    fn card(text: &str) -> Component {
        parse(text.as_bytes(), &ParseOptions::standard()).unwrap()
    }

    fn ctcap(spec: &[(&str, Option<usize>, &[&str])]) -> Capability {
        let props: Vec<CtCapProperty> = spec
            .iter()
            .map(|(n, occ, types)| CtCapProperty {
                name: (*n).into(),
                max_occur: *occ,
                params: if types.is_empty() {
                    Vec::new()
                } else {
                    vec![CtCapParam {
                        name: "TYPE".into(),
                        values: types.iter().map(|s| (*s).into()).collect(),
                    }]
                },
                ..CtCapProperty::default()
            })
            .collect();
        Capability::from_ctcap(&props)
    }

    const SERVER: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:abc\r\nN:Doe;John;;;\r\nFN:John Doe\r\nTEL;TYPE=cell:+41 79 111 11 11\r\nTEL;TYPE=home:+41 44 222 22 22\r\nTEL;TYPE=work:+41 44 333 33 33\r\nEMAIL;TYPE=internet:john@example.com\r\nNOTE:long note\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\nX-SOCIAL:xyz\r\nEND:VCARD\r\n";

    /// A Funambol task edit: what SIF-T carries (percent done, Funambol fields, unknown
    /// elements kept as `X-SIF-`) follows the device, deletions included; the rest stays.
    #[test]
    fn sif_task_edit_keeps_and_removes_funambol_fields() {
        let server = card(concat!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VTODO\r\n",
            "UID:t1\r\nSUMMARY:Report\r\nPERCENT-COMPLETE:20\r\n",
            "X-FUNAMBOL-MILEAGE:12 km\r\nX-FUNAMBOL-BILLINGINFO:acct 7\r\n",
            "X-SIF-CUSTOM;X-SIF-NAME=Custom:old\r\nX-SIF-GONE;X-SIF-NAME=Gone:bye\r\n",
            "ATTENDEE:mailto:a@example.com\r\nX-NEXTCLOUD-TAG:blue\r\n",
            "END:VTODO\r\nEND:VCALENDAR\r\n",
        ));
        let sift = concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><task><SIFVersion>1.1</SIFVersion>",
            "<Subject>Report</Subject><PercentComplete>60</PercentComplete>",
            "<Mileage>30 km</Mileage><Custom>new</Custom></task>",
        );
        let opts = super::super::ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
        let phone = super::super::sif::task::to_dav(sift.as_bytes(), &opts).unwrap();
        let cap = Capability::from_format(Format::Sift);
        let out = merge(&server, &phone, &cap).unwrap();
        let todo = out.components_named("VTODO").next().unwrap();
        assert_eq!(todo.value("UID"), Some("t1"));
        assert_eq!(todo.value("PERCENT-COMPLETE"), Some("60"));
        assert_eq!(todo.value("X-FUNAMBOL-MILEAGE"), Some("30 km"));
        assert_eq!(todo.value("X-SIF-CUSTOM"), Some("new"));
        // Fields a SIF-T device holds but left out are deletions.
        assert_eq!(todo.value("X-FUNAMBOL-BILLINGINFO"), None);
        assert_eq!(todo.value("X-SIF-GONE"), None);
        // What SIF-T has no element for stays.
        assert_eq!(todo.value("ATTENDEE"), Some("mailto:a@example.com"));
        assert_eq!(todo.value("X-NEXTCLOUD-TAG"), Some("blue"));
        // And the device is sent what it can hold of them.
        let sent = cap.restrict(todo);
        assert_eq!(sent.value("X-SIF-CUSTOM"), Some("new"));
        assert_eq!(sent.value("X-NEXTCLOUD-TAG"), None);
    }

    #[test]
    fn two_slot_phone_never_erases_the_third_number() {
        let cap = ctcap(&[
            ("N", None, &[]),
            ("TEL", Some(2), &[]),
            ("EMAIL", None, &[]),
        ]);
        let phone = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\nTEL;TYPE=cell:+41791111111\r\nTEL;TYPE=home:+41 44 999 99 99\r\nEMAIL:john@example.com\r\nEND:VCARD\r\n");
        let out = merge(&card(SERVER), &phone, &cap).unwrap();
        let tels: Vec<&str> = out
            .properties_named("TEL")
            .map(|p| p.value.as_str())
            .collect();
        assert_eq!(
            tels,
            ["+41 79 111 11 11", "+41 44 999 99 99", "+41 44 333 33 33"]
        );
        assert_eq!(out.value("UID"), Some("abc"));
        assert_eq!(out.value("PHOTO"), Some("AAAA"));
        assert_eq!(out.value("X-SOCIAL"), Some("xyz"));
        assert_eq!(
            out.value("NOTE"),
            Some("long note"),
            "NOTE not in CTCap: kept"
        );
        assert_eq!(
            out.value("FN"),
            None,
            "FN storable (implied by N) and left out: deleted"
        );
    }

    #[test]
    fn left_out_storable_property_is_a_deletion() {
        let cap = ctcap(&[
            ("N", None, &[]),
            ("FN", None, &[]),
            ("NOTE", None, &[]),
            ("TEL", None, &["CELL", "HOME", "WORK"]),
        ]);
        let phone = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\nFN:John Doe\r\nTEL;TYPE=cell:+41791111111\r\nEND:VCARD\r\n");
        let out = merge(&card(SERVER), &phone, &cap).unwrap();
        assert_eq!(out.value("NOTE"), None);
        assert_eq!(out.properties_named("TEL").count(), 1);
        assert_eq!(
            out.value("EMAIL"),
            Some("john@example.com"),
            "EMAIL not storable"
        );
    }

    #[test]
    fn unknown_capability_only_replaces_what_is_present() {
        let phone = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Johnny;;;\r\nEND:VCARD\r\n");
        let out = merge(&card(SERVER), &phone, &Capability::unknown()).unwrap();
        assert_eq!(out.value("N"), Some("Doe;Johnny;;;"));
        assert_eq!(out.properties_named("TEL").count(), 3);
        assert_eq!(out.value("NOTE"), Some("long note"));
    }

    #[test]
    fn types_the_phone_lacks_are_invisible() {
        let cap = ctcap(&[("TEL", None, &["CELL", "HOME"])]);
        let phone =
            card("BEGIN:VCARD\r\nVERSION:3.0\r\nTEL;TYPE=CELL:+41791111111\r\nEND:VCARD\r\n");
        let out = merge(&card(SERVER), &phone, &cap).unwrap();
        let tels: Vec<&str> = out
            .properties_named("TEL")
            .map(|p| p.value.as_str())
            .collect();
        // home deleted on the phone; work never fitted a phone slot.
        assert_eq!(tels, ["+41 79 111 11 11", "+41 44 333 33 33"]);
    }

    #[test]
    fn cut_off_and_missing_structured_fields_keep_the_server_value() {
        let server = card("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans;Peter;Dr.;\r\nNOTE:a very long note that the phone cut\r\nEND:VCARD\r\n");
        let phone = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hansi\r\nNOTE:a very long\r\nEND:VCARD\r\n",
        );
        let cap = Capability::from_format(Format::Vcard21).with_limited_field_lengths(true);
        let out = merge(&server, &phone, &cap).unwrap();
        assert_eq!(out.value("N"), Some("Müller;Hansi;Peter;Dr.;"));
        assert_eq!(
            out.value("NOTE"),
            Some("a very long note that the phone cut")
        );
    }

    #[test]
    fn calendar_keeps_timezones_overrides_and_alarms_beyond_slots() {
        let server = card("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:e1\r\nSUMMARY:old\r\nATTENDEE:mailto:a@b\r\nDTSTART;TZID=Europe/Berlin:20240101T100000\r\nRRULE:FREQ=DAILY\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nBEGIN:VALARM\r\nTRIGGER:-PT1H\r\nACTION:EMAIL\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:e1\r\nRECURRENCE-ID:20240102T100000\r\nSUMMARY:moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = card("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:new\r\nDTSTART;TZID=Europe/Berlin:20240101T100000\r\nRRULE:FREQ=DAILY\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let out = merge(&server, &phone, &Capability::from_format(Format::Vcal10)).unwrap();
        assert_eq!(out.components.len(), 3);
        let ev = &out.components[1];
        assert_eq!(ev.value("SUMMARY"), Some("new"));
        assert_eq!(ev.value("UID"), Some("e1"));
        assert_eq!(ev.value("ATTENDEE"), Some("mailto:a@b"));
        let triggers: Vec<_> = ev
            .components
            .iter()
            .map(|a| a.value("TRIGGER").unwrap())
            .collect();
        assert_eq!(triggers, ["-PT5M", "-PT1H"]);
        assert_eq!(out.components[2].value("SUMMARY"), Some("moved"));
    }

    #[test]
    fn a_repeated_item_never_deletes_what_the_phone_was_not_sent() {
        let cap = ctcap(&[("TEL", Some(1), &[])]);
        let server = card("BEGIN:VCARD\r\nTEL:1\r\nTEL:2\r\nTEL:3\r\nEND:VCARD\r\n");
        let phone = card("BEGIN:VCARD\r\nN:x\r\nEND:VCARD\r\n");
        let once = merge_with_sent(&server, &phone, &cap, &server).unwrap();
        let values = |c: &Component| -> Vec<String> {
            c.properties_named("TEL").map(|p| p.value.clone()).collect()
        };
        assert_eq!(values(&once), ["2", "3"]);
        let twice = merge_with_sent(&once, &phone, &cap, &server).unwrap();
        assert_eq!(twice, once);
        // Without the snapshot the window moves up: the documented limit of `merge`.
        assert_eq!(values(&merge(&once, &phone, &cap).unwrap()), ["3"]);
    }

    #[test]
    fn a_value_sent_back_unchanged_keeps_the_servers_parameters() {
        let server = card(concat!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\n",
            "PHOTO;ENCODING=b;TYPE=JPEG:AAECAwQ=\r\n",
            "item1.TEL;TYPE=home;X-ABLABEL=Landline:+41 44 222 22 22\r\n",
            "TEL;TYPE=cell,pref:+41 79 111 11 11\r\n",
            "BDAY:19800102\r\nEMAIL:old@example.com\r\nEND:VCARD\r\n",
        ));
        // What a vCard 2.1 phone sends back after an e-mail edit, converted: the photo's
        // type dropped, base64 wrapped its own way, numbers and date in its spelling.
        let phone = card(concat!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John\r\n",
            "PHOTO;ENCODING=b:AAEC\r\n AwQ\r\n",
            "TEL;TYPE=HOME:044 222 22 22\r\nTEL;TYPE=CELL:+41791111111\r\n",
            "BDAY:1980-01-02\r\nEMAIL:new@example.com\r\nEND:VCARD\r\n",
        ));
        let cap = Capability::from_format(Format::Vcard30);
        let out = merge(&server, &phone, &cap).unwrap();
        for kept in [
            "PHOTO;ENCODING=b;TYPE=JPEG:AAECAwQ=",
            "item1.TEL;TYPE=home;X-ABLABEL=Landline:+41 44 222 22 22",
            "TEL;TYPE=cell,pref:+41 79 111 11 11",
            "BDAY:19800102",
            "EMAIL:new@example.com",
        ] {
            assert!(out.to_string().contains(kept), "{kept} in\n{out}");
        }
        // A number the phone moved to another slot takes the phone's type, keeps the rest.
        let moved = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John\r\nTEL;TYPE=WORK:044 222 22 22\r\nEND:VCARD\r\n",
        );
        let out = merge(&server, &moved, &Capability::unknown()).unwrap();
        assert!(
            out.to_string()
                .contains("item1.TEL;TYPE=WORK;X-ABLABEL=Landline:+41 44 222 22 22"),
            "{out}"
        );
        // An event's start in another zone's spelling keeps the server's TZID.
        let ev = |start: &str| {
            card(&format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nSUMMARY:x\r\n{start}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
        };
        let server = ev("DTSTART;TZID=Europe/Berlin:20240704T100000");
        let out = merge(
            &server,
            &ev("DTSTART:20240704T080000Z"),
            &Capability::from_format(Format::Vcal10),
        )
        .unwrap();
        assert_eq!(out, server);
    }

    #[test]
    fn an_empty_property_clears_only_what_the_ctcap_holds() {
        let opts = super::super::ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
        let server = card(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nN:Doe;John;;;\r\nBDAY:1980-01-02\r\nROLE:Chief\r\nEND:VCARD\r\n",
        );
        for version in ["2.1", "3.0"] {
            let phone = super::super::to_dav(
                Format::Vcard30,
                format!("BEGIN:VCARD\r\nVERSION:{version}\r\nN:Doe;John;;;\r\nBDAY:\r\nROLE:\r\nEND:VCARD\r\n").as_bytes(),
                &opts,
            )
            .unwrap();
            assert!(phone.property("BDAY").is_none() && phone.property("ROLE").is_none());
            let holds_bday = ctcap(&[("N", None, &[]), ("BDAY", None, &[])]);
            let out = merge(&server, &phone, &holds_bday).unwrap();
            assert_eq!(out.value("BDAY"), None, "{version}: BDAY listed, cleared");
            assert_eq!(
                out.value("ROLE"),
                Some("Chief"),
                "{version}: ROLE not listed"
            );
            let lacks_bday = ctcap(&[("N", None, &[])]);
            let out = merge(&server, &phone, &lacks_bday).unwrap();
            assert_eq!(out.value("BDAY"), Some("1980-01-02"), "{version}");
            let out = merge(&server, &phone, &Capability::unknown()).unwrap();
            assert_eq!(
                out.value("BDAY"),
                Some("1980-01-02"),
                "{version}: nothing known"
            );
            assert_eq!(out.value("ROLE"), Some("Chief"), "{version}: nothing known");
        }
    }

    #[test]
    fn mismatched_items_are_an_error() {
        let a = card("BEGIN:VCARD\r\nEND:VCARD\r\n");
        let b = card("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
        assert!(matches!(
            merge(&a, &b, &Capability::unknown()),
            Err(ConvertError::MergeMismatch { .. })
        ));
    }

    fn vevent(text: &str) -> Component {
        card(&format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{text}END:VCALENDAR\r\n"
        ))
    }

    #[test]
    fn the_phones_dtend_replaces_the_servers_duration_and_due_replaces_it_in_a_task() {
        let server = vevent(
            "BEGIN:VEVENT\r\nUID:e\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n",
        );
        let phone = vevent(
            "BEGIN:VEVENT\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T110000Z\r\nEND:VEVENT\r\n",
        );
        let cap = ctcap(&[
            ("SUMMARY", None, &[]),
            ("DTSTART", None, &[]),
            ("DTEND", None, &[]),
        ]);
        let merged = merge(&server, &phone, &cap).unwrap();
        let ev = master(&merged).unwrap();
        assert_eq!(ev.value("DTEND"), Some("20260310T110000Z"));
        assert!(ev.property("DURATION").is_none(), "{merged:?}");

        let server = vevent(
            "BEGIN:VTODO\r\nUID:t\r\nSUMMARY:Pay\r\nDTSTART:20260310T090000Z\r\nDURATION:P2D\r\nEND:VTODO\r\n",
        );
        let phone = vevent("BEGIN:VTODO\r\nSUMMARY:Pay\r\nDUE:20260313T090000Z\r\nEND:VTODO\r\n");
        let merged = merge(&server, &phone, &Capability::unknown()).unwrap();
        let todo = master(&merged).unwrap();
        assert_eq!(todo.value("DUE"), Some("20260313T090000Z"));
        assert!(todo.property("DURATION").is_none(), "{merged:?}");
    }

    #[test]
    fn the_phones_duration_replaces_the_servers_dtend() {
        let server = vevent(
            "BEGIN:VEVENT\r\nUID:e\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nEND:VEVENT\r\n",
        );
        let phone =
            vevent("BEGIN:VEVENT\r\nDTSTART:20260310T090000Z\r\nDURATION:PT3H\r\nEND:VEVENT\r\n");
        let merged = merge(&server, &phone, &Capability::unknown()).unwrap();
        let ev = master(&merged).unwrap();
        assert_eq!(ev.value("DURATION"), Some("PT3H"));
        assert!(ev.property("DTEND").is_none(), "{merged:?}");
    }
}
