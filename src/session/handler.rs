//! The SyncML handler the HTTP front door calls: decode, find or open the session, log
//! in, run the session's current state, pack the answer to the phone's MaxMsgSize, and
//! answer a resent message with the same reply.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode as HttpStatus;

use super::auth::{challenge, new_nonce, LoggedIn};
use super::context::Shared;
use super::debug_log::{debug_enabled, Recorder};
use super::ended::{EndedSessions, Owner};
use super::expiring::{lock, ExpiringMap};
use super::nonces::NonceBook;
use super::open::{Busy, BusySessions, JoinProof, Session, Wire};
use super::session_core::next_message;
use super::state::{self, Answer, AwaitInit, Phase, SessionCore};
use super::table::SessionTable;
use super::url_params::UrlParams;
use crate::convert::ConvertOptions;
use crate::engine::EngineDeps;
use crate::http::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};
use crate::store::DeviceRecord;
use crate::syncml::auth::AUTH_MD5;
use crate::syncml::codes::StatusCode;
use crate::syncml::item_format::ItemKeys;
use crate::syncml::model::{Command, Message, Meta, SyncBody, SyncHdr};
use crate::syncml::reply::{header_status, reply_header};
use crate::syncml::{
    decode_header_with, decode_with, encode_with, Decoded, DecodedHeader, EncodeOptions, Encoding,
    LimitExceeded, Version,
};

/// Largest reply when the phone announces no MaxMsgSize.
const DEFAULT_MAX_MSG: usize = 1024 * 1024;

/// Room in a reply kept for what travels with the bridge's DevInf: the header, the
/// Results around it, the statuses of package 1.
const DEVINF_MARGIN: usize = 2048;

/// How long a failed log-in of one (device, SessionID) is remembered.
const FAILURE_MEMORY: std::time::Duration = std::time::Duration::from_secs(600);
/// (device, SessionID) pairs with failed log-ins remembered at once.
const MAX_FAILURE_ENTRIES: usize = 50_000;

/// The handler: shared state plus the not-yet-logged-in bookkeeping, all of it bounded.
pub struct SessionHandler {
    pub(super) shared: Arc<Shared>,
    pub(super) table: SessionTable<Session>,
    /// Nonces handed out in challenges, by device, before the user is known.
    pub(super) nonces: NonceBook,
    /// Failed log-ins by (device, SessionID): a second failure gets no new challenge.
    pub(super) failures: Mutex<ExpiringMap<(String, String), u32>>,
    /// Sessions that ended, for a resend of their last message.
    pub(super) ended: EndedSessions,
    /// Sessions whose work outlived a reply deadline.
    pub(super) busy: BusySessions,
}

/// What an answer needs of the message it answers: its header and its encoding.
pub(super) struct ReplyTo<'a> {
    pub header: &'a SyncHdr,
    opts: EncodeOptions,
    encoding: Encoding,
}

impl<'a> ReplyTo<'a> {
    pub fn of(decoded: &'a Decoded) -> Self {
        ReplyTo {
            header: &decoded.message.header,
            opts: decoded.reply_options(),
            encoding: decoded.encoding,
        }
    }

    pub fn head(head: &'a DecodedHeader) -> Self {
        ReplyTo {
            header: &head.header,
            opts: head.reply_options(),
            encoding: head.encoding,
        }
    }
}

fn wire(e: Encoding) -> WireEncoding {
    match e {
        Encoding::Xml => WireEncoding::Xml,
        Encoding::Wbxml => WireEncoding::Wbxml,
    }
}

/// The `sid` query parameter of the request path.
/// The device's own time zone (`devices timezone`), else the configured one.
fn device_zone(record: &crate::store::DeviceRecord, configured: chrono_tz::Tz) -> chrono_tz::Tz {
    match record.settings.get(crate::store::SETTING_TIMEZONE) {
        Some(name) => name.parse().unwrap_or_else(|_| {
            tracing::warn!(device = %record.device_id, zone = %name, "the device's time zone is unknown, using sync.device_timezone");
            configured
        }),
        None => configured,
    }
}

/// The URL parameters of a request path or URL; a bad one is logged and none are used.
fn url_params_of(url: &str, device: &str) -> UrlParams {
    UrlParams::parse(url).unwrap_or_else(|e| {
        tracing::info!(%device, error = %e, "bad URL parameter ignored");
        UrlParams::default()
    })
}

fn token_of(path_and_query: &str) -> Option<String> {
    let q = &path_and_query[path_and_query.find(['?', '&'])? + 1..];
    q.split(['&', '?', '#'])
        .find_map(|kv| kv.strip_prefix("sid="))
        .map(str::to_owned)
}

/// The RespURI: the URL the phone used, without parameters, plus the session token.
fn resp_uri(target: &str, token: &str) -> String {
    let base = match target.find(['?', '#']) {
        Some(i) => &target[..i],
        None => target,
    };
    // `&`-joined parameters after the path are not part of the address either.
    let base = match base.rfind('/') {
        Some(slash) => match base[slash..].find('&') {
            Some(amp) => &base[..slash + amp],
            None => base,
        },
        None => base,
    };
    format!("{base}?sid={token}")
}

fn starts_session(msg: &Message) -> bool {
    msg.header.msg_id.trim() == "1"
        && msg
            .body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.code.sync_type().is_some()))
}

impl SessionHandler {
    pub fn new(shared: Arc<Shared>) -> Self {
        SessionHandler {
            table: SessionTable::new(shared.session_timeout, shared.max_sessions),
            shared,
            nonces: NonceBook::default(),
            failures: Mutex::new(ExpiringMap::new(FAILURE_MEMORY, MAX_FAILURE_ENTRIES)),
            ended: EndedSessions::default(),
            busy: BusySessions::default(),
        }
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn encode(&self, msg: &Message, opts: &EncodeOptions, enc: Encoding) -> SyncmlReply {
        match encode_with(msg, opts) {
            Ok(bytes) => SyncmlReply::Message {
                body: Bytes::from(bytes),
                encoding: wire(enc),
            },
            Err(e) => SyncmlReply::Error {
                status: HttpStatus::INTERNAL_SERVER_ERROR,
                reason: format!("cannot encode the reply: {e}"),
            },
        }
    }

    /// A reply holding only the header status (log-in failures, refusals).
    pub(super) fn header_only(
        &self,
        reply: &ReplyTo<'_>,
        code: StatusCode,
        chal: Option<crate::syncml::model::Chal>,
    ) -> SyncmlReply {
        let received = reply.header;
        let mut st = header_status(received, "1", code);
        st.chal = chal;
        let msg = Message {
            header: reply_header(received, "1", None),
            body: SyncBody {
                commands: vec![Command::Status(st)],
                final_: true,
            },
            extra: Vec::new(),
        };
        self.encode(&msg, &reply.opts, reply.encoding)
    }

    pub(super) fn device_record(&self, user: &str, device: &str) -> DeviceRecord {
        match self.shared.store.device(user, device) {
            Ok(Some(r)) => r,
            Ok(None) => DeviceRecord {
                user: user.to_owned(),
                device_id: device.to_owned(),
                ..DeviceRecord::default()
            },
            Err(e) => {
                tracing::warn!(%device, error = %e, "device record unreadable, starting afresh");
                DeviceRecord {
                    user: user.to_owned(),
                    device_id: device.to_owned(),
                    ..DeviceRecord::default()
                }
            }
        }
    }

    /// Opens a session for a message that logged in; on success it is in the table.
    async fn open(
        &self,
        decoded: &Decoded,
        request: &SyncmlRequest,
        login: LoggedIn,
    ) -> Result<(String, Arc<tokio::sync::Mutex<Session>>), SyncmlReply> {
        let path_and_query = request.path_and_query.as_str();
        let header = &decoded.message.header;
        let device = header.source.loc_uri.clone();
        let LoggedIn {
            user,
            password,
            nonce: login_nonce,
        } = login;
        let sid = header.session_id.clone();
        lock(&self.failures).remove(&(device.clone(), sid.clone()));
        let mut url = url_params_of(path_and_query, &device);
        // Funambol-style `#` parameters are cut off the request line by HTTP clients and
        // servers, but the phone writes its whole server URL into the SyncHdr Target.
        url.fill_from(url_params_of(&header.target.loc_uri, &device));
        let version = header.version().unwrap_or(Version::V1_1);
        let mut record = self.device_record(&user, &device);
        // An admin's `devices wipe` turns this session into a client reset, once.
        if record.settings.remove(crate::store::SETTING_WIPE).is_some() {
            tracing::info!(%device, %user, "client reset requested by an admin: every item on the phone is deleted");
            url.sync = Some(crate::engine::SyncMethod::ClientReset);
        }
        record.syncml_version = Some(version.ver_dtd().to_owned());
        if url.push {
            record.settings.insert("push".into(), "requested".into());
        }
        if let Some(prefix) = &url.backup {
            record.settings.insert("backup".into(), prefix.clone());
        }
        let uses_md5 = header
            .cred
            .as_ref()
            .is_some_and(|c| c.auth_type() == AUTH_MD5);
        let chal_nonce = uses_md5.then(new_nonce);
        if let Some(n) = &chal_nonce {
            record.next_nonce = Some(n.clone());
        }
        if let Err(e) = self.shared.store.put_device(&record) {
            tracing::warn!(%device, error = %e, "cannot store the device record");
        }
        let deps = EngineDeps {
            store: self.shared.store.clone(),
            dav: self
                .shared
                .upstream
                .user(&crate::dav::Credentials::new(&user, &password)),
            policy: self.shared.policy,
            opts: ConvertOptions::new(self.shared.clock.now())
                .with_device_tz(device_zone(&record, self.shared.device_tz)),
        };
        let max_msg = header
            .meta
            .as_ref()
            .and_then(|m| m.max_msg_size)
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_MAX_MSG);
        let mut core = SessionCore::new(
            self.shared.clone(),
            device.clone(),
            user.clone(),
            version,
            url,
            deps,
            record,
        );
        core.item_keys = Some(ItemKeys::from_password(&password));
        // The DevInf travels in one message with the header and a few statuses.
        core.devinf_room = max_msg.saturating_sub(DEVINF_MARGIN);
        let target = header.target.loc_uri.clone();
        let recorder = debug_enabled(&self.shared.debug_devices, &core.record)
            .then(|| Recorder::new(&self.shared.data_dir, &device, &sid));
        if let Some(r) = &recorder {
            tracing::info!(%device, dir = %r.dir().display(), "debug recording of the session");
        }
        tracing::info!(%device, %user, version = version.ver_dtd(), "session opened");
        let proof = JoinProof {
            password: password.clone(),
            nonces: login_nonce.into_iter().chain(chal_nonce.clone()).collect(),
        };
        let mark = self.shared.in_session.enter(&user, &device);
        self.table
            .insert(&user, &device, &sid, |token| Session {
                core,
                phase: Phase::Init(AwaitInit::default()),
                last: None,
                max_msg,
                wire: Arc::new(Mutex::new(Wire {
                    out_msg_id: 0,
                    resp_uri: resp_uri(&target, token),
                    header_code: StatusCode::AuthenticationAccepted,
                    chal_nonce,
                })),
                tracker: None,
                counted: false,
                awaits_answer: true,
                phone_continues: false,
                recorder,
                proof,
                _in_session: mark,
            })
            .map_err(|e| {
                tracing::warn!(error = %e, "session refused");
                self.header_only(&ReplyTo::of(decoded), StatusCode::ServiceUnavailable, None)
            })
    }

    /// The header of the next reply to `received`, and its header status.
    fn reply_start(&self, wire: &Mutex<Wire>, received: &SyncHdr) -> (SyncHdr, Command) {
        let mut w = lock(wire);
        w.out_msg_id += 1;
        let mut header = reply_header(received, w.out_msg_id.to_string(), Some(w.resp_uri.clone()));
        // MaxObjSize is a 1.1 addition to MetInf: a 1.0 phone is not sent one.
        let max_obj_size = self
            .shared
            .max_obj_size
            .filter(|_| received.version().is_some_and(|v| v != Version::V1_0));
        header.meta = Some(Meta {
            max_msg_size: Some(self.shared.max_msg_size),
            max_obj_size,
            ..Meta::default()
        });
        let mut hs = header_status(received, "1", w.header_code);
        if w.header_code == StatusCode::AuthenticationAccepted {
            if let Some(n) = w.chal_nonce.take() {
                hs.chal = Some(challenge(AUTH_MD5, &n));
            }
        }
        w.header_code = StatusCode::Ok;
        (header, Command::Status(hs))
    }

    /// A reply while the session's work goes on: the header status and a request for
    /// the phone's next message; the statuses come with the work's answer.
    pub(super) fn still_working(
        &self,
        wire: &Mutex<Wire>,
        decoded: &Decoded,
        device: &str,
    ) -> SyncmlReply {
        let (header, hs) = self.reply_start(wire, &decoded.message.header);
        let mut commands = vec![hs, next_message(device)];
        for (n, c) in commands.iter_mut().enumerate() {
            set_id(c, n + 1);
        }
        let reply = Message {
            header,
            body: SyncBody {
                commands,
                final_: false,
            },
            extra: Vec::new(),
        };
        self.encode(&reply, &decoded.reply_options(), decoded.encoding)
    }

    /// Packs `answer` as the reply to `decoded`, within the phone's MaxMsgSize.
    pub(super) fn pack(
        &self,
        decoded: &Decoded,
        session: &mut Session,
        answer: Answer,
    ) -> SyncmlReply {
        let msg = &decoded.message;
        let (header, hs) = self.reply_start(&session.wire, &msg.header);
        // Statuses answer the phone's commands and come before the bridge's own, as in
        // the protocol's examples: SyncEvolution aborts on an Alert ahead of its status.
        let (statuses, own): (Vec<_>, Vec<_>) = answer
            .commands
            .into_iter()
            .partition(|c| matches!(c, Command::Status(_)));
        let mut first = vec![hs];
        first.extend(statuses);
        first.extend(own);
        let opts = decoded.reply_options();
        let mut final_ = answer.final_;
        let large = session.core.large_objects();
        let commands = if matches!(session.phase, Phase::Sending(_)) {
            let packed =
                match session
                    .core
                    .outbox
                    .pack(&header, first, session.max_msg, large, &opts)
                {
                    Ok(p) => p,
                    Err(e) => {
                        return SyncmlReply::Error {
                            status: HttpStatus::INTERNAL_SERVER_ERROR,
                            reason: format!("cannot encode the reply: {e}"),
                        }
                    }
                };
            if let Phase::Sending(s) = std::mem::replace(&mut session.phase, Phase::Done) {
                session.phase = s.after_send(&mut session.core, packed.drained);
            }
            final_ = packed.drained;
            packed.commands
        } else {
            let mut cmds = first;
            for (n, c) in cmds.iter_mut().enumerate() {
                set_id(c, n + 1);
            }
            cmds
        };
        session.awaits_answer = commands.iter().any(|c| !matches!(c, Command::Status(_)));
        let reply = Message {
            header,
            body: SyncBody { commands, final_ },
            extra: Vec::new(),
        };
        self.encode(&reply, &opts, decoded.encoding)
    }
}

impl SessionHandler {
    /// Metrics and the `backup` URL parameter once a message was answered: the session
    /// is counted when its sync type is known and finished when it reached its end.
    fn account(&self, session: &mut Session, was_done: bool) {
        let ended = !was_done && matches!(session.phase, Phase::Done);
        if !session.counted && (ended || !session.core.slots.is_empty()) {
            session.counted = true;
            let sync_type = session
                .core
                .slots
                .iter()
                .find_map(|s| s.run.as_ref())
                .map(|r| sync_type_label(r.method))
                .unwrap_or("none");
            session.tracker = Some(self.shared.metrics.session_started(sync_type));
        }
        if !ended {
            return;
        }
        let failed = session
            .core
            .slots
            .iter()
            .any(|s| s.run.as_ref().is_some_and(|r| r.failed()))
            || session.core.suspended;
        if let Some(t) = session.tracker.take() {
            if failed {
                t.failed();
            } else {
                t.completed();
            }
        }
        if !failed {
            if let Some(backup) = session.core.requested_backup() {
                backup.spawn();
            }
        }
    }
}

/// Runs the session's phase over one message: its answer, not yet packed.
pub(super) async fn process(session: &mut Session, msg: &Message) -> Answer {
    let mut answer = Answer::default();
    let phase = std::mem::replace(&mut session.phase, Phase::Done);
    session.phase = match phase {
        Phase::Init(s) => s.handle(&mut session.core, msg, &mut answer).await,
        Phase::Sync(s) => s.handle(&mut session.core, msg, &mut answer).await,
        Phase::Sending(s) => Phase::Sending(s.handle(&mut session.core, msg, &mut answer)),
        Phase::Map(s) => s.handle(&mut session.core, msg, &mut answer),
        Phase::Done => {
            session.phone_continues = state::after_end(&mut session.core, msg, &mut answer);
            answer.final_ = true;
            Phase::Done
        }
    };
    if session.core.suspended {
        // Suspended: the session ends here; what it finished stays resumable.
        session.phase = Phase::Done;
        answer.final_ = true;
    }
    session.core.save_resumable();
    answer
}

/// The metric label of a sync type.
fn sync_type_label(m: crate::engine::SyncMethod) -> &'static str {
    use crate::engine::SyncMethod::*;
    match m {
        TwoWay => "two-way",
        Slow => "slow",
        OneWayFromClient => "one-way-from-client",
        RefreshFromClient => "refresh-from-client",
        OneWayFromServer => "one-way-from-server",
        RefreshFromServer => "refresh-from-server",
        OneWaySlowToServer => "one-way-slow-to-server",
        OneWaySlowToClient => "one-way-slow-to-client",
        ClientReset => "client-reset",
    }
}

fn set_id(c: &mut Command, n: usize) {
    let id = n.to_string();
    match c {
        Command::Status(s) => s.cmd_id = id,
        Command::Alert(a) => a.cmd_id = id,
        Command::Results(r) => r.cmd_id = id,
        Command::Get(g) | Command::Put(g) => g.cmd_id = id,
        _ => {}
    }
}

/// A message that decodes: the session it belongs to, or the log-in that opens one.
enum Entry {
    Found(String, Arc<tokio::sync::Mutex<Session>>),
    New(LoggedIn),
}

impl SessionHandler {
    /// The whole message, once its sender may be answered; a message past the item,
    /// command or element bounds gets 413 on its header, one malformed otherwise 400.
    fn decode_body(&self, head: &DecodedHeader, body: &[u8]) -> Result<Decoded, SyncmlReply> {
        decode_with(body, &self.shared.decode_limits).map_err(|e| match e.limit_exceeded() {
            Some(
                exceeded @ (LimitExceeded::Items { .. }
                | LimitExceeded::Commands { .. }
                | LimitExceeded::Elements { .. }),
            ) => {
                tracing::warn!(
                    device = %head.header.source.loc_uri,
                    %exceeded,
                    "message refused: larger than limits.max_items_per_message allows"
                );
                self.header_only(
                    &ReplyTo::head(head),
                    StatusCode::RequestEntityTooLarge,
                    None,
                )
            }
            _ => malformed(&e),
        })
    }
}

fn malformed(e: &crate::syncml::CodecError) -> SyncmlReply {
    SyncmlReply::Error {
        status: HttpStatus::BAD_REQUEST,
        reason: format!("malformed SyncML message: {e}"),
    }
}

impl SyncmlHandler for SessionHandler {
    async fn handle(&self, request: SyncmlRequest) -> SyncmlReply {
        // Counted from arrival: a slow log-in check uses up part of the phone's wait too.
        let deadline = tokio::time::Instant::now() + self.shared.answer_within;
        let limits = &self.shared.decode_limits;
        // The header alone first: a message from a stranger is refused before anything
        // of its body is built.
        let head = match decode_header_with(&request.body, limits) {
            Ok(h) => h,
            Err(e) => return malformed(&e),
        };
        let token = token_of(&request.path_and_query);
        if let Some(reply) = self.resend_of_ended(token.as_deref(), &head.header, &request.body) {
            tracing::info!(device = %head.header.source.loc_uri, msg = %head.header.msg_id, "resent last message of an ended session answered again");
            return reply;
        }
        let entry = match self.find_session(token.as_deref(), &head.header).await {
            Some((tok, s)) => Entry::Found(tok, s),
            None => match self
                .log_in(&ReplyTo::head(&head), request.remote.ip())
                .await
            {
                Ok(login) => Entry::New(login),
                Err(reply) => return reply,
            },
        };
        let decoded = match self.decode_body(&head, &request.body) {
            Ok(d) => d,
            Err(reply) => return reply,
        };
        let header: &SyncHdr = &decoded.message.header;
        let restart = starts_session(&decoded.message);
        self.busy.retain(|t| self.table.contains(t));
        let (token, session) = match entry {
            Entry::Found(tok, s) => {
                if let Some(earlier) = self.busy.take(&tok) {
                    return self
                        .continue_work(tok, earlier, decoded, &request, deadline)
                        .await;
                }
                let guard = s.lock().await;
                // A message that starts a session under the last one's MsgID is a resend
                // only when it is the same message: a phone that starts over sends new
                // anchors, and a cached answer would commit the old ones.
                let body = body_digest(&request.body);
                let resend = guard
                    .last
                    .as_ref()
                    .filter(|(id, digest, _)| *id == header.msg_id && (!restart || *digest == body))
                    .map(|(_, _, r)| r.clone());
                let fresh_start =
                    restart && !matches!(guard.phase, Phase::Init(_)) && resend.is_none();
                drop(guard);
                if let Some(r) = resend {
                    tracing::info!(device = %header.source.loc_uri, msg = %header.msg_id, "resent message answered again");
                    return r;
                }
                if fresh_start {
                    // The phone starts over: a new session, with a log-in of its own.
                    self.table.remove(&tok);
                    let login = match self
                        .log_in(&ReplyTo::of(&decoded), request.remote.ip())
                        .await
                    {
                        Ok(l) => l,
                        Err(reply) => return reply,
                    };
                    match self.open(&decoded, &request, login).await {
                        Ok(x) => x,
                        Err(reply) => return reply,
                    }
                } else {
                    (tok, s)
                }
            }
            Entry::New(login) => match self.open(&decoded, &request, login).await {
                Ok(x) => x,
                Err(reply) => return reply,
            },
        };
        let decoded = Arc::new(decoded);
        let mut guard = session.lock_owned().await;
        let recorded = guard.recorder.as_mut().and_then(|r| {
            r.incoming(&request.body)
                .map_err(|e| tracing::warn!(error = %e, "debug recording stopped"))
                .ok()
        });
        let was_done = matches!(guard.phase, Phase::Done);
        let wire = guard.wire.clone();
        let device = guard.core.device.clone();
        let (user, proof) = (guard.core.user.clone(), guard.proof.clone());
        let message = decoded.clone();
        let work = tokio::spawn(async move {
            let answer = process(&mut guard, &message.message).await;
            Some((guard, answer))
        });
        let busy = Busy {
            work,
            msg_id: decoded.message.header.msg_id.clone(),
            wire,
            was_done,
            user,
            proof,
        };
        self.await_work(token, busy, &decoded, &request, deadline, recorded, &device)
            .await
    }
}

impl SessionHandler {
    /// After a reply is packed: the debug recording, metrics, the resend cache, and a
    /// completed session's slot.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &self,
        token: String,
        guard: &mut Session,
        decoded: &Decoded,
        request: &SyncmlRequest,
        reply: SyncmlReply,
        was_done: bool,
        recorded: Option<u32>,
        started: std::time::Instant,
    ) -> SyncmlReply {
        let header = &decoded.message.header;
        if let (Some(n), Some(r), SyncmlReply::Message { body, .. }) =
            (recorded, guard.recorder.as_mut(), &reply)
        {
            if let Err(e) = r.outgoing(n, body, started.elapsed()) {
                tracing::warn!(error = %e, "debug recording stopped");
            }
        }
        self.account(guard, was_done);
        guard.last = Some((
            header.msg_id.clone(),
            body_digest(&request.body),
            reply.clone(),
        ));
        // Ended, and the phone has nothing left to answer: the slot is free at once, and
        // only what a resend needs stays behind.
        if matches!(guard.phase, Phase::Done)
            && !guard.phone_continues
            && (was_done || !guard.awaits_answer)
        {
            self.table.remove(&token);
            let owner = Owner {
                user: guard.core.user.clone(),
                device: guard.core.device.clone(),
                session_id: header.session_id.clone(),
                proof: guard.proof.clone(),
            };
            self.ended
                .remember(token, owner, &request.body, reply.clone());
        }
        reply
    }
}

/// Tells a message sent again from another under the same MsgID.
fn body_digest(body: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(body).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_resp_uris() {
        assert_eq!(token_of("/syncml?sid=abc").as_deref(), Some("abc"));
        assert_eq!(token_of("/syncml&sync=2&sid=abc").as_deref(), Some("abc"));
        assert_eq!(token_of("/syncml"), None);
        assert_eq!(
            resp_uri("http://h:8080/syncml", "t"),
            "http://h:8080/syncml?sid=t"
        );
        assert_eq!(
            resp_uri("http://h/syncml?sync=2", "t"),
            "http://h/syncml?sid=t"
        );
        assert_eq!(
            resp_uri("http://h/syncml&sync=2", "t"),
            "http://h/syncml?sid=t"
        );
    }
}
