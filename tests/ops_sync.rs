//! The operational side of a real sync: SyncEvolution against the bridge in front of
//! Radicale, with WsgiDAV holding backup files. Backups from the URL parameter and
//! before destructive syncs, `/metrics` after a session, debug recordings, and logs
//! that never carry credentials.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::e2e::{options, World, PASSWORD, USER};
use support::items;
use support::syncevolution::{ClientAuth, Datastore, SyncMode};
use support::tools::{free_port, wait_until};
use support::webdav_files::WebDavFiles;

const CONTACTS: Datastore = Datastore::Contacts;
const VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn folder_setting(base: &str) -> String {
    format!("{base}/{{user}}/SyncML backups/")
}

fn backup_dir(files: &WebDavFiles) -> PathBuf {
    files.share_dir(USER).join("SyncML backups")
}

fn today() -> String {
    chrono::Local::now().format("%Y%m%d").to_string()
}

fn put_server_contacts(world: &World, indices: &[usize]) {
    let dav = world.dav();
    for &i in indices {
        let c = items::contact(i);
        let tel = format!("TEL;TYPE=CELL:{}", c.tels[0]);
        dav.put(
            &format!("{}srv-{i}.vcf", world.collection(CONTACTS)),
            "text/vcard",
            &items::dav_vcard(&format!("srv-{i}"), &c.family, &c.given, &[&tel]),
        );
    }
}

/// The value of one sample of `/metrics`, labels given in their exposition order.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted = if labels.is_empty() {
        name.to_owned()
    } else {
        let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{name}{{{}}}", inner.join(","))
    };
    text.lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        (series == wanted).then(|| value.parse().ok()).flatten()
    })
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn url_backup_metrics_and_debug_recording_of_one_session() {
    let files = WebDavFiles::start();
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_BACKUP__FOLDER",
            &folder_setting(&files.base_url()),
        )
        .env("SYNCML_BRIDGE_LOG__DEBUG_DEVICES", "[\"ops-debug-1\"]")
    });
    put_server_contacts(&world, &[10, 11]);
    let mut phone = support::syncevolution::Phone::new();
    phone.configure(
        &world.bridge.syncml_url_with("backup=nokia"),
        USER,
        PASSWORD,
        "ops-debug-1",
        options(&[CONTACTS]),
    );
    let c = items::contact(0);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    let sync = phone.sync(SyncMode::Slow, &[]);
    sync.assert_success();

    // The backup runs after the last reply: wait for it, bounded.
    let expected = backup_dir(&files).join(format!("nokia{}0001-contacts.vcf", today()));
    let written = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        expected.exists()
    });
    assert!(
        written,
        "no {} after the session; bridge log:\n{}",
        expected.display(),
        world.log_tail(40)
    );
    let backup = std::fs::read_to_string(&expected).unwrap();
    assert_eq!(backup.matches("BEGIN:VCARD").count(), 3, "{backup}");
    for i in [0, 10, 11] {
        let family = &items::contact(i).family;
        assert!(
            backup.contains(family.as_str()),
            "{family} missing: {backup}"
        );
    }
    assert!(world.bridge.log_text().contains("session backup written"));

    let text = reqwest::blocking::get(format!("{}/metrics", world.bridge.base_url()))
        .unwrap()
        .text()
        .unwrap();
    let m = |name: &str, labels: &[(&str, &str)]| metric(&text, name, labels);
    assert_eq!(
        m(
            "syncml_bridge_sessions_started_total",
            &[("sync_type", "slow")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        m(
            "syncml_bridge_sessions_completed_total",
            &[("sync_type", "slow")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(m("syncml_bridge_sessions_active", &[]), Some(0.0));
    let items = |dir: &str| {
        m(
            "syncml_bridge_items_total",
            &[
                ("direction", dir),
                ("datastore", "contacts"),
                ("change", "added"),
            ],
        )
    };
    assert_eq!(items("from_device"), Some(1.0), "{text}");
    assert_eq!(items("to_device"), Some(2.0), "{text}");
    let reports = m(
        "syncml_bridge_upstream_requests_total",
        &[("method", "REPORT"), ("status", "207")],
    )
    .unwrap_or(0.0);
    let puts = m(
        "syncml_bridge_upstream_requests_total",
        &[("method", "PUT"), ("status", "201")],
    )
    .unwrap_or(0.0);
    assert!(reports >= 1.0 && puts >= 1.0, "{text}");
    assert!(
        m(
            "syncml_bridge_upstream_request_duration_seconds_count",
            &[("method", "PUT"), ("status", "201")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );

    // The recording: numbered pairs, XML, the credentials redacted.
    let recorded = all_files(&world.bridge.data_dir().join("debug").join("ops-debug-1"));
    let names: Vec<String> = recorded
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"01-in.xml".to_owned()), "{names:?}");
    assert!(names.contains(&"01-out.xml".to_owned()), "{names:?}");
    assert!(names.len() >= 4 && names.len() % 2 == 0, "{names:?}");
    let first =
        std::fs::read_to_string(recorded.iter().find(|p| p.ends_with("01-in.xml")).unwrap())
            .unwrap();
    assert!(first.contains("<SyncML"), "{first}");
    assert!(first.contains("REDACTED"), "{first}");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for p in &recorded {
        let t = std::fs::read_to_string(p).unwrap();
        assert!(
            !t.contains(&basic) && !t.contains(PASSWORD),
            "{}",
            p.display()
        );
    }
    assert!(world.bridge.log_text().contains("package answered"));
}

#[test]
fn refresh_from_client_backs_the_collection_up_first() {
    let files = WebDavFiles::start();
    let world = World::start_with(|b| {
        b.env(
            "SYNCML_BRIDGE_BACKUP__FOLDER",
            &folder_setting(&files.base_url()),
        )
    });
    put_server_contacts(&world, &[10, 11]);
    let mut phone = world.phone("ops-refresh-1", options(&[CONTACTS]));
    let c = items::contact(0);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    phone
        .sync(SyncMode::RefreshFromClient, &[])
        .assert_success();

    let file = backup_dir(&files).join(format!("backup{}0001-contacts.vcf", today()));
    let backup = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), world.log_tail(40)));
    // What the server held before the phone replaced it.
    assert_eq!(backup.matches("BEGIN:VCARD").count(), 2, "{backup}");
    for i in [10, 11] {
        assert!(backup.contains(&format!("UID:srv-{i}")), "{backup}");
    }
    assert!(!backup.contains(c.given.as_str()), "{backup}");
    let server = world.server_items(CONTACTS);
    assert_eq!(server.len(), 1, "{server:?}");
    assert!(world
        .bridge
        .log_text()
        .contains("automatic backup written before a destructive sync"));
}

#[test]
fn refresh_from_client_is_refused_while_the_file_server_is_down() {
    let down = format!("http://127.0.0.1:{}", free_port());
    let world =
        World::start_with(|b| b.env("SYNCML_BRIDGE_BACKUP__FOLDER", &folder_setting(&down)));
    put_server_contacts(&world, &[10, 11]);
    let before = world.server_items(CONTACTS);
    let mut phone = world.phone("ops-refresh-2", options(&[CONTACTS]));
    let c = items::contact(0);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    let sync = phone.sync(SyncMode::RefreshFromClient, &[]);
    assert!(!sync.succeeded(), "the destructive sync must be refused");
    assert_eq!(world.server_items(CONTACTS), before, "Radicale was changed");
    let log = world.bridge.log_text();
    assert!(
        log.contains("automatic backup failed: destructive sync refused"),
        "{log}"
    );
}

#[test]
fn logs_have_timestamps_and_no_credentials_after_basic_and_md5_syncs() {
    let world = World::start_with(|b| {
        b.env("SYNCML_BRIDGE_AUTH__VAULT_KEY", VAULT_KEY)
            .app_password(USER, PASSWORD)
            .log_filter("debug")
    });
    put_server_contacts(&world, &[10]);
    let mut basic = world.phone("ops-log-basic", options(&[CONTACTS]));
    basic.sync(SyncMode::Slow, &[]).assert_success();
    let mut md5_options = options(&[CONTACTS]);
    md5_options.auth = ClientAuth::Md5;
    let mut md5 = world.phone("ops-log-md5", md5_options);
    md5.sync(SyncMode::Slow, &[]).assert_success();

    let log = world.bridge.log_text();
    use base64::Engine;
    let basic_cred = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert!(log.contains("session completed"), "{log}");
    for secret in [PASSWORD, basic_cred.as_str(), VAULT_KEY] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
    assert!(!log.to_ascii_lowercase().contains("authorization"), "{log}");
    // Nonces travel in Chal/NextNonce only, never into the log.
    assert!(
        !log.contains("NextNonce") && !log.contains("nonce="),
        "{log}"
    );
    // Every event line starts with an RFC 3339 timestamp, without colour codes.
    let events: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("INFO") || l.contains("DEBUG"))
        .collect();
    assert!(events.len() > 10, "{log}");
    for l in events {
        let stamp = l.split_whitespace().next().unwrap_or("");
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "no timestamp: {l:?}"
        );
    }
}
