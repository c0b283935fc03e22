//! The HTTP front door (plain or TLS): the SyncML path goes to a [`SyncmlHandler`],
//! `/healthz` and `/metrics` answer locally, and every other request is streamed through
//! to the DAV upstream.
//!
//! Cross-cutting concerns (tracing, panic isolation) are tower layers around the router;
//! header-read timeout, the connection caps (overall, per client address, and a few
//! health-only connections beyond the overall cap) are connection settings; the body cap,
//! the body pace, the cap on SyncML requests in flight and the request timeout apply to
//! the SyncML path only, so large DAV transfers stream freely.

mod admission;
mod body;
mod body_pace;
mod handler;
mod health;
mod layers;
mod media_type;
mod proxy;
mod proxy_headers;
mod routes;
mod server;
mod settings;
mod syncml_route;
mod tls;
mod upload_end;

pub use handler::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};
pub use server::{serve, serve_listener, serve_with_metrics, shutdown_signal};
pub use settings::HttpSettings;
pub use tls::{TlsError, TlsSettings};

use std::net::SocketAddr;

/// Why the front door could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("HTTP settings: `{key}`: {message}")]
    Settings { key: &'static str, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the listener's local address: {0}")]
    LocalAddr(std::io::Error),
    #[error("cannot build the upstream HTTP client: {0}")]
    UpstreamClient(reqwest::Error),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}
