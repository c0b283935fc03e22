//! A [`WbxmlDocument`] to WBXML 1.2 bytes.

use std::collections::HashMap;

use super::decode::MAX_DEPTH;
use super::reader::write_mb_u32;
use super::tables::{tables, DocKind, Tables};
use super::tokens::{END, LITERAL, OPAQUE, STR_I, SWITCH_PAGE, TAG_CONTENT};
use super::{PublicId, WbxmlDocument, WbxmlError, CHARSET_UTF8};
use crate::syncml::tree::{Element, Node, Ns};

pub(crate) fn encode(doc: &WbxmlDocument) -> Result<Vec<u8>, WbxmlError> {
    // Any of WBXML 1.1-1.3, so a reply can use the version the phone sent; what
    // we write is the same in all three.
    if !(0x01..=0x03).contains(&doc.version) {
        return Err(WbxmlError::UnsupportedVersion {
            version: doc.version,
        });
    }
    let tables = tables()?;
    let kind = match tables.identify(&doc.public_id) {
        Some((kind, _)) => kind,
        None => kind_of_root(&doc.root)?,
    };

    // String table: the FPI first (index 0), then the names of literal tags.
    let mut strtbl = Vec::new();
    let mut literals = HashMap::new();
    collect_literals(&doc.root, 1, &mut literals)?;
    if let PublicId::Fpi(fpi) = &doc.public_id {
        if fpi.contains('\0') {
            return Err(WbxmlError::BadFpi { fpi: fpi.clone() });
        }
        strtbl.extend_from_slice(fpi.as_bytes());
        // The Toolkit writes a lone FPI without its NUL; keep that form.
        if !literals.is_empty() || fpi.is_empty() {
            strtbl.push(0);
        }
    }
    let mut names: Vec<&str> = literals.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        literals.insert(name, length_u32(strtbl.len())?);
        strtbl.extend_from_slice(name.as_bytes());
        strtbl.push(0);
    }

    let mut out = vec![doc.version];
    match &doc.public_id {
        PublicId::Numeric(n) => write_mb_u32(&mut out, *n),
        PublicId::Fpi(_) => out.extend_from_slice(&[0x00, 0x00]),
    }
    write_mb_u32(&mut out, CHARSET_UTF8);
    write_mb_u32(&mut out, length_u32(strtbl.len())?);
    out.extend_from_slice(&strtbl);

    let mut w = Writer {
        out,
        tables,
        kind,
        page: 0,
        literals,
    };
    w.element(&doc.root)?;
    Ok(w.out)
}

fn kind_of_root(root: &Element) -> Result<DocKind, WbxmlError> {
    match root.ns {
        Ns::SyncMl => Ok(DocKind::SyncMl),
        Ns::MetInf => Ok(DocKind::MetInf),
        Ns::DevInf => Ok(DocKind::DevInf),
        Ns::Other(_) => Err(WbxmlError::UnknownRoot {
            name: root.name.clone(),
            ns: ns_label(&root.ns),
        }),
    }
}

fn ns_label(ns: &Ns) -> String {
    match ns {
        Ns::SyncMl => "SYNCML:SYNCML1.x".into(),
        Ns::MetInf => "syncml:metinf".into(),
        Ns::DevInf => "syncml:devinf".into(),
        Ns::Other(s) if s.is_empty() => "(none)".into(),
        Ns::Other(s) => s.clone(),
    }
}

fn length_u32(len: usize) -> Result<u32, WbxmlError> {
    u32::try_from(len).map_err(|_| WbxmlError::TooLarge { len })
}

/// Elements with no namespace (what the decoder makes of LITERAL tags) are
/// written as LITERAL tags too; this gathers their names. Also bounds depth.
fn collect_literals<'t>(
    e: &'t Element,
    depth: usize,
    out: &mut HashMap<&'t str, u32>,
) -> Result<(), WbxmlError> {
    if depth > MAX_DEPTH {
        return Err(WbxmlError::EncodeTooDeep { limit: MAX_DEPTH });
    }
    if is_literal(e) {
        out.insert(e.name.as_str(), 0);
    }
    for c in e.elements() {
        collect_literals(c, depth + 1, out)?;
    }
    Ok(())
}

/// An element with no namespace, which WBXML carries as a LITERAL tag.
fn is_literal(e: &Element) -> bool {
    matches!(&e.ns, Ns::Other(s) if s.is_empty())
}

struct Writer<'t> {
    out: Vec<u8>,
    tables: &'static Tables,
    kind: DocKind,
    page: u8,
    literals: HashMap<&'t str, u32>,
}

impl Writer<'_> {
    fn element(&mut self, e: &Element) -> Result<(), WbxmlError> {
        let content = if e.children.is_empty() {
            0
        } else {
            TAG_CONTENT
        };
        match self.literals.get(e.name.as_str()) {
            Some(&index) if is_literal(e) => {
                self.out.push(LITERAL | content);
                write_mb_u32(&mut self.out, index);
            }
            _ => {
                let (page, token) = self.token(e)?;
                if page != self.page {
                    // Switch only when the next tag needs it, as libwbxml does.
                    self.out.extend_from_slice(&[SWITCH_PAGE, page]);
                    self.page = page;
                }
                self.out.push(token | content);
            }
        }
        if content == 0 {
            return Ok(());
        }
        for child in &e.children {
            match child {
                Node::Element(c) => self.element(c)?,
                Node::Text(t) if !t.contains('\0') => {
                    self.out.push(STR_I);
                    self.out.extend_from_slice(t.as_bytes());
                    self.out.push(0);
                }
                // STR_I cannot hold a NUL; OPAQUE can.
                Node::Text(t) => self.opaque(t.as_bytes())?,
                Node::Opaque(b) => self.opaque(b)?,
            }
        }
        self.out.push(END);
        Ok(())
    }

    fn token(&self, e: &Element) -> Result<(u8, u8), WbxmlError> {
        let no_token = || WbxmlError::NoToken {
            name: e.name.clone(),
            ns: ns_label(&e.ns),
            document: self.kind.label(),
        };
        let page = self.kind.ns_page(&e.ns).ok_or_else(no_token)?;
        let token = self
            .tables
            .page(&e.ns)
            .and_then(|p| p.token(&e.name))
            .ok_or_else(no_token)?;
        Ok((page, token))
    }

    fn opaque(&mut self, bytes: &[u8]) -> Result<(), WbxmlError> {
        self.out.push(OPAQUE);
        write_mb_u32(&mut self.out, length_u32(bytes.len())?);
        self.out.extend_from_slice(bytes);
        Ok(())
    }
}
