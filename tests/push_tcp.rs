//! TCP push to a listener started by the test: raw and HTTP framing, a refusing
//! device, and an unreachable one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use syncml_bridge::push::san::{AlertedSync, San};
use syncml_bridge::push::settings::keys;
use syncml_bridge::push::{notify, AlertedDatastore, DevicePush, PushError, Sent, Transports};
use syncml_bridge::store::DeviceRecord;

fn device(addr: SocketAddr, framing: &str) -> DevicePush {
    let record = DeviceRecord {
        user: "alice".into(),
        device_id: "sc-pim-1".into(),
        syncml_version: Some("1.2".into()),
        settings: [
            (keys::TCP.to_string(), addr.to_string()),
            (keys::TCP_FRAMING.to_string(), framing.to_string()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    DevicePush::resolve(&record, &Default::default()).unwrap()
}

fn contacts() -> Vec<AlertedDatastore> {
    vec![AlertedDatastore {
        server_uri: "contacts".into(),
        sync: AlertedSync::TwoWay,
        content_type: Some("text/vcard".into()),
    }]
}

/// Accepts one connection and returns everything read until the peer closes (raw)
/// or a full HTTP request arrived, answering it with `answer`.
fn listener(answer: Option<&'static str>) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let n = s.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if answer.is_some() && http_complete(&got) {
                break;
            }
        }
        if let Some(a) = answer {
            s.write_all(a.as_bytes()).unwrap();
        }
        got
    });
    (addr, handle)
}

fn http_complete(b: &[u8]) -> bool {
    let Some(end) = b.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&b[..end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    b.len() >= end + 4 + len
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn raw_tcp_push_delivers_the_san() {
    let (addr, received) = listener(None);
    let d = device(addr, "raw");
    let delivery = runtime()
        .block_on(notify(&d, &contacts(), &Transports::default()))
        .unwrap();
    let got = received.join().unwrap();
    assert_eq!(got, delivery.notification.payload);
    assert_eq!(
        delivery.sent,
        Sent::Tcp {
            addr,
            bytes: got.clone()
        }
    );
    let san = San::parse(&got).unwrap().san;
    assert_eq!(san.server_id, "syncml-bridge");
    assert_eq!(san.syncs[0].server_uri, "contacts");
    assert_eq!(san.syncs[0].content_type, 0x0309);
    assert_eq!(san.session_id, delivery.notification.session_id);
}

#[test]
fn http_tcp_push_posts_the_san() {
    let (addr, received) = listener(Some("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    let d = device(addr, "http");
    let delivery = runtime()
        .block_on(notify(&d, &contacts(), &Transports::default()))
        .unwrap();
    let got = received.join().unwrap();
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&got[..end]);
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/vnd.syncml.ds.notification"),
        "{head}"
    );
    assert_eq!(&got[end + 4..], &delivery.notification.payload[..]);
}

#[test]
fn a_refusing_device_is_a_clear_error() {
    let (addr, received) = listener(Some("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    let d = device(addr, "http");
    let err = runtime()
        .block_on(notify(&d, &contacts(), &Transports::default()))
        .unwrap_err();
    received.join().unwrap();
    assert!(
        matches!(&err, PushError::TcpRefused { status_line, .. } if status_line.contains("403")),
        "{err}"
    );
}

#[test]
fn an_unreachable_device_is_a_clear_error() {
    // Bind and drop: nothing listens on the port afterwards.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = runtime()
        .block_on(notify(
            &device(addr, "raw"),
            &contacts(),
            &Transports::default(),
        ))
        .unwrap_err();
    assert!(matches!(err, PushError::Tcp { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
