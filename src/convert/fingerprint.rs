//! A digest of what an item says, for telling whether a phone's copy is still the one it
//! last exchanged with the server. The same content read from the same phone gives the
//! same digest: the order of lines and parameters, transfer encodings, stamps the
//! converter adds, the UID and empty values ("no value here") do not count.
//!
//! The per-field digests tell which fields of a copy changed, for a merge that takes each
//! field from the side that changed it.
//!
//! Only equality is trusted, and only in one direction: an equal digest means the copy
//! holds the same values; a different one may still be the same item spelt anew, so the
//! caller must then treat the copy as changed.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::empty;
use super::spelling;
use super::vobject::{Component, Property};

/// Lines that change without anyone changing the item.
const IGNORED: &[&str] = &[
    "BEGIN",
    "END",
    "VERSION",
    "PRODID",
    "REV",
    "UID",
    "DTSTAMP",
    "LAST-MODIFIED",
    "CREATED",
    "SEQUENCE",
    "X-IRMC-LUID",
];

/// Parameters that say how a value was carried, not what it is.
const TRANSPORT_PARAMS: &[&str] = &["CHARSET", "ENCODING"];

/// What an item says: the digest of the whole, and one per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// 32 hex digits over every line.
    pub whole: String,
    /// `VCARD/EMAIL`, `VCALENDAR/VEVENT/SUMMARY`... -> 12 hex digits over that field's
    /// lines; a field without a value has none.
    pub fields: BTreeMap<String, String>,
}

/// The fingerprint of `item`.
pub fn of(item: &Component) -> Fingerprint {
    let mut lines = Vec::new();
    collect(item, &item.name, &mut lines);
    lines.sort();
    let mut fields: BTreeMap<String, Sha256> = BTreeMap::new();
    let mut h = Sha256::new();
    for (field, l) in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
        let f = fields.entry(field.clone()).or_default();
        f.update(l.as_bytes());
        f.update(b"\n");
    }
    Fingerprint {
        whole: hex(&h.finalize(), 16),
        fields: fields
            .into_iter()
            .map(|(k, f)| (k, hex(&f.finalize(), 6)))
            .collect(),
    }
}

/// The field a property's lines count under in [`Fingerprint::fields`].
pub fn field_key(path: &str, property: &str) -> String {
    format!("{path}/{}", property.to_ascii_uppercase())
}

fn hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

fn collect(c: &Component, path: &str, lines: &mut Vec<(String, String)>) {
    for p in &c.properties {
        if IGNORED.iter().any(|i| p.name.eq_ignore_ascii_case(i)) || empty::is_empty(p) {
            continue;
        }
        let field = field_key(path, &p.name);
        lines.push((field.clone(), format!("{field}/{}", line(p))));
    }
    for sub in &c.components {
        collect(sub, &format!("{path}/{}", sub.name), lines);
    }
}

/// One property as `NAME;PARAM=V,V:value`, parameters and their values sorted.
fn line(p: &Property) -> String {
    let mut params: Vec<String> = p
        .params
        .iter()
        .filter(|q| {
            !TRANSPORT_PARAMS
                .iter()
                .any(|t| q.name.eq_ignore_ascii_case(t))
        })
        .map(|q| {
            let mut values: Vec<String> = q
                .values
                .iter()
                .map(|v| v.trim().to_ascii_uppercase())
                .filter(|v| !v.is_empty())
                .collect();
            values.sort();
            values.dedup();
            format!("{}={}", q.name.to_ascii_uppercase(), values.join(","))
        })
        .collect();
    params.sort();
    let value = match spelling::binary_payload(p) {
        Some(bytes) => {
            format!("bin:{}", hex(&Sha256::digest(&bytes), 32))
        }
        None => without_trailing_parts(p.value.trim()).to_owned(),
    };
    format!(
        "{}{}{}:{value}",
        p.name.to_ascii_uppercase(),
        if params.is_empty() { "" } else { ";" },
        params.join(";")
    )
}

/// A structured value without its empty trailing parts: `Doe;Jane;;;` says what
/// `Doe;Jane` says.
fn without_trailing_parts(v: &str) -> &str {
    let mut out = v;
    while let Some(rest) = out.strip_suffix(';') {
        if rest.ends_with('\\') {
            break;
        }
        out = rest.trim_end();
    }
    out
}

#[cfg(test)]
pub(in crate::convert) mod tests {
    use super::*;
    use crate::convert::vobject::Param;

    /// A vCard of `(name, value)` properties.
    pub(in crate::convert) fn card(lines: &[(&str, &str)]) -> Component {
        let mut c = Component::new("VCARD");
        for (n, v) in lines {
            c.properties.push(Property::new(n, *v));
        }
        c
    }

    #[test]
    fn order_stamps_uid_and_empty_values_do_not_count() {
        let a = card(&[("N", "Doe;Jane;;;"), ("EMAIL", "j@x.org"), ("UID", "1")]);
        let b = card(&[
            ("VERSION", "2.1"),
            ("BDAY", ""),
            ("EMAIL", "j@x.org"),
            ("N", "Doe;Jane"),
            ("REV", "20260101T000000Z"),
        ]);
        assert_eq!(of(&a).whole, of(&b).whole);
    }

    #[test]
    fn any_value_or_type_change_counts() {
        let a = card(&[("N", "Doe;Jane"), ("TEL", "123")]);
        assert_ne!(
            of(&a).whole,
            of(&card(&[("N", "Doe;Jane"), ("TEL", "124")])).whole
        );
        assert_ne!(of(&a).whole, of(&card(&[("N", "Doe;Jane")])).whole);
        let mut typed = a.clone();
        typed.properties[1].params.push(Param::new("TYPE", "WORK"));
        assert_ne!(of(&a).whole, of(&typed).whole);
        let mut sub = a.clone();
        sub.components.push(card(&[("N", "x")]));
        assert_ne!(of(&a).whole, of(&sub).whole);
    }

    #[test]
    fn parameter_order_case_and_transport_do_not_count() {
        let mut a = card(&[("TEL", "123")]);
        a.properties[0].params = vec![
            Param {
                name: "TYPE".into(),
                values: vec!["cell".into(), "VOICE".into()],
            },
            Param::new("CHARSET", "UTF-8"),
        ];
        let mut b = card(&[("TEL", "123")]);
        b.properties[0].params = vec![Param {
            name: "TYPE".into(),
            values: vec!["VOICE".into(), "CELL".into()],
        }];
        assert_eq!(of(&a).whole, of(&b).whole);
    }

    #[test]
    fn each_field_has_its_own_digest() {
        let a = card(&[
            ("N", "Doe;Jane"),
            ("EMAIL", "a@x.org"),
            ("EMAIL", "b@x.org"),
        ]);
        let b = card(&[
            ("EMAIL", "b@x.org"),
            ("N", "Doe;Jane;;;"),
            ("EMAIL", "a@x.org"),
        ]);
        let c = card(&[("N", "Doe;Jane"), ("EMAIL", "a@x.org"), ("NOTE", "hi")]);
        let (fa, fb, fc) = (of(&a), of(&b), of(&c));
        assert_eq!(fa.fields, fb.fields);
        assert_eq!(fa.fields["VCARD/N"], fc.fields["VCARD/N"]);
        assert_ne!(fa.fields["VCARD/EMAIL"], fc.fields["VCARD/EMAIL"]);
        assert!(!fa.fields.contains_key("VCARD/NOTE"));
        assert!(fc.fields.contains_key("VCARD/NOTE"));
        assert!(!fa.fields.contains_key("VCARD/UID"));
    }
}
