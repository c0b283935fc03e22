//! Answering every phone message in time, whatever the upstream does: a message's work
//! runs as a task of its own, and when it is not done by the deadline
//! (`limits.answer_within_secs`) the phone gets what is ready so far, which is at least a
//! "send your next message" alert (a non-final message with Alert 222). The work goes on;
//! the phone's next message collects its answer, or waits its own deadline again. No work
//! is dropped half-done when a phone or the front door stops waiting.

use std::sync::Arc;

use http::StatusCode as HttpStatus;

use super::handler::{process, SessionHandler};
use super::open::Busy;
use super::session_core::Answer;
use super::state::common;
use crate::http::{SyncmlReply, SyncmlRequest};
use crate::syncml::codes::AlertCode;
use crate::syncml::model::{Command, Message};
use crate::syncml::Decoded;

/// Whether a message carries only what answers the bridge (statuses) or asks for its
/// next message: such a message adds no work of its own.
pub fn only_asks_for_more(msg: &Message) -> bool {
    msg.body.commands.iter().all(|c| match c {
        Command::Status(_) => true,
        Command::Alert(a) => a.code == AlertCode::NextMessage,
        _ => false,
    })
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

impl SessionHandler {
    /// Waits for a session's work until the deadline: then the reply with its answer, or
    /// one that asks the phone for its next message while the work goes on.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn await_work(
        &self,
        token: String,
        mut busy: Busy,
        decoded: &Decoded,
        request: &SyncmlRequest,
        deadline: tokio::time::Instant,
        recorded: Option<u32>,
        device: &str,
    ) -> SyncmlReply {
        let started = std::time::Instant::now();
        match tokio::time::timeout_at(deadline, &mut busy.work).await {
            Ok(Ok(Some((mut guard, answer)))) => {
                let reply = self.pack(decoded, &mut guard, answer);
                self.finish(
                    token,
                    &mut guard,
                    decoded,
                    request,
                    reply,
                    busy.was_done,
                    recorded,
                    started,
                )
            }
            Ok(Ok(None)) | Ok(Err(_)) => {
                tracing::error!(%device, "the session's work failed; the session is dropped");
                self.table.remove(&token);
                SyncmlReply::Error {
                    status: HttpStatus::INTERNAL_SERVER_ERROR,
                    reason: "the session failed".into(),
                }
            }
            Err(_) => {
                tracing::info!(%device, msg = %decoded.message.header.msg_id, "answer not ready by the deadline: the phone is asked for its next message while the work goes on");
                let reply = self.still_working(&busy.wire, decoded, device);
                self.busy.put(token, busy);
                reply
            }
        }
    }

    /// A message of a session whose earlier work is still running: its own work is
    /// chained after that, and the phone gets whatever is ready by the deadline.
    pub(super) async fn continue_work(
        &self,
        token: String,
        earlier: Busy,
        decoded: Decoded,
        request: &SyncmlRequest,
        deadline: tokio::time::Instant,
    ) -> SyncmlReply {
        let decoded = Arc::new(decoded);
        let message = decoded.clone();
        let Busy {
            work,
            msg_id,
            wire,
            was_done,
            user,
            proof,
        } = earlier;
        // A resend of the message being worked on, or one that only asks for more,
        // adds nothing to do.
        let adds_work =
            message.message.header.msg_id != msg_id && !only_asks_for_more(&message.message);
        let chained = tokio::spawn(async move {
            let (mut guard, answer) = work.await.ok().flatten()?;
            let msg = &message.message;
            let answer = if adds_work {
                let later = process(&mut guard, msg).await;
                merge(answer, later)
            } else {
                // Statuses noted, next-message alerts answered, as in any phase.
                let mut answer = answer;
                for c in &msg.body.commands {
                    common(&mut guard.core, &msg.header.msg_id, c, &mut answer);
                }
                answer
            };
            Some((guard, answer))
        });
        let device = decoded.message.header.source.loc_uri.clone();
        let busy = Busy {
            work: chained,
            msg_id: decoded.message.header.msg_id.clone(),
            wire,
            was_done,
            user,
            proof,
        };
        self.await_work(token, busy, &decoded, request, deadline, None, &device)
            .await
    }
}
