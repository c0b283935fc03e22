//! Uniting the two versions of one item that a slow sync pairs. Neither side is known to
//! be newer, so nothing of either is dropped: every number, address, e-mail, URL, IM
//! handle and category of both is kept (a value both hold, however spelled, once, as the
//! server spells it); a field that holds one value keeps the server's and takes the
//! device's only where the server has none; the empty parts of the server's name,
//! organisation or address are filled from the device's.

use super::capability::{Capability, CapabilitySource};
use super::matching::main_of;
use super::merge::{is_in, keep_end_form_of, merge_calendar, same_value, SERVER_OWNED, STRUCTURED};
use super::vobject::{
    escape_text, join_structured, split_escaped, split_structured, unescape_text, Component,
    Dialect, Property,
};
use super::ConvertError;

/// Properties that hold many values, one per instance.
const MULTI: &[&str] = &[
    "TEL", "EMAIL", "ADR", "URL", "IMPP", "LABEL", "RELATED", "MEMBER", "ATTENDEE", "EXDATE",
    "RDATE", "ATTACH",
];
/// Properties whose one instance holds a list of values.
const LISTS: &[&str] = &["CATEGORIES", "NICKNAME", "RESOURCES"];

/// The union of `server` and `phone` (DAV trees of the same item, the device's already
/// converted): a VCARD, or a VCALENDAR whose main item is united and whose zones and
/// recurrence overrides are the server's (plus zones only the device's refers to).
pub fn unite(server: &Component, phone: &Component) -> Result<Component, ConvertError> {
    if server.name != phone.name {
        return Err(ConvertError::MergeMismatch {
            existing: server.name.clone(),
            incoming: phone.name.clone(),
        });
    }
    if server.name == "VCALENDAR" {
        return merge_calendar(server, phone, None, &|s, p, _| unite_component(s, p));
    }
    Ok(unite_component(server, phone))
}

/// Whether `united` holds a value of a field the device keeps (per `cap`) that its own
/// version `phone` lacks: then the united item must go back to the device.
pub fn phone_lacks(united: &Component, phone: &Component, cap: &Capability) -> bool {
    let (u, p) = (main_of(united), main_of(phone));
    let keeps = |name: &str| cap.source() == CapabilitySource::Unknown || cap.can_store(name);
    let property_missing = u.properties.iter().any(|q| {
        !is_in(SERVER_OWNED, &q.name)
            && keeps(&q.name)
            && !p
                .properties_named(&q.name)
                .any(|x| same_value(&q.name, x, q))
    });
    let alarms = |c: &Component| c.components_named("VALARM").count();
    property_missing || (cap.can_store_component("VALARM") && alarms(u) > alarms(p))
}

fn unite_component(server: &Component, phone: &Component) -> Component {
    let mut out = server.clone();
    let mut names: Vec<&str> = Vec::new();
    for p in &phone.properties {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
            names.push(&p.name);
        }
    }
    for name in names {
        let theirs: Vec<&Property> = phone.properties_named(name).collect();
        let ours = server.properties_named(name).count();
        if ours == 0 {
            out.properties.extend(theirs.into_iter().cloned());
        } else if is_in(SERVER_OWNED, name) {
            // The server's stays.
        } else if is_in(LISTS, name) {
            unite_list(&mut out, name, &theirs);
        } else if is_in(MULTI, name) || ours > 1 || theirs.len() > 1 {
            for p in theirs {
                add_value(&mut out, p);
            }
        } else if is_in(STRUCTURED, name) {
            if let (Some(s), Some(p)) = (out.property_mut(name), theirs.first()) {
                if fields_agree(&s.value, &p.value) {
                    s.value = filled(&s.value, &p.value);
                }
            }
        }
        // Any other single value: the server's stays.
    }
    out.components = unite_subcomponents(server, phone);
    // One end of the server's form: its end is a single value like any other.
    keep_end_form_of(&mut out, server);
    out
}

/// Adds `p` unless an instance of its name already says the same; a structured value
/// that only fills empty fields of one fills them instead.
fn add_value(out: &mut Component, p: &Property) {
    let same_name = |q: &Property| q.name.eq_ignore_ascii_case(&p.name);
    if out
        .properties
        .iter()
        .any(|q| same_name(q) && same_value(&p.name, q, p))
    {
        return;
    }
    if is_in(STRUCTURED, &p.name) {
        if let Some(q) = out
            .properties
            .iter_mut()
            .find(|q| same_name(q) && fields_agree(&q.value, &p.value))
        {
            q.value = filled(&q.value, &p.value);
            return;
        }
    }
    let at = out
        .properties
        .iter()
        .rposition(same_name)
        .map_or(out.properties.len(), |i| i + 1);
    out.properties.insert(at, p.clone());
}

/// The device's list entries the server's first instance lacks are added to it.
fn unite_list(out: &mut Component, name: &str, theirs: &[&Property]) {
    let entries = |v: &str| -> Vec<String> {
        split_escaped(v, ',')
            .iter()
            .map(|e| unescape_text(e, Dialect::Standard).trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect()
    };
    let held: Vec<String> = out
        .properties_named(name)
        .flat_map(|p| entries(&p.value))
        .map(|e| e.to_lowercase())
        .collect();
    let mut new: Vec<String> = Vec::new();
    for e in theirs.iter().flat_map(|p| entries(&p.value)) {
        let lower = e.to_lowercase();
        if !held.contains(&lower) && !new.iter().any(|n| n.to_lowercase() == lower) {
            new.push(e);
        }
    }
    if new.is_empty() {
        return;
    }
    if let Some(first) = out.property_mut(name) {
        for e in new {
            first.value.push(',');
            first.value.push_str(&escape_text(&e, Dialect::Standard));
        }
    }
}

/// Every field both structured values fill is the same.
fn fields_agree(a: &str, b: &str) -> bool {
    let fa = split_structured(a, Dialect::Standard);
    let fb = split_structured(b, Dialect::Standard);
    fa.iter().zip(&fb).all(|(x, y)| {
        let (x, y) = (x.trim(), y.trim());
        x.is_empty() || y.is_empty() || x.eq_ignore_ascii_case(y)
    })
}

/// `server` with its empty fields filled from `phone`; unchanged when there is nothing
/// to fill, so the server's spelling stays.
fn filled(server: &str, phone: &str) -> String {
    let mut fs = split_structured(server, Dialect::Standard);
    let fp = split_structured(phone, Dialect::Standard);
    let mut changed = false;
    for (k, p) in fp.iter().enumerate() {
        if p.trim().is_empty() {
            continue;
        }
        match fs.get_mut(k) {
            Some(s) if s.trim().is_empty() => {
                s.clone_from(p);
                changed = true;
            }
            Some(_) => {}
            None => {
                fs.resize(k, String::new());
                fs.push(p.clone());
                changed = true;
            }
        }
    }
    if changed {
        join_structured(&fs, Dialect::Standard)
    } else {
        server.to_owned()
    }
}

/// The server's sub-components, plus the device's (alarms) that none of the server's
/// matches by kind and trigger.
fn unite_subcomponents(server: &Component, phone: &Component) -> Vec<Component> {
    let mut out = server.components.clone();
    let key = |c: &Component| {
        (
            c.name.clone(),
            c.value("TRIGGER").map(|t| t.trim().to_ascii_uppercase()),
        )
    };
    for c in &phone.components {
        if !out.iter().any(|s| key(s) == key(c)) {
            out.push(c.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::capability::{Capability, CtCapProperty};
    use super::super::vobject::{parse, ParseOptions};
    use super::*;

    fn item(text: &str) -> Component {
        parse(text.as_bytes(), &ParseOptions::standard()).unwrap()
    }

    fn card(lines: &[&str]) -> Component {
        item(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n{}\r\nEND:VCARD\r\n",
            lines.join("\r\n")
        ))
    }

    fn values(c: &Component, name: &str) -> Vec<String> {
        c.properties_named(name).map(|p| p.value.clone()).collect()
    }

    #[test]
    fn every_number_address_and_category_of_both_is_kept() {
        let server = card(&[
            "UID:srv-1",
            "N:Schmidt;Anna;;;",
            "TEL;TYPE=cell:+49 170 1111111",
            "TEL;TYPE=home:040 123456",
            "EMAIL;TYPE=home:familie@schmidt.example",
            "ADR;TYPE=home:;;Elbchaussee 1;Hamburg;;;",
            "CATEGORIES:Family,Hamburg",
            "ORG:Hafen AG",
            "NOTE:server note",
        ]);
        let phone = card(&[
            "N:Schmidt;Anna;Maria;;",
            "TEL;TYPE=CELL:0170 1111111",
            "TEL;TYPE=WORK:+49 40 999",
            "EMAIL:FAMILIE@schmidt.example",
            "EMAIL:anna@work.example",
            "ADR;TYPE=HOME:;;Elbchaussee 1;;;22763;",
            "URL:https://anna.example",
            "CATEGORIES:family,Friends",
            "TITLE:Lotsin",
            "NOTE:phone note",
        ]);
        let out = unite(&server, &phone).unwrap();
        assert_eq!(
            values(&out, "TEL"),
            ["+49 170 1111111", "040 123456", "+49 40 999"]
        );
        assert_eq!(
            values(&out, "EMAIL"),
            ["familie@schmidt.example", "anna@work.example"]
        );
        assert_eq!(values(&out, "ADR"), [";;Elbchaussee 1;Hamburg;;22763;"]);
        assert_eq!(values(&out, "CATEGORIES"), ["Family,Hamburg,Friends"]);
        assert_eq!(values(&out, "URL"), ["https://anna.example"]);
        assert_eq!(out.value("N"), Some("Schmidt;Anna;Maria;;"));
        assert_eq!(out.value("TITLE"), Some("Lotsin"), "the server had none");
        assert_eq!(
            out.value("NOTE"),
            Some("server note"),
            "one value: the server's"
        );
        assert_eq!(out.value("UID"), Some("srv-1"));
        // The server's instance stays as it is spelled, parameters and all.
        assert_eq!(
            out.properties_named("TEL").next().unwrap().types(),
            ["CELL"]
        );
        assert_eq!(
            out.properties_named("TEL").next().unwrap().params[0].values,
            ["cell"]
        );
        // Uniting again changes nothing.
        assert_eq!(unite(&out, &phone).unwrap(), out);
    }

    #[test]
    fn a_phone_that_lacks_a_value_it_could_hold_gets_the_united_item() {
        let server = card(&["N:A;B;;;", "TEL:1", "TEL:2", "X-SOCIAL:x"]);
        let phone = card(&["N:A;B;;;", "TEL:1"]);
        let out = unite(&server, &phone).unwrap();
        let tel_only = Capability::from_ctcap(&[
            CtCapProperty {
                name: "N".into(),
                ..CtCapProperty::default()
            },
            CtCapProperty {
                name: "TEL".into(),
                ..CtCapProperty::default()
            },
        ]);
        assert!(phone_lacks(&out, &phone, &tel_only));
        let same = card(&["N:A;B;;;", "TEL:2", "TEL:1"]);
        assert!(
            !phone_lacks(&out, &same, &tel_only),
            "X-SOCIAL it cannot hold"
        );
    }

    #[test]
    fn events_keep_the_servers_alarms_and_add_the_phones() {
        let server = item("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\nSUMMARY:Team\r\nDTSTART:20240101T100000Z\r\nATTENDEE:mailto:a@example.org\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = item("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Team\r\nDTSTART:20240101T100000Z\r\nLOCATION:Room 1\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let out = unite(&server, &phone).unwrap();
        let ev = &out.components[0];
        assert_eq!(ev.value("UID"), Some("e"));
        assert_eq!(ev.value("LOCATION"), Some("Room 1"));
        assert_eq!(ev.value("ATTENDEE"), Some("mailto:a@example.org"));
        let triggers: Vec<_> = ev
            .components
            .iter()
            .filter_map(|a| a.value("TRIGGER"))
            .collect();
        assert_eq!(triggers, ["-PT15M", "-PT5M"]);
    }
}
