//! The OMA DS 1.2 Server Alerted Notification ("package 0"): a packed binary
//! header with an MD5 digest, then one entry per datastore to sync (push.md §2).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};

use super::PushError;

/// Length of the digest that opens every SAN.
pub const DIGEST_LEN: usize = 16;
/// Digest, 7 packed header bytes and the server-identifier length byte.
const FIXED_HEADER_LEN: usize = DIGEST_LEN + 8;

/// How the phone should involve its user (the 2-bit ui-mode field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiMode {
    NotSpecified = 0,
    Background = 1,
    Informative = 2,
    UserInteraction = 3,
}

impl UiMode {
    fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            1 => UiMode::Background,
            2 => UiMode::Informative,
            3 => UiMode::UserInteraction,
            _ => UiMode::NotSpecified,
        }
    }

    /// From the configuration spelling (`not-specified`, `background`, `informative`,
    /// `user-interaction`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "not-specified" => UiMode::NotSpecified,
            "background" => UiMode::Background,
            "informative" => UiMode::Informative,
            "user-interaction" => UiMode::UserInteraction,
            _ => return None,
        })
    }
}

/// The server-initiated sync types a notification may ask for (alert codes 206-210).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertedSync {
    TwoWay = 206,
    OneWayFromClient = 207,
    RefreshFromClient = 208,
    OneWayFromServer = 209,
    RefreshFromServer = 210,
}

impl AlertedSync {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            206 => AlertedSync::TwoWay,
            207 => AlertedSync::OneWayFromClient,
            208 => AlertedSync::RefreshFromClient,
            209 => AlertedSync::OneWayFromServer,
            210 => AlertedSync::RefreshFromServer,
            _ => return None,
        })
    }
}

/// One datastore the phone is asked to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanSync {
    pub sync: AlertedSync,
    /// WSP content-type number of the data (0 = unspecified); see [`content_type_code`].
    pub content_type: u32,
    /// The server-side datastore URI, what the phone puts as its Alert Target.
    pub server_uri: String,
}

/// A whole notification, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct San {
    /// Protocol version times ten: 12 for DS 1.2.
    pub version: u16,
    pub ui_mode: UiMode,
    /// True when the server (not the user) initiated the sync.
    pub server_initiated: bool,
    pub session_id: u16,
    pub server_id: String,
    /// Empty means "all datastores" (num-syncs 0).
    pub syncs: Vec<SanSync>,
    /// Optional opaque vendor-specific trailer.
    pub vendor: Vec<u8>,
}

/// The credentials the phone checks the digest with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestKey<'a> {
    pub server_id: &'a str,
    pub password: &'a str,
    pub nonce: &'a [u8],
}

/// A parsed notification and the digest it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSan {
    pub digest: [u8; DIGEST_LEN],
    pub san: San,
}

impl ParsedSan {
    /// Whether the carried digest matches `key` over `bytes` (the whole SAN).
    pub fn digest_matches(&self, bytes: &[u8], key: &DigestKey<'_>) -> bool {
        bytes.len() >= DIGEST_LEN && digest(key, &bytes[DIGEST_LEN..]) == self.digest
    }
}

/// `MD5(B64(MD5(server-id ":" password)) ":" nonce ":" B64(MD5(notification)))`.
pub fn digest(key: &DigestKey<'_>, notification: &[u8]) -> [u8; DIGEST_LEN] {
    let cred = B64.encode(Md5::digest(
        [key.server_id.as_bytes(), b":", key.password.as_bytes()].concat(),
    ));
    let body = B64.encode(Md5::digest(notification));
    let mut h = Md5::new();
    h.update(cred.as_bytes());
    h.update(b":");
    h.update(key.nonce);
    h.update(b":");
    h.update(body.as_bytes());
    h.finalize().into()
}

const CONTENT_TYPES: &str = include_str!("../../mappings/push/san-content-types.txt");

/// The WSP content-type number a SAN entry carries for a MIME type (parameters
/// ignored), or 0 (unspecified) for one the table does not know.
pub fn content_type_code(mime: &str) -> u32 {
    let media = mime.split(';').next().unwrap_or("").trim();
    CONTENT_TYPES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            let code = cols.next()?;
            let name = cols.next()?;
            let code = u32::from_str_radix(code.strip_prefix("0x")?, 16).ok()?;
            name.eq_ignore_ascii_case(media).then_some(code)
        })
        .next()
        .unwrap_or(0)
}

impl San {
    /// Encodes the notification with its digest in front.
    pub fn encode(&self, key: &DigestKey<'_>) -> Result<Vec<u8>, PushError> {
        let body = self.encode_without_digest()?;
        let mut out = Vec::with_capacity(DIGEST_LEN + body.len());
        out.extend_from_slice(&digest(key, &body));
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Header and body: everything the digest covers.
    pub fn encode_without_digest(&self) -> Result<Vec<u8>, PushError> {
        let invalid = |what: String| PushError::InvalidNotification { what };
        if self.version > 0x3FF {
            return Err(invalid(format!(
                "version {} does not fit 10 bits",
                self.version
            )));
        }
        if self.syncs.len() > 15 {
            return Err(invalid(format!(
                "{} datastores do not fit the 4-bit num-syncs field (at most 15)",
                self.syncs.len()
            )));
        }
        let server_id_len = short_len(self.server_id.len(), "server identifier")?;
        let packed: u64 = (u64::from(self.version) << 46)
            | ((self.ui_mode as u64) << 44)
            | (u64::from(self.server_initiated) << 43)
            | u64::from(self.session_id);
        let mut out = packed.to_be_bytes()[1..].to_vec();
        out.push(server_id_len);
        out.extend_from_slice(self.server_id.as_bytes());
        out.push((self.syncs.len() as u8) << 4);
        for s in &self.syncs {
            if s.content_type > 0xFF_FFFF {
                return Err(invalid(format!(
                    "content type {:#x} does not fit 24 bits",
                    s.content_type
                )));
            }
            out.push(((s.sync.code() - 200) as u8) << 4);
            out.extend_from_slice(&s.content_type.to_be_bytes()[1..]);
            out.push(short_len(s.server_uri.len(), "server URI")?);
            out.extend_from_slice(s.server_uri.as_bytes());
        }
        out.extend_from_slice(&self.vendor);
        Ok(out)
    }

    /// Parses a SAN (digest included); the digest is returned, not checked.
    pub fn parse(bytes: &[u8]) -> Result<ParsedSan, PushError> {
        let mut r = Cursor { bytes, pos: 0 };
        let digest: [u8; DIGEST_LEN] = r
            .take(DIGEST_LEN, "digest")?
            .try_into()
            .map_err(|_| r.truncated("digest"))?;
        let mut packed = [0u8; 8];
        packed[1..].copy_from_slice(r.take(7, "notification header")?);
        let packed = u64::from_be_bytes(packed);
        let version = ((packed >> 46) & 0x3FF) as u16;
        if !(10..=12).contains(&version) {
            return Err(PushError::MalformedNotification {
                offset: DIGEST_LEN,
                what: format!("version field {version} (10, 11 or 12 expected)"),
            });
        }
        let ui_mode = UiMode::from_bits((packed >> 44) as u8);
        let server_initiated = (packed >> 43) & 1 == 1;
        let session_id = (packed & 0xFFFF) as u16;
        let server_id = r.text("server identifier")?;
        let num_syncs = r.byte("num-syncs")? >> 4;
        let mut syncs = Vec::with_capacity(usize::from(num_syncs));
        for _ in 0..num_syncs {
            let at = r.pos;
            let code = u16::from(r.byte("sync type")? >> 4) + 200;
            let sync =
                AlertedSync::from_code(code).ok_or_else(|| PushError::MalformedNotification {
                    offset: at,
                    what: format!("sync type {code} (206-210 expected)"),
                })?;
            let mut ct = [0u8; 4];
            ct[1..].copy_from_slice(r.take(3, "content type")?);
            let server_uri = r.text("server URI")?;
            syncs.push(SanSync {
                sync,
                content_type: u32::from_be_bytes(ct),
                server_uri,
            });
        }
        let vendor = bytes[r.pos..].to_vec();
        debug_assert!(r.pos >= FIXED_HEADER_LEN);
        Ok(ParsedSan {
            digest,
            san: San {
                version,
                ui_mode,
                server_initiated,
                session_id,
                server_id,
                syncs,
                vendor,
            },
        })
    }
}

fn short_len(len: usize, what: &str) -> Result<u8, PushError> {
    u8::try_from(len).map_err(|_| PushError::InvalidNotification {
        what: format!("{what} of {len} bytes is longer than 255"),
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn truncated(&self, what: &str) -> PushError {
        PushError::MalformedNotification {
            offset: self.pos,
            what: format!("input ends while reading the {what}"),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], PushError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.truncated(what))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self, what: &str) -> Result<u8, PushError> {
        Ok(self.take(1, what)?[0])
    }

    fn text(&mut self, what: &str) -> Result<String, PushError> {
        let len = self.byte(what)?;
        let at = self.pos;
        let raw = self.take(usize::from(len), what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| PushError::MalformedNotification {
            offset: at,
            what: format!("{what} is not UTF-8"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_header_bits() {
        let san = San {
            version: 12,
            ui_mode: UiMode::UserInteraction,
            server_initiated: false,
            session_id: 0xBEEF,
            server_id: String::new(),
            syncs: vec![],
            vendor: vec![],
        };
        let b = san.encode_without_digest().unwrap();
        // version 12 = 0b0000001100, ui 3, initiator 0, 27 zero bits, session id.
        assert_eq!(b, [0x03, 0x30, 0, 0, 0, 0xBE, 0xEF, 0x00, 0x00]);
    }

    #[test]
    fn known_content_types() {
        assert_eq!(content_type_code("text/x-vcard"), 0x07);
        assert_eq!(content_type_code("text/x-vcalendar; charset=utf-8"), 0x06);
        assert_eq!(content_type_code("text/calendar"), 0x0305);
        assert_eq!(content_type_code("application/x-unknown"), 0);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut san = San {
            version: 12,
            ui_mode: UiMode::NotSpecified,
            server_initiated: true,
            session_id: 1,
            server_id: "x".repeat(256),
            syncs: vec![],
            vendor: vec![],
        };
        assert!(matches!(
            san.encode_without_digest(),
            Err(PushError::InvalidNotification { .. })
        ));
        san.server_id = "s".into();
        san.syncs = vec![
            SanSync {
                sync: AlertedSync::TwoWay,
                content_type: 0,
                server_uri: "a".into(),
            };
            16
        ];
        assert!(san.encode_without_digest().is_err());
    }

    #[test]
    fn truncated_input_is_a_typed_error() {
        for len in 0..FIXED_HEADER_LEN {
            let err = San::parse(&vec![0u8; len]).unwrap_err();
            assert!(
                matches!(err, PushError::MalformedNotification { .. }),
                "{err}"
            );
        }
    }
}
