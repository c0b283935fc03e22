//! SIF-N (`text/x-s4j-sifn`, root `<note>`) <-> iCalendar VJOURNAL. As with the other note
//! formats the whole text is the DESCRIPTION and the subject (or the first body line) the
//! SUMMARY. Other fields come from `mappings/sif/note.toml`.

use std::sync::LazyLock;

use super::super::note::note_text;
use super::super::timezone::{format_naive, CalTime};
use super::super::vcal;
use super::super::vobject::{escape_text, unescape_text, Component, Dialect, Property};
use super::super::{ConvertError, ConvertOptions, Format};
use super::calendar::{
    bad, calendar_of, master, normalise_newlines, parse_time, sif_utc, text_of, CalTable,
};
use super::SifElement;

static TABLE: LazyLock<CalTable> =
    LazyLock::new(|| CalTable::load(include_str!("../../../mappings/sif/note.toml"), "note.toml"));

const F: Format = Format::Sifn;

/// The elements this format reads and writes.
pub fn element_names() -> Vec<String> {
    TABLE.element_names()
}

/// A SIF-N item (plain or base64) as a VCALENDAR with one VJOURNAL.
pub fn to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let root = TABLE.parse(input, F)?;
    let body = root
        .child_text("Body")
        .map(normalise_newlines)
        .unwrap_or_default();
    let subject = text_of(&root, "Subject")
        .map(normalise_newlines)
        .or_else(|| {
            body.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        });

    let mut j = Component::new("VJOURNAL");
    // Without a UID of its own the item gets a unique one when it is first written.
    if let Some(uid) = text_of(&root, "Uid") {
        j.push(Property::new("UID", escape_text(uid, Dialect::Standard)));
    }
    j.push(Property::new(
        "DTSTAMP",
        format!("{}Z", format_naive(opts.now.naive_utc())),
    ));
    if let Some(d) = text_of(&root, "Date") {
        let t = parse_time(d, opts.device_tz).map_err(|e| bad(F, "Date", e))?;
        let t = match t {
            CalTime::Date(_) => t,
            t => CalTime::Utc(t.to_utc(opts.device_tz)),
        };
        j.push(vcal::time_property("DTSTART", &t));
    }
    if let Some(s) = &subject {
        j.push(Property::new("SUMMARY", escape_text(s, Dialect::Standard)));
    }
    if !body.trim().is_empty() {
        j.push(Property::new(
            "DESCRIPTION",
            escape_text(&body, Dialect::Standard),
        ));
    }
    TABLE.fields_in(&root, &mut j);
    Ok(calendar_of(j))
}

/// The VJOURNAL of a VCALENDAR as SIF-N XML (not base64).
pub fn from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let j = master(cal, "VJOURNAL")?;
    let body = note_text(j);
    let subject = j
        .value("SUMMARY")
        .map(|s| unescape_text(s, Dialect::Standard))
        .filter(|s| !s.trim().is_empty())
        .or_else(|| body.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let mut out = vec![
        SifElement::leaf("SIFVersion", "1.1"),
        SifElement::leaf("Subject", subject.replace('\n', "\r\n")),
        SifElement::leaf("Body", body.replace('\n', "\r\n")),
    ];
    if let Some(t) = j
        .property("DTSTART")
        .and_then(|p| vcal::read_ical_time(p, opts.device_tz))
    {
        out.push(SifElement::leaf("Date", sif_utc(&t, opts.device_tz)));
    }
    TABLE.fields_out(j, &mut out);
    let mut root = SifElement::new(&TABLE.root);
    root.children = out;
    Ok(super::write(&root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(chrono::DateTime::UNIX_EPOCH)
    }

    #[test]
    fn outlook_note_in_base64() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><note><SIFVersion>1.1</SIFVersion><Subject>Einkauf</Subject><Body>Einkauf\r\nMilch, Käse &amp; Brot</Body><Categories>Privat</Categories><Color>3</Color><Height>200</Height><Width>180</Width><Left>10</Left><Top/></note>";
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let cal = to_dav(b64.as_bytes(), &opts()).unwrap();
        let j = master(&cal, "VJOURNAL").unwrap();
        let text = j.to_string();
        assert!(text.contains("SUMMARY:Einkauf\r\n"), "{text}");
        assert!(
            text.contains("DESCRIPTION:Einkauf\\nMilch\\, Käse & Brot\r\n"),
            "{text}"
        );
        assert!(text.contains("CATEGORIES:Privat\r\n"), "{text}");
        assert!(text.contains("X-FUNAMBOL-COLOR:3\r\n"), "{text}");
        assert!(!text.contains("X-FUNAMBOL-TOP"), "{text}");
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("Subject"), Some("Einkauf"));
        assert_eq!(
            back.child_text("Body"),
            Some("Einkauf\r\nMilch, Käse & Brot")
        );
        assert_eq!(back.child_text("Color"), Some("3"));
        assert_eq!(back.child_text("Width"), Some("180"));
        // Everything but the UID, which the item gets when it is first written.
        let mut again = to_dav(&from_dav(&cal, &opts()).unwrap(), &opts()).unwrap();
        let mut cal = cal;
        for c in [&mut again, &mut cal] {
            c.components[0].remove("UID");
        }
        assert_eq!(again, cal);
    }

    #[test]
    fn body_only_note_gets_its_first_line_as_subject() {
        let cal = to_dav(
            b"<note><Body>\r\nCall Bob\r\nabout the car</Body></note>",
            &opts(),
        )
        .unwrap();
        let j = master(&cal, "VJOURNAL").unwrap();
        assert_eq!(j.value("SUMMARY"), Some("Call Bob"));
        assert!(to_dav(b"<note><Date>later</Date></note>", &opts()).is_err());
        assert!(to_dav(b"<contact/>", &opts()).is_err());
    }
}
