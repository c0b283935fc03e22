//! What a reply must be: a SyncML message the bridge's own codec reads, whose header
//! status lets the session go on, and whose statuses accept every item of the phone's
//! (the protocol's own refusals excepted).

use crate::syncml::auth::{decode_nonce, AUTH_MD5};
use crate::syncml::codes::StatusCode;
use crate::syncml::model::{Command, Status};
use crate::syncml::{decode, Message};

/// One Status of a reply, as the report prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub cmd: String,
    /// The message of the phone's the status answers (empty: the one just sent).
    pub msg_ref: String,
    pub cmd_ref: String,
    pub code: u16,
    /// The item the status is about (its SourceRef, else its TargetRef), if any.
    pub item: Option<String>,
}

/// What a reply held.
#[derive(Debug, Clone, Default)]
pub struct ReplyFacts {
    pub statuses: Vec<StatusLine>,
    /// The RespURI the next message of the session goes to.
    pub resp_uri: Option<String>,
    /// The ids of the items the server added, in order.
    pub server_adds: Vec<String>,
    /// The header was refused with an MD5 challenge: its nonce (raw).
    pub md5_challenge: Option<Vec<u8>>,
    /// What is wrong with the reply, in words.
    pub problems: Vec<String>,
}

/// Reads `reply`, the answer to the phone's message `msg_id`, and checks it.
pub fn read_reply(reply: &[u8], msg_id: &str) -> ReplyFacts {
    let message = match decode(reply) {
        Ok(d) => d.message,
        Err(e) => {
            return ReplyFacts {
                problems: vec![format!("the reply does not parse: {e}")],
                ..ReplyFacts::default()
            }
        }
    };
    let mut facts = facts_of(&message);
    facts.problems = problems(&facts.statuses, msg_id);
    facts
}

/// The ids of the items a recorded reply added, in order (nothing when it does not parse).
pub fn recorded_adds(reply: &str) -> Vec<String> {
    decode(reply.as_bytes())
        .map(|d| facts_of(&d.message).server_adds)
        .unwrap_or_default()
}

fn facts_of(message: &Message) -> ReplyFacts {
    let mut facts = ReplyFacts {
        resp_uri: message.header.resp_uri.clone(),
        ..ReplyFacts::default()
    };
    for command in &message.body.commands {
        match command {
            Command::Status(s) => {
                let refused = matches!(
                    s.code,
                    StatusCode::InvalidCredentials | StatusCode::MissingCredentials
                );
                if s.cmd == "SyncHdr" && refused {
                    facts.md5_challenge = md5_nonce(s);
                }
                facts.statuses.push(line_of(s));
            }
            Command::Sync(sync) => {
                for inner in &sync.commands {
                    if let Command::Add(add) = inner {
                        facts.server_adds.extend(
                            add.items
                                .iter()
                                .filter_map(|i| i.source.as_ref())
                                .map(|l| l.loc_uri.clone()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    facts
}

/// The nonce of a status's MD5 challenge.
fn md5_nonce(s: &Status) -> Option<Vec<u8>> {
    let meta = &s.chal.as_ref()?.meta;
    let md5 = meta
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim() == AUTH_MD5);
    md5.then(|| decode_nonce(meta.next_nonce.as_deref().unwrap_or_default()))
}

fn line_of(s: &Status) -> StatusLine {
    StatusLine {
        cmd: s.cmd.clone(),
        msg_ref: s.msg_ref.clone(),
        cmd_ref: s.cmd_ref.clone(),
        code: s.code.code(),
        item: s.source_refs.first().or(s.target_refs.first()).cloned(),
    }
}

/// Whether a status code for the phone's command `cmd` is one the protocol allows to
/// refuse with: 508 asks for a slow sync, deleting what the server never had is 404 or 211.
pub fn acceptable(cmd: &str, code: u16) -> bool {
    // The 1xx and 2xx classes accept.
    if code < 300 {
        return true;
    }
    match cmd {
        "Alert" => code == StatusCode::RefreshRequired.code(),
        "Delete" => code == StatusCode::NotFound.code(),
        _ => false,
    }
}

fn problems(statuses: &[StatusLine], msg_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    match statuses.iter().find(|s| s.cmd == "SyncHdr") {
        None => out.push("the reply has no status for the header".to_owned()),
        Some(h)
            if !matches!(
                StatusCode::from_code(h.code),
                StatusCode::Ok | StatusCode::AuthenticationAccepted
            ) =>
        {
            out.push(format!("the header status is {}, not 200 or 212", h.code));
        }
        Some(_) => {}
    }
    for s in statuses {
        let for_this = s.msg_ref.is_empty() || s.msg_ref == msg_id;
        if s.cmd == "SyncHdr" || !for_this || acceptable(&s.cmd, s.code) {
            continue;
        }
        out.push(format!(
            "{} (command {}/{}){} got {}",
            s.cmd,
            s.msg_ref,
            s.cmd_ref,
            s.item
                .as_deref()
                .map(|i| format!(" of item {i}"))
                .unwrap_or_default(),
            s.code
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cmd: &str, code: u16) -> StatusLine {
        StatusLine {
            cmd: cmd.into(),
            msg_ref: "1".into(),
            cmd_ref: "2".into(),
            code,
            item: Some("7".into()),
        }
    }

    #[test]
    fn only_the_protocols_own_refusals_pass() {
        let ok = [
            line("SyncHdr", 212),
            line("Alert", 508),
            line("Delete", 404),
            line("Delete", 211),
        ];
        assert!(problems(&ok, "1").is_empty());
        let bad = [
            line("SyncHdr", 200),
            line("Add", 400),
            line("Replace", 500),
            line("Alert", 406),
        ];
        assert_eq!(problems(&bad, "1").len(), 3);
        assert_eq!(problems(&[line("SyncHdr", 401)], "1").len(), 1);
    }

    #[test]
    fn statuses_for_other_messages_are_not_checked_here() {
        let mut other = line("Add", 400);
        other.msg_ref = "3".into();
        assert!(problems(&[line("SyncHdr", 200), other], "1").is_empty());
    }

    #[test]
    fn a_reply_that_does_not_parse_is_a_problem() {
        let facts = read_reply(b"<html>no</html>", "1");
        assert_eq!(facts.problems.len(), 1);
    }
}
