//! Both sides changed an item since the phone last held a copy of it. The copy's
//! per-field digests are the common base, so each field is told apart: one only the phone
//! changed takes the phone's change, one only the server changed keeps the server's, and
//! only a field both changed is left to the caller's rule (a slow sync's union, a conflict
//! policy).

use std::collections::BTreeMap;

use super::fingerprint::field_key;
use super::matching::main_of;
use super::merge::{is_in, SERVER_OWNED};
use super::vobject::{Component, Property};

/// What is known of one item's fields: digests per field (`fingerprint::Fingerprint::fields`).
pub type Fields = BTreeMap<String, String>;

/// The digests of each field, all read as the phone's format reads.
pub struct Sides<'a> {
    /// The copies the phone may hold from the last exchange, the newest last (the one
    /// confirmed, and one sent since whose acknowledgement did not come). Not empty.
    pub bases: Vec<&'a Fields>,
    /// The copy the phone sends now.
    pub phone: &'a Fields,
    /// The server's version as the phone would hold it.
    pub server: &'a Fields,
}

/// Which version a field of the result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Server,
    PhoneChange,
    Both,
}

impl Sides<'_> {
    pub fn source(&self, key: &str) -> Source {
        let phone_changed = self.bases.iter().all(|b| self.phone.get(key) != b.get(key));
        let server_changed = self
            .bases
            .last()
            .is_none_or(|b| self.server.get(key) != b.get(key));
        match (phone_changed, server_changed) {
            (false, _) => Source::Server,
            (true, false) => Source::PhoneChange,
            (true, true) => Source::Both,
        }
    }
}

/// The result, field by field of the main component: `server`'s where the phone did not
/// change the field, `phone_change`'s (the phone's version merged into the server's)
/// where only the phone did, `both`'s where both did. Everything outside the main
/// component's properties (zones, overrides, alarms) comes from `both`.
pub fn pick(
    server: &Component,
    phone_change: &Component,
    both: &Component,
    sides: &Sides<'_>,
) -> Component {
    let mut out = both.clone();
    let path = main_path(&out);
    let mut names: Vec<String> = Vec::new();
    for tree in [server, phone_change, both] {
        for p in &main_of(tree).properties {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&p.name)) {
                names.push(p.name.clone());
            }
        }
    }
    for name in names {
        if is_in(SERVER_OWNED, &name) {
            continue;
        }
        let from = match sides.source(&field_key(&path, &name)) {
            Source::Server => server,
            Source::PhoneChange => phone_change,
            Source::Both => continue,
        };
        let taken: Vec<Property> = main_of(from).properties_named(&name).cloned().collect();
        replace_named(main_mut(&mut out), &name, taken);
    }
    out
}

/// The field path of the main component, as `fingerprint` writes it.
fn main_path(item: &Component) -> String {
    let main = main_of(item);
    if std::ptr::eq(main, item) {
        item.name.clone()
    } else {
        format!("{}/{}", item.name, main.name)
    }
}

fn main_mut(item: &mut Component) -> &mut Component {
    if item.name != "VCALENDAR" {
        return item;
    }
    let at = item
        .components
        .iter()
        .position(|c| c.name != "VTIMEZONE" && c.property("RECURRENCE-ID").is_none());
    match at {
        Some(i) => &mut item.components[i],
        None => item,
    }
}

/// `c`'s properties named `name` replaced by `taken`, where the first of them stood.
fn replace_named(c: &mut Component, name: &str, taken: Vec<Property>) {
    let at = c
        .properties
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(name))
        .unwrap_or(c.properties.len());
    c.properties.retain(|p| !p.name.eq_ignore_ascii_case(name));
    let at = at.min(c.properties.len());
    c.properties.splice(at..at, taken);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::fingerprint;
    use crate::convert::fingerprint::tests::card;

    fn digests(c: &Component) -> Fields {
        fingerprint::of(c).fields
    }

    fn values(c: &Component, name: &str) -> Vec<String> {
        main_of(c)
            .properties_named(name)
            .map(|p| p.value.clone())
            .collect()
    }

    #[test]
    fn each_field_comes_from_the_side_that_changed_it() {
        let base = card(&[
            ("N", "Doe;Jane"),
            ("EMAIL", "old@x.org"),
            ("NOTE", "first"),
            ("TEL", "1"),
        ]);
        // The server replaced the e-mail; the phone rewrote the note and both changed TEL.
        let server = card(&[
            ("N", "Doe;Jane"),
            ("EMAIL", "new@x.org"),
            ("NOTE", "first"),
            ("TEL", "2"),
        ]);
        let phone = card(&[
            ("N", "Doe;Jane"),
            ("EMAIL", "old@x.org"),
            ("NOTE", "second"),
            ("TEL", "3"),
        ]);
        let (b, p, s) = (digests(&base), digests(&phone), digests(&server));
        let sides = Sides {
            bases: vec![&b],
            phone: &p,
            server: &s,
        };
        // What the caller's rules give: the phone's fields over the server's, and a union.
        let merged = phone.clone();
        let united = card(&[
            ("N", "Doe;Jane"),
            ("EMAIL", "new@x.org"),
            ("EMAIL", "old@x.org"),
            ("NOTE", "first"),
            ("TEL", "2"),
            ("TEL", "3"),
        ]);
        let out = pick(&server, &merged, &united, &sides);
        assert_eq!(values(&out, "EMAIL"), ["new@x.org"]);
        assert_eq!(values(&out, "NOTE"), ["second"]);
        assert_eq!(values(&out, "TEL"), ["2", "3"]);
        assert_eq!(values(&out, "N"), ["Doe;Jane"]);
    }

    #[test]
    fn a_field_the_phone_removed_goes_and_one_it_cannot_hold_stays() {
        let base = card(&[("N", "Doe;Jane"), ("TITLE", "Boss"), ("NOTE", "n")]);
        let server = card(&[
            ("N", "Doe;Jane"),
            ("TITLE", "Boss"),
            ("NOTE", "changed"),
            ("X-SPOUSE", "Sam"),
        ]);
        let phone = card(&[("N", "Doe;Jane"), ("NOTE", "n")]);
        let (b, p) = (digests(&base), digests(&phone));
        // The phone cannot hold X-SPOUSE: its view of the server lacks it.
        let view = digests(&card(&[
            ("N", "Doe;Jane"),
            ("TITLE", "Boss"),
            ("NOTE", "changed"),
        ]));
        let sides = Sides {
            bases: vec![&b],
            phone: &p,
            server: &view,
        };
        let merged = card(&[("N", "Doe;Jane"), ("NOTE", "n"), ("X-SPOUSE", "Sam")]);
        let out = pick(&server, &merged, &server, &sides);
        assert!(values(&out, "TITLE").is_empty());
        assert_eq!(values(&out, "NOTE"), ["changed"]);
        assert_eq!(values(&out, "X-SPOUSE"), ["Sam"]);
    }

    #[test]
    fn an_event_is_picked_inside_its_calendar() {
        let event = |summary: &str, location: &str| {
            let mut cal = Component::new("VCALENDAR");
            let mut ev = Component::new("VEVENT");
            ev.properties.push(Property::new("SUMMARY", summary));
            ev.properties.push(Property::new("LOCATION", location));
            cal.components.push(ev);
            cal
        };
        let base = event("Lunch", "Here");
        let server = event("Lunch", "There");
        let phone = event("Brunch", "Here");
        let (b, p, s) = (digests(&base), digests(&phone), digests(&server));
        let sides = Sides {
            bases: vec![&b],
            phone: &p,
            server: &s,
        };
        let out = pick(&server, &phone, &server, &sides);
        assert_eq!(values(&out, "SUMMARY"), ["Brunch"]);
        assert_eq!(values(&out, "LOCATION"), ["There"]);
    }

    #[test]
    fn a_field_equal_to_either_copy_the_phone_may_hold_is_unchanged() {
        // The phone had "first"; "second" was sent and never acknowledged.
        let had = card(&[("N", "Doe;Jane"), ("NOTE", "first"), ("TEL", "1")]);
        let sent = card(&[("N", "Doe;Jane"), ("NOTE", "second"), ("TEL", "1")]);
        let phone = card(&[("N", "Doe;Jane"), ("NOTE", "first"), ("TEL", "9")]);
        let (h, x, p) = (digests(&had), digests(&sent), digests(&phone));
        let sides = Sides {
            bases: vec![&h, &x],
            phone: &p,
            server: &x,
        };
        assert_eq!(sides.source("VCARD/NOTE"), Source::Server);
        assert_eq!(sides.source("VCARD/TEL"), Source::PhoneChange);
        let out = pick(&sent, &phone, &sent, &sides);
        assert_eq!(values(&out, "NOTE"), ["second"]);
        assert_eq!(values(&out, "TEL"), ["9"]);
    }
}
