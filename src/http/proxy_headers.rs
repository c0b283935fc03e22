//! Header rewriting for the passthrough proxy: hop-by-hop headers, the forwarding
//! headers the upstream may log or use, and `Location` answers that name the upstream.
//!
//! A `Location` on the upstream's origin becomes a reference relative to the origin
//! (path and query only): the client resolves it against the URL it asked, so it lands
//! on the bridge without the bridge ever writing a host name. The client's `Host`
//! header is never used for it, so a forged `Host` cannot turn a redirect into a link
//! to another site.

use std::net::IpAddr;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST};
use url::{Position, Url};

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus
/// `Proxy-Connection` (still sent by old clients) and `Expect` (this proxy answers
/// `100-continue` itself and streams the body on).
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// Removes the hop-by-hop headers, including every header the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Prepares a client's request headers for the upstream: drops hop-by-hop headers and
/// `Host` (the client library sets the upstream's), and records where the request came
/// from in `X-Forwarded-For/-Proto/-Host` and `Forwarded` (RFC 7239).
pub(crate) fn forward_request_headers(headers: &mut HeaderMap, remote: IpAddr, proto: &str) {
    strip_hop_by_hop(headers);
    let host = headers.remove(HOST);

    let previous: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let mut chain = previous.join(", ");
    if !chain.is_empty() {
        chain.push_str(", ");
    }
    chain.push_str(&remote.to_string());
    set(headers, "x-forwarded-for", &chain);
    set(headers, "x-forwarded-proto", proto);
    match host.as_ref().and_then(|h| h.to_str().ok()) {
        Some(h) => set(headers, "x-forwarded-host", h),
        None => {
            headers.remove("x-forwarded-host");
        }
    }

    let for_value = match remote {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut element = format!("for={for_value};proto={proto}");
    if let Some(h) = host.as_ref().and_then(|h| h.to_str().ok()) {
        element.push_str(&format!(";host={}", quoted(h)));
    }
    let previous: Vec<String> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .chain(std::iter::once(element))
        .collect();
    set(headers, "forwarded", &previous.join(", "));
}

/// Prepares the upstream's response headers for the client.
pub(crate) fn forward_response_headers(headers: &mut HeaderMap, upstream: &Url) {
    strip_hop_by_hop(headers);
    for name in [http::header::LOCATION, http::header::CONTENT_LOCATION] {
        let rewritten = headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| rewrite_location(v, upstream));
        if let Some(value) = rewritten.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
}

/// An absolute `Location` on the upstream's origin as a reference relative to the
/// origin (path, query, fragment); `None` when it is relative already or points
/// elsewhere (then it passes unchanged).
pub(crate) fn rewrite_location(location: &str, upstream: &Url) -> Option<String> {
    let target = Url::parse(location).ok()?;
    if target.origin() != upstream.origin() {
        return None;
    }
    Some(target[Position::BeforePath..].to_owned())
}

fn quoted(value: &str) -> String {
    let is_token = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if is_token {
        value.to_owned()
    } else {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{AUTHORIZATION, CONTENT_LOCATION, LOCATION};

    #[test]
    fn request_headers_lose_hop_by_hop_and_gain_forwarding() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("bridge.example:8080"));
        h.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret-Hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert(
            "proxy-authorization",
            HeaderValue::from_static("Basic eA=="),
        );
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert("depth", HeaderValue::from_static("1"));
        forward_request_headers(&mut h, "192.0.2.7".parse().unwrap(), "http");
        for gone in [
            HOST.as_str(),
            "connection",
            "x-secret-hop",
            "keep-alive",
            "te",
            "proxy-authorization",
        ] {
            assert!(!h.contains_key(gone), "{gone} kept");
        }
        assert_eq!(h[AUTHORIZATION], "Basic YTpi");
        assert_eq!(h["depth"], "1");
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "bridge.example:8080");
        assert_eq!(
            h["forwarded"],
            "for=192.0.2.7;proto=http;host=\"bridge.example:8080\""
        );
    }

    #[test]
    fn ipv6_clients_are_quoted_in_forwarded() {
        let mut h = HeaderMap::new();
        h.insert("forwarded", HeaderValue::from_static("for=10.0.0.1"));
        forward_request_headers(&mut h, "::1".parse().unwrap(), "https");
        assert_eq!(h["forwarded"], "for=10.0.0.1, for=\"[::1]\";proto=https");
        assert!(!h.contains_key("x-forwarded-host"));
    }

    #[test]
    fn location_on_the_upstream_becomes_origin_relative() {
        let up = Url::parse("http://127.0.0.1:5232/").unwrap();
        assert_eq!(
            rewrite_location("http://127.0.0.1:5232/alice/?a=1#f", &up).as_deref(),
            Some("/alice/?a=1#f")
        );
        assert_eq!(rewrite_location("/alice/", &up), None);
        assert_eq!(rewrite_location("http://127.0.0.1:5233/x", &up), None);
        assert_eq!(rewrite_location("https://other.example/x", &up), None);
        let default_port = Url::parse("http://dav.example/").unwrap();
        assert_eq!(
            rewrite_location("http://dav.example:80/x", &default_port).as_deref(),
            Some("/x")
        );

        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://127.0.0.1:5232/bob/"),
        );
        h.insert(
            CONTENT_LOCATION,
            HeaderValue::from_static("http://127.0.0.1:5232/bob/a.vcf"),
        );
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        forward_response_headers(&mut h, &up);
        assert_eq!(h[LOCATION], "/bob/");
        assert_eq!(h[CONTENT_LOCATION], "/bob/a.vcf");
        assert!(!h.contains_key("transfer-encoding"));
    }
}
