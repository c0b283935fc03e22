//! XML bytes -> element tree.

use super::XmlError;
use crate::syncml::limits::{body_starts, header_done, Budget, DecodeLimits, Scope};
use crate::syncml::tree::{Element, Node, Ns};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::borrow::Cow;

/// MetInf element names; none of them is also a SyncML element name, which is what
/// lets us infer the vocabulary of un-namespaced elements inside `Meta`.
const METINF_NAMES: &[&str] = &[
    "Anchor",
    "EMI",
    "Format",
    "FreeID",
    "FreeMem",
    "Last",
    "Mark",
    "MaxMsgSize",
    "Mem",
    "MetInf",
    "Next",
    "NextNonce",
    "SharedMem",
    "Size",
    "Type",
    "Version",
    "MaxObjSize",
    "FieldLevel",
];

/// Parses a whole document into its root element, within the tree limits (depth and
/// element count).
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    parse_with(bytes, &DecodeLimits::tree_only(), Scope::Whole)
}

/// Parses a document within `limits`; with [`Scope::Header`] it stops once `SyncHdr`
/// is complete and returns a root holding only that. The tree is built on a heap
/// stack, never by recursion.
pub(crate) fn parse_with(
    bytes: &[u8],
    limits: &DecodeLimits,
    scope: Scope,
) -> Result<Element, XmlError> {
    if scope == Scope::Header {
        // Only the bytes before the body are converted and read, so a body in another
        // charset (or not text at all) costs no copy. Should the cut fall inside the
        // header (the word in a LocURI), the whole document is read instead.
        if let Some(at) = find(bytes, b"SyncBody") {
            match parse_text(&bytes[..at], limits, scope) {
                Err(e @ XmlError::Limit { .. }) => return Err(e),
                Err(_) => {}
                done => return done,
            }
        }
    }
    parse_text(bytes, limits, scope)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_text(bytes: &[u8], limits: &DecodeLimits, scope: Scope) -> Result<Element, XmlError> {
    let text = to_utf8(bytes)?;
    let mut budget = Budget::new(limits);
    let mut reader = NsReader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let (declared, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), ev)) => (Some(ns_from_uri(ns.as_ref())), ev),
            Ok((_, ev)) => (None, ev),
            Err(e) => {
                return Err(XmlError::Syntax {
                    position: reader.error_position(),
                    message: e.to_string(),
                })
            }
        };
        match event {
            Event::Start(s) => {
                let el = open(s.local_name().into_inner(), declared, stack.last())?;
                if root.is_some() {
                    return Err(XmlError::TrailingContent { position });
                }
                if body_starts(scope, stack.len() + 1, &el.name) {
                    return stack.into_iter().next().ok_or(XmlError::Empty);
                }
                count(&mut budget, &el, &stack, position)?;
                stack.push(el);
            }
            Event::Empty(s) => {
                let el = open(s.local_name().into_inner(), declared, stack.last())?;
                if body_starts(scope, stack.len() + 1, &el.name) {
                    return stack.into_iter().next().ok_or(XmlError::Empty);
                }
                count(&mut budget, &el, &stack, position)?;
                let done = header_done(scope, stack.len() + 1, &el.name);
                close(el, &mut stack, &mut root, position)?;
                if done {
                    return stack.pop().ok_or(XmlError::Empty);
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(XmlError::Syntax {
                        position,
                        message: "end tag without start tag".into(),
                    });
                };
                let done = header_done(scope, stack.len() + 1, &el.name);
                close(el, &mut stack, &mut root, position)?;
                if done {
                    return stack.pop().ok_or(XmlError::Empty);
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| XmlError::Syntax {
                    position,
                    message: e.to_string(),
                })?;
                push_text(&mut stack, &s, position)?;
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|e| XmlError::Syntax {
                    position,
                    message: e.to_string(),
                })?;
                push_text(&mut stack, s, position)?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.first() {
        return Err(XmlError::Truncated {
            open: stack.last().map_or(&open.name, |e| &e.name).clone(),
        });
    }
    root.ok_or(XmlError::Empty)
}

fn count(
    budget: &mut Budget,
    el: &Element,
    stack: &[Element],
    position: u64,
) -> Result<(), XmlError> {
    budget
        .open(stack, &el.name)
        .map_err(|exceeded| XmlError::Limit { position, exceeded })
}

fn open(local: &[u8], declared: Option<Ns>, parent: Option<&Element>) -> Result<Element, XmlError> {
    let name = std::str::from_utf8(local)
        .map_err(|e| XmlError::Syntax {
            position: 0,
            message: e.to_string(),
        })?
        .to_owned();
    let ns = infer_ns(&name, declared, parent);
    Ok(Element::new(name, ns))
}

/// The vocabulary of an element: an explicit MetInf/DevInf/other namespace wins; a
/// SyncML or missing one is refined from the parent and the element's name.
fn infer_ns(name: &str, declared: Option<Ns>, parent: Option<&Element>) -> Ns {
    if let Some(ns @ (Ns::MetInf | Ns::DevInf | Ns::Other(_))) = declared {
        return ns;
    }
    match parent {
        Some(p) if matches!(p.ns, Ns::MetInf | Ns::DevInf) => p.ns.clone(),
        _ if name == "DevInf" => Ns::DevInf,
        Some(p) if matches!(p.name.as_str(), "Meta" | "Data") && METINF_NAMES.contains(&name) => {
            Ns::MetInf
        }
        _ => Ns::SyncMl,
    }
}

fn ns_from_uri(uri: &[u8]) -> Ns {
    let s = String::from_utf8_lossy(uri);
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("syncml:syncml") {
        Ns::SyncMl
    } else if lower == "syncml:metinf" {
        Ns::MetInf
    } else if lower == "syncml:devinf" {
        Ns::DevInf
    } else {
        Ns::Other(s.into_owned())
    }
}

fn close(
    mut el: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
    position: u64,
) -> Result<(), XmlError> {
    // Indentation between child elements is not content.
    if el.children.iter().any(|n| matches!(n, Node::Element(_))) {
        el.children.retain(|n| match n {
            Node::Text(t) => !t.trim().is_empty(),
            _ => true,
        });
    }
    // A finished element keeps no spare capacity: most have one or two children,
    // and the growth slack would otherwise outweigh them.
    el.children.shrink_to_fit();
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(el));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err(XmlError::TrailingContent { position }),
    }
}

fn push_text(stack: &mut [Element], s: &str, position: u64) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(top) => {
            if let Some(Node::Text(prev)) = top.children.last_mut() {
                prev.push_str(s);
            } else {
                top.children.push(Node::Text(s.to_owned()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError::Syntax {
            position,
            message: "text outside the root element".into(),
        }),
    }
}

/// The document as UTF-8. A declared non-UTF-8 charset is honoured; bytes that are not
/// UTF-8 under a UTF-8 (or no) declaration are read as Windows-1252, the superset of
/// Latin-1 that old phones actually send.
fn to_utf8(bytes: &[u8]) -> Result<Cow<'_, str>, XmlError> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (s, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Ok(s);
    }
    if let Some(label) = declared_encoding(bytes) {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            XmlError::UnknownCharset {
                label: label.clone(),
            }
        })?;
        if enc != encoding_rs::UTF_8 {
            let (s, _) = enc.decode_without_bom_handling(bytes);
            return Ok(s);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) => {
            tracing::debug!("XML body is not UTF-8, reading it as Windows-1252");
            let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Ok(s)
        }
    }
}

/// The `encoding` pseudo-attribute of a leading XML declaration.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encoding_is_found() {
        assert_eq!(
            declared_encoding(b"<?xml version=\"1.0\" encoding='ISO-8859-1'?><a/>"),
            Some("ISO-8859-1".into())
        );
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn header_scope_reads_nothing_past_the_header() {
        let head =
            "<?xml version='1.0' encoding='ISO-8859-1'?><SyncML><SyncHdr><VerDTD>1.2</VerDTD>\
<Source><LocURI>Zürich</LocURI></Source></SyncHdr>";
        let mut doc = encoding_rs::WINDOWS_1252.encode(head).0.into_owned();
        doc.extend_from_slice(b"<SyncBody>");
        doc.extend(std::iter::repeat_n(0xFFu8, 1 << 16));
        let root = parse_with(&doc, &DecodeLimits::default(), Scope::Header).unwrap();
        let hdr = root.child("SyncHdr").unwrap();
        let loc = hdr.child("Source").unwrap().child("LocURI").unwrap();
        assert_eq!(loc.text().as_deref(), Some("Zürich"));
        assert!(root.child("SyncBody").is_none());

        // The word in the header itself: the cut is refused and the whole is read.
        let odd = b"<SyncML><SyncHdr><MsgID>SyncBody</MsgID></SyncHdr><SyncBody/></SyncML>";
        let root = parse_with(odd, &DecodeLimits::default(), Scope::Header).unwrap();
        let id = root.child("SyncHdr").unwrap().child("MsgID").unwrap();
        assert_eq!(id.text().as_deref(), Some("SyncBody"));
    }

    #[test]
    fn metinf_is_inferred_without_namespaces() {
        let root =
            parse(b"<SyncML><Meta><Type>x</Type><Anchor><Next>1</Next></Anchor></Meta></SyncML>")
                .unwrap();
        let meta = root.child("Meta").unwrap();
        assert_eq!(meta.ns, Ns::SyncMl);
        assert_eq!(meta.child("Type").unwrap().ns, Ns::MetInf);
        let next = meta.child("Anchor").unwrap().child("Next").unwrap();
        assert_eq!(next.ns, Ns::MetInf);
    }
}
