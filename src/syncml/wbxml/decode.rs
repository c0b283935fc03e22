//! WBXML bytes to a [`WbxmlDocument`].

use encoding_rs::Encoding;

use super::charset;
use super::reader::Reader;
use super::tables::{tables, DocKind, Tables, Version};
use super::tokens::{
    END, ENTITY, LITERAL, OPAQUE, PI, STR_I, STR_T, SWITCH_PAGE, TAG_ATTRS, TAG_CONTENT, TAG_MASK,
};
use super::{PublicId, WbxmlDocument, WbxmlError};
use crate::syncml::limits::{body_starts, header_done, Budget, DecodeLimits, LimitExceeded, Scope};
use crate::syncml::tree::{Element, Node, Ns};

pub use crate::syncml::limits::{MAX_DEPTH, MAX_ELEMENTS};
/// Most bytes of text that string-table references may expand to, so a small
/// document cannot point at one long entry many times over. A document may also
/// expand to no more than [`EXPANSION_PER_INPUT_BYTE`] times its own size plus
/// [`EXPANSION_ALLOWANCE`], whichever is less.
pub const MAX_EXPANDED_TEXT: usize = 32 << 20;
/// Bytes of referenced text allowed per byte of input: phones reference short
/// strings (content types, URIs) a few times each.
pub const EXPANSION_PER_INPUT_BYTE: usize = 2;
/// Referenced text allowed whatever the input's size.
pub const EXPANSION_ALLOWANCE: usize = 64 << 10;

// Root tokens on page 0 that identify a document whose public id is unknown.
const SYNCML_ROOT: u8 = 0x2D;
const DEVINF_ROOT: u8 = 0x0A;

/// Decodes `bytes` within `limits`; with [`Scope::Header`] the root holds only the
/// SyncML header and the body is not read.
pub(crate) fn decode(
    bytes: &[u8],
    limits: &DecodeLimits,
    scope: Scope,
) -> Result<WbxmlDocument, WbxmlError> {
    let tables = tables()?;
    let mut r = Reader::new(bytes);

    let version = r.byte("version")?;
    if !(0x01..=0x03).contains(&version) {
        return Err(WbxmlError::UnsupportedVersion { version });
    }
    let raw_id = r.mb_u32("public id")?;
    let id_index = if raw_id == 0 {
        Some((r.pos(), r.mb_u32("public id index")?))
    } else {
        None
    };
    let charset = r.mb_u32("charset")?;
    let enc =
        charset::encoding_for(charset).ok_or(WbxmlError::UnsupportedCharset { mib: charset })?;
    let table_len_at = r.pos();
    let table_len = r.mb_u32("string table length")?;
    let table_len = usize::try_from(table_len).map_err(|_| WbxmlError::IntegerOverflow {
        offset: table_len_at,
    })?;
    let strtbl = r.take(table_len, "string table")?;

    let mut d = Decoder {
        r,
        tables,
        kind: None,
        version: None,
        page: 0,
        strtbl,
        enc,
        charset,
        budget: Budget::new(limits),
        scope,
        stopped: false,
        expanded: 0,
        expansion_limit: MAX_EXPANDED_TEXT.min(
            bytes
                .len()
                .saturating_mul(EXPANSION_PER_INPUT_BYTE)
                .saturating_add(EXPANSION_ALLOWANCE),
        ),
    };
    let public_id = match id_index {
        Some((offset, index)) => PublicId::Fpi(d.table_string(offset, index)?),
        None => PublicId::Numeric(raw_id),
    };
    if let Some((kind, version)) = tables.identify(&public_id) {
        d.kind = Some(kind);
        d.version = Some(version);
    }

    let mut root = d.body(&public_id)?;
    if d.kind == Some(DocKind::DevInf) && d.version.is_none() {
        if let Some(v) = root.child("VerDTD").and_then(|e| e.text()) {
            if let Some(v) = Version::parse(v.trim()) {
                rename_versioned(&mut root, tables, v);
            }
        }
    }
    Ok(WbxmlDocument {
        version,
        public_id,
        charset,
        root,
    })
}

/// Gives DevInf tags whose name depends on the version (Size/MaxSize) the name
/// for `v`, once the version is known from `VerDTD`.
fn rename_versioned(root: &mut Element, tables: &Tables, v: Version) {
    let mut todo = vec![root];
    while let Some(e) = todo.pop() {
        if e.ns == Ns::DevInf {
            if let Some(t) = tables.devinf.token(&e.name) {
                if tables.devinf.is_versioned(t) {
                    if let Some(name) = tables.devinf.name(t, Some(v)) {
                        e.name = name.to_owned();
                    }
                }
            }
        }
        todo.extend(e.children.iter_mut().filter_map(|n| match n {
            Node::Element(c) => Some(c),
            _ => None,
        }));
    }
}

struct Decoder<'a> {
    r: Reader<'a>,
    tables: &'static Tables,
    kind: Option<DocKind>,
    version: Option<Version>,
    page: u8,
    strtbl: &'a [u8],
    enc: &'static Encoding,
    charset: u32,
    budget: Budget,
    scope: Scope,
    /// A header-only decode stopped before the end of the document.
    stopped: bool,
    expanded: usize,
    expansion_limit: usize,
}

impl Decoder<'_> {
    /// `pi* element pi*` followed by the end of input.
    fn body(&mut self, public_id: &PublicId) -> Result<Element, WbxmlError> {
        let root = loop {
            let at = self.r.pos();
            let b = self.r.peek().ok_or(WbxmlError::NoRoot { offset: at })?;
            match b {
                PI => {
                    self.r.byte("PI")?;
                    self.skip_attributes()?;
                }
                SWITCH_PAGE => {
                    self.r.byte("SWITCH_PAGE")?;
                    self.page = self.r.byte("code page")?;
                }
                _ if is_tag(b) => {
                    self.r.byte("tag")?;
                    if self.kind.is_none() {
                        self.kind = Some(self.detect_kind(b, at, public_id)?);
                    }
                    break self.element(b, at)?;
                }
                _ => {
                    return Err(WbxmlError::UnexpectedByte {
                        offset: at,
                        byte: b,
                        context: "before the root element",
                    })
                }
            }
        };
        if self.stopped {
            return Ok(root);
        }
        while let Some(b) = self.r.peek() {
            if b != PI {
                return Err(WbxmlError::TrailingBytes {
                    offset: self.r.pos(),
                    count: self.r.remaining(),
                });
            }
            self.r.byte("PI")?;
            self.skip_attributes()?;
        }
        Ok(root)
    }

    fn detect_kind(
        &self,
        tag: u8,
        offset: usize,
        public_id: &PublicId,
    ) -> Result<DocKind, WbxmlError> {
        match (self.page, tag & TAG_MASK) {
            (0, SYNCML_ROOT) => Ok(DocKind::SyncMl),
            (0, DEVINF_ROOT) => Ok(DocKind::DevInf),
            (1, t) if t != LITERAL => Ok(DocKind::MetInf),
            _ => Err(WbxmlError::UnknownDocument {
                offset,
                public_id: match public_id {
                    PublicId::Numeric(n) => format!("{n:#x}"),
                    PublicId::Fpi(s) => format!("{s:?}"),
                },
            }),
        }
    }

    /// One element whose tag byte `tag` (at `at`) was just read, with everything
    /// inside it. Iterative, so nesting depth costs heap, not stack.
    fn element(&mut self, tag: u8, at: usize) -> Result<Element, WbxmlError> {
        let root = self.open_tag(tag, at, None)?;
        if tag & TAG_CONTENT == 0 {
            return Ok(root);
        }
        let mut stack = vec![root];
        loop {
            let at = self.r.pos();
            let b = self.r.byte("element content")?;
            match b {
                SWITCH_PAGE => self.page = self.r.byte("code page")?,
                END => {
                    let mut done = stack.pop().ok_or(WbxmlError::UnexpectedByte {
                        offset: at,
                        byte: b,
                        context: "END with no open element",
                    })?;
                    // No growth slack kept: most elements have one or two children.
                    done.children.shrink_to_fit();
                    let finished = header_done(self.scope, stack.len() + 1, &done.name);
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => return Ok(done),
                    }
                    if finished {
                        self.stopped = true;
                        return stack
                            .into_iter()
                            .next()
                            .ok_or(WbxmlError::NoRoot { offset: at });
                    }
                }
                ENTITY => {
                    let code = self.r.mb_u32("entity")?;
                    let c = char::from_u32(code)
                        .filter(|&c| c != '\0')
                        .ok_or(WbxmlError::InvalidEntity { offset: at, code })?;
                    push_text(&mut stack, c.encode_utf8(&mut [0; 4]));
                }
                STR_I => {
                    let raw = self.r.cstr("inline string")?;
                    let s = self.text(raw, at + 1)?;
                    push_text(&mut stack, &s);
                }
                STR_T => {
                    let index = self.r.mb_u32("string table reference")?;
                    let s = self.table_string(at + 1, index)?;
                    self.expanded += s.len();
                    if self.expanded > self.expansion_limit {
                        return Err(WbxmlError::TextTooLarge {
                            offset: at,
                            limit: self.expansion_limit,
                        });
                    }
                    push_text(&mut stack, &s);
                }
                OPAQUE => {
                    let len_at = self.r.pos();
                    let len = self.r.mb_u32("opaque length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| WbxmlError::IntegerOverflow { offset: len_at })?;
                    let data = self.r.take(len, "opaque data")?;
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(Node::Opaque(data.to_vec()));
                    }
                }
                PI => {
                    tracing::debug!(offset = at, "skipping a WBXML processing instruction");
                    self.skip_attributes()?;
                }
                0x40..=0x42 => {
                    self.r.cstr("EXT_I")?;
                }
                0x80..=0x82 => {
                    self.r.mb_u32("EXT_T")?;
                }
                0xC0..=0xC2 => {}
                _ => {
                    // Every byte left is a tag: the globals above cover token 0-4
                    // except LITERAL, which is a tag.
                    let child = self.open_tag(b, at, Some(&stack))?;
                    if body_starts(self.scope, stack.len() + 1, &child.name) {
                        self.stopped = true;
                        return stack
                            .into_iter()
                            .next()
                            .ok_or(WbxmlError::NoRoot { offset: at });
                    }
                    if b & TAG_CONTENT != 0 {
                        stack.push(child);
                    } else if let Some(parent) = stack.last_mut() {
                        parent.children.push(Node::Element(child));
                    }
                }
            }
        }
    }

    /// Reads what follows a tag byte (literal index, attributes) and returns the
    /// still empty element, counted against the limits; `open` holds its ancestors
    /// (`None` for the root).
    fn open_tag(
        &mut self,
        tag: u8,
        at: usize,
        open: Option<&[Element]>,
    ) -> Result<Element, WbxmlError> {
        let depth = open.map_or(1, |s| s.len() + 1);
        // Depth first, before anything is read or allocated for this element.
        let limit = self.budget.max_depth();
        if depth > limit {
            return Err(WbxmlError::TooDeep { offset: at, limit });
        }
        let token = tag & TAG_MASK;
        let element = if token == LITERAL {
            let index = self.r.mb_u32("literal tag name")?;
            let name = self.table_string(at + 1, index)?;
            Element::new(name, Ns::Other(String::new()))
        } else {
            self.known_tag(token, at)?
        };
        if tag & TAG_ATTRS != 0 {
            // SyncML defines no attributes; some phones still send them.
            tracing::debug!(offset = at, tag = %element.name, "skipping WBXML attributes");
            self.skip_attributes()?;
        }
        self.budget
            .open(open.unwrap_or_default(), &element.name)
            .map_err(|e| match e {
                LimitExceeded::Depth { limit } => WbxmlError::TooDeep { offset: at, limit },
                LimitExceeded::Elements { limit } => {
                    WbxmlError::TooManyElements { offset: at, limit }
                }
                exceeded => WbxmlError::Limit {
                    offset: at,
                    exceeded,
                },
            })?;
        Ok(element)
    }

    fn known_tag(&self, token: u8, at: usize) -> Result<Element, WbxmlError> {
        let kind = self.kind.unwrap_or(DocKind::SyncMl);
        let unknown = || WbxmlError::UnknownTag {
            offset: at,
            page: self.page,
            token,
            document: kind.label(),
        };
        let ns = kind.page_ns(self.page).ok_or_else(unknown)?;
        let name = self
            .tables
            .page(&ns)
            .and_then(|p| p.name(token, self.version))
            .ok_or_else(unknown)?;
        Ok(Element::new(name, ns))
    }

    /// Skips an attribute list or processing instruction up to and including its
    /// END. The attribute code page is separate from the tag code page, so page
    /// switches here are read and ignored.
    fn skip_attributes(&mut self) -> Result<(), WbxmlError> {
        loop {
            match self.r.byte("attributes")? {
                END => return Ok(()),
                SWITCH_PAGE => {
                    self.r.byte("attribute code page")?;
                }
                ENTITY | LITERAL | STR_T | 0x80..=0x82 => {
                    self.r.mb_u32("attribute value")?;
                }
                STR_I | 0x40..=0x42 => {
                    self.r.cstr("attribute string")?;
                }
                OPAQUE => {
                    let len_at = self.r.pos();
                    let len = self.r.mb_u32("opaque length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| WbxmlError::IntegerOverflow { offset: len_at })?;
                    self.r.take(len, "opaque attribute")?;
                }
                _ => {}
            }
        }
    }

    /// The string at `index` in the string table (up to its NUL, or the end of
    /// the table: the SyncML Toolkit writes its FPI without one).
    fn table_string(&self, offset: usize, index: u32) -> Result<String, WbxmlError> {
        let bad = WbxmlError::BadStringRef {
            offset,
            index,
            len: self.strtbl.len(),
        };
        let start = usize::try_from(index).map_err(|_| bad.clone())?;
        let rest = self.strtbl.get(start..).filter(|r| !r.is_empty());
        let rest = rest.ok_or(bad)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        self.text(&rest[..end], offset)
    }

    fn text(&self, raw: &[u8], offset: usize) -> Result<String, WbxmlError> {
        charset::decode_text(self.enc, raw).ok_or(WbxmlError::InvalidText {
            offset,
            mib: self.charset,
        })
    }
}

/// Whether a byte in element content (or before the root) starts a tag.
fn is_tag(b: u8) -> bool {
    let token = b & TAG_MASK;
    token >= 0x05 || token == LITERAL
}

/// Appends text to the open element, joining it to a text node right before it so
/// `a` ENTITY `b` reads as one string, as in XML.
fn push_text(stack: &mut [Element], s: &str) {
    let Some(parent) = stack.last_mut() else {
        return;
    };
    if let Some(Node::Text(t)) = parent.children.last_mut() {
        t.push_str(s);
    } else {
        parent.children.push(Node::Text(s.to_owned()));
    }
}
