//! Encryption at rest for upstream credentials (app passwords an admin stores for MD5 and
//! push users). The key is the admin's: 32 random bytes, given base64- or hex-encoded in a
//! file or an environment variable; the store never holds it.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("vault key: expected 32 bytes encoded as base64 or hex (e.g. `head -c 32 /dev/urandom | base64`), got {0}")]
    BadKey(String),
    #[error(
        "stored credential cannot be decrypted with this key (wrong key, or the record is damaged)"
    )]
    Decrypt,
    #[error("credential could not be encrypted")]
    Encrypt,
}

/// Why the configured vault key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum VaultLoadError {
    #[error("cannot read the vault key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("vault key: {0}")]
    Key(#[from] VaultError),
}

/// The key that seals and opens stored credentials.
#[derive(Clone)]
pub struct VaultKey(Key);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

impl VaultKey {
    /// Reads a key from its text form (base64 or hex of 32 bytes; surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Result<Self, VaultError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| VaultError::BadKey(e.to_string()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|e| VaultError::BadKey(format!("not base64 or hex: {e}")))?
        };
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!("{} bytes", bytes.len())));
        }
        Ok(VaultKey(*Key::from_slice(&bytes)))
    }

    /// The key given inline (which wins) or in a file named by `file`; `None` when both
    /// are blank.
    pub fn load(inline: &str, file: &str) -> Result<Option<Self>, VaultLoadError> {
        let text = if !inline.trim().is_empty() {
            inline.to_owned()
        } else if !file.trim().is_empty() {
            let path = file.trim();
            std::fs::read_to_string(std::path::Path::new(path)).map_err(|source| {
                VaultLoadError::File {
                    path: path.to_owned(),
                    source,
                }
            })?
        } else {
            return Ok(None);
        };
        Ok(Some(VaultKey::from_text(&text)?))
    }

    /// Encrypts a secret; the user name is bound as associated data so a record cannot be
    /// moved to another user.
    pub fn seal(&self, user: &str, secret: &str) -> Result<Vec<u8>, VaultError> {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = chacha20poly1305::aead::Payload {
            msg: secret.as_bytes(),
            aad: user.as_bytes(),
        };
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(&nonce, payload)
                .map_err(|_| VaultError::Encrypt)?,
        );
        Ok(out)
    }

    pub fn open(&self, user: &str, sealed: &[u8]) -> Result<String, VaultError> {
        if sealed.len() < NONCE_LEN {
            return Err(VaultError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(&self.0);
        let payload = chacha20poly1305::aead::Payload {
            msg: ct,
            aad: user.as_bytes(),
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| VaultError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| VaultError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn the_inline_key_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vault.key");
        std::fs::write(&file, format!("{KEY}\n")).unwrap();
        let path = file.to_string_lossy().into_owned();
        assert!(VaultKey::load(" ", "").unwrap().is_none());
        let from_file = VaultKey::load("", &path).unwrap().unwrap();
        let sealed = from_file.seal("alice", "pw").unwrap();
        let inline = VaultKey::load(KEY, "/nowhere").unwrap().unwrap();
        assert_eq!(inline.open("alice", &sealed).unwrap(), "pw");
        assert!(matches!(
            VaultKey::load("", "/nowhere/vault.key"),
            Err(VaultLoadError::File { .. })
        ));
        assert!(matches!(
            VaultKey::load("short", ""),
            Err(VaultLoadError::Key(_))
        ));
    }

    #[test]
    fn seal_and_open_round_trip_bound_to_user() {
        let k = VaultKey::from_text(KEY).unwrap();
        let sealed = k.seal("alice", "app-pass").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"app-pass"));
        assert_eq!(k.open("alice", &sealed).unwrap(), "app-pass");
        assert!(matches!(k.open("bob", &sealed), Err(VaultError::Decrypt)));
        let other = VaultKey::from_text(&"11".repeat(32)).unwrap();
        assert!(matches!(
            other.open("alice", &sealed),
            Err(VaultError::Decrypt)
        ));
        assert!(matches!(
            k.open("alice", &sealed[..5]),
            Err(VaultError::Decrypt)
        ));
    }

    #[test]
    fn keys_in_base64_and_hex_and_bad_keys() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(VaultKey::from_text(&format!("{b64}\n")).is_ok());
        assert!(VaultKey::from_text("c2hvcnQ=").is_err());
        assert!(VaultKey::from_text("not a key!").is_err());
    }
}
