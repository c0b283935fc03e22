//! Open sessions, by RespURI token and by (device, SessionID) for phones that ignore
//! the RespURI; silent sessions expire, and their number is capped.
//!
//! Device IDs and SessionIDs are public knowledge (an IMEI, a small counter): a lookup
//! by them only yields candidates, which the caller must make the message prove it
//! belongs to (credentials of the session's user). Only the token finds a session alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;

use super::expiring::lock;

struct Entry<S> {
    session: Arc<tokio::sync::Mutex<S>>,
    user: String,
    device: String,
    session_id: String,
    last_used: Instant,
}

/// The session table is full.
#[derive(Debug, thiserror::Error)]
#[error("{0} sessions are open, the most allowed")]
pub struct TableFull(pub usize);

pub struct SessionTable<S> {
    entries: Mutex<HashMap<String, Entry<S>>>,
    timeout: Duration,
    max: usize,
}

fn new_token() -> String {
    let mut raw = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

impl<S> SessionTable<S> {
    pub fn new(timeout: Duration, max: usize) -> Self {
        SessionTable {
            entries: Mutex::new(HashMap::new()),
            timeout,
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry<S>>> {
        lock(&self.entries)
    }

    fn sweep(map: &mut HashMap<String, Entry<S>>, timeout: Duration) {
        let now = Instant::now();
        map.retain(|_, e| now.duration_since(e.last_used) < timeout);
    }

    /// The session holding this RespURI token.
    pub fn by_token(&self, token: &str) -> Option<(String, Arc<tokio::sync::Mutex<S>>)> {
        let mut map = self.lock();
        Self::sweep(&mut map, self.timeout);
        let e = map.get_mut(token)?;
        e.last_used = Instant::now();
        Some((token.to_owned(), e.session.clone()))
    }

    /// Sessions of any user with this device ID and SessionID: candidates only, see the
    /// module comment.
    pub fn candidates(
        &self,
        device: &str,
        session_id: &str,
    ) -> Vec<(String, Arc<tokio::sync::Mutex<S>>)> {
        let mut map = self.lock();
        Self::sweep(&mut map, self.timeout);
        map.iter()
            .filter(|(_, e)| e.device == device && e.session_id == session_id)
            .map(|(k, e)| (k.clone(), e.session.clone()))
            .collect()
    }

    /// Marks a session found through [`Self::candidates`] and proven as used now.
    pub fn touch(&self, token: &str) {
        if let Some(e) = self.lock().get_mut(token) {
            e.last_used = Instant::now();
        }
    }

    /// Adds a session; an older one of the same user's device is dropped (the phone
    /// started over).
    pub fn insert(
        &self,
        user: &str,
        device: &str,
        session_id: &str,
        make: impl FnOnce(&str) -> S,
    ) -> Result<(String, Arc<tokio::sync::Mutex<S>>), TableFull> {
        let mut map = self.lock();
        Self::sweep(&mut map, self.timeout);
        map.retain(|_, e| e.device != device || e.user != user);
        if map.len() >= self.max {
            return Err(TableFull(map.len()));
        }
        let token = new_token();
        let session = Arc::new(tokio::sync::Mutex::new(make(&token)));
        map.insert(
            token.clone(),
            Entry {
                session: session.clone(),
                user: user.to_owned(),
                device: device.to_owned(),
                session_id: session_id.to_owned(),
                last_used: Instant::now(),
            },
        );
        Ok((token, session))
    }

    /// Whether the session of `token` is still open (not expired or removed).
    pub fn contains(&self, token: &str) -> bool {
        let map = self.lock();
        map.get(token)
            .is_some_and(|e| e.last_used.elapsed() < self.timeout)
    }

    pub fn remove(&self, token: &str) {
        self.lock().remove(token);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_token_or_device_and_caps() {
        let t: SessionTable<u32> = SessionTable::new(Duration::from_secs(60), 3);
        let (tok, _) = t.insert("alice", "dev1", "5", |_| 1).unwrap();
        assert!(t.by_token(&tok).is_some());
        assert!(t.by_token("guess").is_none());
        assert_eq!(t.candidates("dev1", "5").len(), 1);
        assert!(t.candidates("dev1", "6").is_empty());
        // Another user's phone with the same device ID does not end alice's session.
        t.insert("bob", "dev1", "5", |_| 2).unwrap();
        assert_eq!(t.candidates("dev1", "5").len(), 2);
        t.insert("carol", "dev2", "1", |_| 2).unwrap();
        assert!(t.insert("dave", "dev3", "1", |_| 3).is_err());
        // The same user's device starting over replaces its old session.
        let (tok2, _) = t.insert("alice", "dev1", "7", |_| 4).unwrap();
        assert!(t.by_token(&tok).is_none());
        assert!(t.by_token(&tok2).is_some());
    }

    #[test]
    fn silent_sessions_expire() {
        let t: SessionTable<u32> = SessionTable::new(Duration::from_millis(1), 5);
        t.insert("u", "d", "1", |_| 1).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(t.candidates("d", "1").is_empty());
        assert!(t.is_empty());
    }
}
