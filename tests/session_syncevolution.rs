//! The session and engine end to end with a real phone: the SyncEvolution client talks to
//! the real `syncml-bridge serve` binary, Radicale is the upstream.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::radicale::Radicale;
use support::syncevolution::{ClientAuth, Datastore, Phone, PhoneOptions, SyncMlVersion, SyncMode};
use support::tools::{free_port, wait_until, OwnedProcess};

fn start_bridge(upstream: &str, dir: &Path, env: &[(&str, &str)]) -> (OwnedProcess, String) {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    cmd.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--upstream",
        upstream,
    ])
    .arg("--data-dir")
    .arg(dir.join("data"))
    .env("SYNCML_BRIDGE_LOG__FILTER", "syncml_bridge=debug");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut proc = OwnedProcess::spawn("syncml-bridge", cmd, &dir.join("bridge.log"));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        client
            .get(format!("{base}/healthz"))
            .send()
            .map(|r| r.status().is_success())
            .unwrap_or(false)
    });
    if !up {
        proc.fail("the bridge did not answer /healthz");
    }
    (proc, base)
}

fn card(family: &str, given: &str, tel: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{family};{given};;;\r\nTEL;CELL:{tel}\r\nEND:VCARD\r\n"
    )
}

fn server_cards(radicale: &Radicale, collection: &str) -> Vec<String> {
    let dir = radicale
        .storage_dir()
        .join("collection-root")
        .join(collection.trim_matches('/'));
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "vcf") {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    out
}

fn phone_for(base: &str, device: &str, auth: ClientAuth, wbxml: bool) -> Phone {
    let mut phone = Phone::new();
    phone.configure(
        &format!("{base}/syncml"),
        "alice",
        "alicepw",
        device,
        PhoneOptions {
            version: SyncMlVersion::V1_2,
            wbxml,
            auth,
            datastores: vec![Datastore::Contacts],
            timeout: Duration::from_secs(120),
            ..PhoneOptions::default()
        },
    );
    phone
}

#[test]
fn slow_sync_then_two_way_with_an_add_on_each_side() {
    let work = tempfile::tempdir().unwrap();
    let radicale = Radicale::builder().users(&[("alice", "alicepw")]).start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let (_bridge, base) = start_bridge(&radicale.base_url(), work.path(), &[]);

    let mut phone = phone_for(&base, "session-test-1", ClientAuth::Basic, false);
    phone.put_item(
        Datastore::Contacts,
        "ada",
        &card("Lovelace", "Ada", "+442079460000"),
    );
    phone.put_item(
        Datastore::Contacts,
        "grace",
        &card("Hopper", "Grace", "+12025550100"),
    );
    let dav = radicale.client("alice");
    let turing = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:turing-1\r\nN:Turing;Alan;;;\r\nFN:Alan Turing\r\nTEL;TYPE=CELL:+441234567\r\nEND:VCARD\r\n";
    assert!(dav
        .put(&format!("{contacts}turing-1.vcf"), "text/vcard", turing)
        .is_success());

    let slow = phone.sync(SyncMode::Slow, &[]);
    slow.assert_success();
    let c = slow.source(Datastore::Contacts);
    assert_eq!(c.remote_added(), 2, "{:?}", slow.report);
    assert_eq!(c.local_added(), 1, "{:?}", slow.report);
    let path = contacts
        .split("127.0.0.1")
        .nth(1)
        .and_then(|s| s.find('/').map(|i| s[i..].to_owned()))
        .unwrap();
    assert_eq!(server_cards(&radicale, &path).len(), 3);
    assert!(phone
        .items(Datastore::Contacts)
        .iter()
        .any(|(_, c)| c.contains("Turing")));

    // The same slow sync again creates nothing new on either side.
    let again = phone.sync(SyncMode::Slow, &[]);
    again.assert_success();
    assert_eq!(server_cards(&radicale, &path).len(), 3);
    assert_eq!(phone.items(Datastore::Contacts).len(), 3);

    // Two-way: one add on each side.
    phone.put_item(
        Datastore::Contacts,
        "linus",
        &card("Torvalds", "Linus", "+358000000"),
    );
    let hedy = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:hedy-1\r\nN:Lamarr;Hedy;;;\r\nFN:Hedy Lamarr\r\nEND:VCARD\r\n";
    assert!(dav
        .put(&format!("{contacts}hedy-1.vcf"), "text/vcard", hedy)
        .is_success());
    let two = phone.sync(SyncMode::TwoWay, &[]);
    two.assert_success();
    let c = two.source(Datastore::Contacts);
    assert_eq!(c.mode.as_deref(), Some("two-way"), "{:?}", two.report);
    assert_eq!(c.remote_added(), 1, "{:?}", two.report);
    assert_eq!(c.local_added(), 1, "{:?}", two.report);
    assert_eq!(server_cards(&radicale, &path).len(), 5);
    assert!(phone
        .items(Datastore::Contacts)
        .iter()
        .any(|(_, c)| c.contains("Lamarr")));

    // Nothing changed: nothing moves.
    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    quiet.assert_success();
    let c = quiet.source(Datastore::Contacts);
    assert_eq!(
        c.remote_added() + c.local_added() + c.local_updated() + c.remote_updated(),
        0,
        "{:?}",
        quiet.report
    );
}

#[test]
fn md5_with_the_vault_and_wbxml_and_a_server_edit_kept() {
    let work = tempfile::tempdir().unwrap();
    let radicale = Radicale::builder().users(&[("alice", "alicepw")]).start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let env = [
        ("SYNCML_BRIDGE_AUTH__VAULT_KEY", key),
        ("SYNCML_BRIDGE_AUTH__POLICY", "md5"),
    ];
    // Without a stored app password the MD5 log-in is refused.
    let (bridge, base) = start_bridge(&radicale.base_url(), work.path(), &env);
    let mut phone = phone_for(&base, "session-test-md5", ClientAuth::Md5, true);
    phone.put_item(
        Datastore::Contacts,
        "ada",
        &card("Lovelace", "Ada", "+442079460000"),
    );
    let refused = phone.sync(SyncMode::Slow, &[]);
    assert!(
        !refused.succeeded(),
        "MD5 without a stored password must fail"
    );
    drop(bridge);

    let mut set = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    set.args(["users", "set-password", "alice", "--data-dir"])
        .arg(work.path().join("data"))
        .env("SYNCML_BRIDGE_AUTH__VAULT_KEY", key)
        .stdin(std::process::Stdio::piped());
    let mut child = set.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"alicepw\n").unwrap();
    }
    assert!(child.wait().unwrap().success());

    // Restarted bridge, same store.
    let (_bridge, base) = start_bridge(&radicale.base_url(), work.path(), &env);
    let mut phone = phone_for(&base, "session-test-md5", ClientAuth::Md5, true);
    phone.put_item(
        Datastore::Contacts,
        "ada",
        &card("Lovelace", "Ada", "+442079460000"),
    );
    let slow = phone.sync(SyncMode::Slow, &[]);
    slow.assert_success();
    assert_eq!(
        slow.source(Datastore::Contacts).remote_added(),
        1,
        "{:?}",
        slow.report
    );

    // The server gains a field the phone's vCard 2.1 cannot hold; a phone edit keeps it.
    let dav = radicale.client("alice");
    let listing = dav.request("PROPFIND", &contacts, &[("Depth", "1")], None);
    let body = listing.body;
    let href = body
        .split("<D:href>")
        .chain(body.split("<href>"))
        .filter_map(|s| s.split('<').next())
        .find(|h| h.ends_with(".vcf"))
        .expect("the card's href")
        .to_owned();
    let stored = dav.get(&href).unwrap().body;
    let with_photo = stored.replace("END:VCARD", "X-SERVER-ONLY:keep me\r\nEND:VCARD");
    assert!(dav.put(&href, "text/vcard", &with_photo).is_success());
    let two = phone.sync(SyncMode::TwoWay, &[]);
    two.assert_success();
    phone.modify_item(
        Datastore::Contacts,
        "ada",
        &card("Lovelace", "Ada", "+440000000001"),
    );
    let edit = phone.sync(SyncMode::TwoWay, &[]);
    edit.assert_success();
    let after = dav.get(&href).unwrap().body;
    assert!(after.contains("+440000000001"), "{after}");
    assert!(after.contains("X-SERVER-ONLY:keep me"), "{after}");
}

#[test]
fn small_messages_split_both_ways_and_a_large_photo_is_chunked() {
    let work = tempfile::tempdir().unwrap();
    let radicale = Radicale::builder().users(&[("alice", "alicepw")]).start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let (_bridge, base) = start_bridge(&radicale.base_url(), work.path(), &[]);
    let dav = radicale.client("alice");
    for i in 0..120 {
        let body = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:srv-{i}\r\nN:Server{i};Sam;;;\r\nFN:Sam Server{i}\r\nTEL;TYPE=CELL:+1555{i:06}\r\nEND:VCARD\r\n");
        assert!(dav
            .put(&format!("{contacts}srv-{i}.vcf"), "text/vcard", &body)
            .is_success());
    }
    let photo: String = "QUJD".repeat(6000);
    let big = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big-1\r\nN:Big;Photo;;;\r\nFN:Photo Big\r\nPHOTO;ENCODING=b;TYPE=JPEG:{photo}\r\nEND:VCARD\r\n");
    assert!(dav
        .put(&format!("{contacts}big-1.vcf"), "text/vcard", &big)
        .is_success());

    let mut phone = Phone::new();
    phone.configure(
        &format!("{base}/syncml"),
        "alice",
        "alicepw",
        "session-test-small",
        PhoneOptions {
            version: SyncMlVersion::V1_1,
            wbxml: false,
            auth: ClientAuth::Basic,
            max_msg_size: Some(10240),
            datastores: vec![Datastore::Contacts],
            timeout: Duration::from_secs(180),
            ..PhoneOptions::default()
        },
    );
    for i in 0..120 {
        phone.put_item(
            Datastore::Contacts,
            &format!("p{i}"),
            &card(&format!("Phone{i}"), "Pat", &format!("+4930{i:06}")),
        );
    }
    let slow = phone.sync(SyncMode::Slow, &[]);
    slow.assert_success();
    let c = slow.source(Datastore::Contacts);
    assert_eq!(c.remote_added(), 120, "{:?}", slow.report);
    assert_eq!(c.local_added(), 121, "{:?}", slow.report);
    let items = phone.items(Datastore::Contacts);
    assert_eq!(items.len(), 241);
    let big = items
        .iter()
        .find(|(_, c)| c.contains("Big"))
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    // The client stores the photo decoded: 6,000 times "ABC", unfolded.
    let flat = big.replace("\r\n ", "").replace("\n ", "");
    assert!(
        flat.contains(&"ABC".repeat(6000)),
        "the large photo arrived whole: {} bytes",
        big.len()
    );
}
