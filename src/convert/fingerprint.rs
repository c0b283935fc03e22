//! A digest of what an item says, for telling whether a phone's copy is still the one it
//! last exchanged with the server. The same content read from the same phone gives the
//! same digest: the order of lines and parameters, transfer encodings, stamps the
//! converter adds, the UID and empty values ("no value here") do not count.
//!
//! Only equality is trusted, and only in one direction: an equal digest means the copy
//! holds the same values; a different one may still be the same item spelt anew, so the
//! caller must then treat the copy as changed.

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

/// The digest of `item`, as 32 hex digits.
pub fn of(item: &Component) -> String {
    let mut lines = Vec::new();
    collect(item, &item.name, &mut lines);
    lines.sort();
    let mut h = Sha256::new();
    for l in &lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect(c: &Component, path: &str, lines: &mut Vec<String>) {
    for p in &c.properties {
        if IGNORED.iter().any(|i| p.name.eq_ignore_ascii_case(i)) || empty::is_empty(p) {
            continue;
        }
        lines.push(format!("{path}/{}", line(p)));
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
            let d = Sha256::digest(&bytes);
            format!(
                "bin:{}",
                d.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
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
mod tests {
    use super::*;
    use crate::convert::vobject::Param;

    fn card(lines: &[(&str, &str)]) -> Component {
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
        assert_eq!(of(&a), of(&b));
    }

    #[test]
    fn any_value_or_type_change_counts() {
        let a = card(&[("N", "Doe;Jane"), ("TEL", "123")]);
        assert_ne!(of(&a), of(&card(&[("N", "Doe;Jane"), ("TEL", "124")])));
        assert_ne!(of(&a), of(&card(&[("N", "Doe;Jane")])));
        let mut typed = a.clone();
        typed.properties[1].params.push(Param::new("TYPE", "WORK"));
        assert_ne!(of(&a), of(&typed));
        let mut sub = a.clone();
        sub.components.push(card(&[("N", "x")]));
        assert_ne!(of(&a), of(&sub));
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
        assert_eq!(of(&a), of(&b));
    }
}
