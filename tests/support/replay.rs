//! Replays a debug recording (`NN-in.xml` / `NN-out.xml`, see the admin guide) against a
//! running bridge: posts the phone's messages in order, following each reply's RespURI,
//! with the test user's Basic credentials in place of the redacted ones, and returns the
//! statuses of every recorded and every new reply for comparison.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;

/// One message of the replay: (command, status code) of each Status, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Exchange {
    pub message: String,
    pub recorded: Vec<(String, String)>,
    pub replayed: Vec<(String, String)>,
}

/// The `NN-in.xml` files of a recording, in order.
pub fn incoming(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the recording {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-in.xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no -in.xml in {}", dir.display());
    files
}

/// The text of every `<name>` element (no attributes, no nesting of the same name).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// (Cmd, Data) of every Status of a message.
pub fn statuses(xml: &str) -> Vec<(String, String)> {
    elements(xml, "Status")
        .into_iter()
        .map(|s| {
            let first = |n: &str| elements(s, n).first().map(|t| t.trim().to_owned());
            (
                first("Cmd").unwrap_or_default(),
                first("Data").unwrap_or_default(),
            )
        })
        .collect()
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    &url[..end]
}

/// The phone's message made fit for `bridge`: its origin, Basic credentials for the test
/// user in place of the redacted ones.
fn prepare(xml: &str, recorded_origin: &str, bridge: &str, user: &str, password: &str) -> String {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut out = xml.replace(recorded_origin, origin(bridge));
    if let Some(start) = out.find("<Cred>") {
        if let Some(len) = out[start..].find("</Cred>") {
            let cred = &out[start..start + len];
            let fixed = cred
                .replace("syncml:auth-md5", "syncml:auth-basic")
                .replace("REDACTED", &basic);
            out.replace_range(start..start + len, &fixed);
        }
    }
    out
}

/// Replays the recording in `dir` against the SyncML URL `bridge`.
pub fn replay(dir: &Path, bridge: &str, user: &str, password: &str) -> Vec<Exchange> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let files = incoming(dir);
    let first = std::fs::read_to_string(&files[0]).expect("read the first message");
    let target = elements(&first, "Target")
        .first()
        .and_then(|t| elements(t, "LocURI").first().copied())
        .expect("the first message has a Target LocURI")
        .trim()
        .to_owned();
    let recorded_origin = origin(&target).to_owned();
    let mut url = bridge.to_owned();
    let mut out = Vec::new();
    for file in files {
        let xml = std::fs::read_to_string(&file).expect("read a recorded message");
        let body = prepare(&xml, &recorded_origin, bridge, user, password);
        let answer = client
            .post(&url)
            .header("content-type", "application/vnd.syncml+xml")
            .body(body)
            .send()
            .unwrap_or_else(|e| panic!("posting {}: {e}", file.display()));
        assert!(
            answer.status().is_success(),
            "{}: HTTP {}",
            file.display(),
            answer.status()
        );
        let reply = answer.text().expect("reply body");
        if let Some(resp) = elements(&reply, "RespURI").first() {
            url = resp.trim().replace("&amp;", "&");
        }
        let out_file = file.to_string_lossy().replace("-in.xml", "-out.xml");
        let recorded =
            std::fs::read_to_string(&out_file).unwrap_or_else(|e| panic!("{out_file}: {e}"));
        out.push(Exchange {
            message: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            recorded: statuses(&recorded),
            replayed: statuses(&reply),
        });
    }
    out
}
