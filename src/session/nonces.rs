//! MD5 nonces handed out in challenges before the user is known, by device. A digest is
//! only ever checked against a nonce the bridge issued for that device, and each nonce
//! logs in once: a sniffed message cannot be replayed.
//!
//! A device holds a few outstanding nonces at once, so a stranger asking for challenges
//! in its name does not invalidate the one the real phone is answering.

use std::sync::Mutex;
use std::time::Duration;

use super::auth::new_nonce;
use super::expiring::{lock, ExpiringMap};

/// How long a challenge nonce stays answerable.
const NONCE_TTL: Duration = Duration::from_secs(600);
/// Outstanding challenge nonces per device; older ones are forgotten.
const NONCES_PER_DEVICE: usize = 4;
/// Devices with outstanding nonces kept at once.
const MAX_DEVICES: usize = 50_000;
/// Nonces remembered as spent, so two concurrent replays cannot both log in.
const MAX_SPENT: usize = 100_000;

pub struct NonceBook {
    pending: Mutex<ExpiringMap<String, Vec<String>>>,
    spent: Mutex<ExpiringMap<(String, String), ()>>,
}

impl Default for NonceBook {
    fn default() -> Self {
        NonceBook {
            pending: Mutex::new(ExpiringMap::new(NONCE_TTL, MAX_DEVICES)),
            spent: Mutex::new(ExpiringMap::new(NONCE_TTL, MAX_SPENT)),
        }
    }
}

impl NonceBook {
    /// A fresh nonce for a challenge to `device`.
    pub fn issue(&self, device: &str) -> String {
        let nonce = new_nonce();
        let mut pending = lock(&self.pending);
        let list = pending.touch(device.to_owned(), Vec::new);
        if list.len() >= NONCES_PER_DEVICE {
            list.remove(0);
        }
        list.push(nonce.clone());
        nonce
    }

    /// The challenge nonces `device` may answer now, newest first.
    pub fn pending(&self, device: &str) -> Vec<String> {
        let mut pending = lock(&self.pending);
        pending
            .get_mut(&device.to_owned())
            .map(|l| l.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    /// Marks `nonce` used by `device`; false when it was used already. A pending nonce
    /// is withdrawn too.
    pub fn spend(&self, device: &str, nonce: &str) -> bool {
        let key = (device.to_owned(), nonce.to_owned());
        {
            let mut spent = lock(&self.spent);
            if spent.get_mut(&key).is_some() {
                return false;
            }
            spent.touch(key, || ());
        }
        if let Some(list) = lock(&self.pending).get_mut(&device.to_owned()) {
            list.retain(|n| n != nonce);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_nonce_logs_in_once_and_strangers_cannot_push_out_the_phones() {
        let book = NonceBook::default();
        let phone = book.issue("imei:1");
        // A stranger asks for a challenge in the phone's name.
        book.issue("imei:1");
        assert!(book.pending("imei:1").contains(&phone));
        assert!(book.pending("imei:2").is_empty());
        assert!(book.spend("imei:1", &phone));
        assert!(!book.spend("imei:1", &phone), "a nonce logs in once");
        assert!(!book.pending("imei:1").contains(&phone));
    }

    #[test]
    fn outstanding_nonces_per_device_are_bounded() {
        let book = NonceBook::default();
        for _ in 0..100 {
            book.issue("d");
        }
        assert_eq!(book.pending("d").len(), NONCES_PER_DEVICE);
    }
}
