//! The real `syncml-bridge serve` binary against hostile clients: deeply nested messages
//! are refused (on their header without credentials, with 400 when logged in) and the
//! server lives on; slow bodies are
//! cut with 408 while `/healthz` keeps answering; one address cannot take every
//! connection; large messages are refused within bounded memory; a forged `Host` never
//! shows up in a `Location` from the upstream.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use support::bridge::Bridge;
use support::radicale::Radicale;
use support::tools::free_port;

const HDR: &str = "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>\
<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>http://bridge/syncml</LocURI></Target>\
<Source><LocURI>IMEI:1</LocURI></Source></SyncHdr>";

/// A second loopback address: Linux answers the whole 127/8 on `lo`.
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn dead_upstream() -> String {
    format!("http://127.0.0.1:{}/", free_port())
}

fn client_from(ip: IpAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .local_address(ip)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn client() -> reqwest::blocking::Client {
    client_from(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn nested(open: &str, close: &str, n: usize) -> Vec<u8> {
    format!(
        "<SyncML xmlns='SYNCML:SYNCML1.2'>{HDR}<SyncBody>{}{}<Final/></SyncBody></SyncML>",
        open.repeat(n),
        close.repeat(n)
    )
    .into_bytes()
}

fn assert_healthy(bridge: &mut Bridge) {
    let health = client()
        .get(format!("{}/healthz", bridge.base_url()))
        .send()
        .expect("/healthz answers");
    assert_eq!(health.status(), 200);
    assert!(bridge.exited().is_none(), "the server process ended");
}

/// The SyncHdr status of a reply in either encoding.
fn header_status_of(body: &[u8]) -> u16 {
    let reply = syncml_bridge::syncml::decode(body).expect("the reply decodes");
    reply
        .message
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            syncml_bridge::syncml::model::Command::Status(s) if s.cmd == "SyncHdr" => {
                Some(s.code.code())
            }
            _ => None,
        })
        .expect("a SyncHdr status")
}

/// `message` with Basic credentials of alice in its header.
fn with_alice(message: &[u8]) -> Vec<u8> {
    let cred = "<Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta>\
                <Data>YWxpY2U6c2VjcmV0</Data></Cred></SyncHdr>";
    String::from_utf8_lossy(message)
        .replacen("</SyncHdr>", cred, 1)
        .into_bytes()
}

#[test]
fn deeply_nested_messages_are_refused_and_the_server_lives() {
    let radicale = Radicale::start();
    let mut bridge = Bridge::start(&radicale.base_url());
    let mut wbxml = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6B];
    wbxml.extend(std::iter::repeat_n(0x64, 64_000));
    let cases = [
        (
            "500 nested Atomic",
            "application/vnd.syncml+xml",
            nested("<Atomic><CmdID>1</CmdID>", "</Atomic>", 500),
            "commands nest deeper than",
        ),
        (
            "12,000 nested unknown elements",
            "application/vnd.syncml+xml",
            nested("<Unknown>", "</Unknown>", 12_000),
            "elements nest deeper than",
        ),
        (
            "64,000 nested WBXML Sequence",
            "application/vnd.syncml+wbxml",
            wbxml,
            "commands nest deeper than",
        ),
    ];
    for (what, media, body, reason) in cases {
        // Without credentials the header alone is read and refused: the body's tree is
        // never built.
        let response = client()
            .post(bridge.syncml_url())
            .header("Content-Type", media)
            .body(body.clone())
            .send()
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        if media.ends_with("wbxml") {
            // This document has no SyncHdr at all: malformed from its first bytes.
            assert_eq!(response.status(), 400, "{what}");
            assert_healthy(&mut bridge);
            continue;
        }
        assert_eq!(response.status(), 200, "{what}");
        let reply = response.bytes().expect("reply");
        assert_eq!(header_status_of(&reply), 407, "{what}");
        assert_healthy(&mut bridge);
        // Logged in, the body is decoded within its bounds and refused with 400.
        let response = client()
            .post(bridge.syncml_url())
            .header("Content-Type", media)
            .body(with_alice(&body))
            .send()
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        assert_eq!(response.status(), 400, "{what}");
        let text = response.text().expect("reason");
        assert!(text.contains(reason), "{what}: {text}");
        assert_healthy(&mut bridge);
    }
}

/// Opens a connection from 127.0.0.1 and sends `head` plus `body_start`, leaving the
/// rest unsent.
fn stall(port: u16, head: &str, body_start: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body_start).expect("send body start");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream
}

/// A connection from 127.0.0.1 holding an unfinished SyncML body, checked to be
/// served rather than turned away (a check connection of the start-up may still be
/// closing when the first ones arrive).
fn hold(port: u16) -> TcpStream {
    for _ in 0..20 {
        let mut stream = stall(port, SLOW_POST, b"<SyncML>");
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("read timeout");
        let mut first = [0u8; 1];
        match stream.read(&mut first) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return stream;
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    panic!("no connection was served");
}

fn answer_of(mut stream: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

const SLOW_POST: &str = "POST /syncml HTTP/1.1\r\nHost: bridge\r\n\
Content-Type: application/vnd.syncml+xml\r\nContent-Length: 100000\r\n\r\n";

#[test]
fn slow_bodies_are_cut_with_408_while_health_checks_answer() {
    const SLOTS: usize = 12;
    const SYNCML_REQUESTS: usize = 8;
    let bridge = Bridge::builder(&dead_upstream())
        .env("SYNCML_BRIDGE_LIMITS__MAX_CONNECTIONS", &SLOTS.to_string())
        .env("SYNCML_BRIDGE_LIMITS__HEALTH_CONNECTIONS", "2")
        .env("SYNCML_BRIDGE_LIMITS__MAX_CONNECTIONS_PER_IP", "100")
        .env(
            "SYNCML_BRIDGE_LIMITS__MAX_SYNCML_REQUESTS",
            &SYNCML_REQUESTS.to_string(),
        )
        .env("SYNCML_BRIDGE_LIMITS__SYNCML_QUEUE_SECS", "1")
        .env("SYNCML_BRIDGE_LIMITS__BODY_READ_TIMEOUT_SECS", "4")
        .env("SYNCML_BRIDGE_LIMITS__MIN_BODY_BYTES_PER_SEC", "1000")
        .env("SYNCML_BRIDGE_LIMITS__HEADER_READ_TIMEOUT_SECS", "6")
        .start();
    let port = bridge.port();
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..SYNCML_REQUESTS)
        .map(|_| stall(port, SLOW_POST, b"<SyncML>"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // Every SyncML permit is taken: another message waits its turn, then is turned away.
    let refused = answer_of(stall(
        port,
        "POST /syncml HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\n\
         Content-Type: application/vnd.syncml+xml\r\nContent-Length: 8\r\n\r\n",
        b"<SyncML>",
    ));
    assert_eq!(status_of(&refused), 503, "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after"),
        "{refused}"
    );

    // The refused connection's slot is free once its task ends, shortly after it closed.
    std::thread::sleep(Duration::from_millis(500));
    // Fill the remaining connection slots with request heads that never end.
    let idle: Vec<TcpStream> = (SYNCML_REQUESTS..SLOTS)
        .map(|_| stall(port, "GET /healthz HTTP/1.1\r\n", b""))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Two health-only connections beyond the cap: each answer is read to its end so
    // the connection closes and frees its slot for the next check.
    for path in ["/healthz", "/metrics", "/healthz"] {
        let response = client()
            .get(format!("{}{path}", bridge.base_url()))
            .send()
            .unwrap_or_else(|e| panic!("{path} answers while every slot is taken: {e}"));
        assert_eq!(response.status(), 200, "{path}");
        assert!(!response.text().expect("body").is_empty(), "{path}");
    }
    let busy = client()
        .post(bridge.syncml_url())
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(nested("", "", 0))
        .send()
        .expect("an answer on a health-only connection");
    assert_eq!(busy.status(), 503, "{}", bridge.log_text());
    assert!(busy.text().expect("reason").contains("connection limit"));

    // Eight bytes earn 8 ms: the bodies are cut shortly after the 4 s grace, and not
    // before: every check above ran while they held their slots.
    for stream in slow {
        let answer = answer_of(stream);
        assert_eq!(status_of(&answer), 408, "{answer}");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(3900) && elapsed < Duration::from_secs(8),
        "slow bodies cut after {elapsed:?}"
    );
    let metrics = client()
        .get(format!("{}/metrics", bridge.base_url()))
        .send()
        .and_then(|r| r.text())
        .expect("/metrics");
    for (reason, count) in [
        ("body_too_slow", SYNCML_REQUESTS),
        ("syncml_busy", 1),
        ("connection_limit", 1),
    ] {
        let line = format!("syncml_bridge_http_refused_total{{reason=\"{reason}\"}} {count}\n");
        assert!(metrics.contains(&line), "{line}{metrics}");
    }
    drop(idle);
}

#[test]
fn one_address_cannot_take_every_connection() {
    let bridge = Bridge::builder(&dead_upstream())
        .env("SYNCML_BRIDGE_LIMITS__MAX_CONNECTIONS_PER_IP", "5")
        .env("SYNCML_BRIDGE_LIMITS__HEADER_READ_TIMEOUT_SECS", "10")
        .start();
    let port = bridge.port();
    let held: Vec<TcpStream> = (0..5).map(|_| hold(port)).collect();

    // Nothing sent, so the refusal is read whole before the server closes.
    let turned_away = answer_of(stall(port, "", b""));
    assert!(
        turned_away.starts_with("HTTP/1.1 503"),
        "{turned_away}\n{}",
        bridge.log_text()
    );
    assert!(
        turned_away.contains("too many connections"),
        "{turned_away}"
    );
    let other = client_from(OTHER_CLIENT)
        .get(format!("{}/healthz", bridge.base_url()))
        .send()
        .expect("another address is served");
    assert_eq!(other.status(), 200);
    let other_syncml = client_from(OTHER_CLIENT)
        .post(bridge.syncml_url())
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(nested("<Atomic><CmdID>1</CmdID>", "</Atomic>", 500))
        .send()
        .expect("another address reaches the SyncML path");
    // Served (and refused on its header for want of credentials), not turned away.
    assert_eq!(other_syncml.status(), 200);

    // Once the address's connections end, it is served again.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let again = client()
        .get(format!("{}/healthz", bridge.base_url()))
        .send()
        .expect("served again");
    assert_eq!(again.status(), 200);
}

/// Sends `request` on a fresh connection and returns the whole answer.
fn exchange(port: u16, request: &str) -> String {
    answer_of(stall(port, request, b""))
}

fn location_of(answer: &str) -> Option<&str> {
    answer.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location").then(|| value.trim())
    })
}

#[test]
fn a_forged_host_never_shows_up_in_a_location_from_the_upstream() {
    let radicale = Radicale::start();
    let bridge = Bridge::start(&radicale.base_url());
    let radicale_port = radicale
        .base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .expect("Radicale port");
    let mut redirects = 0;
    for path in ["/.well-known/carddav", "/.well-known/caldav", "/alice"] {
        let request = |host: &str| {
            format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\n\
                 Authorization: Basic YWxpY2U6c2VjcmV0\r\nConnection: close\r\n\r\n"
            )
        };
        let direct = exchange(
            radicale_port,
            &request(&format!("127.0.0.1:{radicale_port}")),
        );
        let Some(direct_location) = location_of(&direct) else {
            continue;
        };
        let through = exchange(bridge.port(), &request("evil.example"));
        let location = location_of(&through).unwrap_or_else(|| panic!("{path}: {through}"));
        assert!(!location.contains("evil.example"), "{path}: {location}");
        let expected = direct_location.replace(radicale.base_url().trim_end_matches('/'), "");
        assert_eq!(
            location, expected,
            "{path}: Radicale sent {direct_location}"
        );
        redirects += 1;
    }
    assert!(redirects > 0, "Radicale redirected none of the paths");
}

/// Peak resident memory of a process, from `/proc/PID/status`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Eight 4 MB messages of minimal Adds at once, without credentials, are refused on their
/// header before their body is decoded, and the server's peak memory stays a small
/// multiple of the bodies (it used to grow by about a hundred times the body size).
#[test]
fn large_messages_without_credentials_are_refused_within_bounded_memory() {
    const BODIES: usize = 8;
    const PEAK_LIMIT_KIB: u64 = 128 * 1024;
    let bridge = Bridge::start(&dead_upstream());
    let add = "<Add><CmdID>1</CmdID><Item><Data>x</Data></Item></Add>";
    let body = nested("", "", 0);
    let (head, tail) = body.split_at(body.len() - "<Final/></SyncBody></SyncML>".len());
    let adds = (4 * 1024 * 1024 - body.len()) / add.len();
    let mut message = head.to_vec();
    message.extend(add.repeat(adds).into_bytes());
    message.extend_from_slice(tail);
    let url = bridge.syncml_url();
    let answers: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let posts: Vec<_> = (0..BODIES)
            .map(|_| {
                scope.spawn(|| {
                    let response = reqwest::blocking::Client::builder()
                        .no_proxy()
                        .timeout(Duration::from_secs(60))
                        .build()
                        .expect("client")
                        .post(&url)
                        .header("Content-Type", "application/vnd.syncml+xml")
                        .body(message.clone())
                        .send()
                        .expect("an answer");
                    let status = response.status().as_u16();
                    (status, response.bytes().expect("reply").to_vec())
                })
            })
            .collect();
        posts.into_iter().map(|p| p.join().expect("post")).collect()
    });
    for (status, reply) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(header_status_of(reply), 407);
    }
    let peak = peak_rss_kib(bridge.pid());
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak RSS {peak} KiB for {BODIES} bodies of {} bytes",
        message.len()
    );
}
