//! A device's push settings, resolved from its store record (free-form `settings`,
//! DevInf, last protocol version) over the `[push]` configuration.

use std::net::{SocketAddr, ToSocketAddrs};

use super::san::UiMode;
use super::tcp::Framing;
use super::wap::WdpPorts;
use super::PushError;
use crate::config::PushConfig;
use crate::store::DeviceRecord;
use crate::syncml::Version;

/// Per-device setting names (keys of `DeviceRecord::settings`).
pub mod keys {
    pub const SMS: &str = "push.sms";
    pub const TCP: &str = "push.tcp";
    pub const FORM: &str = "push.form";
    pub const SERVER_ID: &str = "push.server_id";
    pub const SERVER_PASSWORD: &str = "push.server_password";
    pub const NONCE: &str = "push.nonce";
    pub const UI_MODE: &str = "push.ui_mode";
    pub const TCP_FRAMING: &str = "push.tcp_framing";
    pub const WDP_DESTINATION_PORT: &str = "push.wdp_destination_port";
    pub const WDP_SOURCE_PORT: &str = "push.wdp_source_port";
}

/// Which notification a device understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// OMA DS 1.2 Server Alerted Notification.
    San,
    /// SyncML 1.1 WBXML message with an Alert 206-210.
    Alert11,
}

impl Form {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "san" => Some(Form::San),
            "alert11" => Some(Form::Alert11),
            _ => None,
        }
    }

    /// From the device's protocol version: 1.2 speaks SAN, older versions the 1.1 form.
    pub fn for_version(v: Version) -> Self {
        if v >= Version::V1_2 {
            Form::San
        } else {
            Form::Alert11
        }
    }
}

/// Where a device's notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAddress {
    /// WAP push by SMS to this number.
    Sms(String),
    /// A TCP listener of the device.
    Tcp(SocketAddr),
}

/// Everything needed to build and send one device's notifications.
#[derive(Clone, PartialEq, Eq)]
pub struct DevicePush {
    pub device_id: String,
    pub address: PushAddress,
    pub form: Form,
    /// SyncML version of the 1.1-form message (1.0 or 1.1).
    pub alert11_version: Version,
    pub server_id: String,
    pub server_password: String,
    pub nonce: String,
    pub ui_mode: UiMode,
    pub wdp_ports: WdpPorts,
    pub tcp_framing: Framing,
}

impl std::fmt::Debug for DevicePush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicePush")
            .field("device_id", &self.device_id)
            .field("address", &self.address)
            .field("form", &self.form)
            .field("server_id", &self.server_id)
            .field("ui_mode", &self.ui_mode)
            .field("wdp_ports", &self.wdp_ports)
            .field("tcp_framing", &self.tcp_framing)
            .finish_non_exhaustive()
    }
}

impl DevicePush {
    /// Resolves the settings of a device registered for push; a device without
    /// `push.sms` or `push.tcp` is [`PushError::NotRegistered`].
    pub fn resolve(record: &DeviceRecord, config: &PushConfig) -> Result<Self, PushError> {
        let device = record.device_id.as_str();
        let setting = |key: &str| record.settings.get(key).map(|v| v.trim());
        let bad = |key: &str, message: String| PushError::Setting {
            device: device.to_owned(),
            key: key.to_owned(),
            message,
        };
        let address = match (setting(keys::SMS), setting(keys::TCP)) {
            (Some(number), _) if !number.is_empty() => {
                if !is_phone_number(number) {
                    return Err(bad(
                        keys::SMS,
                        format!("`{number}` is not a phone number (digits, optional leading +)"),
                    ));
                }
                PushAddress::Sms(number.to_owned())
            }
            (_, Some(hostport)) if !hostport.is_empty() => PushAddress::Tcp(
                hostport
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(|| {
                        bad(
                            keys::TCP,
                            format!("`{hostport}` is not a reachable host:port"),
                        )
                    })?,
            ),
            _ => {
                return Err(PushError::NotRegistered {
                    device: device.to_owned(),
                })
            }
        };
        let version = device_version(record);
        let form = match setting(keys::FORM) {
            Some(f) => {
                Form::parse(f).ok_or_else(|| bad(keys::FORM, format!("`{f}`: san or alert11")))?
            }
            None => match version {
                Some(v) => Form::for_version(v),
                None => Form::parse(&config.default_form).unwrap_or(Form::San),
            },
        };
        let ui = setting(keys::UI_MODE).unwrap_or(&config.ui_mode);
        let ui_mode = UiMode::parse(ui).ok_or_else(|| {
            bad(
                keys::UI_MODE,
                format!("`{ui}`: not-specified, background, informative or user-interaction"),
            )
        })?;
        let framing = setting(keys::TCP_FRAMING).unwrap_or(&config.tcp_framing);
        let tcp_framing = Framing::parse(framing)
            .ok_or_else(|| bad(keys::TCP_FRAMING, format!("`{framing}`: raw or http")))?;
        let port = |key: &str, default: u16| -> Result<u16, PushError> {
            setting(key).map_or(Ok(default), |p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| bad(key, format!("`{p}` is not a port number")))
            })
        };
        let server_id = setting(keys::SERVER_ID)
            .unwrap_or(&config.server_id)
            .to_owned();
        if server_id.is_empty() || server_id.len() > 255 {
            return Err(bad(keys::SERVER_ID, "must be 1 to 255 bytes long".into()));
        }
        // The nonce the bridge last gave the device is what the spec means; the
        // configured constant is what phones that never got one try.
        let nonce = setting(keys::NONCE)
            .map(str::to_owned)
            .or_else(|| record.next_nonce.clone())
            .unwrap_or_else(|| config.san_nonce.clone());
        Ok(DevicePush {
            device_id: device.to_owned(),
            address,
            form,
            alert11_version: match version {
                Some(Version::V1_0) => Version::V1_0,
                _ => Version::V1_1,
            },
            server_id,
            server_password: setting(keys::SERVER_PASSWORD)
                .unwrap_or(config.server_password.expose())
                .to_owned(),
            nonce,
            ui_mode,
            wdp_ports: WdpPorts {
                destination: port(keys::WDP_DESTINATION_PORT, config.wdp_destination_port)?,
                source: port(keys::WDP_SOURCE_PORT, config.wdp_source_port)?,
            },
            tcp_framing,
        })
    }
}

/// The device's protocol version: its DevInf `VerDTD` first, else the version of
/// its last session.
fn device_version(record: &DeviceRecord) -> Option<Version> {
    record
        .devinf_xml
        .as_deref()
        .and_then(devinf_ver_dtd)
        .and_then(|v| Version::from_dtd(&v))
        .or_else(|| record.syncml_version.as_deref().and_then(Version::from_dtd))
}

fn devinf_ver_dtd(xml: &str) -> Option<String> {
    let root = crate::syncml::xml::parse(xml.as_bytes()).ok()?;
    root.child("VerDTD").and_then(|e| e.text())
}

fn is_phone_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(settings: &[(&str, &str)]) -> DeviceRecord {
        DeviceRecord {
            user: "alice".into(),
            device_id: "IMEI:1234".into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn form_follows_devinf_then_version_then_override() {
        let config = PushConfig::default();
        let mut r = record(&[(keys::SMS, "+491701234567")]);
        assert_eq!(DevicePush::resolve(&r, &config).unwrap().form, Form::San);
        r.syncml_version = Some("1.1".into());
        let d = DevicePush::resolve(&r, &config).unwrap();
        assert_eq!((d.form, d.alert11_version), (Form::Alert11, Version::V1_1));
        r.devinf_xml = Some(
            "<DevInf xmlns='syncml:devinf'><VerDTD>1.2</VerDTD><DevID>x</DevID><DevTyp>phone</DevTyp></DevInf>"
                .into(),
        );
        assert_eq!(DevicePush::resolve(&r, &config).unwrap().form, Form::San);
        r.settings.insert(keys::FORM.into(), "alert11".into());
        assert_eq!(
            DevicePush::resolve(&r, &config).unwrap().form,
            Form::Alert11
        );
    }

    #[test]
    fn device_settings_override_the_configuration() {
        let config = PushConfig::default();
        let mut r = record(&[
            (keys::TCP, "127.0.0.1:7000"),
            (keys::SERVER_ID, "phone-server"),
            (keys::SERVER_PASSWORD, "pw"),
            (keys::WDP_SOURCE_PORT, "9200"),
        ]);
        r.next_nonce = Some("n1".into());
        let d = DevicePush::resolve(&r, &config).unwrap();
        assert_eq!(
            d.address,
            PushAddress::Tcp("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(d.server_id, "phone-server");
        assert_eq!(d.server_password, "pw");
        assert_eq!(d.nonce, "n1");
        assert_eq!(d.wdp_ports.source, 9200);
        assert_eq!(d.wdp_ports.destination, 2948);
        assert!(!format!("{d:?}").contains("pw\""), "password in Debug");
        r.next_nonce = None;
        assert_eq!(DevicePush::resolve(&r, &config).unwrap().nonce, "Synthesis");
    }

    #[test]
    fn bad_settings_are_named() {
        let config = PushConfig::default();
        let err = DevicePush::resolve(&record(&[]), &config).unwrap_err();
        assert!(matches!(err, PushError::NotRegistered { .. }), "{err}");
        for (key, value) in [
            (keys::SMS, "call me"),
            (keys::FORM, "sms"),
            (keys::UI_MODE, "loud"),
            (keys::WDP_DESTINATION_PORT, "70000"),
        ] {
            let mut r = record(&[(keys::SMS, "+4917012345")]);
            r.settings.insert(key.into(), value.into());
            let err = DevicePush::resolve(&r, &config).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }
}
