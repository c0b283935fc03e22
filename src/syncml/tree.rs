//! A generic element tree, the meeting point of the XML and WBXML codecs.
//!
//! Both encodings decode into this tree and encode from it; the typed message model
//! (`model`) is built from the tree and written back to it. Keeping the codecs on a
//! neutral tree means a message that one encoding can carry, the other can too.//!
//! Clone, drop, comparison and the adapters walk a tree recursively; the decoders never
//! build one deeper than `DecodeLimits::max_depth` (see `limits`), which keeps that
//! recursion shallow.

mod error;
pub(crate) mod read;

pub use error::ModelError;

/// The vocabulary an element belongs to. XML namespaces and WBXML code pages
/// both map onto this.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ns {
    /// `SYNCML:SYNCML1.x`, WBXML code page 0 of a SyncML document.
    SyncMl,
    /// `syncml:metinf`, WBXML code page 1 of a SyncML document.
    MetInf,
    /// `syncml:devinf`, code page 0 of a DevInf document.
    DevInf,
    /// Any other namespace, kept so unknown content survives a round trip.
    Other(String),
}

/// One element: a local name, its vocabulary and its children in document order.
/// SyncML uses no attributes, so none are modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub ns: Ns,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Character data (XML text or CDATA, WBXML STR_I / STR_T / ENTITY).
    Text(String),
    /// WBXML OPAQUE bytes; in XML these are written as text when they are valid
    /// UTF-8 and as base64 otherwise (the model layer decides).
    Opaque(Vec<u8>),
}

impl Element {
    pub fn new(name: impl Into<String>, ns: Ns) -> Self {
        Element {
            name: name.into(),
            ns,
            children: Vec::new(),
        }
    }

    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// Every child element with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// Child elements only, skipping text and opaque nodes.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The concatenated text of the direct text children (opaque children that are
    /// valid UTF-8 count as text), or `None` when there is none.
    pub fn text(&self) -> Option<String> {
        let mut out: Option<String> = None;
        for n in &self.children {
            let piece = match n {
                Node::Text(t) => t.as_str(),
                Node::Opaque(b) => match std::str::from_utf8(b) {
                    Ok(s) => s,
                    Err(_) => continue,
                },
                Node::Element(_) => continue,
            };
            out.get_or_insert_with(String::new).push_str(piece);
        }
        out
    }

    /// Builder helper: append a child element.
    pub fn push(&mut self, e: Element) -> &mut Self {
        self.children.push(Node::Element(e));
        self
    }

    /// Builder helper: append a text child.
    pub fn push_text(&mut self, t: impl Into<String>) -> &mut Self {
        self.children.push(Node::Text(t.into()));
        self
    }
}

impl Element {
    /// An element holding only a text child.
    pub fn leaf(name: impl Into<String>, ns: Ns, text: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ns,
            children: vec![Node::Text(text.into())],
        }
    }

    /// The first child element with this local name, mutably.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// Child elements only, mutably.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }
}
