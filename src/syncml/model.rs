//! The typed SyncML message, one model for 1.0, 1.1 and 1.2, and its mapping to and
//! from the neutral element tree.

mod commands;
mod header;
mod item;
mod meta;

pub use crate::syncml::tree::ModelError;
pub(crate) use commands::is_command_name;
pub use commands::{
    Access, Alert, Command, Container, Delete, ItemCommand, Map, MapItem, Results, Search, Status,
    Sync,
};
pub use header::SyncHdr;
pub use item::{Chal, Cred, Data, Item, Location};
pub use meta::{Anchor, Mem, Meta, DEVINF_WBXML_TYPE, DEVINF_XML_TYPE};

use crate::syncml::tree::read::{self, el};
use crate::syncml::tree::{Element, Node, Ns};

/// A SyncML protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl Version {
    pub fn from_proto(s: &str) -> Option<Self> {
        match s.trim() {
            "SyncML/1.0" => Some(Version::V1_0),
            "SyncML/1.1" => Some(Version::V1_1),
            "SyncML/1.2" => Some(Version::V1_2),
            _ => None,
        }
    }

    /// From a SyncML or DevInf `VerDTD` (`1.0.1` is a 1.0 revision).
    pub fn from_dtd(s: &str) -> Option<Self> {
        match s.trim() {
            "1.0" | "1.0.1" => Some(Version::V1_0),
            "1.1" => Some(Version::V1_1),
            "1.2" => Some(Version::V1_2),
            _ => None,
        }
    }

    pub fn ver_dtd(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    pub fn ver_proto(self) -> &'static str {
        match self {
            Version::V1_0 => "SyncML/1.0",
            Version::V1_1 => "SyncML/1.1",
            Version::V1_2 => "SyncML/1.2",
        }
    }

    /// The XML namespace of `<SyncML>`.
    pub fn namespace(self) -> &'static str {
        match self {
            Version::V1_0 => "SYNCML:SYNCML1.0",
            Version::V1_1 => "SYNCML:SYNCML1.1",
            Version::V1_2 => "SYNCML:SYNCML1.2",
        }
    }

    /// The formal public identifier of the SyncML DTD.
    pub fn fpi(self) -> &'static str {
        match self {
            Version::V1_0 => "-//SYNCML//DTD SyncML 1.0//EN",
            Version::V1_1 => "-//SYNCML//DTD SyncML 1.1//EN",
            Version::V1_2 => "-//SYNCML//DTD SyncML 1.2//EN",
        }
    }

    pub fn wbxml_public_id(self) -> u32 {
        match self {
            Version::V1_0 => 0x0FD1,
            Version::V1_1 => 0x0FD3,
            Version::V1_2 => 0x1201,
        }
    }

    pub fn devinf_fpi(self) -> &'static str {
        match self {
            Version::V1_0 => "-//SYNCML//DTD DevInf 1.0//EN",
            Version::V1_1 => "-//SYNCML//DTD DevInf 1.1//EN",
            Version::V1_2 => "-//SYNCML//DTD DevInf 1.2//EN",
        }
    }

    pub fn devinf_public_id(self) -> u32 {
        match self {
            Version::V1_0 => 0x0FD2,
            Version::V1_1 => 0x0FD4,
            Version::V1_2 => 0x1203,
        }
    }

    /// The URI under which DevInf is Put and Got: `./devinf1x`.
    pub fn devinf_uri(self) -> &'static str {
        match self {
            Version::V1_0 => "./devinf10",
            Version::V1_1 => "./devinf11",
            Version::V1_2 => "./devinf12",
        }
    }
}

/// A whole SyncML message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: SyncHdr,
    pub body: SyncBody,
    /// Unknown children of `<SyncML>`.
    pub extra: Vec<Element>,
}

/// The commands of a message, and whether it ends a package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncBody {
    pub commands: Vec<Command>,
    pub final_: bool,
}

/// The typed header of a `<SyncML>` root that may hold nothing else yet.
pub(crate) fn header_of(root: &Element) -> Result<SyncHdr, ModelError> {
    check_root(root)?;
    let header = root
        .child("SyncHdr")
        .map(SyncHdr::from_element)
        .transpose()?;
    read::required(header, "SyncML", "SyncHdr")
}

fn check_root(root: &Element) -> Result<(), ModelError> {
    if root.name != "SyncML" {
        return Err(ModelError::WrongRoot {
            expected: "SyncML",
            found: root.name.clone(),
        });
    }
    Ok(())
}

impl Message {
    pub fn from_element(root: &Element) -> Result<Self, ModelError> {
        check_root(root)?;
        let mut header = None;
        let mut body = None;
        let mut extra = Vec::new();
        for c in root.elements() {
            match c.name.as_str() {
                "SyncHdr" => header = Some(SyncHdr::from_element(c)?),
                "SyncBody" => body = Some(SyncBody::from_element(c)?),
                _ => extra.push(c.clone()),
            }
        }
        Ok(Message {
            header: read::required(header, "SyncML", "SyncHdr")?,
            body: read::required(body, "SyncML", "SyncBody")?,
            extra,
        })
    }

    /// Like [`Message::from_element`], consuming the tree: each command's subtree is
    /// dropped once it is read, so a large message never holds its whole tree and its
    /// whole model at once.
    pub fn from_tree(root: Element) -> Result<Self, ModelError> {
        check_root(&root)?;
        let mut header = None;
        let mut body = None;
        let mut extra = Vec::new();
        for c in root.children {
            let Node::Element(c) = c else { continue };
            match c.name.as_str() {
                "SyncHdr" => header = Some(SyncHdr::from_element(&c)?),
                "SyncBody" => body = Some(SyncBody::from_tree(c)?),
                _ => extra.push(c),
            }
        }
        Ok(Message {
            header: read::required(header, "SyncML", "SyncHdr")?,
            body: read::required(body, "SyncML", "SyncBody")?,
            extra,
        })
    }

    pub fn to_element(&self) -> Element {
        let mut root = Element::new("SyncML", Ns::SyncMl);
        root.push(self.header.to_element());
        root.push(self.body.to_element());
        read::push_extra(&mut root, &self.extra);
        root
    }

    /// The protocol version of the header, if it is one we know.
    pub fn version(&self) -> Option<Version> {
        self.header.version()
    }
}

impl SyncBody {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let mut body = SyncBody::default();
        for c in e.elements() {
            if c.name == "Final" {
                body.final_ = true;
            } else {
                body.commands.push(Command::from_element(c)?);
            }
        }
        Ok(body)
    }

    /// Reads the body consuming its tree, one command at a time.
    fn from_tree(e: Element) -> Result<Self, ModelError> {
        let count = e.elements().count();
        let mut body = SyncBody {
            commands: Vec::with_capacity(count),
            final_: false,
        };
        for c in e.children {
            let Node::Element(c) = c else { continue };
            if c.name == "Final" {
                body.final_ = true;
            } else {
                body.commands.push(Command::from_tree(c)?);
            }
        }
        Ok(body)
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("SyncBody");
        for c in &self.commands {
            e.push(c.to_element());
        }
        read::push_flag(&mut e, "Final", self.final_, Ns::SyncMl);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading a tree by reference and consuming it give the same message, for every
    /// XML message among the fixtures (nested Sync, Atomic and unknown elements too).
    #[test]
    fn consuming_read_matches_the_borrowing_one() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut dirs = vec![root];
        let mut checked = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "xml") {
                    continue;
                }
                let Ok(tree) = crate::syncml::xml::parse(&std::fs::read(&path).unwrap()) else {
                    continue;
                };
                if tree.name != "SyncML" {
                    continue;
                }
                let borrowed = Message::from_element(&tree);
                assert_eq!(Message::from_tree(tree), borrowed, "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} messages found");
    }
}
