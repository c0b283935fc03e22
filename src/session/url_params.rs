//! The IceWarp-style parameters of the SyncML URL: `sync=1..9`, `format=get|sif|vob`,
//! `backup[=prefix]`, `reset`, `push`, joined by `&` or by `#` (Funambol clients).

use crate::engine::SyncMethod;

/// Which item format the bridge sends a device when the URL overrides its DevInf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatParam {
    /// Whatever the device's DevInf and profile say.
    Get,
    /// Funambol SIF.
    Sif,
    /// vObject: vCard 2.1 / vCalendar 1.0.
    Vob,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlParams {
    pub sync: Option<SyncMethod>,
    pub format: Option<FormatParam>,
    /// `Some("")` for a bare `backup`, `Some(prefix)` for `backup=prefix`.
    pub backup: Option<String>,
    pub push: bool,
    /// Parameters that were present but not understood, kept for the log.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlParamError {
    #[error("URL parameter `sync={0}`: expected a number from 1 to 9")]
    BadSync(String),
    #[error("URL parameter `format={0}`: expected get, sif or vob")]
    BadFormat(String),
    #[error("URL parameter `backup={0}`: a prefix may hold only letters, digits, `-` and `_`")]
    BadBackupPrefix(String),
}

impl UrlParams {
    /// Parses what follows the SyncML path: a query string and/or a `#` fragment (both
    /// forms are what phones really send; a `#` is sent to the server by some clients).
    pub fn parse(path_and_query: &str) -> Result<UrlParams, UrlParamError> {
        let tail = match path_and_query.find(['?', '#', '&']) {
            Some(i) => &path_and_query[i + 1..],
            None => return Ok(UrlParams::default()),
        };
        let mut out = UrlParams::default();
        for raw in tail.split(['&', '#', '?']).filter(|s| !s.is_empty()) {
            let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            let (name, value) = match decoded.split_once('=') {
                Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (decoded.trim().to_ascii_lowercase(), None),
            };
            match (name.as_str(), value) {
                ("sync", Some(v)) => {
                    let m = v
                        .parse::<u8>()
                        .ok()
                        .and_then(SyncMethod::from_number)
                        .ok_or_else(|| UrlParamError::BadSync(v.clone()))?;
                    out.sync = Some(m);
                }
                ("sync", None) => return Err(UrlParamError::BadSync(String::new())),
                ("reset", _) => out.sync = Some(SyncMethod::ClientReset),
                ("format", Some(v)) => {
                    out.format = Some(match v.to_ascii_lowercase().as_str() {
                        "get" => FormatParam::Get,
                        "sif" => FormatParam::Sif,
                        "vob" => FormatParam::Vob,
                        _ => return Err(UrlParamError::BadFormat(v)),
                    })
                }
                ("backup", v) => {
                    let prefix = v.unwrap_or_default();
                    if !prefix
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return Err(UrlParamError::BadBackupPrefix(prefix));
                    }
                    out.backup = Some(prefix);
                }
                ("push", _) => out.push = true,
                _ => out.ignored.push(raw.to_owned()),
            }
        }
        Ok(out)
    }

    /// Fills what this URL left unset from `other` (the URL the phone wrote in its SyncHdr
    /// Target, which keeps a `#` part that never reaches the HTTP request line).
    pub fn fill_from(&mut self, other: UrlParams) {
        self.sync = self.sync.or(other.sync);
        self.format = self.format.or(other.format);
        if self.backup.is_none() {
            self.backup = other.backup;
        }
        self.push |= other.push;
        self.ignored.extend(other.ignored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_target_fills_what_the_request_line_lost() {
        let mut from_path = UrlParams::parse("/syncml?format=vob").unwrap();
        let from_target =
            UrlParams::parse("http://host:8080/syncml#sync=2#format=sif#backup=n95#push").unwrap();
        from_path.fill_from(from_target);
        assert_eq!(from_path.sync, Some(SyncMethod::Slow));
        assert_eq!(
            from_path.format,
            Some(FormatParam::Vob),
            "the request line wins"
        );
        assert_eq!(from_path.backup.as_deref(), Some("n95"));
        assert!(from_path.push);
    }

    #[test]
    fn ampersand_hash_and_query_forms() {
        let p = UrlParams::parse("/syncml?sync=7&format=sif&backup=nokia&push").unwrap();
        assert_eq!(p.sync, Some(SyncMethod::OneWaySlowToServer));
        assert_eq!(p.format, Some(FormatParam::Sif));
        assert_eq!(p.backup.as_deref(), Some("nokia"));
        assert!(p.push);
        let p = UrlParams::parse("/syncml#sync=2#format=vob#backup").unwrap();
        assert_eq!(p.sync, Some(SyncMethod::Slow));
        assert_eq!(p.format, Some(FormatParam::Vob));
        assert_eq!(p.backup.as_deref(), Some(""));
        let p = UrlParams::parse("/syncml&reset").unwrap();
        assert_eq!(p.sync, Some(SyncMethod::ClientReset));
        assert_eq!(UrlParams::parse("/syncml").unwrap(), UrlParams::default());
        let p = UrlParams::parse("/syncml?sid=abc&SYNC=5").unwrap();
        assert_eq!(p.sync, Some(SyncMethod::OneWayFromServer));
        assert_eq!(p.ignored, vec!["sid=abc".to_string()]);
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            UrlParams::parse("/s?sync=0"),
            Err(UrlParamError::BadSync("0".into()))
        );
        assert_eq!(
            UrlParams::parse("/s?sync=x"),
            Err(UrlParamError::BadSync("x".into()))
        );
        assert_eq!(
            UrlParams::parse("/s?format=csv"),
            Err(UrlParamError::BadFormat("csv".into()))
        );
        assert!(UrlParams::parse("/s?backup=../x").is_err());
    }
}
