//! Server-alerted sync: the notifications that make a phone start a session, the
//! configuration SMS that sets a phone up, and the transports that carry both (WAP
//! push over SMS through an HTTP SMS gateway, or a plain TCP connection).
//!
//! [`notify`] is the one call a poller or an admin command needs: it picks the
//! notification form the device understands, builds it, and hands it to the
//! device's registered transport.

pub mod alert11;
pub mod coalesce;
pub mod kannel;
pub mod poller;
mod prov_wbxml;
pub mod provisioning;
pub mod san;
pub mod settings;
pub mod tcp;
pub mod wap;
pub mod webhook;

use std::net::SocketAddr;

pub use settings::{DevicePush, Form, PushAddress};

use san::{AlertedSync, DigestKey, San, SanSync};
use wap::{ContentType, Sms, WapPush};

/// Everything that can go wrong building or delivering a push.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot build the notification: {what}")]
    InvalidNotification { what: String },
    #[error("malformed notification at byte {offset}: {what}")]
    MalformedNotification { offset: usize, what: String },
    #[error("cannot encode the SyncML 1.1 notification: {0}")]
    Codec(#[from] crate::syncml::CodecError),
    #[error("a {bytes}-byte push needs {parts} SMS; at most 255 can be concatenated")]
    TooLongForSms { bytes: usize, parts: usize },
    #[error("device {device}: push setting `{key}`: {message}")]
    Setting {
        device: String,
        key: String,
        message: String,
    },
    #[error("device {device} is not registered for push (no `push.sms` or `push.tcp` setting)")]
    NotRegistered { device: String },
    #[error("device {device} is registered for SMS push but no SMS gateway is configured (`push.gateway`)")]
    NoSmsGateway { device: String },
    #[error("SMS gateway {gateway} at {url} is unreachable: {source}")]
    GatewayUnreachable {
        gateway: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("SMS gateway {gateway} at {url} refused part {part} with HTTP {status}: {body}")]
    GatewayRefused {
        gateway: &'static str,
        url: String,
        part: usize,
        status: u16,
        body: String,
    },
    #[error("cannot set up the HTTP client for the SMS gateway: {source}")]
    HttpClient {
        #[source]
        source: reqwest::Error,
    },
    #[error("webhook template: {what}")]
    Template { what: String },
    #[error("TCP push to {addr}: {source}")]
    Tcp {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TCP push to {addr} timed out after {secs} s")]
    TcpTimeout { addr: String, secs: u64 },
    #[error("TCP push to {addr}: the device answered `{status_line}`")]
    TcpRefused { addr: String, status_line: String },
    #[error("cannot build the configuration document: {what}")]
    InvalidProvisioning { what: String },
    #[error("malformed configuration document at byte {offset}: {what}")]
    MalformedProvisioning { offset: usize, what: String },
}

/// One datastore a notification asks the phone to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertedDatastore {
    /// The server-side URI the phone syncs it under (its Alert Target), e.g. `card`.
    pub server_uri: String,
    pub sync: AlertedSync,
    /// MIME type of the device's data, e.g. `text/x-vcard`; `None` when unknown.
    pub content_type: Option<String>,
}

/// A built notification, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub form: Form,
    /// The session id announced (SAN) or used in the SyncHdr (1.1 form).
    pub session_id: u16,
    /// The notification itself: SAN bytes or a WBXML SyncML message.
    pub payload: Vec<u8>,
}

impl Notification {
    /// The WSP content type the notification travels under.
    pub fn content_type(&self) -> ContentType {
        match self.form {
            Form::San => ContentType::DsNotification,
            Form::Alert11 => ContentType::SyncmlWbxml,
        }
    }
}

/// What a delivery sent, for logs and for the admin's `push test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub notification: Notification,
    pub sent: Sent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The SMS handed to the gateway, in order.
    Sms { to: String, parts: Vec<Sms> },
    /// The bytes written to the device's TCP listener.
    Tcp { addr: SocketAddr, bytes: Vec<u8> },
}

/// The configured ways to reach phones.
#[derive(Debug, Clone, Default)]
pub struct Transports {
    pub sms: Option<SmsGateway>,
    pub tcp: tcp::TcpOptions,
}

impl Transports {
    /// The transports the `[push]` configuration describes.
    pub fn from_config(config: &crate::config::PushConfig) -> Result<Self, PushError> {
        let timeout = std::time::Duration::from_secs(config.gateway_timeout_secs);
        let sms = match config.gateway.as_str() {
            "kannel" => Some(SmsGateway::Kannel(kannel::Kannel::new(
                &config.kannel,
                timeout,
            )?)),
            "webhook" => Some(SmsGateway::Webhook(webhook::Webhook::new(
                &config.webhook,
                timeout,
            )?)),
            _ => None,
        };
        Ok(Transports {
            sms,
            tcp: tcp::TcpOptions {
                timeout: std::time::Duration::from_secs(config.tcp_timeout_secs),
            },
        })
    }
}

/// The SMS gateway notifications go through.
#[derive(Debug, Clone)]
pub enum SmsGateway {
    Kannel(kannel::Kannel),
    Webhook(webhook::Webhook),
}

impl SmsGateway {
    /// Hands each part to the gateway, in order.
    pub async fn send(&self, to: &str, parts: &[Sms]) -> Result<(), PushError> {
        match self {
            SmsGateway::Kannel(k) => k.send(to, parts).await,
            SmsGateway::Webhook(w) => w.send(to, parts).await,
        }
    }
}

/// Builds the notification `device` understands for `datastores` (empty: all of them).
pub fn build_notification(
    device: &DevicePush,
    datastores: &[AlertedDatastore],
    session_id: u16,
) -> Result<Notification, PushError> {
    let payload = match device.form {
        Form::San => {
            let san = San {
                version: 12,
                ui_mode: device.ui_mode,
                server_initiated: true,
                session_id,
                server_id: device.server_id.clone(),
                syncs: datastores
                    .iter()
                    .map(|d| SanSync {
                        sync: d.sync,
                        content_type: d.content_type.as_deref().map_or(0, san::content_type_code),
                        server_uri: d.server_uri.clone(),
                    })
                    .collect(),
                vendor: Vec::new(),
            };
            san.encode(&DigestKey {
                server_id: &device.server_id,
                password: &device.server_password,
                nonce: device.nonce.as_bytes(),
            })?
        }
        Form::Alert11 => alert11::encode(&alert11::Alert11 {
            version: device.alert11_version,
            session_id,
            device_id: device.device_id.clone(),
            server_id: device.server_id.clone(),
            datastores: datastores.to_vec(),
        })?,
    };
    Ok(Notification {
        form: device.form,
        session_id,
        payload,
    })
}

/// Sends a built notification over the device's registered transport. `sms_ref` is
/// the concatenation reference used when the push needs more than one SMS.
pub async fn deliver(
    device: &DevicePush,
    notification: Notification,
    transports: &Transports,
    sms_ref: u8,
) -> Result<Delivery, PushError> {
    let sent = match &device.address {
        PushAddress::Sms(to) => {
            let gateway = transports
                .sms
                .as_ref()
                .ok_or_else(|| PushError::NoSmsGateway {
                    device: device.device_id.clone(),
                })?;
            let push = WapPush::notification(
                device.wdp_ports,
                notification.content_type(),
                &notification.payload,
            );
            let parts = push.to_sms(sms_ref)?;
            gateway.send(to, &parts).await?;
            Sent::Sms {
                to: to.clone(),
                parts,
            }
        }
        PushAddress::Tcp(addr) => {
            let bytes = tcp::push(
                *addr,
                &notification.payload,
                notification.content_type().mime(),
                device.tcp_framing,
                &transports.tcp,
            )
            .await?;
            Sent::Tcp { addr: *addr, bytes }
        }
    };
    tracing::info!(
        device = %device.device_id,
        form = ?notification.form,
        bytes = notification.payload.len(),
        "push notification sent"
    );
    Ok(Delivery { notification, sent })
}

/// Builds and sends one notification asking `device` to sync `datastores`.
pub async fn notify(
    device: &DevicePush,
    datastores: &[AlertedDatastore],
    transports: &Transports,
) -> Result<Delivery, PushError> {
    let session_id: u16 = rand::random();
    let notification = build_notification(device, datastores, session_id)?;
    deliver(device, notification, transports, rand::random()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PushConfig;
    use crate::store::DeviceRecord;

    fn sms_device() -> DevicePush {
        let record = DeviceRecord {
            device_id: "IMEI:1".into(),
            settings: [(settings::keys::SMS.to_string(), "+4917012345".to_string())]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        DevicePush::resolve(&record, &PushConfig::default()).unwrap()
    }

    #[test]
    fn sms_without_a_gateway_is_refused_before_anything_is_sent() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(notify(&sms_device(), &[], &Transports::default()))
            .unwrap_err();
        assert!(matches!(err, PushError::NoSmsGateway { .. }), "{err}");
    }

    #[test]
    fn transports_follow_the_configuration() {
        let mut config = PushConfig::default();
        assert!(Transports::from_config(&config).unwrap().sms.is_none());
        config.gateway = "kannel".into();
        config.tcp_timeout_secs = 3;
        let t = Transports::from_config(&config).unwrap();
        assert!(matches!(t.sms, Some(SmsGateway::Kannel(_))));
        assert_eq!(t.tcp.timeout, std::time::Duration::from_secs(3));
    }

    #[test]
    fn the_11_form_needs_a_datastore() {
        let mut d = sms_device();
        d.form = Form::Alert11;
        assert!(matches!(
            build_notification(&d, &[], 1),
            Err(PushError::InvalidNotification { .. })
        ));
    }
}
