//! Replays a recorded SyncML session (a phone's messages, `NN-in.xml`) against a running
//! bridge and checks every answer. The `replay` command and the device corpus tests
//! (`tests/devices/`) both run it.
//!
//! Only what must change is changed: the URL the phone was given (the header's Target and
//! every reference to it) becomes the bridge's, the credentials become Basic for the given
//! user, each message goes to the RespURI of the answer before it (a new SessionID starts
//! at the bridge's URL again), and the ids the recorded server handed out for its own
//! items are replaced, in the phone's later Status and Map commands, by the ids this bridge
//! handed out in the same place (the n-th added item of the recording is the n-th added
//! item of the replay).

mod check;
mod recording;
pub mod rewrite;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use check::{acceptable, read_reply, recorded_adds, ReplyFacts, StatusLine};
pub use recording::{Recorded, Recording};

use crate::syncml::{auth, decode, encode_with, EncodeOptions, Encoding};

/// Why a replay could not run (a check failing is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Codec {
        path: PathBuf,
        source: crate::syncml::CodecError,
    },
    #[error("{message}: the rewritten message cannot be encoded again: {source}")]
    Reencode {
        message: String,
        source: crate::syncml::CodecError,
    },
    #[error("no NN-in.xml or NN-in.wbxml message in {0}")]
    Empty(PathBuf),
    #[error("{0}: the recorded message has no SyncHdr Target LocURI")]
    NoTarget(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

/// Where and as whom to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The bridge's SyncML URL, e.g. `http://127.0.0.1:8080/syncml`.
    pub url: String,
    /// The user and password put in the header's Cred (Basic); `None` keeps the recorded one.
    pub credentials: Option<(String, String)>,
    /// How long one answer may take.
    pub timeout: Duration,
}

/// One message sent and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The recorded file, e.g. `02-in.xml`.
    pub message: String,
    pub session: String,
    pub url: String,
    /// The HTTP status, or `None` when no answer came.
    pub http: Option<u16>,
    pub statuses: Vec<StatusLine>,
    pub problems: Vec<String>,
    /// The reply as it came (empty when none came).
    pub reply: Vec<u8>,
}

/// Every exchange of a replay.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub exchanges: Vec<Exchange>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.exchanges.iter().all(|e| e.problems.is_empty())
    }

    /// Every problem, prefixed with its message's file name.
    pub fn problems(&self) -> Vec<String> {
        self.exchanges
            .iter()
            .flat_map(|e| {
                e.problems
                    .iter()
                    .map(move |p| format!("{}: {p}", e.message))
            })
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.exchanges {
            let http = e
                .http
                .map_or("no answer".to_owned(), |h| format!("HTTP {h}"));
            writeln!(
                f,
                "{} (session {}) -> {} {http}",
                e.message, e.session, e.url
            )?;
            for s in &e.statuses {
                let item = s
                    .item
                    .as_deref()
                    .map(|i| format!(" {i}"))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "    {} {}/{}{item}: {}",
                    s.cmd, s.msg_ref, s.cmd_ref, s.code
                )?;
            }
            for p in &e.problems {
                writeln!(f, "    FAILED: {p}")?;
            }
        }
        let failed = self
            .exchanges
            .iter()
            .filter(|e| !e.problems.is_empty())
            .count();
        writeln!(
            f,
            "{} messages replayed, {} with a failed check: {}",
            self.exchanges.len(),
            failed,
            if failed == 0 { "PASS" } else { "FAIL" }
        )
    }
}

/// The state that carries from one message to the next.
struct Conversation {
    session: Option<String>,
    url: String,
    /// Recorded server id -> the id this bridge gave the same item.
    ids: BTreeMap<String, String>,
    /// The recorded and the live server adds of the current session, in order.
    recorded_adds: Vec<String>,
    live_adds: Vec<String>,
}

impl Conversation {
    fn learn_ids(&mut self) {
        for (r, l) in self.recorded_adds.iter().zip(&self.live_adds) {
            self.ids.insert(r.clone(), l.clone());
        }
    }
}

/// Replays `recording` against the bridge `options` names.
pub async fn replay(recording: &Recording, options: &ReplayOptions) -> Result<Report, ReplayError> {
    replay_with(recording, options, |_| {}).await
}

/// Replays `recording`, calling `before_session` with each session's recorded messages
/// before its first one is sent (a test puts the recorded server's own items upstream
/// there).
pub async fn replay_with(
    recording: &Recording,
    options: &ReplayOptions,
    mut before_session: impl FnMut(&[Recorded]),
) -> Result<Report, ReplayError> {
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .build()
        .map_err(ReplayError::Client)?;
    let first = recording
        .messages
        .first()
        .ok_or_else(|| ReplayError::Empty(recording.dir.clone()))?;
    let recorded_url = rewrite::target_url(&first.client)
        .ok_or_else(|| ReplayError::NoTarget(first.name.clone()))?;
    let mut conv = Conversation {
        session: None,
        url: options.url.clone(),
        ids: BTreeMap::new(),
        recorded_adds: Vec::new(),
        live_adds: Vec::new(),
    };
    let mut report = Report::default();
    for (index, recorded) in recording.messages.iter().enumerate() {
        let session = rewrite::session_id(&recorded.client).unwrap_or_default();
        if conv.session.as_deref() != Some(session.as_str()) {
            let rest = &recording.messages[index..];
            let len = rest
                .iter()
                .take_while(|m| rewrite::session_id(&m.client).unwrap_or_default() == session)
                .count();
            before_session(&rest[..len]);
            conv.session = Some(session.clone());
            conv.url = options.url.clone();
            conv.recorded_adds.clear();
            conv.live_adds.clear();
        }
        let (body, content_type) =
            prepare(recorded, &recorded_url, options, &conv.ids, Login::AsGiven)?;
        let mut exchange = Exchange {
            message: recorded.name.clone(),
            session,
            url: conv.url.clone(),
            http: None,
            statuses: Vec::new(),
            problems: Vec::new(),
            reply: Vec::new(),
        };
        if let Some(reply) = post(&client, &mut exchange, body, content_type).await {
            let msg_id = rewrite::msg_id(&recorded.client).unwrap_or_default();
            let mut facts = read_reply(&reply, &msg_id);
            let mut reply = reply;
            // A bridge that wants MD5 challenges the Basic log-in once: answer it.
            if let (Some(nonce), Some(_)) = (facts.md5_challenge.take(), &options.credentials) {
                let login = Login::Md5(nonce);
                let (body, content_type) =
                    prepare(recorded, &recorded_url, options, &conv.ids, login)?;
                exchange.problems.clear();
                match post(&client, &mut exchange, body, content_type).await {
                    Some(again) => {
                        facts = read_reply(&again, &msg_id);
                        reply = again;
                    }
                    None => {
                        report.exchanges.push(exchange);
                        continue;
                    }
                }
            }
            if let Some(resp) = &facts.resp_uri {
                conv.url = rewrite::unescape(resp.trim());
            }
            conv.live_adds.extend(facts.server_adds.iter().cloned());
            if let Some(rec) = &recorded.server {
                conv.recorded_adds.extend(recorded_adds(rec));
            }
            conv.learn_ids();
            exchange.statuses = facts.statuses;
            exchange.problems.extend(facts.problems);
            exchange.reply = reply;
        }
        report.exchanges.push(exchange);
    }
    Ok(report)
}

/// Posts one message to the exchange's URL: its HTTP status is noted, the reply body
/// returned when the status is a success, else what went wrong is one of its problems.
async fn post(
    client: &reqwest::Client,
    exchange: &mut Exchange,
    body: Vec<u8>,
    content_type: &str,
) -> Option<Vec<u8>> {
    let answer = match client
        .post(&exchange.url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => {
            exchange.problems.push(format!("no answer: {e}"));
            return None;
        }
    };
    exchange.http = Some(answer.status().as_u16());
    if !answer.status().is_success() {
        exchange
            .problems
            .push("the HTTP status is not a success".into());
        return None;
    }
    match answer.bytes().await {
        Ok(b) => Some(b.to_vec()),
        Err(e) => {
            exchange.problems.push(format!("reading the answer: {e}"));
            None
        }
    }
}

/// How the header's credentials are given.
enum Login {
    /// Basic for the options' user, or as recorded when the options name none.
    AsGiven,
    /// MD5 over this nonce (raw), after the bridge challenged a Basic log-in.
    Md5(Vec<u8>),
}

/// The recorded message made fit for the bridge: the bytes to post and their type.
fn prepare(
    recorded: &Recorded,
    recorded_url: &str,
    options: &ReplayOptions,
    ids: &BTreeMap<String, String>,
    login: Login,
) -> Result<(Vec<u8>, &'static str), ReplayError> {
    let mut xml = rewrite::replace_text(&recorded.client, recorded_url, &options.url);
    if let Some((user, password)) = &options.credentials {
        xml = match login {
            Login::AsGiven => rewrite::basic_cred(&xml, user, password),
            Login::Md5(nonce) => {
                let v10 = rewrite::element(rewrite::header(&xml), "VerDTD")
                    .is_some_and(|v| v.trim() == "1.0");
                let digest = if v10 {
                    auth::md5_v10(user, password, &nonce)
                } else {
                    auth::md5_v11(user, password, &nonce)
                };
                rewrite::md5_cred(&xml, user, &digest)
            }
        };
    }
    for (from, to) in ids {
        xml = rewrite::replace_text(&xml, from, to);
    }
    let bytes: Vec<u8> = if recorded.latin1 {
        // Every char came from one byte, and what was put in is ASCII.
        xml.chars()
            .map(|c| u8::try_from(c).unwrap_or(b'?'))
            .collect()
    } else {
        xml.into_bytes()
    };
    let Some(form) = recorded.wbxml else {
        return Ok((bytes, Encoding::Xml.mime_type()));
    };
    let again = |source| ReplayError::Reencode {
        message: recorded.name.clone(),
        source,
    };
    let message = decode(&bytes).map_err(again)?.message;
    let wbxml = encode_with(
        &message,
        &EncodeOptions {
            encoding: Encoding::Wbxml,
            wbxml: form,
        },
    )
    .map_err(again)?;
    Ok((wbxml, Encoding::Wbxml.mime_type()))
}
