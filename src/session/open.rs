//! An open session: what it holds between messages, and the work in flight for it when
//! an answer outlived its deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

use super::debug_log::Recorder;
use super::expiring::lock;
use super::session_core::Answer;
use super::state::{Phase, SessionCore};
use crate::http::SyncmlReply;
use crate::metrics::SessionTracker;
use crate::syncml::codes::StatusCode;

/// One open session.
pub struct Session {
    pub(super) core: SessionCore,
    pub(super) phase: Phase,
    /// The last message received (its MsgID and a digest of its bytes) and the reply
    /// it got, for resends.
    pub(super) last: Option<(String, [u8; 32], SyncmlReply)>,
    pub(super) max_msg: usize,
    /// Message counter, RespURI and first header status, shared with work in flight.
    pub(super) wire: Arc<Mutex<Wire>>,
    /// Counts the session in `/metrics` once its sync type is known.
    pub(super) tracker: Option<SessionTracker>,
    /// The session was counted in `/metrics` (once, however many messages follow).
    pub(super) counted: bool,
    /// The last reply carried commands the phone must answer (with their statuses).
    pub(super) awaits_answer: bool,
    /// After its end the phone asked for the next message: its last package (statuses,
    /// Map) is still to come, so the session stays for it.
    pub(super) phone_continues: bool,
    /// Set when the device's messages are recorded (`log.debug_devices`, `debug=on`).
    pub(super) recorder: Option<Recorder>,
    /// What a message without the session's token must prove to join it.
    pub(super) proof: JoinProof,
    /// Shows the device in session until the session is dropped.
    pub(super) _in_session: crate::in_session::SessionMark,
}

/// The credentials a session's user logged in with: a message that finds the session
/// by device ID and SessionID instead of its token must carry them.
#[derive(Clone)]
pub struct JoinProof {
    pub password: String,
    /// The MD5 nonces the phone may have made its digest over: the one it logged in
    /// with, and the one the bridge gave it for next time.
    pub nonces: Vec<String>,
}

/// What every reply of a session needs before its body: the message counter, the
/// RespURI, and the header status of the first reply (212, with a challenge nonce).
pub struct Wire {
    pub out_msg_id: u32,
    pub resp_uri: String,
    pub header_code: StatusCode,
    pub chal_nonce: Option<String>,
}

/// The session and the answer so far, once a message's work is done; `None` when the
/// work failed (a panic in it), which ends the session.
pub type Done = Option<(OwnedMutexGuard<Session>, Answer)>;

/// A session whose work outlived a deadline.
pub struct Busy {
    pub work: JoinHandle<Done>,
    /// The message the work answers: a resend of it adds no work.
    pub msg_id: String,
    pub wire: Arc<Mutex<Wire>>,
    /// The session had ended before this work began (for the metrics).
    pub was_done: bool,
    /// The session's user and log-in, readable while the work holds the session.
    pub user: String,
    pub proof: JoinProof,
}

/// Sessions with work in flight, by RespURI token; at most one entry per open session.
#[derive(Default)]
pub struct BusySessions {
    by_token: Mutex<HashMap<String, Busy>>,
}

impl BusySessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Busy>> {
        lock(&self.by_token)
    }

    pub fn is_busy(&self, token: &str) -> bool {
        self.lock().contains_key(token)
    }

    /// Whether the busy session of `token` belongs to whoever `proves` accepts.
    pub fn proven(&self, token: &str, proves: impl Fn(&str, &JoinProof) -> bool) -> bool {
        self.lock()
            .get(token)
            .is_some_and(|b| proves(&b.user, &b.proof))
    }

    pub fn take(&self, token: &str) -> Option<Busy> {
        self.lock().remove(token)
    }

    pub fn put(&self, token: String, busy: Busy) {
        self.lock().insert(token, busy);
    }

    /// Drops work whose session is gone from the table (expired): the task finishes on
    /// its own; only the bookkeeping goes.
    pub fn retain(&self, alive: impl Fn(&str) -> bool) {
        self.lock().retain(|t, _| alive(t));
    }
}
