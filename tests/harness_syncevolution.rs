//! SyncEvolution with the curl shim sends a well-formed first package and does not crash.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use support::syncevolution::{Datastore, Phone, PhoneOptions, SyncMlVersion, SyncMode};
use support::syncml_xml::{element_paths, texts_at, wbxml_to_xml};

struct Received {
    content_type: String,
    path: String,
    body: Vec<u8>,
}

/// Accepts one HTTP POST on 127.0.0.1, answers 500 (so the client stops) and hands the request
/// over. Returns the URL to post to.
fn one_shot_listener() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/syncml", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        let _ = stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let _ = tx.send(Received {
            content_type,
            path,
            body,
        });
    });
    (url, rx)
}

const VCARD: &str =
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\nTEL;CELL:+442079460000\r\nEND:VCARD\r\n";

fn first_package(version: SyncMlVersion, wbxml: bool) -> (Received, Vec<(String, String)>) {
    let (url, received) = one_shot_listener();
    let mut phone = Phone::new();
    phone.configure(
        &url,
        "alice",
        "secret",
        "harness-phone-1",
        PhoneOptions {
            version,
            wbxml,
            datastores: vec![Datastore::Contacts, Datastore::Calendar],
            timeout: Duration::from_secs(60),
            ..PhoneOptions::default()
        },
    );
    phone.put_item(Datastore::Contacts, "1", VCARD);
    let outcome = phone.sync(SyncMode::Slow, &[]);
    assert!(!outcome.timed_out(), "client hung:\n{}", outcome.output);
    assert!(
        !outcome.crashed(),
        "client crashed ({:?}): the curl shim did not take effect:\n{}",
        outcome.exit,
        outcome.output
    );
    assert!(
        !outcome.succeeded(),
        "a 500 answer cannot be a successful sync"
    );
    let request = received
        .recv_timeout(Duration::from_secs(5))
        .expect("the listener received the first message");
    let xml = if wbxml {
        wbxml_to_xml(&request.body).expect("the client's WBXML decodes")
    } else {
        String::from_utf8(request.body.clone()).expect("XML message is UTF-8")
    };
    let paths = element_paths(&xml).unwrap_or_else(|e| panic!("malformed SyncML ({e}):\n{xml}"));
    (request, paths)
}

fn assert_first_package(paths: &[(String, String)], proto: &str, devinf_uri: &str) {
    assert_eq!(texts_at(paths, "SyncML/SyncHdr/VerProto"), vec![proto]);
    assert_eq!(texts_at(paths, "SyncML/SyncHdr/MsgID"), vec!["1"]);
    assert_eq!(
        texts_at(paths, "SyncML/SyncHdr/Source/LocURI"),
        vec!["harness-phone-1"]
    );
    assert_eq!(
        texts_at(paths, "SyncML/SyncHdr/Source/LocName"),
        vec!["alice"]
    );
    assert!(!texts_at(paths, "SyncML/SyncHdr/SessionID")[0].is_empty());
    assert_eq!(
        texts_at(paths, "SyncML/SyncHdr/Cred/Meta/Type"),
        vec!["syncml:auth-md5"]
    );

    // One Alert item per datastore, slow sync, with a Next anchor.
    let mut targets = texts_at(paths, "SyncML/SyncBody/Alert/Item/Target/LocURI");
    targets.sort();
    assert_eq!(targets, vec!["Calendar", "Contacts"]);
    let codes = texts_at(paths, "SyncML/SyncBody/Alert/Data");
    assert_eq!(codes, vec!["201", "201"]);
    let anchors = texts_at(paths, "SyncML/SyncBody/Alert/Item/Meta/Anchor/Next");
    assert_eq!(anchors.len(), 2);
    assert!(anchors.iter().all(|a| !a.is_empty()));

    // The Put of the client's DevInf names both datastores.
    assert_eq!(
        texts_at(paths, "SyncML/SyncBody/Put/Item/Source/LocURI"),
        vec![devinf_uri]
    );
    assert_eq!(
        texts_at(paths, "SyncML/SyncBody/Put/Item/Data/DevInf/DevID"),
        vec!["harness-phone-1"]
    );
    let mut stores = texts_at(
        paths,
        "SyncML/SyncBody/Put/Item/Data/DevInf/DataStore/SourceRef",
    );
    stores.sort();
    assert_eq!(stores, vec!["./calendar", "./contacts"]);
    assert_eq!(
        paths.last().map(|(p, _)| p.as_str()),
        Some("SyncML/SyncBody/Final")
    );
}

#[test]
fn first_package_syncml_1_2_xml() {
    let (request, paths) = first_package(SyncMlVersion::V1_2, false);
    assert_eq!(request.path, "/syncml");
    assert_eq!(request.content_type, "application/vnd.syncml+xml");
    assert_first_package(&paths, "SyncML/1.2", "./devinf12");
}

#[test]
fn first_package_syncml_1_1_wbxml() {
    let (request, paths) = first_package(SyncMlVersion::V1_1, true);
    assert_eq!(request.content_type, "application/vnd.syncml+wbxml");
    assert_eq!(
        &request.body[..3],
        &[0x02, 0x9f, 0x53],
        "WBXML version 1.2, public id 0x0FD3 (SyncML 1.1 DTD)"
    );
    assert_first_package(&paths, "SyncML/1.1", "./devinf11");
}
