//! Encoding-specific adjustments made on the element tree between the model and the
//! wire, so the model itself is the same for XML and WBXML:
//!
//! * DevInf: the model holds it inline, typed `application/vnd.syncml-devinf+xml`.
//!   In WBXML it travels as an OPAQUE nested WBXML document and its `Meta/Type`
//!   becomes `...+wbxml`; decoding undoes both.
//! * Binary item data (not UTF-8, or characters XML 1.0 cannot carry): WBXML sends it
//!   as OPAQUE bytes unchanged. XML cannot hold raw bytes, so it is written as base64
//!   and the item's (or Cred's) `Meta/Format` is set to `b64`, which tells the
//!   receiver to decode it. Decoding XML keeps such data as base64 text, the way every
//!   SyncML peer presents `b64` data; only this case is not an exact round trip.

use crate::syncml::limits::{DecodeLimits, Scope};
use crate::syncml::model::{Version, DEVINF_WBXML_TYPE, DEVINF_XML_TYPE};
use crate::syncml::tree::{Element, Node, Ns};
use crate::syncml::wbxml::{self, PublicId, WbxmlDocument, WbxmlError};
use base64::Engine;

/// Rewrites every MetInf `Type` equal to `from` (case-insensitive) to `to`.
pub(crate) fn rewrite_devinf_type(e: &mut Element, from: &str, to: &str) {
    if e.name == "Type" && e.ns == Ns::MetInf {
        if e.text()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(from))
        {
            e.children = vec![Node::Text(to.to_owned())];
        }
        return;
    }
    for c in e.elements_mut() {
        rewrite_devinf_type(c, from, to);
    }
}

/// True when `bytes` start like a WBXML DevInf document (numeric or FPI public id).
fn looks_like_wbxml_devinf(bytes: &[u8]) -> bool {
    fn mb_u32(b: &[u8], at: &mut usize) -> Option<u32> {
        let mut v: u32 = 0;
        for _ in 0..5 {
            let byte = *b.get(*at)?;
            *at += 1;
            v = v.checked_shl(7)? | u32::from(byte & 0x7F);
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    if !matches!(bytes.first(), Some(1..=3)) {
        return false;
    }
    let mut at = 1;
    match mb_u32(bytes, &mut at) {
        Some(0x0FD2 | 0x0FD4 | 0x1203) => true,
        Some(0) => {
            let (Some(_index), Some(_charset), Some(len)) = (
                mb_u32(bytes, &mut at),
                mb_u32(bytes, &mut at),
                mb_u32(bytes, &mut at),
            ) else {
                return false;
            };
            let end = at.saturating_add(len as usize).min(bytes.len());
            bytes[at..end].windows(6).any(|w| w == b"DevInf")
        }
        _ => false,
    }
}

/// After WBXML decoding: nested DevInf documents become inline elements, decoded
/// within what `limits` leave below the `Data` element that holds them, so the
/// combined tree stays within `limits.max_depth`.
pub(crate) fn inline_devinf(e: &mut Element, limits: &DecodeLimits) {
    inline_devinf_at(e, limits, 1);
}

fn inline_devinf_at(e: &mut Element, limits: &DecodeLimits, depth: usize) {
    if e.name == "Data" && e.ns == Ns::SyncMl {
        if let [Node::Opaque(bytes)] = e.children.as_slice() {
            if looks_like_wbxml_devinf(bytes) {
                let nested = DecodeLimits {
                    max_depth: limits.max_depth.saturating_sub(depth),
                    ..*limits
                };
                match wbxml::decode_with(bytes, &nested, Scope::Whole) {
                    Ok(doc) => e.children = vec![Node::Element(doc.root)],
                    Err(err) => {
                        tracing::warn!(error = %err, "nested DevInf is not valid WBXML, kept as bytes")
                    }
                }
            }
        }
        return;
    }
    for c in e.elements_mut() {
        inline_devinf_at(c, limits, depth + 1);
    }
    rewrite_devinf_type(e, DEVINF_WBXML_TYPE, DEVINF_XML_TYPE);
}

/// Before WBXML encoding: inline DevInf becomes a nested WBXML document, announced
/// with the same public-id form as the message.
pub(crate) fn embed_devinf(
    e: &mut Element,
    wbxml_version: u8,
    fpi: bool,
) -> Result<(), WbxmlError> {
    if e.name == "Data" && e.ns == Ns::SyncMl {
        if let [Node::Element(d)] = e.children.as_slice() {
            if d.name == "DevInf" {
                let version = d
                    .child("VerDTD")
                    .and_then(|v| Version::from_dtd(&crate::syncml::tree::read::text(v)))
                    .unwrap_or(Version::V1_2);
                let public_id = if fpi {
                    PublicId::Fpi(version.devinf_fpi().to_owned())
                } else {
                    PublicId::Numeric(version.devinf_public_id())
                };
                let doc = WbxmlDocument {
                    version: wbxml_version,
                    public_id,
                    charset: 106,
                    root: d.clone(),
                };
                e.children = vec![Node::Opaque(wbxml::encode(&doc)?)];
            }
        }
        return Ok(());
    }
    for c in e.elements_mut() {
        embed_devinf(c, wbxml_version, fpi)?;
    }
    rewrite_devinf_type(e, DEVINF_XML_TYPE, DEVINF_WBXML_TYPE);
    Ok(())
}

fn needs_base64(data: &Element) -> bool {
    data.children.iter().any(|n| match n {
        Node::Opaque(b) => match std::str::from_utf8(b) {
            Ok(s) => !s.chars().all(crate::syncml::xml::is_xml_char),
            Err(_) => true,
        },
        Node::Text(t) => !t.chars().all(crate::syncml::xml::is_xml_char),
        Node::Element(_) => false,
    })
}

/// Before XML encoding: binary `Data` of items and credentials becomes base64 text
/// with `Format` b64 in the sibling `Meta`.
pub(crate) fn base64_binary_data(e: &mut Element) {
    if matches!(e.name.as_str(), "Item" | "Cred") && e.ns == Ns::SyncMl {
        let Some(data) = e.child_mut("Data") else {
            return;
        };
        if !needs_base64(data) {
            return;
        }
        let mut raw = Vec::new();
        for n in &data.children {
            match n {
                Node::Opaque(b) => raw.extend_from_slice(b),
                Node::Text(t) => raw.extend_from_slice(t.as_bytes()),
                Node::Element(_) => {}
            }
        }
        data.children = vec![Node::Text(
            base64::engine::general_purpose::STANDARD.encode(raw),
        )];
        set_format_b64(e);
        return;
    }
    for c in e.elements_mut() {
        base64_binary_data(c);
    }
}

fn set_format_b64(holder: &mut Element) {
    let format = Element::leaf("Format", Ns::MetInf, "b64");
    if let Some(meta) = holder.child_mut("Meta") {
        match meta.child_mut("Format") {
            Some(f) => f.children = vec![Node::Text("b64".into())],
            None => meta.children.insert(0, Node::Element(format)),
        }
        return;
    }
    let mut meta = Element::new("Meta", Ns::SyncMl);
    meta.push(format);
    let at = holder
        .children
        .iter()
        .position(|n| matches!(n, Node::Element(c) if c.name == "Data"))
        .unwrap_or(holder.children.len());
    holder.children.insert(at, Node::Element(meta));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devinf_headers_are_recognised() {
        assert!(looks_like_wbxml_devinf(&[0x02, 0x9F, 0x54, 0x6A, 0x00]));
        assert!(looks_like_wbxml_devinf(&[0x02, 0xA4, 0x03, 0x6A, 0x00]));
        let mut fpi = vec![0x02, 0x00, 0x00, 0x6A, 0x1D];
        fpi.extend_from_slice(b"-//SYNCML//DTD DevInf 1.1//EN");
        assert!(looks_like_wbxml_devinf(&fpi));
        assert!(!looks_like_wbxml_devinf(&[0x02, 0x9F, 0x53, 0x6A, 0x00]));
        assert!(!looks_like_wbxml_devinf(b"BEGIN:VCARD"));
        assert!(!looks_like_wbxml_devinf(&[
            0x02, 0x80, 0x80, 0x80, 0x80, 0x80
        ]));
    }

    #[test]
    fn binary_item_data_gets_b64_format() {
        let mut item = Element::new("Item", Ns::SyncMl);
        let mut data = Element::new("Data", Ns::SyncMl);
        data.children.push(Node::Opaque(vec![0xff, 0x00, 0x41]));
        item.push(data);
        base64_binary_data(&mut item);
        let meta = item.child("Meta").unwrap();
        assert_eq!(meta.child("Format").unwrap().text().as_deref(), Some("b64"));
        assert_eq!(item.child("Data").unwrap().text().as_deref(), Some("/wBB"));
        // Meta comes before Data, as the DTD orders them.
        assert_eq!(item.elements().next().unwrap().name, "Meta");
    }
}
