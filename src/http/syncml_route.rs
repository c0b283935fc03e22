//! The SyncML path: checks the media type and size, reads the body within the time
//! limit, hands it to the handler and sends its answer back in the same encoding.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;

use super::body::{full, text, BoxError, ResponseBody};
use super::handler::{SyncmlHandler, SyncmlReply, SyncmlRequest};
use super::media_type::{self, Declared};

/// Answers GET on the SyncML path; phones and administrators probe it.
const INFO_PAGE: &str = "This is a SyncML (OMA DS 1.0, 1.1, 1.2) endpoint.\n\
Devices POST messages here as application/vnd.syncml+xml or application/vnd.syncml+wbxml.";

pub(crate) struct SyncmlRoute<H> {
    handler: Arc<H>,
    path: String,
    max_body_bytes: usize,
    timeout: Duration,
}

impl<H: SyncmlHandler> SyncmlRoute<H> {
    pub(crate) fn new(
        handler: Arc<H>,
        path: &str,
        max_body_bytes: usize,
        timeout: Duration,
    ) -> Self {
        SyncmlRoute {
            handler,
            path: path.trim_end_matches('/').to_owned(),
            max_body_bytes,
            timeout,
        }
    }

    /// Whether a request path is the SyncML path. Some clients glue their parameters
    /// onto the path with `&` or `;` instead of `?`; those still belong here.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match path.strip_prefix(self.path.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with(['/', '&', ';', '#']),
            None => false,
        }
    }

    pub(crate) async fn respond<B>(
        &self,
        request: Request<B>,
        remote: SocketAddr,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        match *request.method() {
            Method::POST => {}
            Method::GET | Method::HEAD => return text(StatusCode::OK, INFO_PAGE),
            _ => {
                let mut response = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "SyncML messages are sent with POST",
                );
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
                return response;
            }
        }
        let (parts, body) = request.into_parts();
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let refuse = |status: StatusCode, reason: String| {
            tracing::info!(%remote, user_agent = user_agent.as_deref(), %status, %reason, "SyncML request refused");
            text(status, reason)
        };

        let declared = media_type::declared(parts.headers.get(CONTENT_TYPE).map(|v| v.as_bytes()));
        if let Declared::Other(media) = &declared {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected application/vnd.syncml+xml or application/vnd.syncml+wbxml, not `{media}`"),
            );
        }
        let announced = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > self.max_body_bytes as u64) {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, self.too_large());
        }

        let read = Limited::new(body, self.max_body_bytes).collect();
        let bytes = match tokio::time::timeout(self.timeout, read).await {
            Err(_) => {
                return refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the message was not received within {} s",
                        self.timeout.as_secs()
                    ),
                )
            }
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return refuse(StatusCode::PAYLOAD_TOO_LARGE, self.too_large())
            }
            Ok(Err(e)) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("the message body could not be read: {e}"),
                )
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        if bytes.is_empty() {
            return refuse(StatusCode::BAD_REQUEST, "empty SyncML message".into());
        }
        let encoding = match declared {
            Declared::SyncMl(encoding) => encoding,
            _ => match media_type::sniff(&bytes) {
                Some(encoding) => encoding,
                None => {
                    return refuse(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "no Content-Type, and the body is neither SyncML XML nor WBXML".into(),
                    )
                }
            },
        };

        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let syncml_request = SyncmlRequest {
            body: bytes,
            encoding,
            path_and_query,
            remote,
            user_agent: user_agent.clone(),
        };
        let reply = match tokio::time::timeout(self.timeout, self.handler.handle(syncml_request))
            .await
        {
            Ok(reply) => reply,
            Err(_) => {
                tracing::warn!(%remote, timeout_secs = self.timeout.as_secs(), "SyncML handler took too long");
                return text(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "no answer could be prepared within {} s",
                        self.timeout.as_secs()
                    ),
                );
            }
        };
        match reply {
            SyncmlReply::Message { body, encoding } => {
                let length = body.len();
                let mut response = Response::new(full(body));
                let headers = response.headers_mut();
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(encoding.media_type()),
                );
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
                response
            }
            SyncmlReply::Error { status, reason }
                if status.is_client_error() || status.is_server_error() =>
            {
                tracing::warn!(%remote, user_agent = user_agent.as_deref(), %status, %reason, "SyncML message rejected");
                text(status, reason)
            }
            SyncmlReply::Error { status, reason } => {
                tracing::error!(%status, %reason, "SyncML handler reported an error with a non-error status");
                text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }

    fn too_large(&self) -> String {
        format!(
            "SyncML messages are limited to {} bytes",
            self.max_body_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::handler::WireEncoding;
    use http_body_util::Full;

    struct Echo;
    impl SyncmlHandler for Echo {
        async fn handle(&self, req: SyncmlRequest) -> SyncmlReply {
            SyncmlReply::Message {
                body: req.body,
                encoding: req.encoding,
            }
        }
    }

    fn route() -> SyncmlRoute<Echo> {
        SyncmlRoute::new(Arc::new(Echo), "/syncml", 16, Duration::from_secs(5))
    }

    fn remote() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 1))
    }

    #[test]
    fn path_matching_accepts_glued_parameters_only() {
        let r = route();
        for p in [
            "/syncml",
            "/syncml/",
            "/syncml&sync=1",
            "/syncml;jsessionid=x",
        ] {
            assert!(r.matches(p), "{p}");
        }
        for p in ["/", "/syncmlx", "/sync", "/dav/syncml"] {
            assert!(!r.matches(p), "{p}");
        }
        let slash = SyncmlRoute::new(Arc::new(Echo), "/s/", 1, Duration::from_secs(1));
        assert!(slash.matches("/s"));
    }

    #[tokio::test]
    async fn replies_in_the_senders_encoding() {
        let req = Request::post("/syncml?x=1")
            .header(CONTENT_TYPE, "application/vnd.syncml+wbxml")
            .body(Full::new(Bytes::from_static(b"\x02\x00")))
            .unwrap();
        let resp = route().respond(req, remote()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[CONTENT_TYPE],
            WireEncoding::Wbxml.media_type()
        );
        assert_eq!(resp.headers()[CONTENT_LENGTH], "2");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"\x02\x00");
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        let req = Request::put("/syncml")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = route().respond(req, remote()).await;
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[ALLOW], "GET, HEAD, POST");
    }

    #[tokio::test]
    async fn empty_and_unknown_bodies_are_refused() {
        let empty = Request::post("/syncml")
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(
            route().respond(empty, remote()).await.status(),
            StatusCode::BAD_REQUEST
        );
        let junk = Request::post("/syncml")
            .body(Full::new(Bytes::from_static(b"hello")))
            .unwrap();
        assert_eq!(
            route().respond(junk, remote()).await.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
