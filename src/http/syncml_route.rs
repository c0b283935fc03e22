//! The SyncML path: checks the media type and size, reads the body within the time
//! limit, hands it to the handler and sends its answer back in the same encoding.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Body;
use tokio::sync::Semaphore;

use super::body::{full, text, BoxError, ResponseBody};
use super::body_pace::{read_body, BodyPace, BodyReadError};
use super::handler::{SyncmlHandler, SyncmlReply, SyncmlRequest};
use super::media_type::{self, Declared};
use crate::metrics::Metrics;

/// Answers GET on the SyncML path; phones and administrators probe it.
const INFO_PAGE: &str = "This is a SyncML (OMA DS 1.0, 1.1, 1.2) endpoint.\n\
Devices POST messages here as application/vnd.syncml+xml or application/vnd.syncml+wbxml.";

/// Seconds a client refused for lack of capacity is asked to wait.
const BUSY_RETRY_AFTER_SECS: u32 = 5;

pub(crate) struct SyncmlRoute<H> {
    handler: Arc<H>,
    path: String,
    max_body_bytes: usize,
    timeout: Duration,
    pace: BodyPace,
    /// One permit per SyncML request being received or answered.
    in_flight: Arc<Semaphore>,
    queue: Duration,
    metrics: Metrics,
}

/// How much the SyncML path takes on, from the limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncmlLimits {
    pub(crate) max_body_bytes: usize,
    /// Time to receive a body at most, and again to answer it.
    pub(crate) timeout: Duration,
    pub(crate) body_grace: Duration,
    pub(crate) min_body_bytes_per_sec: u64,
    pub(crate) max_requests: usize,
    /// How long a request waits for its turn.
    pub(crate) queue: Duration,
}

impl<H: SyncmlHandler> SyncmlRoute<H> {
    pub(crate) fn new(handler: Arc<H>, path: &str, limits: SyncmlLimits, metrics: Metrics) -> Self {
        SyncmlRoute {
            handler,
            path: path.trim_end_matches('/').to_owned(),
            max_body_bytes: limits.max_body_bytes,
            timeout: limits.timeout,
            pace: BodyPace {
                grace: limits.body_grace,
                min_bytes_per_sec: limits.min_body_bytes_per_sec,
                cap: limits.timeout,
            },
            in_flight: Arc::new(Semaphore::new(limits.max_requests)),
            queue: limits.queue,
            metrics,
        }
    }

    /// The body, read at the minimum pace within the size cap; else the refusal.
    async fn read_message<B>(
        &self,
        body: B,
        expected: Option<usize>,
    ) -> Result<Bytes, (StatusCode, String)>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        match read_body(body, self.max_body_bytes, expected, &self.pace).await {
            Ok(bytes) => Ok(bytes),
            Err(BodyReadError::TooLarge { .. }) => {
                self.metrics.refused("body_too_large");
                Err((StatusCode::PAYLOAD_TOO_LARGE, self.too_large()))
            }
            Err(BodyReadError::TooSlow { received, elapsed }) => {
                self.metrics.refused("body_too_slow");
                Err((
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the message was not received in time: {received} bytes in {} s \
                         (at least {} bytes/s after the first {} s, {} s at most)",
                        elapsed.as_secs(),
                        self.pace.min_bytes_per_sec,
                        self.pace.grace.as_secs(),
                        self.timeout.as_secs()
                    ),
                ))
            }
            Err(e @ BodyReadError::Read(_)) => Err((
                StatusCode::BAD_REQUEST,
                format!("the message body could not be read: {e}"),
            )),
        }
    }

    /// Whether a request path is the SyncML path. Some clients glue their parameters
    /// onto the path with `&` or `;` instead of `?`; those still belong here.
    pub(crate) fn matches(&self, path: &str) -> bool {
        super::routes::under_path(&self.path, path)
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
            self.metrics.refused("body_too_large");
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, self.too_large());
        }
        // Held while the body is read and answered; health checks and the passthrough
        // need none, so they answer however many SyncML requests are pending. A request
        // waits its turn (its body still unread, so waiting costs only the connection).
        let turn = tokio::time::timeout(self.queue, self.in_flight.clone().acquire_owned());
        let Ok(Ok(_permit)) = turn.await else {
            self.metrics.refused("syncml_busy");
            let mut response = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many SyncML requests at once, try again shortly".into(),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER_SECS));
            return response;
        };

        let expected = announced.and_then(|n| usize::try_from(n).ok());
        let bytes = match self.read_message(body, expected).await {
            Ok(bytes) => bytes,
            Err((status, reason)) => return refuse(status, reason),
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
        reply_response(reply, remote, user_agent.as_deref())
    }

    fn too_large(&self) -> String {
        format!(
            "SyncML messages are limited to {} bytes",
            self.max_body_bytes
        )
    }
}

/// The HTTP answer carrying the handler's reply.
fn reply_response(
    reply: SyncmlReply,
    remote: SocketAddr,
    user_agent: Option<&str>,
) -> Response<ResponseBody> {
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
            tracing::warn!(%remote, user_agent, %status, %reason, "SyncML message rejected");
            text(status, reason)
        }
        SyncmlReply::Error { status, reason } => {
            tracing::error!(%status, %reason, "SyncML handler reported an error with a non-error status");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::handler::WireEncoding;
    use http_body_util::{BodyExt, Full};

    struct Echo;
    impl SyncmlHandler for Echo {
        async fn handle(&self, req: SyncmlRequest) -> SyncmlReply {
            SyncmlReply::Message {
                body: req.body,
                encoding: req.encoding,
            }
        }
    }

    fn limits(max_body_bytes: usize) -> SyncmlLimits {
        SyncmlLimits {
            max_body_bytes,
            timeout: Duration::from_secs(5),
            body_grace: Duration::from_secs(5),
            min_body_bytes_per_sec: 100,
            max_requests: 4,
            queue: Duration::from_millis(50),
        }
    }

    fn route() -> SyncmlRoute<Echo> {
        SyncmlRoute::new(Arc::new(Echo), "/syncml", limits(16), Metrics::new())
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
        let slash = SyncmlRoute::new(Arc::new(Echo), "/s/", limits(1), Metrics::new());
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
