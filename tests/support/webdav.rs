//! A small blocking WebDAV/CalDAV/CardDAV client for setting up and inspecting test servers.
//! Set-up helpers panic with the server's answer when it refuses: that is how a test fails.

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::Method;

/// The full answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A component a calendar collection is created for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Event,
    Todo,
    Journal,
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Event => "VEVENT",
            Component::Todo => "VTODO",
            Component::Journal => "VJOURNAL",
        }
    }
}

/// Talks to one server as one user (or anonymously).
#[derive(Clone)]
pub struct WebDav {
    client: Client,
    base: String,
    credentials: Option<(String, String)>,
}

impl WebDav {
    /// `base` is the server origin, e.g. `http://127.0.0.1:5232`; paths passed to the methods are
    /// absolute paths on that server or full URLs.
    pub fn new(base: &str, credentials: Option<(&str, &str)>) -> Self {
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("build blocking HTTP client");
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// Sends any request and returns the whole answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("valid HTTP method");
        let url = self.url(path);
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .expect("valid header name");
            map.insert(
                name,
                HeaderValue::from_str(value).expect("valid header value"),
            );
        }
        let mut builder = self.client.request(method.clone(), &url).headers(map);
        if let Some((user, password)) = &self.credentials {
            builder = builder.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            builder = builder.body(body.to_owned());
        }
        let response = builder
            .send()
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(reqwest::header::ETAG);
        let content_type = header(CONTENT_TYPE);
        let status = response.status().as_u16();
        let body = response
            .text()
            .unwrap_or_else(|e| panic!("{method} {url}: reading body: {e}"));
        Reply {
            status,
            etag,
            content_type,
            body,
        }
    }

    fn expect_success(&self, what: &str, path: &str, reply: Reply) -> Reply {
        if !reply.is_success() {
            panic!(
                "{what} {} answered {}: {}",
                self.url(path),
                reply.status,
                reply.body
            );
        }
        reply
    }

    /// Creates an address book with an extended MKCOL (RFC 5689).
    pub fn create_addressbook(&self, path: &str) -> Reply {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
  </D:prop></D:set>
</D:mkcol>"#;
        let reply = self.request(
            "MKCOL",
            path,
            &[("Content-Type", "application/xml; charset=utf-8")],
            Some(body),
        );
        self.expect_success("MKCOL", path, reply)
    }

    /// Creates a calendar collection restricted to one component type.
    pub fn create_calendar(&self, path: &str, component: Component) -> Reply {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <C:supported-calendar-component-set><C:comp name="{}"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"#,
            component.name()
        );
        let reply = self.request(
            "MKCALENDAR",
            path,
            &[("Content-Type", "application/xml; charset=utf-8")],
            Some(&body),
        );
        self.expect_success("MKCALENDAR", path, reply)
    }

    /// Stores a resource unconditionally; returns the answer (status, ETag).
    pub fn put(&self, path: &str, content_type: &str, body: &str) -> Reply {
        let reply = self.request("PUT", path, &[("Content-Type", content_type)], Some(body));
        self.expect_success("PUT", path, reply)
    }

    /// Reads a resource; `None` on 404.
    pub fn get(&self, path: &str) -> Option<Reply> {
        let reply = self.request("GET", path, &[], None);
        if reply.status == 404 {
            return None;
        }
        Some(self.expect_success("GET", path, reply))
    }

    pub fn delete(&self, path: &str) -> Reply {
        let reply = self.request("DELETE", path, &[], None);
        self.expect_success("DELETE", path, reply)
    }

    /// PROPFIND with the given depth and body; returns the raw multistatus.
    pub fn propfind(&self, path: &str, depth: &str, body: &str) -> Reply {
        let reply = self.request(
            "PROPFIND",
            path,
            &[
                ("Depth", depth),
                ("Content-Type", "application/xml; charset=utf-8"),
            ],
            Some(body),
        );
        if reply.status != 207 {
            panic!(
                "PROPFIND {} answered {}: {}",
                self.url(path),
                reply.status,
                reply.body
            );
        }
        reply
    }

    /// The hrefs of the members of a collection (Depth 1), the collection itself left out,
    /// sorted.
    pub fn list(&self, collection: &str) -> Vec<String> {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>"#;
        let reply = self.propfind(collection, "1", body);
        let own = url_path(&self.url(collection));
        let mut hrefs: Vec<String> = hrefs_of(&reply.body)
            .into_iter()
            .filter(|href| href.trim_end_matches('/') != own.trim_end_matches('/'))
            .collect();
        hrefs.sort();
        hrefs
    }
}

/// The path part of a URL (`http://host:port/a/b/` -> `/a/b/`).
pub fn url_path(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    }
}

/// Every `DAV:href` text in a multistatus document, whatever prefix the server used.
pub fn hrefs_of(multistatus: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(multistatus);
    let mut hrefs = Vec::new();
    let mut in_response_href = false;
    let mut depth_in_response = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                if name.as_ref() == b"response" {
                    depth_in_response = 1;
                } else if depth_in_response > 0 {
                    depth_in_response += 1;
                    // Only the response's own href, not hrefs inside properties.
                    in_response_href = name.as_ref() == b"href" && depth_in_response == 2;
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"response" {
                    depth_in_response = 0;
                } else {
                    depth_in_response = depth_in_response.saturating_sub(1);
                }
                in_response_href = false;
            }
            Ok(Event::Text(t)) if in_response_href => {
                if let Ok(text) = t.unescape() {
                    hrefs.push(text.trim().to_owned());
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => panic!("unparsable multistatus ({e}): {multistatus}"),
            _ => {}
        }
    }
    hrefs
}
