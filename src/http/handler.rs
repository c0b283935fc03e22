//! The narrow interface between the HTTP front door and whatever answers SyncML messages.
//! The front door knows bytes and media types only; decoding belongs to the handler.

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::StatusCode;

/// How a SyncML message is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireEncoding {
    Xml,
    Wbxml,
}

impl WireEncoding {
    /// The media type a message in this encoding is sent with.
    pub fn media_type(self) -> &'static str {
        match self {
            WireEncoding::Xml => "application/vnd.syncml+xml",
            WireEncoding::Wbxml => "application/vnd.syncml+wbxml",
        }
    }
}

/// One SyncML message as it arrived.
#[derive(Debug, Clone)]
pub struct SyncmlRequest {
    pub body: Bytes,
    pub encoding: WireEncoding,
    /// Path and query exactly as the device sent them (session and IceWarp-style
    /// parameters are the handler's business).
    pub path_and_query: String,
    pub remote: SocketAddr,
    pub user_agent: Option<String>,
}

/// What the handler answers.
#[derive(Debug, Clone)]
pub enum SyncmlReply {
    /// A SyncML message, sent back with 200.
    Message { body: Bytes, encoding: WireEncoding },
    /// An HTTP-level failure, e.g. 400 for a message that does not decode. `reason`
    /// goes to the device as a short text and to the log; it must not hold secrets.
    Error { status: StatusCode, reason: String },
}

/// Answers SyncML messages; the session layer implements it.
pub trait SyncmlHandler: Send + Sync + 'static {
    fn handle(&self, request: SyncmlRequest) -> impl Future<Output = SyncmlReply> + Send;
}
