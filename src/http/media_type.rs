//! Which SyncML encoding a request body is in, from its Content-Type or its first bytes.

use super::handler::WireEncoding;

/// What the Content-Type header says about the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Declared {
    SyncMl(WireEncoding),
    /// No header, or an empty one: look at the body.
    Missing,
    /// Some other media type (kept, lowercased, for the error message).
    Other(String),
}

/// Reads a Content-Type value, ignoring parameters (`; charset=UTF-8`, Nokia 515),
/// case and surrounding blanks.
pub(crate) fn declared(content_type: Option<&[u8]>) -> Declared {
    let Some(raw) = content_type else {
        return Declared::Missing;
    };
    let raw = String::from_utf8_lossy(raw);
    let media = raw
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "" => Declared::Missing,
        "application/vnd.syncml+xml" => Declared::SyncMl(WireEncoding::Xml),
        "application/vnd.syncml+wbxml" => Declared::SyncMl(WireEncoding::Wbxml),
        _ => Declared::Other(media),
    }
}

/// Guesses the encoding of an untyped body: XML starts with `<` (after an optional
/// UTF-8 byte-order mark and blanks), WBXML with its version byte 0x01-0x03.
pub(crate) fn sniff(body: &[u8]) -> Option<WireEncoding> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.first()? {
        0x01..=0x03 => Some(WireEncoding::Wbxml),
        _ => match body.iter().find(|b| !b.is_ascii_whitespace())? {
            b'<' => Some(WireEncoding::Xml),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_ignore_parameters_case_and_blanks() {
        let cases: [(&[u8], Declared); 6] = [
            (
                b"application/vnd.syncml+xml",
                Declared::SyncMl(WireEncoding::Xml),
            ),
            (
                b"application/vnd.syncml+wbxml; charset=UTF-8",
                Declared::SyncMl(WireEncoding::Wbxml),
            ),
            (
                b" Application/VND.SyncML+XML ;charset=utf-8",
                Declared::SyncMl(WireEncoding::Xml),
            ),
            (b"", Declared::Missing),
            (b"  ; charset=utf-8", Declared::Missing),
            (b"text/XML", Declared::Other("text/xml".into())),
        ];
        for (raw, want) in cases {
            assert_eq!(
                declared(Some(raw)),
                want,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(declared(None), Declared::Missing);
        assert_eq!(
            declared(Some(b"application/vnd.syncml+\xff")),
            Declared::Other("application/vnd.syncml+\u{fffd}".into())
        );
    }

    #[test]
    fn sniffing_tells_xml_from_wbxml() {
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><SyncML/>"),
            Some(WireEncoding::Xml)
        );
        assert_eq!(sniff(b"\xEF\xBB\xBF\r\n <SyncML>"), Some(WireEncoding::Xml));
        assert_eq!(sniff(b"\x02\xa4\x01\x6a\x00"), Some(WireEncoding::Wbxml));
        assert_eq!(sniff(b"\x01\x01"), Some(WireEncoding::Wbxml));
        assert_eq!(sniff(b"\x03"), Some(WireEncoding::Wbxml));
        assert_eq!(sniff(b"\x04\x00"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b"   "), None);
        assert_eq!(sniff(b""), None);
    }
}
