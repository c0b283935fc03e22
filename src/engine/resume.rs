//! Resuming an interrupted session (SyncML 1.2 Alert 225). While a session runs, what it
//! finished is kept in the store after every message: the phone's changes applied (with
//! their statuses; their map entries are stored anyway), the server's changes the phone
//! acknowledged, the writes made for the phone. A resumed session starts from that: a
//! change the phone sends again is answered with its first status and not applied twice,
//! and a server change the phone already has is not sent again. A completed session
//! forgets the record.

use std::collections::HashMap;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{
    store_err, DatastoreRun, DavItems, EngineDeps, EngineError, PhoneChange, ServerChange,
};
use crate::store::{AppliedChange, DeliveredChange, SuspendedRun};
use crate::syncml::codes::StatusCode;

/// The most entries (applied, delivered and written items together) a resumable record
/// holds; a larger session is not kept for a resume (the phone's next session repeats
/// the work safely instead).
pub const RESUME_MAX_ENTRIES: usize = 10_000;

/// A server change sent to the phone, until the phone acknowledges it.
#[derive(Debug, Clone)]
struct Sent {
    href: String,
    etag: Option<String>,
    /// The LUID of a delete.
    luid: Option<String>,
}

/// What the run keeps for a resume.
#[derive(Debug, Default)]
pub(super) struct ResumeBook {
    /// The phone's Last anchor as it alerted this session.
    phone_last: Option<String>,
    /// LUID -> (digest, status) of the phone's changes applied.
    applied: HashMap<String, (String, u16)>,
    /// `A:server id`, `R:luid`, `D:luid` -> what was sent.
    sent: HashMap<String, Sent>,
    delivered: Vec<DeliveredChange>,
    /// Something changed since the record was last stored.
    dirty: bool,
    /// The record grew past [`RESUME_MAX_ENTRIES`]: no longer kept.
    too_large: bool,
}

/// The key a sent change is known by: its command and server id (Add) or LUID.
fn sent_key(cmd: &str, reference: &str) -> Option<String> {
    let prefix = match cmd {
        "Add" => "A",
        "Replace" => "R",
        "Delete" => "D",
        _ => return None,
    };
    Some(format!("{prefix}:{reference}"))
}

fn digest(change: &PhoneChange) -> String {
    let mut h = Sha256::new();
    match change {
        PhoneChange::Add { data, .. } => {
            h.update(b"A");
            h.update(data);
        }
        PhoneChange::Replace { data, .. } => {
            h.update(b"R");
            h.update(data);
        }
        PhoneChange::Delete { .. } => h.update(b"D"),
    }
    // Compared only with the same LUID's earlier change: 64 bits are plenty, and the
    // record, stored after every message, stays small.
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl DatastoreRun {
    /// Notes the phone's Last anchor of this session, kept with a resumable record.
    pub fn set_phone_last(&mut self, last: Option<String>) {
        self.resume.phone_last = last;
        self.resume.dirty = true;
    }

    /// Continues from what an interrupted session finished (the session checked that the
    /// record fits: same anchors, not too old).
    pub fn resume_from(&mut self, record: SuspendedRun) {
        // The items the broken session sent are this session's: their Map comes at its end.
        self.unmapped = super::unmapped::Unmapped::default();
        let book = &mut self.resume;
        // A resume may leave its Last anchor out: the broken session's stays the one.
        if book.phone_last.is_none() {
            book.phone_last = record.phone_last;
        }
        for a in record.applied {
            book.applied.insert(a.luid, (a.digest, a.status));
        }
        self.written.extend(record.written);
        self.send_back.extend(record.send_back);
        self.taken.extend(record.taken);
        for d in &record.delivered {
            // The phone has this version: it is not sent again.
            self.written.insert(d.href.clone(), d.etag.clone());
            self.taken.insert(d.href.clone());
            self.send_back.remove(&d.href);
            if let Some(luid) = &d.luid {
                self.map.remove(&d.href);
                self.luid_to_href.remove(luid);
                self.forget_luids.push(luid.clone());
            }
        }
        self.resume.delivered = record.delivered;
        self.failed |= record.failed;
        self.resume.dirty = true;
    }

    /// Splits the phone's changes into those an interrupted session already applied
    /// (with the status they got then) and the rest.
    pub(super) fn already_applied(&self, changes: &[PhoneChange]) -> Vec<Option<StatusCode>> {
        changes
            .iter()
            .map(|c| {
                let (d, status) = self.resume.applied.get(c.luid())?;
                (*d == digest(c)).then(|| StatusCode::from_code(*status))
            })
            .collect()
    }

    /// Notes the phone's changes applied with a success status.
    pub(super) fn note_applied(&mut self, changes: &[PhoneChange], statuses: &[StatusCode]) {
        for (c, s) in changes.iter().zip(statuses) {
            if s.is_success() {
                self.resume
                    .applied
                    .insert(c.luid().to_owned(), (digest(c), s.code()));
                self.resume.dirty = true;
            }
        }
    }

    /// Notes what the server's changes for the phone are, to know them when the phone
    /// acknowledges them.
    pub fn note_sent<D>(&mut self, deps: &EngineDeps<D>, out: &[ServerChange]) {
        for c in out {
            let (key, sent) = match c {
                ServerChange::Add { server_id, .. } => {
                    let Ok(Some(p)) = deps.store.pending_map(&self.key, server_id) else {
                        continue;
                    };
                    let sent = Sent {
                        href: p.href,
                        etag: p.etag,
                        luid: None,
                    };
                    (format!("A:{server_id}"), sent)
                }
                ServerChange::Replace { luid, .. } => {
                    let Ok(Some(e)) = deps.store.map_by_luid(&self.key, luid) else {
                        continue;
                    };
                    let sent = Sent {
                        href: e.href,
                        etag: e.etag,
                        luid: None,
                    };
                    (format!("R:{luid}"), sent)
                }
                ServerChange::Delete { luid } => {
                    let Some(href) = self.luid_to_href.get(luid) else {
                        continue;
                    };
                    let sent = Sent {
                        href: href.clone(),
                        etag: None,
                        luid: Some(luid.clone()),
                    };
                    (format!("D:{luid}"), sent)
                }
            };
            self.resume.sent.insert(key, sent);
        }
    }

    /// The phone acknowledged one of the server's changes with a success status: `cmd` is
    /// the command's name, `reference` its server id (Add) or LUID (Replace, Delete).
    /// Whether the change was one of this run's.
    pub fn acknowledge(&mut self, cmd: &str, reference: &str) -> bool {
        if cmd == "Replace" {
            self.confirm_copy(reference);
        }
        let Some(sent) = sent_key(cmd, reference).and_then(|k| self.resume.sent.remove(&k)) else {
            return false;
        };
        self.resume.delivered.push(DeliveredChange {
            href: sent.href,
            etag: sent.etag,
            luid: sent.luid,
        });
        self.resume.dirty = true;
        true
    }

    /// The phone answered one of the server's changes with a failure. The item of a
    /// Replace it says it does not hold (404, 410) goes to the phone as new next session,
    /// unless the phone's Delete of it comes first: the phone deleted it while the bridge
    /// did not learn it (a session that broke after the phone applied its Delete).
    pub fn refused(&mut self, cmd: &str, reference: &str, code: StatusCode) {
        if cmd != "Replace" || !matches!(code, StatusCode::NotFound | StatusCode::Gone) {
            return;
        }
        let Some(href) = self.luid_to_href.get(reference).cloned() else {
            return;
        };
        tracing::info!(datastore = %self.key.datastore, luid = %reference, %href, "the phone no longer holds the item: sent as new next session");
        self.resend.push(href);
    }

    /// Whether `reference` names a change this run sent that the phone has not
    /// acknowledged yet (`cmd` as in [`DatastoreRun::acknowledge`]).
    pub fn awaits_acknowledgement(&self, cmd: &str, reference: &str) -> bool {
        sent_key(cmd, reference).is_some_and(|k| self.resume.sent.contains_key(&k))
    }

    /// Stores what this session finished, for a resume should it not complete.
    pub fn save_resumable<D>(&mut self, deps: &EngineDeps<D>) -> Result<(), EngineError> {
        if !self.resume.dirty || self.resume.too_large {
            return Ok(());
        }
        self.resume.dirty = false;
        let entries = self.resume.applied.len() + self.resume.delivered.len() + self.written.len();
        if entries > RESUME_MAX_ENTRIES {
            self.resume.too_large = true;
            tracing::info!(datastore = %self.key.datastore, entries, "session too large to keep for a resume");
            return deps
                .store
                .remove_suspended_run(&self.key)
                .map_err(store_err(&self.key));
        }
        let record = self.resumable_record();
        deps.store
            .put_suspended_run(&self.key, &record)
            .map_err(store_err(&self.key))
    }

    fn resumable_record(&self) -> SuspendedRun {
        let mut applied: Vec<AppliedChange> = self
            .resume
            .applied
            .iter()
            .map(|(luid, (digest, status))| AppliedChange {
                luid: luid.clone(),
                digest: digest.clone(),
                status: *status,
            })
            .collect();
        applied.sort_by(|a, b| a.luid.cmp(&b.luid));
        let mut written: Vec<(String, Option<String>)> = self
            .written
            .iter()
            .map(|(h, e)| (h.clone(), e.clone()))
            .collect();
        written.sort();
        let mut send_back: Vec<String> = self.send_back.iter().cloned().collect();
        send_back.sort();
        let mut taken: Vec<String> = self.taken.iter().cloned().collect();
        taken.sort();
        SuspendedRun {
            method: self.method.number(),
            phone_last: self.resume.phone_last.clone(),
            phone_next: self.phone_next.clone(),
            server_next: self.server_next.clone(),
            saved_at: Utc::now().timestamp(),
            applied,
            delivered: self.resume.delivered.clone(),
            written,
            send_back,
            taken,
            failed: self.failed,
        }
    }

    /// The phone's changes, less those an interrupted session already applied.
    pub(super) async fn apply_resumable<D: DavItems>(
        &mut self,
        deps: &EngineDeps<D>,
        changes: Vec<PhoneChange>,
    ) -> Result<Vec<StatusCode>, EngineError> {
        let done = self.already_applied(&changes);
        let repeated = done.iter().filter(|d| d.is_some()).count();
        if repeated > 0 {
            tracing::info!(datastore = %self.key.datastore, repeated, "changes applied before the interruption answered again, not applied twice");
        }
        let fresh: Vec<PhoneChange> = changes
            .iter()
            .zip(&done)
            .filter(|(_, d)| d.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        let fresh_statuses = self.apply_inner(deps, fresh.clone()).await?;
        self.note_applied(&fresh, &fresh_statuses);
        // A failure is kept too (the anchors of the resumed session must stay).
        self.resume.dirty |= !fresh.is_empty();
        let mut fresh_iter = fresh_statuses.into_iter();
        let statuses = done
            .into_iter()
            .map(|d| {
                d.or_else(|| fresh_iter.next())
                    .unwrap_or(StatusCode::CommandFailed)
            })
            .collect();
        Ok(statuses)
    }
}
