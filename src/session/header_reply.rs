//! The front door's answer before a session runs: decode the message and answer it in
//! kind with a Status for its header. Malformed input is refused with 400.

use bytes::Bytes;
use http::StatusCode as HttpStatus;

use crate::http::{SyncmlHandler, SyncmlReply, SyncmlRequest, WireEncoding};
use crate::syncml::codes::StatusCode;
use crate::syncml::model::{Command, Message, SyncBody};
use crate::syncml::reply::{header_status, reply_header};
use crate::syncml::{decode, encode_with, Encoding};

/// Answers every message with its header Status (200), or 400 when it does not decode.
#[derive(Debug, Default)]
pub struct HeaderReplyHandler;

impl SyncmlHandler for HeaderReplyHandler {
    async fn handle(&self, request: SyncmlRequest) -> SyncmlReply {
        answer_header(&request.body)
    }
}

/// Decodes `body` and builds the header-Status reply in the same encoding.
pub fn answer_header(body: &[u8]) -> SyncmlReply {
    let decoded = match decode(body) {
        Ok(d) => d,
        Err(e) => {
            return SyncmlReply::Error {
                status: HttpStatus::BAD_REQUEST,
                reason: format!("malformed SyncML message: {e}"),
            }
        }
    };
    let received = &decoded.message.header;
    let reply = Message {
        header: reply_header(received, "1", None),
        body: SyncBody {
            commands: vec![Command::Status(header_status(
                received,
                "1",
                StatusCode::Ok,
            ))],
            final_: true,
        },
        extra: Vec::new(),
    };
    match encode_with(&reply, &decoded.reply_options()) {
        Ok(bytes) => SyncmlReply::Message {
            body: Bytes::from(bytes),
            encoding: match decoded.encoding {
                Encoding::Xml => WireEncoding::Xml,
                Encoding::Wbxml => WireEncoding::Wbxml,
            },
        },
        Err(e) => SyncmlReply::Error {
            status: HttpStatus::INTERNAL_SERVER_ERROR,
            reason: format!("cannot encode the reply: {e}"),
        },
    }
}
