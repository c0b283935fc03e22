//! Reading a 207 Multi-Status answer (RFC 4918 §13) into responses with their
//! properties, grouped by the status each property came with.

use url::Url;

use super::error::DavError;
use super::href;
use super::xml::{self, Element, DAV};

#[derive(Debug, Clone)]
pub struct Response {
    /// Canonical path of the resource.
    pub href: String,
    /// The response-level status, present when the response carries no propstat
    /// (e.g. 404 for a deleted member in a sync-collection report).
    pub status: Option<u16>,
    /// Properties answered with a 2xx status.
    pub props: Vec<Element>,
}

impl Response {
    pub fn prop(&self, ns: &str, name: &str) -> Option<&Element> {
        self.props.iter().find(|p| p.is(ns, name))
    }

    pub fn prop_text(&self, ns: &str, name: &str) -> Option<String> {
        self.prop(ns, name)
            .map(|p| p.trimmed().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// The href inside a property such as `current-user-principal`.
    pub fn prop_href(&self, base: &Url, ns: &str, name: &str) -> Result<Option<String>, DavError> {
        match self.prop(ns, name).and_then(|p| p.child(DAV, "href")) {
            Some(h) => href::resolve(base, h.trimmed()).map(Some),
            None => Ok(None),
        }
    }

    pub fn is_gone(&self) -> bool {
        matches!(self.status, Some(404 | 410))
    }
}

#[derive(Debug, Clone, Default)]
pub struct MultiStatus {
    pub responses: Vec<Response>,
    /// The `sync-token` of a sync-collection answer.
    pub sync_token: Option<String>,
}

impl MultiStatus {
    /// The response for one path, if present.
    pub fn get(&self, path: &str) -> Option<&Response> {
        self.responses
            .iter()
            .find(|r| href::same_collection(&r.href, path))
    }
}

/// Parses a 207 body received from `url`.
pub fn parse(url: &Url, body: &[u8]) -> Result<MultiStatus, DavError> {
    let malformed = |message: String| DavError::Malformed {
        url: url.to_string(),
        message,
    };
    let root = xml::parse(body).map_err(|e| malformed(e.0))?;
    if !root.is(DAV, "multistatus") {
        return Err(malformed(format!(
            "expected a DAV:multistatus, got {}:{}",
            root.ns, root.name
        )));
    }
    let mut out = MultiStatus {
        sync_token: root
            .child(DAV, "sync-token")
            .map(|t| t.trimmed().to_owned()),
        ..MultiStatus::default()
    };
    for resp in root.children_named(DAV, "response") {
        let raw_href = resp
            .child(DAV, "href")
            .ok_or_else(|| malformed("a response without href".into()))?;
        let mut response = Response {
            href: href::resolve(url, raw_href.trimmed())?,
            status: resp
                .child(DAV, "status")
                .map(|s| status_code(s.trimmed()))
                .transpose()
                .map_err(malformed)?,
            props: Vec::new(),
        };
        for propstat in resp.children_named(DAV, "propstat") {
            let status = propstat
                .child(DAV, "status")
                .map(|s| status_code(s.trimmed()))
                .transpose()
                .map_err(malformed)?
                .unwrap_or(200);
            if !(200..300).contains(&status) {
                continue;
            }
            if let Some(prop) = propstat.child(DAV, "prop") {
                response.props.extend(prop.children.iter().cloned());
            }
        }
        out.responses.push(response);
    }
    Ok(out)
}

/// `HTTP/1.1 404 Not Found` -> 404.
fn status_code(line: &str) -> Result<u16, String> {
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line `{line}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dav::xml::CALSERVER;

    #[test]
    fn reads_props_by_status() {
        let url = Url::parse("http://h/u/c/").unwrap();
        let body = br#"<D:multistatus xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
 <D:response><D:href>/u/c/</D:href>
  <D:propstat><D:prop><CS:getctag>"7"</CS:getctag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
  <D:propstat><D:prop><D:sync-token/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
 </D:response>
 <D:response><D:href>http://h/u/c/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
 <D:sync-token>tok-2</D:sync-token>
</D:multistatus>"#;
        let ms = parse(&url, body).unwrap();
        assert_eq!(ms.sync_token.as_deref(), Some("tok-2"));
        let c = ms.get("/u/c").unwrap();
        assert_eq!(c.prop_text(CALSERVER, "getctag").as_deref(), Some("\"7\""));
        assert!(c.prop(DAV, "sync-token").is_none());
        assert!(ms.responses[1].is_gone());
        assert_eq!(ms.responses[1].href, "/u/c/gone.vcf");
    }

    #[test]
    fn wrong_documents_are_malformed() {
        let url = Url::parse("http://h/").unwrap();
        for body in [
            &b"<html><body>proxy error</body></html>"[..],
            b"<D:multistatus xmlns:D=\"DAV:\"><D:response/></D:multistatus>",
            b"<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/a</D:href><D:status>garbage</D:status></D:response></D:multistatus>",
            b"<D:multistatus xmlns:D=\"DAV:\">",
        ] {
            let err = parse(&url, body).unwrap_err();
            assert!(matches!(err, DavError::Malformed { .. }), "{err}");
        }
    }
}
