//! Every way the upstream can fail, typed so the engine can answer the phone with the
//! right SyncML status. Messages carry the URL (never credentials) for the logs.

use reqwest::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    /// The upstream refused the credentials (401).
    #[error("upstream refused the credentials for {url}")]
    Unauthorized { url: String },
    /// The credentials were accepted but the action is not allowed (403).
    #[error("upstream forbids {method} {url}")]
    Forbidden { method: String, url: String },
    #[error("upstream has nothing at {url}")]
    NotFound { url: String },
    /// A precondition failed (412): the item changed upstream, or already exists on a
    /// create. `current_etag` is the upstream's ETag when it could be read.
    #[error("upstream item {href} changed concurrently (current etag {current_etag:?})")]
    Conflict {
        href: String,
        current_etag: Option<String>,
    },
    /// The upstream answered with a 5xx status.
    #[error("upstream failed on {method} {url}: HTTP {status}")]
    ServerError {
        method: String,
        url: String,
        status: u16,
    },
    #[error("upstream timed out on {method} {url}")]
    Timeout { method: String, url: String },
    /// The connection could not be made or broke mid-way.
    #[error("upstream unreachable for {method} {url}: {message}")]
    Unreachable {
        method: String,
        url: String,
        message: String,
    },
    /// A status the operation has no meaning for (e.g. 400 to a PUT).
    #[error("upstream answered {method} {url} with HTTP {status}")]
    UnexpectedStatus {
        method: String,
        url: String,
        status: u16,
    },
    /// The upstream's body could not be understood (bad XML, missing elements).
    #[error("malformed upstream response from {url}: {message}")]
    Malformed { url: String, message: String },
    #[error("upstream response from {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// A URL or href that cannot be used (bad syntax, another host).
    #[error("invalid upstream URL `{url}`: {message}")]
    InvalidUrl { url: String, message: String },
    /// Discovery found no collection of the kind asked for, and creating one is not allowed.
    #[error("no upstream collection for {kind}")]
    NoCollection { kind: String },
    #[error("cannot build the upstream HTTP client: {message}")]
    Setup { message: String },
}

impl DavError {
    /// True for failures of the upstream itself (5xx, timeout, refused connection):
    /// the phone should retry later rather than change anything.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            DavError::ServerError { .. } | DavError::Timeout { .. } | DavError::Unreachable { .. }
        )
    }

    /// The error for a status the caller did not expect, by the status' usual meaning.
    pub(crate) fn from_status(method: &str, url: &str, status: StatusCode) -> DavError {
        let (method, url) = (method.to_owned(), url.to_owned());
        match status.as_u16() {
            401 => DavError::Unauthorized { url },
            403 => DavError::Forbidden { method, url },
            404 | 410 => DavError::NotFound { url },
            412 => DavError::Conflict {
                href: url,
                current_etag: None,
            },
            s if status.is_server_error() => DavError::ServerError {
                method,
                url,
                status: s,
            },
            s => DavError::UnexpectedStatus {
                method,
                url,
                status: s,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_engine_needs() {
        let e =
            |s: u16| DavError::from_status("PUT", "http://h/a", StatusCode::from_u16(s).unwrap());
        assert!(matches!(e(401), DavError::Unauthorized { .. }));
        assert!(matches!(e(403), DavError::Forbidden { .. }));
        assert!(matches!(e(404), DavError::NotFound { .. }));
        assert!(matches!(e(410), DavError::NotFound { .. }));
        assert!(matches!(
            e(412),
            DavError::Conflict {
                current_etag: None,
                ..
            }
        ));
        assert!(matches!(e(507), DavError::ServerError { status: 507, .. }));
        assert!(e(502).is_unavailable() && e(503).is_unavailable());
        assert!(matches!(
            e(415),
            DavError::UnexpectedStatus { status: 415, .. }
        ));
        assert!(!e(415).is_unavailable() && !e(412).is_unavailable());
        assert_eq!(
            e(503).to_string(),
            "upstream failed on PUT http://h/a: HTTP 503"
        );
    }
}
