//! The SyncML 1.1 notification (push.md §3): an ordinary WBXML SyncML message whose
//! body is one Alert 206-210 per sync type, one Item per datastore.

use super::{AlertedDatastore, PushError};
use crate::syncml::codes::AlertCode;
use crate::syncml::model::{Alert, Command, Item, Location, Meta, SyncBody, SyncHdr};
use crate::syncml::{Encoding, Message, Version};

/// What the notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert11 {
    /// 1.0 or 1.1 (a 1.2 device gets the SAN instead).
    pub version: Version,
    pub session_id: u16,
    /// The phone's device id, the message Target.
    pub device_id: String,
    /// The server identifier configured on the phone, the message Source.
    pub server_id: String,
    pub datastores: Vec<AlertedDatastore>,
}

impl Alert11 {
    /// The SyncML message: datastores with the same sync type share one Alert, in
    /// the order their types first appear.
    pub fn message(&self) -> Message {
        let mut alerts: Vec<Alert> = Vec::new();
        for d in &self.datastores {
            let code = AlertCode::from_code(d.sync.code());
            let item = Item {
                source: Some(Location::new(d.server_uri.as_str())),
                meta: d.content_type.as_ref().map(|t| Meta {
                    content_type: Some(t.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match alerts.iter_mut().find(|a| a.code == code) {
                Some(a) => a.items.push(item),
                None => alerts.push(Alert {
                    cmd_id: (alerts.len() + 1).to_string(),
                    no_resp: false,
                    cred: None,
                    code,
                    items: vec![item],
                    extra: Vec::new(),
                }),
            }
        }
        Message {
            header: SyncHdr {
                ver_dtd: self.version.ver_dtd().into(),
                ver_proto: self.version.ver_proto().into(),
                session_id: self.session_id.to_string(),
                msg_id: "1".into(),
                target: Location::new(self.device_id.as_str()),
                source: Location::new(self.server_id.as_str()),
                ..Default::default()
            },
            body: SyncBody {
                commands: alerts.into_iter().map(Command::Alert).collect(),
                final_: true,
            },
            extra: Vec::new(),
        }
    }
}

/// The notification as WBXML.
pub fn encode(alert: &Alert11) -> Result<Vec<u8>, PushError> {
    if alert.datastores.is_empty() {
        return Err(PushError::InvalidNotification {
            what: "the SyncML 1.1 form needs at least one datastore".into(),
        });
    }
    Ok(crate::syncml::encode(&alert.message(), Encoding::Wbxml)?)
}
