//! The format an item's body really has, when the type it was labelled with says
//! otherwise: a SIF document labelled `text/x-vcard`, a vCard labelled SIF, a vCalendar
//! 1.0 labelled `text/calendar` (Sony Ericsson P900). The body wins only when it names
//! its format beyond doubt (a SIF root element, a `BEGIN:` line with its `VERSION:`).

use super::Format;

/// `declared`, unless the body plainly is another format of the same kind of item (a
/// contact stays a contact: a note whose text happens to start with `BEGIN:VCARD` stays
/// a note).
pub fn settle(declared: Format, body: &[u8]) -> Format {
    sniff(body, declared)
        .filter(|f| f.kind() == declared.kind())
        .unwrap_or(declared)
}

/// The format the body shows, if it shows one; `declared` breaks ties (a vCard without a
/// VERSION line stays the vCard version it was declared as).
fn sniff(body: &[u8], declared: Format) -> Option<Format> {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('<') {
        return sif_root(text);
    }
    let upper = text.to_ascii_uppercase();
    let version = version_line(&upper);
    if upper.starts_with("BEGIN:VCARD") {
        return Some(match version.as_deref() {
            Some("2.1") => Format::Vcard21,
            Some("3.0") => Format::Vcard30,
            Some("4.0") => Format::Vcard40,
            _ if matches!(
                declared,
                Format::Vcard21 | Format::Vcard30 | Format::Vcard40
            ) =>
            {
                declared
            }
            _ => Format::Vcard21,
        });
    }
    if upper.starts_with("BEGIN:VCALENDAR") {
        return Some(match version.as_deref() {
            Some("1.0") => Format::Vcal10,
            Some("2.0") => Format::Ical20,
            _ if matches!(declared, Format::Vcal10 | Format::Ical20) => declared,
            _ => Format::Vcal10,
        });
    }
    if upper.starts_with("BEGIN:VNOTE") {
        return Some(Format::Vnote);
    }
    None
}

/// The SIF format named by the document's root element.
fn sif_root(text: &str) -> Option<Format> {
    let mut rest = text;
    // Skip the XML declaration, comments and a doctype.
    while let Some(r) = rest.strip_prefix("<?").or_else(|| rest.strip_prefix("<!")) {
        let end = r.find('>')?;
        rest = r[end + 1..].trim_start();
    }
    let name: String = rest
        .strip_prefix('<')?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(match name.to_ascii_lowercase().as_str() {
        "contact" => Format::Sifc,
        "appointment" | "event" => Format::Sife,
        "task" => Format::Sift,
        "note" => Format::Sifn,
        _ => return None,
    })
}

/// The value of the first `VERSION:` line, before the first nested `BEGIN:`.
fn version_line(upper: &str) -> Option<String> {
    upper
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("BEGIN:"))
        .find_map(|l| l.strip_prefix("VERSION:"))
        .map(|v| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sif_document_is_sif_whatever_its_label() {
        let sifc =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><contact><LastName>A</LastName></contact>";
        assert_eq!(settle(Format::Vcard21, sifc), Format::Sifc);
        assert_eq!(
            settle(Format::Text, b"<note><Subject>s</Subject></note>"),
            Format::Sifn
        );
        assert_eq!(settle(Format::Vcal10, b"<appointment/>"), Format::Sife);
        assert_eq!(
            settle(Format::Vcal10, b"<?xml version=\"1.0\"?>\n<task></task>"),
            Format::Sift
        );
    }

    #[test]
    fn a_vcard_labelled_sif_is_a_vcard_of_its_version() {
        let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(settle(Format::Sifc, card), Format::Vcard30);
        let bare = b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(settle(Format::Vcard30, bare), Format::Vcard30);
        assert_eq!(settle(Format::Sifc, bare), Format::Vcard21);
    }

    #[test]
    fn a_vcalendar_1_0_labelled_text_calendar_is_vcalendar() {
        let p900 =
            b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(settle(Format::Ical20, p900), Format::Vcal10);
        let ical = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nEND:VTODO\r\nEND:VCALENDAR";
        assert_eq!(settle(Format::Vcal10, ical), Format::Ical20);
    }

    #[test]
    fn plain_text_keeps_its_label() {
        assert_eq!(settle(Format::Text, b"shopping list"), Format::Text);
        assert_eq!(settle(Format::Sifn, b""), Format::Sifn);
    }

    #[test]
    fn a_body_of_another_kind_of_item_keeps_the_label() {
        let card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(settle(Format::Text, card), Format::Text);
        assert_eq!(settle(Format::Vcal10, b"<contact/>"), Format::Vcal10);
    }
}
