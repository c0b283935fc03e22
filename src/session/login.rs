//! Log-in: finding the session a message belongs to (its token, or proof it comes from
//! the session's user), checking the credentials of a message that opens one, and the
//! answers to a log-in that failed, with their challenges and the throttle's delay.

use std::sync::Arc;

use http::StatusCode as HttpStatus;

use super::auth::{challenge, new_nonce, AuthOutcome, LoggedIn};
use super::expiring::lock;
use super::handler::{ReplyTo, SessionHandler};
use super::open::{JoinProof, Session};
use super::throttle::AddressGate;
use crate::http::SyncmlReply;
use crate::syncml::auth::AUTH_MD5;
use crate::syncml::codes::StatusCode;
use crate::syncml::model::SyncHdr;

impl SessionHandler {
    /// The open session this message belongs to: the one its RespURI token names, else
    /// one of its device ID and SessionID whose user's credentials it carries.
    pub(super) async fn find_session(
        &self,
        token: Option<&str>,
        header: &SyncHdr,
    ) -> Option<(String, Arc<tokio::sync::Mutex<Session>>)> {
        if let Some(found) = token.and_then(|t| self.table.by_token(t)) {
            return Some(found);
        }
        header.cred.as_ref()?;
        for (key, session) in self
            .table
            .candidates(&header.source.loc_uri, &header.session_id)
        {
            let proves = |user: &str, proof: &JoinProof| {
                self.shared
                    .auth
                    .proves(header, user, &proof.password, &proof.nonces)
            };
            // A session whose work is in flight is not locked to check: its log-in is
            // kept beside the work.
            let proven = if self.busy.is_busy(&key) {
                self.busy.proven(&key, proves)
            } else {
                let guard = session.lock().await;
                proves(&guard.core.user, &guard.proof)
            };
            if proven {
                self.table.touch(&key);
                return Some((key, session));
            }
        }
        None
    }

    /// The reply again when this message is a resend of the one that ended a session.
    pub(super) fn resend_of_ended(
        &self,
        token: Option<&str>,
        header: &SyncHdr,
        body: &[u8],
    ) -> Option<SyncmlReply> {
        if let Some(reply) = token.and_then(|t| self.ended.resend_by_token(t, body)) {
            return Some(reply);
        }
        header.cred.as_ref()?;
        self.ended
            .resend_by_ids(&header.source.loc_uri, &header.session_id, body, |o| {
                self.shared
                    .auth
                    .proves(header, &o.user, &o.proof.password, &o.proof.nonces)
            })
    }

    /// The answer to a log-in that did not succeed: its status, a challenge when one is
    /// due, and for a wrong guess the throttle's delay first.
    async fn refuse_log_in(
        &self,
        reply: &ReplyTo<'_>,
        remote: std::net::IpAddr,
        outcome: AuthOutcome,
    ) -> SyncmlReply {
        let header = reply.header;
        let device = &header.source.loc_uri;
        let sent = header.cred.as_ref().map(|c| c.auth_type());
        let scheme = self.shared.auth.challenge_scheme(sent);
        let challenge_with_nonce = || {
            let nonce = if scheme == AUTH_MD5 {
                self.nonces.issue(device)
            } else {
                new_nonce()
            };
            Some(challenge(scheme, &nonce))
        };
        match outcome {
            AuthOutcome::Accepted { .. } => {
                self.header_only(reply, StatusCode::ServerFailure, None)
            }
            AuthOutcome::Missing => self.header_only(
                reply,
                StatusCode::MissingCredentials,
                challenge_with_nonce(),
            ),
            AuthOutcome::NeedsNonce => {
                tracing::info!(%device, "MD5 log-in without an issued nonce: challenged");
                self.header_only(
                    reply,
                    StatusCode::InvalidCredentials,
                    challenge_with_nonce(),
                )
            }
            AuthOutcome::Refused { user, reason } => {
                tracing::info!(%device, user = user.as_deref().unwrap_or(""), %remote, reason, "log-in refused");
                let delay = self.shared.throttle.failed(remote, user.as_deref());
                let tries = {
                    let mut f = lock(&self.failures);
                    let n = f.touch((device.clone(), header.session_id.clone()), || 0);
                    *n += 1;
                    *n
                };
                tokio::time::sleep(delay).await;
                // Challenged once for the right scheme; the second failure is final.
                let chal = if tries <= 1 {
                    challenge_with_nonce()
                } else {
                    None
                };
                self.header_only(reply, StatusCode::InvalidCredentials, chal)
            }
            AuthOutcome::Throttled { user } => {
                tracing::info!(%device, %user, %remote, "log-in not checked: too many failed log-ins for this user");
                let delay = self.shared.throttle.failed(remote, None);
                tokio::time::sleep(delay).await;
                self.header_only(reply, StatusCode::InvalidCredentials, None)
            }
            AuthOutcome::Forbidden { user } => {
                tracing::info!(%device, %user, "account not allowed to sync");
                self.header_only(reply, StatusCode::Forbidden, None)
            }
            AuthOutcome::Unavailable => {
                self.header_only(reply, StatusCode::ServiceUnavailable, None)
            }
        }
    }

    /// Checks the credentials of a message that belongs to no open session, on its
    /// header alone: nothing of its body is built before this succeeds.
    pub(super) async fn log_in(
        &self,
        reply: &ReplyTo<'_>,
        remote: std::net::IpAddr,
    ) -> Result<LoggedIn, SyncmlReply> {
        let header = reply.header;
        let device = header.source.loc_uri.clone();
        if let AddressGate::Locked { retry_after } = self.shared.throttle.address_gate(remote) {
            tracing::info!(%remote, %device, "log-in refused: the address is locked out for failed log-ins");
            return Err(SyncmlReply::Error {
                status: HttpStatus::TOO_MANY_REQUESTS,
                reason: format!(
                    "too many failed log-ins from this address; try again in {} s",
                    retry_after.as_secs().max(1)
                ),
            });
        }
        let claimed_user = header.source.loc_name.clone().unwrap_or_default();
        let stored_nonce = (!claimed_user.is_empty())
            .then(|| self.device_record(&claimed_user, &device).next_nonce)
            .flatten();
        let mut nonces = self.nonces.pending(&device);
        nonces.extend(stored_nonce);
        let outcome = self
            .shared
            .auth
            .check(
                header,
                &nonces,
                &self.shared.throttle,
                &self.shared.store,
                self.shared.upstream.as_ref(),
            )
            .await;
        match outcome {
            AuthOutcome::Accepted {
                user,
                password,
                nonce,
            } => {
                // Two copies of one message racing: only the first logs in.
                if let Some(n) = &nonce {
                    if !self.nonces.spend(&device, n) {
                        let replay = AuthOutcome::Refused {
                            user: Some(user),
                            reason: "MD5 nonce already used",
                        };
                        return Err(self.refuse_log_in(reply, remote, replay).await);
                    }
                }
                Ok(LoggedIn {
                    user,
                    password,
                    nonce,
                })
            }
            other => Err(self.refuse_log_in(reply, remote, other).await),
        }
    }
}
