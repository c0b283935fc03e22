//! Sessions that ended: their slot in the session table is free at once, and only what a
//! resend of their last message needs is kept, for a few minutes.

use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::expiring::{lock, ExpiringMap};
use super::open::JoinProof;
use crate::http::SyncmlReply;

/// How long the last reply of an ended session is kept for a resend.
const ENDED_MEMORY: Duration = Duration::from_secs(300);
/// Ended sessions remembered at once.
const MAX_ENDED: usize = 10_000;

/// The last exchange of an ended session.
pub struct Ended {
    pub owner: Owner,
    /// The hash of the message that ended the session: only that very message is a resend.
    request: [u8; 32],
    reply: SyncmlReply,
}

fn digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Ended sessions by their RespURI token.
pub struct EndedSessions {
    by_token: Mutex<ExpiringMap<String, Ended>>,
}

impl Default for EndedSessions {
    fn default() -> Self {
        EndedSessions {
            by_token: Mutex::new(ExpiringMap::new(ENDED_MEMORY, MAX_ENDED)),
        }
    }
}

/// Who a session belonged to and how its user logged in.
pub struct Owner {
    pub user: String,
    pub device: String,
    pub session_id: String,
    /// What a message without the token must prove.
    pub proof: JoinProof,
}

impl EndedSessions {
    /// Remembers the reply to `request`, the message that ended the session `token`.
    pub fn remember(&self, token: String, owner: Owner, request: &[u8], reply: SyncmlReply) {
        let ended = Ended {
            owner,
            request: digest(request),
            reply,
        };
        lock(&self.by_token).insert(token, ended);
    }

    /// The reply again, when `request` is the very message that ended the session `token`.
    pub fn resend_by_token(&self, token: &str, request: &[u8]) -> Option<SyncmlReply> {
        let mut map = lock(&self.by_token);
        let ended = map.get_mut(&token.to_owned())?;
        (ended.request == digest(request)).then(|| ended.reply.clone())
    }

    /// The reply again, for a resend without the token: `proves` must accept the message
    /// as coming from the session's user.
    pub fn resend_by_ids(
        &self,
        device: &str,
        session_id: &str,
        request: &[u8],
        proves: impl Fn(&Owner) -> bool,
    ) -> Option<SyncmlReply> {
        let hash = digest(request);
        let map = lock(&self.by_token);
        let reply = map
            .values()
            .find(|e| {
                e.owner.device == device
                    && e.owner.session_id == session_id
                    && e.request == hash
                    && proves(&e.owner)
            })
            .map(|e| e.reply.clone());
        reply
    }
}
