//! Answering every phone message in time, whatever the upstream does: a message's work
//! runs as a task of its own, and when it is not done by the deadline
//! (`limits.answer_within_secs`) the phone gets what is ready so far, which is at least a
//! "send your next message" alert (a non-final message with Alert 222). The work goes on;
//! the phone's next message collects its answer, or waits its own deadline again. No work
//! is dropped half-done when a phone or the front door stops waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

use super::handler::Session;
use super::session_core::Answer;
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::model::{Command, Message};
use crate::syncml::reply::command_status;

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
}

/// Sessions with work in flight, by RespURI token; at most one entry per open session.
#[derive(Default)]
pub struct BusySessions {
    by_token: Mutex<HashMap<String, Busy>>,
}

impl BusySessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Busy>> {
        self.by_token.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_busy(&self, token: &str) -> bool {
        self.lock().contains_key(token)
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

/// Whether a message carries only what answers the bridge (statuses) or asks for its
/// next message: such a message adds no work of its own.
pub fn only_asks_for_more(msg: &Message) -> bool {
    msg.body.commands.iter().all(|c| match c {
        Command::Status(_) => true,
        Command::Alert(a) => a.code == AlertCode::NextMessage,
        _ => false,
    })
}

/// The statuses for a message that only asks for more: its next-message alerts are
/// answered 200, statuses need no answer.
pub fn asks_for_more_statuses(msg: &Message) -> Vec<Command> {
    let msg_ref = &msg.header.msg_id;
    msg.body
        .commands
        .iter()
        .filter(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::NextMessage))
        .map(|c| Command::Status(command_status(msg_ref, c, "0", StatusCode::Ok)))
        .collect()
}

/// Joins the answer of earlier work with the answer to a later message. The earlier
/// "send your next message" alerts were answered by that very message and go.
pub fn merge(mut earlier: Answer, later: Answer) -> Answer {
    earlier
        .commands
        .retain(|c| !matches!(c, Command::Alert(a) if a.code == AlertCode::NextMessage));
    earlier.commands.extend(later.commands);
    Answer {
        commands: earlier.commands,
        final_: later.final_,
    }
}
