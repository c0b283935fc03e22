//! Charsets a WBXML header may announce (`mappings/wbxml/charsets.tokens`).

use std::collections::HashMap;
use std::sync::LazyLock;

use encoding_rs::Encoding;

const CHARSETS_TEXT: &str = include_str!("../../../mappings/wbxml/charsets.tokens");

/// MIBenum 0 means "unknown"; strings are then read as UTF-8, like the SyncML
/// Toolkit does for every charset.
const MIB_UNKNOWN: u32 = 0;

static CHARSETS: LazyLock<HashMap<u32, &'static Encoding>> = LazyLock::new(|| {
    CHARSETS_TEXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (mib, label) = l.split_once(' ')?;
            let enc = Encoding::for_label(label.trim().as_bytes())?;
            Some((mib.parse().ok()?, enc))
        })
        .collect()
});

/// The decoder for a MIBenum, or `None` when it is not supported.
pub(crate) fn encoding_for(mib: u32) -> Option<&'static Encoding> {
    if mib == MIB_UNKNOWN {
        return Some(encoding_rs::UTF_8);
    }
    CHARSETS.get(&mib).copied()
}

/// Decodes one string; `None` if the bytes are malformed in that charset.
pub(crate) fn decode_text(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    if enc == encoding_rs::UTF_8 {
        return std::str::from_utf8(bytes).ok().map(str::to_owned);
    }
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_charset_is_known_to_encoding_rs() {
        let listed = CHARSETS_TEXT
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(CHARSETS.len(), listed);
        assert_eq!(encoding_for(106), Some(encoding_rs::UTF_8));
        assert_eq!(encoding_for(1015), None);
    }

    #[test]
    fn latin1_text_decodes() {
        let enc = encoding_for(4).unwrap();
        assert_eq!(decode_text(enc, b"M\xfcller").as_deref(), Some("Müller"));
        assert_eq!(decode_text(encoding_for(106).unwrap(), b"M\xfcller"), None);
    }
}
