//! Which connections are taken on: a slot under the connection cap, else one of the few
//! health-only slots, and never more than the per-address cap from one client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What an accepted connection may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Every route.
    Full,
    /// Only `/healthz` and `/metrics`: taken when every full slot is in use.
    HealthOnly,
}

/// A held connection slot; freed on drop.
pub(crate) struct Slot {
    pub(crate) lane: Lane,
    _permit: OwnedSemaphorePermit,
}

/// The two pools of connection slots.
pub(crate) struct Slots {
    full: Arc<Semaphore>,
    health: Arc<Semaphore>,
}

impl Slots {
    pub(crate) fn new(max_connections: usize, health_connections: usize) -> Self {
        Slots {
            full: Arc::new(Semaphore::new(max_connections)),
            health: Arc::new(Semaphore::new(health_connections)),
        }
    }

    /// Waits for a slot: a full one when free, else whichever pool frees first. `None`
    /// only if the pools were closed.
    pub(crate) async fn acquire(&self) -> Option<Slot> {
        if let Ok(permit) = self.full.clone().try_acquire_owned() {
            return Some(Slot {
                lane: Lane::Full,
                _permit: permit,
            });
        }
        let (lane, permit) = tokio::select! {
            biased;
            p = self.full.clone().acquire_owned() => (Lane::Full, p),
            p = self.health.clone().acquire_owned() => (Lane::HealthOnly, p),
        };
        Some(Slot {
            lane,
            _permit: permit.ok()?,
        })
    }
}

impl Slot {
    /// A full slot in place of a health-only one when one has freed meanwhile: the
    /// slot is taken before the connection is accepted, which may be much later.
    pub(crate) fn upgrade(self, slots: &Slots) -> Slot {
        if self.lane == Lane::Full {
            return self;
        }
        match slots.full.clone().try_acquire_owned() {
            Ok(permit) => Slot {
                lane: Lane::Full,
                _permit: permit,
            },
            Err(_) => self,
        }
    }
}

/// Open connections per client address.
pub(crate) struct PerIp {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; uncounted on drop.
pub(crate) struct IpTicket {
    owner: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(PerIp {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `ip`, or `None` when that address is at its cap.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpTicket> {
        // An IPv4 client on a dual-stack socket is the same client as over IPv4.
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpTicket {
            owner: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpTicket {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_address_is_capped_and_freed_on_drop() {
        let per_ip = PerIp::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "::ffff:192.0.2.2".parse().unwrap();
        let first = per_ip.admit(a).unwrap();
        let _second = per_ip.admit(a).unwrap();
        assert!(per_ip.admit(a).is_none());
        assert!(per_ip.admit(b).is_some(), "another address is not affected");
        drop(first);
        assert!(per_ip.admit(a).is_some());
        assert_eq!(per_ip.open_from("192.0.2.2".parse().unwrap()), 0);
    }

    #[tokio::test]
    async fn health_slots_are_used_only_when_the_full_ones_are_taken() {
        let slots = Slots::new(1, 1);
        let full = slots.acquire().await.unwrap();
        assert_eq!(full.lane, Lane::Full);
        let health = slots.acquire().await.unwrap();
        assert_eq!(health.lane, Lane::HealthOnly);
        let waiting = tokio::time::timeout(Duration::from_millis(50), slots.acquire()).await;
        assert!(waiting.is_err(), "both pools are in use");
        drop(full);
        // The freed full slot replaces the health-only one, which is free again.
        let upgraded = health.upgrade(&slots);
        assert_eq!(upgraded.lane, Lane::Full);
        assert_eq!(slots.acquire().await.unwrap().lane, Lane::HealthOnly);
    }
}
