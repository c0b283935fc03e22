//! The SyncML wire layer: the message model, its XML and WBXML encodings, DevInf and
//! the status and alert codes. Depends on nothing else of ours.

mod adapt;
pub mod auth;
pub mod codes;
pub mod devinf;
mod header_first;
pub mod item_format;
pub mod limits;
pub mod model;
pub mod reply;
pub mod tree;
pub mod wbxml;
pub mod xml;

pub use header_first::{decode_header, decode_header_with, DecodedHeader};
pub use limits::{DecodeLimits, LimitExceeded};
pub use model::{Message, SyncHdr, Version};

use limits::Scope;
use wbxml::{PublicId, WbxmlDocument, WbxmlError};
use xml::XmlError;

/// The two SyncML encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Xml,
    Wbxml,
}

impl Encoding {
    /// The HTTP `Content-Type` of a message in this encoding.
    pub fn mime_type(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml+xml",
            Encoding::Wbxml => "application/vnd.syncml+wbxml",
        }
    }

    /// From an HTTP `Content-Type`, ignoring parameters such as `charset`.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/vnd.syncml+xml") {
            Some(Encoding::Xml)
        } else if media.eq_ignore_ascii_case("application/vnd.syncml+wbxml") {
            Some(Encoding::Wbxml)
        } else {
            None
        }
    }
}

/// Why a message could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the body is neither XML nor WBXML")]
    Unrecognised,
    #[error("XML: {0}")]
    Xml(#[from] XmlError),
    #[error("WBXML: {0}")]
    Wbxml(#[from] WbxmlError),
    #[error("not a SyncML message: {0}")]
    Model(#[from] model::ModelError),
}

impl CodecError {
    /// The limit the message passed, when that is why it was refused.
    pub fn limit_exceeded(&self) -> Option<LimitExceeded> {
        match self {
            CodecError::Xml(XmlError::Limit { exceeded, .. })
            | CodecError::Wbxml(WbxmlError::Limit { exceeded, .. }) => Some(*exceeded),
            CodecError::Wbxml(WbxmlError::TooDeep { limit, .. }) => {
                Some(LimitExceeded::Depth { limit: *limit })
            }
            CodecError::Wbxml(WbxmlError::TooManyElements { limit, .. }) => {
                Some(LimitExceeded::Elements { limit: *limit })
            }
            _ => None,
        }
    }
}

/// How a WBXML message was framed, so an answer can use the same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WbxmlForm {
    /// The WBXML version byte (0x02 = WBXML 1.2).
    pub version: u8,
    /// The public id was given as an FPI string rather than a number.
    pub fpi: bool,
}

impl Default for WbxmlForm {
    fn default() -> Self {
        WbxmlForm {
            version: 0x02,
            fpi: false,
        }
    }
}

/// How to encode a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub encoding: Encoding,
    pub wbxml: WbxmlForm,
}

/// A decoded message and how it was encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub message: Message,
    pub encoding: Encoding,
    /// Set for WBXML input.
    pub wbxml: Option<WbxmlForm>,
}

impl Decoded {
    /// Options that answer in kind: same encoding, same WBXML framing.
    pub fn reply_options(&self) -> EncodeOptions {
        EncodeOptions {
            encoding: self.encoding,
            wbxml: self.wbxml.unwrap_or_default(),
        }
    }
}

/// Which encoding `bytes` are in, by their first bytes.
pub fn detect(bytes: &[u8]) -> Option<Encoding> {
    if encoding_rs::Encoding::for_bom(bytes).is_some() {
        return Some(Encoding::Xml);
    }
    match bytes.iter().copied().find(|b| !b.is_ascii_whitespace())? {
        b'<' => Some(Encoding::Xml),
        // WBXML version byte 1.1 .. 1.3; leading whitespace is not WBXML.
        1..=3 if matches!(bytes.first(), Some(1..=3)) => Some(Encoding::Wbxml),
        _ => None,
    }
}

/// Decodes a message in either encoding, within the codec's default limits.
pub fn decode(bytes: &[u8]) -> Result<Decoded, CodecError> {
    decode_with(bytes, &DecodeLimits::default())
}

/// Decodes a message in either encoding, refusing it as soon as it passes `limits`.
pub fn decode_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Decoded, CodecError> {
    let (root, encoding, wbxml) = tree_of(bytes, limits, Scope::Whole)?;
    Ok(Decoded {
        message: Message::from_tree(root)?,
        encoding,
        wbxml,
    })
}

/// The element tree of a message (or of its header only), with the encoding-specific
/// adjustments undone.
pub(crate) fn tree_of(
    bytes: &[u8],
    limits: &DecodeLimits,
    scope: Scope,
) -> Result<(tree::Element, Encoding, Option<WbxmlForm>), CodecError> {
    match detect(bytes).ok_or(CodecError::Unrecognised)? {
        Encoding::Xml => {
            let mut root = xml::parse_with(bytes, limits, scope)?;
            adapt::rewrite_devinf_type(&mut root, model::DEVINF_WBXML_TYPE, model::DEVINF_XML_TYPE);
            Ok((root, Encoding::Xml, None))
        }
        Encoding::Wbxml => {
            let doc = wbxml::decode_with(bytes, limits, scope)?;
            let form = WbxmlForm {
                version: doc.version,
                fpi: matches!(doc.public_id, PublicId::Fpi(_)),
            };
            let mut root = doc.root;
            adapt::inline_devinf(&mut root, limits);
            Ok((root, Encoding::Wbxml, Some(form)))
        }
    }
}

/// Encodes a message with default framing (WBXML 1.2, numeric public id).
pub fn encode(msg: &Message, encoding: Encoding) -> Result<Vec<u8>, CodecError> {
    encode_with(
        msg,
        &EncodeOptions {
            encoding,
            wbxml: WbxmlForm::default(),
        },
    )
}

/// Encodes a message as `opts` say.
pub fn encode_with(msg: &Message, opts: &EncodeOptions) -> Result<Vec<u8>, CodecError> {
    // A header with an unknown version still needs a namespace; 1.1 is the common one.
    let version = msg.version().unwrap_or(Version::V1_1);
    let mut root = msg.to_element();
    match opts.encoding {
        Encoding::Xml => {
            adapt::base64_binary_data(&mut root);
            Ok(xml::write(&root, version.namespace()))
        }
        Encoding::Wbxml => {
            adapt::embed_devinf(&mut root, opts.wbxml.version, opts.wbxml.fpi)?;
            let public_id = if opts.wbxml.fpi {
                PublicId::Fpi(version.fpi().to_owned())
            } else {
                PublicId::Numeric(version.wbxml_public_id())
            };
            let doc = WbxmlDocument {
                version: opts.wbxml.version,
                public_id,
                charset: 106,
                root,
            };
            Ok(wbxml::encode(&doc)?)
        }
    }
}

/// Re-encodes a message in the other (or the same) encoding, keeping its WBXML framing.
pub fn transcode(bytes: &[u8], to: Encoding) -> Result<Vec<u8>, CodecError> {
    let decoded = decode(bytes)?;
    let mut opts = decoded.reply_options();
    opts.encoding = to;
    encode_with(&decoded.message, &opts)
}
