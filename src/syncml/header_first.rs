//! Header-first decoding: the typed `SyncHdr` of a message, read without building its
//! body, so the sender can be authenticated before the body costs anything.

use super::limits::{DecodeLimits, Scope};
use super::model::SyncBody;
use super::{
    model, tree_of, CodecError, Decoded, EncodeOptions, Encoding, Message, SyncHdr, Version,
    WbxmlForm,
};

/// The header of a message, decoded without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedHeader {
    pub header: SyncHdr,
    /// The version the header names, when it is one we know.
    pub version: Option<Version>,
    pub encoding: Encoding,
    /// Set for WBXML input.
    pub wbxml: Option<WbxmlForm>,
}

impl DecodedHeader {
    /// Options that answer in kind: same encoding, same WBXML framing.
    pub fn reply_options(&self) -> EncodeOptions {
        EncodeOptions {
            encoding: self.encoding,
            wbxml: self.wbxml.unwrap_or_default(),
        }
    }

    /// A decoded message with this header and an empty body, for answers that need
    /// only the header (a challenge, a refusal) without reading the body.
    pub fn into_decoded(self) -> Decoded {
        Decoded {
            message: Message {
                header: self.header,
                body: SyncBody::default(),
                extra: Vec::new(),
            },
            encoding: self.encoding,
            wbxml: self.wbxml,
        }
    }
}

/// Decodes only the `SyncHdr` of a message (credentials, meta, session and message
/// ids), reading no further than its end, so a caller can authenticate the sender
/// before spending anything on the body.
pub fn decode_header(bytes: &[u8]) -> Result<DecodedHeader, CodecError> {
    decode_header_with(bytes, &DecodeLimits::default())
}

/// [`decode_header`] within `limits` (the header itself must fit them).
pub fn decode_header_with(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<DecodedHeader, CodecError> {
    let (root, encoding, wbxml) = tree_of(bytes, limits, Scope::Header)?;
    let header = model::header_of(&root)?;
    Ok(DecodedHeader {
        version: header.version(),
        header,
        encoding,
        wbxml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syncml::{decode_with, encode, LimitExceeded};

    const XML: &[u8] = include_bytes!("../../tests/fixtures/syncevolution/1.2-xml/01-request.xml");
    const WBXML: &[u8] =
        include_bytes!("../../tests/fixtures/syncevolution/1.2-wbxml/01-request.wbxml");

    /// Elements in the header of both fixtures, with room to spare but far fewer than
    /// their bodies hold (the DevInf alone has hundreds).
    const HEADER_ELEMENTS: usize = 40;

    fn header_sized() -> DecodeLimits {
        DecodeLimits {
            max_elements: HEADER_ELEMENTS,
            ..DecodeLimits::default()
        }
    }

    #[test]
    fn xml_header_is_read_without_the_body() {
        let h = decode_header_with(XML, &header_sized()).unwrap();
        assert_eq!(h.encoding, Encoding::Xml);
        assert_eq!(h.version, Some(Version::V1_2));
        assert_eq!(h.header.source.loc_uri, "capture-phone-1");
        let cred = h.header.cred.as_ref().unwrap();
        assert_eq!(cred.data.as_text(), Some("lOnT4YjHnGPOubN9TXInoQ=="));
        assert!(h.header.meta.is_some());
        let whole = decode_with(XML, &header_sized()).unwrap_err();
        assert!(
            matches!(whole.limit_exceeded(), Some(LimitExceeded::Elements { .. })),
            "{whole}"
        );
    }

    #[test]
    fn wbxml_header_is_read_without_the_body() {
        let h = decode_header_with(WBXML, &header_sized()).unwrap();
        assert_eq!(h.encoding, Encoding::Wbxml);
        assert!(h.wbxml.is_some());
        assert_eq!(h.version, Some(Version::V1_2));
        assert!(h.header.cred.is_some());
        assert_eq!(h.reply_options().encoding, Encoding::Wbxml);
        let whole = decode_with(WBXML, &header_sized()).unwrap_err();
        assert!(
            matches!(whole.limit_exceeded(), Some(LimitExceeded::Elements { .. })),
            "{whole}"
        );
    }

    #[test]
    fn header_matches_the_full_decode() {
        for bytes in [XML, WBXML] {
            let whole = crate::syncml::decode(bytes).unwrap();
            assert_eq!(decode_header(bytes).unwrap().header, whole.message.header);
        }
    }

    #[test]
    fn a_broken_body_does_not_hide_the_header() {
        let mut xml = b"<SyncML><SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>\
<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target>\
<Source><LocURI>d</LocURI></Source></SyncHdr><SyncBody>"
            .to_vec();
        xml.extend(std::iter::repeat_n(&b"<Atomic>"[..], 10_000).flatten());
        let h = decode_header(&xml).unwrap();
        assert_eq!(h.header.source.loc_uri, "d");
        assert!(crate::syncml::decode(&xml).is_err());
    }

    #[test]
    fn body_before_header_is_not_read() {
        let xml = b"<SyncML><SyncBody><Final/></SyncBody><SyncHdr/></SyncML>";
        let err = decode_header(xml).unwrap_err();
        assert!(err.to_string().contains("SyncHdr"), "{err}");
    }

    #[test]
    fn a_header_alone_answers_in_kind() {
        let whole = crate::syncml::decode(WBXML).unwrap();
        let alone = decode_header(WBXML).unwrap().into_decoded();
        assert_eq!(alone.reply_options(), whole.reply_options());
        assert_eq!(alone.message.header, whole.message.header);
        assert!(alone.message.body.commands.is_empty());
    }

    #[test]
    fn wbxml_reencoded_header_round_trips() {
        let msg = crate::syncml::decode(XML).unwrap().message;
        let bytes = encode(&msg, Encoding::Wbxml).unwrap();
        assert_eq!(decode_header(&bytes).unwrap().header, msg.header);
    }
}
