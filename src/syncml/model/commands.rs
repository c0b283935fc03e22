//! The SyncBody commands.

use super::item::{
    items, optional_cred, optional_data, optional_location, push_cred, push_items, push_location,
    Chal, Cred, Data, Item, Location,
};
use super::meta::{optional_meta, push_meta, Meta};
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::tree::read::{
    el, leaf, number, push_extra, push_flag, push_opt, required, text,
};
use crate::syncml::tree::ModelError;
use crate::syncml::tree::{Element, Node, Ns};

/// One command of a `SyncBody` (or nested in `Sync`, `Atomic`, `Sequence`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Add(ItemCommand),
    Alert(Alert),
    Atomic(Container),
    Copy(ItemCommand),
    Delete(Delete),
    Exec(ItemCommand),
    Get(Access),
    Map(Map),
    Move(ItemCommand),
    Put(Access),
    Replace(ItemCommand),
    Results(Results),
    Search(Search),
    Sequence(Container),
    Status(Status),
    Sync(Sync),
    /// An element this model does not know, kept in place.
    Other(Element),
}

/// Element names of the known commands, as recognised inside a body or container.
const COMMAND_NAMES: &[&str] = &[
    "Add", "Alert", "Atomic", "Copy", "Delete", "Exec", "Get", "Map", "Move", "Put", "Replace",
    "Results", "Search", "Sequence", "Status", "Sync",
];

pub(crate) fn is_command_name(name: &str) -> bool {
    COMMAND_NAMES.contains(&name)
}

impl Command {
    /// Reads containers recursively; decoded trees are bounded in depth and command
    /// nesting (`syncml::limits`), which keeps this recursion shallow.
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(match e.name.as_str() {
            "Add" => Command::Add(ItemCommand::from_element(e, "Add")?),
            "Alert" => Command::Alert(Alert::from_element(e)?),
            "Atomic" => Command::Atomic(Container::from_element(e)?),
            "Copy" => Command::Copy(ItemCommand::from_element(e, "Copy")?),
            "Delete" => Command::Delete(Delete::from_element(e)?),
            "Exec" => Command::Exec(ItemCommand::from_element(e, "Exec")?),
            "Get" => Command::Get(Access::from_element(e, "Get")?),
            "Map" => Command::Map(Map::from_element(e)?),
            "Move" => Command::Move(ItemCommand::from_element(e, "Move")?),
            "Put" => Command::Put(Access::from_element(e, "Put")?),
            "Replace" => Command::Replace(ItemCommand::from_element(e, "Replace")?),
            "Results" => Command::Results(Results::from_element(e)?),
            "Search" => Command::Search(Search::from_element(e)?),
            "Sequence" => Command::Sequence(Container::from_element(e)?),
            "Status" => Command::Status(Status::from_element(e)?),
            "Sync" => Command::Sync(Sync::from_element(e)?),
            _ => Command::Other(e.clone()),
        })
    }

    /// Like [`Command::from_element`], consuming the tree: the commands inside Sync,
    /// Atomic and Sequence are read one at a time, each subtree dropped once read, so
    /// a large Sync never holds its whole tree and its whole model at once.
    pub(crate) fn from_tree(mut e: Element) -> Result<Self, ModelError> {
        if !matches!(e.name.as_str(), "Sync" | "Atomic" | "Sequence") {
            return Command::from_element(&e);
        }
        let mut inner = Vec::new();
        let mut rest = Vec::new();
        for n in std::mem::take(&mut e.children) {
            match n {
                Node::Element(c) if is_command_name(&c.name) => inner.push(c),
                other => rest.push(other),
            }
        }
        e.children = rest;
        let mut commands = Vec::with_capacity(inner.len());
        for c in inner {
            commands.push(Command::from_tree(c)?);
        }
        let mut command = Command::from_element(&e)?;
        match &mut command {
            Command::Sync(s) => s.commands = commands,
            Command::Atomic(c) | Command::Sequence(c) => c.commands = commands,
            _ => {}
        }
        Ok(command)
    }

    pub fn to_element(&self) -> Element {
        match self {
            Command::Add(c) => c.to_element("Add"),
            Command::Alert(c) => c.to_element(),
            Command::Atomic(c) => c.to_element("Atomic"),
            Command::Copy(c) => c.to_element("Copy"),
            Command::Delete(c) => c.to_element(),
            Command::Exec(c) => c.to_element("Exec"),
            Command::Get(c) => c.to_element("Get"),
            Command::Map(c) => c.to_element(),
            Command::Move(c) => c.to_element("Move"),
            Command::Put(c) => c.to_element("Put"),
            Command::Replace(c) => c.to_element("Replace"),
            Command::Results(c) => c.to_element(),
            Command::Search(c) => c.to_element(),
            Command::Sequence(c) => c.to_element("Sequence"),
            Command::Status(c) => c.to_element(),
            Command::Sync(c) => c.to_element(),
            Command::Other(e) => e.clone(),
        }
    }

    /// The element name, as used in `Status/Cmd`.
    pub fn name(&self) -> &str {
        match self {
            Command::Add(_) => "Add",
            Command::Alert(_) => "Alert",
            Command::Atomic(_) => "Atomic",
            Command::Copy(_) => "Copy",
            Command::Delete(_) => "Delete",
            Command::Exec(_) => "Exec",
            Command::Get(_) => "Get",
            Command::Map(_) => "Map",
            Command::Move(_) => "Move",
            Command::Put(_) => "Put",
            Command::Replace(_) => "Replace",
            Command::Results(_) => "Results",
            Command::Search(_) => "Search",
            Command::Sequence(_) => "Sequence",
            Command::Status(_) => "Status",
            Command::Sync(_) => "Sync",
            Command::Other(e) => &e.name,
        }
    }

    /// The `CmdID`, when this is a known command.
    pub fn cmd_id(&self) -> Option<&str> {
        Some(match self {
            Command::Add(c) | Command::Copy(c) | Command::Exec(c) | Command::Move(c) => &c.cmd_id,
            Command::Replace(c) => &c.cmd_id,
            Command::Alert(c) => &c.cmd_id,
            Command::Atomic(c) | Command::Sequence(c) => &c.cmd_id,
            Command::Delete(c) => &c.cmd_id,
            Command::Get(c) | Command::Put(c) => &c.cmd_id,
            Command::Map(c) => &c.cmd_id,
            Command::Results(c) => &c.cmd_id,
            Command::Search(c) => &c.cmd_id,
            Command::Status(c) => &c.cmd_id,
            Command::Sync(c) => &c.cmd_id,
            Command::Other(_) => return None,
        })
    }
}

fn cmd_id(e: &Element, parent: &'static str) -> Result<String, ModelError> {
    required(e.child("CmdID").map(text), parent, "CmdID")
}

/// Reads the nested commands of a container; other children go to `extra`.
fn nested(e: &Element, skip: &[&str]) -> Result<(Vec<Command>, Vec<Element>), ModelError> {
    let mut cmds = Vec::new();
    let mut extra = Vec::new();
    for c in e.elements() {
        if is_command_name(&c.name) {
            cmds.push(Command::from_element(c)?);
        } else if !skip.contains(&c.name.as_str()) {
            extra.push(c.clone());
        }
    }
    // Commands are large; no growth slack is kept.
    cmds.shrink_to_fit();
    Ok((cmds, extra))
}

/// Children not in `known`, kept for re-encoding.
fn extras(e: &Element, known: &[&str]) -> Vec<Element> {
    e.elements()
        .filter(|c| !known.contains(&c.name.as_str()))
        .cloned()
        .collect()
}

/// `Add`, `Copy`, `Replace`, `Move`, `Exec`: an item operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemCommand {
    pub cmd_id: String,
    pub no_resp: bool,
    pub cred: Option<Cred>,
    pub meta: Option<Meta>,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl ItemCommand {
    const KNOWN: &'static [&'static str] = &["CmdID", "NoResp", "Cred", "Meta", "Item"];

    pub fn from_element(e: &Element, name: &'static str) -> Result<Self, ModelError> {
        Ok(ItemCommand {
            cmd_id: cmd_id(e, name)?,
            no_resp: e.child("NoResp").is_some(),
            cred: optional_cred(e)?,
            meta: optional_meta(e)?,
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self, name: &str) -> Element {
        let mut e = el(name);
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Delete`, with its soft-delete flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delete {
    pub cmd_id: String,
    pub no_resp: bool,
    pub archive: bool,
    pub sft_del: bool,
    pub cred: Option<Cred>,
    pub meta: Option<Meta>,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl Delete {
    const KNOWN: &'static [&'static str] = &[
        "CmdID", "NoResp", "Archive", "SftDel", "Cred", "Meta", "Item",
    ];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Delete {
            cmd_id: cmd_id(e, "Delete")?,
            no_resp: e.child("NoResp").is_some(),
            archive: e.child("Archive").is_some(),
            sft_del: e.child("SftDel").is_some(),
            cred: optional_cred(e)?,
            meta: optional_meta(e)?,
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Delete");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_flag(&mut e, "Archive", self.archive, Ns::SyncMl);
        push_flag(&mut e, "SftDel", self.sft_del, Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Get` and `Put`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    pub cmd_id: String,
    pub no_resp: bool,
    pub lang: Option<String>,
    pub cred: Option<Cred>,
    pub meta: Option<Meta>,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl Access {
    const KNOWN: &'static [&'static str] = &["CmdID", "NoResp", "Lang", "Cred", "Meta", "Item"];

    pub fn from_element(e: &Element, name: &'static str) -> Result<Self, ModelError> {
        Ok(Access {
            cmd_id: cmd_id(e, name)?,
            no_resp: e.child("NoResp").is_some(),
            lang: e.child("Lang").map(text),
            cred: optional_cred(e)?,
            meta: optional_meta(e)?,
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self, name: &str) -> Element {
        let mut e = el(name);
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_opt(&mut e, "Lang", self.lang.as_deref(), Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Alert`: sync initialisation, next-message request, suspend/resume, display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub cmd_id: String,
    pub no_resp: bool,
    pub cred: Option<Cred>,
    pub code: AlertCode,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl Alert {
    const KNOWN: &'static [&'static str] = &["CmdID", "NoResp", "Cred", "Data", "Item"];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let data = required(e.child("Data"), "Alert", "Data")?;
        Ok(Alert {
            cmd_id: cmd_id(e, "Alert")?,
            no_resp: e.child("NoResp").is_some(),
            cred: optional_cred(e)?,
            code: AlertCode::from_code(number(data, "Data")?),
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Alert");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        e.push(leaf("Data", self.code.to_string()));
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Atomic` and `Sequence`: grouped commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Container {
    pub cmd_id: String,
    pub no_resp: bool,
    pub meta: Option<Meta>,
    pub commands: Vec<Command>,
    pub extra: Vec<Element>,
}

impl Container {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let (commands, extra) = nested(e, &["CmdID", "NoResp", "Meta"])?;
        Ok(Container {
            cmd_id: cmd_id(e, "Atomic/Sequence")?,
            no_resp: e.child("NoResp").is_some(),
            meta: optional_meta(e)?,
            commands,
            extra,
        })
    }

    pub fn to_element(&self, name: &str) -> Element {
        let mut e = el(name);
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_meta(&mut e, self.meta.as_ref());
        for c in &self.commands {
            e.push(c.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Sync`: the changes for one datastore pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sync {
    pub cmd_id: String,
    pub no_resp: bool,
    pub cred: Option<Cred>,
    pub target: Option<Location>,
    pub source: Option<Location>,
    pub meta: Option<Meta>,
    pub number_of_changes: Option<u32>,
    pub commands: Vec<Command>,
    pub extra: Vec<Element>,
}

impl Sync {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        let (commands, extra) = nested(
            e,
            &[
                "CmdID",
                "NoResp",
                "Cred",
                "Target",
                "Source",
                "Meta",
                "NumberOfChanges",
            ],
        )?;
        Ok(Sync {
            cmd_id: cmd_id(e, "Sync")?,
            no_resp: e.child("NoResp").is_some(),
            cred: optional_cred(e)?,
            target: optional_location(e, "Target")?,
            source: optional_location(e, "Source")?,
            meta: optional_meta(e)?,
            number_of_changes: e
                .child("NumberOfChanges")
                .map(|c| number(c, "NumberOfChanges"))
                .transpose()?,
            commands,
            extra,
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Sync");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        push_location(&mut e, "Target", self.target.as_ref());
        push_location(&mut e, "Source", self.source.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        if let Some(n) = self.number_of_changes {
            e.push(leaf("NumberOfChanges", n.to_string()));
        }
        for c in &self.commands {
            e.push(c.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Map`: the client's new local IDs for server-added items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Map {
    pub cmd_id: String,
    pub target: Location,
    pub source: Location,
    pub cred: Option<Cred>,
    pub meta: Option<Meta>,
    pub items: Vec<MapItem>,
    pub extra: Vec<Element>,
}

/// One GUID (target) <-> LUID (source) pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapItem {
    pub target: Location,
    pub source: Location,
    pub extra: Vec<Element>,
}

impl Map {
    const KNOWN: &'static [&'static str] =
        &["CmdID", "Target", "Source", "Cred", "Meta", "MapItem"];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Map {
            cmd_id: cmd_id(e, "Map")?,
            target: required(optional_location(e, "Target")?, "Map", "Target")?,
            source: required(optional_location(e, "Source")?, "Map", "Source")?,
            cred: optional_cred(e)?,
            meta: optional_meta(e)?,
            items: e
                .children_named("MapItem")
                .map(MapItem::from_element)
                .collect::<Result<_, _>>()?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Map");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        e.push(self.target.to_element("Target"));
        e.push(self.source.to_element("Source"));
        push_cred(&mut e, self.cred.as_ref());
        push_meta(&mut e, self.meta.as_ref());
        for it in &self.items {
            e.push(it.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}

impl MapItem {
    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(MapItem {
            target: required(optional_location(e, "Target")?, "MapItem", "Target")?,
            source: required(optional_location(e, "Source")?, "MapItem", "Source")?,
            extra: extras(e, &["Target", "Source"]),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("MapItem");
        e.push(self.target.to_element("Target"));
        e.push(self.source.to_element("Source"));
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Results`: the answer to a `Get`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Results {
    pub cmd_id: String,
    pub msg_ref: Option<String>,
    pub cmd_ref: String,
    pub meta: Option<Meta>,
    pub target_refs: Vec<String>,
    pub source_refs: Vec<String>,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl Results {
    const KNOWN: &'static [&'static str] = &[
        "CmdID",
        "MsgRef",
        "CmdRef",
        "Meta",
        "TargetRef",
        "SourceRef",
        "Item",
    ];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Results {
            cmd_id: cmd_id(e, "Results")?,
            msg_ref: e.child("MsgRef").map(text),
            cmd_ref: required(e.child("CmdRef").map(text), "Results", "CmdRef")?,
            meta: optional_meta(e)?,
            target_refs: e.children_named("TargetRef").map(text).collect(),
            source_refs: e.children_named("SourceRef").map(text).collect(),
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Results");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_opt(&mut e, "MsgRef", self.msg_ref.as_deref(), Ns::SyncMl);
        e.push(leaf("CmdRef", self.cmd_ref.as_str()));
        push_meta(&mut e, self.meta.as_ref());
        for r in &self.target_refs {
            e.push(leaf("TargetRef", r.as_str()));
        }
        for r in &self.source_refs {
            e.push(leaf("SourceRef", r.as_str()));
        }
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Status`: the result of one command or item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub cmd_id: String,
    pub msg_ref: String,
    pub cmd_ref: String,
    pub cmd: String,
    pub target_refs: Vec<String>,
    pub source_refs: Vec<String>,
    pub cred: Option<Cred>,
    pub chal: Option<Chal>,
    pub code: StatusCode,
    pub items: Vec<Item>,
    pub extra: Vec<Element>,
}

impl Status {
    const KNOWN: &'static [&'static str] = &[
        "CmdID",
        "MsgRef",
        "CmdRef",
        "Cmd",
        "TargetRef",
        "SourceRef",
        "Cred",
        "Chal",
        "Data",
        "Item",
    ];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        const P: &str = "Status";
        let data = required(e.child("Data"), P, "Data")?;
        Ok(Status {
            cmd_id: cmd_id(e, P)?,
            msg_ref: required(e.child("MsgRef").map(text), P, "MsgRef")?,
            cmd_ref: required(e.child("CmdRef").map(text), P, "CmdRef")?,
            cmd: required(e.child("Cmd").map(text), P, "Cmd")?,
            target_refs: e.children_named("TargetRef").map(text).collect(),
            source_refs: e.children_named("SourceRef").map(text).collect(),
            cred: optional_cred(e)?,
            chal: e.child("Chal").map(Chal::from_element).transpose()?,
            code: StatusCode::from_code(number(data, "Data")?),
            items: items(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Status");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        e.push(leaf("MsgRef", self.msg_ref.as_str()));
        e.push(leaf("CmdRef", self.cmd_ref.as_str()));
        e.push(leaf("Cmd", self.cmd.as_str()));
        for r in &self.target_refs {
            e.push(leaf("TargetRef", r.as_str()));
        }
        for r in &self.source_refs {
            e.push(leaf("SourceRef", r.as_str()));
        }
        push_cred(&mut e, self.cred.as_ref());
        if let Some(c) = &self.chal {
            e.push(c.to_element());
        }
        e.push(leaf("Data", self.code.to_string()));
        push_items(&mut e, &self.items);
        push_extra(&mut e, &self.extra);
        e
    }
}

/// `Search` (not used by the phones in scope, modelled for completeness).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Search {
    pub cmd_id: String,
    pub no_resp: bool,
    pub no_results: bool,
    pub cred: Option<Cred>,
    pub target: Option<Location>,
    pub sources: Vec<Location>,
    pub lang: Option<String>,
    pub meta: Option<Meta>,
    pub data: Option<Data>,
    pub extra: Vec<Element>,
}

impl Search {
    const KNOWN: &'static [&'static str] = &[
        "CmdID",
        "NoResp",
        "NoResults",
        "Cred",
        "Target",
        "Source",
        "Lang",
        "Meta",
        "Data",
    ];

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        Ok(Search {
            cmd_id: cmd_id(e, "Search")?,
            no_resp: e.child("NoResp").is_some(),
            no_results: e.child("NoResults").is_some(),
            cred: optional_cred(e)?,
            target: optional_location(e, "Target")?,
            sources: e
                .children_named("Source")
                .map(|c| Location::from_element(c, "Source"))
                .collect::<Result<_, _>>()?,
            lang: e.child("Lang").map(text),
            meta: optional_meta(e)?,
            data: optional_data(e)?,
            extra: extras(e, Self::KNOWN),
        })
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("Search");
        e.push(leaf("CmdID", self.cmd_id.as_str()));
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        push_flag(&mut e, "NoResults", self.no_results, Ns::SyncMl);
        push_cred(&mut e, self.cred.as_ref());
        push_location(&mut e, "Target", self.target.as_ref());
        for s in &self.sources {
            e.push(s.to_element("Source"));
        }
        push_opt(&mut e, "Lang", self.lang.as_deref(), Ns::SyncMl);
        push_meta(&mut e, self.meta.as_ref());
        if let Some(d) = &self.data {
            e.push(d.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}
