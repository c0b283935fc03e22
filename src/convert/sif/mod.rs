//! Funambol SIF (SIF-C, SIF-E, SIF-T, SIF-N): a flat XML element tree, the base64 wrapping
//! clients use, value formats shared by the four kinds, and the TOML field-table type the
//! per-kind mappings in `mappings/sif/` are read into.

pub mod calendar;
pub mod contact;
pub mod event;
pub mod note;
pub mod task;

use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::Deserialize;

use super::{ConvertError, Format};

/// One SIF element: its attributes, text and child elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SifElement {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<SifElement>,
}

impl SifElement {
    pub fn new(name: &str) -> SifElement {
        SifElement {
            name: name.to_owned(),
            ..SifElement::default()
        }
    }

    /// A leaf with text.
    pub fn leaf(name: &str, text: impl Into<String>) -> SifElement {
        SifElement {
            name: name.to_owned(),
            text: text.into(),
            ..SifElement::default()
        }
    }

    /// The first child named `name` (SIF names are matched case-insensitively).
    pub fn child(&self, name: &str) -> Option<&SifElement> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Nesting limit for hostile input (real SIF nests three deep). The tree is built on
/// a heap stack and walked recursively only after this bound.
pub const MAX_DEPTH: usize = 16;

/// The XML elements a SIF format reads and writes (what the bridge's DevInf lists for
/// it); empty for a format that is not SIF.
pub fn element_names(format: Format) -> Vec<String> {
    match format {
        Format::Sifc => contact::element_names(),
        Format::Sife => event::element_names(),
        Format::Sift => task::element_names(),
        Format::Sifn => note::element_names(),
        _ => Vec::new(),
    }
}

/// The SIF XML of an item that may arrive plain or base64-encoded (`b64` Format).
pub fn decode_body(input: &[u8], format: Format) -> Result<String, ConvertError> {
    let trimmed = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let start = trimmed
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(trimmed.len());
    let bytes = if trimmed.get(start) == Some(&b'<') {
        trimmed.to_vec()
    } else {
        let compact: Vec<u8> = trimmed
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|source| ConvertError::Base64 { format, source })?
    };
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    String::from_utf8(bytes).map_err(|_| ConvertError::NotText { format })
}

/// Parses SIF XML (plain or base64) into its root element.
pub fn parse(input: &[u8], format: Format) -> Result<SifElement, ConvertError> {
    let text = decode_body(input, format)?;
    let xml_err = |reason: String| ConvertError::Xml { format, reason };
    let mut reader = Reader::from_str(&text);
    let mut stack: Vec<SifElement> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ConvertError::TooDeep {
                        format,
                        limit: MAX_DEPTH,
                    });
                }
                stack.push(element_of(&e).map_err(xml_err)?);
            }
            Ok(Event::Empty(e)) => {
                let el = element_of(&e).map_err(xml_err)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Ok(Event::Text(t)) => {
                let s = t.unescape().map_err(|e| xml_err(e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Ok(Event::CData(c)) => {
                let s = String::from_utf8_lossy(&c.into_inner()).into_owned();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Ok(Event::End(_)) => {
                let Some(mut done) = stack.pop() else {
                    return Err(xml_err("closing tag without an opening one".into()));
                };
                if !done.children.is_empty() && done.text.trim().is_empty() {
                    done.text.clear();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Ok(Event::Eof) => {
                return Err(xml_err(match stack.first() {
                    Some(root) => format!("<{}> is not closed", root.name),
                    None => "no root element".into(),
                }))
            }
            Ok(_) => {}
            Err(e) => return Err(xml_err(e.to_string())),
        }
    }
}

fn element_of(e: &BytesStart<'_>) -> Result<SifElement, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| err.to_string())?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a.unescape_value().map_err(|err| err.to_string())?;
        attrs.push((key, value.into_owned()));
    }
    Ok(SifElement {
        name,
        attrs,
        ..SifElement::default()
    })
}

/// Writes a SIF document (UTF-8, with the XML declaration).
pub fn write(root: &SifElement) -> Vec<u8> {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_element(root, &mut out);
    out.into_bytes()
}

fn write_element(e: &SifElement, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&quick_xml::escape::escape(v.as_str()));
        out.push('"');
    }
    if e.children.is_empty() && e.text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    out.push_str(&quick_xml::escape::escape(e.text.as_str()));
    for c in &e.children {
        write_element(c, out);
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

/// How a SIF value is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Plain text (CRLF line breaks in SIF).
    #[default]
    Text,
    /// `yyyy-MM-dd`.
    Date,
    /// A list (`Categories`), `,` or `;` separated.
    List,
    /// Base64 with `ENCODING`/`TYPE` attributes (`Photo`).
    Binary,
    /// A code mapped through `values`.
    Enum,
}

/// One row of a `mappings/sif/*.toml` field table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// SIF element name.
    pub sif: String,
    /// DAV property name.
    pub property: String,
    /// TYPE values that select the property instance (upper-case).
    #[serde(default)]
    pub types: Vec<String>,
    /// Field of a structured value (N, ADR, ORG), 0-based.
    #[serde(default)]
    pub index: Option<usize>,
    /// Which instance with these types (1 = first).
    #[serde(default = "one")]
    pub occurrence: usize,
    #[serde(default)]
    pub kind: FieldKind,
    /// For `enum`: pairs of SIF code and DAV value.
    #[serde(default)]
    pub values: Vec<[String; 2]>,
}

fn one() -> usize {
    1
}

/// A field table file: `[[field]]` rows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    #[serde(default)]
    pub field: Vec<FieldRule>,
}

impl FieldTable {
    /// Reads a table; the embedded tables are checked by unit tests.
    pub fn from_toml(text: &str) -> Result<FieldTable, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn rule(&self, sif: &str) -> Option<&FieldRule> {
        self.field.iter().find(|r| r.sif.eq_ignore_ascii_case(sif))
    }
}

impl FieldRule {
    /// The DAV value for a SIF code of an `enum` field.
    pub fn enum_to_dav(&self, code: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|[c, _]| c == code.trim())
            .map(|[_, v]| v.as_str())
    }

    /// The SIF code for a DAV value of an `enum` field.
    pub fn enum_to_sif(&self, value: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|[_, v]| v.eq_ignore_ascii_case(value.trim()))
            .map(|[c, _]| c.as_str())
    }
}

/// `yyyy-MM-dd` (or `yyyyMMdd`) -> `(y, m, d)` digits as `yyyyMMdd`, if it is a date.
pub fn sif_date_digits(value: &str) -> Option<String> {
    let digits: String = value.trim().chars().filter(|c| *c != '-').collect();
    (digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// `yyyyMMdd` or `yyyy-MM-dd` -> SIF `yyyy-MM-dd`.
pub fn format_sif_date(value: &str) -> Option<String> {
    let d = sif_date_digits(value)?;
    Some(format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
}

/// SIF booleans: `1`/`0`, also `true`/`false` from some clients.
pub fn parse_bool(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sif_format_names_the_elements_it_reads() {
        for (format, must) in [
            (Format::Sifc, ["SIFVersion", "FirstName", "Email1Address"]),
            (Format::Sife, ["Start", "Subject", "ReminderSet"]),
            (Format::Sift, ["DueDate", "Subject", "PercentComplete"]),
            (Format::Sifn, ["Subject", "Body", "Color"]),
        ] {
            let names = element_names(format);
            for m in must {
                assert!(names.iter().any(|n| n == m), "{format}: {m} in {names:?}");
            }
            let mut unique = names.clone();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{format}: {names:?}");
        }
        assert!(element_names(Format::Vcard21).is_empty());
    }

    #[test]
    fn plain_and_base64_bodies() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><contact><SIFVersion>1.1</SIFVersion><FirstName>J&amp;o</FirstName><Body>a\r\nb</Body><Photo ENCODING=\"BASE64\" TYPE=\"JPG\">AAAA</Photo><Empty/></contact>";
        let root = parse(xml.as_bytes(), Format::Sifc).unwrap();
        assert_eq!(root.name, "contact");
        assert_eq!(root.child_text("firstname"), Some("J&o"));
        assert_eq!(root.child_text("Body"), Some("a\r\nb"));
        assert_eq!(root.child("Photo").unwrap().attr("type"), Some("JPG"));
        assert_eq!(root.child_text("Empty"), Some(""));
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        assert_eq!(parse(b64.as_bytes(), Format::Sifc).unwrap(), root);
        let again = parse(&write(&root), Format::Sifc).unwrap();
        assert_eq!(again, root);
    }

    #[test]
    fn nesting_ten_and_a_thousand_times_the_limit_is_refused() {
        for n in [10 * MAX_DEPTH, 1000 * MAX_DEPTH] {
            let xml = format!("{}{}", "<contact>".repeat(n), "</contact>".repeat(n));
            let err = parse(xml.as_bytes(), Format::Sifc).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConvertError::TooDeep {
                        limit: MAX_DEPTH,
                        ..
                    }
                ),
                "{err}"
            );
        }
        let deepest = format!(
            "{}{}",
            "<contact>".repeat(MAX_DEPTH),
            "</contact>".repeat(MAX_DEPTH)
        );
        let root = parse(deepest.as_bytes(), Format::Sifc).unwrap();
        assert_eq!(parse(&write(&root), Format::Sifc).unwrap(), root);
    }

    #[test]
    fn nested_elements() {
        let xml = b"<appointment><Exceptions><ExcludeDate>2009-10-23</ExcludeDate></Exceptions></appointment>";
        let root = parse(xml, Format::Sife).unwrap();
        let ex = root.child("Exceptions").unwrap();
        assert_eq!(ex.child_text("ExcludeDate"), Some("2009-10-23"));
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        assert!(matches!(
            parse(b"!!!", Format::Sifc),
            Err(ConvertError::Base64 { .. })
        ));
        assert!(matches!(
            parse(b"<contact><a>", Format::Sifc),
            Err(ConvertError::Xml { .. })
        ));
        assert!(matches!(
            parse(b"<a></b>", Format::Sifc),
            Err(ConvertError::Xml { .. })
        ));
        assert!(matches!(
            parse(b"<a>\xff</a>", Format::Sifc),
            Err(ConvertError::NotText { .. })
        ));
        let deep = "<a>".repeat(100);
        assert!(matches!(
            parse(deep.as_bytes(), Format::Sifc),
            Err(ConvertError::TooDeep { .. })
        ));
    }
}
