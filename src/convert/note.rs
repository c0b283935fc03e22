//! Notes: plain text (`text/plain`) and vNote 1.1 (`text/x-vnote`) <-> iCalendar VJOURNAL.
//!
//! The whole text is the DESCRIPTION and its first line the SUMMARY, so a phone that only
//! knows one text field loses nothing and a DAV client still shows a title.

use super::timezone::{format_naive, parse_caltime, CalTime};
use super::vobject::{
    self, decode_charset, escape_text, split_escaped, unescape_text, Component, Dialect, Property,
};
use super::{ConvertError, ConvertOptions, Format};

const PRODID: &str = "-//syncml-bridge//convert//EN";

/// A plain-text note into a VCALENDAR holding one VJOURNAL.
pub fn text_to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let text = decode_charset(input, None, opts.charset);
    let text = normalise_newlines(text.trim_start_matches('\u{feff}'));
    Ok(journal(opts, &text, None, Vec::new()))
}

/// The note text of a VJOURNAL for a phone: the description, with the summary as the first
/// line when the description does not already start with it. Encoded in the device's charset.
pub fn text_from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let j = find_journal(cal, Format::Text)?;
    let text = note_text(j).replace('\n', "\r\n");
    Ok(opts
        .charset
        .encode(&text)
        .unwrap_or_else(|| text.into_bytes()))
}

/// A vNote 1.1 into a VCALENDAR holding one VJOURNAL.
pub fn vnote_to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let root =
        vobject::parse(input, &opts.parse_old()).map_err(ConvertError::syntax(Format::Vnote))?;
    if root.name != "VNOTE" {
        return Err(ConvertError::WrongComponent {
            format: Format::Vnote,
            expected: "VNOTE",
            found: root.name,
        });
    }
    let body = root
        .value("BODY")
        .map(|b| normalise_newlines(&unescape_text(b, Dialect::Old)))
        .unwrap_or_default();
    let summary = root
        .value("SUMMARY")
        .map(|s| unescape_text(s, Dialect::Old))
        .filter(|s| !s.trim().is_empty());
    let mut extra = Vec::new();
    for p in &root.properties {
        let value = p.value.trim();
        match p.name.as_str() {
            "BODY" | "SUMMARY" | "VERSION" | "X-IRMC-LUID" => {}
            "CATEGORIES" => {
                let cats: Vec<String> = split_escaped(value, ';')
                    .iter()
                    .flat_map(|c| split_escaped(c, ','))
                    .map(|c| unescape_text(c.trim(), Dialect::Old))
                    .filter(|c| !c.is_empty())
                    .map(|c| escape_text(&c, Dialect::Standard))
                    .collect();
                if !cats.is_empty() {
                    extra.push(Property::new("CATEGORIES", cats.join(",")));
                }
            }
            "CLASS" if !value.is_empty() => {
                extra.push(Property::new("CLASS", value.to_ascii_uppercase()))
            }
            "DCREATED" | "LAST-MODIFIED" => {
                let t = parse_caltime(value).map_err(|e| ConvertError::BadProperty {
                    format: Format::Vnote,
                    property: p.name.clone(),
                    reason: e.to_string(),
                })?;
                let utc = t.to_utc(opts.device_tz);
                let name = if p.name == "DCREATED" {
                    "CREATED"
                } else {
                    "LAST-MODIFIED"
                };
                extra.push(Property::new(name, format!("{}Z", format_naive(utc))));
            }
            name if name.starts_with("X-") => {
                let mut q = p.clone();
                q.value = escape_text(&unescape_text(&p.value, Dialect::Old), Dialect::Standard);
                extra.push(q);
            }
            _ => {}
        }
    }
    Ok(journal(opts, &body, summary, extra))
}

/// A VJOURNAL as vNote 1.1.
pub fn vnote_from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let j = find_journal(cal, Format::Vnote)?;
    let mut n = Component::new("VNOTE");
    n.push(Property::new("VERSION", "1.1"));
    let body = note_text(j);
    n.push(Property::new("BODY", escape_text(&body, Dialect::Old)));
    if let Some(s) = j
        .value("SUMMARY")
        .map(|s| unescape_text(s, Dialect::Standard))
    {
        if !s.is_empty() {
            n.push(Property::new("SUMMARY", escape_text(&s, Dialect::Old)));
        }
    }
    let cats: Vec<String> = j
        .properties_named("CATEGORIES")
        .flat_map(|p| split_escaped(&p.value, ','))
        .map(|c| unescape_text(c.trim(), Dialect::Standard))
        .filter(|c| !c.is_empty())
        .map(|c| c.replace(';', "\\;"))
        .collect();
    if !cats.is_empty() {
        n.push(Property::new("CATEGORIES", cats.join(";")));
    }
    if let Some(c) = j.value("CLASS") {
        n.push(Property::new("CLASS", c.trim()));
    }
    for (ical, vnote) in [("CREATED", "DCREATED"), ("LAST-MODIFIED", "LAST-MODIFIED")] {
        if let Some(t) = j.value(ical).and_then(|v| parse_caltime(v).ok()) {
            let utc = t.to_utc(opts.device_tz);
            n.push(Property::new(vnote, format!("{}Z", format_naive(utc))));
        }
    }
    Ok(vobject::write(&n, &opts.write_old()))
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn journal(
    opts: &ConvertOptions,
    body: &str,
    summary: Option<String>,
    extra: Vec<Property>,
) -> Component {
    let mut cal = Component::new("VCALENDAR");
    cal.push(Property::new("VERSION", "2.0"));
    cal.push(Property::new("PRODID", PRODID));
    let mut j = Component::new("VJOURNAL");
    j.push(Property::new(
        "DTSTAMP",
        format!("{}Z", format_naive(opts.now.naive_utc())),
    ));
    let summary = summary.or_else(|| {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    });
    if let Some(s) = summary {
        j.push(Property::new("SUMMARY", escape_text(&s, Dialect::Standard)));
    }
    if !body.is_empty() {
        j.push(Property::new(
            "DESCRIPTION",
            escape_text(body, Dialect::Standard),
        ));
    }
    j.properties.extend(extra);
    cal.components.push(j);
    cal
}

/// The text a phone holds: DESCRIPTION, preceded by SUMMARY unless it already starts with it.
pub fn note_text(j: &Component) -> String {
    let get = |n: &str| {
        j.value(n)
            .map(|v| unescape_text(v, Dialect::Standard))
            .filter(|v| !v.is_empty())
    };
    match (get("SUMMARY"), get("DESCRIPTION")) {
        (Some(s), Some(d)) if d.starts_with(s.trim()) => d,
        (Some(s), Some(d)) => format!("{s}\n{d}"),
        (Some(s), None) => s,
        (None, Some(d)) => d,
        (None, None) => String::new(),
    }
}

fn find_journal(cal: &Component, format: Format) -> Result<&Component, ConvertError> {
    if cal.name == "VJOURNAL" {
        return Ok(cal);
    }
    cal.components_named("VJOURNAL")
        .next()
        .ok_or_else(|| ConvertError::WrongComponent {
            format,
            expected: "VJOURNAL",
            found: cal
                .components
                .first()
                .map_or_else(|| cal.name.clone(), |c| c.name.clone()),
        })
}

/// The creation time of a note, when it carries one.
pub fn created(j: &Component) -> Option<CalTime> {
    j.value("CREATED").and_then(|v| parse_caltime(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Charset;
    use chrono::{TimeZone, Utc};

    fn opts() -> ConvertOptions {
        let now = Utc
            .with_ymd_and_hms(2009, 10, 1, 12, 0, 0)
            .single()
            .unwrap_or_default();
        ConvertOptions::new(now)
    }

    #[test]
    fn text_first_line_is_summary() {
        let cal = text_to_dav("Shopping\r\nMilk\r\nBröt".as_bytes(), &opts())
            .unwrap_or_else(|e| panic!("{e}"));
        let j = find_journal(&cal, Format::Text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j.value("SUMMARY"), Some("Shopping"));
        assert_eq!(j.value("DESCRIPTION"), Some("Shopping\\nMilk\\nBröt"));
        let back = text_from_dav(&cal, &opts()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, "Shopping\r\nMilk\r\nBröt".as_bytes());
        // Latin-1 device.
        let latin = opts().with_charset(Charset::Latin1);
        let cal = text_to_dav(b"Br\xf6t", &latin).unwrap_or_else(|e| panic!("{e}"));
        let back = text_from_dav(&cal, &latin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, b"Br\xf6t");
    }

    #[test]
    fn vnote_roundtrip() {
        let input = "BEGIN:VNOTE\r\nVERSION:1.1\r\nX-IRMC-LUID:000001000005\r\nDCREATED:20091010T090000Z\r\nBODY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Milk=0D=0ABread\r\nCATEGORIES:PERSONAL;WORK\r\nCLASS:PUBLIC\r\nEND:VNOTE\r\n";
        let cal = vnote_to_dav(input.as_bytes(), &opts()).unwrap_or_else(|e| panic!("{e}"));
        let j = find_journal(&cal, Format::Vnote).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(j.value("SUMMARY"), Some("Milk"));
        assert_eq!(j.value("DESCRIPTION"), Some("Milk\\nBread"));
        assert_eq!(j.value("CATEGORIES"), Some("PERSONAL,WORK"));
        assert_eq!(j.value("CREATED"), Some("20091010T090000Z"));
        assert!(j.property("X-IRMC-LUID").is_none());
        let out = vnote_from_dav(&cal, &opts()).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(out).unwrap_or_default();
        assert!(
            text.contains("BODY;ENCODING=QUOTED-PRINTABLE:Milk=0D=0ABread\r\n"),
            "{text}"
        );
        assert!(text.contains("CATEGORIES:PERSONAL;WORK\r\n"), "{text}");
        assert!(text.contains("DCREATED:20091010T090000Z\r\n"), "{text}");
    }

    #[test]
    fn summary_edited_on_the_server_reaches_the_phone() {
        let mut j = Component::new("VJOURNAL");
        j.push(Property::new("SUMMARY", "Title"));
        j.push(Property::new("DESCRIPTION", "Body\\, text"));
        assert_eq!(note_text(&j), "Title\nBody, text");
        assert!(matches!(
            text_from_dav(&Component::new("VCALENDAR"), &opts()),
            Err(ConvertError::WrongComponent { .. })
        ));
        assert!(matches!(
            vnote_to_dav(b"BEGIN:VCARD\r\nEND:VCARD\r\n", &opts()),
            Err(ConvertError::WrongComponent { .. })
        ));
    }
}
