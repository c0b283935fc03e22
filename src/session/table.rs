//! Open sessions, by RespURI token and by (device, SessionID) for phones that ignore
//! the RespURI; silent sessions expire, and their number is capped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;

struct Entry<S> {
    session: Arc<tokio::sync::Mutex<S>>,
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
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sweep(map: &mut HashMap<String, Entry<S>>, timeout: Duration) {
        let now = Instant::now();
        map.retain(|_, e| now.duration_since(e.last_used) < timeout);
    }

    /// The session for a token, else for (device, SessionID).
    pub fn find(
        &self,
        token: Option<&str>,
        device: &str,
        session_id: &str,
    ) -> Option<(String, Arc<tokio::sync::Mutex<S>>)> {
        let mut map = self.lock();
        Self::sweep(&mut map, self.timeout);
        let key = match token.filter(|t| map.contains_key(*t)) {
            Some(t) => Some(t.to_owned()),
            None => map
                .iter()
                .find(|(_, e)| e.device == device && e.session_id == session_id)
                .map(|(k, _)| k.clone()),
        };
        let key = key?;
        let e = map.get_mut(&key)?;
        e.last_used = Instant::now();
        Some((key, e.session.clone()))
    }

    /// Adds a session; an older one of the same device is dropped (the phone started over).
    pub fn insert(
        &self,
        device: &str,
        session_id: &str,
        make: impl FnOnce(&str) -> S,
    ) -> Result<(String, Arc<tokio::sync::Mutex<S>>), TableFull> {
        let mut map = self.lock();
        Self::sweep(&mut map, self.timeout);
        map.retain(|_, e| e.device != device);
        if map.len() >= self.max {
            return Err(TableFull(map.len()));
        }
        let token = new_token();
        let session = Arc::new(tokio::sync::Mutex::new(make(&token)));
        map.insert(
            token.clone(),
            Entry {
                session: session.clone(),
                device: device.to_owned(),
                session_id: session_id.to_owned(),
                last_used: Instant::now(),
            },
        );
        Ok((token, session))
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
        let t: SessionTable<u32> = SessionTable::new(Duration::from_secs(60), 2);
        let (tok, _) = t.insert("dev1", "5", |_| 1).unwrap();
        assert!(t.find(Some(&tok), "x", "y").is_some());
        assert!(t.find(None, "dev1", "5").is_some());
        assert!(t.find(None, "dev1", "6").is_none());
        t.insert("dev2", "1", |_| 2).unwrap();
        assert!(t.insert("dev3", "1", |_| 3).is_err());
        // The same device starting over replaces its old session.
        let (tok2, _) = t.insert("dev1", "7", |_| 4).unwrap();
        assert!(t.find(Some(&tok), "dev1", "5").is_none());
        assert!(t.find(Some(&tok2), "", "").is_some());
    }

    #[test]
    fn silent_sessions_expire() {
        let t: SessionTable<u32> = SessionTable::new(Duration::from_millis(1), 5);
        t.insert("d", "1", |_| 1).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(t.find(None, "d", "1").is_none());
        assert!(t.is_empty());
    }
}
