//! Push end to end: the real bridge binary polling a real Radicale, a SyncEvolution phone
//! registered for push with the admin CLI while the server runs, and a real Kannel whose
//! fake SMSC shows every notification that would reach the phone.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::e2e::{options, World, PASSWORD, USER};
use support::items;
use support::kannel::{Kannel, ReceivedSms, PASSWORD as KANNEL_PASSWORD, SENDER, USERNAME};
use support::syncevolution::{Datastore, SyncMode};
use syncml_bridge::push::san::San;

const VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const DEVICE: &str = "push-e2e-phone";
const MSISDN: &str = "+491709876543";
const POLL: Duration = Duration::from_secs(1);
/// Two poll intervals plus slack for Radicale, the bridge and Kannel on a busy machine.
const ALERT_WAIT: Duration = Duration::from_secs(8);
/// How long "no SMS" is watched for: several poll rounds.
const QUIET_WATCH: Duration = Duration::from_secs(3);

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SYNCML_BRIDGE_") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

fn put_server_contact(world: &World, i: usize) {
    let c = items::contact(i);
    let tel = format!("TEL;TYPE=CELL:{}", c.tels[0]);
    world.dav().put(
        &format!("{}srv-{i}.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        &items::dav_vcard(&format!("srv-{i}"), &c.family, &c.given, &[&tel]),
    );
}

/// Watches the fake SMSC for `watch` and fails if the count moves past `n`.
fn assert_stays_at(kannel: &Kannel, world: &World, n: usize, watch: Duration, why: &str) {
    let end = Instant::now() + watch;
    while Instant::now() < end {
        let got = kannel.received();
        assert_eq!(
            got.len(),
            n,
            "{why}: {got:?}\nbridge log:\n{}",
            world.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The SMS is a SyncML DS 1.2 notification asking for the contacts datastore.
fn assert_contacts_alert(sms: &ReceivedSms) {
    assert_eq!(sms.to, MSISDN);
    assert_eq!(sms.from, SENDER);
    // Port 2948 -> 49154 (push.md §4.3); WSP push, content type application/vnd.syncml.notification.
    assert_eq!(sms.udh, [0x06, 0x05, 0x04, 0x0B, 0x84, 0xC0, 0x02]);
    assert_eq!(sms.data[..6], [0x01, 0x06, 0x03, 0xCE, 0xAF, 0x85]);
    let parsed = San::parse(&sms.data[6..]).unwrap();
    let uris: Vec<String> = parsed
        .san
        .syncs
        .iter()
        .map(|s| s.server_uri.clone())
        .collect();
    // The alert names the datastore as the phone spelled it in its last session.
    assert_eq!(uris, [Datastore::Contacts.default_uri()], "{parsed:?}");
}

#[test]
fn a_dav_change_raises_one_sms_and_the_phones_own_change_none() {
    let started = Instant::now();
    let kannel = Kannel::start();
    let world = World::start_with(|b| {
        b.env("SYNCML_BRIDGE_AUTH__VAULT_KEY", VAULT_KEY)
            .app_password(USER, PASSWORD)
            .env("SYNCML_BRIDGE_PUSH__ENABLED", "true")
            .env(
                "SYNCML_BRIDGE_PUSH__POLL_INTERVAL_SECS",
                &POLL.as_secs().to_string(),
            )
            .env("SYNCML_BRIDGE_PUSH__MIN_ALERT_INTERVAL_SECS", "0")
            .env("SYNCML_BRIDGE_PUSH__GATEWAY", "kannel")
            .env("SYNCML_BRIDGE_PUSH__KANNEL__URL", &kannel.sendsms_url)
            .env("SYNCML_BRIDGE_PUSH__KANNEL__USERNAME", USERNAME)
            .env("SYNCML_BRIDGE_PUSH__KANNEL__PASSWORD", KANNEL_PASSWORD)
            // All digits: a text key keeps the variable as text.
            .env("SYNCML_BRIDGE_PUSH__KANNEL__FROM", SENDER)
    });
    put_server_contact(&world, 1);
    let mut phone = world.phone(DEVICE, options(&[Datastore::Contacts]));
    phone.sync(SyncMode::Slow, &[]).assert_success();
    assert_eq!(phone.items(Datastore::Contacts).len(), 1);

    // Registered through the CLI while the server holds the store.
    let o = admin(
        world.bridge.data_dir(),
        &["push", "register", DEVICE, "--msisdn", MSISDN],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.contains("no stored upstream credential"), "{out}");
    assert_stays_at(&kannel, &world, 0, QUIET_WATCH, "nothing changed yet");

    // A change made beside the bridge: exactly one SMS.
    put_server_contact(&world, 2);
    let got = kannel.wait_for(1, ALERT_WAIT);
    assert_contacts_alert(&got[0]);
    // Another change while that alert is outstanding: no second SMS.
    put_server_contact(&world, 3);
    assert_stays_at(&kannel, &world, 1, QUIET_WATCH, "alert outstanding");

    // The phone answers the alert; the next change raises the next SMS.
    phone.sync(SyncMode::TwoWay, &[]).assert_success();
    assert_eq!(phone.items(Datastore::Contacts).len(), 3);
    assert_stays_at(&kannel, &world, 1, QUIET_WATCH, "after the phone synced");
    put_server_contact(&world, 4);
    let got = kannel.wait_for(2, ALERT_WAIT);
    assert_contacts_alert(&got[1]);
    phone.sync(SyncMode::TwoWay, &[]).assert_success();

    // The phone's own addition reaches Radicale, and is no reason to alert it.
    let own = items::contact(5);
    phone.put_item(Datastore::Contacts, &own.file, &own.vcard);
    phone.sync(SyncMode::TwoWay, &[]).assert_success();
    let on_server = world.server_items(Datastore::Contacts);
    assert_eq!(on_server.len(), 5, "{on_server:?}");
    assert_stays_at(&kannel, &world, 2, QUIET_WATCH, "the phone's own change");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
