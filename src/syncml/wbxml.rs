//! WBXML codec for SyncML, MetInf and DevInf documents (see wbxml.md in the
//! protocol guide).
//!
//! [`decode`] turns bytes into a [`WbxmlDocument`] holding a neutral
//! [`tree::Element`]; [`encode`] writes one back. The token tables live in
//! `mappings/wbxml/` and are chosen by the public id, or by the root tag when the
//! public id is unknown.

mod charset;
mod decode;
mod encode;
mod reader;
mod tables;
mod tokens;

use super::limits::{DecodeLimits, Scope};
use super::tree;

pub use decode::{
    EXPANSION_ALLOWANCE, EXPANSION_PER_INPUT_BYTE, MAX_DEPTH, MAX_ELEMENTS, MAX_EXPANDED_TEXT,
};

/// A decoded WBXML document: header fields and the root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WbxmlDocument {
    /// The WBXML version byte: 0x01-0x03 (WBXML 1.1-1.3). 0x02 is what the SyncML
    /// Toolkit writes; a reply may echo the one the phone sent.
    pub version: u8,
    pub public_id: PublicId,
    /// IANA MIBenum of the charset strings were sent in (106 = UTF-8). Text in the
    /// tree is always Rust strings; the encoder always writes UTF-8.
    pub charset: u32,
    pub root: tree::Element,
}

/// The document's public identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicId {
    /// A numeric public id such as 0x1201 (SyncML 1.2), or 0x01 (unknown).
    Numeric(u32),
    /// A formal public identifier carried in the string table (public id 0 plus an
    /// index), e.g. `-//SYNCML//DTD SyncML 1.0//EN`.
    Fpi(String),
}

/// The numeric public ids of the SyncML documents.
pub mod public_ids {
    pub const UNKNOWN: u32 = 0x01;
    pub const SYNCML_10: u32 = 0x0FD1;
    pub const DEVINF_10: u32 = 0x0FD2;
    pub const SYNCML_11: u32 = 0x0FD3;
    pub const DEVINF_11: u32 = 0x0FD4;
    pub const SYNCML_12: u32 = 0x1201;
    pub const METINF_12: u32 = 0x1202;
    pub const DEVINF_12: u32 = 0x1203;
}

/// IANA MIBenum of UTF-8, the charset the encoder writes.
pub const CHARSET_UTF8: u32 = 106;

/// Everything that can go wrong reading or writing WBXML. Decode errors carry the
/// byte offset in the input where the problem was found.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WbxmlError {
    #[error("WBXML input ends early at byte {offset} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("WBXML version byte {version:#04x} is not supported (0x01-0x03 are)")]
    UnsupportedVersion { version: u8 },
    #[error("multi-byte integer at byte {offset} does not fit 32 bits")]
    IntegerOverflow { offset: usize },
    #[error("charset {mib} announced in the header is not supported")]
    UnsupportedCharset { mib: u32 },
    #[error(
        "string table reference {index} at byte {offset} is outside the {len}-byte string table"
    )]
    BadStringRef {
        offset: usize,
        index: u32,
        len: usize,
    },
    #[error("text at byte {offset} is not valid in the announced charset {mib}")]
    InvalidText { offset: usize, mib: u32 },
    #[error("character entity {code:#x} at byte {offset} is not a valid character")]
    InvalidEntity { offset: usize, code: u32 },
    #[error("cannot tell the document type: public id {public_id} is unknown and the root tag at byte {offset} is neither SyncML nor DevInf")]
    UnknownDocument { offset: usize, public_id: String },
    #[error("tag token {token:#04x} at byte {offset} is not defined on code page {page} of the {document} document")]
    UnknownTag {
        offset: usize,
        page: u8,
        token: u8,
        document: &'static str,
    },
    #[error("byte {byte:#04x} at byte {offset} is not allowed here ({context})")]
    UnexpectedByte {
        offset: usize,
        byte: u8,
        context: &'static str,
    },
    #[error("document has no root element (input ends at byte {offset})")]
    NoRoot { offset: usize },
    #[error("{count} bytes after the root element, starting at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
    #[error("elements nest deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },
    #[error("more than {limit} elements (at byte {offset})")]
    TooManyElements { offset: usize, limit: usize },
    #[error("{exceeded} (at byte {offset})")]
    Limit {
        offset: usize,
        exceeded: crate::syncml::limits::LimitExceeded,
    },
    #[error("string table references expand beyond {limit} bytes of text (at byte {offset})")]
    TextTooLarge { offset: usize, limit: usize },
    #[error("element <{name}> in namespace {ns} has no WBXML token in a {document} document")]
    NoToken {
        name: String,
        ns: String,
        document: &'static str,
    },
    #[error("{len} bytes do not fit a WBXML length")]
    TooLarge { len: usize },
    #[error("element nesting deeper than {limit} levels cannot be encoded")]
    EncodeTooDeep { limit: usize },
    #[error("root element <{name}> in namespace {ns} does not start a SyncML, MetInf or DevInf document")]
    UnknownRoot { name: String, ns: String },
    #[error("public id FPI {fpi:?} contains a NUL byte")]
    BadFpi { fpi: String },
    #[error("built-in WBXML table {file} line {line} is malformed: {reason}")]
    Table {
        file: &'static str,
        line: usize,
        reason: String,
    },
}

/// Decodes a WBXML document (versions 1.1-1.3) within the tree limits ([`MAX_DEPTH`],
/// [`MAX_ELEMENTS`]).
pub fn decode(bytes: &[u8]) -> Result<WbxmlDocument, WbxmlError> {
    decode::decode(bytes, &DecodeLimits::tree_only(), Scope::Whole)
}

/// Decodes a WBXML document within `limits`, the whole of it or only up to the end
/// of the SyncML header.
pub(crate) fn decode_with(
    bytes: &[u8],
    limits: &DecodeLimits,
    scope: Scope,
) -> Result<WbxmlDocument, WbxmlError> {
    decode::decode(bytes, limits, scope)
}

/// Encodes a document with its version byte (normally 0x02, WBXML 1.2), in
/// UTF-8, without attributes.
pub fn encode(doc: &WbxmlDocument) -> Result<Vec<u8>, WbxmlError> {
    encode::encode(doc)
}
