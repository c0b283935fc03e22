//! The push poller alone against a local Radicale with N users (default 1,000), each
//! with one push-registered device syncing one address book: upstream requests per
//! round and per user, and the CPU the poller's process used per round (from
//! /proc/self/stat), for rounds where nothing changed and one where some users' data did.
//!
//! `cargo bench --bench poller`; `POLLER_BENCH_USERS` changes the user count.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::radicale::Radicale;
use syncml_bridge::config::{PushConfig, UpstreamConfig};
use syncml_bridge::dav::{ChangeState, Credentials, DavClient};
use syncml_bridge::push::poller::Poller;
use syncml_bridge::push::settings::keys;
use syncml_bridge::store::{DatastoreKey, DatastoreState, DeviceRecord, Store, VaultKey};

/// User plus system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

fn main() {
    let n: usize = std::env::var("POLLER_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let users: Vec<(String, String)> = (0..n)
        .map(|i| (format!("u{i:04}"), format!("pw{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = users
        .iter()
        .map(|(u, p)| (u.as_str(), p.as_str()))
        .collect();
    let radicale = Radicale::builder().users(&refs).start();
    let upstream = UpstreamConfig {
        url: radicale.base_url(),
        ..UpstreamConfig::default()
    };
    let setup_dav = DavClient::new(&upstream).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let vault = VaultKey::from_text(&"cd".repeat(32)).unwrap();
    let device_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let device_addr = device_listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in device_listener.incoming() {
            drop(s);
        }
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    for (user, password) in &users {
        let collection = format!("/{user}/contacts/");
        radicale
            .client(user)
            .create_addressbook(&format!("{}contacts/", radicale.user_url(user)));
        let state = rt
            .block_on(
                setup_dav
                    .user(Credentials::new(user, password))
                    .changes(&collection, &ChangeState::default()),
            )
            .unwrap()
            .state;
        store.put_credential(&vault, user, password).unwrap();
        store
            .put_device(&DeviceRecord {
                user: user.clone(),
                device_id: format!("{user}-phone"),
                syncml_version: Some("1.2".into()),
                last_sync: Some(chrono::Utc::now().timestamp()),
                settings: [(keys::TCP.to_string(), device_addr.clone())]
                    .into_iter()
                    .collect(),
                ..Default::default()
            })
            .unwrap();
        store
            .put_datastore_state(
                &DatastoreKey::new(user, format!("{user}-phone"), "contacts"),
                &DatastoreState {
                    collections: [(collection, serde_json::to_string(&state).unwrap())]
                        .into_iter()
                        .collect(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    eprintln!("set up {n} users in {:.1} s", t.elapsed().as_secs_f64());

    let config = PushConfig {
        enabled: true,
        min_alert_interval_secs: 0,
        ..PushConfig::default()
    };
    let poller = Arc::new(
        Poller::new(
            store.clone(),
            DavClient::new(&upstream).unwrap(),
            Some(vault),
            &config,
        )
        .unwrap(),
    );
    let interval = config.poll_interval_secs as f64;
    let round = |label: &str| {
        let (req0, cpu0, t0) = (poller.requests(), cpu_seconds(), Instant::now());
        let report = rt.block_on(poller.clone().round(Duration::ZERO));
        let requests = poller.requests() - req0;
        let cpu = cpu_seconds() - cpu0;
        println!(
            "{label}: {n} users, {requests} upstream requests ({:.2}/user; {} tag checks, {} change checks), {} alerts, wall {:.2} s, CPU {:.3} s = {:.3}% of one core at a {interval} s interval",
            requests as f64 / n as f64,
            report.tag_checks,
            report.change_checks,
            report.alerts_sent,
            t0.elapsed().as_secs_f64(),
            cpu,
            cpu / interval * 100.0
        );
    };
    for i in 1..=3 {
        round(&format!("round {i}, nothing changed"));
    }
    let changed = (n / 100).max(1);
    for (user, _) in users.iter().take(changed) {
        radicale.client(user).put(
            &format!("{}contacts/new.vcf", radicale.user_url(user)),
            "text/vcard",
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:new\r\nFN:New\r\nN:;New;;;\r\nEND:VCARD\r\n",
        );
    }
    round(&format!("round 4, {changed} users changed"));
    round("round 5, alerts outstanding");
}
