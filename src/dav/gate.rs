//! Bounds on concurrent upstream requests, for the whole process and per user, so a
//! thousand phones syncing at once queue in the bridge instead of saturating the DAV
//! server, and one user's devices cannot take every slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Users with a per-user semaphore kept; idle ones are dropped beyond this.
const MAX_IDLE_USERS: usize = 1024;

pub(crate) struct UpstreamGate {
    global: Arc<Semaphore>,
    per_user: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_user_limit: usize,
}

/// Held while a request is in flight.
pub(crate) struct Permits {
    _user: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// No slot became free within the wait allowed.
#[derive(Debug)]
pub(crate) struct GateTimeout;

impl UpstreamGate {
    pub fn new(global: usize, per_user: usize) -> Self {
        UpstreamGate {
            global: Arc::new(Semaphore::new(global.max(1))),
            per_user: Mutex::new(HashMap::new()),
            per_user_limit: per_user.max(1),
        }
    }

    fn user_semaphore(&self, user: &str) -> Arc<Semaphore> {
        let mut map = self.per_user.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(user) {
            return s.clone();
        }
        if map.len() >= MAX_IDLE_USERS {
            // Only the map holds an idle user's semaphore.
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let s = Arc::new(Semaphore::new(self.per_user_limit));
        map.insert(user.to_owned(), s.clone());
        s
    }

    /// Waits (up to `wait`) for a slot of `user` and then one of the process. The user's
    /// slot comes first, so a user's queue never holds slots others could use.
    pub async fn enter(&self, user: &str, wait: Duration) -> Result<Permits, GateTimeout> {
        let user_sem = self.user_semaphore(user);
        let acquire = async {
            let user = user_sem.acquire_owned().await.ok()?;
            let global = self.global.clone().acquire_owned().await.ok()?;
            Some(Permits {
                _user: user,
                _global: global,
            })
        };
        match tokio::time::timeout(wait, acquire).await {
            Ok(Some(p)) => Ok(p),
            _ => Err(GateTimeout),
        }
    }

    /// Requests that may start now without waiting, process-wide.
    #[cfg(test)]
    fn free(&self) -> usize {
        self.global.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_queue_per_user_and_globally() {
        let gate = UpstreamGate::new(3, 2);
        let short = Duration::from_millis(30);
        let a1 = gate.enter("alice", short).await.unwrap();
        let _a2 = gate.enter("alice", short).await.unwrap();
        // alice's third request waits for one of hers, not for the process.
        assert!(gate.enter("alice", short).await.is_err());
        assert_eq!(gate.free(), 1);
        let _b1 = gate.enter("bob", short).await.unwrap();
        assert!(gate.enter("carol", short).await.is_err(), "process full");
        drop(a1);
        assert!(gate.enter("carol", short).await.is_ok());
    }
}
