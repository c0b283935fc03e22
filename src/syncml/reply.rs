//! Building blocks for answers: the reply header and Status commands.

use crate::syncml::codes::StatusCode;
use crate::syncml::model::{Command, Item, Location, Status, SyncHdr};

/// The header of a reply to `received`: Target and Source swapped (URIs only; the
/// received `LocName` carries a user name and is not echoed), SessionID and versions
/// echoed, our own MsgID.
pub fn reply_header(
    received: &SyncHdr,
    msg_id: impl Into<String>,
    resp_uri: Option<String>,
) -> SyncHdr {
    SyncHdr {
        ver_dtd: received.ver_dtd.clone(),
        ver_proto: received.ver_proto.clone(),
        session_id: received.session_id.clone(),
        msg_id: msg_id.into(),
        target: Location::new(received.source.loc_uri.clone()),
        source: Location::new(received.target.loc_uri.clone()),
        resp_uri,
        ..Default::default()
    }
}

/// A Status with the given references and no optional parts.
pub fn status(
    cmd_id: impl Into<String>,
    msg_ref: impl Into<String>,
    cmd_ref: impl Into<String>,
    cmd: impl Into<String>,
    code: StatusCode,
) -> Status {
    Status {
        cmd_id: cmd_id.into(),
        msg_ref: msg_ref.into(),
        cmd_ref: cmd_ref.into(),
        cmd: cmd.into(),
        target_refs: Vec::new(),
        source_refs: Vec::new(),
        cred: None,
        chal: None,
        code,
        items: Vec::new(),
        extra: Vec::new(),
    }
}

/// The Status for a received header: CmdRef 0, Cmd `SyncHdr`, TargetRef/SourceRef
/// the header's Target/Source URIs.
pub fn header_status(received: &SyncHdr, cmd_id: impl Into<String>, code: StatusCode) -> Status {
    let mut s = status(cmd_id, received.msg_id.clone(), "0", "SyncHdr", code);
    s.target_refs.push(received.target.loc_uri.clone());
    s.source_refs.push(received.source.loc_uri.clone());
    s
}

/// The Status for a whole command of message `msg_ref`; TargetRef/SourceRef echo the
/// addresses the command carried (its items', or a Sync's / Map's own).
pub fn command_status(
    msg_ref: &str,
    cmd: &Command,
    cmd_id: impl Into<String>,
    code: StatusCode,
) -> Status {
    let mut s = status(
        cmd_id,
        msg_ref,
        cmd.cmd_id().unwrap_or("0"),
        cmd.name(),
        code,
    );
    let (targets, sources) = command_refs(cmd);
    s.target_refs = targets;
    s.source_refs = sources;
    s
}

/// The Status for one item of a command (one Status per item, as for Sync changes).
pub fn item_status(
    msg_ref: &str,
    cmd: &Command,
    item: &Item,
    cmd_id: impl Into<String>,
    code: StatusCode,
) -> Status {
    let mut s = status(
        cmd_id,
        msg_ref,
        cmd.cmd_id().unwrap_or("0"),
        cmd.name(),
        code,
    );
    s.target_refs
        .extend(item.target.iter().map(|l| l.loc_uri.clone()));
    s.source_refs
        .extend(item.source.iter().map(|l| l.loc_uri.clone()));
    s
}

fn command_refs(cmd: &Command) -> (Vec<String>, Vec<String>) {
    let items: &[Item] = match cmd {
        Command::Add(c) | Command::Copy(c) | Command::Exec(c) | Command::Move(c) => &c.items,
        Command::Replace(c) => &c.items,
        Command::Alert(c) => &c.items,
        Command::Delete(c) => &c.items,
        Command::Get(c) | Command::Put(c) => &c.items,
        Command::Results(c) => &c.items,
        Command::Status(c) => &c.items,
        Command::Sync(s) => {
            return (
                s.target.iter().map(|l| l.loc_uri.clone()).collect(),
                s.source.iter().map(|l| l.loc_uri.clone()).collect(),
            )
        }
        Command::Map(m) => {
            return (
                vec![m.target.loc_uri.clone()],
                vec![m.source.loc_uri.clone()],
            )
        }
        Command::Atomic(_) | Command::Sequence(_) | Command::Search(_) | Command::Other(_) => &[],
    };
    (
        items
            .iter()
            .filter_map(|i| i.target.as_ref().map(|l| l.loc_uri.clone()))
            .collect(),
        items
            .iter()
            .filter_map(|i| i.source.as_ref().map(|l| l.loc_uri.clone()))
            .collect(),
    )
}
