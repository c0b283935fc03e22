//! A user's credentials, and remembering accepted log-ins for a short time so one sync
//! session does not ask the upstream on every message. Only a salted hash is kept.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A phone user's credentials, passed through to the upstream. Never printed.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A salted hash of user and password: what caches keyed by a log-in keep instead of it.
pub(crate) fn credentials_digest(salt: &[u8; 32], creds: &Credentials) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update((creds.user().len() as u64).to_be_bytes());
    h.update(creds.user().as_bytes());
    h.update(creds.password().as_bytes());
    h.finalize().into()
}

pub(crate) struct LoginCache {
    ttl: Duration,
    /// Per process, so the stored hashes are useless anywhere else.
    salt: [u8; 32],
    accepted: Mutex<HashMap<[u8; 32], Instant>>,
}

impl LoginCache {
    pub fn new(ttl: Duration) -> Self {
        LoginCache {
            ttl,
            salt: rand::random(),
            accepted: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, creds: &Credentials) -> [u8; 32] {
        credentials_digest(&self.salt, creds)
    }

    /// True when these exact credentials were accepted less than the TTL ago.
    pub fn is_fresh(&self, creds: &Credentials) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let key = self.key(creds);
        let now = Instant::now();
        match self.accepted.lock() {
            Ok(map) => map.get(&key).is_some_and(|until| *until > now),
            Err(_) => false,
        }
    }

    pub fn remember(&self, creds: &Credentials) {
        if self.ttl.is_zero() {
            return;
        }
        let key = self.key(creds);
        let now = Instant::now();
        if let Ok(mut map) = self.accepted.lock() {
            map.retain(|_, until| *until > now);
            map.insert(key, now + self.ttl);
        }
    }

    /// Drops a remembered success, e.g. after the upstream refused the same credentials.
    pub fn forget(&self, creds: &Credentials) {
        let key = self.key(creds);
        if let Ok(mut map) = self.accepted.lock() {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_credentials_until_expiry() {
        let cache = LoginCache::new(Duration::from_millis(50));
        let good = Credentials::new("alice", "secret");
        assert!(!cache.is_fresh(&good));
        cache.remember(&good);
        assert!(cache.is_fresh(&good));
        assert!(!cache.is_fresh(&Credentials::new("alice", "secreT")));
        // The user/password boundary is part of the key.
        assert!(!cache.is_fresh(&Credentials::new("alices", "ecret")));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!cache.is_fresh(&good));
        cache.remember(&good);
        cache.forget(&good);
        assert!(!cache.is_fresh(&good));
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = LoginCache::new(Duration::ZERO);
        let c = Credentials::new("a", "b");
        cache.remember(&c);
        assert!(!cache.is_fresh(&c));
    }

    #[test]
    fn password_is_not_printed() {
        let c = Credentials::new("alice", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
