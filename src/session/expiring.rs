//! A map whose entries expire and whose size is capped: the bookkeeping kept about
//! strangers (nonces, failed log-ins) must not grow with what they send.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Locks the bookkeeping a session keeps behind a mutex. A panic while holding it leaves
/// plain data behind, so a poisoned lock is taken over rather than failing every session.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Slot<V> {
    value: V,
    expires: Instant,
}

pub struct ExpiringMap<K, V> {
    entries: HashMap<K, Slot<V>>,
    ttl: Duration,
    capacity: usize,
    last_sweep: Instant,
}

impl<K: Eq + Hash + Clone, V> ExpiringMap<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        ExpiringMap {
            entries: HashMap::new(),
            ttl,
            capacity: capacity.max(1),
            last_sweep: Instant::now(),
        }
    }

    fn sweep(&mut self, now: Instant) {
        // Sweeping is O(n); callers limit how often it runs.
        self.entries.retain(|_, s| s.expires > now);
    }

    /// The live value for `key`.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let now = Instant::now();
        match self.entries.get(key) {
            Some(s) if s.expires <= now => {
                self.entries.remove(key);
                None
            }
            _ => self.entries.get_mut(key).map(|s| &mut s.value),
        }
    }

    /// When the map is full and `key` is new, expired entries go first, then any one:
    /// under a flood of new keys each insert stays cheap.
    fn make_room(&mut self, key: &K, now: Instant) {
        if self.entries.contains_key(key) || self.entries.len() < self.capacity {
            return;
        }
        if now.duration_since(self.last_sweep) >= Duration::from_secs(1) {
            self.sweep(now);
            self.last_sweep = now;
        }
        if self.entries.len() >= self.capacity {
            let any = self.entries.keys().next().cloned();
            if let Some(k) = any {
                self.entries.remove(&k);
            }
        }
    }

    /// The value for `key`, created by `make` when absent; its lifetime starts again.
    pub fn touch(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let now = Instant::now();
        self.make_room(&key, now);
        let slot = match self.entries.entry(key) {
            Entry::Occupied(o) => {
                let slot = o.into_mut();
                // An expired entry not yet swept counts as absent.
                if slot.expires <= now {
                    slot.value = make();
                }
                slot
            }
            Entry::Vacant(v) => v.insert(Slot {
                value: make(),
                expires: now,
            }),
        };
        slot.expires = now + self.ttl;
        &mut slot.value
    }

    /// Sets `key` to `value`, its lifetime starting now.
    pub fn insert(&mut self, key: K, value: V) {
        let now = Instant::now();
        self.make_room(&key, now);
        self.entries.insert(
            key,
            Slot {
                value,
                expires: now + self.ttl,
            },
        );
    }

    /// The live values.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        let now = Instant::now();
        self.entries
            .values()
            .filter(move |s| s.expires > now)
            .map(|s| &s.value)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key).map(|s| s.value)
    }

    /// Live entries (O(n)).
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.entries.values().filter(|s| s.expires > now).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_size_stays_capped() {
        let mut m: ExpiringMap<u32, u32> = ExpiringMap::new(Duration::from_millis(20), 3);
        for k in 0..1000 {
            *m.touch(k, || 0) += 1;
        }
        assert_eq!(m.len(), 3);
        assert!(m.get_mut(&999).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(m.get_mut(&999).is_none());
        m.touch(1, || 5);
        assert_eq!(m.remove(&1), Some(5));
        assert!(m.is_empty());
    }
}
