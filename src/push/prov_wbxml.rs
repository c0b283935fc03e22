//! A small WBXML codec for documents with attributes (OMA Client Provisioning) and
//! for the Nokia/Ericsson settings document, driven by token tables in
//! `mappings/push/`. SyncML's own codec has no attributes, hence this one.
//!
//! The encoder chooses tokens as libwbxml does (first matching table line, code
//! pages switched lazily), so its bytes equal `xml2wbxml`'s.

use super::PushError;

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const STR_I: u8 = 0x03;
const STR_T: u8 = 0x83;
const OPAQUE: u8 = 0xC3;
const HAS_ATTRS: u8 = 0x80;
const HAS_CONTENT: u8 = 0x40;
const CHARSET_UTF8: u8 = 0x6A;
/// Bounds that keep a hostile document from exhausting memory or the stack.
const MAX_DEPTH: usize = 16;
const MAX_NODES: usize = 10_000;

/// An element with attributes and children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Child>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Child {
    Element(Node),
    Text(String),
}

impl Node {
    pub fn new(name: &str) -> Self {
        Node {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Child::Element(n) => Some(n),
            Child::Text(_) => None,
        })
    }

    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Child::Text(t) => Some(t.as_str()),
                Child::Element(_) => None,
            })
            .collect()
    }
}

/// One document type's tokens, from a `.tokens` file.
#[derive(Debug)]
pub struct Tables {
    tags: Vec<(u8, u8, String)>,
    /// (page, token, name, whole value when the token carries one)
    attrs: Vec<(u8, u8, String, Option<String>)>,
    values: Vec<(u8, u8, String)>,
}

impl Tables {
    pub fn parse(file: &'static str, text: &str) -> Result<Self, PushError> {
        let mut t = Tables {
            tags: Vec::new(),
            attrs: Vec::new(),
            values: Vec::new(),
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || PushError::InvalidProvisioning {
                what: format!("built-in table {file} line {} is malformed", i + 1),
            };
            let mut cols = line.splitn(4, ' ');
            let (kind, page, token, rest) = (
                cols.next().ok_or_else(bad)?,
                cols.next().ok_or_else(bad)?,
                cols.next().ok_or_else(bad)?,
                cols.next().ok_or_else(bad)?,
            );
            let page: u8 = page.parse().map_err(|_| bad())?;
            let token = u8::from_str_radix(token.strip_prefix("0x").ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
            match kind {
                "tag" => t.tags.push((page, token, rest.to_owned())),
                "attr" => {
                    let (name, value) = match rest.split_once('=') {
                        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                        None => (rest.to_owned(), None),
                    };
                    t.attrs.push((page, token, name, value));
                }
                "value" => t.values.push((page, token, rest.to_owned())),
                _ => return Err(bad()),
            }
        }
        Ok(t)
    }
}

/// The WBXML header fields a document is written with.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub version: u8,
    pub public_id: u8,
}

pub fn encode(root: &Node, header: Header, tables: &Tables) -> Result<Vec<u8>, PushError> {
    let mut out = vec![header.version, header.public_id, CHARSET_UTF8, 0x00];
    let mut pages = Pages::default();
    encode_node(root, tables, &mut pages, &mut out)?;
    Ok(out)
}

#[derive(Default)]
struct Pages {
    tag: u8,
    attr: u8,
}

fn switch(current: &mut u8, page: u8, out: &mut Vec<u8>) {
    if *current != page {
        out.extend([SWITCH_PAGE, page]);
        *current = page;
    }
}

fn str_i(s: &str, out: &mut Vec<u8>) -> Result<(), PushError> {
    if s.contains('\0') {
        return Err(PushError::InvalidProvisioning {
            what: format!("text {s:?} contains a NUL character"),
        });
    }
    out.push(STR_I);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

fn encode_node(
    node: &Node,
    tables: &Tables,
    pages: &mut Pages,
    out: &mut Vec<u8>,
) -> Result<(), PushError> {
    let (page, token) = tables
        .tags
        .iter()
        .find(|(_, _, n)| *n == node.name)
        .map(|(p, t, _)| (*p, *t))
        .ok_or_else(|| PushError::InvalidProvisioning {
            what: format!("element <{}> has no token", node.name),
        })?;
    switch(&mut pages.tag, page, out);
    let mut byte = token;
    if !node.attrs.is_empty() {
        byte |= HAS_ATTRS;
    }
    if !node.children.is_empty() {
        byte |= HAS_CONTENT;
    }
    out.push(byte);
    if !node.attrs.is_empty() {
        for (name, value) in &node.attrs {
            encode_attr(name, value, tables, &mut pages.attr, out)?;
        }
        out.push(END);
    }
    if !node.children.is_empty() {
        for c in &node.children {
            match c {
                Child::Element(e) => encode_node(e, tables, pages, out)?,
                Child::Text(t) => str_i(t, out)?,
            }
        }
        out.push(END);
    }
    Ok(())
}

fn encode_attr(
    name: &str,
    value: &str,
    tables: &Tables,
    page: &mut u8,
    out: &mut Vec<u8>,
) -> Result<(), PushError> {
    let whole = tables
        .attrs
        .iter()
        .find(|(_, _, n, v)| n == name && v.as_deref() == Some(value));
    if let Some((p, t, _, _)) = whole {
        switch(page, *p, out);
        out.push(*t);
        return Ok(());
    }
    let (p, t, _, _) = tables
        .attrs
        .iter()
        .find(|(_, _, n, v)| n == name && v.is_none())
        .ok_or_else(|| PushError::InvalidProvisioning {
            what: format!("attribute `{name}` has no token"),
        })?;
    switch(page, *p, out);
    out.push(*t);
    match tables.values.iter().find(|(_, _, v)| v == value) {
        Some((p, t, _)) => {
            switch(page, *p, out);
            out.push(*t);
            Ok(())
        }
        None => str_i(value, out),
    }
}

/// Decodes a document written with `tables`; returns the header and the root.
pub fn decode(bytes: &[u8], tables: &Tables) -> Result<(Header, Node), PushError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        strtbl: &[],
        nodes: 0,
    };
    let version = r.byte("version")?;
    let public_id = r.mb_u32("public id")?;
    let charset = r.mb_u32("charset")?;
    if charset != u32::from(CHARSET_UTF8) {
        return Err(r.err(format!("charset {charset} (only UTF-8, 106, is read)")));
    }
    let len = r.mb_u32("string table length")? as usize;
    r.strtbl = r.take(len, "string table")?;
    let header = Header {
        version,
        public_id: u8::try_from(public_id)
            .map_err(|_| r.err(format!("public id {public_id:#x}")))?,
    };
    let mut pages = Pages::default();
    let root = r.element(tables, &mut pages, 0)?;
    if r.pos != bytes.len() {
        return Err(r.err(format!("{} bytes after the root", bytes.len() - r.pos)));
    }
    Ok((header, root))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    strtbl: &'a [u8],
    nodes: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: String) -> PushError {
        PushError::MalformedProvisioning {
            offset: self.pos,
            what,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], PushError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.err(format!("input ends in the {what}")))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self, what: &str) -> Result<u8, PushError> {
        Ok(self.take(1, what)?[0])
    }

    fn mb_u32(&mut self, what: &str) -> Result<u32, PushError> {
        let mut v: u32 = 0;
        for _ in 0..5 {
            let b = self.byte(what)?;
            v = v
                .checked_mul(128)
                .ok_or_else(|| self.err(format!("{what} overflows")))?
                | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err(format!("{what} is longer than 5 bytes")))
    }

    fn str_i(&mut self) -> Result<String, PushError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.err("inline string without its NUL".into()))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| self.err("inline string is not UTF-8".into()))?
            .to_owned();
        self.pos += len + 1;
        Ok(s)
    }

    fn str_t(&mut self) -> Result<String, PushError> {
        let at = self.mb_u32("string table index")? as usize;
        let rest = self
            .strtbl
            .get(at..)
            .ok_or_else(|| self.err(format!("string table index {at} out of range")))?;
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..len])
            .map(str::to_owned)
            .map_err(|_| self.err("string table entry is not UTF-8".into()))
    }

    fn element(
        &mut self,
        tables: &Tables,
        pages: &mut Pages,
        depth: usize,
    ) -> Result<Node, PushError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("elements nest deeper than {MAX_DEPTH}")));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.err(format!("more than {MAX_NODES} elements")));
        }
        let mut b = self.byte("tag")?;
        while b == SWITCH_PAGE {
            pages.tag = self.byte("code page")?;
            b = self.byte("tag")?;
        }
        let at = self.pos - 1;
        let name = tables
            .tags
            .iter()
            .find(|(p, t, _)| *p == pages.tag && *t == b & 0x3F)
            .map(|(_, _, n)| n.clone())
            .ok_or_else(|| PushError::MalformedProvisioning {
                offset: at,
                what: format!(
                    "tag token {:#04x} on page {} is unknown",
                    b & 0x3F,
                    pages.tag
                ),
            })?;
        let mut node = Node::new(&name);
        if b & HAS_ATTRS != 0 {
            self.attributes(tables, &mut pages.attr, &mut node)?;
        }
        if b & HAS_CONTENT != 0 {
            loop {
                match self.bytes.get(self.pos).copied() {
                    None => return Err(self.err(format!("input ends inside <{name}>"))),
                    Some(END) => {
                        self.pos += 1;
                        break;
                    }
                    Some(STR_I) => {
                        self.pos += 1;
                        let t = self.str_i()?;
                        node.children.push(Child::Text(t));
                    }
                    Some(STR_T) => {
                        self.pos += 1;
                        let t = self.str_t()?;
                        node.children.push(Child::Text(t));
                    }
                    Some(OPAQUE) => return Err(self.err("opaque data is not expected".into())),
                    Some(_) => {
                        let child = self.element(tables, pages, depth + 1)?;
                        node.children.push(Child::Element(child));
                    }
                }
            }
        }
        Ok(node)
    }

    fn attributes(
        &mut self,
        tables: &Tables,
        page: &mut u8,
        node: &mut Node,
    ) -> Result<(), PushError> {
        loop {
            let at = self.pos;
            match self.byte("attribute")? {
                END => return Ok(()),
                SWITCH_PAGE => *page = self.byte("code page")?,
                STR_I => {
                    let s = self.str_i()?;
                    self.append_value(node, &s, at)?;
                }
                STR_T => {
                    let s = self.str_t()?;
                    self.append_value(node, &s, at)?;
                }
                t if t < 0x80 => {
                    let (name, value) = tables
                        .attrs
                        .iter()
                        .find(|(p, tok, _, _)| *p == *page && *tok == t)
                        .map(|(_, _, n, v)| (n.clone(), v.clone().unwrap_or_default()))
                        .ok_or_else(|| PushError::MalformedProvisioning {
                            offset: at,
                            what: format!("attribute token {t:#04x} on page {page} is unknown"),
                        })?;
                    node.attrs.push((name, value));
                }
                t => {
                    let value = tables
                        .values
                        .iter()
                        .find(|(p, tok, _)| *p == *page && *tok == t)
                        .map(|(_, _, v)| v.clone())
                        .ok_or_else(|| PushError::MalformedProvisioning {
                            offset: at,
                            what: format!(
                                "attribute value token {t:#04x} on page {page} is unknown"
                            ),
                        })?;
                    self.append_value(node, &value, at)?;
                }
            }
        }
    }

    fn append_value(&self, node: &mut Node, value: &str, at: usize) -> Result<(), PushError> {
        match node.attrs.last_mut() {
            Some((_, v)) => {
                v.push_str(value);
                Ok(())
            }
            None => Err(PushError::MalformedProvisioning {
                offset: at,
                what: "attribute value before any attribute".into(),
            }),
        }
    }
}
