//! The streaming passthrough to the DAV upstream for every path that is not ours.
//! Bodies flow chunk by chunk in both directions; nothing is buffered whole.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body;
use url::Url;

use super::body::{text, BoxError, ResponseBody};
use super::proxy_headers::{forward_request_headers, forward_response_headers};
use super::upload_end::watch_end;
use super::HttpError;

/// The scheme clients reach the bridge with (TLS is terminated in front of it for now).
const BRIDGE_PROTO: &str = "http";

pub(crate) struct Proxy {
    client: reqwest::Client,
    upstream: Url,
    /// `scheme://host[:port]` of the upstream, to which request paths are appended.
    origin: String,
    timeout: Duration,
}

impl Proxy {
    pub(crate) fn new(
        upstream: Url,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Proxy, HttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            // The upstream is addressed directly; a proxy from the environment would
            // see every DAV password.
            .no_proxy()
            .build()
            .map_err(HttpError::UpstreamClient)?;
        let origin = upstream.origin().ascii_serialization();
        Ok(Proxy {
            client,
            upstream,
            origin,
            timeout,
        })
    }

    pub(crate) async fn forward<B>(
        &self,
        request: Request<B>,
        remote: SocketAddr,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let url = match Url::parse(&format!("{}{path_and_query}", self.origin)) {
            Ok(url) => url,
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("unusable request path: {e}"),
                )
            }
        };
        forward_request_headers(&mut parts.headers, remote.ip(), BRIDGE_PROTO);

        let (body, uploaded) = watch_end(body);
        let sent = self
            .client
            .request(parts.method.clone(), url)
            .headers(parts.headers)
            .body(reqwest::Body::wrap(body))
            .send();
        // The upstream's time starts once it has the whole request; uploads may take long.
        let deadline = async {
            let _ = uploaded.await;
            tokio::time::sleep(self.timeout).await;
        };
        let upstream_response = tokio::select! {
            sent = sent => match sent {
                Ok(response) => response,
                Err(e) if e.is_timeout() => return self.timed_out(&parts.method),
                Err(e) => {
                    let kind = if e.is_connect() { "unreachable" } else { "failed" };
                    tracing::warn!(method = %parts.method, error = %DisplayChain(&e), "upstream {kind}");
                    return text(StatusCode::BAD_GATEWAY, format!("the DAV server is {kind}"));
                }
            },
            () = deadline => return self.timed_out(&parts.method),
        };

        let response: Response<reqwest::Body> = upstream_response.into();
        let (mut parts, body) = response.into_parts();
        forward_response_headers(&mut parts.headers, &self.upstream);
        let body = body.map_err(|e| Box::new(e) as BoxError).boxed_unsync();
        Response::from_parts(parts, body)
    }

    fn timed_out(&self, method: &http::Method) -> Response<ResponseBody> {
        tracing::warn!(%method, timeout_secs = self.timeout.as_secs(), "upstream did not answer in time");
        text(
            StatusCode::GATEWAY_TIMEOUT,
            "the DAV server did not answer in time",
        )
    }
}

/// An error with its sources, on one line (reqwest hides the cause of a connect error
/// in its source chain).
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
