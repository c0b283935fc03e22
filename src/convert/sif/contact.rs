//! SIF-C (`text/x-s4j-sifc`, root `<contact>`) <-> vCard, driven by the field table in
//! `mappings/sif/contact.toml`.

use std::sync::LazyLock;

use super::super::vcard::{self, VcardVersion};
use super::super::vobject::{
    escape_text, join_structured, split_escaped, split_structured, unescape_text, Component,
    Dialect, Param, Property,
};
use super::super::{ConvertError, ConvertOptions, DavVcardVersion, Format};
use super::{format_sif_date, FieldKind, FieldRule, FieldTable, SifElement};

static TABLE: LazyLock<FieldTable> = LazyLock::new(|| {
    FieldTable::from_toml(include_str!("../../../mappings/sif/contact.toml")).unwrap_or_else(|e| {
        // Embedded at build time and checked by a unit test.
        tracing::error!(error = %e, "mappings/sif/contact.toml is invalid");
        FieldTable::default()
    })
});

/// Prefix of properties that carry SIF elements the table does not know.
const UNKNOWN_PREFIX: &str = "X-SIF-";
/// Parameter keeping the element name's case for those.
const UNKNOWN_NAME_PARAM: &str = "X-SIF-NAME";
/// Types implied by the property and never part of a slot.
const IMPLIED_TYPES: &[&str] = &["VOICE", "INTERNET"];

fn field_count(property: &str) -> usize {
    match property {
        "N" => 5,
        "ADR" => 7,
        _ => 2,
    }
}

/// Upper-case, sorted types without the implied ones: the slot of an instance.
fn slot_types(types: &[String]) -> Vec<String> {
    let mut t: Vec<String> = types
        .iter()
        .map(|t| t.to_ascii_uppercase())
        .filter(|t| !IMPLIED_TYPES.contains(&t.as_str()))
        .collect();
    t.sort();
    t.dedup();
    t
}

/// Properties whose instances are told apart by TYPE.
fn is_slotted(name: &str) -> bool {
    matches!(name, "TEL" | "EMAIL" | "URL" | "ADR" | "LABEL")
}

fn photo_type_in(t: &str) -> String {
    match t.to_ascii_uppercase().as_str() {
        "JPG" => "JPEG".to_owned(),
        other => other.to_owned(),
    }
}

fn photo_type_out(t: &str) -> String {
    match t.to_ascii_uppercase().as_str() {
        "JPEG" => "JPG".to_owned(),
        other => other.to_owned(),
    }
}

enum Slot {
    Prop(Property),
    Structured {
        property: String,
        types: Vec<String>,
        fields: Vec<String>,
    },
}

fn typed(name: &str, value: String, types: &[String]) -> Property {
    let mut p = Property::new(name, value);
    let mut values: Vec<String> = types.iter().map(|t| t.to_ascii_lowercase()).collect();
    match name {
        "TEL" if values.is_empty() => values.push("voice".into()),
        "EMAIL" => values.insert(0, "internet".into()),
        _ => {}
    }
    if !values.is_empty() {
        p.params.push(Param {
            name: "TYPE".into(),
            values,
        });
    }
    p
}

/// A SIF-C item (plain or base64) as the DAV server stores it.
/// The elements SIF-C reads and writes: its version and every field of the table.
pub fn element_names() -> Vec<String> {
    let mut out = vec!["SIFVersion".to_owned()];
    for rule in &TABLE.field {
        if !out.contains(&rule.sif) {
            out.push(rule.sif.clone());
        }
    }
    out
}

pub fn to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let root = super::parse(input, Format::Sifc)?;
    if !root.name.eq_ignore_ascii_case("contact") {
        return Err(ConvertError::WrongComponent {
            format: Format::Sifc,
            expected: "contact",
            found: root.name,
        });
    }
    let mut slots: Vec<Slot> = Vec::new();
    for rule in &TABLE.field {
        let Some(el) = root.child(&rule.sif) else {
            continue;
        };
        let text = el.text.as_str();
        if text.trim().is_empty() {
            // Empty element: "no value"; the merge turns it into a deletion.
            continue;
        }
        if let Some(index) = rule.index {
            let types = slot_types(&rule.types);
            let existing = slots.iter_mut().find_map(|s| match s {
                Slot::Structured {
                    property,
                    types: t,
                    fields,
                } if *property == rule.property && *t == types => Some(fields),
                _ => None,
            });
            let fields = match existing {
                Some(f) => f,
                None => {
                    slots.push(Slot::Structured {
                        property: rule.property.clone(),
                        types,
                        fields: vec![String::new(); field_count(&rule.property)],
                    });
                    match slots.last_mut() {
                        Some(Slot::Structured { fields, .. }) => fields,
                        _ => continue,
                    }
                }
            };
            if index < fields.len() {
                fields[index] = text.to_owned();
            }
            continue;
        }
        if let Some(p) = property_from_element(rule, el) {
            slots.push(Slot::Prop(p));
        }
    }

    let mut card = Component::new("VCARD");
    card.push(Property::new("VERSION", "3.0"));
    for slot in slots {
        match slot {
            Slot::Prop(p) => card.push(p),
            Slot::Structured {
                property,
                types,
                fields,
            } => card.push(typed(
                &property,
                join_structured(&fields, Dialect::Standard),
                &types,
            )),
        }
    }
    for el in &root.children {
        let known = el.name.eq_ignore_ascii_case("SIFVersion") || TABLE.rule(&el.name).is_some();
        if known || !el.children.is_empty() || el.text.trim().is_empty() {
            continue;
        }
        let name = format!("{UNKNOWN_PREFIX}{}", el.name.to_ascii_uppercase());
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        card.push(
            Property::new(&name, escape_text(&el.text, Dialect::Standard))
                .with_param(UNKNOWN_NAME_PARAM, &el.name),
        );
    }
    vcard::ensure_fn(&mut card);
    Ok(match opts.dav_vcard {
        DavVcardVersion::V30 => card,
        DavVcardVersion::V40 => vcard::convert(&card, VcardVersion::V30, VcardVersion::V40),
    })
}

fn property_from_element(rule: &FieldRule, el: &SifElement) -> Option<Property> {
    let text = el.text.as_str();
    let name = rule.property.as_str();
    Some(match rule.kind {
        FieldKind::Text => typed(name, escape_text(text, Dialect::Standard), &rule.types),
        FieldKind::Date => {
            let v = format_sif_date(text).unwrap_or_else(|| text.trim().to_owned());
            Property::new(name, v)
        }
        FieldKind::List => {
            let items: Vec<String> = text
                .split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| escape_text(s, Dialect::Standard))
                .collect();
            Property::new(name, items.join(","))
        }
        FieldKind::Binary => {
            let data: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let mut p = Property::new(name, data).with_param("ENCODING", "b");
            if let Some(t) = el.attr("TYPE").filter(|t| !t.is_empty()) {
                p = p.with_param("TYPE", &photo_type_in(t));
            }
            p
        }
        FieldKind::Enum => Property::new(name, rule.enum_to_dav(text)?.to_owned()),
    })
}

/// A DAV vCard written as SIF-C XML (not base64: the SyncML layer applies the Format).
pub fn from_dav(card: &Component, _opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let version = vcard::version_of(card, VcardVersion::V30);
    let card = if version == VcardVersion::V30 {
        card.clone()
    } else {
        vcard::convert(card, version, VcardVersion::V30)
    };
    let props = &card.properties;
    let mut used = vec![false; props.len()];
    let mut values: Vec<Option<SifElement>> = vec![None; TABLE.field.len()];

    // Exact slots first: the n-th instance with exactly the rule's types.
    for (r, rule) in TABLE.field.iter().enumerate() {
        let want = slot_types(&rule.types);
        let mut seen = 0;
        for (k, p) in props.iter().enumerate() {
            if !p.name.eq_ignore_ascii_case(&rule.property)
                || (is_slotted(&p.name) && slot_types(&p.types()) != want)
            {
                continue;
            }
            seen += 1;
            if seen == rule.occurrence {
                values[r] = element_from_property(rule, p);
                if rule.index.is_none() {
                    used[k] = true;
                }
                break;
            }
        }
    }
    // Then instances with extra types (TEL;TYPE=cell,pref) into a free slot they cover.
    for (k, p) in props.iter().enumerate() {
        if used[k] || !is_slotted(&p.name) || p.name == "ADR" {
            continue;
        }
        let have = slot_types(&p.types());
        let free = TABLE.field.iter().enumerate().find(|(r, rule)| {
            values[*r].is_none()
                && rule.index.is_none()
                && rule.property == p.name
                && slot_types(&rule.types).iter().all(|t| have.contains(t))
        });
        if let Some((r, rule)) = free {
            values[r] = element_from_property(rule, p);
            used[k] = true;
        }
    }

    let mut root = SifElement::new("contact");
    root.children.push(SifElement::leaf("SIFVersion", "1.1"));
    root.children.extend(values.into_iter().flatten());
    for p in props {
        if let Some(upper) = p.name.strip_prefix(UNKNOWN_PREFIX) {
            let name = p
                .param(UNKNOWN_NAME_PARAM)
                .map(str::to_owned)
                .unwrap_or_else(|| upper.to_owned());
            root.children.push(SifElement::leaf(
                &name,
                unescape_text(&p.value, Dialect::Standard),
            ));
        }
    }
    Ok(super::write(&root))
}

fn element_from_property(rule: &FieldRule, p: &Property) -> Option<SifElement> {
    let text = match (rule.index, rule.kind) {
        (Some(i), _) => split_structured(&p.value, Dialect::Standard)
            .get(i)
            .cloned()
            .unwrap_or_default(),
        (None, FieldKind::Text) => unescape_text(&p.value, Dialect::Standard).replace('\n', "\r\n"),
        (None, FieldKind::Date) => format_sif_date(&p.value).unwrap_or_else(|| p.value.clone()),
        (None, FieldKind::List) => split_escaped(&p.value, ',')
            .iter()
            .map(|s| unescape_text(s, Dialect::Standard))
            .collect::<Vec<_>>()
            .join(","),
        (None, FieldKind::Binary) => {
            if !p.is_binary() {
                return None;
            }
            let mut el = SifElement::leaf(&rule.sif, p.value.clone());
            el.attrs.push(("ENCODING".into(), "BASE64".into()));
            if let Some(t) = p.types().first() {
                el.attrs.push(("TYPE".into(), photo_type_out(t)));
            }
            return Some(el);
        }
        (None, FieldKind::Enum) => rule.enum_to_sif(&p.value)?.to_owned(),
    };
    if rule.index.is_some() && text.is_empty() {
        return None;
    }
    Some(SifElement::leaf(&rule.sif, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(chrono::DateTime::UNIX_EPOCH)
    }

    const SIFC: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><contact><SIFVersion>1.1</SIFVersion><FirstName>John</FirstName><LastName>Brown</LastName><Email1Address>john@example.com</Email1Address><Email2Address>j@home.example</Email2Address><MobileTelephoneNumber>+391234</MobileTelephoneNumber><BusinessTelephoneNumber>+3902111</BusinessTelephoneNumber><Business2TelephoneNumber>+3902222</Business2TelephoneNumber><HomeAddressStreet>Via Roma 1</HomeAddressStreet><HomeAddressCity>Milano</HomeAddressCity><Birthday>1970-01-31</Birthday><Body>line1\r\nline2, more</Body><Categories>Work, Golf</Categories><Sensitivity>2</Sensitivity><Photo ENCODING=\"BASE64\" TYPE=\"JPG\">/9j/AA==</Photo><CustomThing>kept</CustomThing><Spouse></Spouse></contact>";

    #[test]
    fn table_loads() {
        assert!(TABLE.field.len() > 80);
        assert!(TABLE.rule("MobileTelephoneNumber").is_some());
    }

    #[test]
    fn sifc_to_vcard() {
        let card = to_dav(SIFC.as_bytes(), &opts()).unwrap();
        let text = card.to_string();
        assert!(text.contains("N:Brown;John;;;\r\n"), "{text}");
        assert!(text.contains("FN:John Brown\r\n"), "{text}");
        assert!(text.contains("TEL;TYPE=cell:+391234\r\n"), "{text}");
        assert!(
            text.contains("TEL;TYPE=work:+3902111\r\nTEL;TYPE=work:+3902222\r\n"),
            "{text}"
        );
        assert!(
            text.contains("EMAIL;TYPE=internet:john@example.com\r\n"),
            "{text}"
        );
        assert!(
            text.contains("EMAIL;TYPE=internet,home:j@home.example\r\n"),
            "{text}"
        );
        assert!(
            text.contains("ADR;TYPE=home:;;Via Roma 1;Milano;;;\r\n"),
            "{text}"
        );
        assert!(text.contains("BDAY:1970-01-31\r\n"));
        assert!(text.contains("NOTE:line1\\nline2\\, more\r\n"), "{text}");
        assert!(text.contains("CATEGORIES:Work,Golf\r\n"));
        assert!(text.contains("CLASS:PRIVATE\r\n"));
        assert!(
            text.contains("PHOTO;ENCODING=b;TYPE=JPEG:/9j/AA==\r\n"),
            "{text}"
        );
        assert!(
            text.contains("X-SIF-CUSTOMTHING;X-SIF-NAME=CustomThing:kept\r\n"),
            "{text}"
        );
        assert!(!text.contains("X-SPOUSE"));
    }

    #[test]
    fn vcard_to_sifc_and_back() {
        let card = to_dav(SIFC.as_bytes(), &opts()).unwrap();
        let sif = from_dav(&card, &opts()).unwrap();
        let root = super::super::parse(&sif, Format::Sifc).unwrap();
        assert_eq!(
            root.child_text("Business2TelephoneNumber"),
            Some("+3902222")
        );
        assert_eq!(root.child_text("Body"), Some("line1\r\nline2, more"));
        assert_eq!(root.child_text("CustomThing"), Some("kept"));
        assert_eq!(root.child("Photo").unwrap().attr("TYPE"), Some("JPG"));
        assert_eq!(root.child_text("HomeAddressCity"), Some("Milano"));
        assert_eq!(root.child_text("HomeAddressCountry"), None);
        let again = to_dav(&sif, &opts()).unwrap();
        assert_eq!(again, card);
    }

    #[test]
    fn vcard_types_find_their_slots() {
        let card = vcard::parse_dav(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nTEL;TYPE=CELL,PREF:1\r\nTEL;TYPE=WORK,PREF:2\r\nTEL;TYPE=FAX,WORK:3\r\nEMAIL:a@b\r\nEND:VCARD\r\n").unwrap();
        let root = super::super::parse(&from_dav(&card, &opts()).unwrap(), Format::Sifc).unwrap();
        assert_eq!(root.child_text("MobileTelephoneNumber"), Some("1"));
        assert_eq!(root.child_text("CompanyMainTelephoneNumber"), Some("2"));
        assert_eq!(root.child_text("BusinessFaxNumber"), Some("3"));
        assert_eq!(root.child_text("Email1Address"), Some("a@b"));
    }

    #[test]
    fn wrong_root_is_a_typed_error() {
        let err = to_dav(b"<appointment/>", &opts()).unwrap_err();
        assert!(matches!(err, ConvertError::WrongComponent { .. }));
    }
}
