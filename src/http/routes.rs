//! Which part of the bridge answers a request: `/healthz`, the SyncML path, or the
//! upstream DAV server for everything else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tower::{Service, ServiceBuilder};

use super::body::{text, BoxError, ResponseBody};
use super::handler::SyncmlHandler;
use super::layers::{trace, CatchPanicLayer};
use super::proxy::Proxy;
use super::settings::HttpSettings;
use super::syncml_route::SyncmlRoute;
use super::{health, HttpError};

pub(crate) struct Router<H> {
    syncml: SyncmlRoute<H>,
    proxy: Proxy,
}

impl<H: SyncmlHandler> Router<H> {
    pub(crate) fn new(settings: &HttpSettings, handler: Arc<H>) -> Result<Router<H>, HttpError> {
        Ok(Router {
            syncml: SyncmlRoute::new(
                handler,
                &settings.syncml_path,
                settings.max_body_bytes,
                settings.request_timeout,
            ),
            proxy: Proxy::new(
                settings.upstream.clone(),
                settings.upstream_connect_timeout,
                settings.upstream_timeout,
            )?,
        })
    }

    pub(crate) async fn route(
        &self,
        request: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<ResponseBody> {
        let path = request.uri().path();
        if path == health::PATH {
            return match *request.method() {
                Method::GET | Method::HEAD => health::respond(),
                _ => {
                    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET");
                    response
                        .headers_mut()
                        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                    response
                }
            };
        }
        if self.syncml.matches(path) {
            return self.syncml.respond(request, remote).await;
        }
        self.proxy.forward(request, remote).await
    }
}

/// The layered service answering one connection's requests.
pub(crate) fn connection_service<H: SyncmlHandler>(
    router: Arc<Router<H>>,
    remote: SocketAddr,
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
            async move { Ok::<_, Infallible>(router.route(request, remote).await) }
        })
}
