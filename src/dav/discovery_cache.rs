//! Discovery results shared by all of a user's devices for a minute: a thousand phones
//! of one user starting at once cost one discovery, not a thousand. One discovery per
//! user runs at a time; the others wait for its result. Entries are keyed by a salted
//! hash of the credentials, so only the same log-in reads them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::discovery::Discovery;
use super::login::{credentials_digest, Credentials};

/// How long a discovery is reused.
pub(crate) const DISCOVERY_TTL: Duration = Duration::from_secs(60);
/// Users kept; beyond this, entries nobody is using are dropped.
const MAX_USERS: usize = 1024;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Discovery)>>>;

pub(crate) struct DiscoveryCache {
    salt: [u8; 32],
    /// By user name, then by credentials hash.
    by_user: Mutex<HashMap<String, HashMap<[u8; 32], Slot>>>,
}

impl Default for DiscoveryCache {
    fn default() -> Self {
        DiscoveryCache {
            salt: rand::random(),
            by_user: Mutex::new(HashMap::new()),
        }
    }
}

impl DiscoveryCache {
    /// The slot of these credentials: lock it, use a fresh value or discover and store one.
    pub fn slot(&self, creds: &Credentials) -> Slot {
        let key = credentials_digest(&self.salt, creds);
        let mut map = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(creds.user()).and_then(|m| m.get(&key)) {
            return s.clone();
        }
        if map.len() >= MAX_USERS {
            map.retain(|_, slots| slots.values().any(|s| Arc::strong_count(s) > 1));
        }
        let s = Slot::default();
        map.entry(creds.user().to_owned())
            .or_default()
            .insert(key, s.clone());
        s
    }

    /// Drops what is known of `user`'s collections (one was created or vanished).
    pub fn forget(&self, user: &str) {
        let mut map = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(user);
    }
}

/// The cached value when it is still fresh.
pub(crate) fn fresh(value: &Option<(Instant, Discovery)>) -> Option<Discovery> {
    value
        .as_ref()
        .filter(|(at, _)| at.elapsed() < DISCOVERY_TTL)
        .map(|(_, d)| d.clone())
}
