//! Suspend and resume (SyncML 1.2): the phone's Alert 224 ends a session without its
//! commit, keeping what it finished; its later Alert 225 continues that session when the
//! bridge still holds it for the same anchors. The engine keeps the record
//! (`engine/resume.rs`); this decides when a resume is honoured and feeds it the phone's
//! acknowledgements.

use std::time::Duration;

use super::session_core::SessionCore;
use crate::engine::{Prior, SyncMethod};
use crate::store::{DatastoreKey, SuspendedRun};
use crate::syncml::codes::StatusCode;
use crate::syncml::model::Status;
use crate::syncml::Version;

impl SessionCore {
    /// The suspended session a phone's Alert 225 may continue: kept, recent, for the same
    /// anchors (a resume may leave its Last anchor out), and in a SyncML 1.2 session. When there is none, the reason is logged,
    /// any stale record goes, and the caller runs the sync the anchors allow.
    pub(super) fn resumable(
        &self,
        key: &DatastoreKey,
        prior: &Prior,
        phone_last: Option<&str>,
    ) -> Option<SuspendedRun> {
        let record = match self.shared.store.suspended_run(key) {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::info!(device = %self.device, datastore = %key.datastore, "resume refused: nothing kept of an interrupted session");
                return None;
            }
            Err(e) => {
                tracing::warn!(device = %self.device, datastore = %key.datastore, error = %e, "resume refused: the kept session is unreadable");
                self.forget_suspended(key);
                return None;
            }
        };
        let age = chrono::Utc::now()
            .timestamp()
            .saturating_sub(record.saved_at);
        let age = Duration::from_secs(u64::try_from(age).unwrap_or(0));
        let refused = if self.version != Version::V1_2 {
            Some("resume needs SyncML 1.2")
        } else if self.shared.resume_within.is_zero() {
            Some("resuming is switched off (sync.resume_within_hours = 0)")
        } else if age > self.shared.resume_within {
            Some("the interrupted session is too old (sync.resume_within_hours)")
        } else if phone_last.is_some_and(|l| record.phone_last.as_deref() != Some(l))
            || prior.state.force_slow
        {
            Some("the anchors differ from the interrupted session's")
        } else if !SyncMethod::from_number(record.method).is_some_and(resumes) {
            Some("the kept sync type restarts instead (a refresh, or unknown)")
        } else {
            None
        };
        if let Some(reason) = refused {
            tracing::info!(device = %self.device, datastore = %key.datastore, reason, "resume refused, falling back to a normal sync");
            self.forget_suspended(key);
            return None;
        }
        tracing::info!(device = %self.device, datastore = %key.datastore, applied = record.applied.len(), delivered = record.delivered.len(), "resuming the interrupted session");
        Some(record)
    }

    /// Drops what an earlier session kept for a resume (a new session supersedes it).
    pub(super) fn forget_suspended(&self, key: &DatastoreKey) {
        if let Err(e) = self.shared.store.remove_suspended_run(key) {
            tracing::warn!(device = %self.device, datastore = %key.datastore, error = %e, "cannot drop the kept session");
        }
    }

    /// The phone's status for one of the server's changes. A success: the change is not
    /// sent again should the session be resumed. A failure: the run decides what it
    /// means for the item (`DatastoreRun::refused`). A status that two datastores could
    /// claim (the same LUID in both) is left out: resending is safe, skipping is not.
    pub(super) fn acknowledge(&mut self, s: &Status) {
        // A chunk's 213 only says the item is on its way.
        if s.code == StatusCode::ChunkedItemAccepted {
            return;
        }
        let reference = match s.cmd.as_str() {
            "Add" => s.source_refs.first(),
            "Replace" | "Delete" => s.target_refs.first(),
            _ => None,
        };
        let Some(reference) = reference else {
            return;
        };
        let claims: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| {
                slot.run
                    .as_ref()
                    .is_some_and(|r| r.awaits_acknowledgement(&s.cmd, reference))
            })
            .map(|(i, _)| i)
            .collect();
        if let [only] = claims[..] {
            if let Some(run) = self.slots[only].run.as_mut() {
                if s.code.is_success() {
                    run.acknowledge(&s.cmd, reference);
                } else {
                    run.refused(&s.cmd, reference, s.code);
                }
            }
        }
    }

    /// The phone suspends the session (Alert 224): what it finished stays resumable and
    /// nothing is committed.
    pub(super) fn suspend(&mut self) {
        tracing::info!(device = %self.device, user = %self.user, "session suspended by the phone");
        self.suspended = true;
        self.save_resumable();
    }

    /// Stores every datastore's resumable state (after each message).
    pub(super) fn save_resumable(&mut self) {
        for slot in &mut self.slots {
            if let Some(run) = slot.run.as_mut() {
                if let Err(e) = run.save_resumable(&self.deps) {
                    tracing::warn!(device = %self.device, error = %e, "cannot keep the session for a resume");
                }
            }
        }
    }
}

/// Whether a sync method can be continued: a refresh to the phone empties the phone's
/// datastore and its map when it starts, so it starts over instead.
fn resumes(method: SyncMethod) -> bool {
    !matches!(
        method,
        SyncMethod::RefreshFromServer | SyncMethod::ClientReset
    )
}
