//! The HTTP front door with a recording echo handler: media types, limits, timeouts,
//! handler errors and panics, connection cap, graceful shutdown, proxy headers.

mod http_bridge;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_bridge::{client, dead_upstream, settings, Bridge};
use syncml_bridge::http::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};

const XML: &[u8] = b"<?xml version=\"1.0\"?><SyncML><SyncHdr/></SyncML>";
const WBXML: &[u8] = b"\x02\xa4\x01\x6a\x00\x6d\x6c\x71\x03\x31\x2e\x32\x00\x01\x01";

/// Echoes every message back; `mode=` in the query selects misbehaviour.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<SyncmlRequest>>,
}

impl Recorder {
    fn seen(&self) -> Vec<SyncmlRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl SyncmlHandler for Recorder {
    async fn handle(&self, req: SyncmlRequest) -> SyncmlReply {
        self.seen.lock().unwrap().push(req.clone());
        let mode = req
            .path_and_query
            .split("mode=")
            .nth(1)
            .and_then(|m| m.split('&').next())
            .unwrap_or("")
            .to_owned();
        match mode.as_str() {
            "bad" => {
                return SyncmlReply::Error {
                    status: StatusCode::BAD_REQUEST,
                    reason: "not a SyncML message".into(),
                }
            }
            "panic" => panic!("handler exploded"),
            "slow" => tokio::time::sleep(Duration::from_secs(10)).await,
            "brief" => tokio::time::sleep(Duration::from_millis(600)).await,
            _ => {}
        }
        SyncmlReply::Message {
            body: req.body,
            encoding: req.encoding,
        }
    }
}

fn start(recorder: &Arc<Recorder>) -> Bridge {
    Bridge::start(settings(&dead_upstream()), recorder.clone())
}

/// Sends raw bytes on a fresh connection and returns everything the server sent back.
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(raw_answer: &str) -> u16 {
    raw_answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw_answer:?}"))
}

#[test]
fn syncml_media_types_are_recognised_with_parameters_odd_case_or_none() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let cases: [(Option<&str>, &[u8], WireEncoding); 6] = [
        (Some("application/vnd.syncml+xml"), XML, WireEncoding::Xml),
        (
            Some("application/vnd.syncml+wbxml"),
            WBXML,
            WireEncoding::Wbxml,
        ),
        (
            Some("application/vnd.syncml+wbxml; charset=UTF-8"),
            WBXML,
            WireEncoding::Wbxml,
        ),
        (
            Some("APPLICATION/Vnd.SyncML+XML;Charset=utf-8"),
            XML,
            WireEncoding::Xml,
        ),
        (None, XML, WireEncoding::Xml),
        (None, WBXML, WireEncoding::Wbxml),
    ];
    let http = client();
    for (i, (content_type, body, encoding)) in cases.iter().enumerate() {
        let mut request = http
            .post(bridge.url("/syncml?x=1"))
            .header("User-Agent", "Nokia6230i/2.0")
            .body(body.to_vec());
        if let Some(ct) = content_type {
            request = request.header("Content-Type", *ct);
        }
        let response = request.send().unwrap();
        assert_eq!(response.status(), 200, "case {i}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], encoding.media_type(), "case {i}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
        assert_eq!(&response.bytes().unwrap()[..], *body, "case {i}");

        let seen = recorder.seen();
        let last = seen.last().unwrap();
        assert_eq!(seen.len(), i + 1);
        assert_eq!(last.encoding, *encoding, "case {i}");
        assert_eq!(last.body, Bytes::from_static(body));
        assert_eq!(last.path_and_query, "/syncml?x=1");
        assert_eq!(last.user_agent.as_deref(), Some("Nokia6230i/2.0"));
        assert!(last.remote.ip().is_loopback());
    }
}

#[test]
fn parameters_glued_to_the_path_reach_the_handler() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let response = client()
        .post(bridge.url("/syncml&sync=1&format=vob"))
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(XML)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        recorder.seen()[0].path_and_query,
        "/syncml&sync=1&format=vob"
    );
}

#[test]
fn other_media_types_and_unrecognisable_bodies_get_415() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let http = client();
    let typed = http
        .post(bridge.url("/syncml"))
        .header("Content-Type", "text/plain")
        .body(XML)
        .send()
        .unwrap();
    assert_eq!(typed.status(), 415);
    assert!(typed.text().unwrap().contains("text/plain"));
    let untyped = http
        .post(bridge.url("/syncml"))
        .body("hello")
        .send()
        .unwrap();
    assert_eq!(untyped.status(), 415);
    assert!(
        recorder.seen().is_empty(),
        "the handler must not see refused bodies"
    );
}

#[test]
fn bodies_over_the_limit_get_413_whether_announced_or_chunked() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let http = client();

    let mut at_limit = XML.to_vec();
    at_limit.resize(1024, b' ');
    let ok = http
        .post(bridge.url("/syncml"))
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(at_limit)
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200, "a body of exactly the limit is accepted");

    let mut over = XML.to_vec();
    over.resize(1025, b' ');
    let announced = http
        .post(bridge.url("/syncml"))
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(over)
        .send()
        .unwrap();
    assert_eq!(announced.status(), 413);

    let chunk = format!("{:x}\r\n<{}>\r\n", 600, "x".repeat(598));
    let chunked = format!(
        "POST /syncml HTTP/1.1\r\nHost: b\r\nContent-Type: application/vnd.syncml+xml\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let answer = raw(bridge.addr(), chunked.as_bytes());
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert_eq!(
        recorder.seen().len(),
        1,
        "only the body at the limit reached the handler"
    );
}

#[test]
fn health_and_probe_pages_answer_get() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let http = client();
    let health = http.get(bridge.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().unwrap(), "ok");
    let probe = http.get(bridge.url("/syncml")).send().unwrap();
    assert_eq!(probe.status(), 200);
    assert!(probe.text().unwrap().contains("SyncML"));
    let put = http.put(bridge.url("/syncml")).body("x").send().unwrap();
    assert_eq!(put.status(), 405);
}

#[test]
fn handler_errors_keep_their_status_and_a_panic_is_a_500_that_harms_nothing_else() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let http = client();
    let post = |query: &str| {
        http.post(bridge.url(&format!("/syncml?{query}")))
            .header("Content-Type", "application/vnd.syncml+xml")
            .body(XML)
            .send()
            .unwrap()
    };
    let bad = post("mode=bad");
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.text().unwrap(), "not a SyncML message");

    for _ in 0..3 {
        assert_eq!(post("mode=panic").status(), 500);
        let after = post("mode=echo");
        assert_eq!(
            after.status(),
            200,
            "the server keeps serving after a panic"
        );
        assert_eq!(&after.bytes().unwrap()[..], XML);
    }
    assert_eq!(
        http.get(bridge.url("/healthz")).send().unwrap().status(),
        200
    );
}

#[test]
fn a_slow_handler_gets_504_and_a_slow_body_gets_408() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let slow = client()
        .post(bridge.url("/syncml?mode=slow"))
        .header("Content-Type", "application/vnd.syncml+xml")
        .body(XML)
        .send()
        .unwrap();
    assert_eq!(slow.status(), 504);

    let stalled = raw(
        bridge.addr(),
        b"POST /syncml HTTP/1.1\r\nHost: b\r\nContent-Type: application/vnd.syncml+xml\r\n\
          Content-Length: 100\r\n\r\n<SyncML>",
    );
    assert_eq!(status_of(&stalled), 408, "{stalled}");
}

#[test]
fn the_connection_cap_holds_clients_back_until_a_slot_frees() {
    let recorder = Arc::new(Recorder::default());
    let mut s = settings(&dead_upstream());
    s.max_connections = 1;
    s.health_connections = 0;
    s.header_read_timeout = Duration::from_secs(3);
    let bridge = Bridge::start(s, recorder.clone());

    // Holds the only slot by never finishing its request head.
    let mut holder = TcpStream::connect(bridge.addr()).unwrap();
    holder.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let impatient = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let blocked = impatient.get(bridge.url("/healthz")).send();
    assert!(
        blocked.is_err(),
        "a second connection must wait while the cap is reached"
    );

    // The header-read timeout closes the stalled connection, which frees the slot.
    holder
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = holder.read_to_end(&mut rest);
    let served = client().get(bridge.url("/healthz")).send().unwrap();
    assert_eq!(served.status(), 200);
}

#[test]
fn shutdown_lets_in_flight_requests_finish_then_stops_listening() {
    let recorder = Arc::new(Recorder::default());
    let mut bridge = start(&recorder);
    let url = bridge.url("/syncml?mode=brief");
    let in_flight = std::thread::spawn(move || {
        client()
            .post(url)
            .header("Content-Type", "application/vnd.syncml+xml")
            .body(XML)
            .send()
            .map(|r| r.status())
    });
    while recorder.seen().is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    bridge.signal_stop();
    let status = in_flight
        .join()
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(status, 200);
    let addr = bridge.addr();
    bridge.stop().expect("a clean shutdown");
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
}

/// Accepts one connection, returns its request head and body, and answers with `reply` (or
/// keeps the connection open without a word when `reply` is `None`).
fn capture_one(listener: &TcpListener, reply: Option<&str>) -> String {
    let (mut stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    match reply {
        Some(reply) => stream.write_all(reply.as_bytes()).unwrap(),
        None => std::thread::sleep(Duration::from_secs(3)),
    }
    format!("{head}{}", String::from_utf8_lossy(&body))
}

#[test]
fn proxied_requests_carry_forwarding_headers_and_a_silent_upstream_gives_504() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let mut s = settings(&format!("http://{up_addr}/"));
    s.upstream_timeout = Duration::from_secs(1);
    let bridge = Bridge::start(s, Arc::new(Recorder::default()));

    let redirect = format!(
        "HTTP/1.1 301 Moved Permanently\r\nLocation: http://{up_addr}/alice/?a=1\r\n\
         Content-Length: 5\r\nConnection: close\r\n\r\nmoved"
    );
    let captured = std::thread::scope(|scope| {
        let capture = scope.spawn(|| capture_one(&upstream, Some(&redirect)));
        let response = client()
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
                bridge.url("/.well-known/carddav?x=1"),
            )
            .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
            .header("Connection", "X-Hop")
            .header("X-Hop", "drop me")
            .header("Depth", "0")
            .send()
            .unwrap();
        assert_eq!(response.status(), 301);
        assert_eq!(response.headers()["location"], "/alice/?a=1");
        assert_eq!(response.text().unwrap(), "moved");
        capture.join().unwrap()
    });
    let lower = captured.to_ascii_lowercase();
    assert!(
        captured.starts_with("PROPFIND /.well-known/carddav?x=1 HTTP/1.1\r\n"),
        "{captured}"
    );
    assert!(
        lower.contains(&format!("host: {up_addr}\r\n")),
        "{captured}"
    );
    assert!(
        lower.contains("authorization: basic ywxpy2u6c2vjcmv0\r\n"),
        "{captured}"
    );
    assert!(
        lower.contains("x-forwarded-for: 127.0.0.1\r\n"),
        "{captured}"
    );
    assert!(lower.contains("x-forwarded-proto: http\r\n"), "{captured}");
    assert!(
        lower.contains(&format!("x-forwarded-host: {}\r\n", bridge.addr())),
        "{captured}"
    );
    assert!(
        lower.contains("forwarded: for=127.0.0.1;proto=http;host="),
        "{captured}"
    );
    assert!(lower.contains("depth: 0\r\n"), "{captured}");
    assert!(!lower.contains("x-hop"), "{captured}");

    std::thread::scope(|scope| {
        scope.spawn(|| capture_one(&upstream, None));
        let response = client().get(bridge.url("/alice/")).send().unwrap();
        assert_eq!(response.status(), 504);
    });
}

#[test]
fn a_forged_host_never_reaches_a_location_on_the_upstream() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let bridge = Bridge::start(
        settings(&format!("http://{up_addr}/")),
        Arc::new(Recorder::default()),
    );
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://{up_addr}/alice/calendar/?t=1\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let answer = std::thread::scope(|scope| {
        scope.spawn(|| capture_one(&upstream, Some(&redirect)));
        raw(
            bridge.addr(),
            b"GET /.well-known/caldav HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        )
    });
    assert_eq!(status_of(&answer), 302, "{answer}");
    assert!(
        answer.contains("\r\nlocation: /alice/calendar/?t=1\r\n"),
        "{answer}"
    );
    assert!(!answer.contains("evil.example"), "{answer}");
}

#[test]
fn an_unreachable_upstream_gives_502() {
    let bridge = start(&Arc::new(Recorder::default()));
    let response = client().get(bridge.url("/alice/")).send().unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.text().unwrap().contains("unreachable"));
}

/// HTTP request targets carry no fragment; the parser drops what follows a `#`. A phone
/// configured with `/syncml#sync=1` is still served on the SyncML path.
#[test]
fn a_hash_in_the_request_line_still_reaches_the_syncml_path() {
    let recorder = Arc::new(Recorder::default());
    let bridge = start(&recorder);
    let answer = raw(
        bridge.addr(),
        b"POST /syncml#sync=1 HTTP/1.1\r\nHost: b\r\nContent-Type: application/vnd.syncml+xml\r\n\
          Content-Length: 8\r\nConnection: close\r\n\r\n<SyncML>",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.ends_with("<SyncML>"), "{answer}");
    assert_eq!(recorder.seen()[0].path_and_query, "/syncml");
}

#[test]
fn a_slow_upload_is_not_mistaken_for_a_slow_upstream() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut s = settings(&format!("http://{}/", upstream.local_addr().unwrap()));
    s.upstream_timeout = Duration::from_secs(1);
    let bridge = Bridge::start(s, Arc::new(Recorder::default()));
    let created = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let (answer, captured) = std::thread::scope(|scope| {
        let capture = scope.spawn(|| capture_one(&upstream, Some(created)));
        let mut client = TcpStream::connect(bridge.addr()).unwrap();
        client
            .write_all(b"PUT /alice/c/1.vcf HTTP/1.1\r\nHost: b\r\nContent-Length: 19\r\nConnection: close\r\n\r\nBEGIN:VCARD\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        client.write_all(b"END:\r\n").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        let _ = client.read_to_string(&mut answer);
        (answer, capture.join().unwrap())
    });
    assert_eq!(status_of(&answer), 201, "{answer}");
    assert!(
        captured.ends_with("\r\n\r\nBEGIN:VCARD\r\nEND:\r\n"),
        "{captured:?}"
    );
    assert!(
        captured
            .to_ascii_lowercase()
            .contains("content-length: 19\r\n"),
        "{captured}"
    );
}
