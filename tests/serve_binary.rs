//! The real `syncml-bridge serve` binary: configuration refused by key, the SyncML path
//! answering in kind, malformed input refused with 400, and the passthrough to Radicale.

mod support;

use std::path::Path;
use std::process::Command;

use support::bridge::Bridge;
use support::radicale::Radicale;
use syncml_bridge::syncml::model::Command as SyncmlCommand;
use syncml_bridge::syncml::{decode, Encoding};

#[test]
fn invalid_configuration_is_refused_naming_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["serve", "--listen", "not-an-address"])
        .env("SYNCML_BRIDGE_LIMITS__MAX_SESSIONS", "10")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`listen`"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["serve"])
        .env("SYNCML_BRIDGE_LIMITS__MAX_BODY_BYTES", "lots")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_body_bytes"), "{err}");
}

#[test]
fn syncml_is_answered_in_kind_and_everything_else_is_proxied() {
    let radicale = Radicale::start();
    let bridge = Bridge::start(&radicale.base_url());
    let base = bridge.base_url();
    let client = reqwest::blocking::Client::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syncevolution");

    for (file, media, encoding) in [
        (
            "1.2-wbxml/01-request.wbxml",
            "application/vnd.syncml+wbxml",
            Encoding::Wbxml,
        ),
        (
            "1.1-xml/01-request.xml",
            "application/vnd.syncml+xml; charset=UTF-8",
            Encoding::Xml,
        ),
    ] {
        let body = std::fs::read(fixtures.join(file)).expect("fixture");
        let sent = decode(&body).expect("fixture decodes").message;
        let resp = client
            .post(format!("{base}/syncml"))
            .header("Content-Type", media)
            .body(body)
            .send()
            .expect("post");
        assert_eq!(resp.status(), 200, "{file}");
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            ct.starts_with(media.split(';').next().unwrap_or_default()),
            "{file}: {ct}"
        );
        let reply = decode(&resp.bytes().expect("body")).expect("reply decodes");
        assert_eq!(reply.encoding, encoding);
        assert_eq!(reply.message.header.session_id, sent.header.session_id);
        assert_eq!(reply.message.header.ver_proto, sent.header.ver_proto);
        assert_eq!(
            reply.message.header.target.loc_uri,
            sent.header.source.loc_uri
        );
        match reply.message.body.commands.first() {
            Some(SyncmlCommand::Status(s)) => {
                assert_eq!(s.cmd, "SyncHdr");
                assert_eq!(s.cmd_ref, "0");
                assert_eq!(s.msg_ref, sent.header.msg_id);
            }
            other => panic!("{file}: expected a header Status, got {other:?}"),
        }
    }

    let resp = client
        .post(format!("{base}/syncml"))
        .header("Content-Type", "application/vnd.syncml+xml")
        .body("<SyncML><SyncHdr>")
        .send()
        .expect("post");
    assert_eq!(resp.status(), 400);

    // Passthrough: the same PROPFIND answered by Radicale through the bridge.
    let propfind = |url: String| {
        client
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").expect("method"),
                url,
            )
            .basic_auth("alice", Some("secret"))
            .header("Depth", "0")
            .send()
            .expect("propfind")
    };
    let via = propfind(format!("{base}/alice/"));
    assert_eq!(via.status(), 207);
    let direct = propfind(radicale.user_url("alice"));
    assert_eq!(via.text().expect("body"), direct.text().expect("body"));
}
