//! `push config-sms`: the OMA CP configuration SMS, sent by the CLI binary through a real
//! Kannel (Debian `kannel` + `kannel-extras`); what reaches the fake SMSC is reassembled,
//! its document decoded back and its USERPIN MAC checked.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::kannel::{Kannel, ReceivedSms, PASSWORD, SENDER, USERNAME};
use syncml_bridge::push::provisioning::{
    decode, parse_oma_cp_pdu, verify_mac, ProfileDatastore, Security, SyncProfile,
};
use syncml_bridge::store::{DatastoreKey, DatastoreState, DeviceRecord, Store};

const PHONE: &str = "+491701234567";
const URL: &str = "https://sync.example.org/syncml";

fn seed(dir: &Path) {
    let s = Store::open(dir).unwrap();
    s.put_device(&DeviceRecord {
        user: "alice".into(),
        device_id: "IMEI:35".into(),
        ..Default::default()
    })
    .unwrap();
    for ds in ["card", "cal"] {
        s.put_datastore_state(
            &DatastoreKey::new("alice", "IMEI:35", ds),
            &DatastoreState::default(),
        )
        .unwrap();
    }
}

fn cli(data: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .arg("--config")
        .arg(config)
        .env_remove("SYNCML_BRIDGE_AUTH__VAULT_KEY")
        .output()
        .unwrap()
}

fn write_config(dir: &Path, sendsms_url: &str) -> std::path::PathBuf {
    let path = dir.join("bridge.toml");
    std::fs::write(
        &path,
        format!(
            "[push]\nserver_id = \"bridge\"\ngateway = \"kannel\"\n\n[push.kannel]\n\
             url = \"{sendsms_url}\"\nusername = \"{USERNAME}\"\npassword = \"{PASSWORD}\"\n\
             from = \"{SENDER}\"\n"
        ),
    )
    .unwrap();
    path
}

/// The document the device's record should produce, built here from known values.
fn expected_profile() -> SyncProfile {
    SyncProfile {
        name: "Home".into(),
        server_id: Some("bridge".into()),
        url: URL.into(),
        user: "alice".into(),
        password: None,
        auth_type: None,
        to_napid: None,
        // The store lists datastores in name order.
        datastores: vec![
            ProfileDatastore {
                uri: "cal".into(),
                name: "calendar".into(),
                accept: "text/x-vcalendar".into(),
            },
            ProfileDatastore {
                uri: "card".into(),
                name: "contacts".into(),
                accept: "text/x-vcard".into(),
            },
        ],
    }
}

/// Joins the parts of one push (port UDH, then concatenation IE when split).
fn reassemble(parts: &[ReceivedSms]) -> Vec<u8> {
    let total = parts.len();
    let mut pdu = Vec::new();
    for (i, sms) in parts.iter().enumerate() {
        // Port addressing 2948 -> 2948.
        assert_eq!(
            sms.udh[1..7],
            [0x05, 0x04, 0x0B, 0x84, 0x0B, 0x84],
            "{sms:?}"
        );
        if total > 1 {
            assert_eq!(sms.udh[7..10], [0x00, 0x03, parts[0].udh[9]]);
            assert_eq!(sms.udh[10..12], [total as u8, i as u8 + 1]);
        }
        pdu.extend_from_slice(&sms.data);
    }
    pdu
}

#[test]
fn the_configuration_sms_reaches_the_smsc_decodes_and_its_mac_verifies() {
    let kannel = Kannel::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data);
    let config = write_config(dir.path(), &kannel.sendsms_url);

    let args = [
        "push",
        "config-sms",
        "IMEI:35",
        "--msisdn",
        PHONE,
        "--pin",
        "4711",
        "--url",
        URL,
        "--name",
        "Home",
    ];
    let o = cli(&data, &config, &args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let printed = out.lines().filter(|l| l.contains("part ")).count();
    assert!(printed >= 1, "{out}");
    assert!(
        out.contains(&format!("sent to {PHONE} as {printed} SMS")),
        "{out}"
    );

    let got = kannel.wait_for(printed, Duration::from_secs(20));
    assert_eq!(got.len(), printed, "{got:?}");
    assert!(got.iter().all(|s| s.to == PHONE && s.from == SENDER));
    let pdu = reassemble(&got);
    let (sec, mac, wbxml) = parse_oma_cp_pdu(&pdu).unwrap();
    assert_eq!(sec, 0x81, "USERPIN");
    let pin = |p: &str| Security::UserPin { pin: p.into() };
    assert!(verify_mac(&pin("4711"), wbxml, &mac).unwrap());
    assert!(!verify_mac(&pin("4712"), wbxml, &mac).unwrap());
    assert_eq!(decode(wbxml).unwrap(), expected_profile().document());
    // No password travels in the document.
    assert!(!String::from_utf8_lossy(wbxml).contains(PASSWORD));
}

#[test]
fn a_dry_run_prints_the_parts_and_sends_nothing() {
    let kannel = Kannel::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data);
    let config = write_config(dir.path(), &kannel.sendsms_url);
    let args = [
        "push",
        "config-sms",
        "IMEI:35",
        "--msisdn",
        PHONE,
        "--pin",
        "4711",
        "--url",
        URL,
        "--name",
        "Home",
        "--dry-run",
    ];
    let o = cli(&data, &config, &args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("dry run: nothing sent"), "{out}");
    let parts: Vec<ReceivedSms> = out
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("part ")?;
            let (_, rest) = rest.split_once(": udh ")?;
            let (udh, data) = rest.split_once(" data ")?;
            Some(ReceivedSms {
                from: String::new(),
                to: String::new(),
                udh: hex(udh),
                data: hex(data),
            })
        })
        .collect();
    assert!(!parts.is_empty(), "{out}");
    let pdu = reassemble(&parts);
    let (_, mac, wbxml) = parse_oma_cp_pdu(&pdu).unwrap();
    assert!(verify_mac(&Security::UserPin { pin: "4711".into() }, wbxml, &mac).unwrap());
    assert_eq!(decode(wbxml).unwrap(), expected_profile().document());
    std::thread::sleep(Duration::from_secs(1));
    assert!(kannel.received().is_empty());
}

#[test]
fn bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed(&data);
    let config = write_config(dir.path(), "http://127.0.0.1:9/cgi-bin/sendsms");
    for (args, needle) in [
        (
            vec!["--msisdn", "12ab", "--pin", "1", "--url", URL],
            "--msisdn",
        ),
        (vec!["--msisdn", PHONE, "--pin", "12a", "--url", URL], "PIN"),
        (
            vec!["--msisdn", PHONE, "--pin", "1", "--url", "ftp://x"],
            "--url",
        ),
    ] {
        let mut all = vec!["push", "config-sms", "IMEI:35", "--dry-run"];
        all.extend(args);
        let o = cli(&data, &config, &all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains(needle),
            "{all:?}: {err}"
        );
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
