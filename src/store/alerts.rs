//! Push alert bookkeeping per device: whether an alert is outstanding (sent, the device
//! has not synced since) and the recent history `devices show` prints.

use serde::{Deserialize, Serialize};

/// How many past alerts a device keeps.
pub const ALERT_HISTORY: usize = 20;

/// One attempt to alert a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// Unix seconds of the attempt.
    pub time: i64,
    /// `sms:+49...` or `tcp:host:port`.
    pub transport: String,
    /// `sent`, or what failed.
    pub result: String,
    /// The datastores the alert asked for.
    #[serde(default)]
    pub datastores: Vec<String>,
}

impl AlertEntry {
    pub fn delivered(&self) -> bool {
        self.result == "sent"
    }
}

/// The alert state of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Newest last, at most [`ALERT_HISTORY`] entries.
    pub history: Vec<AlertEntry>,
}

impl AlertRecord {
    /// The last attempt, delivered or not.
    pub fn last_attempt(&self) -> Option<&AlertEntry> {
        self.history.last()
    }

    /// The last alert that reached the transport.
    pub fn last_delivered(&self) -> Option<&AlertEntry> {
        self.history.iter().rev().find(|e| e.delivered())
    }

    /// An alert is outstanding when one was delivered and the device has not completed
    /// a session since (`last_sync` is when the device's last session ended).
    pub fn outstanding(&self, last_sync: Option<i64>) -> Option<&AlertEntry> {
        self.last_delivered()
            .filter(|e| last_sync.is_none_or(|synced| synced < e.time))
    }

    pub fn push(&mut self, entry: AlertEntry) {
        self.history.push(entry);
        let extra = self.history.len().saturating_sub(ALERT_HISTORY);
        self.history.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, result: &str) -> AlertEntry {
        AlertEntry {
            time,
            transport: "sms:+1".into(),
            result: result.into(),
            datastores: vec!["contacts".into()],
        }
    }

    #[test]
    fn outstanding_until_the_device_syncs_after_the_alert() {
        let mut r = AlertRecord::default();
        assert_eq!(r.outstanding(None), None);
        r.push(entry(100, "sent"));
        assert!(r.outstanding(None).is_some());
        assert!(r.outstanding(Some(99)).is_some());
        assert!(r.outstanding(Some(100)).is_none());
        r.push(entry(200, "gateway refused"));
        // A failed attempt does not make an alert outstanding.
        assert!(r.outstanding(Some(150)).is_none());
        assert_eq!(r.last_attempt().map(|e| e.time), Some(200));
    }

    #[test]
    fn history_is_bounded() {
        let mut r = AlertRecord::default();
        for t in 0..(ALERT_HISTORY as i64 + 5) {
            r.push(entry(t, "sent"));
        }
        assert_eq!(r.history.len(), ALERT_HISTORY);
        assert_eq!(r.history[0].time, 5);
    }
}
