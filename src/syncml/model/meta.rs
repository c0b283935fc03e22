//! Meta information (the `syncml:metinf` vocabulary): types, sizes, anchors, nonces.

use crate::syncml::tree::read::{number, push_extra, push_flag, push_opt, required, text};
use crate::syncml::tree::ModelError;
use crate::syncml::tree::{Element, Node, Ns};

/// The MIME type of an XML DevInf document. The model always names embedded DevInf by
/// this type; the encoder switches it to the `+wbxml` form on the wire when needed.
pub const DEVINF_XML_TYPE: &str = "application/vnd.syncml-devinf+xml";
/// The MIME type of a WBXML DevInf document.
pub const DEVINF_WBXML_TYPE: &str = "application/vnd.syncml-devinf+wbxml";

/// The contents of a `Meta` element (or of a `MetInf` wrapper, which is flattened).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    pub content_type: Option<String>,
    pub format: Option<String>,
    pub size: Option<u64>,
    pub max_msg_size: Option<u64>,
    pub max_obj_size: Option<u64>,
    pub mark: Option<String>,
    pub version: Option<String>,
    pub next_nonce: Option<String>,
    pub anchor: Option<Anchor>,
    pub mem: Option<Mem>,
    pub emi: Vec<String>,
    pub field_level: bool,
    /// Elements this model does not know, kept for a faithful re-encoding.
    pub extra: Vec<Element>,
}

/// Sync anchors: `Last` of the previous successful sync, `Next` of this one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Anchor {
    pub last: Option<String>,
    pub next: String,
}

/// Free memory information.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mem {
    pub shared_mem: bool,
    pub free_mem: Option<u64>,
    pub free_id: Option<u64>,
}

impl Meta {
    /// Reads the MetInf children of `e` (a `Meta`, `MetInf` or similar container).
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut m = Meta::default();
        m.read_children(e)?;
        Ok(m)
    }

    fn read_children(&mut self, e: &Element) -> Result<(), ModelError> {
        for c in e.elements() {
            match c.name.as_str() {
                "MetInf" => self.read_children(c)?,
                "Type" => self.content_type = Some(text(c)),
                "Format" => self.format = Some(text(c)),
                "Size" => self.size = Some(number(c, "Size")?),
                "MaxMsgSize" => self.max_msg_size = Some(number(c, "MaxMsgSize")?),
                "MaxObjSize" => self.max_obj_size = Some(number(c, "MaxObjSize")?),
                "Mark" => self.mark = Some(text(c)),
                "Version" => self.version = Some(text(c)),
                "NextNonce" => self.next_nonce = Some(text(c)),
                "Anchor" => self.anchor = Some(Anchor::from_element(c)?),
                "Mem" => self.mem = Some(Mem::from_element(c)?),
                "EMI" => self.emi.push(text(c)),
                "FieldLevel" => self.field_level = true,
                _ => self.extra.push(c.clone()),
            }
        }
        Ok(())
    }

    /// Writes the MetInf children into `parent`, in the Reference Toolkit's order.
    pub fn write_into(&self, parent: &mut Element) {
        let ns = Ns::MetInf;
        push_opt(parent, "Format", self.format.as_deref(), ns.clone());
        push_opt(parent, "Type", self.content_type.as_deref(), ns.clone());
        push_opt(parent, "Mark", self.mark.as_deref(), ns.clone());
        push_opt(
            parent,
            "Size",
            self.size.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        if let Some(a) = &self.anchor {
            parent.push(a.to_element());
        }
        push_opt(parent, "Version", self.version.as_deref(), ns.clone());
        push_opt(parent, "NextNonce", self.next_nonce.as_deref(), ns.clone());
        push_opt(
            parent,
            "MaxMsgSize",
            self.max_msg_size.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        push_opt(
            parent,
            "MaxObjSize",
            self.max_obj_size.map(|v| v.to_string()).as_deref(),
            ns.clone(),
        );
        for emi in &self.emi {
            parent.push(Element::leaf("EMI", ns.clone(), emi.as_str()));
        }
        if let Some(m) = &self.mem {
            parent.push(m.to_element());
        }
        push_flag(parent, "FieldLevel", self.field_level, ns);
        push_extra(parent, &self.extra);
    }

    /// A `Meta` element (SyncML vocabulary) holding these MetInf children.
    pub fn to_element(&self) -> Element {
        let mut e = Element::new("Meta", Ns::SyncMl);
        self.write_into(&mut e);
        e
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Meta::default()
    }
}

impl Anchor {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut last = None;
        let mut next = None;
        for c in e.elements() {
            match c.name.as_str() {
                "Last" => last = Some(text(c)),
                "Next" => next = Some(text(c)),
                _ => {}
            }
        }
        Ok(Anchor {
            last,
            next: required(next, "Anchor", "Next")?,
        })
    }

    pub fn to_element(&self) -> Element {
        let mut a = Element::new("Anchor", Ns::MetInf);
        push_opt(&mut a, "Last", self.last.as_deref(), Ns::MetInf);
        a.push(Element::leaf("Next", Ns::MetInf, self.next.as_str()));
        a
    }
}

impl Mem {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut m = Mem::default();
        for c in e.elements() {
            match c.name.as_str() {
                "SharedMem" => m.shared_mem = true,
                "FreeMem" => m.free_mem = Some(number(c, "FreeMem")?),
                "FreeID" => m.free_id = Some(number(c, "FreeID")?),
                _ => {}
            }
        }
        Ok(m)
    }

    pub fn to_element(&self) -> Element {
        let mut m = Element::new("Mem", Ns::MetInf);
        push_flag(&mut m, "SharedMem", self.shared_mem, Ns::MetInf);
        push_opt(
            &mut m,
            "FreeMem",
            self.free_mem.map(|v| v.to_string()).as_deref(),
            Ns::MetInf,
        );
        push_opt(
            &mut m,
            "FreeID",
            self.free_id.map(|v| v.to_string()).as_deref(),
            Ns::MetInf,
        );
        m
    }
}

/// Reads an optional `Meta` child.
pub(crate) fn optional_meta(e: &Element) -> Result<Option<Meta>, ModelError> {
    e.child("Meta").map(Meta::from_element).transpose()
}

pub(crate) fn push_meta(parent: &mut Element, meta: Option<&Meta>) {
    if let Some(m) = meta {
        parent.children.push(Node::Element(m.to_element()));
    }
}
