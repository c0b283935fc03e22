//! The end of a session: the phone's Map (package 5) applied, and the commit that
//! moves every datastore's anchors once the session completed.

use super::session_core::{push_status, Answer, SessionCore};
use crate::syncml::codes::StatusCode;
use crate::syncml::model::{Command, Map};

impl SessionCore {
    /// The phone's Map: server ids paired with its LUIDs.
    pub(super) fn apply_maps(
        &mut self,
        msg_ref: &str,
        cmd: &Command,
        map: &Map,
        answer: &mut Answer,
    ) {
        let Some(slot) = self.slot_for(Some(&map.target)) else {
            push_status(answer, msg_ref, cmd, StatusCode::NotFound);
            return;
        };
        let pairs: Vec<(String, String)> = map
            .items
            .iter()
            .map(|m| (m.target.loc_uri.clone(), m.source.loc_uri.clone()))
            .collect();
        let code = match self.slots[slot].run.as_mut() {
            Some(run) => match run.apply_map(&self.deps, &pairs) {
                Ok(()) => StatusCode::Ok,
                Err(e) => {
                    tracing::error!(error = %e, "storing the Map failed");
                    StatusCode::CommandFailed
                }
            },
            None => StatusCode::NotFound,
        };
        push_status(answer, msg_ref, cmd, code);
    }

    /// The session completed: anchors and change state move.
    pub fn commit(&mut self) {
        for slot in &mut self.slots {
            if let Some(run) = slot.run.as_mut() {
                if let Err(e) = run.commit(&self.deps) {
                    tracing::error!(error = %e, "cannot store the datastore state");
                }
            }
        }
        self.record.last_sync = Some(chrono::Utc::now().timestamp());
        self.record.last_result = Some("ok".into());
        if let Err(e) = self.shared.store.put_device(&self.record) {
            tracing::warn!(error = %e, "cannot store the device record");
        }
        tracing::info!(device = %self.device, user = %self.user, "session completed");
    }
}
