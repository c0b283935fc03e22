//! Element tree -> XML bytes.

use crate::syncml::tree::{Element, Node, Ns};
use base64::Engine;

/// Writes `root` as a UTF-8 document. `syncml_ns` is the namespace URI for SyncML
/// elements (`SYNCML:SYNCML1.x`, by version). Each vocabulary change sets a default
/// namespace on the element where it happens: `SyncML`, the MetInf elements under
/// `Meta`, an inline `DevInf`.
///
/// Text is escaped; text that contains markup characters goes into CDATA (split at
/// `]]>`), as item payloads such as vCards with `<` or `&` read better that way.
/// Characters XML 1.0 cannot carry become U+FFFD: callers that need them intact
/// (item data) must base64-encode first. Opaque bytes that are not UTF-8 are written
/// as base64 for the same reason.
pub fn write(root: &Element, syncml_ns: &str) -> Vec<u8> {
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_element(&mut out, root, None, syncml_ns);
    out.into_bytes()
}

fn ns_uri<'a>(ns: &'a Ns, syncml_ns: &'a str) -> &'a str {
    match ns {
        Ns::SyncMl => syncml_ns,
        Ns::MetInf => "syncml:metinf",
        Ns::DevInf => "syncml:devinf",
        Ns::Other(u) => u,
    }
}

fn write_element(out: &mut String, e: &Element, parent_ns: Option<&Ns>, syncml_ns: &str) {
    out.push('<');
    out.push_str(&e.name);
    if parent_ns != Some(&e.ns) {
        out.push_str(" xmlns=\"");
        escape_into(out, ns_uri(&e.ns, syncml_ns), true);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for n in &e.children {
        match n {
            Node::Element(c) => write_element(out, c, Some(&e.ns), syncml_ns),
            Node::Text(t) => write_text(out, t),
            Node::Opaque(b) => match std::str::from_utf8(b) {
                Ok(t) => write_text(out, t),
                Err(_) => out.push_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            },
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn write_text(out: &mut String, t: &str) {
    if t.contains(['<', '&']) {
        out.push_str("<![CDATA[");
        let mut rest = t;
        while let Some(i) = rest.find("]]>") {
            // End the section between "]]" and ">" and reopen it.
            push_xml_chars(out, &rest[..i + 2]);
            out.push_str("]]><![CDATA[");
            rest = &rest[i + 2..];
        }
        push_xml_chars(out, rest);
        out.push_str("]]>");
    } else {
        escape_into(out, t, false);
    }
}

/// True for characters XML 1.0 allows in content.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn push_xml_chars(out: &mut String, s: &str) {
    if s.chars().all(is_xml_char) {
        out.push_str(s);
    } else {
        out.extend(
            s.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' }),
        );
    }
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '<' => "&lt;",
            '>' => "&gt;",
            '&' => "&amp;",
            '"' if attr => "&quot;",
            c if !is_xml_char(c) => "\u{FFFD}",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_is_split_at_its_terminator() {
        let mut out = String::new();
        write_text(&mut out, "a<b]]>c");
        assert_eq!(out, "<![CDATA[a<b]]]]><![CDATA[>c]]>");
        let back = crate::syncml::xml::parse(format!("<Data>{out}</Data>").as_bytes()).unwrap();
        assert_eq!(back.text().as_deref(), Some("a<b]]>c"));
    }

    #[test]
    fn plain_text_is_escaped() {
        let mut out = String::new();
        write_text(&mut out, "x > y\u{1}");
        assert_eq!(out, "x &gt; y\u{FFFD}");
    }
}
