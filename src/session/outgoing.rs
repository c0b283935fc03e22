//! The server's changes (package 4): every datastore's changes turned into Add, Replace
//! and Delete commands in the outbox, within what the phone accepts.

use super::item_formats::encrypt_for_phone;
use super::outbox::SyncAddress;
use super::session_core::{Answer, SessionCore};
use crate::catalog::DatastoreUri;
use crate::engine::ServerChange;
use crate::metrics::{Direction, ItemChange};
use crate::syncml::codes::StatusCode;
use crate::syncml::item_format::FormatChain;
use crate::syncml::model::{Command, Data, Delete, Item, ItemCommand, Location, Meta};

impl SessionCore {
    /// Package 4: every datastore's server changes queued in the outbox.
    pub(super) async fn queue_server_changes(&mut self, max_obj: Option<u64>) -> Queued {
        let mut expects_answer = false;
        let mut unread = Vec::new();
        for i in 0..self.slots.len() {
            let (server_uri, phone_uri) = (
                self.slots[i].server_uri.clone(),
                self.slots[i].phone_uri.clone(),
            );
            let chain = self.outgoing_chain(i);
            let Some(run) = self.slots[i].run.as_mut() else {
                continue;
            };
            // An encrypted or base64 item grows on the way: its plain form must be smaller.
            run.phone_max_obj = match &chain {
                Some(_) => max_obj.map(|m| (m / 4 * 3).saturating_sub(8)),
                None => max_obj,
            };
            let changes = match run.server_changes(&self.deps).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(device = %self.device, datastore = %server_uri, error = %e, "reading the server's changes failed: the phone is told the datastore is unavailable");
                    // No Sync for it: an empty one would say "nothing changed".
                    unread.push(server_uri);
                    continue;
                }
            };
            run.note_sent(&self.deps, &changes);
            if !run.held_back().is_empty() {
                tracing::warn!(device = %self.device, datastore = %server_uri, count = run.held_back().len(), "server items larger than the phone's MaxObjSize were not sent");
            }
            // Each item's own type: a combined SIF calendar sends its tasks as SIF tasks.
            let mimes: Vec<&'static str> = changes
                .iter()
                .map(|c| run.format_of(c).mime_type())
                .collect();
            let datastore = run.kind.key();
            let mut cmds = Vec::with_capacity(changes.len());
            for (c, mime) in changes.into_iter().zip(mimes) {
                expects_answer = true;
                let Some(cmd) = self.server_command(c, mime, chain.as_ref()) else {
                    continue;
                };
                let change = match &cmd {
                    Command::Add(_) => ItemChange::Added,
                    Command::Replace(_) => ItemChange::Replaced,
                    _ => ItemChange::Deleted,
                };
                self.shared
                    .metrics
                    .items(Direction::ToDevice, datastore, change, 1);
                cmds.push(cmd);
            }
            let announce = self
                .devinf
                .as_ref()
                .is_some_and(|d| d.support_number_of_changes);
            let idx = self.outbox.open_sync(SyncAddress {
                target: phone_uri,
                source: server_uri,
                number_of_changes: announce.then(|| u32::try_from(cmds.len()).unwrap_or(u32::MAX)),
            });
            self.slots[i].sync_index = Some(idx);
            for cmd in cmds {
                self.outbox.push_item(idx, cmd);
            }
        }
        Queued {
            expects_answer,
            unread,
        }
    }
}

impl SessionCore {
    /// One server change as the phone's command, its item encrypted (or in base64) when
    /// the phone sends that datastore's items so; `None` when it cannot be.
    fn server_command(
        &self,
        change: ServerChange,
        mime: &str,
        chain: Option<&FormatChain>,
    ) -> Option<Command> {
        let text = |d: Vec<u8>| match chain {
            Some(chain) => encrypt_for_phone(chain, &d, self),
            None => Some(match String::from_utf8(d) {
                Ok(t) => Data::Text(t),
                Err(e) => Data::Binary(e.into_bytes()),
            }),
        };
        let format = chain.map(FormatChain::spelled);
        Some(match change {
            ServerChange::Add { server_id, data } => Command::Add(item_command(
                mime,
                format,
                Item {
                    source: Some(Location::new(server_id)),
                    data: Some(text(data)?),
                    ..Item::default()
                },
            )),
            ServerChange::Replace { luid, data } => Command::Replace(item_command(
                mime,
                format,
                Item {
                    target: Some(Location::new(luid)),
                    data: Some(text(data)?),
                    ..Item::default()
                },
            )),
            ServerChange::Delete { luid } => Command::Delete(Delete {
                cmd_id: "0".into(),
                items: vec![Item {
                    target: Some(Location::new(luid)),
                    ..Item::default()
                }],
                ..Delete::default()
            }),
        })
    }
}

/// What queueing the server's changes came to.
pub(super) struct Queued {
    /// Changes went out that the phone answers (statuses, then a Map for Adds).
    pub expects_answer: bool,
    /// The server URIs of datastores whose upstream changes could not be read.
    pub unread: Vec<String>,
}

/// Marks the phone's Sync of each unread datastore 503 in `answer`, so the phone does not
/// take the session for a success (its anchors stay on both sides).
pub(super) fn report_unread(answer: &mut Answer, unread: &[String]) {
    for uri in unread {
        let mut marked = false;
        for c in answer.commands.iter_mut() {
            if let Command::Status(st) = c {
                let same =
                    |t: &String| DatastoreUri::parse(t).name == DatastoreUri::parse(uri).name;
                if st.cmd == "Sync" && st.target_refs.iter().any(same) {
                    st.code = StatusCode::ServiceUnavailable;
                    marked = true;
                }
            }
        }
        if !marked {
            tracing::warn!(datastore = %uri, "no Sync status in this message to report the upstream failure on");
        }
    }
}

/// An Add or Replace of one item in the phone's format (and Format chain, when the
/// phone encrypts its items).
fn item_command(mime: &str, format: Option<&str>, item: Item) -> ItemCommand {
    ItemCommand {
        cmd_id: "0".into(),
        meta: Some(Meta {
            content_type: Some(mime.to_owned()),
            format: format.map(str::to_owned),
            ..Meta::default()
        }),
        items: vec![item],
        ..ItemCommand::default()
    }
}
