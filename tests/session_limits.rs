//! `limits.max_items_per_message`: a message carrying more item commands than allowed is
//! answered with SyncML status 413 for its header, logged with the key, and nothing else runs.

mod support;

use support::bridge::Bridge;
use syncml_bridge::syncml::decode;
use syncml_bridge::syncml::model::Command;

#[test]
fn a_message_over_the_item_limit_gets_413() {
    // The upstream is never reached: the limit is checked before any session work.
    let bridge = Bridge::builder("http://127.0.0.1:9/")
        .env("SYNCML_BRIDGE_LIMITS__MAX_ITEMS_PER_MESSAGE", "2")
        .start();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/syncevolution/1.2-xml/02-request.xml");
    let body = std::fs::read(fixture).expect("fixture");
    let resp = reqwest::blocking::Client::new()
        .post(bridge.syncml_url())
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(body)
        .send()
        .expect("post");
    assert_eq!(resp.status(), 200);
    let reply = decode(&resp.bytes().expect("body")).expect("reply decodes");
    match reply.message.body.commands.as_slice() {
        [Command::Status(s)] => {
            assert_eq!(s.cmd, "SyncHdr");
            assert_eq!(s.code.code(), 413);
        }
        other => panic!("expected only a header Status, got {other:?}"),
    }
    assert!(
        bridge.log_text().contains("limits.max_items_per_message"),
        "the log names the key"
    );
}
