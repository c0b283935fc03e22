//! Which part of the bridge answers a request: `/healthz`, `/metrics`, the SyncML path, or the
//! upstream DAV server for everything else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tower::{Service, ServiceBuilder};

use super::admission::Lane;
use super::body::{full, text, BoxError, ResponseBody};
use super::handler::SyncmlHandler;
use super::layers::{trace, CatchPanicLayer};
use super::media_type::{self, Declared};
use super::proxy::Proxy;
use super::settings::HttpSettings;
use super::syncml_route::{SyncmlLimits, SyncmlRoute};
use super::{health, HttpError};
use crate::metrics::{self, Metrics};

pub(crate) struct Router<H> {
    syncml: SyncmlRoute<H>,
    /// More SyncML paths, taken only for a POST declared as SyncML.
    aliases: Vec<String>,
    proxy: Proxy,
    metrics: Metrics,
}

impl<H: SyncmlHandler> Router<H> {
    pub(crate) fn new(settings: &HttpSettings, handler: Arc<H>) -> Result<Router<H>, HttpError> {
        Ok(Router {
            syncml: SyncmlRoute::new(
                handler,
                &settings.syncml_path,
                SyncmlLimits {
                    max_body_bytes: settings.max_body_bytes,
                    timeout: settings.request_timeout,
                    body_grace: settings.body_read_timeout,
                    min_body_bytes_per_sec: settings.min_body_bytes_per_sec,
                    max_requests: settings.max_syncml_requests,
                    queue: settings.syncml_queue,
                },
                settings.metrics.clone(),
            ),
            aliases: settings
                .syncml_aliases
                .iter()
                .map(|p| p.trim_end_matches('/').to_owned())
                .collect(),
            proxy: Proxy::new(
                settings.upstream.clone(),
                settings.upstream_connect_timeout,
                settings.upstream_timeout,
            )?,
            metrics: settings.metrics.clone(),
        })
    }

    pub(crate) async fn route(
        &self,
        request: Request<Incoming>,
        remote: SocketAddr,
        lane: Lane,
    ) -> Response<ResponseBody> {
        let path = request.uri().path();
        if path == health::PATH || path == METRICS_PATH {
            return match *request.method() {
                Method::GET | Method::HEAD if path == health::PATH => health::respond(),
                Method::GET | Method::HEAD => metrics_response(&self.metrics),
                _ => {
                    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET");
                    response
                        .headers_mut()
                        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                    response
                }
            };
        }
        if lane == Lane::HealthOnly {
            self.metrics.refused("connection_limit");
            return busy();
        }
        if self.syncml.matches(path) || self.is_syncml_alias(&request) {
            return self.syncml.respond(request, remote).await;
        }
        self.proxy.forward(request, remote).await
    }
}

impl<H> Router<H> {
    /// Whether `request` is a SyncML message posted to an alias path: a client's built-in
    /// default path may also be the upstream's, so nothing else there is taken.
    fn is_syncml_alias<B>(&self, request: &Request<B>) -> bool {
        if request.method() != Method::POST {
            return false;
        }
        let declared = request.headers().get(CONTENT_TYPE).map(|v| v.as_bytes());
        if !matches!(media_type::declared(declared), Declared::SyncMl(_)) {
            return false;
        }
        let path = request.uri().path();
        self.aliases.iter().any(|a| under_path(a, path))
    }
}

/// Whether `path` is `base` or below it (with the separators some clients glue their
/// parameters on with).
pub(crate) fn under_path(base: &str, path: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '&', ';', '#']))
}

/// The Prometheus scrape path; like `/healthz`, answered by the bridge itself and never
/// proxied.
const METRICS_PATH: &str = "/metrics";

fn metrics_response(metrics: &Metrics) -> Response<ResponseBody> {
    let mut response = Response::new(full(metrics.render()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer on a health-only connection to anything but `/healthz` and `/metrics`.
fn busy() -> Response<ResponseBody> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is at its connection limit, try again shortly",
    );
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The layered service answering one connection's requests; a [`Lane::HealthOnly`]
/// connection answers only `/healthz` and `/metrics`.
pub(crate) fn connection_service<H: SyncmlHandler>(
    router: Arc<Router<H>>,
    remote: SocketAddr,
    lane: Lane,
) -> impl Service<
    Request<Incoming>,
    Response = Response<impl hyper::body::Body<Data = Bytes, Error = BoxError> + Send + 'static>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    ServiceBuilder::new()
        .layer(trace::<Incoming, ResponseBody>())
        .layer(CatchPanicLayer)
        .service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.route(request, remote, lane).await) }
        })
}
