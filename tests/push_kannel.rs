//! Notifications through a real Kannel (Debian `kannel` + `kannel-extras`): bearerbox
//! with a fake SMSC, smsbox's sendsms interface, and `fakesmsc` standing in for the
//! phone network. The bytes that reach the fake SMSC are checked exactly.

mod support;

use std::time::Duration;

use support::kannel::{Kannel, PASSWORD, SENDER, USERNAME};
use syncml_bridge::config::{KannelConfig, Secret, WebhookConfig};
use syncml_bridge::push::kannel::Kannel as KannelGateway;
use syncml_bridge::push::san::AlertedSync;
use syncml_bridge::push::settings::keys;
use syncml_bridge::push::webhook::Webhook;
use syncml_bridge::push::{
    build_notification, deliver, notify, AlertedDatastore, DevicePush, Sent, SmsGateway, Transports,
};
use syncml_bridge::store::DeviceRecord;

const PHONE: &str = "+491701234567";
const WAIT: Duration = Duration::from_secs(20);

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn gateway(kannel: &Kannel) -> Transports {
    let config = KannelConfig {
        url: kannel.sendsms_url.clone(),
        username: USERNAME.into(),
        password: Secret(PASSWORD.into()),
        from: SENDER.into(),
        smsc: String::new(),
    };
    Transports {
        sms: Some(SmsGateway::Kannel(
            KannelGateway::new(&config, Duration::from_secs(10)).unwrap(),
        )),
        tcp: Default::default(),
    }
}

fn device(version: &str, extra: &[(&str, &str)]) -> DevicePush {
    let mut settings: Vec<(String, String)> = vec![(keys::SMS.into(), PHONE.into())];
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let record = DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:490154203237518".into(),
        syncml_version: Some(version.into()),
        settings: settings.into_iter().collect(),
        ..Default::default()
    };
    DevicePush::resolve(&record, &Default::default()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn san_reaches_the_fake_smsc_byte_for_byte() {
    let kannel = Kannel::start();
    let transports = gateway(&kannel);
    let d = device(
        "1.2",
        &[
            (keys::SERVER_ID, "syncserver"),
            (keys::SERVER_PASSWORD, "secret"),
            (keys::NONCE, "nonce"),
        ],
    );
    let card = [AlertedDatastore {
        server_uri: "card".into(),
        sync: AlertedSync::TwoWay,
        content_type: Some("text/x-vcard".into()),
    }];
    let n = build_notification(&d, &card, 1).unwrap();
    let delivery = runtime().block_on(deliver(&d, n, &transports, 0)).unwrap();
    let got = kannel.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    // push.md §4.3: UDH and WSP header + SAN of the §2.4 vector.
    assert_eq!(got[0].udh, hex("0605040B84C002"));
    assert_eq!(
        got[0].data,
        hex("010603CEAF85 1B38D18AEE685B8BF0296C7A910B937B030800000000010A73796E6373657276657210600000070463617264")
    );
    assert_eq!(got[0].to, PHONE);
    assert_eq!(got[0].from, SENDER);
    match delivery.sent {
        Sent::Sms { to, parts } => {
            assert_eq!(to, PHONE);
            assert_eq!(
                (parts[0].udh.clone(), parts[0].data.clone()),
                (got[0].udh.clone(), got[0].data.clone())
            );
        }
        other => panic!("sent {other:?}"),
    }
}

#[test]
fn a_long_notification_arrives_as_concatenated_sms() {
    let kannel = Kannel::start();
    let transports = gateway(&kannel);
    let d = device("1.1", &[]);
    let many: Vec<AlertedDatastore> = (0..8)
        .map(|i| AlertedDatastore {
            server_uri: format!("calendar-number-{i}"),
            sync: AlertedSync::TwoWay,
            content_type: Some("text/x-vcalendar".into()),
        })
        .collect();
    let delivery = runtime().block_on(notify(&d, &many, &transports)).unwrap();
    let Sent::Sms { parts, .. } = &delivery.sent else {
        panic!("sent {:?}", delivery.sent)
    };
    assert!(parts.len() >= 2, "{} parts", parts.len());
    let got = kannel.wait_for(parts.len(), WAIT);
    assert_eq!(got.len(), parts.len());
    let reference = got[0].udh[9];
    let mut pdu = Vec::new();
    for (i, sms) in got.iter().enumerate() {
        assert_eq!(
            sms.udh,
            [
                0x0B,
                0x05,
                0x04,
                0x0B,
                0x84,
                0xC0,
                0x02,
                0x00,
                0x03,
                reference,
                parts.len() as u8,
                i as u8 + 1
            ]
        );
        assert!(sms.udh.len() + sms.data.len() <= 140);
        pdu.extend_from_slice(&sms.data);
    }
    // The joined parts are the WSP push of the WBXML notification, which decodes.
    assert_eq!(pdu[..9], hex("010606 03020303 AF85"));
    assert_eq!(pdu[9..], delivery.notification.payload[..]);
    let m = syncml_bridge::syncml::decode(&pdu[9..]).unwrap().message;
    assert_eq!(
        m.header.session_id,
        delivery.notification.session_id.to_string()
    );
}

#[test]
fn a_webhook_template_can_drive_the_same_gateway() {
    let kannel = Kannel::start();
    let config = WebhookConfig {
        url: format!(
            "{}?username={USERNAME}&password={PASSWORD}&from={SENDER}&to=${{to_url}}&coding=1&udh=${{udh_url}}&text=${{data_url}}",
            kannel.sendsms_url
        ),
        method: "GET".into(),
        content_type: String::new(),
        body: String::new(),
    };
    let transports = Transports {
        sms: Some(SmsGateway::Webhook(
            Webhook::new(&config, Duration::from_secs(10)).unwrap(),
        )),
        tcp: Default::default(),
    };
    let d = device("1.2", &[]);
    let delivery = runtime().block_on(notify(&d, &[], &transports)).unwrap();
    let got = kannel.wait_for(1, WAIT);
    let Sent::Sms { parts, .. } = delivery.sent else {
        panic!()
    };
    assert_eq!(got[0].udh, parts[0].udh);
    assert_eq!(got[0].data, parts[0].data);
    assert_eq!(got[0].data[..6], hex("010603CEAF85"));
}

#[test]
fn a_refusing_gateway_is_a_clear_error_without_the_password() {
    let kannel = Kannel::start();
    let config = KannelConfig {
        url: kannel.sendsms_url.clone(),
        username: USERNAME.into(),
        password: Secret("wrong-password".into()),
        from: SENDER.into(),
        smsc: String::new(),
    };
    let transports = Transports {
        sms: Some(SmsGateway::Kannel(
            KannelGateway::new(&config, Duration::from_secs(10)).unwrap(),
        )),
        tcp: Default::default(),
    };
    let err = runtime()
        .block_on(notify(&device("1.2", &[]), &[], &transports))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("refused part 1 with HTTP"), "{text}");
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(kannel.received().is_empty());
}
