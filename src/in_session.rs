//! Which devices have a SyncML session open right now, shared by the sessions and the
//! push poller.
//!
//! A session writes the phone's changes upstream long before it stores the change state
//! that shows them as the device's own. A poller that diffed against the stored state
//! in between would alert the phone about its own change, so it leaves a device alone
//! while a session is open, and while one began since it read the device's state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

type DeviceKey = (String, String);

/// Sessions open per (user, device), and how many ever began (so a session that began
/// and ended between two looks is still seen).
#[derive(Debug, Default)]
pub struct InSession {
    devices: Mutex<HashMap<DeviceKey, Count>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    open: usize,
    begun: u64,
}

/// What [`InSession::look`] saw of one device; compare two with [`Look::quiet_since`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    open: usize,
    begun: u64,
}

impl Look {
    /// No session is open now and none began since `earlier` was taken.
    pub fn quiet_since(&self, earlier: &Look) -> bool {
        self.open == 0 && self.begun == earlier.begun
    }

    pub fn is_open(&self) -> bool {
        self.open > 0
    }
}

impl InSession {
    pub fn new() -> Arc<InSession> {
        Arc::new(InSession::default())
    }

    /// Marks a session of `device` open until the returned mark drops.
    pub fn enter(self: &Arc<Self>, user: &str, device: &str) -> SessionMark {
        let key = (user.to_owned(), device.to_owned());
        let mut devices = self.lock();
        let count = devices.entry(key.clone()).or_default();
        count.open += 1;
        count.begun += 1;
        SessionMark {
            table: self.clone(),
            key,
        }
    }

    pub fn look(&self, user: &str, device: &str) -> Look {
        let count = self
            .lock()
            .get(&(user.to_owned(), device.to_owned()))
            .copied()
            .unwrap_or_default();
        Look {
            open: count.open,
            begun: count.begun,
        }
    }

    /// Devices tracked (each one that ever had a session since the start).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<DeviceKey, Count>> {
        // The counts hold no invariant a panicking holder could break.
        self.devices.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open session; dropping it (the session ended, expired or was dropped) closes it.
#[derive(Debug)]
pub struct SessionMark {
    table: Arc<InSession>,
    key: DeviceKey,
}

impl Drop for SessionMark {
    fn drop(&mut self) {
        if let Some(count) = self.table.lock().get_mut(&self.key) {
            count.open = count.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_open_while_its_mark_lives() {
        let t = InSession::new();
        let before = t.look("alice", "phone");
        assert!(!before.is_open());
        let mark = t.enter("alice", "phone");
        assert!(t.look("alice", "phone").is_open());
        assert!(!t.look("alice", "other").is_open());
        assert!(!t.look("bob", "phone").is_open());
        drop(mark);
        assert!(!t.look("alice", "phone").is_open());
    }

    #[test]
    fn a_session_that_began_and_ended_between_two_looks_is_seen() {
        let t = InSession::new();
        let before = t.look("alice", "phone");
        assert!(t.look("alice", "phone").quiet_since(&before));
        drop(t.enter("alice", "phone"));
        let after = t.look("alice", "phone");
        assert!(!after.is_open());
        assert!(!after.quiet_since(&before));
        assert!(t.look("alice", "phone").quiet_since(&after));
    }

    #[test]
    fn two_sessions_of_one_device_keep_it_open_until_both_end() {
        let t = InSession::new();
        let a = t.enter("alice", "phone");
        let b = t.enter("alice", "phone");
        drop(a);
        assert!(t.look("alice", "phone").is_open());
        drop(b);
        assert!(!t.look("alice", "phone").is_open());
        assert_eq!(t.len(), 1);
    }
}
