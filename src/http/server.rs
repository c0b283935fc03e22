//! The listener: accepts connections up to the cap, serves each with hyper (over TLS when
//! configured), and on shutdown stops accepting and lets in-flight requests finish within
//! a grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::admission::{PerIp, Slots};
use super::body::BoxError;
use super::handler::SyncmlHandler;
use super::routes::{connection_service, Router};
use super::settings::HttpSettings;
use super::HttpError;
use crate::config::Config;
use crate::metrics::Metrics;

/// What a client over its per-address connection cap reads before the connection closes.
const PER_IP_REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Retry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n\r\n\
too many connections from this address, wait\n";

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Binds `config.listen` and serves until `shutdown` completes, with a metrics registry
/// of its own (see [`serve_with_metrics`] to share one).
pub async fn serve<H: SyncmlHandler>(
    config: &Config,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), HttpError> {
    serve_with_metrics(config, Metrics::new(), handler, shutdown).await
}

/// Binds `config.listen` and serves until `shutdown` completes; `/metrics` exposes
/// `metrics`, whose clones the session, engine and DAV client record into.
pub async fn serve_with_metrics<H: SyncmlHandler>(
    config: &Config,
    metrics: Metrics,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), HttpError> {
    let mut settings = HttpSettings::from_config(config)?;
    settings.metrics = metrics;
    let addr = config.listen_addr().map_err(|e| HttpError::Settings {
        key: "listen",
        message: e.to_string(),
    })?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    serve_listener(listener, settings, handler, shutdown).await
}

/// Serves on a listener that is already bound (tests bind port 0 and read the address
/// first) until `shutdown` completes; then waits up to `settings.shutdown_grace` for
/// in-flight requests.
pub async fn serve_listener<H: SyncmlHandler>(
    listener: TcpListener,
    settings: HttpSettings,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), HttpError> {
    settings.validate()?;
    let local = listener.local_addr().map_err(HttpError::LocalAddr)?;
    let router = Arc::new(Router::new(&settings, handler)?);
    let slots = Slots::new(settings.max_connections, settings.health_connections);
    let per_ip = PerIp::new(settings.max_connections_per_ip);
    let metrics = settings.metrics.clone();
    let (stop_tx, stop_rx) = watch::channel(());
    let mut connections = JoinSet::new();
    let tls = settings.tls.as_ref().map(|t| t.acceptor());
    tracing::info!(addr = %local, tls = tls.is_some(), syncml_path = %settings.syncml_path, upstream = %settings.upstream.origin().ascii_serialization(), "listening");

    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.acquire() => slot,
        };
        let Some(slot) = slot else { break };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let slot = slot.upgrade(&slots);
        let Some(ticket) = per_ip.admit(remote.ip()) else {
            tracing::info!(%remote, limit = settings.max_connections_per_ip, "connection refused: too many from this address");
            metrics.refused("connections_per_address");
            if tls.is_none() {
                refuse_quietly(stream);
            }
            continue;
        };
        // Small request/response exchanges: do not wait to fill segments.
        let _ = stream.set_nodelay(true);
        let service = connection_service(router.clone(), remote, slot.lane);
        let hyper_service =
            hyper::service::service_fn(move |request| service.clone().oneshot(request));
        let stop = stop_rx.clone();
        let header_read_timeout = settings.header_read_timeout;
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            let _ticket = ticket;
            let Some(acceptor) = tls else {
                serve_connection(stream, hyper_service, header_read_timeout, stop, remote).await;
                return;
            };
            // The handshake gets the same bound as a request head, so a silent client
            // cannot hold a connection slot.
            match tokio::time::timeout(header_read_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    serve_connection(stream, hyper_service, header_read_timeout, stop, remote)
                        .await;
                }
                Ok(Err(e)) => tracing::debug!(%remote, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
            }
        });
    }

    drop(listener);
    let in_flight = connections.len();
    tracing::info!(in_flight, "shutting down");
    let _ = stop_tx.send(());
    let drained = tokio::time::timeout(settings.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            grace_secs = settings.shutdown_grace.as_secs(),
            "grace period over, closing the remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Writes [`PER_IP_REFUSAL`] to a connection just accepted, without waiting: its send
/// buffer is empty, so one non-blocking write goes out whole or not at all. (Tokio's
/// `try_write` would report a fresh socket as not ready until the reactor saw it.)
fn refuse_quietly(stream: tokio::net::TcpStream) {
    if let Ok(mut stream) = stream.into_std() {
        let _ = std::io::Write::write(&mut stream, PER_IP_REFUSAL);
    }
}

/// Serves one connection (plain or TLS) until it ends or the server stops; on stop,
/// the request in flight is finished and the connection closed.
async fn serve_connection<I, S>(
    io: I,
    service: S,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<()>,
    remote: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming>,
    S::Error: Into<BoxError>,
    S::ResBody: 'static,
    <S::ResBody as Body>::Error: Into<BoxError>,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = outcome {
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

/// Completes on SIGTERM or ctrl-c, whichever comes first.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
