//! The admin CLI binary on a store made by the library: tables, `--json`, changes that
//! reach the store, refusals with a non-zero exit, and the store held by a running server.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use syncml_bridge::store::{DatastoreKey, DatastoreState, DeviceRecord, Store};

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("SYNCML_BRIDGE_AUTH__VAULT_KEY")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn seed(dir: &Path) {
    let s = Store::open(dir).unwrap();
    s.put_device(&DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:35".into(),
        model: Some("6230i".into()),
        last_sync: Some(1_700_000_000),
        last_result: Some("ok".into()),
        ..Default::default()
    })
    .unwrap();
    s.put_datastore_state(
        &DatastoreKey::new("alice", "IMEI:35", "contacts"),
        &DatastoreState {
            phone_anchor: Some("p1".into()),
            server_anchor: Some("s1".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn devices_and_push_commands_change_the_store() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let table = stdout(&cli(dir.path(), &["devices", "list"]));
    assert!(
        table.contains("IMEI:35") && table.contains("6230i"),
        "{table}"
    );
    assert!(table.contains("contacts[p1/s1]"), "{table}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = stdout(&cli(
        dir.path(),
        &[
            "push", "register", "IMEI:35", "--tcp", &addr, "--form", "alert11",
        ],
    ));
    assert!(out.contains(&format!("tcp:{addr}")), "{out}");
    assert!(out.contains("no stored upstream credential"), "{out}");

    stdout(&cli(
        dir.path(),
        &["devices", "resync", "IMEI:35", "contacts"],
    ));
    stdout(&cli(dir.path(), &["devices", "debug", "IMEI:35", "on"]));
    let json: serde_json::Value = serde_json::from_str(&stdout(&cli(
        dir.path(),
        &["devices", "show", "IMEI:35", "--json"],
    )))
    .unwrap();
    assert_eq!(json["settings"]["push.tcp"], addr.as_str());
    assert_eq!(json["settings"]["push.form"], "alert11");
    assert_eq!(json["settings"]["debug"], "on");
    assert_eq!(json["datastores"][0]["force_slow"], true);
    assert!(json["push"].as_str().unwrap().contains("no push"));

    let users: serde_json::Value =
        serde_json::from_str(&stdout(&cli(dir.path(), &["users", "list", "--json"]))).unwrap();
    assert_eq!(users[0]["user"], "alice");
    assert_eq!(users[0]["credential"], false);

    // A wipe of a push device says how to make it happen now.
    let said = stdout(&cli(dir.path(), &["devices", "wipe", "IMEI:35"]));
    assert!(said.contains("push test IMEI:35"), "{said}");

    stdout(&cli(dir.path(), &["push", "unregister", "IMEI:35"]));
    let s = Store::open(dir.path()).unwrap();
    let d = s.device("alice", "IMEI:35").unwrap().unwrap();
    assert!(!d.settings.contains_key("push.tcp"));
    drop(s);

    let said = stdout(&cli(
        dir.path(),
        &["devices", "profile", "IMEI:35", "sony-ericsson"],
    ));
    assert!(said.contains("also holds the tasks"), "{said}");
    let s = Store::open(dir.path()).unwrap();
    let d = s.device("alice", "IMEI:35").unwrap().unwrap();
    assert_eq!(
        d.settings.get("profile").map(String::as_str),
        Some("sony-ericsson")
    );
    drop(s);
    stdout(&cli(dir.path(), &["devices", "profile", "IMEI:35"]));
    stdout(&cli(
        dir.path(),
        &["devices", "timezone", "IMEI:35", "Europe/Berlin"],
    ));
    let s = Store::open(dir.path()).unwrap();
    let d = s.device("alice", "IMEI:35").unwrap().unwrap();
    assert_eq!(
        d.settings.get("timezone").map(String::as_str),
        Some("Europe/Berlin")
    );
    drop(s);
    stdout(&cli(dir.path(), &["devices", "timezone", "IMEI:35"]));
    let s = Store::open(dir.path()).unwrap();
    let d = s.device("alice", "IMEI:35").unwrap().unwrap();
    assert!(!d.settings.contains_key("profile"));
    drop(s);

    let said = stdout(&cli(dir.path(), &["devices", "wipe", "IMEI:35"]));
    assert!(
        !said.contains("push test"),
        "not a push device any more: {said}"
    );
    let s = Store::open(dir.path()).unwrap();
    let d = s.device("alice", "IMEI:35").unwrap().unwrap();
    assert_eq!(d.settings.get("wipe").map(String::as_str), Some("pending"));
    s.put_device(&syncml_bridge::store::DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:36".into(),
        ..Default::default()
    })
    .unwrap();
    drop(s);
    stdout(&cli(dir.path(), &["devices", "remove", "IMEI:36"]));
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.device("alice", "IMEI:36").unwrap(), None);
    assert!(s.device("alice", "IMEI:35").unwrap().is_some());
    drop(s);

    stdout(&cli(dir.path(), &["users", "remove", "alice"]));
    let s = Store::open(dir.path()).unwrap();
    assert!(s.devices(None).unwrap().is_empty());
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    for (args, needle) in [
        (&["devices", "show", "nope"][..], "no device `nope`"),
        (
            &["devices", "resync", "IMEI:35", "calendar"][..],
            "no datastore `calendar`",
        ),
        (
            &["devices", "timezone", "IMEI:35", "Mars/Olympus"][..],
            "`Mars/Olympus` is not an IANA time zone",
        ),
        (
            &["devices", "profile", "IMEI:35", "nokia-3310"][..],
            "no device profile `nokia-3310`; known: default, syncevolution",
        ),
        (
            &["push", "register", "IMEI:35", "--msisdn", "call-me"][..],
            "not a phone number",
        ),
        (&["users", "remove", "zed"][..], "no user `zed`"),
    ] {
        let o = cli(dir.path(), args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn the_cli_works_while_the_server_runs() {
    let radicale = support::radicale::Radicale::start();
    let bridge = support::bridge::Bridge::start(&radicale.base_url());
    let o = cli(bridge.data_dir(), &["devices", "list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(bridge.data_dir(), &["users", "list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The server still answers after the CLI wrote to its store.
    let health = reqwest::blocking::get(format!("{}/healthz", bridge.base_url())).expect("healthz");
    assert!(health.status().is_success());
}
