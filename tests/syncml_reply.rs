//! Reply helpers: a server answer built from a received package 1.

use syncml_bridge::syncml::codes::StatusCode;
use syncml_bridge::syncml::model::{Chal, Command, Data, Meta, SyncBody};
use syncml_bridge::syncml::reply::{command_status, header_status, item_status, reply_header};
use syncml_bridge::syncml::{auth, decode, encode, Encoding, Message};

fn received() -> Message {
    let path = format!(
        "{}/tests/fixtures/messages/v11_pkg1_init.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    decode(&std::fs::read(path).unwrap()).unwrap().message
}

#[test]
fn reply_header_swaps_addresses_and_echoes_session() {
    let m = received();
    let h = reply_header(
        &m.header,
        "1",
        Some("http://sync.example.org/syncml?sid=9".into()),
    );
    assert_eq!(h.target.loc_uri, "IMEI:356000000000001");
    assert_eq!(h.target.loc_name, None, "the user name is not echoed");
    assert_eq!(h.source.loc_uri, "http://sync.example.org/syncml");
    assert_eq!((h.session_id.as_str(), h.msg_id.as_str()), ("42", "1"));
    assert_eq!(
        (h.ver_dtd.as_str(), h.ver_proto.as_str()),
        ("1.1", "SyncML/1.1")
    );
    assert!(h.cred.is_none());
}

#[test]
fn statuses_reference_what_they_answer() {
    let m = received();
    let mut hs = header_status(&m.header, "1", StatusCode::MissingCredentials);
    assert_eq!(
        (hs.msg_ref.as_str(), hs.cmd_ref.as_str(), hs.cmd.as_str()),
        ("1", "0", "SyncHdr")
    );
    assert_eq!(hs.target_refs, ["http://sync.example.org/syncml"]);
    assert_eq!(hs.source_refs, ["IMEI:356000000000001"]);
    hs.chal = Some(Chal {
        meta: Meta {
            content_type: Some(auth::AUTH_MD5.into()),
            format: Some("b64".into()),
            next_nonce: Some(auth::encode_nonce(b"Nonce")),
            ..Default::default()
        },
    });

    let put = &m.body.commands[0];
    let ps = command_status(&m.header.msg_id, put, "2", StatusCode::Ok);
    assert_eq!((ps.cmd_ref.as_str(), ps.cmd.as_str()), ("1", "Put"));
    assert_eq!(ps.source_refs, ["./devinf11"]);
    assert!(ps.target_refs.is_empty());

    let alert = &m.body.commands[2];
    let Command::Alert(a) = alert else { panic!() };
    let mut als = item_status(
        &m.header.msg_id,
        alert,
        &a.items[0],
        "3",
        StatusCode::RefreshRequired,
    );
    assert_eq!(
        (als.target_refs.as_slice(), als.source_refs.as_slice()),
        (&["card".to_string()][..], &["./Contacts".to_string()][..])
    );
    let next = a.items[0].meta.as_ref().unwrap().anchor.clone().unwrap();
    als.items.push(syncml_bridge::syncml::model::Item {
        data: Some(Data::Anchor(syncml_bridge::syncml::model::Anchor {
            last: None,
            next: next.next,
        })),
        ..Default::default()
    });

    // The reply encodes and decodes to the same statuses in both encodings.
    let reply = Message {
        header: reply_header(&m.header, "1", None),
        body: SyncBody {
            commands: vec![
                Command::Status(hs),
                Command::Status(ps),
                Command::Status(als),
            ],
            final_: true,
        },
        extra: Vec::new(),
    };
    for enc in [Encoding::Xml, Encoding::Wbxml] {
        assert_eq!(
            decode(&encode(&reply, enc).unwrap()).unwrap().message,
            reply
        );
    }
    let xml = String::from_utf8(encode(&reply, Encoding::Xml).unwrap()).unwrap();
    assert!(
        xml.contains(
            "<Data><Anchor xmlns=\"syncml:metinf\"><Next>20050102T120000Z</Next></Anchor></Data>"
        ),
        "{xml}"
    );
    assert!(xml.contains("<NextNonce xmlns=\"syncml:metinf\">Tm9uY2U=</NextNonce>"));
}

#[test]
fn received_md5_credentials_check_out() {
    let m = received();
    let cred = m.header.cred.as_ref().unwrap();
    let user = m.header.source.loc_name.as_deref().unwrap();
    assert_eq!(user, "alice");
    // The fixture carries the guide's test-vector digest for Bruce2/OhBehave/Nonce.
    let sent = cred.data.as_text().unwrap();
    let expect = auth::md5_v11("Bruce2", "OhBehave", b"Nonce");
    assert!(auth::constant_time_eq(sent.as_bytes(), expect.as_bytes()));
    let wrong = auth::md5_v11("Bruce2", "wrong", b"Nonce");
    assert!(!auth::constant_time_eq(sent.as_bytes(), wrong.as_bytes()));
}
