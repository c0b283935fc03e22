//! One scenario: the bridge (real session handler and engine, in-memory store and
//! upstream), the phones, and the schedule of operations with its faults; then the
//! settling syncs and the invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use syncml_bridge::config::Config;
use syncml_bridge::http::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};
use syncml_bridge::session::context::Clock;
use syncml_bridge::session::{SessionHandler, Shared};
use syncml_bridge::store::Store;
use syncml_bridge::syncml::codes::{AlertCode, StatusCode};
use syncml_bridge::syncml::model::Command;
use syncml_bridge::syncml::{decode, encode, Encoding, Message};

use crate::model::{Card, Model};

/// A session still going after this many messages is stuck (a real phone gives up).
const MAX_MESSAGES: u32 = 300;
use crate::phone::{message, number, status_for, sync_of, Phone};
use crate::script::{Faults, Op, Scenario, SyncKind};
use crate::upstream::SimUpstream;

/// The simulated bridge and everything around it.
pub struct World {
    pub model: Arc<Mutex<Model>>,
    pub upstream: SimUpstream,
    store: Arc<Store>,
    handler: Arc<SessionHandler>,
    pub phones: Vec<Phone>,
    /// Seconds since the scenario's start: the bridge's clock.
    seconds: Arc<Mutex<i64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The phone's changes of a session: each command with its LUID and rev.
type Changes = Vec<(Command, String, u64)>;

/// Why a session did not complete.
#[derive(Debug)]
enum Broke {
    /// The phone gave up (a timeout): next time it starts afresh.
    GaveUp,
    /// The phone starts the session over at once, under the same SessionID.
    StartOver,
    Failed(String),
}

/// The state of one session on the phone's side.
struct Talk {
    session: String,
    msg_no: u32,
    path: String,
    faults: Faults,
}

fn handler(
    store: &Arc<Store>,
    upstream: &SimUpstream,
    seconds: &Arc<Mutex<i64>>,
) -> Arc<SessionHandler> {
    let mut cfg = Config::default();
    cfg.backup.automatic = false;
    let shared = Shared::new(&cfg, store.clone()).expect("the bridge's shared state");
    let start: DateTime<Utc> = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let secs = seconds.clone();
    let clock = Clock::from_fn(move || start + Duration::seconds(*lock(&secs)));
    let shared = shared.with_upstream(Arc::new(upstream.clone()), clock);
    Arc::new(SessionHandler::new(Arc::new(shared)))
}

impl World {
    pub fn new(scenario: &Scenario) -> World {
        let model = Arc::new(Mutex::new(Model::default()));
        let upstream = SimUpstream::new(model.clone());
        let store = Arc::new(Store::in_memory().expect("an in-memory store"));
        let seconds = Arc::new(Mutex::new(0));
        let handler = handler(&store, &upstream, &seconds);
        let phones = scenario
            .phones
            .iter()
            .enumerate()
            .map(|(i, k)| Phone::new(i, *k))
            .collect();
        World {
            model,
            upstream,
            store,
            handler,
            phones,
            seconds,
        }
    }

    /// The bridge restarts: open sessions are gone, the store stays.
    fn restart(&mut self) {
        self.handler = handler(&self.store, &self.upstream, &self.seconds);
    }

    pub async fn run(&mut self, op: &Op) {
        *lock(&self.seconds) += 7;
        let phones = self.phones.len().max(1);
        match *op {
            Op::PhoneAdd(p) => self.phones[p % phones].add(&mut lock(&self.model)),
            Op::PhoneEdit(p, pick) => self.phones[p % phones].edit(&mut lock(&self.model), pick),
            Op::PhoneDelete(p, pick) => {
                self.phones[p % phones].delete(&mut lock(&self.model), pick)
            }
            Op::ServerAdd => self.upstream.other_add(),
            Op::ServerEdit(pick) => self.upstream.other_edit(pick),
            Op::ServerDelete(pick) => self.upstream.other_delete(pick),
            Op::Restart => self.restart(),
            Op::Sync(p, kind, faults) => {
                let _ = self.sync(p % phones, kind, faults).await;
            }
        }
    }

    /// One sync of phone `p`, started over at once if the phone does that.
    pub async fn sync(&mut self, p: usize, kind: SyncKind, faults: Faults) -> Result<(), String> {
        self.upstream.arm(faults.upstream);
        // The server items a refresh from the phone deletes are deleted by the phone.
        self.upstream
            .deleting_for((kind == SyncKind::RefreshFromClient).then_some(p));
        let mut talk = Talk {
            session: {
                self.phones[p].sessions += 1;
                self.phones[p].sessions.to_string()
            },
            msg_no: 0,
            path: "/syncml".into(),
            faults,
        };
        let mut result = self.session(p, kind, &mut talk).await;
        if matches!(result, Err(Broke::StartOver)) {
            talk.msg_no = 0;
            talk.path = "/syncml".into();
            talk.faults = Faults::default();
            self.upstream.disarm();
            result = self.session(p, kind, &mut talk).await;
        }
        self.upstream.disarm();
        self.upstream.deleting_for(None);
        match result {
            Ok(()) => Ok(()),
            Err(Broke::Failed(why)) => Err(why),
            Err(b) => Err(format!("{b:?}")),
        }
    }

    /// Sends one message of the phone's, with the faults due before it.
    async fn exchange(
        &mut self,
        p: usize,
        talk: &mut Talk,
        mut commands: Vec<Command>,
        final_: bool,
    ) -> Result<Message, Broke> {
        talk.msg_no += 1;
        let n = talk.msg_no;
        let f = talk.faults;
        if f.restart_at == Some(n) {
            self.restart();
        }
        if let Some((at, pick)) = f.server_edit_at {
            if at == n {
                self.upstream.other_edit(pick);
            }
        }
        if let Some((at, pick)) = f.phone_edit_at {
            if at == n {
                self.phones[p].edit(&mut lock(&self.model), pick);
            }
        }
        if f.give_up_at == Some(n) {
            return Err(Broke::GaveUp);
        }
        if f.start_over_at == Some(n) {
            return Err(Broke::StartOver);
        }
        let phone = &self.phones[p];
        number(&mut commands);
        let msg = message(phone.header(&talk.session, n, n == 1), commands, final_);
        let encoding = if phone.kind.wbxml {
            Encoding::Wbxml
        } else {
            Encoding::Xml
        };
        let body = encode(&msg, encoding).map_err(|e| Broke::Failed(format!("encode: {e}")))?;
        let mut reply = self.post(&talk.path, &body, encoding).await;
        if f.resend_at == Some(n) {
            // The answer was lost on the way: the phone sends the same message again.
            reply = self.post(&talk.path, &body, encoding).await;
        }
        let bytes = match reply {
            SyncmlReply::Message { body, .. } => body,
            SyncmlReply::Error { status, reason } => {
                return Err(Broke::Failed(format!("HTTP {status}: {reason}")))
            }
        };
        let decoded = decode(&bytes).map_err(|e| Broke::Failed(format!("reply: {e}")))?;
        let m = decoded.message;
        let header_ok = m.body.commands.iter().any(|c| {
            matches!(c, Command::Status(s) if s.cmd == "SyncHdr"
                && matches!(s.code, StatusCode::Ok | StatusCode::AuthenticationAccepted))
        });
        if !header_ok {
            return Err(Broke::Failed(format!("message {n} refused: {m:?}")));
        }
        if let Some(uri) = &m.header.resp_uri {
            if let Some(i) = uri.find("/syncml") {
                talk.path = uri[i..].to_owned();
            }
        }
        Ok(m)
    }

    async fn post(&self, path: &str, body: &[u8], encoding: Encoding) -> SyncmlReply {
        let request = SyncmlRequest {
            body: Bytes::copy_from_slice(body),
            encoding: match encoding {
                Encoding::Xml => WireEncoding::Xml,
                Encoding::Wbxml => WireEncoding::Wbxml,
            },
            path_and_query: path.to_owned(),
            remote: SocketAddr::from(([127, 0, 0, 1], 40000)),
            user_agent: None,
        };
        self.handler.handle(request).await
    }

    /// One session, as a SyncML 1.1/1.2 client runs it.
    async fn session(&mut self, p: usize, kind: SyncKind, talk: &mut Talk) -> Result<(), Broke> {
        let asked = match kind {
            SyncKind::TwoWay => AlertCode::TwoWay,
            SyncKind::Slow => AlertCode::SlowSync,
            SyncKind::RefreshFromServer => AlertCode::RefreshFromServer,
            SyncKind::RefreshFromClient => AlertCode::RefreshFromClient,
            SyncKind::OneWayFromClient => AlertCode::OneWayFromClient,
            SyncKind::OneWayFromServer => AlertCode::OneWayFromServer,
        };
        let (pkg1, next) = self.phones[p].package1(asked);
        let reply = self.exchange(p, talk, pkg1, true).await?;
        let (mode, changes) = self.start_sync(p, &reply)?;
        self.phones[p].taking_only = mode == AlertCode::OneWayFromServer;
        let mut answers = answer_all(&reply, |_| StatusCode::Ok);
        // Package 3, a few item commands per message.
        let per = self.phones[p].kind.per_message.max(1);
        let chunks: Vec<Vec<(Command, String, u64)>> = if changes.is_empty() {
            vec![Vec::new()]
        } else {
            changes.chunks(per).map(|c| c.to_vec()).collect()
        };
        let mut sent: BTreeMap<(u32, String), (String, u64, bool)> = BTreeMap::new();
        let mut settled = BTreeMap::new();
        let mut deletes_done = BTreeSet::new();
        let total = chunks.len();
        let mut reply = reply;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let last = i + 1 == total;
            let mut cmds = std::mem::take(&mut answers);
            let first_id = cmds.len() + 2;
            let mut inner = Vec::new();
            for (j, (c, luid, rev)) in chunk.into_iter().enumerate() {
                let is_delete = matches!(c, Command::Delete(_));
                sent.insert(
                    (talk.msg_no + 1, (first_id + j).to_string()),
                    (luid, rev, is_delete),
                );
                inner.push(c);
            }
            cmds.push(sync_of(inner));
            reply = self.exchange(p, talk, cmds, last).await?;
            note_item_statuses(&reply, &sent, &mut settled, &mut deletes_done);
            answers = answer_all(&reply, |_| StatusCode::Ok);
        }
        // Package 4: the server's changes, over as many messages as it needs.
        let mut expects_map = false;
        loop {
            let msg_ref = reply.header.msg_id.clone();
            let mut out = Vec::new();
            for c in &reply.body.commands {
                match c {
                    Command::Status(_) => {}
                    Command::Sync(s) => {
                        expects_map = true;
                        out.push(status_for(&msg_ref, c, StatusCode::Ok));
                        for inner in &s.commands {
                            let code = self.phones[p].apply(inner, &mut settled);
                            out.push(status_for(&msg_ref, inner, code));
                        }
                    }
                    other => {
                        expects_map = true;
                        out.push(status_for(&msg_ref, other, StatusCode::Ok));
                    }
                }
            }
            for t in self.phones[p].dropped.drain(..) {
                lock(&self.model).abandon_write(t);
            }
            if reply.body.final_ {
                answers = out;
                break;
            }
            if talk.msg_no > MAX_MESSAGES {
                return Err(Broke::Failed(format!(
                    "package 4 did not end after {MAX_MESSAGES} messages"
                )));
            }
            out.push(next_message(&self.phones[p].device));
            reply = self.exchange(p, talk, out, false).await?;
            note_item_statuses(&reply, &sent, &mut settled, &mut deletes_done);
        }
        // Package 5: statuses and the Map.
        if expects_map {
            let mut cmds = answers;
            let map = self.phones[p].map_command();
            let has_map = map.is_some();
            cmds.extend(map);
            let reply = self.exchange(p, talk, cmds, true).await?;
            let map_ok = statuses(&reply)
                .filter(|s| s.cmd == "Map")
                .all(|s| s.code == StatusCode::Ok);
            if has_map && map_ok {
                self.phones[p].pending_map.clear();
            }
            if !reply.body.final_ {
                return Err(Broke::Failed("the answer to package 5 is not final".into()));
            }
        }
        match mode {
            // The slow sync carried no deletes: the server's copies came back instead.
            AlertCode::SlowSync => self.phones[p].drop_deletes(&mut lock(&self.model)),
            // The server now holds what the phone holds: what it deleted is gone there.
            AlertCode::RefreshFromClient => self.phones[p].deleted.clear(),
            _ => {}
        }
        // Asked one way from the server, the phone is told to run slow: the bridge
        // matches its items but writes none of them.
        let written = !(kind == SyncKind::OneWayFromServer && mode == AlertCode::SlowSync);
        self.phones[p].complete(next, &settled, &deletes_done, written);
        Ok(())
    }

    /// The server's answer to the sync Alert: which sync runs, and the phone's changes
    /// for it (noted in the model where they are sent again or unmapped).
    fn start_sync(&mut self, p: usize, reply: &Message) -> Result<(AlertCode, Changes), Broke> {
        let alert_status = statuses(reply)
            .find(|s| s.cmd == "Alert")
            .map(|s| s.code)
            .ok_or_else(|| Broke::Failed("no status for the sync Alert".into()))?;
        if !matches!(alert_status, StatusCode::Ok | StatusCode::RefreshRequired) {
            return Err(Broke::Failed(format!(
                "sync Alert refused: {alert_status:?}"
            )));
        }
        let mode = reply
            .body
            .commands
            .iter()
            .find_map(|c| match c {
                Command::Alert(a) if a.code.sync_type().is_some() => Some(a.code),
                _ => None,
            })
            .ok_or_else(|| Broke::Failed("no sync Alert from the server".into()))?;
        let all = match mode {
            AlertCode::TwoWay | AlertCode::OneWayFromClient => false,
            AlertCode::SlowSync | AlertCode::RefreshFromClient => {
                // Every item goes again: deletes of them the phone did not see are
                // answered by keeping the item.
                let mut model = lock(&self.model);
                for it in self.phones[p].items.values() {
                    model.slow_resend(&it.card);
                }
                true
            }
            AlertCode::RefreshFromServer => {
                self.phones[p].wipe(&mut lock(&self.model));
                return Ok((mode, Vec::new()));
            }
            // The phone's changes wait for a sync that takes them.
            AlertCode::OneWayFromServer => return Ok((mode, Vec::new())),
            other => return Err(Broke::Failed(format!("unexpected sync type {other:?}"))),
        };
        let changes = self.phones[p].changes(all);
        let phone = &mut self.phones[p];
        for (_, luid, rev) in &changes {
            if let Some(it) = phone.items.get_mut(luid) {
                it.sent_rev = Some(*rev);
            }
        }
        Ok((mode, changes))
    }

    /// Settles everything: a few clean two-way syncs of every phone.
    pub async fn settle(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for round in 0..3 {
            failures.clear();
            *lock(&self.seconds) += 60;
            for p in 0..self.phones.len() {
                if let Err(e) = self.sync(p, SyncKind::TwoWay, Faults::default()).await {
                    failures.push(format!("round {round}: phone {p}: {e}"));
                }
            }
        }
        failures
    }

    /// The invariants, after settling.
    pub fn check(&self, settle_failures: &[String]) -> Result<(), String> {
        if let Some(f) = settle_failures.first() {
            return Err(format!("a phone is stuck failing: {f}"));
        }
        let mut server: BTreeMap<u32, Card> = BTreeMap::new();
        for (href, card) in self.upstream.cards() {
            let card = card.map_err(|e| format!("server item {href} unreadable: {e}"))?;
            if server.insert(card.k, card).is_some() {
                return Err(format!("person {} is on the server twice", card.k));
            }
        }
        let model = lock(&self.model);
        for k in model.people() {
            model.judge(k, server.get(&k))?;
        }
        for phone in &self.phones {
            let mut seen = BTreeMap::new();
            for it in phone.items.values() {
                if seen.insert(it.card.k, it.card).is_some() {
                    return Err(format!(
                        "person {} is on phone {} twice",
                        it.card.k, phone.index
                    ));
                }
            }
            let held: BTreeMap<u32, Card> = server
                .values()
                .map(|c| {
                    let mut c = *c;
                    if !phone.kind.holds_note {
                        c.note = None;
                    }
                    (c.k, c)
                })
                .collect();
            if seen != held {
                return Err(format!(
                    "phone {} differs from the server:\n  phone:  {:?}\n  server: {:?}",
                    phone.index,
                    seen.values().collect::<Vec<_>>(),
                    held.values().collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }
}

fn statuses(m: &Message) -> impl Iterator<Item = &syncml_bridge::syncml::model::Status> {
    m.body.commands.iter().filter_map(|c| match c {
        Command::Status(s) => Some(s),
        _ => None,
    })
}

/// Statuses for every command of `m` but statuses and Syncs (answered item by item).
fn answer_all(m: &Message, code: impl Fn(&Command) -> StatusCode) -> Vec<Command> {
    m.body
        .commands
        .iter()
        .filter(|c| !matches!(c, Command::Status(_) | Command::Sync(_)))
        .map(|c| status_for(&m.header.msg_id, c, code(c)))
        .collect()
}

fn next_message(device: &str) -> Command {
    use syncml_bridge::syncml::model::{Alert, Item, Location};
    Command::Alert(Alert {
        cmd_id: String::new(),
        no_resp: false,
        cred: None,
        code: AlertCode::NextMessage,
        items: vec![Item {
            source: Some(Location::new(device.to_owned())),
            ..Item::default()
        }],
        extra: Vec::new(),
    })
}

/// Records the statuses the server gave the phone's item commands.
fn note_item_statuses(
    reply: &Message,
    sent: &BTreeMap<(u32, String), (String, u64, bool)>,
    settled: &mut BTreeMap<String, u64>,
    deletes_done: &mut BTreeSet<String>,
) {
    for s in statuses(reply) {
        let Ok(msg_ref) = s.msg_ref.parse::<u32>() else {
            continue;
        };
        let Some((luid, rev, is_delete)) = sent.get(&(msg_ref, s.cmd_ref.clone())) else {
            continue;
        };
        let done = matches!(
            s.code,
            StatusCode::Ok
                | StatusCode::ItemAdded
                | StatusCode::ConflictResolvedWithMerge
                | StatusCode::ConflictResolvedClientWins
                | StatusCode::ConflictResolvedWithDuplicate
                | StatusCode::AlreadyExists
                | StatusCode::ConflictResolvedServerWins
        ) || (*is_delete && matches!(s.code.code(), 211 | 404));
        if !done {
            continue;
        }
        if *is_delete {
            deletes_done.insert(luid.clone());
        } else {
            settled.insert(luid.clone(), *rev);
        }
    }
}
