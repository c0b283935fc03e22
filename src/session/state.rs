//! The session's package flow as explicit states, one per package the phone may send
//! next. Each state carries what only its package needs, and its `handle` consumes the
//! phone's message and returns the next state; a command a state does not expect (a Map
//! in package 1) is refused by that state with a 403, and the session goes on.
//!
//! What the states do to the session lives with [`SessionCore`]: the Alerts in
//! `alert.rs`, the phone's items in `incoming.rs`, the server's in `outgoing.rs`, the Map
//! and the commit in `maps.rs`.

use super::incoming::Partial;
use super::outgoing::report_unread;
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::model::{Access, Command, Item, Location, Message, Meta, DEVINF_XML_TYPE};

use super::session_core::push_status;
pub use super::session_core::{Answer, SessionCore, Slot};

/// A protocol error: a command the current state did not expect. Logged, and the
/// command is answered 403; the session goes on.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{command} is not allowed while waiting for {waiting}")]
    Unexpected {
        command: String,
        waiting: &'static str,
    },
}

/// Where the session stands: what the phone may send next.
pub enum Phase {
    /// Package 1: log-in, DevInf, the sync Alerts.
    Init(AwaitInit),
    /// Package 3: the phone's Sync commands.
    Sync(AwaitSync),
    /// Package 4 is being delivered over several messages.
    Sending(SendingChanges),
    /// Package 5: statuses for package 4 and the Map.
    Map(AwaitMap),
    Done,
}

/// Package 1, possibly over several messages.
#[derive(Default)]
pub struct AwaitInit {
    /// The largest item the phone accepts (MaxObjSize of its header or Alerts).
    phone_max_obj: Option<u64>,
}

/// Package 3, possibly over several messages.
pub struct AwaitSync {
    phone_max_obj: Option<u64>,
    /// A large object whose chunks are still arriving.
    partial: Option<Partial>,
}

pub struct SendingChanges {
    expects_map: bool,
}

pub struct AwaitMap;

/// A command the current package may not hold: logged as a protocol error and answered 403.
fn refuse_unexpected(
    core: &SessionCore,
    msg_ref: &str,
    cmd: &Command,
    waiting: &'static str,
    answer: &mut Answer,
) {
    let err = FlowError::Unexpected {
        command: cmd.name().to_owned(),
        waiting,
    };
    tracing::warn!(device = %core.device, error = %err, "protocol error");
    push_status(answer, msg_ref, cmd, StatusCode::Forbidden);
}

/// Statuses and Alert 222 of a message need no answer beyond acknowledging them.
pub(super) fn common(
    core: &mut SessionCore,
    msg_ref: &str,
    cmd: &Command,
    answer: &mut Answer,
) -> bool {
    match cmd {
        Command::Status(s) => {
            core.note_status(s);
            core.acknowledge(s);
            true
        }
        Command::Alert(a) if a.code == AlertCode::Suspend => {
            push_status(answer, msg_ref, cmd, StatusCode::Ok);
            core.suspend();
            true
        }
        Command::Alert(a) if a.code == AlertCode::NextMessage => {
            push_status(answer, msg_ref, cmd, StatusCode::Ok);
            true
        }
        _ => false,
    }
}

/// A message that may hold Maps and statuses only.
fn take_maps(core: &mut SessionCore, msg: &Message, answer: &mut Answer, waiting: &'static str) {
    let msg_ref = msg.header.msg_id.clone();
    for cmd in &msg.body.commands {
        if common(core, &msg_ref, cmd, answer) {
            continue;
        }
        match cmd {
            Command::Map(m) => core.apply_maps(&msg_ref, cmd, m, answer),
            other => refuse_unexpected(core, &msg_ref, other, waiting, answer),
        }
    }
}

/// A message after the session's end: the phone's statuses and Map for the last package
/// (a Sync4j client first asks for the next message, then sends them). Whether it asked
/// for the next message, so the session waits for what follows.
pub(super) fn after_end(core: &mut SessionCore, msg: &Message, answer: &mut Answer) -> bool {
    take_maps(core, msg, answer, "nothing: the session has ended");
    asks_next_message(msg)
}

fn asks_next_message(msg: &Message) -> bool {
    msg.body
        .commands
        .iter()
        .any(|c| matches!(c, Command::Alert(a) if a.code == AlertCode::NextMessage))
}

impl AwaitInit {
    /// Package 1: stays here until its final message, then waits for package 3.
    pub async fn handle(
        mut self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Phase {
        let msg_ref = msg.header.msg_id.clone();
        // DS 1.2 phones may say MaxObjSize in the header; an Alert's own value wins.
        if let Some(m) = msg.header.meta.as_ref().and_then(|m| m.max_obj_size) {
            self.phone_max_obj.get_or_insert(m);
        }
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            match cmd {
                Command::Put(_) | Command::Get(_) | Command::Results(_) => {
                    core.handle_put_get_results(&msg_ref, cmd, answer)
                }
                Command::Alert(a) => {
                    for item in &a.items {
                        let st = core
                            .open_slot(&msg_ref, a, item, answer, &mut self.phone_max_obj)
                            .await;
                        answer.commands.push(st);
                    }
                }
                other => refuse_unexpected(
                    core,
                    &msg_ref,
                    other,
                    "package 1 (log-in and sync alerts)",
                    answer,
                ),
            }
        }
        if !msg.body.final_ {
            answer.commands.push(core.next_message_alert());
            return Phase::Init(self);
        }
        // Package 1 ends once, so the DevInf is asked for at most once.
        if core.devinf.is_none() {
            let uri = core.version.devinf_uri();
            answer.commands.push(Command::Get(Access {
                cmd_id: "0".into(),
                meta: Some(Meta {
                    content_type: Some(DEVINF_XML_TYPE.into()),
                    ..Meta::default()
                }),
                items: vec![Item {
                    target: Some(Location::new(uri)),
                    ..Item::default()
                }],
                ..Access::default()
            }));
        }
        answer.final_ = true;
        Phase::Sync(AwaitSync {
            phone_max_obj: self.phone_max_obj,
            partial: None,
        })
    }
}

impl AwaitSync {
    /// Package 3: stays here until its final message, then queues package 4.
    pub async fn handle(
        mut self,
        core: &mut SessionCore,
        msg: &Message,
        answer: &mut Answer,
    ) -> Phase {
        let msg_ref = msg.header.msg_id.clone();
        for cmd in &msg.body.commands {
            if common(core, &msg_ref, cmd, answer) {
                continue;
            }
            match cmd {
                Command::Sync(s) => {
                    // The Sync's own MaxObjSize is the phone's latest word on it.
                    if let Some(m) = s.meta.as_ref().and_then(|m| m.max_obj_size) {
                        self.phone_max_obj = Some(m);
                    }
                    core.handle_sync(&msg_ref, cmd, s, answer, &mut self.partial)
                        .await
                }
                Command::Put(_) | Command::Get(_) | Command::Results(_) => {
                    core.handle_put_get_results(&msg_ref, cmd, answer)
                }
                // Synthesis-based clients (SyncEvolution) send the Map an interrupted
                // session never delivered again here, before their Sync: refusing it
                // failed every later session of the phone.
                Command::Map(m) => core.apply_maps(&msg_ref, cmd, m, answer),
                other => refuse_unexpected(
                    core,
                    &msg_ref,
                    other,
                    "package 3 (the phone's changes)",
                    answer,
                ),
            }
        }
        if !msg.body.final_ {
            if !answer.commands.iter().any(
                |c| matches!(c, Command::Status(s) if s.code == StatusCode::ChunkedItemAccepted),
            ) {
                answer.commands.push(core.next_message_alert());
            }
            return Phase::Sync(self);
        }
        let queued = core.queue_server_changes(self.phone_max_obj).await;
        report_unread(answer, &queued.unread);
        Phase::Sending(SendingChanges {
            expects_map: queued.expects_answer,
        })
    }
}

impl SendingChanges {
    /// Called after a message of package 4 was packed: where the session goes next.
    pub fn after_send(self, core: &mut SessionCore, drained: bool) -> Phase {
        if !drained {
            return Phase::Sending(self);
        }
        if self.expects_map {
            Phase::Map(AwaitMap)
        } else {
            core.commit();
            Phase::Done
        }
    }

    /// A message while package 4 is still going out: only Maps are taken; the phase
    /// moves on in [`SendingChanges::after_send`].
    pub fn handle(self, core: &mut SessionCore, msg: &Message, answer: &mut Answer) -> Self {
        // Clients map the items of each message as they go.
        take_maps(core, msg, answer, "the rest of package 4 to be asked for");
        self
    }
}

impl AwaitMap {
    /// Package 5: stays here until its final message, then commits.
    pub fn handle(self, core: &mut SessionCore, msg: &Message, answer: &mut Answer) -> Phase {
        take_maps(core, msg, answer, "package 5 (statuses and Map)");
        if !msg.body.final_ {
            answer.commands.push(core.next_message_alert());
            return Phase::Map(self);
        }
        // A phone asking for the next message has not sent its Map yet (Sync4j clients
        // ask once more after the server's last package).
        if asks_next_message(msg) {
            answer.final_ = true;
            return Phase::Map(self);
        }
        core.commit();
        answer.final_ = true;
        Phase::Done
    }
}

#[cfg(test)]
mod tests;
