//! The push formats against the test vectors of the protocol guide (push.md), and
//! cross-checked with libwbxml2's `wbxml2xml` / `xml2wbxml`.

mod support;

use syncml_bridge::push::provisioning::{
    self, Child, Node, ProfileDatastore, Security, SyncProfile,
};
use syncml_bridge::push::san::{AlertedSync, DigestKey, San, SanSync, UiMode};
use syncml_bridge::push::settings::keys;
use syncml_bridge::push::wap::{ContentType, WapPush, WdpPorts};
use syncml_bridge::push::{build_notification, AlertedDatastore, DevicePush, Form};
use syncml_bridge::store::DeviceRecord;
use syncml_bridge::syncml::codes::AlertCode;
use syncml_bridge::syncml::model::Command;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// push.md §2.4.
const SAN_VECTOR: &str = "1B38D18AEE685B8BF0296C7A910B937B 03080000000001 0A73796E6373657276 6572 10 60000007 0463617264";

fn vector_san() -> San {
    San {
        version: 12,
        ui_mode: UiMode::NotSpecified,
        server_initiated: true,
        session_id: 1,
        server_id: "syncserver".into(),
        syncs: vec![SanSync {
            sync: AlertedSync::TwoWay,
            content_type: 0x07,
            server_uri: "card".into(),
        }],
        vendor: vec![],
    }
}

const VECTOR_KEY: DigestKey<'static> = DigestKey {
    server_id: "syncserver",
    password: "secret",
    nonce: b"nonce",
};

#[test]
fn san_matches_the_test_vector_byte_for_byte() {
    let bytes = vector_san().encode(&VECTOR_KEY).unwrap();
    assert_eq!(bytes, hex(SAN_VECTOR));
    assert_eq!(bytes.len(), 44);
}

#[test]
fn san_parses_back_and_its_digest_checks() {
    let bytes = hex(SAN_VECTOR);
    let parsed = San::parse(&bytes).unwrap();
    assert_eq!(parsed.san, vector_san());
    assert!(parsed.digest_matches(&bytes, &VECTOR_KEY));
    let wrong = DigestKey {
        password: "other",
        ..VECTOR_KEY
    };
    assert!(!parsed.digest_matches(&bytes, &wrong));
    // Any changed byte after the digest breaks it.
    let mut tampered = bytes.clone();
    tampered[40] ^= 1;
    assert!(!San::parse(&tampered)
        .unwrap()
        .digest_matches(&tampered, &VECTOR_KEY));
}

#[test]
fn san_with_all_datastores_and_vendor_bytes_round_trips() {
    let mut san = vector_san();
    san.syncs.clear();
    san.ui_mode = UiMode::Background;
    san.vendor = vec![0xDE, 0xAD];
    let bytes = san.encode(&VECTOR_KEY).unwrap();
    assert_eq!(bytes[16..18], [0x03, 0x18]);
    assert_eq!(San::parse(&bytes).unwrap().san, san);
}

#[test]
fn san_parse_refuses_bad_input_with_typed_errors() {
    let mut bytes = hex(SAN_VECTOR);
    bytes.truncate(40);
    assert!(San::parse(&bytes)
        .unwrap_err()
        .to_string()
        .contains("server URI"));
    let mut bytes = hex(SAN_VECTOR);
    bytes[35] = 0x50; // sync type 205 is not server-alerted
    assert!(San::parse(&bytes).unwrap_err().to_string().contains("205"));
}

#[test]
fn wap_push_of_the_vector_matches_byte_for_byte() {
    let push = WapPush::notification(
        WdpPorts::default(),
        ContentType::DsNotification,
        &hex(SAN_VECTOR),
    );
    let sms = push.to_sms(0).unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].udh, hex("0605040B84C002"));
    let mut ud = hex("010603CEAF85");
    ud.extend(hex(SAN_VECTOR));
    assert_eq!(sms[0].data, ud);
    assert_eq!(sms[0].udh.len() + sms[0].data.len(), 57);
}

#[test]
fn long_pushes_are_split_into_concatenated_sms() {
    let payload: Vec<u8> = (0..=255u8).cycle().take(400).collect();
    let push = WapPush::notification(WdpPorts::default(), ContentType::SyncmlWbxml, &payload);
    assert_eq!(push.pdu.len(), 409);
    let parts = push.to_sms(0x5A).unwrap();
    // 140 octets less a 12-octet UDH leave 128 per part.
    assert_eq!(parts.len(), 4);
    let mut joined = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(
            p.udh,
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
                0x5A,
                4,
                i as u8 + 1
            ]
        );
        assert!(p.udh.len() + p.data.len() <= 140);
        joined.extend_from_slice(&p.data);
    }
    assert_eq!(parts[0].data.len(), 128);
    assert_eq!(parts[3].data.len(), 409 - 3 * 128);
    assert_eq!(joined, push.pdu);
    // Exactly one SMS worth stays unsplit.
    let fits = WapPush::notification(WdpPorts::default(), ContentType::DsNotification, &[0; 127]);
    assert_eq!(fits.to_sms(1).unwrap().len(), 1);
    let too_long = WapPush::notification(
        WdpPorts::default(),
        ContentType::DsNotification,
        &[0; 40_000],
    );
    assert!(too_long.to_sms(1).is_err());
}

fn device(settings: &[(&str, &str)], version: &str) -> DevicePush {
    let record = DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:490154203237518".into(),
        syncml_version: Some(version.into()),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    DevicePush::resolve(&record, &Default::default()).unwrap()
}

fn datastores() -> Vec<AlertedDatastore> {
    vec![
        AlertedDatastore {
            server_uri: "contacts".into(),
            sync: AlertedSync::TwoWay,
            content_type: Some("text/x-vcard".into()),
        },
        AlertedDatastore {
            server_uri: "calendar".into(),
            sync: AlertedSync::TwoWay,
            content_type: Some("text/x-vcalendar".into()),
        },
        AlertedDatastore {
            server_uri: "notes".into(),
            sync: AlertedSync::RefreshFromServer,
            content_type: None,
        },
    ]
}

#[test]
fn syncml_11_notification_decodes_with_our_codec() {
    let d = device(&[(keys::SMS, "+491701234567")], "1.1");
    assert_eq!(d.form, Form::Alert11);
    let n = build_notification(&d, &datastores(), 77).unwrap();
    let decoded = syncml_bridge::syncml::decode(&n.payload).unwrap();
    assert_eq!(decoded.encoding, syncml_bridge::syncml::Encoding::Wbxml);
    let m = decoded.message;
    assert_eq!(m.header.ver_dtd, "1.1");
    assert_eq!(m.header.ver_proto, "SyncML/1.1");
    assert_eq!(m.header.session_id, "77");
    assert_eq!(m.header.target.loc_uri, "IMEI:490154203237518");
    assert_eq!(m.header.source.loc_uri, "syncml-bridge");
    assert!(m.body.final_);
    let alerts: Vec<_> = m
        .body
        .commands
        .iter()
        .map(|c| match c {
            Command::Alert(a) => a,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].code, AlertCode::TwoWayByServer);
    assert_eq!(alerts[1].code, AlertCode::RefreshFromServerByServer);
    let uris: Vec<_> = alerts[0]
        .items
        .iter()
        .map(|i| i.source.as_ref().unwrap().loc_uri.as_str())
        .collect();
    assert_eq!(uris, ["contacts", "calendar"]);
    let types: Vec<_> = alerts[0]
        .items
        .iter()
        .map(|i| i.meta.as_ref().unwrap().content_type.as_deref().unwrap())
        .collect();
    assert_eq!(types, ["text/x-vcard", "text/x-vcalendar"]);
    assert_eq!(alerts[1].items[0].source.as_ref().unwrap().loc_uri, "notes");
    // The WSP header it travels under (Funambol's bytes).
    let push = WapPush::notification(d.wdp_ports, n.content_type(), &n.payload);
    assert_eq!(push.pdu[..9], hex("010606 03020303 AF85"));
}

#[test]
fn syncml_11_notification_decodes_with_libwbxml() {
    let d = device(&[(keys::SMS, "+491701234567")], "1.1");
    let n = build_notification(&d, &datastores(), 9).unwrap();
    let xml = support::syncml_xml::wbxml_to_xml(&n.payload).unwrap();
    let paths = support::syncml_xml::element_paths(&xml).unwrap();
    let at = |p: &str| support::syncml_xml::texts_at(&paths, p);
    assert_eq!(at("SyncML/SyncHdr/VerProto"), ["SyncML/1.1"]);
    assert_eq!(at("SyncML/SyncHdr/SessionID"), ["9"]);
    assert_eq!(at("SyncML/SyncBody/Alert/Data"), ["206", "210"]);
    assert_eq!(
        at("SyncML/SyncBody/Alert/Item/Source/LocURI"),
        ["contacts", "calendar", "notes"]
    );
    assert_eq!(
        at("SyncML/SyncBody/Alert/Item/Meta/Type"),
        ["text/x-vcard", "text/x-vcalendar"]
    );
}

#[test]
fn a_12_device_gets_the_san_with_its_digest() {
    let d = device(
        &[
            (keys::SMS, "+491701234567"),
            (keys::SERVER_ID, "syncserver"),
            (keys::SERVER_PASSWORD, "secret"),
            (keys::NONCE, "nonce"),
        ],
        "1.2",
    );
    assert_eq!(d.form, Form::San);
    let one = [AlertedDatastore {
        server_uri: "card".into(),
        sync: AlertedSync::TwoWay,
        content_type: Some("text/x-vcard".into()),
    }];
    let n = build_notification(&d, &one, 1).unwrap();
    assert_eq!(n.payload, hex(SAN_VECTOR));
    assert_eq!(
        n.content_type().mime(),
        "application/vnd.syncml.ds.notification"
    );
}

/// push.md §6.1: the example provisioning document.
fn example_profile() -> SyncProfile {
    SyncProfile {
        name: "My Sync".into(),
        server_id: None,
        url: "http://sync.example.org/sync".into(),
        user: "alice".into(),
        password: Some("secret".into()),
        auth_type: None,
        to_napid: None,
        datastores: vec![ProfileDatastore {
            uri: "contacts".into(),
            name: "Contacts".into(),
            accept: "text/x-vcard".into(),
        }],
    }
}

/// The guide's example has no AAUTHLEVEL; everything else is what `document` builds.
fn example_document() -> Node {
    let mut doc = example_profile().document();
    let Child::Element(app) = &mut doc.children[0] else {
        unreachable!()
    };
    let Child::Element(auth) = &mut app.children[3] else {
        unreachable!()
    };
    assert_eq!(auth.attr("type"), Some("APPAUTH"));
    auth.children.remove(0);
    doc
}

#[test]
fn provisioning_document_matches_xml2wbxml_and_the_mac_vector() {
    let wbxml = provisioning::encode(&example_document()).unwrap();
    assert_eq!(wbxml.len(), 168);
    assert_eq!(
        wbxml[..32],
        hex("030B6A00 C54601 C600015501 8736000006037735000187070603 4D792053796E63 00 01")[..32]
    );
    let pin = Security::UserPin { pin: "1234".into() };
    assert_eq!(
        provisioning::mac(&pin, &wbxml).unwrap(),
        "95AAE8C8F05430149FDA04FD6D5852EF9AC531CA"
    );
    // The same bytes as libwbxml writes for the document's XML.
    let dir = tempfile::tempdir().unwrap();
    let xml_path = dir.path().join("doc.xml");
    let out_path = dir.path().join("doc.wbxml");
    std::fs::write(&xml_path, provisioning_xml(&example_document())).unwrap();
    let tool = support::tools::require("xml2wbxml", "libwbxml2-utils");
    let status = std::process::Command::new(tool)
        .args(["-v", "1.3", "-n", "-o"])
        .arg(&out_path)
        .arg(&xml_path)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    assert_eq!(std::fs::read(&out_path).unwrap(), wbxml);
}

fn provisioning_xml(n: &Node) -> String {
    fn write(n: &Node, out: &mut String) {
        out.push('<');
        out.push_str(&n.name);
        for (k, v) in &n.attrs {
            out.push_str(&format!(" {k}=\"{v}\""));
        }
        if n.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for c in &n.children {
            match c {
                Child::Element(e) => write(e, out),
                Child::Text(t) => out.push_str(t),
            }
        }
        out.push_str(&format!("</{}>", n.name));
    }
    let mut out = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE wap-provisioningdoc PUBLIC \"-//WAPFORUM//DTD PROV 1.0//EN\" \"http://www.wapforum.org/DTD/prov.dtd\">\n",
    );
    write(n, &mut out);
    out
}

#[test]
fn configuration_sms_decodes_back_and_its_mac_verifies() {
    let mut profile = example_profile();
    profile.password = None;
    profile.server_id = Some("syncml-bridge".into());
    profile.auth_type = Some("BASIC".into());
    profile.to_napid = Some("INTERNET".into());
    profile.datastores.push(ProfileDatastore {
        uri: "calendar".into(),
        name: "Calendar".into(),
        accept: "text/x-vcalendar".into(),
    });
    let doc = profile.document();
    let wbxml = provisioning::encode(&doc).unwrap();
    let pin = Security::UserPin { pin: "4711".into() };
    let push = provisioning::oma_cp_push(&wbxml, &pin).unwrap();
    assert_eq!(push.udh(), hex("0605040B840B84"));
    assert_eq!(push.pdu[..6], hex("01062F1F2DB6"));
    // Whatever the SMS split, the phone joins the parts and reads the PDU.
    let parts = push.to_sms(3).unwrap();
    assert!(parts.len() > 1);
    let pdu: Vec<u8> = parts.iter().flat_map(|p| p.data.clone()).collect();
    let (sec, mac, body) = provisioning::parse_oma_cp_pdu(&pdu).unwrap();
    assert_eq!(sec, 0x81);
    assert_eq!(mac.len(), 40);
    assert!(provisioning::verify_mac(&pin, body, &mac).unwrap());
    assert!(
        !provisioning::verify_mac(&Security::UserPin { pin: "4712".into() }, body, &mac).unwrap()
    );
    // Our decoder and libwbxml both read the document we built.
    assert_eq!(provisioning::decode(body).unwrap(), doc);
    let xml = support::syncml_xml::wbxml_to_xml(body).unwrap();
    assert_eq!(provisioning::from_xml(&xml).unwrap(), doc);
    let text = format!("{doc:?}");
    assert!(text.contains("APPSRV") && text.contains("TO-NAPID"));
}

#[test]
fn network_pin_mac_uses_the_imsi() {
    let wbxml = provisioning::encode(&example_document()).unwrap();
    let netw = Security::NetwPin {
        imsi: "262011234567890".into(),
    };
    let both = Security::UserNetwPin {
        imsi: "262011234567890".into(),
        pin: "1234".into(),
    };
    let a = provisioning::mac(&netw, &wbxml).unwrap();
    let b = provisioning::mac(&both, &wbxml).unwrap();
    assert_ne!(a, b);
    assert!(provisioning::verify_mac(&netw, &wbxml, &a).unwrap());
    assert!(!provisioning::verify_mac(&netw, &wbxml, &b).unwrap());
}

#[test]
fn malformed_provisioning_input_is_a_typed_error() {
    let wbxml = provisioning::encode(&example_document()).unwrap();
    for len in [0, 3, 5, 40, 167] {
        let err = provisioning::decode(&wbxml[..len]).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{len}: {err}");
    }
    let mut bad = wbxml.clone();
    bad[4] = 0xDF; // unknown tag token
    assert!(provisioning::decode(&bad).is_err());
    assert!(provisioning::parse_oma_cp_pdu(&[1, 6]).is_err());
}

#[test]
fn nokia_settings_form() {
    let profile = example_profile();
    let wbxml = profile.nokia_syncsettings().unwrap();
    assert_eq!(wbxml[..5], [0x01, 0x01, 0x6A, 0x00, 0x55]);
    assert_eq!(wbxml[5..8], [0x58, 0x03, b'1']);
    let root = provisioning::decode_nokia_syncsettings(&wbxml).unwrap();
    assert_eq!(root.name, "SyncSettings");
    let names: Vec<_> = root.elements().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Version", "HostAddr", "RemoteDB", "Name", "Auth"]);
    let db = root.elements().find(|e| e.name == "RemoteDB").unwrap();
    let fields: Vec<_> = db.elements().map(|e| (e.name.as_str(), e.text())).collect();
    assert_eq!(
        fields,
        [
            ("CTType", "text/x-vcard".to_string()),
            ("CTVer", "2.1".to_string()),
            ("URI", "contacts".to_string()),
            ("Name", "Contacts".to_string())
        ]
    );
    let auth = root.elements().find(|e| e.name == "Auth").unwrap();
    let cred = auth.elements().find(|e| e.name == "Cred").unwrap();
    assert_eq!(cred.text(), "c2VjcmV0");
    let push = provisioning::nokia_push(&wbxml);
    assert_eq!(push.udh(), hex("060504C34CC002"));
    assert_eq!(push.pdu[..9], hex("340606050202 0B81EA"));
}
