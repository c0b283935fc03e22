//! The XML encoding: bytes <-> element tree. Reading is tolerant (namespaces optional
//! and inferred, any charset declaration, comments and DOCTYPE skipped); writing is
//! strict and minimal.

mod reader;
mod writer;

pub use reader::parse;
pub(crate) use reader::parse_with;
pub(crate) use writer::is_xml_char;
pub use writer::write;

/// XML that cannot be read as a SyncML or DevInf document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document is empty")]
    Empty,
    #[error("malformed XML at byte {position}: {message}")]
    Syntax { position: u64, message: String },
    #[error("the document ends before <{open}> is closed")]
    Truncated { open: String },
    #[error("content after the root element at byte {position}")]
    TrailingContent { position: u64 },
    #[error("unknown character encoding {label:?}")]
    UnknownCharset { label: String },
    #[error("{exceeded} (at byte {position})")]
    Limit {
        position: u64,
        exceeded: crate::syncml::limits::LimitExceeded,
    },
}
