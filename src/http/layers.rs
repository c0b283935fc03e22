//! Tower layers wrapped around every request: a span with method, path, status and
//! latency, and panic isolation so one bad request cannot take a connection down.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use tower::{Layer, Service};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Span;

use super::body::{text, ResponseBody};

type MakeSpan<B> = fn(&Request<B>) -> Span;
type OnResponse<B> = fn(&Response<B>, Duration, &Span);

/// One span per request. Only the method and the path are recorded: never the query
/// (session ids), a header (Authorization) or a body.
pub(crate) fn trace<B, R>() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    MakeSpan<B>,
    (),
    OnResponse<R>,
    (),
    (),
    DefaultOnFailure,
> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan<B>)
        .on_request(())
        .on_response(request_done as OnResponse<R>)
        .on_body_chunk(())
        .on_eos(())
}

fn request_span<B>(request: &Request<B>) -> Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn request_done<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    tracing::info!(status, latency_ms, "answered");
}

/// Turns a panic while answering into a 500 for that request alone.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic { inner }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CatchPanic<S> {
    inner: S,
}

type BoxedAnswer = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

impl<S, Req> Service<Req> for CatchPanic<S>
where
    S: Service<Req, Response = Response<ResponseBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = BoxedAnswer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> BoxedAnswer {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => Box::pin(async move {
                match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(answer) => answer,
                    Err(payload) => Ok(panicked(payload.as_ref())),
                }
            }),
            Err(payload) => {
                let answer = panicked(payload.as_ref());
                Box::pin(async move { Ok(answer) })
            }
        }
    }
}

fn panicked(payload: &(dyn Any + Send)) -> Response<ResponseBody> {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn a_panic_in_the_future_or_the_call_becomes_500() {
        let in_future = CatchPanicLayer.layer(service_fn(|n: u32| async move {
            if n == 0 {
                panic!("boom");
            }
            Ok::<_, Infallible>(text(StatusCode::OK, "fine"))
        }));
        let resp = in_future.clone().oneshot(0).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(in_future.oneshot(1).await.unwrap().status(), StatusCode::OK);

        let in_call = CatchPanicLayer.layer(service_fn(
            |_: ()| -> std::future::Ready<Result<Response<ResponseBody>, Infallible>> {
                panic!("{}", String::from("eager"))
            },
        ));
        let resp = in_call.oneshot(()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
