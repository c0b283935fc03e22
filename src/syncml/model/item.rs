//! Addresses, items, their data and credentials.

use super::meta::{optional_meta, push_meta, Anchor, Meta};
use crate::syncml::devinf::DevInf;
use crate::syncml::tree::read::{el, leaf, push_extra, push_flag, push_opt, required, text};
use crate::syncml::tree::ModelError;
use crate::syncml::tree::{Element, Node, Ns};

/// A `Target`, `Source`, `TargetParent` or `SourceParent`: a URI and an optional name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub loc_uri: String,
    pub loc_name: Option<String>,
    /// e.g. a 1.2 `Filter` inside `Target`.
    pub extra: Vec<Element>,
}

impl Location {
    pub fn new(uri: impl Into<String>) -> Self {
        Location {
            loc_uri: uri.into(),
            ..Default::default()
        }
    }

    pub fn from_element(e: &Element, parent: &'static str) -> Result<Self, ModelError> {
        let mut uri = None;
        let mut loc = Location::default();
        for c in e.elements() {
            match c.name.as_str() {
                "LocURI" => uri = Some(text(c)),
                "LocName" => loc.loc_name = Some(text(c)),
                _ => loc.extra.push(c.clone()),
            }
        }
        loc.loc_uri = required(uri, parent, "LocURI")?;
        Ok(loc)
    }

    pub fn to_element(&self, name: &str) -> Element {
        let mut e = el(name);
        e.push(leaf("LocURI", self.loc_uri.as_str()));
        push_opt(&mut e, "LocName", self.loc_name.as_deref(), Ns::SyncMl);
        push_extra(&mut e, &self.extra);
        e
    }
}

pub(crate) fn optional_location(
    e: &Element,
    name: &'static str,
) -> Result<Option<Location>, ModelError> {
    e.child(name)
        .map(|c| Location::from_element(c, name))
        .transpose()
}

pub(crate) fn push_location(parent: &mut Element, name: &str, loc: Option<&Location>) {
    if let Some(l) = loc {
        parent.push(l.to_element(name));
    }
}

/// The content of a `Data` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// Character data (a vCard, a status code, a base64 digest...).
    Text(String),
    /// Bytes that are not UTF-8 text (WBXML opaque data).
    Binary(Vec<u8>),
    /// An embedded DevInf document (Put / Results of `./devinf1x`).
    DevInf(Box<DevInf>),
    /// A MetInf anchor, as in the Status echo of an Alert's `Next` anchor.
    Anchor(Anchor),
    /// Any other markup, kept as it came.
    Markup(Vec<Element>),
}

impl Data {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let elements: Vec<&Element> = e.elements().collect();
        if let Some(first) = elements.first() {
            if elements.len() == 1 && first.name == "DevInf" {
                return Ok(Data::DevInf(Box::new(DevInf::from_element(first)?)));
            }
            if elements.len() == 1 && first.name == "Anchor" {
                return Ok(Data::Anchor(Anchor::from_element(first)?));
            }
            return Ok(Data::Markup(elements.into_iter().cloned().collect()));
        }
        let mut text = String::new();
        let mut binary: Option<Vec<u8>> = None;
        for n in &e.children {
            match n {
                Node::Text(t) => text.push_str(t),
                Node::Opaque(b) => match std::str::from_utf8(b) {
                    Ok(s) => text.push_str(s),
                    Err(_) => binary.get_or_insert_with(Vec::new).extend_from_slice(b),
                },
                Node::Element(_) => {}
            }
        }
        Ok(match binary {
            Some(b) if text.is_empty() => Data::Binary(b),
            Some(mut b) => {
                // Mixed text and bytes: keep them together, in document order is lost
                // only for this pathological case.
                let mut all = text.into_bytes();
                all.append(&mut b);
                Data::Binary(all)
            }
            None => Data::Text(text),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Data");
        match self {
            Data::Text(t) => {
                e.push_text(t.as_str());
            }
            Data::Binary(b) => e.children.push(Node::Opaque(b.clone())),
            Data::DevInf(d) => {
                e.push(d.to_element());
            }
            Data::Anchor(a) => {
                e.push(a.to_element());
            }
            Data::Markup(els) => push_extra(&mut e, els),
        }
        e
    }

    /// The text, when this is character data.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Data::Text(t) => Some(t),
            _ => None,
        }
    }
}

pub(crate) fn optional_data(e: &Element) -> Result<Option<Data>, ModelError> {
    e.child("Data").map(Data::from_element).transpose()
}

/// One `Item` of a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Item {
    pub target: Option<Location>,
    pub source: Option<Location>,
    pub target_parent: Option<Location>,
    pub source_parent: Option<Location>,
    pub meta: Option<Meta>,
    pub data: Option<Data>,
    pub more_data: bool,
    pub extra: Vec<Element>,
}

impl Item {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut it = Item::default();
        for c in e.elements() {
            match c.name.as_str() {
                "Target" => it.target = Some(Location::from_element(c, "Target")?),
                "Source" => it.source = Some(Location::from_element(c, "Source")?),
                "TargetParent" => {
                    it.target_parent = Some(Location::from_element(c, "TargetParent")?)
                }
                "SourceParent" => {
                    it.source_parent = Some(Location::from_element(c, "SourceParent")?)
                }
                "Meta" => it.meta = Some(Meta::from_element(c)?),
                "Data" => it.data = Some(Data::from_element(c)?),
                "MoreData" => it.more_data = true,
                _ => it.extra.push(c.clone()),
            }
        }
        Ok(it)
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Item");
        push_location(&mut e, "Target", self.target.as_ref());
        push_location(&mut e, "Source", self.source.as_ref());
        push_location(&mut e, "SourceParent", self.source_parent.as_ref());
        push_location(&mut e, "TargetParent", self.target_parent.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        if let Some(d) = &self.data {
            e.push(d.to_element());
        }
        push_flag(&mut e, "MoreData", self.more_data, Ns::SyncMl);
        push_extra(&mut e, &self.extra);
        e
    }
}

pub(crate) fn items(e: &Element) -> Result<Vec<Item>, ModelError> {
    // Sized exactly: an Item is large, and a collected Vec would start at room for four.
    let mut items = Vec::with_capacity(e.children_named("Item").count());
    for c in e.children_named("Item") {
        items.push(Item::from_element(c)?);
    }
    Ok(items)
}

pub(crate) fn push_items(parent: &mut Element, items: &[Item]) {
    for it in items {
        parent.push(it.to_element());
    }
}

/// Credentials (`Cred`): an auth type in Meta and the credential in Data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cred {
    pub meta: Option<Meta>,
    pub data: Data,
}

impl Cred {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Cred {
            meta: optional_meta(e)?,
            data: required(optional_data(e)?, "Cred", "Data")?,
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Cred");
        push_meta(&mut e, self.meta.as_ref());
        e.push(self.data.to_element());
        e
    }

    /// The `Meta/Type`, e.g. `syncml:auth-md5`; basic when absent.
    pub fn auth_type(&self) -> &str {
        self.meta
            .as_ref()
            .and_then(|m| m.content_type.as_deref())
            .unwrap_or(crate::syncml::auth::AUTH_BASIC)
    }
}

pub(crate) fn optional_cred(e: &Element) -> Result<Option<Cred>, ModelError> {
    e.child("Cred").map(Cred::from_element).transpose()
}

pub(crate) fn push_cred(parent: &mut Element, cred: Option<&Cred>) {
    if let Some(c) = cred {
        parent.push(c.to_element());
    }
}

/// An authentication challenge (`Chal`) in a Status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chal {
    pub meta: Meta,
}

impl Chal {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Chal {
            meta: optional_meta(e)?.unwrap_or_default(),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Chal");
        e.push(self.meta.to_element());
        e
    }
}
