//! The phone's items (package 3): Add, Replace and Delete read out of its Sync commands,
//! large objects reassembled from their chunks, the changes handed to the datastore's
//! run, and one status per item.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::session_core::{push_status, Answer, SessionCore};
use crate::convert::Format;
use crate::engine::PhoneChange;
use crate::metrics::{Direction, ItemChange};
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::model::{Alert, Command, Data, Item, Location, Meta, Status, Sync};
use crate::syncml::reply::item_status;

/// A large object being received in chunks.
pub struct Partial {
    slot: usize,
    is_add: bool,
    luid: String,
    format: Format,
    declared: Option<u64>,
    data: Vec<u8>,
}

/// One Add or Replace item as the phone sent it.
struct ItemIn<'a> {
    slot: usize,
    is_add: bool,
    luid: String,
    item: &'a Item,
    meta: Declared<'a>,
    format: Format,
}

/// What an item's Meta and its command's Meta declare, field by field: the item's own
/// field wins, a field it lacks is the command's (a Sync4j client puts the type on the
/// command and `b64` on the item).
#[derive(Clone, Copy)]
struct Declared<'a> {
    item: Option<&'a Meta>,
    command: Option<&'a Meta>,
}

impl<'a> Declared<'a> {
    fn of(item: Option<&'a Meta>, command: Option<&'a Meta>) -> Self {
        Declared { item, command }
    }

    fn field<T>(&self, f: impl Fn(&'a Meta) -> Option<T>) -> Option<T> {
        self.item.and_then(&f).or_else(|| self.command.and_then(&f))
    }

    fn content_type(&self) -> Option<&'a str> {
        self.field(|m| m.content_type.as_deref())
    }

    /// The format the declared type and version name, if the type is one we read.
    fn format(&self) -> Option<Format> {
        let version = self.field(|m| m.version.as_deref());
        self.content_type()
            .and_then(|t| Format::from_mime(t, version))
    }

    /// The declared Meta Format (`b64`, `des;b64`...).
    fn item_format(&self) -> Option<&'a str> {
        self.field(|m| m.format.as_deref())
    }

    fn b64(&self) -> bool {
        self.item_format()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("b64"))
    }

    fn size(&self) -> Option<u64> {
        self.field(|m| m.size)
    }
}

impl SessionCore {
    /// Reads the phone's Sync commands: every item applied, one status each. `partial`
    /// is the large object still being received, across messages.
    pub(super) async fn handle_sync(
        &mut self,
        msg_ref: &str,
        cmd: &Command,
        sync: &Sync,
        answer: &mut Answer,
        partial: &mut Option<Partial>,
    ) {
        let Some(slot) = self.slot_for(sync.target.as_ref()) else {
            push_status(answer, msg_ref, cmd, StatusCode::NotFound);
            return;
        };
        push_status(answer, msg_ref, cmd, StatusCode::Ok);
        let default_format = self.slots[slot]
            .run
            .as_ref()
            .map(|r| r.phone_format)
            .unwrap_or(Format::Vcard21);
        // The changes for the run, with the status each one answers with.
        let mut changes: Vec<PhoneChange> = Vec::new();
        let mut templates: Vec<Status> = Vec::new();
        for inner in &sync.commands {
            let (items, cmd_meta, is_add) = match inner {
                Command::Add(c) => (&c.items, c.meta.as_ref(), Some(true)),
                Command::Replace(c) => (&c.items, c.meta.as_ref(), Some(false)),
                Command::Delete(d) => (&d.items, d.meta.as_ref(), None),
                other => {
                    push_status(answer, msg_ref, other, StatusCode::CommandNotImplemented);
                    continue;
                }
            };
            for item in items {
                let mut st = item_status(msg_ref, inner, item, "0", StatusCode::Ok);
                let luid = item
                    .source
                    .as_ref()
                    .or(item.target.as_ref())
                    .map(|l| l.loc_uri.clone())
                    .unwrap_or_default();
                let Some(is_add) = is_add else {
                    changes.push(PhoneChange::Delete { luid });
                    templates.push(st);
                    continue;
                };
                let meta = Declared::of(item.meta.as_ref(), cmd_meta);
                let declared = meta.format();
                let decrypted: Item;
                let item = match self.plain_item(slot, item, meta.item_format(), &luid) {
                    Ok(None) => item,
                    Ok(Some(plain)) => {
                        decrypted = plain;
                        &decrypted
                    }
                    Err(code) => {
                        st.code = code;
                        answer.commands.push(Command::Status(st));
                        continue;
                    }
                };
                let it = ItemIn {
                    slot,
                    is_add,
                    luid,
                    item,
                    meta,
                    format: declared.unwrap_or(default_format),
                };
                match self.read_item(it, partial, answer) {
                    Ok(change) => {
                        if let (
                            Some(_),
                            PhoneChange::Add { format, .. } | PhoneChange::Replace { format, .. },
                        ) = (declared, &change)
                        {
                            self.remember_declared(slot, *format);
                        }
                        changes.push(change);
                        templates.push(st);
                    }
                    Err(code) => {
                        st.code = code;
                        answer.commands.push(Command::Status(st));
                    }
                }
            }
        }
        self.apply_changes(slot, changes, templates, answer).await;
    }

    /// One Add or Replace item: a whole one becomes a change; a chunk is buffered
    /// (`Err(213)`) until the last one. `Err` is the status the item gets now.
    fn read_item(
        &self,
        it: ItemIn<'_>,
        partial: &mut Option<Partial>,
        answer: &mut Answer,
    ) -> Result<PhoneChange, StatusCode> {
        let ItemIn {
            slot,
            mut is_add,
            luid,
            item,
            meta,
            mut format,
        } = it;
        let mut data = item_bytes(item, meta.b64());
        let mut declared = meta.size();
        if let Some(p) = partial.take() {
            if p.luid == luid && p.slot == slot {
                // The first chunk's command, type and size hold for the whole object.
                is_add = p.is_add;
                format = p.format;
                declared = p.declared;
                let mut all = p.data;
                all.extend_from_slice(&data);
                data = all;
                if !item.more_data && p.declared.is_some_and(|d| d != data.len() as u64) {
                    return Err(StatusCode::SizeMismatch);
                }
            } else {
                tracing::info!(device = %self.device, "chunked item not continued");
                answer.commands.push(Command::Alert(Alert {
                    cmd_id: "0".into(),
                    no_resp: false,
                    cred: None,
                    code: AlertCode::NoEndOfData,
                    items: vec![Item {
                        source: Some(Location::new(p.luid)),
                        ..Item::default()
                    }],
                    extra: Vec::new(),
                }));
            }
        }
        // Checked on every chunk, so an object past the bridge's MaxObjSize is refused
        // (and its chunks dropped) as soon as it says or shows so.
        let too_big = |n: u64| self.shared.max_obj_size.is_some_and(|max| n > max);
        if too_big(data.len() as u64) || (item.more_data && declared.is_some_and(too_big)) {
            tracing::info!(device = %self.device, %luid, bytes = data.len(), declared, "item larger than limits.max_object_size refused");
            return Err(StatusCode::RequestedSizeTooBig);
        }
        if item.more_data {
            *partial = Some(Partial {
                slot,
                is_add,
                luid,
                format,
                declared,
                data,
            });
            return Err(StatusCode::ChunkedItemAccepted);
        }
        let settled = crate::convert::sniff::settle(format, &data);
        if settled != format {
            tracing::info!(device = %self.device, luid = %luid, declared = %format, body = %settled,
                "the item's body is not the type it was declared as; read as its body shows");
        }
        let format = settled;
        Ok(if is_add {
            PhoneChange::Add { luid, format, data }
        } else {
            PhoneChange::Replace { luid, format, data }
        })
    }

    /// A device without DevInf is answered in the type it labels its own items with.
    fn remember_declared(&mut self, slot: usize, format: Format) {
        if self.devinf.is_some() || self.url.format.is_some() {
            return;
        }
        let Some(run) = self.slots[slot].run.as_mut() else {
            return;
        };
        if run.declared_format != Some(format) && format.kind() == run.phone_format.kind() {
            run.declared_format = Some(format);
            run.phone_format = format;
        }
    }

    /// Hands the changes to the slot's run and answers each with its status.
    async fn apply_changes(
        &mut self,
        slot: usize,
        changes: Vec<PhoneChange>,
        templates: Vec<Status>,
        answer: &mut Answer,
    ) {
        let Some(run) = self.slots[slot].run.as_mut() else {
            return;
        };
        let n = changes.len();
        let tally: Vec<ItemChange> = changes.iter().map(change_of).collect();
        let statuses = match run.apply_phone_changes(&self.deps, changes).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(device = %self.device, error = %e, "applying the phone's changes failed");
                vec![StatusCode::CommandFailed; n]
            }
        };
        let datastore = run.kind.key();
        for (change, c) in tally.iter().zip(&statuses) {
            if c.code() < 300 {
                self.shared
                    .metrics
                    .items(Direction::FromDevice, datastore, *change, 1);
            }
        }
        for (mut st, c) in templates.into_iter().zip(statuses) {
            st.code = c;
            answer.commands.push(Command::Status(st));
        }
    }
}

fn change_of(c: &PhoneChange) -> ItemChange {
    match c {
        PhoneChange::Add { .. } => ItemChange::Added,
        PhoneChange::Replace { .. } => ItemChange::Replaced,
        PhoneChange::Delete { .. } => ItemChange::Deleted,
    }
}

/// An item's data as bytes, base64-decoded when its Meta says `b64`.
fn item_bytes(item: &Item, b64: bool) -> Vec<u8> {
    let raw = match &item.data {
        Some(Data::Text(t)) => t.as_bytes().to_vec(),
        Some(Data::Binary(b)) => b.clone(),
        _ => Vec::new(),
    };
    if b64 {
        let cleaned: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if let Ok(d) = B64.decode(cleaned) {
            return d;
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(content_type: Option<&str>, format: Option<&str>) -> Meta {
        Meta {
            content_type: content_type.map(Into::into),
            format: format.map(Into::into),
            ..Meta::default()
        }
    }

    #[test]
    fn the_items_meta_wins_field_by_field_over_the_commands() {
        // Sync4j: the type on the command, b64 on the item.
        let (cmd, item) = (meta(Some("text/x-s4j-sifc"), None), meta(None, Some("b64")));
        let d = Declared::of(Some(&item), Some(&cmd));
        assert_eq!(d.format(), Some(Format::Sifc));
        assert!(d.b64());
        // The item's own type beats the command's.
        let item = meta(Some("text/x-s4j-sifn"), None);
        assert_eq!(
            Declared::of(Some(&item), Some(&cmd)).format(),
            Some(Format::Sifn)
        );
        // Nothing declared: the datastore's format decides.
        assert_eq!(Declared::of(None, None).format(), None);
        assert!(!Declared::of(None, Some(&meta(None, Some("bin")))).b64());
    }

    #[test]
    fn b64_data_is_decoded_and_other_data_kept() {
        let item = Item {
            data: Some(Data::Text("PG5vdGUvPg==\n".into())),
            ..Item::default()
        };
        assert_eq!(item_bytes(&item, true), b"<note/>");
        assert_eq!(item_bytes(&item, false), b"PG5vdGUvPg==\n");
    }
}
