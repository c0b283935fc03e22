//! Sequences of crafted SyncML messages through the whole session handler, with and
//! without credentials, from a phone and from strangers who know its device ID and
//! SessionID. Checks: no panic; a message without the right credentials or token never
//! gets 200/212 nor a copy of a reply meant for someone else; no reply carries a session
//! token handed to another party.
//!
//! The upstream is a minimal loopback HTTP responder inside this target: it accepts the
//! log-in PROPFIND of two known accounts and answers everything else 404, so sessions
//! run their full log-in and state machine while the datastores fail cleanly. Speed
//! matters more here than DAV fidelity; the integration tests use Radicale.
#![no_main]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use syncml_bridge::config::Config;
use syncml_bridge::http::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};
use syncml_bridge::session::{SessionHandler, Shared};
use syncml_bridge::store::Store;

const ALICE: (&str, &str) = ("alice", "secret");
const BOB: (&str, &str) = ("bob", "hunter2");
const DEVICE: &str = "IMEI:356938035643809";

struct World {
    runtime: tokio::runtime::Runtime,
    handler: SessionHandler,
    _dir: tempfile::TempDir,
}

/// Answers one connection's requests: 207 to a PROPFIND with a known account, 401 to one
/// without, 404 to anything else.
fn serve_upstream(stream: std::net::TcpStream) {
    let Ok(clone) = stream.try_clone() else { return };
    let mut reader = BufReader::new(clone);
    let mut writer = stream;
    let known: Vec<String> = [ALICE, BOB]
        .iter()
        .map(|(u, p)| {
            format!(
                "basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
        .collect();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let method = line.split(' ').next().unwrap_or("").to_owned();
        let (mut length, mut authorised) = (0usize, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if let Some(v) = lower.strip_prefix("authorization:") {
                authorised = known.iter().any(|k| k.eq_ignore_ascii_case(v.trim()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, text) = match (method.as_str(), authorised) {
            (_, false) => ("401 Unauthorized", String::new()),
            ("PROPFIND", true) => (
                "207 Multi-Status",
                "<?xml version=\"1.0\"?><d:multistatus xmlns:d=\"DAV:\"><d:response><d:href>/</d:href>\
                 <d:propstat><d:prop><d:current-user-principal><d:href>/p/</d:href></d:current-user-principal>\
                 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"
                    .to_owned(),
            ),
            _ => ("404 Not Found", String::new()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
        let addr = listener.local_addr().expect("upstream address");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve_upstream(stream));
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = Config::default();
        cfg.upstream.url = format!("http://{addr}/");
        cfg.upstream.read_retries = 0;
        cfg.data_dir = dir.path().to_owned();
        // Strangers fail often here; the throttle is tested elsewhere and would only
        // slow the fuzzer down.
        cfg.auth.throttle_address_failures = u32::MAX;
        cfg.auth.throttle_user_failures = u32::MAX;
        cfg.auth.failure_delay_ms = 0;
        cfg.auth.max_failure_delay_ms = 0;
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let shared = runtime
            .block_on(async { Shared::new(&cfg, store) })
            .expect("shared");
        World {
            runtime,
            handler: SessionHandler::new(Arc::new(shared)),
            _dir: dir,
        }
    })
}

/// Who sends a message.
#[derive(Clone, Copy, PartialEq)]
enum Sender {
    /// alice's phone: its credentials in message 1, then its token.
    Phone,
    /// A stranger with the phone's IDs and no credentials.
    Anonymous,
    /// A stranger with the phone's IDs and a wrong password.
    Guesser,
    /// bob, with his own valid credentials and the phone's IDs.
    OtherUser,
}

fn basic((user, password): (&str, &str)) -> String {
    format!(
        "<Cred><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-basic</Type></Meta><Data>{}</Data></Cred>",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Body commands a phone sends; the fuzzer picks among them and adds its own bytes.
const COMMANDS: [&str; 6] = [
    "<Alert><CmdID>1</CmdID><Data>201</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./c</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\"><Next>1</Next></Anchor></Meta></Item></Alert>",
    "<Alert><CmdID>1</CmdID><Data>200</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./c</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\"><Last>1</Last><Next>2</Next></Anchor></Meta></Item></Alert>",
    "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./c</LocURI></Source><Add><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta><Item><Source><LocURI>1</LocURI></Source><Data>BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nEND:VCARD</Data></Item></Add></Sync>",
    "<Map><CmdID>4</CmdID><Target><LocURI>./c</LocURI></Target><Source><LocURI>contacts</LocURI></Source><MapItem><Target><LocURI>1</LocURI></Target><Source><LocURI>x</LocURI></Source></MapItem></Map>",
    "<Status><CmdID>5</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
    "<Alert><CmdID>6</CmdID><Data>222</Data></Alert>",
];

fn message(sender: Sender, msg_id: u8, with_cred: bool, body: &str, url: &str) -> String {
    let cred = match (sender, with_cred) {
        (Sender::Phone, true) => basic(ALICE),
        (Sender::Guesser, _) => basic((ALICE.0, "guess")),
        (Sender::OtherUser, _) => basic(BOB),
        _ => String::new(),
    };
    format!(
        "<SyncML xmlns=\"syncml:syncml1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>{msg_id}</MsgID><Target><LocURI>{url}</LocURI></Target>\
         <Source><LocURI>{DEVICE}</LocURI></Source>{cred}</SyncHdr><SyncBody>{body}<Final/></SyncBody></SyncML>"
    )
}

/// The `sid=` tokens a reply hands out.
fn tokens(text: &str) -> Vec<String> {
    text.match_indices("sid=")
        .map(|(i, _)| {
            text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .collect()
}

fn header_status(text: &str) -> Option<u16> {
    let start = text.find("<Cmd>SyncHdr</Cmd>")?;
    let data = text[start..].find("<Data>")? + start + 6;
    let end = text[data..].find('<')? + data;
    text[data..end].trim().parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    // Each sequence is its own set of parties: tokens of earlier runs are not theirs.
    let mut phone_tokens: Vec<String> = Vec::new();
    let mut other_tokens: Vec<String> = Vec::new();
    let mut phone_url = String::from("/syncml");
    for chunk in data.chunks(8).take(12) {
        let sender = match chunk[0] % 4 {
            0 => Sender::Phone,
            1 => Sender::Anonymous,
            2 => Sender::Guesser,
            _ => Sender::OtherUser,
        };
        let msg_id = chunk.get(1).copied().unwrap_or(1) % 4 + 1;
        let with_cred = chunk.get(2).is_some_and(|b| b % 2 == 0);
        let mut body: String = chunk
            .get(3..)
            .unwrap_or_default()
            .iter()
            .take(3)
            .map(|b| COMMANDS[*b as usize % COMMANDS.len()])
            .collect();
        // The rest of the chunk as raw text among the commands.
        if let Some(extra) = chunk.get(6..) {
            body.push_str(&String::from_utf8_lossy(extra));
        }
        // Strangers may guess at URLs but only the phone holds its token.
        let path = match sender {
            Sender::Phone => phone_url.clone(),
            _ => "/syncml".to_owned(),
        };
        let xml = message(sender, msg_id, with_cred, &body, &path);
        let request = SyncmlRequest {
            body: bytes::Bytes::from(xml),
            encoding: WireEncoding::Xml,
            path_and_query: path,
            remote: SocketAddr::from(([127, 0, 0, 1], 40000)),
            user_agent: None,
        };
        let reply = w.runtime.block_on(w.handler.handle(request));
        let SyncmlReply::Message { body, .. } = reply else { continue };
        let text = String::from_utf8_lossy(&body).into_owned();
        let handed = tokens(&text);
        match sender {
            Sender::Phone => {
                assert!(
                    handed.iter().all(|t| !other_tokens.contains(t)),
                    "the phone was handed bob's session:\n{text}"
                );
                if let Some(t) = handed.first() {
                    phone_url = format!("/syncml?sid={t}");
                    phone_tokens.push(t.clone());
                }
            }
            Sender::Anonymous | Sender::Guesser => {
                assert!(handed.is_empty(), "a token went to a stranger:\n{text}");
                let code = header_status(&text);
                assert!(
                    !matches!(code, Some(200) | Some(212)),
                    "a stranger got {code:?}:\n{text}"
                );
            }
            Sender::OtherUser => {
                assert!(
                    handed.iter().all(|t| !phone_tokens.contains(t)),
                    "bob was handed alice's session:\n{text}"
                );
                other_tokens.extend(handed);
            }
        }
    }
});
