//! A simulated phone: its own item store under its own LUIDs, its anchors and its map of
//! server ids, and the SyncML client's side of a session built with the bridge's model
//! and codec (XML or WBXML, SyncML 1.1 or 1.2).

use std::collections::{BTreeMap, BTreeSet};

use syncml_bridge::syncml::codes::{AlertCode, StatusCode};
use syncml_bridge::syncml::devinf::{ContentTypeRef, CtCap, DataStore, DevInf, Property};
use syncml_bridge::syncml::model::{
    Access, Alert, Anchor, Command, Cred, Data, Delete, Item, ItemCommand, Location, Map, MapItem,
    Meta, Status, Sync, SyncBody, SyncHdr, DEVINF_XML_TYPE,
};
use syncml_bridge::syncml::{Message, Version};

use crate::model::{parse, Author, Card, Model};

pub const VCARD21: &str = "text/x-vcard";
/// The datastore name the phone syncs.
pub const SERVER_STORE: &str = "contacts";
pub const PHONE_STORE: &str = "./contacts";

/// What kind of phone it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub v12: bool,
    pub wbxml: bool,
    pub max_msg_size: u64,
    /// Item commands the phone puts in one message of its own.
    pub per_message: usize,
    /// Whether its CTCap lists NOTE (a phone without it drops notes it receives).
    pub holds_note: bool,
}

#[derive(Debug, Clone)]
pub struct PhoneItem {
    pub card: Card,
    pub rev: u64,
    /// The rev a completed session left in step with the server.
    pub synced_rev: u64,
    /// Its LUID was ever sent to the bridge (a delete of it is then reported).
    pub told: bool,
    /// Local writes not yet in step with the server, with the rev each made.
    pub pending: Vec<(u32, u64)>,
    /// The rev last sent, settled or not.
    pub sent_rev: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct PendingDelete {
    pub luid: String,
    /// The deletion in the model.
    pub deletion: usize,
    /// Sent in a session that did not complete: it may have reached the server.
    pub sent: bool,
}

#[derive(Debug, Clone)]
pub struct Phone {
    pub index: usize,
    pub kind: Kind,
    pub device: String,
    pub items: BTreeMap<String, PhoneItem>,
    pub deleted: Vec<PendingDelete>,
    pub last_anchor: Option<String>,
    pub anchors: u32,
    /// Server id -> LUID of every item the server added.
    pub known: BTreeMap<String, String>,
    /// Map entries not yet acknowledged.
    pub pending_map: BTreeMap<String, String>,
    pub next_luid: u32,
    pub rev: u64,
    pub sessions: u32,
    /// Local writes a server delete took away, for the model to abandon.
    pub dropped: Vec<u32>,
    /// In a one-way sync from the server: the server's versions overwrite local changes.
    pub taking_only: bool,
}

impl Phone {
    pub fn new(index: usize, kind: Kind) -> Self {
        Phone {
            index,
            kind,
            device: format!("IMEI:35000000000{index}"),
            items: BTreeMap::new(),
            deleted: Vec::new(),
            last_anchor: None,
            anchors: 0,
            known: BTreeMap::new(),
            pending_map: BTreeMap::new(),
            next_luid: 0,
            rev: 0,
            sessions: 0,
            dropped: Vec::new(),
            taking_only: false,
        }
    }

    pub fn version(&self) -> Version {
        if self.kind.v12 {
            Version::V1_2
        } else {
            Version::V1_1
        }
    }

    fn bump(&mut self) -> u64 {
        self.rev += 1;
        self.rev
    }

    fn sets(&self) -> (bool, bool) {
        (true, self.kind.holds_note)
    }

    /// The user adds a person on the phone.
    pub fn add(&mut self, model: &mut Model) {
        let k = model.new_person();
        let tag = model.write(k, self.sets(), BTreeSet::new(), Author::Phone(self.index));
        self.next_luid += 1;
        let rev = self.bump();
        let card = Card::new(k, Some(tag), self.kind.holds_note.then_some(tag));
        self.items.insert(
            self.next_luid.to_string(),
            PhoneItem {
                card,
                rev,
                synced_rev: 0,
                told: false,
                pending: vec![(tag, rev)],
                sent_rev: None,
            },
        );
    }

    fn pick(&self, pick: usize) -> Option<String> {
        let n = self.items.len();
        (n > 0).then(|| self.items.keys().nth(pick % n).cloned())?
    }

    /// The user edits an item (its e-mail, and its note where the phone has notes).
    pub fn edit(&mut self, model: &mut Model, pick: usize) {
        let Some(luid) = self.pick(pick) else { return };
        let sets = self.sets();
        let rev = self.bump();
        let author = Author::Phone(self.index);
        let Some(it) = self.items.get_mut(&luid) else {
            return;
        };
        let tag = model.write(it.card.k, sets, it.card.tags(), author);
        it.card.email = Some(tag);
        if sets.1 {
            it.card.note = Some(tag);
        }
        it.rev = rev;
        it.pending.push((tag, rev));
    }

    /// The user deletes an item.
    pub fn delete(&mut self, model: &mut Model, pick: usize) {
        let Some(luid) = self.pick(pick) else { return };
        let Some(it) = self.items.remove(&luid) else {
            return;
        };
        let deletion = model.delete(it.card.k, it.card.tags(), Author::Phone(self.index));
        // The user's delete supersedes their own changes not yet sent; one sent in a
        // session that did not complete may have reached the server all the same.
        for (t, rev) in &it.pending {
            if it.sent_rev.is_some_and(|s| *rev <= s) {
                model.make_uncertain(*t);
            } else {
                model.abandon_write(*t);
            }
        }
        // The bridge learns which LUID a server item has from the Map alone: a delete
        // of an item whose Map never arrived names a LUID the bridge cannot know.
        if self.pending_map.values().any(|l| *l == luid) {
            model.abandon_deletion(deletion);
        }
        self.known.retain(|_, l| *l != luid);
        self.pending_map.retain(|_, l| *l != luid);
        if it.told {
            self.deleted.push(PendingDelete {
                luid,
                deletion,
                sent: false,
            });
        }
    }

    /// A refresh from the server: everything local goes, unsent changes with it. A
    /// change sent in a session that did not complete may have reached the server.
    pub fn wipe(&mut self, model: &mut Model) {
        for it in self.items.values() {
            for (t, rev) in &it.pending {
                if it.sent_rev.is_some_and(|s| *rev <= s) {
                    model.make_uncertain(*t);
                } else {
                    model.abandon_write(*t);
                }
            }
        }
        for d in &self.deleted {
            model.drop_deletion(d.deletion, d.sent);
        }
        self.items.clear();
        self.deleted.clear();
        self.known.clear();
        self.pending_map.clear();
        // Until the refresh completes the phone's data is no sync's result: a slow
        // sync puts it right.
        self.last_anchor = None;
    }

    /// A slow sync cannot carry deletes: the server may send those items back.
    pub fn drop_deletes(&mut self, model: &mut Model) {
        for d in self.deleted.drain(..) {
            model.drop_deletion(d.deletion, d.sent);
        }
    }

    pub fn devinf(&self) -> DevInf {
        let ver = if self.kind.v12 { "1.2" } else { "1.1" };
        let mut props = vec!["BEGIN", "END", "VERSION", "N", "FN", "TEL", "EMAIL"];
        if self.kind.holds_note {
            props.push("NOTE");
        }
        let ctcap = CtCap {
            ct_type: VCARD21.into(),
            ver_ct: Some("2.1".into()),
            properties: props
                .into_iter()
                .map(|p| Property {
                    name: p.into(),
                    ..Property::default()
                })
                .collect(),
            ..CtCap::default()
        };
        let ct = ContentTypeRef {
            ct_type: VCARD21.into(),
            ver_ct: Some("2.1".into()),
        };
        let store = DataStore {
            source_ref: PHONE_STORE.into(),
            rx_pref: Some(ct.clone()),
            tx_pref: Some(ct),
            ctcaps: if self.kind.v12 {
                vec![ctcap.clone()]
            } else {
                Vec::new()
            },
            sync_types: vec![1, 2, 3, 4, 5, 6, 7],
            ..DataStore::default()
        };
        DevInf {
            ver_dtd: ver.into(),
            man: Some("Simulated".into()),
            model: Some("Phone".into()),
            dev_id: self.device.clone(),
            dev_typ: "phone".into(),
            utc: true,
            support_number_of_changes: true,
            data_stores: vec![store],
            ctcaps: if self.kind.v12 {
                Vec::new()
            } else {
                vec![ctcap]
            },
            ..DevInf::default()
        }
    }

    pub fn header(&self, session: &str, msg_id: u32, first: bool) -> SyncHdr {
        let v = self.version();
        SyncHdr {
            ver_dtd: v.ver_dtd().into(),
            ver_proto: v.ver_proto().into(),
            session_id: session.into(),
            msg_id: msg_id.to_string(),
            target: Location::new("http://sim.example/syncml"),
            source: Location::new(self.device.clone()),
            cred: first.then(|| Cred {
                meta: Some(Meta {
                    content_type: Some("syncml:auth-basic".into()),
                    format: Some("b64".into()),
                    ..Meta::default()
                }),
                data: Data::Text("YWxpY2U6cHc=".into()),
            }),
            meta: Some(Meta {
                max_msg_size: Some(self.kind.max_msg_size),
                ..Meta::default()
            }),
            ..SyncHdr::default()
        }
    }

    /// Package 1: the DevInf and the sync Alert.
    pub fn package1(&mut self, code: AlertCode) -> (Vec<Command>, String) {
        self.anchors += 1;
        let next = format!("{}-{}", self.index, self.anchors);
        let uri = self.version().devinf_uri().to_owned();
        let put = Command::Put(Access {
            cmd_id: "1".into(),
            meta: Some(Meta {
                content_type: Some(DEVINF_XML_TYPE.into()),
                ..Meta::default()
            }),
            items: vec![Item {
                source: Some(Location::new(uri)),
                data: Some(Data::DevInf(Box::new(self.devinf()))),
                ..Item::default()
            }],
            ..Access::default()
        });
        let alert = Command::Alert(Alert {
            cmd_id: "2".into(),
            no_resp: false,
            cred: None,
            code,
            items: vec![Item {
                target: Some(Location::new(SERVER_STORE)),
                source: Some(Location::new(PHONE_STORE)),
                meta: Some(Meta {
                    anchor: Some(Anchor {
                        last: self.last_anchor.clone(),
                        next: next.clone(),
                    }),
                    ..Meta::default()
                }),
                ..Item::default()
            }],
            extra: Vec::new(),
        });
        (vec![put, alert], next)
    }

    /// The phone's changes for a sync of `mode`, with the rev each one carries.
    pub fn changes(&mut self, slow: bool) -> Vec<(Command, String, u64)> {
        let mut out = Vec::new();
        let note = self.kind.holds_note;
        for (luid, it) in self.items.iter_mut() {
            if !slow && it.rev == it.synced_rev {
                continue;
            }
            let item = Item {
                source: Some(Location::new(luid.clone())),
                data: Some(Data::Text(it.card.vcard21(note))),
                ..Item::default()
            };
            let cmd = ItemCommand {
                cmd_id: String::new(),
                meta: Some(Meta {
                    content_type: Some(VCARD21.into()),
                    ..Meta::default()
                }),
                items: vec![item],
                ..ItemCommand::default()
            };
            let c = if !slow && it.synced_rev == 0 && !it.told {
                Command::Add(cmd)
            } else {
                Command::Replace(cmd)
            };
            it.told = true;
            out.push((c, luid.clone(), it.rev));
        }
        if !slow {
            for d in &mut self.deleted {
                d.sent = true;
                let c = Command::Delete(Delete {
                    items: vec![Item {
                        source: Some(Location::new(d.luid.clone())),
                        ..Item::default()
                    }],
                    ..Delete::default()
                });
                out.push((c, d.luid.clone(), 0));
            }
        }
        out
    }

    /// Applies one of the server's commands; returns its status. `settled` collects
    /// the items now in step (LUID -> rev).
    pub fn apply(&mut self, cmd: &Command, settled: &mut BTreeMap<String, u64>) -> StatusCode {
        let note = self.kind.holds_note;
        let card_of = |it: &Item| -> Option<Card> {
            let text = match it.data.as_ref()? {
                Data::Text(t) => t.clone(),
                Data::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                _ => return None,
            };
            let mut c = parse(&text).ok()?;
            if !note {
                c.note = None;
            }
            Some(c)
        };
        match cmd {
            Command::Add(a) => {
                let Some(it) = a.items.first() else {
                    return StatusCode::IncompleteCommand;
                };
                let Some(card) = card_of(it) else {
                    return StatusCode::BadRequest;
                };
                let gid = it
                    .source
                    .as_ref()
                    .map(|s| s.loc_uri.clone())
                    .unwrap_or_default();
                if let Some(luid) = self.known.get(&gid).cloned() {
                    self.take_server_version(&luid, card, settled);
                    self.pending_map.insert(gid, luid);
                    return StatusCode::Ok;
                }
                self.next_luid += 1;
                let luid = self.next_luid.to_string();
                let rev = self.bump();
                // What the server wrote is in step at once: the phone never reports
                // it as its own change.
                self.items.insert(
                    luid.clone(),
                    PhoneItem {
                        card,
                        rev,
                        synced_rev: rev,
                        told: true,
                        pending: Vec::new(),
                        sent_rev: None,
                    },
                );
                settled.insert(luid.clone(), rev);
                self.known.insert(gid.clone(), luid.clone());
                self.pending_map.insert(gid, luid);
                StatusCode::ItemAdded
            }
            Command::Replace(r) => {
                let Some(it) = r.items.first() else {
                    return StatusCode::IncompleteCommand;
                };
                let Some(card) = card_of(it) else {
                    return StatusCode::BadRequest;
                };
                let luid = it
                    .target
                    .as_ref()
                    .map(|t| t.loc_uri.clone())
                    .unwrap_or_default();
                if !self.items.contains_key(&luid) {
                    return StatusCode::NotFound;
                }
                self.take_server_version(&luid, card, settled);
                StatusCode::Ok
            }
            Command::Delete(d) => {
                let luid = d
                    .items
                    .first()
                    .and_then(|i| i.target.as_ref())
                    .map(|t| t.loc_uri.clone())
                    .unwrap_or_default();
                let Some(gone) = self.items.remove(&luid) else {
                    return StatusCode::NotFound;
                };
                // The server's delete wins over changes the phone made meanwhile.
                self.dropped.extend(gone.pending.iter().map(|(t, _)| *t));
                self.known.retain(|_, l| *l != luid);
                self.pending_map.retain(|_, l| *l != luid);
                StatusCode::Ok
            }
            _ => StatusCode::Ok,
        }
    }

    /// The server's version of an item replaces the phone's, unless the phone changed
    /// the item since it last sent it: then the phone's change goes next sync. In a
    /// one-way sync from the server it replaces the local change, which is dropped.
    fn take_server_version(&mut self, luid: &str, card: Card, settled: &mut BTreeMap<String, u64>) {
        let Some(it) = self.items.get_mut(luid) else {
            return;
        };
        let in_step = it.rev == it.synced_rev || settled.get(luid) == Some(&it.rev);
        if !in_step && self.taking_only {
            self.dropped.extend(it.pending.iter().map(|(t, _)| *t));
            it.synced_rev = it.rev;
        }
        if in_step || self.taking_only {
            it.card = card;
            it.synced_rev = it.rev;
            it.pending.clear();
            settled.insert(luid.to_owned(), it.rev);
        }
    }

    /// A completed session: anchors move, what was settled is in step. Unless
    /// `written`, the server only matched the phone's items (a one-way sync from the
    /// server that ran slow): the phone holds them as in step, but their writes are
    /// still its own alone until a later sync takes them.
    pub fn complete(
        &mut self,
        next: String,
        settled: &BTreeMap<String, u64>,
        deletes_done: &BTreeSet<String>,
        written: bool,
    ) {
        self.last_anchor = Some(next);
        for (luid, rev) in settled {
            if let Some(it) = self.items.get_mut(luid) {
                // Writes up to the settled rev reached the server.
                if written {
                    it.pending.retain(|(_, r)| r > rev);
                }
                if it.rev == *rev {
                    it.synced_rev = *rev;
                }
            }
        }
        self.deleted.retain(|d| !deletes_done.contains(&d.luid));
    }

    pub fn map_command(&self) -> Option<Command> {
        if self.pending_map.is_empty() {
            return None;
        }
        Some(Command::Map(Map {
            cmd_id: String::new(),
            target: Location::new(SERVER_STORE),
            source: Location::new(PHONE_STORE),
            cred: None,
            meta: None,
            items: self
                .pending_map
                .iter()
                .map(|(gid, luid)| MapItem {
                    target: Location::new(gid.clone()),
                    source: Location::new(luid.clone()),
                    extra: Vec::new(),
                })
                .collect(),
            extra: Vec::new(),
        }))
    }
}

/// A status answering `cmd` of the server's message `msg_ref`.
pub fn status_for(msg_ref: &str, cmd: &Command, code: StatusCode) -> Command {
    let (cmd_id, name) = (
        cmd.cmd_id().unwrap_or("0").to_owned(),
        cmd.name().to_owned(),
    );
    let refs = |items: &[Item]| -> (Vec<String>, Vec<String>) {
        let t = items
            .iter()
            .filter_map(|i| i.target.as_ref().map(|l| l.loc_uri.clone()))
            .collect();
        let s = items
            .iter()
            .filter_map(|i| i.source.as_ref().map(|l| l.loc_uri.clone()))
            .collect();
        (t, s)
    };
    let (target_refs, source_refs) = match cmd {
        Command::Add(c) | Command::Replace(c) => refs(&c.items),
        Command::Delete(d) => refs(&d.items),
        _ => (Vec::new(), Vec::new()),
    };
    Command::Status(Status {
        cmd_id: String::new(),
        msg_ref: msg_ref.to_owned(),
        cmd_ref: cmd_id,
        cmd: name,
        target_refs,
        source_refs,
        cred: None,
        chal: None,
        code,
        items: Vec::new(),
        extra: Vec::new(),
    })
}

/// Numbers the commands of a message (and of its Syncs) from 1.
pub fn number(commands: &mut [Command]) {
    let mut n = 0;
    for c in commands.iter_mut() {
        n += 1;
        set_id(c, n);
        if let Command::Sync(s) = c {
            for inner in s.commands.iter_mut() {
                n += 1;
                set_id(inner, n);
            }
        }
    }
}

fn set_id(c: &mut Command, n: usize) {
    let id = n.to_string();
    match c {
        Command::Status(s) => s.cmd_id = id,
        Command::Alert(a) => a.cmd_id = id,
        Command::Add(a) | Command::Replace(a) => a.cmd_id = id,
        Command::Delete(d) => d.cmd_id = id,
        Command::Put(p) | Command::Get(p) => p.cmd_id = id,
        Command::Map(m) => m.cmd_id = id,
        Command::Sync(s) => s.cmd_id = id,
        Command::Results(r) => r.cmd_id = id,
        _ => {}
    }
}

pub fn message(header: SyncHdr, commands: Vec<Command>, final_: bool) -> Message {
    Message {
        header,
        body: SyncBody { commands, final_ },
        extra: Vec::new(),
    }
}

pub fn sync_of(commands: Vec<Command>) -> Command {
    Command::Sync(Sync {
        cmd_id: String::new(),
        no_resp: false,
        cred: None,
        target: Some(Location::new(SERVER_STORE)),
        source: Some(Location::new(PHONE_STORE)),
        meta: None,
        number_of_changes: None,
        commands,
        extra: Vec::new(),
    })
}
