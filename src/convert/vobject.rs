//! The content-line layer shared by vCard 2.1/3.0/4.0, vCalendar 1.0, iCalendar 2.0 and
//! vNote 1.1: bytes <-> a tree of components, properties and parameters.
//!
//! Transfer encodings are undone while parsing: quoted-printable and `CHARSET=` are
//! decoded into plain Rust text and the two parameters are dropped, because they describe
//! the wire, not the data. The writer puts them back as the target dialect and device
//! need. Escaping (`\;`, `\,`, `\n`) is left in the value: its meaning depends on the
//! property (text, structured, list), so the format modules handle it with the helpers
//! at the bottom of this file. Binary values (`ENCODING=BASE64` / `b`) stay base64 text
//! with the whitespace removed.

use std::fmt;

use thiserror::Error;

/// The two lexical families: versit-era (vCard 2.1, vCalendar 1.0, vNote 1.1) and
/// RFC 2425-based (vCard 3.0/4.0, iCalendar 2.0). They differ in folding, escaping,
/// parameter syntax and transfer encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// vCard 2.1, vCalendar 1.0, vNote 1.1: bare params, QP, CHARSET, LWSP-preserving folds.
    Old,
    /// vCard 3.0/4.0, iCalendar 2.0: `NAME=value` params, backslash escapes, fold removes
    /// one whitespace character, always UTF-8.
    Standard,
}

impl Dialect {
    /// The dialect a `VERSION` value announces (`2.1`, `1.0`, `1.1` are versit-era).
    pub fn from_version(version: &str) -> Dialect {
        match version.trim() {
            "2.1" | "1.0" | "1.1" => Dialect::Old,
            _ => Dialect::Standard,
        }
    }
}

/// Character sets a device may want on the versit-era wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    #[default]
    Utf8,
    /// ISO-8859-1 (Sony Ericsson, Motorola).
    Latin1,
    /// Windows-1252 ("ANSI").
    Windows1252,
}

impl Charset {
    /// The `CHARSET=` label written for this set.
    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Latin1 => "ISO-8859-1",
            Charset::Windows1252 => "WINDOWS-1252",
        }
    }

    /// Parses a charset name as devices and configuration files spell it.
    pub fn from_label(label: &str) -> Option<Charset> {
        let l = label.trim().to_ascii_uppercase();
        match l.as_str() {
            "UTF-8" | "UTF8" => Some(Charset::Utf8),
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "LATIN-1" | "ISO_8859-1" => {
                Some(Charset::Latin1)
            }
            "WINDOWS-1252" | "CP1252" | "ANSI" => Some(Charset::Windows1252),
            _ => None,
        }
    }

    /// Encodes `text`, or `None` when a character has no code in this set.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Charset::Utf8 => Some(text.as_bytes().to_vec()),
            Charset::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
            Charset::Windows1252 => {
                let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
                if unmappable {
                    None
                } else {
                    Some(bytes.into_owned())
                }
            }
        }
    }
}

/// Decodes bytes that claim to be in charset `label` (or the session default when
/// absent). Invalid UTF-8 is read as Windows-1252, the usual mislabel on phones; an
/// unknown label falls back to the same rule.
pub fn decode_charset(bytes: &[u8], label: Option<&str>, default: Charset) -> String {
    let encoding = match label {
        Some(l) => match encoding_rs::Encoding::for_label(l.trim().as_bytes()) {
            Some(e) => e,
            None => {
                tracing::debug!(charset = l, "unknown CHARSET, decoding heuristically");
                encoding_rs::UTF_8
            }
        },
        None => match default {
            Charset::Utf8 => encoding_rs::UTF_8,
            Charset::Latin1 | Charset::Windows1252 => encoding_rs::WINDOWS_1252,
        },
    };
    if encoding == encoding_rs::UTF_8 {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    } else {
        encoding.decode_without_bom_handling(bytes).0.into_owned()
    }
}

/// A content-line parse failure, with the 1-based physical line it was found on.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VObjectError {
    #[error("line {line}: no ':' between property name and value")]
    MissingColon { line: usize },
    #[error("line {line}: empty or invalid property name {name:?}")]
    BadName { line: usize, name: String },
    #[error("line {line}: END:{found} does not close BEGIN:{expected}")]
    MismatchedEnd {
        line: usize,
        expected: String,
        found: String,
    },
    #[error("line {line}: END:{found} without a matching BEGIN")]
    UnexpectedEnd { line: usize, found: String },
    #[error("component {name} is not closed by END:{name}")]
    Unclosed { name: String },
    #[error("line {line}: property outside of any BEGIN/END component")]
    OutsideComponent { line: usize },
    #[error("no BEGIN line found")]
    Empty,
    #[error("components nested deeper than {max}")]
    TooDeep { max: usize },
}

/// One parameter; `values` holds the comma-separated list (one entry for most params).
/// Bare versit-era parameters become `TYPE` (or `ENCODING` for the encoding names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Upper-case name.
    pub name: String,
    pub values: Vec<String>,
}

impl Param {
    pub fn new(name: &str, value: &str) -> Param {
        Param {
            name: name.to_ascii_uppercase(),
            values: vec![value.to_owned()],
        }
    }
}

/// One content line, after unfolding and transfer decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub group: Option<String>,
    /// Upper-case name.
    pub name: String,
    pub params: Vec<Param>,
    /// Decoded text, still escaped as the source dialect escapes it.
    pub value: String,
}

impl Property {
    pub fn new(name: &str, value: impl Into<String>) -> Property {
        Property {
            group: None,
            name: name.to_ascii_uppercase(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// Adds a parameter and returns the property (builder style).
    pub fn with_param(mut self, name: &str, value: &str) -> Property {
        self.params.push(Param::new(name, value));
        self
    }

    /// The first value of the first parameter named `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }

    /// Every TYPE value, upper-cased, from every TYPE parameter.
    pub fn types(&self) -> Vec<String> {
        self.params
            .iter()
            .filter(|p| p.name == "TYPE")
            .flat_map(|p| p.values.iter().map(|v| v.to_ascii_uppercase()))
            .collect()
    }

    pub fn has_type(&self, t: &str) -> bool {
        self.params
            .iter()
            .filter(|p| p.name == "TYPE")
            .flat_map(|p| p.values.iter())
            .any(|v| v.eq_ignore_ascii_case(t))
    }

    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// True when the value is base64 binary (`ENCODING=BASE64` or `ENCODING=b`).
    pub fn is_binary(&self) -> bool {
        self.param("ENCODING")
            .is_some_and(|e| e.eq_ignore_ascii_case("BASE64") || e.eq_ignore_ascii_case("B"))
    }
}

/// A `BEGIN:X` ... `END:X` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Component {
    /// Upper-case name (`VCARD`, `VCALENDAR`, `VEVENT`, ...).
    pub name: String,
    pub properties: Vec<Property>,
    pub components: Vec<Component>,
}

impl Component {
    pub fn new(name: &str) -> Component {
        Component {
            name: name.to_ascii_uppercase(),
            ..Component::default()
        }
    }

    /// The first property named `name` (case-insensitive).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn property_mut(&mut self, name: &str) -> Option<&mut Property> {
        self.properties
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Every property named `name`.
    pub fn properties_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> {
        self.properties
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first property named `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.property(name).map(|p| p.value.as_str())
    }

    pub fn push(&mut self, property: Property) {
        self.properties.push(property);
    }

    /// Replaces every property named `name` with `property`, at the place of the first.
    pub fn set(&mut self, property: Property) {
        match self
            .properties
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(&property.name))
        {
            Some(i) => {
                let name = property.name.clone();
                self.properties[i] = property;
                let mut idx = 0;
                self.properties.retain(|p| {
                    let keep = idx <= i || !p.name.eq_ignore_ascii_case(&name);
                    idx += 1;
                    keep
                });
            }
            None => self.properties.push(property),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.properties
            .retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// Sub-components named `name`.
    pub fn components_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Component {
    /// The RFC 2425 (Standard dialect, UTF-8) rendering.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = write(self, &WriteOptions::standard());
        f.write_str(&String::from_utf8_lossy(&bytes))
    }
}

/// How to read an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Forces a dialect; `None` takes it from the first `VERSION:` line.
    pub dialect: Option<Dialect>,
    /// The dialect when `dialect` is `None` and the input has no `VERSION:` line.
    pub fallback_dialect: Dialect,
    /// Charset of versit-era values that carry no `CHARSET=` (the session charset).
    pub default_charset: Charset,
}

impl ParseOptions {
    /// Versit-era input whatever its VERSION says.
    pub fn old(default_charset: Charset) -> ParseOptions {
        ParseOptions {
            dialect: Some(Dialect::Old),
            fallback_dialect: Dialect::Old,
            default_charset,
        }
    }

    /// RFC 2425 input (DAV resources).
    pub fn standard() -> ParseOptions {
        ParseOptions {
            dialect: Some(Dialect::Standard),
            fallback_dialect: Dialect::Standard,
            default_charset: Charset::Utf8,
        }
    }

    /// Dialect from the `VERSION:` line, `fallback` when there is none.
    pub fn detect(fallback: Dialect, default_charset: Charset) -> ParseOptions {
        ParseOptions {
            dialect: None,
            fallback_dialect: fallback,
            default_charset,
        }
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions::detect(Dialect::Standard, Charset::Utf8)
    }
}

/// Nesting limit, so hostile input cannot build an unbounded tree of BEGINs (real
/// items nest three deep: VCALENDAR, VEVENT, VALARM). The tree is built on a heap
/// stack; writing it is recursive, which this bound keeps shallow.
pub const MAX_DEPTH: usize = 16;

/// Parses every top-level component in `input` (several `BEGIN:VCARD` blocks may follow
/// each other). Text before the first `BEGIN` and blank lines between blocks are ignored.
pub fn parse_all(input: &[u8], opts: &ParseOptions) -> Result<Vec<Component>, VObjectError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let physical = split_lines(input);
    let dialect = opts
        .dialect
        .or_else(|| detect_dialect(&physical))
        .unwrap_or(opts.fallback_dialect);
    let logical = unfold(&physical, dialect);

    let mut roots = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    for line in logical {
        if line.text.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let raw = parse_line(&line, dialect, opts.default_charset)?;
        if raw.name == "BEGIN" {
            if stack.len() >= MAX_DEPTH {
                return Err(VObjectError::TooDeep { max: MAX_DEPTH });
            }
            stack.push(Component::new(raw.value.trim()));
        } else if raw.name == "END" {
            let found = raw.value.trim().to_ascii_uppercase();
            let Some(done) = stack.pop() else {
                return Err(VObjectError::UnexpectedEnd {
                    line: line.number,
                    found,
                });
            };
            if done.name != found {
                return Err(VObjectError::MismatchedEnd {
                    line: line.number,
                    expected: done.name,
                    found,
                });
            }
            match stack.last_mut() {
                Some(parent) => parent.components.push(done),
                None => roots.push(done),
            }
        } else {
            match stack.last_mut() {
                Some(c) => c.properties.push(raw),
                // Junk before the first BEGIN (some clients prepend a blank or a header).
                None if roots.is_empty() => continue,
                None => return Err(VObjectError::OutsideComponent { line: line.number }),
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(VObjectError::Unclosed { name: open.name });
    }
    if roots.is_empty() {
        return Err(VObjectError::Empty);
    }
    Ok(roots)
}

/// Parses exactly the first top-level component.
pub fn parse(input: &[u8], opts: &ParseOptions) -> Result<Component, VObjectError> {
    parse_all(input, opts)?
        .into_iter()
        .next()
        .ok_or(VObjectError::Empty)
}

struct Line<'a> {
    number: usize,
    text: &'a [u8],
}

struct Logical {
    number: usize,
    text: Vec<u8>,
}

fn split_lines(input: &[u8]) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 1;
    // CRLF, bare LF and bare CR all end a line; a CR directly followed by LF ends one.
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\n' => {
                out.push(Line {
                    number,
                    text: &input[start..i],
                });
                number += 1;
                start = i + 1;
            }
            b'\r' => {
                out.push(Line {
                    number,
                    text: &input[start..i],
                });
                number += 1;
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < input.len() {
        out.push(Line {
            number,
            text: &input[start..],
        });
    }
    out
}

fn detect_dialect(lines: &[Line<'_>]) -> Option<Dialect> {
    lines
        .iter()
        .find(|l| l.text.len() >= 8 && l.text[..8].eq_ignore_ascii_case(b"VERSION:"))
        .map(|l| Dialect::from_version(&String::from_utf8_lossy(&l.text[8..])))
}

/// The head (name and params) of a physical line: the bytes before the first ':' that
/// is not inside a double-quoted parameter value.
fn head_end(text: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn head_has_word(head: &[u8], word: &[u8]) -> bool {
    head.split(|&b| b == b';' || b == b'=' || b == b',')
        .any(|w| w.eq_ignore_ascii_case(word))
}

fn is_base64_line(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\t'))
}

/// Joins physical lines into logical ones: folds, QP soft breaks and 2.1 BASE64 blocks.
fn unfold(lines: &[Line<'_>], dialect: Dialect) -> Vec<Logical> {
    let mut out: Vec<Logical> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let mut text = first.text.to_vec();
        i += 1;
        let head = head_end(first.text).map(|h| &first.text[..h]);
        let qp = head.is_some_and(|h| head_has_word(h, b"QUOTED-PRINTABLE"));
        let base64 = dialect == Dialect::Old
            && head.is_some_and(|h| head_has_word(h, b"BASE64") || head_has_word(h, b"B"));
        while let Some(next) = lines.get(i) {
            if qp && ends_with_soft_break(&text) {
                strip_soft_break(&mut text);
                let cont = next.text;
                // Some writers indent QP continuations; one leading blank is never data.
                let cont = match cont.first() {
                    Some(b' ' | b'\t') => &cont[1..],
                    _ => cont,
                };
                text.extend_from_slice(cont);
                i += 1;
                continue;
            }
            if base64 {
                if next.text.is_empty() {
                    // The blank line that ends a versit BASE64 value belongs to it.
                    i += 1;
                    break;
                }
                // An indented line is a fold whatever it holds: our own writer folds
                // a damaged value that way and must read it back.
                let folded = matches!(next.text.first(), Some(b' ' | b'\t'));
                if folded || is_base64_line(next.text) {
                    text.extend(next.text.iter().filter(|b| !b.is_ascii_whitespace()));
                    i += 1;
                    continue;
                }
                break;
            }
            match next.text.first() {
                Some(b' ' | b'\t') => {
                    match dialect {
                        // Versit folding happens before whitespace, which stays.
                        Dialect::Old => text.extend_from_slice(next.text),
                        Dialect::Standard => text.extend_from_slice(&next.text[1..]),
                    }
                    i += 1;
                }
                _ => break,
            }
        }
        out.push(Logical {
            number: first.number,
            text,
        });
    }
    out
}

fn ends_with_soft_break(text: &[u8]) -> bool {
    // In a QP value a '=' can only end a line as a soft break: escapes are "=XX".
    text.last() == Some(&b'=')
}

fn strip_soft_break(text: &mut Vec<u8>) {
    // Nokia N9 writes "==0A=0D=" where only "=" belongs; drop the whole sequence.
    const N9: &[u8] = b"==0A=0D=";
    if text.ends_with(N9) {
        text.truncate(text.len() - N9.len());
    } else {
        text.pop();
    }
}

/// Decodes quoted-printable; malformed escapes are kept literally rather than rejected.
pub fn decode_qp(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                input.get(i + 1).and_then(|&c| hex(c)),
                input.get(i + 2).and_then(|&c| hex(c)),
            ) {
                // Both digits are < 16, so the byte fits.
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            if i + 1 == input.len() {
                // A trailing soft break left after unfolding.
                break;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Parses one logical line into a property (BEGIN/END come out as properties too).
fn parse_line(
    line: &Logical,
    dialect: Dialect,
    default: Charset,
) -> Result<Property, VObjectError> {
    let text = &line.text;
    let colon = head_end(text).ok_or(VObjectError::MissingColon { line: line.number })?;
    let head = String::from_utf8_lossy(&text[..colon]);
    let raw_value = &text[colon + 1..];

    let mut parts = split_unquoted(&head, ';').into_iter();
    let full_name = parts.next().unwrap_or_default();
    let (group, name) = match full_name.rsplit_once('.') {
        Some((g, n)) => (Some(g.trim().to_owned()), n.trim().to_ascii_uppercase()),
        None => (None, full_name.trim().to_ascii_uppercase()),
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(VObjectError::BadName {
            line: line.number,
            name: full_name,
        });
    }

    let mut params: Vec<Param> = Vec::new();
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (pname, pvalue) = match part.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_uppercase(), v.trim()),
            None => {
                let bare = part.to_ascii_uppercase();
                let pname = match bare.as_str() {
                    "QUOTED-PRINTABLE" | "BASE64" | "8BIT" | "7BIT" | "B" => "ENCODING",
                    _ => "TYPE",
                };
                (pname.to_owned(), part)
            }
        };
        let values: Vec<String> = if dialect == Dialect::Standard || pname == "TYPE" {
            split_unquoted(pvalue, ',')
                .into_iter()
                .map(|v| unquote(v.trim()).to_owned())
                .collect()
        } else {
            vec![unquote(pvalue).to_owned()]
        };
        params.push(Param {
            name: pname,
            values,
        });
    }

    let encoding = params
        .iter()
        .find(|p| p.name == "ENCODING")
        .and_then(|p| p.values.first())
        .map(|v| v.to_ascii_uppercase());
    let charset = params
        .iter()
        .find(|p| p.name == "CHARSET")
        .and_then(|p| p.values.first())
        .cloned();

    let value = match encoding.as_deref() {
        Some("QUOTED-PRINTABLE") => {
            let bytes = decode_qp(raw_value);
            params.retain(|p| p.name != "ENCODING");
            decode_charset(&bytes, charset.as_deref(), default)
        }
        Some("BASE64" | "B") => String::from_utf8_lossy(raw_value)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
        Some("8BIT" | "7BIT") => {
            params.retain(|p| p.name != "ENCODING");
            decode_charset(raw_value, charset.as_deref(), default)
        }
        _ => match dialect {
            Dialect::Old => decode_charset(raw_value, charset.as_deref(), default),
            Dialect::Standard => decode_charset(raw_value, charset.as_deref(), Charset::Utf8),
        },
    };
    params.retain(|p| p.name != "CHARSET");

    Ok(Property {
        group,
        name,
        params,
        value,
    })
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if c == sep && !quoted {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// How to write a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub dialect: Dialect,
    /// Charset of non-ASCII text in the Old dialect (Standard is always UTF-8).
    pub charset: Charset,
    /// Old dialect: quoted-printable for every non-ASCII value (libsynthesis `quote8bit`),
    /// instead of raw 8-bit bytes with `CHARSET=`.
    pub qp_non_ascii: bool,
    /// Fold lines longer than this many octets; `None` never folds. In the Old dialect a
    /// long text value is written as QP with soft breaks rather than folded.
    pub max_line: Option<usize>,
}

impl WriteOptions {
    /// vCard 3.0/4.0, iCalendar: UTF-8, folded at 75 octets.
    pub fn standard() -> WriteOptions {
        WriteOptions {
            dialect: Dialect::Standard,
            charset: Charset::Utf8,
            qp_non_ascii: false,
            max_line: Some(75),
        }
    }

    /// vCard 2.1, vCalendar 1.0, vNote 1.1 for a device: QP for non-ASCII text in
    /// `charset`, no folding.
    pub fn old(charset: Charset) -> WriteOptions {
        WriteOptions {
            dialect: Dialect::Old,
            charset,
            qp_non_ascii: true,
            max_line: None,
        }
    }
}

/// Writes a component (and its children) with CRLF line ends.
pub fn write(component: &Component, opts: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_into(component, opts, &mut out);
    out
}

fn write_into(c: &Component, opts: &WriteOptions, out: &mut Vec<u8>) {
    out.extend_from_slice(b"BEGIN:");
    out.extend_from_slice(c.name.as_bytes());
    out.extend_from_slice(b"\r\n");
    for p in &c.properties {
        write_property(p, opts, out);
    }
    for sub in &c.components {
        write_into(sub, opts, out);
    }
    out.extend_from_slice(b"END:");
    out.extend_from_slice(c.name.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn needs_quotes(v: &str) -> bool {
    v.contains([':', ';', ','])
}

fn write_head(p: &Property, opts: &WriteOptions, line: &mut Vec<u8>) {
    if let Some(g) = &p.group {
        line.extend_from_slice(g.as_bytes());
        line.push(b'.');
    }
    line.extend_from_slice(p.name.as_bytes());
    for param in &p.params {
        // Transfer details are the writer's business; stale ones would lie.
        if param.name == "CHARSET" || (param.name == "ENCODING" && !p.is_binary()) {
            continue;
        }
        match opts.dialect {
            Dialect::Old => {
                if param.name == "TYPE" {
                    for v in &param.values {
                        line.push(b';');
                        line.extend_from_slice(v.to_ascii_uppercase().as_bytes());
                    }
                } else {
                    line.push(b';');
                    line.extend_from_slice(param.name.as_bytes());
                    line.push(b'=');
                    line.extend_from_slice(param.values.join(",").as_bytes());
                }
            }
            Dialect::Standard => {
                line.push(b';');
                line.extend_from_slice(param.name.as_bytes());
                line.push(b'=');
                for (i, v) in param.values.iter().enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    if needs_quotes(v) {
                        line.push(b'"');
                        line.extend_from_slice(v.replace('"', "'").as_bytes());
                        line.push(b'"');
                    } else {
                        line.extend_from_slice(v.as_bytes());
                    }
                }
            }
        }
    }
}

fn write_property(p: &Property, opts: &WriteOptions, out: &mut Vec<u8>) {
    let mut line = Vec::with_capacity(p.name.len() + p.value.len() + 16);
    write_head(p, opts, &mut line);

    if p.is_binary() {
        line.push(b':');
        match opts.dialect {
            Dialect::Old => {
                // Versit BASE64: continuation lines indented, then the closing blank line.
                out.extend_from_slice(&line);
                for (i, chunk) in p.value.as_bytes().chunks(72).enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b"\r\n ");
                    }
                    out.extend_from_slice(chunk);
                }
                out.extend_from_slice(b"\r\n\r\n");
            }
            Dialect::Standard => {
                line.extend_from_slice(p.value.as_bytes());
                fold_into(&line, opts.max_line, out);
            }
        }
        return;
    }

    match opts.dialect {
        Dialect::Standard => {
            line.push(b':');
            if p.value.contains(['\r', '\n']) {
                // A raw newline cannot travel in RFC 2425; escape it as text.
                let v = p.value.replace("\r\n", "\\n").replace(['\r', '\n'], "\\n");
                line.extend_from_slice(v.as_bytes());
            } else {
                line.extend_from_slice(p.value.as_bytes());
            }
            fold_into(&line, opts.max_line, out);
        }
        Dialect::Old => {
            let ascii = p.value.is_ascii();
            let has_break = p.value.contains(['\r', '\n']);
            let (bytes, charset) = match opts.charset.encode(&p.value) {
                Some(b) => (b, opts.charset),
                // The device's set lacks a character: send honest UTF-8, labelled.
                None => (p.value.as_bytes().to_vec(), Charset::Utf8),
            };
            let too_long = opts
                .max_line
                .is_some_and(|m| line.len() + 1 + bytes.len() > m);
            let qp = has_break
                || (!ascii && opts.qp_non_ascii)
                || too_long
                || p.value.ends_with([' ', '\t'])
                || bytes.iter().any(|&b| b < 0x20 && b != b'\t');
            if !ascii {
                line.extend_from_slice(b";CHARSET=");
                line.extend_from_slice(charset.label().as_bytes());
            }
            if qp {
                line.extend_from_slice(b";ENCODING=QUOTED-PRINTABLE:");
                let normalized = normalize_newlines(&bytes);
                encode_qp_into(&normalized, line.len(), out_line_limit(opts), &mut line);
            } else {
                line.push(b':');
                line.extend_from_slice(&bytes);
            }
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn out_line_limit(opts: &WriteOptions) -> usize {
    opts.max_line.unwrap_or(76).max(8)
}

/// Bare LF or CR become CRLF so a QP value carries `=0D=0A` consistently.
fn normalize_newlines(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Appends QP for `bytes`, inserting soft breaks so no physical line exceeds `limit`.
fn encode_qp_into(bytes: &[u8], start_col: usize, limit: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut col = start_col;
    for (i, &b) in bytes.iter().enumerate() {
        let mut literal =
            (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' && i + 1 < bytes.len());
        // Leave room for the soft-break '='.
        if col + if literal { 1 } else { 3 } > limit - 1 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        // Readers drop one leading blank of a continuation line; never start one with it.
        if col == 0 && b == b' ' {
            literal = false;
        }
        let width = if literal { 1 } else { 3 };
        if literal {
            out.push(b);
        } else {
            out.push(b'=');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0F)]);
        }
        col += width;
    }
}

/// RFC 2425 folding: CRLF + one space, never inside a UTF-8 sequence.
fn fold_into(line: &[u8], max: Option<usize>, out: &mut Vec<u8>) {
    let Some(max) = max.filter(|&m| m >= 8) else {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        return;
    };
    let mut start = 0;
    let mut limit = max;
    while line.len() - start > limit {
        let mut cut = start + limit;
        while cut > start && (line[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        out.extend_from_slice(&line[start..cut]);
        out.extend_from_slice(b"\r\n ");
        start = cut;
        // Continuation lines carry the leading space.
        limit = max - 1;
    }
    out.extend_from_slice(&line[start..]);
    out.extend_from_slice(b"\r\n");
}

// ---------------------------------------------------------------------------------------
// Value escaping. Text values are stored escaped as their source dialect escapes them; the
// format modules turn them into plain text (and back) with these.

/// Unescapes a text value of `dialect` into plain text (newlines as `\n`).
pub fn unescape_text(raw: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match (chars.next(), dialect) {
            (Some('n' | 'N'), Dialect::Standard) => out.push('\n'),
            (Some(e @ ('\\' | ';' | ',')), _) => out.push(e),
            (Some(other), _) => {
                out.push('\\');
                out.push(other);
            }
            (None, _) => out.push('\\'),
        }
    }
    if dialect == Dialect::Old {
        // QP-decoded CRLFs are line breaks of the text.
        out = out.replace("\r\n", "\n");
    }
    out
}

/// Escapes plain text for a single text value of `dialect`.
pub fn escape_text(text: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match (c, dialect) {
            ('\\', _) => out.push_str("\\\\"),
            (';', Dialect::Standard) => out.push_str("\\;"),
            (',', Dialect::Standard) => out.push_str("\\,"),
            ('\n', Dialect::Standard) => out.push_str("\\n"),
            ('\r', Dialect::Standard) => {}
            ('\n', Dialect::Old) => out.push_str("\r\n"),
            ('\r', Dialect::Old) => {}
            (c, _) => out.push(c),
        }
    }
    out
}

/// Splits a structured value (N, ADR, ORG) on unescaped `;` and unescapes each field.
pub fn split_structured(raw: &str, dialect: Dialect) -> Vec<String> {
    split_escaped(raw, ';')
        .into_iter()
        .map(|f| unescape_text(&f, dialect))
        .collect()
}

/// Joins fields into a structured value, escaping each field.
pub fn join_structured<S: AsRef<str>>(fields: &[S], dialect: Dialect) -> String {
    let escaped: Vec<String> = fields
        .iter()
        .map(|f| match dialect {
            Dialect::Old => escape_text(f.as_ref(), dialect).replace(';', "\\;"),
            Dialect::Standard => escape_text(f.as_ref(), dialect),
        })
        .collect();
    escaped.join(";")
}

/// Splits a list value (CATEGORIES) on unescaped `sep`, keeping escapes for the caller.
pub fn split_escaped(raw: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old() -> ParseOptions {
        ParseOptions::old(Charset::Utf8)
    }

    #[test]
    fn qp_soft_breaks_and_charset_are_decoded() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Line one=0D=0ALine two with =\r\na soft break\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans;;;\r\nEND:VCARD\r\n";
        let c = parse(input, &ParseOptions::default()).unwrap();
        assert_eq!(c.name, "VCARD");
        let note = c.property("NOTE").unwrap();
        assert_eq!(note.value, "Line one\r\nLine two with a soft break");
        assert!(note.params.is_empty(), "transfer params are dropped");
        assert_eq!(c.value("N"), Some("Müller;Hans;;;"));
    }

    #[test]
    fn qp_continuation_with_leading_space_and_n9_break() {
        let input = b"BEGIN:VCALENDAR\nVERSION:1.0\nDESCRIPTION;ENCODING=QUOTED-PRINTABLE:ab=\n cd==0A=0D=\nef\nEND:VCALENDAR\n";
        let c = parse(input, &ParseOptions::default()).unwrap();
        assert_eq!(c.value("DESCRIPTION"), Some("abcdef"));
    }

    #[test]
    fn latin1_and_windows1252_values() {
        let mut input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=ISO-8859-1:J".to_vec();
        input.extend_from_slice(&[0xF6, b'r', b'g', b'\r', b'\n']);
        input.extend_from_slice(b"NOTE;CHARSET=WINDOWS-1252;ENCODING=QUOTED-PRINTABLE:=80 5\r\n");
        // No CHARSET: the session default applies.
        input.extend_from_slice(&[b'T', b'I', b'T', b'L', b'E', b':', 0xE9, b'\r', b'\n']);
        input.extend_from_slice(b"END:VCARD\r\n");
        let opts = ParseOptions::detect(Dialect::Standard, Charset::Latin1);
        let c = parse(&input, &opts).unwrap();
        assert_eq!(c.value("FN"), Some("Jörg"));
        assert_eq!(c.value("NOTE"), Some("€ 5"));
        assert_eq!(c.value("TITLE"), Some("é"));
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252() {
        let mut input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=UTF-8:M".to_vec();
        input.extend_from_slice(&[0xFC, b'l', b'l', b'e', b'r', b'\r', b'\n']);
        input.extend_from_slice(b"END:VCARD\r\n");
        let c = parse(&input, &old()).unwrap();
        assert_eq!(c.value("FN"), Some("Müller"));
    }

    #[test]
    fn bare_params_become_type_and_encoding() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nTEL;CELL;HOME:+41\r\nTEL;TYPE=WORK,FAX:+42\r\nitem1.EMAIL;INTERNET:a@b\r\nEND:VCARD\r\n";
        let c = parse(input, &old()).unwrap();
        let tels: Vec<_> = c.properties_named("TEL").collect();
        assert_eq!(tels[0].types(), ["CELL", "HOME"]);
        assert_eq!(tels[1].types(), ["WORK", "FAX"]);
        let email = c.property("EMAIL").unwrap();
        assert_eq!(email.group.as_deref(), Some("item1"));
        assert!(email.has_type("internet"));
    }

    #[test]
    fn base64_block_ends_at_blank_line() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nPHOTO;ENCODING=BASE64;JPEG:\r\n /9j/4AAQ\r\n SkZJRg==\r\n\r\nTEL;CELL:+41\r\nEND:VCARD\r\n";
        let c = parse(input, &old()).unwrap();
        let photo = c.property("PHOTO").unwrap();
        assert_eq!(photo.value, "/9j/4AAQSkZJRg==");
        assert!(photo.is_binary());
        assert!(photo.has_type("JPEG"));
        assert_eq!(c.value("TEL"), Some("+41"));
    }

    /// Found by fuzzing: a BASE64 value with non-base64 bytes in an indented continuation
    /// (as our own writer folds it) ended the block early and failed the next line.
    #[test]
    fn base64_block_keeps_indented_lines_that_are_not_base64() {
        let input = "BEGIN:VCARD\r\nVERSION:2.1\r\nPHOTO;ENCODING=BASE64;JPEG:/9j/4A\r\n \u{fffd}AA//k=\r\n\r\nTEL;CELL:+41790000001\r\nEND:VCARD\r\n";
        let card = parse(input.as_bytes(), &ParseOptions::old(Charset::Utf8)).unwrap();
        assert_eq!(card.value("PHOTO"), Some("/9j/4A\u{fffd}AA//k="));
        assert_eq!(card.value("TEL"), Some("+41790000001"));
    }

    #[test]
    fn base64_block_without_blank_line_or_indent() {
        let input =
            b"BEGIN:VCARD\nVERSION:2.1\nPHOTO;BASE64:\n/9j/4AAQ\nSkZJRg==\nTEL:1\nEND:VCARD\n";
        let c = parse(input, &old()).unwrap();
        assert_eq!(c.value("PHOTO"), Some("/9j/4AAQSkZJRg=="));
        assert_eq!(c.value("TEL"), Some("1"));
    }

    #[test]
    fn folding_differs_between_dialects() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE:one\r\n two\r\nEND:VCARD\r\n";
        assert_eq!(parse(input, &old()).unwrap().value("NOTE"), Some("one two"));
        let input = b"BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:one\r\n two\r\nEND:VCARD\r\n";
        let c = parse(input, &ParseOptions::default()).unwrap();
        assert_eq!(c.value("NOTE"), Some("onetwo"));
    }

    #[test]
    fn nested_components_and_errors() {
        let input = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let c = parse(input, &ParseOptions::default()).unwrap();
        assert_eq!(
            c.components[0].components[0].value("ACTION"),
            Some("DISPLAY")
        );

        let bad = b"BEGIN:VCARD\r\nFN:x\r\nEND:VEVENT\r\n";
        assert!(matches!(
            parse(bad, &old()),
            Err(VObjectError::MismatchedEnd { line: 3, .. })
        ));
        assert_eq!(
            parse(b"BEGIN:VCARD\r\nFN:x\r\n", &old()),
            Err(VObjectError::Unclosed {
                name: "VCARD".into()
            })
        );
        assert_eq!(
            parse(b"BEGIN:VCARD\r\nFN x\r\nEND:VCARD", &old()),
            Err(VObjectError::MissingColon { line: 2 })
        );
        assert_eq!(parse(b"", &old()), Err(VObjectError::Empty));
        let deep = "BEGIN:X\n".repeat(100);
        assert_eq!(
            parse(deep.as_bytes(), &old()),
            Err(VObjectError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn nesting_ten_and_a_thousand_times_the_limit_is_refused() {
        for n in [10 * MAX_DEPTH, 1000 * MAX_DEPTH] {
            let balanced = format!(
                "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
                "BEGIN:VEVENT\r\n".repeat(n),
                "END:VEVENT\r\n".repeat(n)
            );
            assert_eq!(
                parse(balanced.as_bytes(), &ParseOptions::standard()),
                Err(VObjectError::TooDeep { max: MAX_DEPTH })
            );
        }
        let deepest = format!(
            "{}{}",
            "BEGIN:X\r\n".repeat(MAX_DEPTH),
            "END:X\r\n".repeat(MAX_DEPTH)
        );
        let c = parse(deepest.as_bytes(), &ParseOptions::standard()).unwrap();
        assert!(!write(&c, &WriteOptions::standard()).is_empty());
    }

    #[test]
    fn old_writer_uses_qp_charset_and_bare_types() {
        let mut c = Component::new("VCARD");
        c.push(Property::new("VERSION", "2.1"));
        c.push(Property::new("TEL", "+41").with_param("TYPE", "CELL"));
        c.push(Property::new("N", "Müller;Hans;;;"));
        c.push(Property::new("NOTE", "a\r\nb"));
        c.push(Property::new("FN", "Ωmega"));
        let out = write(&c, &WriteOptions::old(Charset::Latin1));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("TEL;CELL:+41\r\n"), "{text}");
        assert!(
            text.contains("N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;Hans;;;\r\n"),
            "{text}"
        );
        assert!(
            text.contains("NOTE;ENCODING=QUOTED-PRINTABLE:a=0D=0Ab\r\n"),
            "{text}"
        );
        // Not in Latin-1: honest UTF-8 with its label.
        assert!(
            text.contains("FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=CE=A9mega\r\n"),
            "{text}"
        );
        let back = parse(&out, &old()).unwrap();
        assert_eq!(back, {
            let mut expect = c.clone();
            expect.properties[1].params[0] = Param::new("TYPE", "CELL");
            expect
        });
    }

    #[test]
    fn old_writer_raw_8bit_when_asked() {
        let mut c = Component::new("VCARD");
        c.push(Property::new("FN", "Jörg"));
        let opts = WriteOptions {
            qp_non_ascii: false,
            ..WriteOptions::old(Charset::Latin1)
        };
        let out = write(&c, &opts);
        assert_eq!(
            out,
            b"BEGIN:VCARD\r\nFN;CHARSET=ISO-8859-1:J\xF6rg\r\nEND:VCARD\r\n".to_vec()
        );
    }

    #[test]
    fn long_qp_lines_get_soft_breaks() {
        let mut c = Component::new("VNOTE");
        let long = "ä".repeat(100);
        c.push(Property::new("BODY", long.clone()));
        let out = write(&c, &WriteOptions::old(Charset::Utf8));
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() <= 77, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(
            parse(&out, &old()).unwrap().value("BODY"),
            Some(long.as_str())
        );
    }

    #[test]
    fn standard_writer_folds_without_splitting_utf8() {
        let mut c = Component::new("VCARD");
        let long = "ü".repeat(80);
        c.push(Property::new("NOTE", long.clone()));
        c.push(Property::new("X-A", "v").with_param("X-P", "a:b"));
        let out = write(&c, &WriteOptions::standard());
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.lines().all(|l| l.len() <= 75));
        assert!(text.contains("X-A;X-P=\"a:b\":v\r\n"));
        let back = parse(&out, &ParseOptions::default()).unwrap();
        assert_eq!(back.value("NOTE"), Some(long.as_str()));
        assert_eq!(back.property("X-A").unwrap().param("X-P"), Some("a:b"));
    }

    #[test]
    fn escaping_helpers() {
        assert_eq!(
            unescape_text("a\\, b\\;c\\nd\\\\", Dialect::Standard),
            "a, b;c\nd\\"
        );
        assert_eq!(
            escape_text("a, b;c\nd\\", Dialect::Standard),
            "a\\, b\\;c\\nd\\\\"
        );
        assert_eq!(escape_text("a, b\nc", Dialect::Old), "a, b\r\nc");
        assert_eq!(
            split_structured("M\\;x;Hans;;;", Dialect::Old),
            ["M;x", "Hans", "", "", ""]
        );
        assert_eq!(join_structured(&["M;x", "a,b"], Dialect::Old), "M\\;x;a,b");
        assert_eq!(
            join_structured(&["M;x", "a,b"], Dialect::Standard),
            "M\\;x;a\\,b"
        );
    }

    #[test]
    fn never_panics_on_garbage() {
        let samples: [&[u8]; 8] = [
            b"BEGIN:VCARD\r\nN;ENCODING=QUOTED-PRINTABLE:=\r\n",
            b"BEGIN:VCARD\r\nN;ENCODING=QUOTED-PRINTABLE:=Z",
            b":::\r\n;;;\r\n",
            b"BEGIN:\r\nEND:\r\n",
            b"BEGIN:VCARD\r\nPHOTO;BASE64:\r\n\r\n\r\nEND:VCARD",
            b"\xff\xfe\x00BEGIN",
            b"BEGIN:A\r\n\"x:y\";=;:\r\nEND:A",
            b"BEGIN:A\r\n.:x\r\nEND:A",
        ];
        for s in samples {
            let _ = parse(s, &old());
            let _ = parse(s, &ParseOptions::default());
        }
    }
}
