//! Commands waiting to go to the phone, packed into messages no larger than its
//! MaxMsgSize (the whole encoded message counts), with Sync containers per datastore and
//! items too large for one message sent in chunks (MoreData).

use std::collections::VecDeque;

use crate::syncml::model::Data;
use crate::syncml::model::{
    Command, Item, ItemCommand, Location, Message, Meta, Sync, SyncBody, SyncHdr,
};
use crate::syncml::{encode_with, CodecError, EncodeOptions};

/// Room kept free for what size estimates cannot see (CmdID digits, escaping).
const MARGIN: usize = 160;

/// Where a datastore's Sync is addressed.
#[derive(Debug, Clone)]
pub struct SyncAddress {
    /// The phone's datastore URI.
    pub target: String,
    /// The server datastore URI as the phone spelled it.
    pub source: String,
    /// How many item commands the whole package holds, for phones that announced
    /// SupportNumberOfChanges (repeated in every message's Sync of the datastore).
    pub number_of_changes: Option<u32>,
}

#[derive(Debug, Clone)]
enum Out {
    Command(Command),
    /// Opens the datastore's Sync even when no item follows.
    SyncOpen(usize),
    /// An item command; `true` for the rest of a chunked item.
    SyncItem(usize, Command, bool),
}

#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Out>,
    pub syncs: Vec<SyncAddress>,
    /// The last message carried nothing queued (the statuses took its room): this one
    /// takes the next command whatever its size, or the phone's "next message" and
    /// the answer of statuses would go back and forth for ever.
    stalled: bool,
}

/// One packed message body.
#[derive(Debug)]
pub struct Packed {
    pub commands: Vec<Command>,
    /// Whether everything queued was packed.
    pub drained: bool,
}

fn set_cmd_id(cmd: &mut Command, id: String) {
    match cmd {
        Command::Add(c) | Command::Copy(c) | Command::Exec(c) | Command::Move(c) => c.cmd_id = id,
        Command::Replace(c) => c.cmd_id = id,
        Command::Alert(c) => c.cmd_id = id,
        Command::Atomic(c) | Command::Sequence(c) => c.cmd_id = id,
        Command::Delete(c) => c.cmd_id = id,
        Command::Get(c) | Command::Put(c) => c.cmd_id = id,
        Command::Map(c) => c.cmd_id = id,
        Command::Results(c) => c.cmd_id = id,
        Command::Search(c) => c.cmd_id = id,
        Command::Status(c) => c.cmd_id = id,
        Command::Sync(c) => c.cmd_id = id,
        Command::Other(_) => {}
    }
}

impl Outbox {
    pub fn push(&mut self, cmd: Command) {
        self.queue.push_back(Out::Command(cmd));
    }

    pub fn open_sync(&mut self, address: SyncAddress) -> usize {
        self.syncs.push(address);
        let i = self.syncs.len() - 1;
        self.queue.push_back(Out::SyncOpen(i));
        i
    }

    pub fn push_item(&mut self, sync: usize, cmd: Command) {
        self.queue.push_back(Out::SyncItem(sync, cmd, false));
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn sync_shell(&self, i: usize) -> Sync {
        let a = &self.syncs[i];
        Sync {
            target: Some(Location::new(a.target.clone())),
            source: Some(Location::new(a.source.clone())),
            number_of_changes: a.number_of_changes,
            ..Sync::default()
        }
    }

    /// Packs as many queued commands as fit in a message of `max_size` bytes with
    /// `header`, after the commands in `first` (the header Status and the like).
    pub fn pack(
        &mut self,
        header: &SyncHdr,
        first: Vec<Command>,
        max_size: usize,
        large_objects: bool,
        opts: &EncodeOptions,
    ) -> Result<Packed, CodecError> {
        let size_of = |cmds: &[Command]| -> Result<usize, CodecError> {
            let msg = Message {
                header: header.clone(),
                body: SyncBody {
                    commands: cmds.to_vec(),
                    final_: true,
                },
                extra: Vec::new(),
            };
            Ok(encode_with(&msg, opts)?.len())
        };
        let mut commands = first;
        let force = self.stalled;
        // Whether the next command must go in even if it does not fit.
        let must_take =
            |commands: &Vec<Command>, took: bool| commands.len() <= 1 || (force && !took);
        let mut took = false;
        let base = size_of(&commands)?;
        let budget = max_size.saturating_sub(MARGIN);
        let mut used = base;
        let mut open_sync: Option<(usize, Sync)> = None;
        let empty_sync = |s: &Sync| -> Result<usize, CodecError> {
            Ok(size_of(&[Command::Sync(s.clone())])?.saturating_sub(size_of(&[])?))
        };
        let empty = size_of(&[])?;
        while let Some(next) = self.queue.pop_front() {
            match next {
                Out::Command(cmd) => {
                    let add = size_of(std::slice::from_ref(&cmd))?.saturating_sub(empty);
                    if used + add > budget && !must_take(&commands, took) {
                        self.queue.push_front(Out::Command(cmd));
                        break;
                    }
                    if let Some((_, s)) = open_sync.take() {
                        commands.push(Command::Sync(s));
                    }
                    used += add;
                    took = true;
                    commands.push(cmd);
                }
                Out::SyncOpen(i) | Out::SyncItem(i, _, _)
                    if open_sync.as_ref().map(|(j, _)| *j) != Some(i) =>
                {
                    let shell = self.sync_shell(i);
                    let add = empty_sync(&shell)?;
                    if used + add > budget && !must_take(&commands, took) {
                        self.queue.push_front(next);
                        break;
                    }
                    if let Some((_, s)) = open_sync.take() {
                        commands.push(Command::Sync(s));
                    }
                    used += add;
                    open_sync = Some((i, shell));
                    if let Out::SyncItem(..) = next {
                        self.queue.push_front(next);
                    }
                }
                Out::SyncOpen(_) => {}
                Out::SyncItem(i, cmd, continuation) => {
                    let add = size_of(std::slice::from_ref(&cmd))?.saturating_sub(empty);
                    if used + add <= budget {
                        used += add;
                        took = true;
                        if let Some((_, s)) = open_sync.as_mut() {
                            s.commands.push(cmd);
                        }
                        continue;
                    }
                    let room = budget.saturating_sub(used);
                    let nothing_yet = open_sync
                        .as_ref()
                        .is_some_and(|(_, s)| s.commands.is_empty());
                    if large_objects && nothing_yet && room > 512 {
                        if let Some((chunk, rest)) =
                            split_item(&cmd, continuation, room, add, &size_of, empty)?
                        {
                            if let Some((_, s)) = open_sync.as_mut() {
                                s.commands.push(chunk);
                            }
                            took = true;
                            self.queue.push_front(Out::SyncItem(i, rest, true));
                            // The next chunk goes in the next message, after the phone's 213.
                            break;
                        }
                    }
                    if nothing_yet && must_take(&commands, took) {
                        // Too large to split: send it alone and let the phone cope.
                        if let Some((_, s)) = open_sync.as_mut() {
                            s.commands.push(cmd);
                        }
                        took = true;
                        continue;
                    }
                    self.queue.push_front(Out::SyncItem(i, cmd, continuation));
                    break;
                }
            }
        }
        if let Some((_, s)) = open_sync.take() {
            commands.push(Command::Sync(s));
        }
        self.stalled = !took && !self.queue.is_empty();
        for (n, c) in commands.iter_mut().enumerate() {
            set_cmd_id(c, (n + 1).to_string());
            if let Command::Sync(s) = c {
                for (m, inner) in s.commands.iter_mut().enumerate() {
                    set_cmd_id(inner, format!("{}", 1000 * (n + 1) + m + 1));
                }
            }
        }
        Ok(Packed {
            commands,
            drained: self.queue.is_empty(),
        })
    }
}

fn item_command(cmd: &Command) -> Option<&ItemCommand> {
    match cmd {
        Command::Add(c) | Command::Replace(c) => Some(c),
        _ => None,
    }
}

fn with_item(cmd: &Command, item: Item) -> Command {
    match cmd {
        Command::Add(c) => Command::Add(ItemCommand {
            items: vec![item],
            ..c.clone()
        }),
        other => Command::Replace(ItemCommand {
            items: vec![item],
            ..item_command(other).cloned().unwrap_or_default()
        }),
    }
}

/// Where to cut `bytes` at or before `at`: on a character boundary for text, and never
/// next to whitespace, which XML readers on phones trim from the edges of a chunk's data
/// (SyncEvolution then counts fewer bytes than the declared size and refuses the item).
/// Where no such point exists before `at`, the character boundary alone.
fn cut_point(bytes: &[u8], at: usize, text: bool) -> usize {
    let boundary = |i: usize| !text || i == 0 || i >= bytes.len() || (bytes[i] & 0xC0) != 0x80;
    let mut plain = at.min(bytes.len());
    while plain > 0 && !boundary(plain) {
        plain -= 1;
    }
    let clean = |i: usize| {
        !bytes[i - 1].is_ascii_whitespace() && bytes.get(i).is_none_or(|b| !b.is_ascii_whitespace())
    };
    (1..=plain)
        .rev()
        .find(|i| boundary(*i) && clean(*i))
        .unwrap_or(plain)
}

/// Splits an Add/Replace whose single item is too large into a first chunk that fits
/// `room` and the rest.
fn split_item(
    cmd: &Command,
    continuation: bool,
    room: usize,
    whole_size: usize,
    size_of: &dyn Fn(&[Command]) -> Result<usize, CodecError>,
    empty: usize,
) -> Result<Option<(Command, Command)>, CodecError> {
    let Some(ic) = item_command(cmd) else {
        return Ok(None);
    };
    let [item] = ic.items.as_slice() else {
        return Ok(None);
    };
    let bytes: Vec<u8> = match &item.data {
        Some(Data::Text(t)) => t.as_bytes().to_vec(),
        Some(Data::Binary(b)) => b.clone(),
        _ => return Ok(None),
    };
    let mut shell = item.clone();
    shell.data = Some(Data::Text(String::new()));
    shell.more_data = true;
    if !continuation {
        let mut meta = shell.meta.clone().unwrap_or_default();
        meta.size = Some(bytes.len() as u64);
        shell.meta = Some(meta);
    }
    let overhead = size_of(&[with_item(cmd, shell.clone())])?.saturating_sub(empty);
    // Data may grow when escaped; leave a tenth spare.
    let mut take = room.saturating_sub(overhead) * 9 / 10;
    if take == 0 || take >= bytes.len() || whole_size <= room {
        return Ok(None);
    }
    take = cut_point(&bytes, take, matches!(item.data, Some(Data::Text(_))));
    if take == 0 {
        return Ok(None);
    }
    let to_data = |b: &[u8]| match &item.data {
        Some(Data::Text(_)) => Data::Text(String::from_utf8_lossy(b).into_owned()),
        _ => Data::Binary(b.to_vec()),
    };
    let mut first = shell;
    first.data = Some(to_data(&bytes[..take]));
    let mut rest = item.clone();
    rest.data = Some(to_data(&bytes[take..]));
    // Meta/Size only on the first chunk; marks the rest as a continuation.
    rest.meta = Some(Meta {
        content_type: item.meta.as_ref().and_then(|m| m.content_type.clone()),
        ..Meta::default()
    });
    // The last chunk carries no MoreData; a rest split again gets it on its first part.
    rest.more_data = false;
    Ok(Some((with_item(cmd, first), with_item(cmd, rest))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syncml::codes::StatusCode;
    use crate::syncml::model::Status;
    use crate::syncml::{Encoding, WbxmlForm};

    fn status(cmd: &str, refs: usize) -> Command {
        Command::Status(Status {
            cmd_id: "1".into(),
            msg_ref: "1".into(),
            cmd_ref: "0".into(),
            cmd: cmd.into(),
            target_refs: (0..refs)
                .map(|i| format!("http://example.org/{i}"))
                .collect(),
            source_refs: Vec::new(),
            cred: None,
            chal: None,
            code: StatusCode::Ok,
            items: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// A phone whose MaxMsgSize leaves no room for an item beside the statuses of its
    /// own "next message" request got empty messages for ever.
    #[test]
    fn an_item_that_never_fits_beside_the_statuses_goes_in_the_next_message_anyway() {
        let mut outbox = Outbox::default();
        let sync = outbox.open_sync(SyncAddress {
            target: "./contacts".into(),
            source: "contacts".into(),
            number_of_changes: None,
        });
        let item = Item {
            source: Some(Location::new("x")),
            data: Some(Data::Text(format!(
                "BEGIN:VCARD\r\nNOTE:{}\r\nEND:VCARD",
                "n".repeat(900)
            ))),
            ..Item::default()
        };
        outbox.push_item(
            sync,
            Command::Add(ItemCommand {
                items: vec![item],
                ..ItemCommand::default()
            }),
        );
        let opts = EncodeOptions {
            encoding: Encoding::Xml,
            wbxml: WbxmlForm::default(),
        };
        let header = SyncHdr::default();
        let mut sent = false;
        for _ in 0..2 {
            // The header's status and a long one for the phone's Alert 222, every time.
            let first = vec![status("SyncHdr", 0), status("Alert", 12)];
            let packed = outbox.pack(&header, first, 1500, false, &opts).unwrap();
            sent |= packed
                .commands
                .iter()
                .any(|c| matches!(c, Command::Sync(s) if !s.commands.is_empty()));
            if packed.drained {
                break;
            }
        }
        assert!(sent, "the item never went");
        assert!(outbox.is_empty());
    }

    #[test]
    fn chunks_are_never_cut_next_to_whitespace_or_inside_a_character() {
        let folded = b"PHOTO:QUJD\r\n QUJD\r\n QUJD";
        for at in 1..folded.len() {
            let cut = cut_point(folded, at, true);
            assert!(cut <= at && cut > 0, "{at} -> {cut}");
            assert!(!folded[cut - 1].is_ascii_whitespace(), "{at} -> {cut}");
            assert!(!folded[cut].is_ascii_whitespace(), "{at} -> {cut}");
        }
        let umlauts = "äöü äöü".as_bytes();
        for at in 1..umlauts.len() {
            let cut = cut_point(umlauts, at, true);
            assert!(
                std::str::from_utf8(&umlauts[..cut]).is_ok(),
                "{at} -> {cut}"
            );
        }
        // Nothing but whitespace before the point: the point itself.
        assert_eq!(cut_point(b"   abc", 2, true), 2);
        // Binary data is cut anywhere but next to whitespace bytes too.
        assert_eq!(cut_point(&[0xC3, 0xA4, 0x80, 0x41], 2, false), 2);
    }
}
