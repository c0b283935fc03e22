//! Lists and fetches N contacts (default 5,000) from a local Radicale through the DAV
//! module, then the same requests (one sync-collection REPORT and the same multiget
//! bodies) sent by plain curl over one kept-alive connection; prints wall times and
//! request counts, plus the cost of a "nothing changed" check.
//!
//! Run with `scripts/bench-dav.sh` (or `cargo bench --bench dav_fetch`);
//! `DAV_BENCH_ITEMS` and `DAV_BENCH_BATCH` change the item count and multiget batch.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use syncml_bridge::config::UpstreamConfig;
use syncml_bridge::dav::{ChangeState, Credentials, DataKind, DavClient};

use support::radicale::Radicale;
use support::tools::require;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes the contacts straight into Radicale's storage (PUT one by one costs minutes).
fn seed(storage: &Path, n: usize) -> Vec<String> {
    let dir = storage.join("collection-root/alice/contacts");
    std::fs::create_dir_all(&dir).expect("create collection dir");
    std::fs::write(dir.join(".Radicale.props"), r#"{"tag": "VADDRESSBOOK"}"#).expect("props");
    (0..n)
        .map(|i| {
            let name = format!("c{i:05}.vcf");
            let text = format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c{i:05}\r\nFN:Person {i}\r\n\
                 N:Person;{i};;;\r\nEMAIL;TYPE=INTERNET:p{i}@example.org\r\n\
                 TEL;TYPE=CELL:+49 30 {i:07}\r\nEND:VCARD\r\n"
            );
            std::fs::write(dir.join(&name), text).expect("write contact");
            format!("/alice/contacts/{name}")
        })
        .collect()
}

const NS: &str = r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/""#;

/// The same bodies the module sends.
fn listing_body() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection {NS}><D:sync-token></D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#
    )
}

fn multiget_body(hrefs: &[String]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><CR:addressbook-multiget {NS}><D:prop><D:getetag/><CR:address-data/></D:prop>"#
    );
    for h in hrefs {
        s.push_str("<D:href>");
        s.push_str(h);
        s.push_str("</D:href>");
    }
    s.push_str("</CR:addressbook-multiget>");
    s
}

/// One curl process, every request on one kept-alive connection (`--next`).
fn curl_run(curl: &Path, base: &str, bodies: &[String], tmp: &Path) -> (Duration, usize, u64) {
    let mut cmd = Command::new(curl);
    for (i, body) in bodies.iter().enumerate() {
        let file = tmp.join(format!("body-{i}.xml"));
        std::fs::write(&file, body).expect("write body");
        if i > 0 {
            cmd.arg("--next");
        }
        cmd.args(["-s", "-S", "-u", "alice:secret", "-X", "REPORT"])
            .args(["-H", "Depth: 1"])
            .args(["-H", "Content-Type: application/xml; charset=utf-8"])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg("-o")
            .arg(tmp.join(format!("out-{i}")))
            .arg(format!("{base}/alice/contacts/"));
    }
    let started = Instant::now();
    let status = cmd.status().expect("run curl");
    let wall = started.elapsed();
    assert!(status.success(), "curl failed: {status}");
    let bytes = (0..bodies.len())
        .map(|i| {
            std::fs::metadata(tmp.join(format!("out-{i}")))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    (wall, bodies.len(), bytes)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n = env_number("DAV_BENCH_ITEMS", 5000);
    let batch = env_number("DAV_BENCH_BATCH", 100);
    let curl = require("curl", "curl");
    let storage = tempfile::tempdir().expect("temp dir");
    let tmp = tempfile::tempdir().expect("temp dir");
    let hrefs = seed(storage.path(), n);
    let radicale = Radicale::builder().storage(storage.path()).start();
    let base = radicale.base_url();
    println!("Radicale on {base}, {n} contacts, multiget batch {batch}");

    let mut bodies = vec![listing_body()];
    bodies.extend(hrefs.chunks(batch).map(multiget_body));

    // Radicale parses every item on first access and caches it; warm that up first so
    // both clients meet the same server.
    let (warm, _, _) = curl_run(&curl, &base, &bodies[..1], tmp.path());
    println!("warm-up listing (Radicale builds its cache): {warm:.2?}");

    let config = UpstreamConfig {
        url: format!("{base}/"),
        multiget_batch: batch,
        ..UpstreamConfig::default()
    };
    let client = DavClient::new(&config).expect("client");
    let alice = client.user(Credentials::new("alice", "secret"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    for round in 1..=2 {
        let before = client.requests_sent();
        let started = Instant::now();
        let (changes, fetched) = rt.block_on(async {
            let changes = alice
                .changes("/alice/contacts/", &ChangeState::default())
                .await
                .expect("listing");
            let list: Vec<String> = changes.changed.iter().map(|c| c.href.clone()).collect();
            let fetched = alice
                .multiget("/alice/contacts/", DataKind::Card, &list)
                .await
                .expect("multiget");
            (changes, fetched)
        });
        let module_wall = started.elapsed();
        let module_requests = client.requests_sent() - before;
        assert_eq!(changes.changed.len(), n);
        assert_eq!(fetched.items.len(), n);
        let module_bytes: usize = fetched.items.iter().map(|i| i.data.len()).sum();

        let (curl_wall, curl_requests, curl_bytes) = curl_run(&curl, &base, &bodies, tmp.path());
        println!(
            "round {round}: module {module_wall:.2?} ({module_requests} requests, {module_bytes} bytes of vCard) | \
             curl {curl_wall:.2?} ({curl_requests} requests, {curl_bytes} bytes of XML) | \
             module/curl = {:.3}",
            module_wall.as_secs_f64() / curl_wall.as_secs_f64()
        );

        if round == 2 {
            let before = client.requests_sent();
            let started = Instant::now();
            let changed = rt
                .block_on(alice.has_changed("/alice/contacts/", &changes.state))
                .expect("check");
            println!(
                "nothing-changed check: changed={changed}, {} request(s), {:.2?}",
                client.requests_sent() - before,
                started.elapsed()
            );
        }
    }
}
