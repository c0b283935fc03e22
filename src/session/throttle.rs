//! Throttling of failed log-ins, per client address and per user, so the bridge is
//! neither a fast password oracle nor an amplifier of brute force against the DAV
//! server.
//!
//! - Each failed log-in from an address is answered later than the one before.
//! - An address with too many failures is refused for a while (doubling each time).
//! - A user with too many failures gets only a few password checks per minute. The
//!   real user still gets in: through a remembered log-in, which needs no check, or
//!   through one of those few checks. So an attacker cannot lock them out for long.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::expiring::{lock, ExpiringMap};
use crate::metrics::Metrics;

/// Addresses and users tracked at once; the oldest are forgotten first under a flood.
const MAX_TRACKED: usize = 100_000;

/// The throttling settings (`auth.throttle_*`, `auth.failure_delay_ms`).
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Failures within `window` before a user is throttled.
    pub user_failures: u32,
    /// Failures within `window` before an address is refused for a while.
    pub address_failures: u32,
    pub window: Duration,
    /// Password checks per user per minute while the user is throttled.
    pub checks_per_minute: u32,
    /// How long an address is refused the first time; doubles each time after.
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// A failed log-in is answered after this, times the address's failures so far.
    pub failure_delay: Duration,
    pub max_failure_delay: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            user_failures: 5,
            address_failures: 20,
            window: Duration::from_secs(900),
            checks_per_minute: 3,
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
            failure_delay: Duration::from_millis(250),
            max_failure_delay: Duration::from_secs(5),
        }
    }
}

#[derive(Default)]
struct AddressState {
    failures: u32,
    lockouts: u32,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct UserState {
    failures: u32,
    /// Password checks made while throttled, within the last minute.
    checks: Vec<Instant>,
    warned: bool,
}

/// Whether a log-in attempt from an address may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressGate {
    Open,
    Locked { retry_after: Duration },
}

pub struct LoginThrottle {
    settings: ThrottleSettings,
    addresses: Mutex<ExpiringMap<IpAddr, AddressState>>,
    users: Mutex<ExpiringMap<String, UserState>>,
    metrics: Metrics,
}

/// User names compare without case, as the access lists do.
fn user_key(user: &str) -> String {
    user.trim().to_lowercase()
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings, metrics: Metrics) -> Self {
        // Entries outlive the longest lockout, so a lockout is not forgotten early.
        let ttl = settings.window.max(settings.max_lockout);
        LoginThrottle {
            addresses: Mutex::new(ExpiringMap::new(ttl, MAX_TRACKED)),
            users: Mutex::new(ExpiringMap::new(settings.window, MAX_TRACKED)),
            settings,
            metrics,
        }
    }

    pub fn address_gate(&self, ip: IpAddr) -> AddressGate {
        let now = Instant::now();
        let mut map = lock(&self.addresses);
        match map.get_mut(&ip).and_then(|a| a.locked_until) {
            Some(until) if until > now => {
                self.metrics.login_throttled("address");
                AddressGate::Locked {
                    retry_after: until - now,
                }
            }
            _ => AddressGate::Open,
        }
    }

    /// Whether `user`'s password may be checked now. Always true below the failure
    /// threshold; while throttled, true for a few checks per minute.
    pub fn user_check_allowed(&self, user: &str) -> bool {
        let now = Instant::now();
        let mut map = lock(&self.users);
        let Some(state) = map.get_mut(&user_key(user)) else {
            return true;
        };
        if state.failures < self.settings.user_failures {
            return true;
        }
        state
            .checks
            .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
        if state.checks.len() < self.settings.checks_per_minute as usize {
            state.checks.push(now);
            return true;
        }
        self.metrics.login_throttled("user");
        false
    }

    /// Records a failed log-in; returns how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr, user: Option<&str>) -> Duration {
        self.metrics.login_failed();
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            let mut map = lock(&self.users);
            let state = map.touch(user_key(user), UserState::default);
            state.failures = state.failures.saturating_add(1);
            if state.failures >= self.settings.user_failures && !state.warned {
                state.warned = true;
                tracing::warn!(
                    %user,
                    failures = state.failures,
                    checks_per_minute = self.settings.checks_per_minute,
                    "log-in throttled for this user: too many failed log-ins"
                );
            }
        }
        let now = Instant::now();
        let mut map = lock(&self.addresses);
        let state = map.touch(ip, AddressState::default);
        state.failures = state.failures.saturating_add(1);
        if state.failures >= self.settings.address_failures {
            let factor = 1u32 << state.lockouts.min(16);
            let lockout = self
                .settings
                .lockout
                .saturating_mul(factor)
                .min(self.settings.max_lockout);
            state.locked_until = Some(now + lockout);
            state.lockouts = state.lockouts.saturating_add(1);
            state.failures = 0;
            tracing::warn!(
                address = %ip,
                lockout_secs = lockout.as_secs(),
                "client address refused for a while: too many failed log-ins"
            );
        }
        self.settings
            .failure_delay
            .saturating_mul(state.failures.max(1))
            .min(self.settings.max_failure_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> ThrottleSettings {
        ThrottleSettings {
            user_failures: 3,
            address_failures: 5,
            window: Duration::from_secs(60),
            checks_per_minute: 2,
            lockout: Duration::from_secs(10),
            max_lockout: Duration::from_secs(25),
            failure_delay: Duration::from_millis(100),
            max_failure_delay: Duration::from_millis(350),
        }
    }

    #[test]
    fn failures_slow_down_then_lock_out_an_address() {
        let t = LoginThrottle::new(quick(), Metrics::new());
        let ip: IpAddr = [192, 0, 2, 1].into();
        let delays: Vec<_> = (0..4).map(|_| t.failed(ip, None)).collect();
        assert_eq!(delays[0], Duration::from_millis(100));
        assert_eq!(delays[1], Duration::from_millis(200));
        assert_eq!(delays[3], Duration::from_millis(350), "capped");
        assert_eq!(t.address_gate(ip), AddressGate::Open);
        t.failed(ip, None);
        match t.address_gate(ip) {
            AddressGate::Locked { retry_after } => assert!(retry_after <= Duration::from_secs(10)),
            other => panic!("{other:?}"),
        }
        let other: IpAddr = [192, 0, 2, 2].into();
        assert_eq!(t.address_gate(other), AddressGate::Open);
        // The second lockout is twice as long, the third capped.
        for _ in 0..5 {
            t.failed(ip, None);
        }
        let AddressGate::Locked { retry_after } = t.address_gate(ip) else {
            panic!("not locked")
        };
        assert!(retry_after > Duration::from_secs(10) && retry_after <= Duration::from_secs(20));
        for _ in 0..5 {
            t.failed(ip, None);
        }
        let AddressGate::Locked { retry_after } = t.address_gate(ip) else {
            panic!("not locked")
        };
        assert!(retry_after <= Duration::from_secs(25));
    }

    #[test]
    fn a_throttled_user_gets_a_few_checks_per_minute() {
        let t = LoginThrottle::new(quick(), Metrics::new());
        for n in 0..3u8 {
            assert!(t.user_check_allowed("alice"));
            t.failed([10, 0, 0, n].into(), Some("Alice"));
        }
        assert!(t.user_check_allowed("alice"));
        assert!(t.user_check_allowed("ALICE"));
        assert!(!t.user_check_allowed("alice"), "budget spent");
        assert!(t.user_check_allowed("bob"));
    }
}
