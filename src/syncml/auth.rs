//! Credential formulas (protocol guide §10): basic and MD5 digests, and a
//! constant-time comparison for checking them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};

pub const AUTH_BASIC: &str = "syncml:auth-basic";
pub const AUTH_MD5: &str = "syncml:auth-md5";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("basic credentials are not valid base64")]
    NotBase64,
    #[error("basic credentials are not UTF-8 text")]
    NotText,
    #[error("basic credentials have no ':' between user and password")]
    NoSeparator,
}

/// `B64(user ":" password)`.
pub fn basic_encode(user: &str, password: &str) -> String {
    B64.encode(format!("{user}:{password}"))
}

/// Splits basic credentials into user and password (the password may contain ':').
pub fn basic_decode(data: &str) -> Result<(String, String), AuthError> {
    let raw = B64.decode(data.trim()).map_err(|_| AuthError::NotBase64)?;
    let s = String::from_utf8(raw).map_err(|_| AuthError::NotText)?;
    let (u, p) = s.split_once(':').ok_or(AuthError::NoSeparator)?;
    Ok((u.to_owned(), p.to_owned()))
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `B64(MD5(user ":" password))`: what a server may store instead of the password
/// (enough for 1.1+ logins, not for 1.0).
pub fn md5_user_pass(user: &str, password: &str) -> String {
    B64.encode(md5(&[user.as_bytes(), b":", password.as_bytes()]))
}

/// SyncML 1.0: `B64(MD5(user ":" password ":" nonce))`, nonce as raw bytes.
pub fn md5_v10(user: &str, password: &str, nonce: &[u8]) -> String {
    B64.encode(md5(&[
        user.as_bytes(),
        b":",
        password.as_bytes(),
        b":",
        nonce,
    ]))
}

/// SyncML 1.1 and 1.2: `B64(MD5(B64(MD5(user ":" password)) ":" nonce))`.
pub fn md5_v11(user: &str, password: &str, nonce: &[u8]) -> String {
    md5_v11_from_stored(&md5_user_pass(user, password), nonce)
}

/// The 1.1+ digest from a stored `B64(MD5(user:password))`.
pub fn md5_v11_from_stored(user_pass_digest: &str, nonce: &[u8]) -> String {
    B64.encode(md5(&[user_pass_digest.as_bytes(), b":", nonce]))
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Encodes a nonce for `NextNonce` (which travels base64-encoded).
pub fn encode_nonce(raw: &[u8]) -> String {
    B64.encode(raw)
}

/// Decodes a received `NextNonce`; a value that is not base64 is used as it is,
/// as some clients send the nonce in clear.
pub fn decode_nonce(b64: &str) -> Vec<u8> {
    B64.decode(b64.trim())
        .unwrap_or_else(|_| b64.trim().as_bytes().to_vec())
}

/// Normalises a received digest: WBXML clients may send the 16 raw bytes instead of
/// their base64 form.
pub fn digest_as_b64(data: &[u8]) -> String {
    if data.len() == 16 && std::str::from_utf8(data).is_err() {
        B64.encode(data)
    } else {
        String::from_utf8_lossy(data).trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_test_vector() {
        assert_eq!(basic_encode("Bruce2", "OhBehave"), "QnJ1Y2UyOk9oQmVoYXZl");
        assert_eq!(
            md5_user_pass("Bruce2", "OhBehave"),
            "PtEdr8lBQ45IbT1bZIkrOQ=="
        );
        assert_eq!(
            md5_v11("Bruce2", "OhBehave", b"Nonce"),
            "Zz6EivR3yeaaENcRN6lpAQ=="
        );
        assert_eq!(
            md5_v10("Bruce2", "OhBehave", b"Nonce"),
            "UmkqAAZhiQvXXhfaf/u+OQ=="
        );
    }

    #[test]
    fn basic_round_trip_and_errors() {
        assert_eq!(
            basic_decode("QnJ1Y2UyOk9oQmVoYXZl"),
            Ok(("Bruce2".into(), "OhBehave".into()))
        );
        let enc = basic_encode("a", "b:c");
        assert_eq!(basic_decode(&enc), Ok(("a".into(), "b:c".into())));
        assert_eq!(basic_decode("!!!"), Err(AuthError::NotBase64));
        assert_eq!(
            basic_decode(&B64.encode("nocolon")),
            Err(AuthError::NoSeparator)
        );
        assert_eq!(
            basic_decode(&B64.encode([0xff, b':'])),
            Err(AuthError::NotText)
        );
    }

    #[test]
    fn comparison_and_digests() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let raw = B64.decode("Zz6EivR3yeaaENcRN6lpAQ==").unwrap();
        assert_eq!(digest_as_b64(&raw), "Zz6EivR3yeaaENcRN6lpAQ==");
        assert_eq!(
            digest_as_b64(b" Zz6EivR3yeaaENcRN6lpAQ== "),
            "Zz6EivR3yeaaENcRN6lpAQ=="
        );
        assert_eq!(decode_nonce(&encode_nonce(b"Nonce")), b"Nonce");
    }
}
