//! Per-device debug recordings: every SyncML message of a device's sessions written as
//! XML (decoded from WBXML) to `<data_dir>/debug/<device>/<session>/NN-in.xml` and
//! `NN-out.xml`, with credentials and nonces redacted, so a phone's bug report can be
//! read and replayed as a test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::store::{DeviceRecord, Store, StoreError};
use crate::syncml::{transcode, Encoding};

/// The device setting that switches recording on (`devices debug DEVICE on`).
pub const DEBUG_SETTING: &str = "debug";

/// What replaces a redacted value.
pub const REDACTED: &str = "REDACTED";

#[derive(Debug, thiserror::Error)]
pub enum DebugLogError {
    #[error("cannot write the debug recording {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether `record`'s sessions are recorded: listed in `log.debug_devices`, or its
/// `debug` setting is on.
pub fn debug_enabled(debug_devices: &[String], record: &DeviceRecord) -> bool {
    debug_devices.contains(&record.device_id)
        || record
            .settings
            .get(DEBUG_SETTING)
            .is_some_and(|v| v == "on")
}

/// Switches recording for `user`'s `device` on or off in the store. Returns false when
/// the device never synced (there is no record to change).
pub fn set_device_debug(
    store: &Store,
    user: &str,
    device: &str,
    on: bool,
) -> Result<bool, StoreError> {
    let Some(mut record) = store.device(user, device)? else {
        return Ok(false);
    };
    if on {
        record.settings.insert(DEBUG_SETTING.into(), "on".into());
    } else {
        record.settings.remove(DEBUG_SETTING);
    }
    store.put_device(&record)?;
    Ok(true)
}

/// A path segment made of what a device or session ID holds, safe on every file system.
fn segment(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    match s.trim_matches('.') {
        "" => "_".to_owned(),
        t => t.to_owned(),
    }
}

/// One session's recording.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    /// Messages recorded in each direction so far.
    count: u32,
}

impl Recorder {
    /// A recording under `<data_dir>/debug/<device>/<time>-<session id>/`.
    pub fn new(data_dir: &Path, device: &str, session_id: &str) -> Self {
        let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S%.3f");
        let dir = data_dir
            .join("debug")
            .join(segment(device))
            .join(format!("{stamp}-{}", segment(session_id)));
        Recorder { dir, count: 0 }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records a message from the phone; returns its number.
    pub fn incoming(&mut self, body: &[u8]) -> Result<u32, DebugLogError> {
        self.count += 1;
        self.write(self.count, "in", body)?;
        Ok(self.count)
    }

    /// Records the reply to message `n` and how long the package took.
    pub fn outgoing(&mut self, n: u32, body: &[u8], took: Duration) -> Result<(), DebugLogError> {
        tracing::info!(dir = %self.dir.display(), message = n, ms = took.as_millis() as u64, "debug recording: package answered");
        self.write(n, "out", body)
    }

    fn write(&self, n: u32, direction: &str, body: &[u8]) -> Result<(), DebugLogError> {
        let path = self.dir.join(format!("{n:02}-{direction}.xml"));
        let err = |source| DebugLogError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        std::fs::write(&path, redact(&as_xml(body))).map_err(err)
    }
}

/// The message as XML text: WBXML is decoded, undecodable bytes are kept as lossy text.
pub fn as_xml(body: &[u8]) -> String {
    let looks_xml = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    if !looks_xml {
        if let Ok(xml) = transcode(body, Encoding::Xml) {
            return String::from_utf8_lossy(&xml).into_owned();
        }
    }
    String::from_utf8_lossy(body).into_owned()
}

/// Blanks the `Data` of every `Cred` and every `NextNonce` (a `Chal` carries its nonce
/// as `NextNonce`), with or without a namespace prefix.
pub fn redact(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    let mut in_cred = false;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            rest = &rest[lt..];
            break;
        };
        let tag = &rest[lt..lt + gt + 1];
        out.push_str(tag);
        rest = &rest[lt + gt + 1..];
        let inner = tag.trim_start_matches('<');
        let closing = inner.starts_with('/');
        let name_full = inner
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("");
        let name = name_full.rsplit(':').next().unwrap_or(name_full);
        let self_closing = tag.ends_with("/>");
        match (name, closing) {
            ("Cred", false) if !self_closing => in_cred = true,
            ("Cred", true) => in_cred = false,
            ("Data", false) if in_cred && !self_closing => rest = blank_until_close(&mut out, rest),
            ("NextNonce", false) if !self_closing => rest = blank_until_close(&mut out, rest),
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// Writes [`REDACTED`] for the text up to the next tag and continues from that tag.
fn blank_until_close<'a>(out: &mut String, rest: &'a str) -> &'a str {
    let end = rest.find('<').unwrap_or(rest.len());
    if !rest[..end].trim().is_empty() {
        out.push_str(REDACTED);
    }
    &rest[end..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_nonces_are_blanked() {
        let xml = "<SyncML><SyncHdr><Cred><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-md5</Type></Meta><Data>c2VjcmV0</Data></Cred></SyncHdr>\
            <SyncBody><Status><Chal><Meta><NextNonce xmlns=\"syncml:metinf\">bm9uY2U=</NextNonce></Meta></Chal></Status>\
            <Add><Item><Data>BEGIN:VCARD</Data></Item></Add></SyncBody></SyncML>";
        let out = redact(xml);
        assert!(!out.contains("c2VjcmV0"), "{out}");
        assert!(!out.contains("bm9uY2U="), "{out}");
        assert!(out.contains("<Data>REDACTED</Data></Cred>"), "{out}");
        assert!(out.contains("syncml:auth-md5"), "{out}");
        // Item data outside Cred is kept.
        assert!(out.contains("<Data>BEGIN:VCARD</Data>"), "{out}");
        let prefixed = "<m:NextNonce>abc</m:NextNonce><x:Cred><x:Data>pw</x:Data></x:Cred>";
        assert_eq!(
            redact(prefixed),
            "<m:NextNonce>REDACTED</m:NextNonce><x:Cred><x:Data>REDACTED</x:Data></x:Cred>"
        );
    }

    #[test]
    fn broken_markup_never_panics() {
        for s in [
            "<Cred><Data>pw",
            "<Cred",
            "text only",
            "<NextNonce>n",
            "<>",
            "</Cred>",
        ] {
            let out = redact(s);
            assert!(!out.contains("pw") || s == "text only", "{out}");
        }
    }

    #[test]
    fn device_ids_become_safe_path_segments() {
        assert_eq!(segment("IMEI:3510/../x"), "IMEI_3510_.._x");
        assert_eq!(segment(".."), "_");
        assert_eq!(segment(""), "_");
    }

    #[test]
    fn recordings_are_numbered_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let mut rec = Recorder::new(dir.path(), "phone/1", "7");
        let n = rec
            .incoming(b"<SyncML><Cred><Data>secret</Data></Cred></SyncML>")
            .unwrap();
        rec.outgoing(n, b"<SyncML/>", Duration::from_millis(3))
            .unwrap();
        let inbound = std::fs::read_to_string(rec.dir().join("01-in.xml")).unwrap();
        assert!(!inbound.contains("secret"));
        assert!(rec.dir().join("01-out.xml").exists());
        assert!(rec
            .dir()
            .starts_with(dir.path().join("debug").join("phone_1")));
    }
}
