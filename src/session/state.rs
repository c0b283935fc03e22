//! The session's package flow as explicit states, one per package the phone may send
//! next. Each state's `handle` consumes the phone's message and returns the next state;
//! a command a state does not expect (a Map before the Sync) is refused by that state.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::context::Shared;
use super::devinf_ours::server_devinf;
use super::outbox::{Outbox, SyncAddress};
use super::sync_type::resolve;
use super::url_params::UrlParams;
use crate::catalog::{DatastoreUri, DeviceProfile};
use crate::convert::{Charset, Format};
use crate::dav::ItemKind;
use crate::engine::{
    items, DatastoreRun, EngineDeps, PhoneChange, Prior, RunSetup, ServerChange, SyncMethod,
};
use crate::metrics::{Direction, ItemChange};
use crate::store::{DatastoreKey, DeviceRecord};
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::devinf::DevInf;
use crate::syncml::model::{
    Access, Alert, Anchor, Command, Data, Delete, Item, ItemCommand, Location, Message, Meta,
    Results, Sync, DEVINF_XML_TYPE,
};
use crate::syncml::reply::{command_status, item_status, status};
use crate::syncml::Version;

/// A protocol error raised by the state that did not expect a command.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{command} is not allowed while waiting for {waiting}")]
    Unexpected {
        command: String,
        waiting: &'static str,
    },
}

/// Where the session stands: what the phone may send next.
pub enum Phase {
    /// Package 1: log-in, DevInf, the sync Alerts.
    Init(AwaitInit),
    /// Package 3: the phone's Sync commands.
    Sync(AwaitSync),
    /// Package 4 is being delivered over several messages.
    Sending(SendingChanges),
    /// Package 5: statuses for package 4 and the Map.
    Map(AwaitMap),
    Done,
}

pub struct AwaitInit;
pub struct AwaitSync;
pub struct SendingChanges {
    expects_map: bool,
}
pub struct AwaitMap;

/// A large object being received in chunks.
struct Partial {
    slot: usize,
    is_add: bool,
    luid: String,
    format: Format,
    declared: Option<u64>,
    data: Vec<u8>,
}

/// One datastore the phone alerted.
pub struct Slot {
    /// The server URI as the phone spelled it.
    pub server_uri: String,
    pub phone_uri: String,
    pub run: Option<DatastoreRun>,
    pub sync_index: Option<usize>,
}

/// Everything a session keeps between messages.
pub struct SessionCore {
    pub shared: Arc<Shared>,
    pub device: String,
    pub user: String,
    pub version: Version,
    pub url: UrlParams,
    pub deps: EngineDeps,
    pub record: DeviceRecord,
    pub devinf: Option<DevInf>,
    pub profile: DeviceProfile,
    pub slots: Vec<Slot>,
    pub outbox: Outbox,
    pub phone_max_obj: Option<u64>,
    partial: Option<Partial>,
    asked_devinf: bool,
}

/// The statuses and commands answering one message, before packing.
#[derive(Default)]
pub struct Answer {
    pub commands: Vec<Command>,
    /// The message ends the server's package.
    pub final_: bool,
}

fn unexpected(cmd: &Command, waiting: &'static str) -> FlowError {
    FlowError::Unexpected {
        command: cmd.name().to_owned(),
        waiting,
    }
}

/// A command the current package may not hold: logged as a protocol error and answered 403.
fn refuse_unexpected(
    core: &SessionCore,
    msg_ref: &str,
    cmd: &Command,
    waiting: &'static str,
    answer: &mut Answer,
) {
    let err = unexpected(cmd, waiting);
    tracing::warn!(device = %core.device, error = %err, "protocol error");
    push_status(answer, msg_ref, cmd, 403);
}

/// Answers a whole command (CmdID of the status filled in when the message is packed).
fn push_status(answer: &mut Answer, msg_ref: &str, cmd: &Command, n: u16) {
    answer
        .commands
        .push(Command::Status(command_status(msg_ref, cmd, "0", code(n))));
}

fn code(n: u16) -> StatusCode {
    StatusCode::from_code(n)
}

impl SessionCore {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        device: String,
        user: String,
        version: Version,
        url: UrlParams,
        deps: EngineDeps,
        record: DeviceRecord,
    ) -> Self {
        let devinf = record
            .devinf_xml
            .as_deref()
            .and_then(|x| crate::syncml::xml::parse(x.as_bytes()).ok())
            .and_then(|e| DevInf::from_element(&e).ok());
        let profile = forced_profile(&shared, &record).unwrap_or_else(|| {
            shared.profiles.for_device(
                &device,
                devinf.as_ref().and_then(|d| d.man.as_deref()),
                devinf.as_ref().and_then(|d| d.model.as_deref()),
            )
        });
        let mut core = SessionCore {
            shared,
            device,
            user,
            version,
            url,
            deps,
            record,
            devinf: None,
            profile,
            slots: Vec::new(),
            outbox: Outbox::default(),
            phone_max_obj: None,
            partial: None,
            asked_devinf: false,
        };
        core.set_devinf(devinf);
        core
    }

    fn set_devinf(&mut self, devinf: Option<DevInf>) {
        if let Some(d) = &devinf {
            self.profile = forced_profile(&self.shared, &self.record).unwrap_or_else(|| {
                self.shared
                    .profiles
                    .for_device(&self.device, d.man.as_deref(), d.model.as_deref())
            });
        }
        let charset = Charset::from_label(&self.profile.charset).unwrap_or(Charset::Utf8);
        self.deps.opts = self
            .deps
            .opts
            .clone()
            .with_charset(charset)
            .with_qp_non_ascii(self.profile.qp_non_ascii)
            .with_trim_name_fields(self.profile.trim_name_fields)
            .with_calendar(self.profile.calendar_for(
                devinf.as_ref().map(|d| d.utc),
                self.version == Version::V1_0,
            ));
        self.devinf = devinf;
    }

    /// Whether items may be chunked for this phone.
    pub fn large_objects(&self) -> bool {
        self.version != Version::V1_0
            && (self.profile.large_objects
                || self.devinf.as_ref().is_some_and(|d| d.support_large_objs))
    }

    fn store_devinf(&mut self, d: &DevInf) {
        let xml = crate::syncml::xml::write(&d.to_element(), self.version.namespace());
        self.record.devinf_xml = Some(String::from_utf8_lossy(&xml).into_owned());
        self.record.manufacturer = d.man.clone();
        self.record.model = d.model.clone();
        self.record.software_version = d.sw_v.clone();
        self.set_devinf(Some(d.clone()));
        if let Err(e) = self.shared.store.put_device(&self.record) {
            tracing::warn!(device = %self.device, error = %e, "cannot store the device's DevInf");
        }
    }

    fn slot_for(&self, target: Option<&Location>) -> Option<usize> {
        let name = DatastoreUri::parse(&target?.loc_uri).name;
        self.slots
            .iter()
            .position(|s| DatastoreUri::parse(&s.server_uri).name == name)
    }

    /// Statuses from the phone: only failures are worth a log line.
    fn note_status(&self, s: &crate::syncml::model::Status) {
        let c = s.code.code();
        if c >= 300 && s.cmd != "SyncHdr" {
            tracing::info!(device = %self.device, cmd = %s.cmd, status = c, refs = ?s.source_refs, target = ?s.target_refs, "phone reported a failure");
        }
    }

    fn handle_put_get_results(&mut self, msg_ref: &str, cmd: &Command, answer: &mut Answer) {
        match cmd {
            Command::Put(p) => {
                for it in &p.items {
                    if let Some(Data::DevInf(d)) = &it.data {
                        let d = (**d).clone();
                        self.store_devinf(&d);
                    }
                }
                push_status(answer, msg_ref, cmd, 200);
            }
            Command::Get(g) => {
                let wants_devinf = g.items.iter().any(|i| {
                    i.target
                        .as_ref()
                        .is_some_and(|t| t.loc_uri.starts_with("./devinf"))
                });
                if !wants_devinf {
                    push_status(answer, msg_ref, cmd, 404);
                    return;
                }
                push_status(answer, msg_ref, cmd, 200);
                let uri = self.version.devinf_uri().to_owned();
                answer.commands.push(Command::Results(Results {
                    cmd_id: "0".into(),
                    msg_ref: Some(msg_ref.to_owned()),
                    cmd_ref: g.cmd_id.clone(),
                    meta: Some(Meta {
                        content_type: Some(DEVINF_XML_TYPE.into()),
                        ..Meta::default()
                    }),
                    target_refs: Vec::new(),
                    source_refs: vec![uri.clone()],
                    items: vec![Item {
                        source: Some(Location::new(uri)),
                        data: Some(Data::DevInf(Box::new(server_devinf(self.version)))),
                        ..Item::default()
                    }],
                    extra: Vec::new(),
                }));
            }
            Command::Results(r) => {
                for it in &r.items {
                    if let Some(Data::DevInf(d)) = &it.data {
                        let d = (**d).clone();
                        self.store_devinf(&d);
                    }
                }
            }
            _ => {}
        }
    }

    /// The collection kind and phone format for a datastore name.
    async fn open_slot(
        &mut self,
        msg_ref: &str,
        alert: &Alert,
        item: &Item,
        answer: &mut Answer,
    ) -> Command {
        let target = item
            .target
            .as_ref()
            .map(|l| l.loc_uri.clone())
            .unwrap_or_default();
        let source = item
            .source
            .as_ref()
            .map(|l| l.loc_uri.clone())
            .unwrap_or_default();
        let alert_cmd = Command::Alert(alert.clone());
        let mut st = item_status(msg_ref, &alert_cmd, item, "0", code(200));
        let Some(asked) = SyncMethod::from_alert(alert.code.code()) else {
            st.code = code(406);
            return Command::Status(st);
        };
        let uri = DatastoreUri::parse(&target);
        let mut also = None;
        let (kind_name, kind) = match self.shared.aliases.kind_of(&uri) {
            Some((n, k)) => {
                if self.profile.combined_tasks {
                    also = k
                        .combined_with
                        .as_deref()
                        .and_then(|other| self.shared.aliases.kind(other))
                        .map(|other| dav_kind(&other.collection))
                        .filter(|other| *other != dav_kind(&k.collection));
                }
                (n.to_owned(), dav_kind(&k.collection))
            }
            None => match self.find_named_collection(&uri.name).await {
                Some((href, kind)) => (format!("collection:{href}"), kind),
                None => {
                    tracing::info!(device = %self.device, datastore = %target, "unknown datastore");
                    st.code = code(404);
                    return Command::Status(st);
                }
            },
        };
        let key = DatastoreKey::new(&self.user, &self.device, kind_name.clone());
        let prior = match Prior::load(&self.shared.store, &key) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the datastore state");
                st.code = code(500);
                return Command::Status(st);
            }
        };
        let collection = match kind_name.strip_prefix("collection:") {
            Some(href) => href.to_owned(),
            None => match self.known_collection(&prior, kind) {
                Some(href) => href,
                None => match self.deps.dav.collection_for(kind).await {
                    Ok(c) => c.href,
                    Err(e) => {
                        tracing::warn!(device = %self.device, datastore = %target, error = %e, "no upstream collection");
                        st.code = code(if e.is_unavailable() { 503 } else { 404 });
                        return Command::Status(st);
                    }
                },
            },
        };
        let task_collection = match also {
            Some(other) => self.combined_collection(&prior, other, &target).await,
            None => None,
        };
        let anchor = item
            .meta
            .as_ref()
            .and_then(|m| m.anchor.clone())
            .unwrap_or_default();
        if let Some(m) = item.meta.as_ref().and_then(|m| m.max_obj_size) {
            self.phone_max_obj = Some(m);
        }
        let matches = prior.anchors_match(anchor.last.as_deref());
        let method = resolve(asked, self.url.sync, matches);
        let mut backed_up = vec![(kind, collection.clone())];
        if let Some(tasks) = task_collection.as_ref().filter(|t| **t != collection) {
            backed_up.push((ItemKind::Tasks, tasks.clone()));
        }
        for (k, href) in &backed_up {
            if let Err(refused) = self
                .backup_before_destructive(method, *k, href, &target)
                .await
            {
                st.code = code(refused);
                return Command::Status(st);
            }
        }
        let phone_format = self.phone_format(&source, kind);
        let cap = items::capability_for(self.devinf.as_ref(), phone_format);
        let max_guid = self
            .devinf
            .as_ref()
            .and_then(|d| d.data_store(&source))
            .and_then(|d| d.max_guid_size)
            .map(|n| n as usize)
            .unwrap_or(self.profile.max_guid_size);
        let setup = RunSetup {
            key,
            method,
            collection,
            kind,
            phone_format,
            cap,
            max_guid,
            phone_next: anchor.next.clone(),
            task_collection,
            server_uri: target.clone(),
        };
        let run = match DatastoreRun::new(&self.deps, prior, setup) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the datastore");
                st.code = code(500);
                return Command::Status(st);
            }
        };
        tracing::info!(device = %self.device, user = %self.user, datastore = %target, asked = asked.number(), performed = method.number(), anchors_match = matches, "sync alerted");
        let answer_code = method.alert_code();
        // 508 tells the phone its anchors are stale; a slow sync the URL asks for is
        // carried by our Alert code alone (SyncEvolution fails a session on 508 otherwise).
        if matches!(alert.code.code(), 200 | 206) && answer_code == 201 && !matches {
            st.code = code(508);
        }
        st.items = vec![Item {
            data: Some(Data::Anchor(Anchor {
                last: None,
                next: anchor.next,
            })),
            ..Item::default()
        }];
        answer.commands.push(Command::Alert(Alert {
            cmd_id: "0".into(),
            no_resp: false,
            cred: None,
            code: AlertCode::from_code(answer_code),
            items: vec![Item {
                target: Some(Location::new(source.clone())),
                source: Some(Location::new(target.clone())),
                meta: Some(Meta {
                    anchor: Some(Anchor {
                        last: run.server_last().map(str::to_owned),
                        next: run.server_next.clone(),
                    }),
                    ..Meta::default()
                }),
                ..Item::default()
            }],
            extra: Vec::new(),
        }));
        self.slots.push(Slot {
            server_uri: target,
            phone_uri: source,
            run: Some(run),
            sync_index: None,
        });
        Command::Status(st)
    }

    /// The collection this datastore synced with last time, so a session needs no
    /// discovery requests upstream; unless the config now names another one.
    fn known_collection(&self, prior: &Prior, kind: ItemKind) -> Option<String> {
        self.still_configured(prior.known_collection()?, kind)
    }

    fn still_configured(&self, stored: &str, kind: ItemKind) -> Option<String> {
        match self.deps.dav.configured_collection(kind) {
            Ok(Some(configured)) if configured != stored => None,
            Ok(_) => Some(stored.to_owned()),
            Err(_) => None,
        }
    }

    /// The second collection of a combined datastore (the task list of a Nokia or Sony
    /// Ericsson calendar): the one of the last session, else discovered. Without one the
    /// datastore syncs its own collection alone.
    async fn combined_collection(
        &self,
        prior: &Prior,
        kind: ItemKind,
        datastore: &str,
    ) -> Option<String> {
        if let Some(known) = prior
            .known_collections()
            .and_then(|(_, t)| t)
            .and_then(|t| self.still_configured(t, kind))
        {
            return Some(known);
        }
        match self.deps.dav.collection_for(kind).await {
            Ok(c) => Some(c.href),
            Err(e) => {
                tracing::warn!(device = %self.device, %datastore, error = %e, "no upstream collection for the combined {} of this datastore: syncing without them", kind.key());
                None
            }
        }
    }

    /// A collection named by its last path segment or displayname.
    async fn find_named_collection(&self, name: &str) -> Option<(String, ItemKind)> {
        let found = self.deps.dav.discover().await.ok()?;
        found
            .collections
            .iter()
            .filter(|c| c.kind != crate::dav::CollectionType::Plain)
            .find(|c| {
                let seg = c
                    .href
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                seg.eq_ignore_ascii_case(name)
                    || c.displayname
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(name))
            })
            .map(|c| {
                let has = |comp: &str| c.components.iter().any(|x| x == comp);
                let kind = match c.kind {
                    crate::dav::CollectionType::AddressBook => ItemKind::Contacts,
                    _ if has("VEVENT") || c.components.is_empty() => ItemKind::Events,
                    _ if has("VTODO") => ItemKind::Tasks,
                    _ => ItemKind::Notes,
                };
                (c.href.clone(), kind)
            })
    }

    /// The format items go to the phone in: the URL's `format=`, else its DevInf's
    /// preferred receive type, else the classic format of the kind.
    fn phone_format(&self, phone_uri: &str, kind: ItemKind) -> Format {
        use super::url_params::FormatParam;
        let classic = match kind {
            ItemKind::Contacts => Format::Vcard21,
            ItemKind::Events | ItemKind::Tasks => Format::Vcal10,
            ItemKind::Notes => Format::Text,
        };
        match self.url.format {
            Some(FormatParam::Sif) if kind == ItemKind::Contacts => return Format::Sifc,
            Some(FormatParam::Vob) => return classic,
            _ => {}
        }
        self.devinf
            .as_ref()
            .and_then(|d| d.data_store(phone_uri))
            .and_then(|ds| ds.rx_pref.as_ref())
            .and_then(|ct| Format::from_mime(&ct.ct_type, ct.ver_ct.as_deref()))
            .filter(|f| kind_fits(*f, kind))
            .unwrap_or(classic)
    }

    /// Reads the phone's Sync commands: every item applied, one status each.
    async fn handle_sync(
        &mut self,
        msg_ref: &str,
        cmd: &Command,
        sync: &Sync,
        answer: &mut Answer,
    ) {
        let Some(slot) = self.slot_for(sync.target.as_ref()) else {
            push_status(answer, msg_ref, cmd, 404);
            return;
        };
        push_status(answer, msg_ref, cmd, 200);
        let default_format = self.slots[slot]
            .run
            .as_ref()
            .map(|r| r.phone_format)
            .unwrap_or(Format::Vcard21);
        // (status template, change) per item, in order; None = answered already.
        let mut changes: Vec<PhoneChange> = Vec::new();
        let mut templates: Vec<crate::syncml::model::Status> = Vec::new();
        for inner in &sync.commands {
            let (items, cmd_meta, kind): (&[Item], Option<&Meta>, u8) = match inner {
                Command::Add(c) => (&c.items, c.meta.as_ref(), 0),
                Command::Replace(c) => (&c.items, c.meta.as_ref(), 1),
                Command::Delete(d) => (&d.items, d.meta.as_ref(), 2),
                other => {
                    push_status(answer, msg_ref, other, 501);
                    continue;
                }
            };
            for item in items {
                let mut st = item_status(msg_ref, inner, item, "0", code(200));
                let luid = item
                    .source
                    .as_ref()
                    .or(item.target.as_ref())
                    .map(|l| l.loc_uri.clone())
                    .unwrap_or_default();
                if kind == 2 {
                    changes.push(PhoneChange::Delete { luid });
                    templates.push(st);
                    continue;
                }
                let meta = item.meta.as_ref().or(cmd_meta);
                let mut is_add = kind == 0;
                let mut format = meta
                    .and_then(|m| m.content_type.as_deref())
                    .and_then(|t| Format::from_mime(t, meta.and_then(|m| m.version.as_deref())))
                    .unwrap_or(default_format);
                let mut data = item_bytes(item, meta);
                // Large objects: buffer chunks until the last one.
                if let Some(p) = self.partial.take() {
                    if p.luid == luid && p.slot == slot {
                        // The first chunk's command and type hold for the whole object.
                        is_add = p.is_add;
                        format = p.format;
                        let mut all = p.data;
                        all.extend_from_slice(&data);
                        data = all;
                        if !item.more_data && p.declared.is_some_and(|d| d != data.len() as u64) {
                            st.code = code(424);
                            answer.commands.push(Command::Status(st));
                            continue;
                        }
                    } else {
                        tracing::info!(device = %self.device, "chunked item not continued");
                        answer.commands.push(Command::Alert(Alert {
                            cmd_id: "0".into(),
                            no_resp: false,
                            cred: None,
                            code: AlertCode::from_code(223),
                            items: vec![Item {
                                source: Some(Location::new(p.luid)),
                                ..Item::default()
                            }],
                            extra: Vec::new(),
                        }));
                    }
                }
                if item.more_data {
                    let declared = meta.and_then(|m| m.size);
                    self.partial = Some(Partial {
                        slot,
                        is_add,
                        luid,
                        format,
                        declared,
                        data,
                    });
                    st.code = code(213);
                    answer.commands.push(Command::Status(st));
                    continue;
                }
                if let Some(max) = self.shared.max_obj_size {
                    if data.len() as u64 > max {
                        st.code = code(416);
                        answer.commands.push(Command::Status(st));
                        continue;
                    }
                }
                changes.push(if is_add {
                    PhoneChange::Add { luid, format, data }
                } else {
                    PhoneChange::Replace { luid, format, data }
                });
                templates.push(st);
            }
        }
        let Some(run) = self.slots[slot].run.as_mut() else {
            return;
        };
        let n = changes.len();
        let tally: Vec<ItemChange> = changes.iter().map(change_of).collect();
        let statuses = match run.apply_phone_changes(&self.deps, changes).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(device = %self.device, error = %e, "applying the phone's changes failed");
                vec![code(500); n]
            }
        };
        let datastore = run.kind.key();
        for (change, c) in tally.iter().zip(&statuses) {
            if c.code() < 300 {
                self.shared
                    .metrics
                    .items(Direction::FromDevice, datastore, *change, 1);
            }
        }
        for (mut st, c) in templates.into_iter().zip(statuses) {
            st.code = c;
            answer.commands.push(Command::Status(st));
        }
    }

    /// Package 4: every datastore's server changes queued in the outbox. Returns whether
    /// the phone must answer with a Map (and statuses).
    async fn queue_server_changes(&mut self) -> bool {
        let mut expects_answer = false;
        for i in 0..self.slots.len() {
            let (server_uri, phone_uri) = (
                self.slots[i].server_uri.clone(),
                self.slots[i].phone_uri.clone(),
            );
            let Some(run) = self.slots[i].run.as_mut() else {
                continue;
            };
            let changes = match run.server_changes(&self.deps).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(device = %self.device, error = %e, "reading the server's changes failed");
                    Vec::new()
                }
            };
            let mime = run.phone_format.mime_type();
            let datastore = run.kind.key();
            let max_obj = self.phone_max_obj;
            let mut cmds = Vec::with_capacity(changes.len());
            for c in changes {
                expects_answer = true;
                let meta = Some(Meta {
                    content_type: Some(mime.to_owned()),
                    ..Meta::default()
                });
                let text = |d: Vec<u8>| match String::from_utf8(d) {
                    Ok(t) => Data::Text(t),
                    Err(e) => Data::Binary(e.into_bytes()),
                };
                let cmd = match c {
                    ServerChange::Add { server_id, data } => {
                        if max_obj.is_some_and(|m| data.len() as u64 > m) {
                            tracing::warn!(device = %self.device, %server_id, "item larger than the phone's MaxObjSize, not sent");
                            continue;
                        }
                        Command::Add(ItemCommand {
                            cmd_id: "0".into(),
                            meta,
                            items: vec![Item {
                                source: Some(Location::new(server_id)),
                                data: Some(text(data)),
                                ..Item::default()
                            }],
                            ..ItemCommand::default()
                        })
                    }
                    ServerChange::Replace { luid, data } => Command::Replace(ItemCommand {
                        cmd_id: "0".into(),
                        meta,
                        items: vec![Item {
                            target: Some(Location::new(luid)),
                            data: Some(text(data)),
                            ..Item::default()
                        }],
                        ..ItemCommand::default()
                    }),
                    ServerChange::Delete { luid } => Command::Delete(Delete {
                        cmd_id: "0".into(),
                        items: vec![Item {
                            target: Some(Location::new(luid)),
                            ..Item::default()
                        }],
                        ..Delete::default()
                    }),
                };
                let change = match &cmd {
                    Command::Add(_) => ItemChange::Added,
                    Command::Replace(_) => ItemChange::Replaced,
                    _ => ItemChange::Deleted,
                };
                self.shared
                    .metrics
                    .items(Direction::ToDevice, datastore, change, 1);
                cmds.push(cmd);
            }
            let announce = self
                .devinf
                .as_ref()
                .is_some_and(|d| d.support_number_of_changes);
            let idx = self.outbox.open_sync(SyncAddress {
                target: phone_uri,
                source: server_uri,
                number_of_changes: announce.then(|| u32::try_from(cmds.len()).unwrap_or(u32::MAX)),
            });
            self.slots[i].sync_index = Some(idx);
            for cmd in cmds {
                self.outbox.push_item(idx, cmd);
            }
        }
        expects_answer
    }

    fn apply_maps(
        &mut self,
        msg_ref: &str,
        cmd: &Command,
        map: &crate::syncml::model::Map,
        answer: &mut Answer,
    ) {
        let Some(slot) = self.slot_for(Some(&map.target)) else {
            push_status(answer, msg_ref, cmd, 404);
            return;
        };
        let pairs: Vec<(String, String)> = map
            .items
            .iter()
            .map(|m| (m.target.loc_uri.clone(), m.source.loc_uri.clone()))
            .collect();
        let ok = match self.slots[slot].run.as_mut() {
            Some(run) => match run.apply_map(&self.deps, &pairs) {
                Ok(()) => 200,
                Err(e) => {
                    tracing::error!(error = %e, "storing the Map failed");
                    500
                }
            },
            None => 404,
        };
        push_status(answer, msg_ref, cmd, ok);
    }

    /// The session completed: anchors and change state move.
    pub fn commit(&mut self) {
        for slot in &mut self.slots {
            if let Some(run) = slot.run.as_mut() {
                if let Err(e) = run.commit(&self.deps) {
                    tracing::error!(error = %e, "cannot store the datastore state");
                }
            }
        }
        self.record.last_sync = Some(chrono::Utc::now().timestamp());
        self.record.last_result = Some("ok".into());
        if let Err(e) = self.shared.store.put_device(&self.record) {
            tracing::warn!(error = %e, "cannot store the device record");
        }
        tracing::info!(device = %self.device, user = %self.user, "session completed");
    }

    /// Alert 222: the phone wants the next message of our package.
    fn next_message_alert(&self) -> Command {
        Command::Alert(Alert {
            cmd_id: "0".into(),
            no_resp: false,
            cred: None,
            code: AlertCode::from_code(222),
            items: vec![Item {
                target: Some(Location::new(self.device.clone())),
                ..Item::default()
            }],
            extra: Vec::new(),
        })
    }
}

/// The profile a device's `profile` setting forces (set by an admin for a phone whose
/// DevInf matches the wrong one, or none).
fn forced_profile(shared: &Shared, record: &DeviceRecord) -> Option<DeviceProfile> {
    let name = record.settings.get("profile")?;
    let found = shared.profiles.named(name);
    if found.is_none() {
        tracing::warn!(device = %record.device_id, profile = %name, "unknown forced profile, matching by DevInf");
    }
    found
}

fn kind_fits(f: Format, kind: ItemKind) -> bool {
    use crate::convert::ItemKind as K;
    matches!(
        (f.kind(), kind),
        (K::Contact, ItemKind::Contacts)
            | (K::Calendar, ItemKind::Events | ItemKind::Tasks)
            | (K::Note, ItemKind::Notes)
    )
}

fn change_of(c: &PhoneChange) -> ItemChange {
    match c {
        PhoneChange::Add { .. } => ItemChange::Added,
        PhoneChange::Replace { .. } => ItemChange::Replaced,
        PhoneChange::Delete { .. } => ItemChange::Deleted,
    }
}

fn dav_kind(collection: &str) -> ItemKind {
    match collection {
        "addressbook" => ItemKind::Contacts,
        "VTODO" => ItemKind::Tasks,
        "VJOURNAL" => ItemKind::Notes,
        _ => ItemKind::Events,
    }
}

/// An item's data as bytes, base64-decoded when its Meta says `b64`.
fn item_bytes(item: &Item, meta: Option<&Meta>) -> Vec<u8> {
    let raw = match &item.data {
        Some(Data::Text(t)) => t.as_bytes().to_vec(),
        Some(Data::Binary(b)) => b.clone(),
        _ => Vec::new(),
    };
    if meta.and_then(|m| m.format.as_deref()) == Some("b64") {
        let cleaned: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if let Ok(d) = B64.decode(cleaned) {
            return d;
        }
    }
    raw
}

/// Statuses and Alert 222 of a message need no answer beyond acknowledging them.
fn common(core: &SessionCore, msg_ref: &str, cmd: &Command, answer: &mut Answer) -> bool {
    match cmd {
        Command::Status(s) => {
            core.note_status(s);
            true
        }
        Command::Alert(a) if a.code.code() == 222 => {
            push_status(answer, msg_ref, cmd, 200);
            true
        }
        _ => false,
    }
}

impl AwaitInit {
    pub async fn handle(
        self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Result<Phase, FlowError> {
        let msg_ref = msg.header.msg_id.clone();
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            match cmd {
                Command::Put(_) | Command::Get(_) | Command::Results(_) => {
                    core.handle_put_get_results(&msg_ref, cmd, answer)
                }
                Command::Alert(a) => {
                    for item in &a.items {
                        let st = core.open_slot(&msg_ref, a, item, answer).await;
                        // The Alert's status goes before our own Alert.
                        let at = answer
                            .commands
                            .iter()
                            .rposition(|c| matches!(c, Command::Alert(x) if x.code.code() != 222))
                            .filter(|_| !matches!(&st, Command::Status(s) if s.code.code() >= 400))
                            .unwrap_or(answer.commands.len());
                        answer.commands.insert(at, st);
                    }
                }
                other => refuse_unexpected(
                    core,
                    &msg_ref,
                    other,
                    "package 1 (log-in and sync alerts)",
                    answer,
                ),
            }
        }
        if !msg.body.final_ {
            answer.commands.push(core.next_message_alert());
            return Ok(Phase::Init(self));
        }
        if core.devinf.is_none() && !core.asked_devinf {
            core.asked_devinf = true;
            let uri = core.version.devinf_uri();
            answer.commands.push(Command::Get(Access {
                cmd_id: "0".into(),
                meta: Some(Meta {
                    content_type: Some(DEVINF_XML_TYPE.into()),
                    ..Meta::default()
                }),
                items: vec![Item {
                    target: Some(Location::new(uri)),
                    ..Item::default()
                }],
                ..Access::default()
            }));
        }
        answer.final_ = true;
        Ok(Phase::Sync(AwaitSync))
    }
}

impl AwaitSync {
    pub async fn handle(
        self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Result<Phase, FlowError> {
        let msg_ref = msg.header.msg_id.clone();
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            match cmd {
                Command::Sync(s) => core.handle_sync(&msg_ref, cmd, s, answer).await,
                Command::Put(_) | Command::Get(_) | Command::Results(_) => {
                    core.handle_put_get_results(&msg_ref, cmd, answer)
                }
                other => refuse_unexpected(
                    core,
                    &msg_ref,
                    other,
                    "package 3 (the phone's changes)",
                    answer,
                ),
            }
        }
        if !msg.body.final_ {
            if !answer
                .commands
                .iter()
                .any(|c| matches!(c, Command::Status(s) if s.code.code() == 213))
            {
                answer.commands.push(core.next_message_alert());
            }
            return Ok(Phase::Sync(self));
        }
        let expects_map = core.queue_server_changes().await;
        Ok(Phase::Sending(SendingChanges { expects_map }))
    }
}

impl SendingChanges {
    /// Called after a message of package 4 was packed: where the session goes next.
    pub fn after_send(self, core: &mut SessionCore, drained: bool) -> Phase {
        if !drained {
            return Phase::Sending(self);
        }
        if self.expects_map {
            Phase::Map(AwaitMap)
        } else {
            core.commit();
            Phase::Done
        }
    }

    pub fn handle(
        self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Result<Phase, FlowError> {
        let msg_ref = msg.header.msg_id.clone();
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            // Clients map the items of each message as they go.
            if let Command::Map(m) = cmd {
                core.apply_maps(&msg_ref, cmd, m, answer);
                continue;
            }
            let err = unexpected(cmd, "the rest of package 4 to be asked for");
            tracing::warn!(device = %core.device, error = %err, "protocol error");
            push_status(answer, &msg_ref, cmd, 403);
        }
        Ok(Phase::Sending(self))
    }
}

impl AwaitMap {
    pub fn handle(
        self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Result<Phase, FlowError> {
        let msg_ref = msg.header.msg_id.clone();
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            match cmd {
                Command::Map(m) => core.apply_maps(&msg_ref, cmd, m, answer),
                other => refuse_unexpected(
                    core,
                    &msg_ref,
                    other,
                    "package 5 (statuses and Map)",
                    answer,
                ),
            }
        }
        if !msg.body.final_ {
            answer.commands.push(core.next_message_alert());
            return Ok(Phase::Map(self));
        }
        core.commit();
        answer.final_ = true;
        Ok(Phase::Done)
    }
}

/// A bare status, for the header or a refused message.
pub fn simple_status(
    msg_ref: &str,
    cmd_ref: &str,
    cmd: &str,
    n: u16,
) -> crate::syncml::model::Status {
    status("0", msg_ref, cmd_ref, cmd, code(n))
}
