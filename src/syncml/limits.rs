//! Bounds on what one decoded message may hold. Both decoders check them while the
//! element tree is built, so hostile input is refused before it costs stack or memory.
//!
//! Everything that walks a decoded tree or model recursively (clone, drop, the model
//! readers and writers, DevInf, item counting in the session) relies on the depth bound
//! checked here: no decoded tree is deeper than [`DecodeLimits::max_depth`].

use crate::syncml::model::is_command_name;
use crate::syncml::tree::Element;

/// Deepest element nesting accepted (root = 1). SyncML needs about ten levels;
/// Atomic/Sequence nesting and DevInf add a few.
pub const MAX_DEPTH: usize = 64;
/// Most commands nested inside one another (Atomic, Sequence, Sync). Phones nest
/// two (a Sync inside an Atomic); the typed model is read and written recursively
/// over this nesting, at a few kilobytes of stack per level.
pub const MAX_NESTING: usize = 8;
/// Highest command nesting a configuration may allow: decoding, encoding, cloning
/// and comparing a message this deep fits a 2 MiB thread stack (Tokio's default) even
/// in an unoptimised build.
pub const MAX_CONFIGURABLE_NESTING: usize = 16;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 200_000;
/// Most items in item commands accepted in one message by callers that pass no limits
/// of their own: twice the default `limits.max_items_per_message`.
pub const MAX_ITEMS: usize = 2_000;
/// Most commands (nested ones included) accepted in one message by default.
pub const MAX_COMMANDS: usize = COMMANDS_PER_ITEM * MAX_ITEMS + BASE_COMMANDS;

/// Commands a message may carry besides its item commands (Status, Alert, Map, Put,
/// Get, Results...), per item allowed; a reply acknowledges every command with a
/// Status, so a phone's message may hold about one command per item we sent.
const COMMANDS_PER_ITEM: usize = 4;
/// Commands allowed whatever the item limit, for the session's own bookkeeping.
const BASE_COMMANDS: usize = 256;
/// Elements per command: a Status with references and an item, or an item command
/// with Meta, Source, Target and Data, take about ten.
const ELEMENTS_PER_COMMAND: usize = 12;
/// Elements allowed whatever the command limit: the header and a large DevInf.
const BASE_ELEMENTS: usize = 16_384;

/// Bounds for one decode. [`Default`] is [`DecodeLimits::for_items`] of [`MAX_ITEMS`];
/// a server passes its own (`LimitsConfig::decode_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Deepest element nesting (root = 1).
    pub max_depth: usize,
    /// Most commands nested inside one another (Atomic, Sequence, Sync).
    pub max_nesting: usize,
    /// Most elements in the document, nested DevInf documents counted separately.
    pub max_elements: usize,
    /// Most commands in the body, commands inside Sync, Atomic and Sequence included.
    pub max_commands: usize,
    /// Most `Item`s in Add, Copy, Move, Replace and Delete commands.
    pub max_items: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::for_items(MAX_ITEMS)
    }
}

impl DecodeLimits {
    /// Only the tree bounds (depth, element count), for the codecs used on their own
    /// on documents that need not be SyncML messages.
    pub(crate) fn tree_only() -> Self {
        DecodeLimits {
            max_depth: MAX_DEPTH,
            max_nesting: usize::MAX,
            max_elements: MAX_ELEMENTS,
            max_commands: usize::MAX,
            max_items: usize::MAX,
        }
    }

    /// Limits for a server that accepts at most `max_items` items per message
    /// (`limits.max_items_per_message`): commands and elements are bounded in
    /// proportion, so the decoded size follows the item limit, not the body size.
    pub fn for_items(max_items: usize) -> Self {
        let max_commands = max_items
            .saturating_mul(COMMANDS_PER_ITEM)
            .saturating_add(BASE_COMMANDS);
        DecodeLimits {
            max_depth: MAX_DEPTH,
            max_nesting: MAX_NESTING,
            max_elements: max_commands
                .saturating_mul(ELEMENTS_PER_COMMAND)
                .saturating_add(BASE_ELEMENTS)
                .min(MAX_ELEMENTS),
            max_commands,
            max_items,
        }
    }
}

/// Which limit a document exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("elements nest deeper than {limit} levels")]
    Depth { limit: usize },
    #[error("commands nest deeper than {limit} levels")]
    Nesting { limit: usize },
    #[error("more than {limit} elements")]
    Elements { limit: usize },
    #[error("more than {limit} commands")]
    Commands { limit: usize },
    #[error("more than {limit} items in item commands")]
    Items { limit: usize },
}

/// Commands that hold commands.
const CONTAINERS: &[&str] = &["Sync", "Atomic", "Sequence"];
/// Commands whose `Item`s count against the item limit, as the session counts them.
const ITEM_COMMANDS: &[&str] = &["Add", "Copy", "Move", "Replace", "Delete"];

/// The running count of one decode, fed every element as it opens.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: DecodeLimits,
    elements: usize,
    commands: usize,
    items: usize,
}

impl Budget {
    pub(crate) fn new(limits: &DecodeLimits) -> Self {
        Budget {
            limits: *limits,
            elements: 0,
            commands: 0,
            items: 0,
        }
    }

    pub(crate) fn max_depth(&self) -> usize {
        self.limits.max_depth
    }

    /// Accounts for an element named `name` opening below `ancestors` (root first).
    pub(crate) fn open(&mut self, ancestors: &[Element], name: &str) -> Result<(), LimitExceeded> {
        let l = &self.limits;
        let depth = ancestors.len() + 1;
        if depth > l.max_depth {
            return Err(LimitExceeded::Depth { limit: l.max_depth });
        }
        self.elements += 1;
        if self.elements > l.max_elements {
            return Err(LimitExceeded::Elements {
                limit: l.max_elements,
            });
        }
        let Some(parent) = ancestors.last().map(|p| p.name.as_str()) else {
            return Ok(());
        };
        // Every child of SyncBody but Final becomes a command of the model, unknown
        // ones included; inside containers unknown children are kept as extras.
        let command = if parent == "SyncBody" {
            name != "Final"
        } else {
            is_command_name(name) && CONTAINERS.contains(&parent)
        };
        if command {
            self.commands += 1;
            if self.commands > l.max_commands {
                return Err(LimitExceeded::Commands {
                    limit: l.max_commands,
                });
            }
            if CONTAINERS.contains(&name) {
                let outer = ancestors
                    .iter()
                    .filter(|a| CONTAINERS.contains(&a.name.as_str()))
                    .count();
                if outer >= l.max_nesting {
                    return Err(LimitExceeded::Nesting {
                        limit: l.max_nesting,
                    });
                }
            }
        } else if name == "Item" && ITEM_COMMANDS.contains(&parent) {
            self.items += 1;
            if self.items > l.max_items {
                return Err(LimitExceeded::Items { limit: l.max_items });
            }
        }
        Ok(())
    }
}

/// How much of a message to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The whole document.
    Whole,
    /// Up to the end of `SyncHdr`; the body is not read.
    Header,
}

/// Whether an element `opened` at `depth` starts the body, which a header-only decode
/// does not read: `SyncHdr` comes first in every valid message.
pub(crate) fn body_starts(scope: Scope, depth: usize, opened: &str) -> bool {
    scope == Scope::Header && depth == 2 && opened == "SyncBody"
}

/// Whether `closed`, just completed at `depth` (root = 1), ends what `scope` asks for.
pub(crate) fn header_done(scope: Scope, depth: usize, closed: &str) -> bool {
    scope == Scope::Header && depth == 2 && closed == "SyncHdr"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syncml::tree::Ns;

    #[test]
    fn item_limit_scales_commands_and_elements() {
        let l = DecodeLimits::for_items(1000);
        assert_eq!(l.max_items, 1000);
        assert_eq!(l.max_commands, 4256);
        assert!(l.max_elements <= MAX_ELEMENTS);
        assert_eq!(DecodeLimits::for_items(usize::MAX).max_depth, MAX_DEPTH);
    }

    #[test]
    fn budget_counts_commands_and_items_where_they_belong() {
        let limits = DecodeLimits {
            max_depth: 4,
            max_nesting: 1,
            max_elements: 100,
            max_commands: 3,
            max_items: 1,
        };
        let path = |names: &[&str]| -> Vec<Element> {
            names.iter().map(|n| Element::new(*n, Ns::SyncMl)).collect()
        };
        let mut b = Budget::new(&limits);
        b.open(&path(&["SyncML", "SyncBody"]), "Add").unwrap();
        b.open(&path(&["SyncML", "SyncBody", "Add"]), "Item")
            .unwrap();
        // An Alert's items and a command name inside an item are not counted.
        b.open(&path(&["SyncML", "SyncBody", "Alert"]), "Item")
            .unwrap();
        b.open(&path(&["SyncML", "SyncBody", "Item"]), "Add")
            .unwrap();
        assert_eq!(
            b.open(&path(&["SyncML", "SyncBody", "Replace"]), "Item"),
            Err(LimitExceeded::Items { limit: 1 })
        );
        b.open(&path(&["SyncML", "SyncBody"]), "Sync").unwrap();
        assert_eq!(
            b.open(&path(&["SyncML", "SyncBody", "Sync"]), "Atomic"),
            Err(LimitExceeded::Nesting { limit: 1 })
        );
        assert_eq!(
            b.open(&path(&["SyncML", "SyncBody"]), "Status"),
            Err(LimitExceeded::Commands { limit: 3 })
        );
        assert_eq!(
            b.open(&path(&["a", "b", "c", "d"]), "x"),
            Err(LimitExceeded::Depth { limit: 4 })
        );
    }

    const HDR: &str = "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>\
<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target>\
<Source><LocURI>d</LocURI></Source></SyncHdr>";

    /// A message whose body nests `depth` `open` elements, each with a CmdID.
    fn nested_xml(open: &str, depth: usize) -> Vec<u8> {
        let mut s = format!("<SyncML>{HDR}<SyncBody>");
        for _ in 0..depth {
            s.push_str(&format!("<{open}><CmdID>1</CmdID>"));
        }
        for _ in 0..depth {
            s.push_str(&format!("</{open}>"));
        }
        s.push_str("<Final/></SyncBody></SyncML>");
        s.into_bytes()
    }

    fn refused_for_depth(bytes: &[u8]) {
        let err = crate::syncml::decode(bytes).unwrap_err();
        assert!(
            matches!(
                err.limit_exceeded(),
                Some(
                    LimitExceeded::Depth { limit: MAX_DEPTH }
                        | LimitExceeded::Nesting { limit: MAX_NESTING }
                )
            ),
            "{err}"
        );
        let err = crate::syncml::decode_header(bytes).map(|_| ());
        assert!(err.is_ok(), "the header alone is within the limits");
    }

    #[test]
    fn xml_nesting_ten_and_a_thousand_times_the_limit_is_refused() {
        for depth in [10 * MAX_DEPTH, 1000 * MAX_DEPTH] {
            for open in ["Atomic", "Sequence", "Sync", "Unknown", "Meta"] {
                refused_for_depth(&nested_xml(open, depth));
            }
        }
    }

    #[test]
    fn wbxml_nesting_ten_and_a_thousand_times_the_limit_is_refused() {
        // SyncML 1.2, UTF-8, no string table; SyncML, SyncBody, then Atomic (0x08) or
        // Sequence (0x24) tags with content, never closed.
        for tag in [0x48u8, 0x64] {
            for depth in [10 * MAX_DEPTH, 1000 * MAX_DEPTH] {
                let mut bytes = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6B];
                bytes.extend(std::iter::repeat_n(tag, depth));
                let err = crate::syncml::decode(&bytes).unwrap_err();
                assert_eq!(
                    err.limit_exceeded(),
                    Some(LimitExceeded::Nesting { limit: MAX_NESTING }),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn deepest_accepted_nesting_decodes_encodes_and_drops() {
        let bytes = nested_xml("Atomic", MAX_NESTING);
        let decoded = crate::syncml::decode(&bytes).unwrap();
        let mut depth = 0;
        let mut cmds = &decoded.message.body.commands;
        while let Some(crate::syncml::model::Command::Atomic(c)) = cmds.first() {
            depth += 1;
            cmds = &c.commands;
        }
        assert_eq!(depth, MAX_NESTING);
        let wbxml =
            crate::syncml::encode(&decoded.message, crate::syncml::Encoding::Wbxml).unwrap();
        assert_eq!(
            crate::syncml::decode(&wbxml).unwrap().message,
            decoded.message
        );
        refused_for_depth(&nested_xml("Atomic", MAX_NESTING + 1));
        // Unknown elements nest up to the element depth limit: SyncML, SyncBody, then
        // wrappers whose innermost CmdID sits at MAX_DEPTH.
        let deepest = nested_xml("Unknown", MAX_DEPTH - 3);
        let decoded = crate::syncml::decode(&deepest).unwrap();
        let xml = crate::syncml::encode(&decoded.message, crate::syncml::Encoding::Xml).unwrap();
        assert_eq!(
            crate::syncml::decode(&xml).unwrap().message,
            decoded.message
        );
        refused_for_depth(&nested_xml("Unknown", MAX_DEPTH - 2));
    }

    #[test]
    fn the_highest_configurable_nesting_fits_a_small_stack() {
        let limits = DecodeLimits {
            max_nesting: MAX_CONFIGURABLE_NESTING,
            ..DecodeLimits::default()
        };
        let bytes = nested_xml("Atomic", MAX_CONFIGURABLE_NESTING);
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let decoded = crate::syncml::decode_with(&bytes, &limits).unwrap();
                let copy = decoded.message.clone();
                assert_eq!(copy, decoded.message);
                for encoding in [crate::syncml::Encoding::Xml, crate::syncml::Encoding::Wbxml] {
                    let encoded = crate::syncml::encode(&copy, encoding).unwrap();
                    let again = crate::syncml::decode_with(&encoded, &limits).unwrap();
                    assert_eq!(again.message, copy);
                }
            })
            .unwrap();
        assert!(worker.join().is_ok());
    }

    #[test]
    fn many_unknown_elements_are_refused_by_count() {
        let limits = DecodeLimits::for_items(1000);
        let message = |body: String| format!("<SyncML>{HDR}<SyncBody>{body}</SyncBody></SyncML>");
        // Unknown children of SyncBody are commands of the model.
        let flat = message("<x/>".repeat(10 * limits.max_commands));
        let err = crate::syncml::decode_with(flat.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.limit_exceeded(),
            Some(LimitExceeded::Commands {
                limit: limits.max_commands
            }),
            "{err}"
        );
        // Inside one command they are elements.
        let inside = message(format!(
            "<Add><CmdID>1</CmdID>{}</Add>",
            "<x/>".repeat(10 * limits.max_elements)
        ));
        let err = crate::syncml::decode_with(inside.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.limit_exceeded(),
            Some(LimitExceeded::Elements {
                limit: limits.max_elements
            }),
            "{err}"
        );
    }

    #[test]
    fn items_past_the_limit_are_refused_while_decoding() {
        let limits = DecodeLimits::for_items(10);
        let add = "<Add><CmdID>1</CmdID><Item><Data>x</Data></Item></Add>";
        let message = |n: usize| {
            format!(
                "<SyncML>{HDR}<SyncBody>{}</SyncBody></SyncML>",
                add.repeat(n)
            )
        };
        assert!(crate::syncml::decode_with(message(10).as_bytes(), &limits).is_ok());
        let err = crate::syncml::decode_with(message(11).as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.limit_exceeded(),
            Some(LimitExceeded::Items { limit: 10 })
        );
        let wbxml = crate::syncml::encode(
            &crate::syncml::decode(message(11).as_bytes())
                .unwrap()
                .message,
            crate::syncml::Encoding::Wbxml,
        )
        .unwrap();
        let err = crate::syncml::decode_with(&wbxml, &limits).unwrap_err();
        assert_eq!(
            err.limit_exceeded(),
            Some(LimitExceeded::Items { limit: 10 })
        );
        let alerts = format!(
            "<SyncML>{HDR}<SyncBody>{}</SyncBody></SyncML>",
            "<Alert><CmdID>1</CmdID><Data>200</Data></Alert>".repeat(limits.max_commands + 1)
        );
        let err = crate::syncml::decode_with(alerts.as_bytes(), &limits).unwrap_err();
        assert_eq!(
            err.limit_exceeded(),
            Some(LimitExceeded::Commands {
                limit: limits.max_commands
            })
        );
    }
}
