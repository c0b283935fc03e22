//! vCard 2.1 (what phones write) <-> vCard 3.0 / 4.0 (what CardDAV servers store).
//!
//! Values are re-escaped per version, types re-spelled (`TEL;CELL` <-> `TYPE=cell`,
//! `TYPE=pref` <-> `PREF=1`), binaries moved between `ENCODING=BASE64`, `ENCODING=b` and
//! `data:` URIs, dates re-formatted. Properties the converter does not know pass through
//! as text, so nothing is lost on the way.

use super::aliases;
use super::vobject::{
    self, escape_text, join_structured, split_escaped, split_structured, unescape_text, Component,
    Dialect, Param, ParseOptions, Property,
};
use super::{ConvertError, ConvertOptions, DavVcardVersion, Format};

/// A vCard version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VcardVersion {
    V21,
    V30,
    V40,
}

impl VcardVersion {
    pub fn dialect(self) -> Dialect {
        match self {
            VcardVersion::V21 => Dialect::Old,
            VcardVersion::V30 | VcardVersion::V40 => Dialect::Standard,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VcardVersion::V21 => "2.1",
            VcardVersion::V30 => "3.0",
            VcardVersion::V40 => "4.0",
        }
    }

    pub fn from_label(label: &str) -> Option<VcardVersion> {
        match label.trim() {
            "2.1" => Some(VcardVersion::V21),
            "3.0" => Some(VcardVersion::V30),
            "4.0" => Some(VcardVersion::V40),
            _ => None,
        }
    }

    pub fn from_format(format: Format) -> Option<VcardVersion> {
        match format {
            Format::Vcard21 => Some(VcardVersion::V21),
            Format::Vcard30 => Some(VcardVersion::V30),
            Format::Vcard40 => Some(VcardVersion::V40),
            _ => None,
        }
    }

    pub fn format(self) -> Format {
        match self {
            VcardVersion::V21 => Format::Vcard21,
            VcardVersion::V30 => Format::Vcard30,
            VcardVersion::V40 => Format::Vcard40,
        }
    }
}

impl From<DavVcardVersion> for VcardVersion {
    fn from(v: DavVcardVersion) -> VcardVersion {
        match v {
            DavVcardVersion::V30 => VcardVersion::V30,
            DavVcardVersion::V40 => VcardVersion::V40,
        }
    }
}

/// Properties whose value is `;`-structured.
const STRUCTURED: &[&str] = &["N", "ADR", "ORG"];
/// Properties whose value is a list (comma-separated in 3.0/4.0).
const LISTS: &[&str] = &["CATEGORIES", "NICKNAME"];
/// Properties whose value is not text and is copied unchanged (besides the re-spelling
/// done for specific ones below).
const VERBATIM: &[&str] = &[
    "VERSION",
    "TEL",
    "URL",
    "BDAY",
    "ANNIVERSARY",
    "X-ANNIVERSARY",
    "REV",
    "UID",
    "GEO",
    "TZ",
    "PHOTO",
    "LOGO",
    "SOUND",
    "KEY",
    "IMPP",
    "CLASS",
    "KIND",
    "MEMBER",
    "SOURCE",
    "FBURL",
    "CALURI",
    "CALADRURI",
];
/// Binary-capable properties.
const BINARY: &[&str] = &["PHOTO", "LOGO", "SOUND", "KEY"];

fn is_in(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The version a card announces; cards without `VERSION` are taken as `fallback`.
pub fn version_of(card: &Component, fallback: VcardVersion) -> VcardVersion {
    card.value("VERSION")
        .and_then(VcardVersion::from_label)
        .unwrap_or(fallback)
}

/// Parses one vCard of any version. `format` says what the sender claimed; the card's own
/// `VERSION` line wins when present.
pub fn parse(
    input: &[u8],
    format: Format,
    opts: &ConvertOptions,
) -> Result<(Component, VcardVersion), ConvertError> {
    let claimed = VcardVersion::from_format(format).unwrap_or(VcardVersion::V21);
    let popts = ParseOptions::detect(claimed.dialect(), opts.charset);
    let card = vobject::parse(input, &popts).map_err(ConvertError::syntax(format))?;
    if card.name != "VCARD" {
        return Err(ConvertError::WrongComponent {
            format,
            expected: "VCARD",
            found: card.name,
        });
    }
    let version = version_of(&card, claimed);
    Ok((card, version))
}

/// A device vCard (2.1, 3.0 or 4.0) as the DAV server stores it (`opts.dav_vcard`).
pub fn to_dav(
    input: &[u8],
    format: Format,
    opts: &ConvertOptions,
) -> Result<Component, ConvertError> {
    let (card, version) = parse(input, format, opts)?;
    let mut out = convert(&card, version, opts.dav_vcard.into());
    if version == VcardVersion::V21 {
        // Phones keep no stable UID and a wrong clock: the server's values rule.
        out.remove("UID");
        out.remove("REV");
    }
    ensure_fn(&mut out);
    Ok(out)
}

/// A DAV vCard (3.0 or 4.0 tree) written in the device's format.
pub fn from_dav(
    card: &Component,
    format: Format,
    opts: &ConvertOptions,
) -> Result<Vec<u8>, ConvertError> {
    let target = VcardVersion::from_format(format).ok_or(ConvertError::Unsupported {
        from: Format::Vcard30,
        to: format,
    })?;
    let source = version_of(card, VcardVersion::V30);
    let mut out = convert(card, source, target);
    let wopts = match target {
        VcardVersion::V21 => {
            // Phones keep neither; a UID they echo back would only be stripped again.
            out.remove("PRODID");
            out.remove("UID");
            out.remove("REV");
            if opts.trim_name_fields {
                for p in out.properties.iter_mut().filter(|p| p.name == "N") {
                    trim_trailing_fields(&mut p.value);
                }
            }
            opts.write_old()
        }
        VcardVersion::V30 | VcardVersion::V40 => vobject::WriteOptions::standard(),
    };
    Ok(vobject::write(&out, &wopts))
}

/// Drops trailing empty fields of a structured 2.1 value (`a;b;;;` -> `a;b`), keeping an
/// escaped `\;` at the end.
fn trim_trailing_fields(value: &mut String) {
    while value.ends_with(';') && !value.ends_with("\\;") {
        value.pop();
    }
}

/// Parses a DAV vCard resource.
pub fn parse_dav(input: &[u8]) -> Result<Component, ConvertError> {
    let (card, _) = parse(
        input,
        Format::Vcard30,
        &ConvertOptions::new(chrono::DateTime::UNIX_EPOCH),
    )?;
    Ok(card)
}

/// Re-spells `card` from version `from` to version `to`.
pub fn convert(card: &Component, from: VcardVersion, to: VcardVersion) -> Component {
    let mut out = Component::new("VCARD");
    out.push(Property::new("VERSION", to.label()));
    for p in &card.properties {
        if p.name == "VERSION" {
            continue;
        }
        if let Some(q) = convert_property(p, card, from, to) {
            out.push(q);
        }
    }
    // vCards have no sub-components by standard; keep any as they are.
    out.components = card.components.clone();
    out
}

fn convert_property(
    p: &Property,
    card: &Component,
    from: VcardVersion,
    to: VcardVersion,
) -> Option<Property> {
    let (fd, td) = (from.dialect(), to.dialect());
    let mut name = p.name.clone();
    if from == VcardVersion::V21 {
        if let Some(std) = aliases::device_to_standard(&name) {
            if card.property(std).is_some() {
                // The standard property is there too: the alias is a duplicate.
                return None;
            }
            name = std.to_owned();
        }
    }
    if to == VcardVersion::V40 {
        if let Some(n) = aliases::to_v40(&name) {
            name = n.to_owned();
        }
    } else if from == VcardVersion::V40 {
        if let Some(n) = aliases::from_v40(&name) {
            name = n.to_owned();
        }
    }

    let mut q = Property {
        group: p.group.clone(),
        name,
        params: Vec::with_capacity(p.params.len()),
        value: String::new(),
    };

    // Binary first: it decides params and value together.
    if is_in(BINARY, &q.name) {
        if let Some(bin) = binary_of(p, from) {
            write_binary(&mut q, p, bin, to);
            return Some(q);
        }
    }

    q.value = convert_value(&q.name, &p.value, fd, td, from, to);
    if from == VcardVersion::V21 && is_empty_value(&q.name, &q.value, td) {
        // Phones send empty properties (or Sony Ericsson's one-space dummy) for "no value".
        return None;
    }
    q.params = convert_params(&q.name, &p.params, from, to);
    if to == VcardVersion::V21 && q.name == "EMAIL" && !q.has_type("INTERNET") {
        // Nokia phones hide or lose e-mail addresses without it.
        q.params.push(Param::new("TYPE", "INTERNET"));
    }
    Some(q)
}

fn is_empty_value(name: &str, value: &str, dialect: Dialect) -> bool {
    if is_in(STRUCTURED, name) {
        split_structured(value, dialect)
            .iter()
            .all(|f| f.trim().is_empty())
    } else {
        // Motorola K1/W/V600 phones write "-" for an empty e-mail slot; libsynthesis-based
        // clients send `GEO:;` for "no position".
        value.trim().is_empty()
            || (name == "EMAIL" && value.trim() == "-")
            || (name == "GEO" && value.chars().all(|c| matches!(c, ';' | ',' | ' ')))
    }
}

fn convert_value(
    name: &str,
    value: &str,
    fd: Dialect,
    td: Dialect,
    from: VcardVersion,
    to: VcardVersion,
) -> String {
    if is_in(STRUCTURED, name) {
        let fields = split_structured(value, fd);
        return join_structured(&fields, td);
    }
    if is_in(LISTS, name) {
        let items: Vec<String> = match fd {
            // Versit-era lists are unescaped: categories use ';' (the vCalendar 1.0 way,
            // which is also what the writer below emits), nicknames ','.
            Dialect::Old => value
                .split(if name == "CATEGORIES" { ';' } else { ',' })
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            Dialect::Standard => split_escaped(value, ',')
                .into_iter()
                .map(|s| unescape_text(&s, fd).trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        return match td {
            Dialect::Old => items.join(if name == "CATEGORIES" { ";" } else { "," }),
            Dialect::Standard => items
                .iter()
                .map(|i| escape_text(i, td))
                .collect::<Vec<_>>()
                .join(","),
        };
    }
    if is_in(VERBATIM, name) {
        return match name {
            "BDAY" | "ANNIVERSARY" | "X-ANNIVERSARY" => convert_date(value, to),
            "TEL" if from == VcardVersion::V40 && to != VcardVersion::V40 => {
                value.strip_prefix("tel:").unwrap_or(value).to_owned()
            }
            "GEO" => convert_geo(value, from, to),
            _ => value.trim().to_owned(),
        };
    }
    escape_text(&unescape_text(value, fd), td)
}

/// BDAY and anniversaries: `YYYYMMDD` for 2.1 (Nokia S40 rejects dashes) and 4.0,
/// `YYYY-MM-DD` for 3.0. Anything unrecognised passes unchanged.
fn convert_date(value: &str, to: VcardVersion) -> String {
    let v = value.trim();
    let (date, rest) = match v.find('T') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let digits: String = date.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) || !rest.is_empty() {
        return v.to_owned();
    }
    match to {
        VcardVersion::V30 => format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]),
        VcardVersion::V21 | VcardVersion::V40 => digits,
    }
}

/// GEO: `lat;lon` in 2.1/3.0, `geo:lat,lon` in 4.0.
fn convert_geo(value: &str, from: VcardVersion, to: VcardVersion) -> String {
    let v = value.trim();
    match (from == VcardVersion::V40, to == VcardVersion::V40) {
        (false, true) => match v.split_once(';') {
            Some((lat, lon)) => format!("geo:{},{}", lat.trim(), lon.trim()),
            None => v.to_owned(),
        },
        (true, false) => match v.strip_prefix("geo:").and_then(|g| g.split_once(',')) {
            Some((lat, lon)) => format!(
                "{};{}",
                lat.trim(),
                lon.split(';').next().unwrap_or(lon).trim()
            ),
            None => v.to_owned(),
        },
        _ => v.to_owned(),
    }
}

fn convert_params(
    name: &str,
    params: &[Param],
    from: VcardVersion,
    to: VcardVersion,
) -> Vec<Param> {
    let mut types: Vec<String> = Vec::new();
    let mut out: Vec<Param> = Vec::new();
    let mut pref = false;
    for param in params {
        match param.name.as_str() {
            "TYPE" => {
                for t in &param.values {
                    if t.eq_ignore_ascii_case("PREF") && to == VcardVersion::V40 {
                        pref = true;
                    } else if t.eq_ignore_ascii_case("INTERNET")
                        && to == VcardVersion::V40
                        && name == "EMAIL"
                    {
                        // 4.0 dropped INTERNET: every e-mail address is one.
                    } else if !t.is_empty() && !types.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                        types.push(t.clone());
                    }
                }
            }
            "PREF" if from == VcardVersion::V40 && to != VcardVersion::V40 => pref = true,
            "ENCODING" | "CHARSET" => {}
            "VALUE" => {
                let v = param.values.first().map(String::as_str).unwrap_or_default();
                let v = match (v.to_ascii_uppercase().as_str(), to) {
                    ("URI", VcardVersion::V21) => "URL".to_owned(),
                    ("URL", VcardVersion::V30 | VcardVersion::V40) => "uri".to_owned(),
                    _ => v.to_owned(),
                };
                if !(name == "TEL" && from == VcardVersion::V40 && to != VcardVersion::V40) {
                    out.push(Param::new("VALUE", &v));
                }
            }
            _ => out.push(param.clone()),
        }
    }
    if pref {
        match to {
            VcardVersion::V40 => out.push(Param::new("PREF", "1")),
            _ if !types.iter().any(|t| t.eq_ignore_ascii_case("PREF")) => {
                types.push("PREF".to_owned())
            }
            _ => {}
        }
    }
    if !types.is_empty() {
        let types = types
            .into_iter()
            .map(|t| match to {
                VcardVersion::V21 => t.to_ascii_uppercase(),
                _ => t.to_ascii_lowercase(),
            })
            .collect();
        out.insert(
            0,
            Param {
                name: "TYPE".to_owned(),
                values: types,
            },
        );
    }
    out
}

/// A binary value: media subtype (upper-case, e.g. `JPEG`) and base64 data.
struct Binary {
    media: Option<String>,
    data: String,
}

fn binary_of(p: &Property, from: VcardVersion) -> Option<Binary> {
    let media = p
        .params
        .iter()
        .filter(|x| x.name == "TYPE")
        .flat_map(|x| x.values.iter())
        .next()
        .map(|t| t.to_ascii_uppercase());
    if p.is_binary() {
        return Some(Binary {
            media,
            data: p.value.clone(),
        });
    }
    if from == VcardVersion::V40 {
        let rest = p.value.trim().strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let meta = meta.strip_suffix(";base64")?;
        let media = meta
            .split_once('/')
            .map(|(_, sub)| sub.to_ascii_uppercase())
            .filter(|s| !s.is_empty());
        return Some(Binary {
            media,
            data: data.to_owned(),
        });
    }
    None
}

fn write_binary(q: &mut Property, p: &Property, bin: Binary, to: VcardVersion) {
    let main = match q.name.as_str() {
        "SOUND" => "audio",
        "KEY" => "application",
        _ => "image",
    };
    // Parameters other than the media type and the encoding travel unchanged.
    let others = p
        .params
        .iter()
        .filter(|x| !matches!(x.name.as_str(), "TYPE" | "ENCODING" | "VALUE" | "CHARSET"))
        .cloned();
    match to {
        VcardVersion::V21 | VcardVersion::V30 => {
            let enc = if to == VcardVersion::V21 {
                "BASE64"
            } else {
                "b"
            };
            q.params.push(Param::new("ENCODING", enc));
            if let Some(m) = &bin.media {
                q.params.push(Param::new("TYPE", m));
            }
            q.params.extend(others);
            q.value = bin.data;
        }
        VcardVersion::V40 => {
            q.params.extend(others);
            let sub = bin.media.as_deref().unwrap_or("JPEG").to_ascii_lowercase();
            q.value = format!("data:{main}/{sub};base64,{}", bin.data);
        }
    }
}

/// Adds `FN` (required by 3.0/4.0) from N, ORG or EMAIL when the card lacks it.
pub fn ensure_fn(card: &mut Component) {
    if card
        .property("FN")
        .is_some_and(|p| !p.value.trim().is_empty())
    {
        return;
    }
    let from_n = card.value("N").map(|n| {
        let f = split_structured(n, Dialect::Standard);
        let order = [3, 1, 2, 0, 4];
        order
            .iter()
            .filter_map(|&i| f.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let name = from_n
        .filter(|s| !s.is_empty())
        .or_else(|| {
            card.value("ORG")
                .map(|o| {
                    split_structured(o, Dialect::Standard)
                        .join(" ")
                        .trim()
                        .to_owned()
                })
                .filter(|s| !s.is_empty())
        })
        .or_else(|| card.value("EMAIL").map(str::to_owned))
        .or_else(|| card.value("TEL").map(str::to_owned))
        .unwrap_or_default();
    card.remove("FN");
    let fnp = Property::new("FN", escape_text(&name, Dialect::Standard));
    let at = card
        .properties
        .iter()
        .position(|p| p.name == "N")
        .map_or(1, |i| i + 1);
    card.properties.insert(at.min(card.properties.len()), fnp);
}

/// Sets the UID of a card (new items from phones, which keep none).
pub fn set_uid(card: &mut Component, uid: &str) {
    card.set(Property::new("UID", uid));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(chrono::DateTime::UNIX_EPOCH)
    }

    const NOKIA: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans;;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Hans M=C3=BCller\r\nTEL;CELL:+41791234567\r\nTEL;HOME;VOICE:+41441234567\r\nTEL;WORK;FAX:+41441234568\r\nEMAIL;INTERNET:hans@example.com\r\nADR;HOME:;;Bahnhofstr. 1;Zurich;;8001;Switzerland\r\nORG:Example AG;Sales\r\nTITLE:Manager\r\nBDAY:19700131\r\nNOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond, line\r\nX-EPOCSECONDNAME:Hansi\r\nUID:42\r\nEND:VCARD\r\n";

    #[test]
    fn series_40_gets_no_trailing_empty_name_fields() {
        let dav = parse_dav(
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\nFN:John Doe\r\nORG:A;;\r\nEND:VCARD\r\n",
        )
        .unwrap();
        let plain = String::from_utf8(from_dav(&dav, Format::Vcard21, &opts()).unwrap()).unwrap();
        assert!(plain.contains("N:Doe;John;;;\r\n"), "{plain}");
        let s40 = opts().with_trim_name_fields(true);
        let trimmed = String::from_utf8(from_dav(&dav, Format::Vcard21, &s40).unwrap()).unwrap();
        assert!(trimmed.contains("N:Doe;John\r\n"), "{trimmed}");
        // Only N: other structured values keep their fields.
        assert!(trimmed.contains("ORG:A;;\r\n"), "{trimmed}");
        let mut escaped = "Doe\\;;".to_owned();
        trim_trailing_fields(&mut escaped);
        assert_eq!(escaped, "Doe\\;");
    }

    #[test]
    fn nokia_card_to_v30() {
        let card = to_dav(NOKIA, Format::Vcard21, &opts()).unwrap();
        let text = card.to_string();
        assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{text}");
        assert_eq!(card.value("N"), Some("Müller;Hans;;;"));
        assert_eq!(card.value("NOTE"), Some("first line\\nsecond\\, line"));
        assert_eq!(card.value("BDAY"), Some("1970-01-31"));
        assert_eq!(card.value("NICKNAME"), Some("Hansi"));
        assert_eq!(card.value("UID"), None);
        let tel = card.properties_named("TEL").nth(1).unwrap();
        assert_eq!(
            tel.params,
            [Param {
                name: "TYPE".into(),
                values: vec!["home".into(), "voice".into()]
            }]
        );
        assert!(
            text.contains("TEL;TYPE=work,fax:+41441234568\r\n"),
            "{text}"
        );
        assert!(text.contains("EMAIL;TYPE=internet:hans@example.com\r\n"));
        assert!(text.contains("ORG:Example AG;Sales\r\n"));
    }

    #[test]
    fn v30_back_to_v21_round_trips() {
        let dav = to_dav(NOKIA, Format::Vcard21, &opts()).unwrap();
        let phone = from_dav(&dav, Format::Vcard21, &opts()).unwrap();
        let text = String::from_utf8(phone.clone()).unwrap();
        assert!(text.contains("TEL;HOME;VOICE:+41441234567\r\n"), "{text}");
        assert!(
            text.contains("NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond, line\r\n"),
            "{text}"
        );
        assert!(
            text.contains("N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans;;;\r\n"),
            "{text}"
        );
        assert!(text.contains("BDAY:19700131\r\n"));
        let again = to_dav(&phone, Format::Vcard21, &opts()).unwrap();
        assert_eq!(again, dav);
    }

    #[test]
    fn latin1_device_output() {
        let dav = to_dav(NOKIA, Format::Vcard21, &opts()).unwrap();
        let o = opts()
            .with_charset(vobject::Charset::Latin1)
            .with_qp_non_ascii(false);
        let phone = from_dav(&dav, Format::Vcard21, &o).unwrap();
        let needle = b"N;CHARSET=ISO-8859-1:M\xFCller;Hans;;;\r\n";
        assert!(phone.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn photo_between_versions() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:A;B\r\nPHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n /9j/4AAQ\r\n SkZJRg==\r\n\r\nEND:VCARD\r\n";
        let v30 = to_dav(input, Format::Vcard21, &opts()).unwrap();
        assert!(v30
            .to_string()
            .contains("PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\n"));
        let v40 = to_dav(
            input,
            Format::Vcard21,
            &opts().with_dav_vcard(DavVcardVersion::V40),
        )
        .unwrap();
        assert_eq!(
            v40.value("PHOTO"),
            Some("data:image/jpeg;base64,/9j/4AAQSkZJRg==")
        );
        let back = String::from_utf8(from_dav(&v40, Format::Vcard21, &opts()).unwrap()).unwrap();
        assert!(
            back.contains("PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRg==\r\n\r\n"),
            "{back}"
        );
    }

    #[test]
    fn v40_pref_and_internet() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nTEL;PREF;CELL:1\r\nEMAIL;INTERNET;HOME:a@b\r\nX-ANNIVERSARY:2001-05-06\r\nGEO:1.5;2.5\r\nEND:VCARD\r\n";
        let v40 = to_dav(
            input,
            Format::Vcard21,
            &opts().with_dav_vcard(DavVcardVersion::V40),
        )
        .unwrap();
        let text = v40.to_string();
        assert!(text.contains("TEL;TYPE=cell;PREF=1:1\r\n"), "{text}");
        assert!(text.contains("EMAIL;TYPE=home:a@b\r\n"), "{text}");
        assert!(text.contains("ANNIVERSARY:20010506\r\n"), "{text}");
        assert!(text.contains("GEO:geo:1.5,2.5\r\n"), "{text}");
        let back = String::from_utf8(from_dav(&v40, Format::Vcard21, &opts()).unwrap()).unwrap();
        assert!(back.contains("TEL;CELL;PREF:1\r\n"), "{back}");
        assert!(back.contains("EMAIL;HOME;INTERNET:a@b\r\n"), "{back}");
        assert!(back.contains("X-ANNIVERSARY:20010506\r\n"), "{back}");
        assert!(back.contains("GEO:1.5;2.5\r\n"), "{back}");
    }

    #[test]
    fn empty_and_dummy_properties_are_dropped_and_fn_added() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John;;;\r\nNOTE:\r\nTITLE: \r\nADR;HOME:;;;;;;\r\nGEO:;\r\nEND:VCARD\r\n";
        let card = to_dav(input, Format::Vcard21, &opts()).unwrap();
        assert_eq!(card.value("GEO"), None);
        assert_eq!(card.value("NOTE"), None);
        assert_eq!(card.value("TITLE"), None);
        assert_eq!(card.value("ADR"), None);
        assert_eq!(card.value("FN"), Some("John Doe"));
    }

    #[test]
    fn categories_lists() {
        let input = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nCATEGORIES:Work;Friends, Golf\r\nNICKNAME:a,b\r\nEND:VCARD\r\n";
        let card = to_dav(input, Format::Vcard21, &opts()).unwrap();
        assert_eq!(card.value("CATEGORIES"), Some("Work,Friends\\, Golf"));
        assert_eq!(card.value("NICKNAME"), Some("a,b"));
        let back = String::from_utf8(from_dav(&card, Format::Vcard21, &opts()).unwrap()).unwrap();
        assert!(back.contains("CATEGORIES:Work;Friends, Golf\r\n"), "{back}");
        assert!(back.contains("NICKNAME:a,b\r\n"), "{back}");
    }

    #[test]
    fn wrong_component_is_a_typed_error() {
        let err = to_dav(
            b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            Format::Vcard21,
            &opts(),
        )
        .unwrap_err();
        assert!(matches!(err, ConvertError::WrongComponent { .. }));
        let err = to_dav(b"garbage", Format::Vcard21, &opts()).unwrap_err();
        assert!(matches!(err, ConvertError::Syntax { .. }));
    }
}
