//! When a device may get a new alert: never while one is outstanding (sent, not yet
//! answered by a sync), not sooner than the minimum interval after the last attempt,
//! and not during quiet hours.

use crate::config::PushConfig;
use crate::store::AlertRecord;

/// Why a device is not alerted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// An alert sent at this time has not been followed by a sync yet.
    Outstanding {
        since: i64,
    },
    /// The last attempt was too recent; the next may go at `until`.
    TooSoon {
        until: i64,
    },
    QuietHours,
}

/// The coalescing rules of the `[push]` configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalescing {
    pub min_interval_secs: i64,
    /// Minutes after local midnight: `[start, end)`, wrapping past midnight when start > end.
    pub quiet: Option<(u16, u16)>,
}

impl Coalescing {
    pub fn from_config(config: &PushConfig) -> Self {
        Coalescing {
            min_interval_secs: i64::try_from(config.min_alert_interval_secs).unwrap_or(i64::MAX),
            quiet: crate::config::parse_quiet_hours(&config.quiet_hours).filter(|(a, b)| a != b),
        }
    }

    /// Whether the device may be alerted at `now` (Unix seconds; `local_minute` is the
    /// same instant as minutes after local midnight).
    pub fn check(
        &self,
        record: &AlertRecord,
        last_sync: Option<i64>,
        now: i64,
        local_minute: u16,
    ) -> Result<(), Hold> {
        if let Some(e) = record.outstanding(last_sync) {
            return Err(Hold::Outstanding { since: e.time });
        }
        if let Some(last) = record.last_attempt() {
            let until = last.time.saturating_add(self.min_interval_secs);
            if now < until {
                return Err(Hold::TooSoon { until });
            }
        }
        if self.in_quiet_hours(local_minute) {
            return Err(Hold::QuietHours);
        }
        Ok(())
    }

    pub fn in_quiet_hours(&self, minute: u16) -> bool {
        match self.quiet {
            None => false,
            Some((start, end)) if start < end => (start..end).contains(&minute),
            Some((start, end)) => minute >= start || minute < end,
        }
    }
}

/// Minutes after local midnight of the current time.
pub fn local_minute_now() -> u16 {
    use chrono::Timelike;
    let now = chrono::Local::now();
    u16::try_from(now.hour() * 60 + now.minute()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AlertEntry;

    fn rules(quiet: &str) -> Coalescing {
        Coalescing::from_config(&PushConfig {
            min_alert_interval_secs: 60,
            quiet_hours: quiet.into(),
            ..PushConfig::default()
        })
    }

    fn sent_at(time: i64, result: &str) -> AlertRecord {
        let mut r = AlertRecord::default();
        r.push(AlertEntry {
            time,
            transport: "sms:+1".into(),
            result: result.into(),
            datastores: vec![],
        });
        r
    }

    #[test]
    fn outstanding_then_interval_then_free() {
        let c = rules("");
        assert_eq!(c.check(&AlertRecord::default(), None, 0, 0), Ok(()));
        let r = sent_at(1000, "sent");
        assert_eq!(
            c.check(&r, Some(900), 5000, 0),
            Err(Hold::Outstanding { since: 1000 })
        );
        // Synced after the alert: the next one may go once the interval passed.
        assert_eq!(
            c.check(&r, Some(1010), 1030, 0),
            Err(Hold::TooSoon { until: 1060 })
        );
        assert_eq!(c.check(&r, Some(1010), 1060, 0), Ok(()));
        // A failed attempt is retried, but not sooner than the interval.
        let failed = sent_at(1000, "gateway unreachable");
        assert_eq!(
            c.check(&failed, None, 1001, 0),
            Err(Hold::TooSoon { until: 1060 })
        );
        assert_eq!(c.check(&failed, None, 1060, 0), Ok(()));
    }

    #[test]
    fn quiet_hours_wrap_past_midnight() {
        let c = rules("22:00-07:00");
        assert!(c.in_quiet_hours(23 * 60));
        assert!(c.in_quiet_hours(6 * 60 + 59));
        assert!(!c.in_quiet_hours(7 * 60));
        assert!(!c.in_quiet_hours(12 * 60));
        assert_eq!(
            c.check(&AlertRecord::default(), None, 0, 23 * 60),
            Err(Hold::QuietHours)
        );
        let day = rules("12:00-13:30");
        assert!(day.in_quiet_hours(12 * 60 + 10));
        assert!(!day.in_quiet_hours(13 * 60 + 30));
        assert!(!rules("").in_quiet_hours(0));
    }
}
