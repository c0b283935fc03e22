//! What a session keeps between messages, whatever its phase: who it is for, the
//! device's DevInf and profile, the datastores the phone alerted and the outbox; and
//! the DevInf exchange (Put, Get, Results), which any package may carry.

use std::sync::Arc;

use super::context::Shared;
use super::devinf_ours::server_devinf;
use super::outbox::Outbox;
use super::url_params::UrlParams;
use crate::catalog::{DatastoreUri, DeviceProfile};
use crate::convert::Charset;
use crate::engine::{DatastoreRun, EngineDeps};
use crate::store::DeviceRecord;
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::devinf::DevInf;
use crate::syncml::item_format::ItemKeys;
use crate::syncml::model::{Alert, Command, Data, Item, Location, Meta, Results, DEVINF_XML_TYPE};
use crate::syncml::reply::command_status;
use crate::syncml::Version;

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
    /// The keys for encrypted items (`des;b64`), from the log-in password.
    pub item_keys: Option<ItemKeys>,
}

/// The statuses and commands answering one message, before packing.
#[derive(Default)]
pub struct Answer {
    pub commands: Vec<Command>,
    /// The message ends the server's package.
    pub final_: bool,
}

/// Answers a whole command (CmdID of the status filled in when the message is packed).
pub(super) fn push_status(answer: &mut Answer, msg_ref: &str, cmd: &Command, code: StatusCode) {
    answer
        .commands
        .push(Command::Status(command_status(msg_ref, cmd, "0", code)));
}

/// Asks the phone for its next message (Alert 222).
pub(super) fn next_message(device: &str) -> Command {
    Command::Alert(Alert {
        cmd_id: "0".into(),
        no_resp: false,
        cred: None,
        code: AlertCode::NextMessage,
        items: vec![Item {
            target: Some(Location::new(device.to_owned())),
            ..Item::default()
        }],
        extra: Vec::new(),
    })
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
            item_keys: None,
        };
        core.set_devinf(devinf);
        core
    }

    pub(super) fn set_devinf(&mut self, devinf: Option<DevInf>) {
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

    pub(super) fn store_devinf(&mut self, d: &DevInf) {
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

    pub(super) fn slot_for(&self, target: Option<&Location>) -> Option<usize> {
        let name = DatastoreUri::parse(&target?.loc_uri).name;
        self.slots
            .iter()
            .position(|s| DatastoreUri::parse(&s.server_uri).name == name)
    }

    /// Statuses from the phone: only failures are worth a log line.
    pub(super) fn note_status(&self, s: &crate::syncml::model::Status) {
        let c = s.code.code();
        if c >= 300 && s.cmd != "SyncHdr" {
            tracing::info!(device = %self.device, cmd = %s.cmd, status = c, refs = ?s.source_refs, target = ?s.target_refs, "phone reported a failure");
        }
    }

    pub(super) fn handle_put_get_results(
        &mut self,
        msg_ref: &str,
        cmd: &Command,
        answer: &mut Answer,
    ) {
        match cmd {
            Command::Put(p) => {
                for it in &p.items {
                    if let Some(Data::DevInf(d)) = &it.data {
                        let d = (**d).clone();
                        self.store_devinf(&d);
                    }
                }
                push_status(answer, msg_ref, cmd, StatusCode::Ok);
            }
            Command::Get(g) => {
                let wants_devinf = g.items.iter().any(|i| {
                    i.target
                        .as_ref()
                        .is_some_and(|t| t.loc_uri.starts_with("./devinf"))
                });
                if !wants_devinf {
                    push_status(answer, msg_ref, cmd, StatusCode::NotFound);
                    return;
                }
                push_status(answer, msg_ref, cmd, StatusCode::Ok);
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

    /// Alert 222: the phone wants the next message of our package.
    pub(super) fn next_message_alert(&self) -> Command {
        next_message(&self.device)
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
