//! Empty properties from a device: `BDAY:`, `PHOTO:`, `GEO:;`, `ORG:;;`, an empty SIF
//! element. Phones send every field they support, filled or not; an empty one means "no
//! value here". It is never stored upstream (an empty BDAY is not even a date), and a
//! device's item behaves as if the field were absent: on an update that clears the
//! server's value only where the device's capability says it holds the field.

use super::vobject::{Component, Property};

/// Properties that stay whatever their value (the item's frame).
const FRAME: &[&str] = &["BEGIN", "END", "VERSION"];
/// Sub-components left alone: an alarm's fields are the alarm's own business.
const UNTOUCHED: &[&str] = &["VALARM", "VTIMEZONE"];

/// Whether `p` holds no value: nothing but separators (`;`, `,`) and spaces, or a
/// binary or `data:` value with no data in it.
pub fn is_empty(p: &Property) -> bool {
    let v = p.value.trim();
    if let Some(rest) = v.strip_prefix("data:") {
        return rest
            .split_once(',')
            .is_none_or(|(_, data)| data.trim().is_empty());
    }
    v.chars()
        .all(|c| c.is_whitespace() || matches!(c, ';' | ','))
}

/// Removes every empty property of `item` and of its item components (VEVENT, VTODO,
/// VJOURNAL), keeping the frame.
pub fn drop_empty(item: &mut Component) {
    item.properties
        .retain(|p| FRAME.iter().any(|f| p.name.eq_ignore_ascii_case(f)) || !is_empty(p));
    for c in &mut item.components {
        if !UNTOUCHED.iter().any(|u| c.name.eq_ignore_ascii_case(u)) {
            drop_empty(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::vobject::{parse, ParseOptions};
    use super::*;

    #[test]
    fn separators_spaces_and_empty_data_are_empty() {
        for value in [
            "",
            " ",
            ";",
            "GEO:;",
            ";;",
            ";;;;;;",
            " , ",
            "data:image/jpeg;base64,",
        ] {
            let v = value.strip_prefix("GEO:").unwrap_or(value);
            assert!(is_empty(&Property::new("X", v)), "{value:?}");
        }
        for value in [
            "0",
            "a;;",
            ";;Street 1;;;;",
            "data:image/png;base64,iVBOR",
            "-",
        ] {
            assert!(!is_empty(&Property::new("X", value)), "{value:?}");
        }
    }

    #[test]
    fn empty_fields_go_and_alarms_stay_whole() {
        let mut cal = parse(
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Meet\r\nLOCATION:\r\n\
              DESCRIPTION:\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:\r\nEND:VALARM\r\n\
              END:VEVENT\r\nEND:VCALENDAR\r\n",
            &ParseOptions::standard(),
        )
        .unwrap();
        drop_empty(&mut cal);
        let ev = &cal.components[0];
        assert_eq!(ev.value("SUMMARY"), Some("Meet"));
        assert!(ev.property("LOCATION").is_none() && ev.property("DESCRIPTION").is_none());
        assert_eq!(ev.components[0].value("DESCRIPTION"), Some(""));
        assert_eq!(cal.value("VERSION"), Some("2.0"));
    }

    #[test]
    fn an_added_item_holds_no_empty_property_in_any_format() {
        let opts = super::super::ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
        let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;;;\r\nBDAY:\r\nPHOTO:\r\n\
                     PHOTO;ENCODING=b;TYPE=JPEG:\r\nURL:\r\nROLE:\r\nGEO:;\r\nX-GENDER:\r\n\
                     ORG:;;\r\nADR;TYPE=home:;;;;;;\r\nTEL;TYPE=cell:+41 79 1\r\nEND:VCARD\r\n";
        let v21 = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nBDAY:\r\n\
                    PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n\r\nORG:;\r\nTEL;CELL:+41 79 1\r\nEND:VCARD\r\n";
        for (format, input) in [
            (super::super::Format::Vcard30, &card[..]),
            (super::super::Format::Vcard21, &v21[..]),
        ] {
            let out = super::super::to_dav(format, input, &opts).unwrap();
            let mut names: Vec<&str> = out.properties.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["FN", "N", "TEL", "VERSION"], "{format}: {out}");
        }
        let vcal = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Meet\r\n\
                     DTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nLOCATION:\r\n\
                     DESCRIPTION:\r\nCATEGORIES:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let cal = super::super::to_dav(super::super::Format::Vcal10, vcal, &opts).unwrap();
        let ev = cal.components_named("VEVENT").next().unwrap();
        for gone in ["LOCATION", "DESCRIPTION", "CATEGORIES"] {
            assert!(ev.property(gone).is_none(), "{gone}: {cal}");
        }
        let sif = b"<?xml version=\"1.0\"?><contact><FirstName>John</FirstName>\
                    <LastName>Doe</LastName><Birthday></Birthday><JobTitle/><Body></Body>\
                    <CompanyName></CompanyName><MobileTelephoneNumber>+41 79 1</MobileTelephoneNumber></contact>";
        let out = super::super::to_dav(super::super::Format::Sifc, sif, &opts).unwrap();
        for gone in ["BDAY", "TITLE", "NOTE", "ORG"] {
            assert!(out.property(gone).is_none(), "{gone}: {out}");
        }
        assert_eq!(out.value("TEL"), Some("+41 79 1"));
    }
}
