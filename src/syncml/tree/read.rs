//! Small helpers shared by the tree -> model readers and model -> tree writers (the
//! message model and DevInf both use them).

use super::{Element, Node, Ns};
use crate::syncml::tree::ModelError;

/// Trimmed text of an element, empty when it has none. Identifiers and codes are
/// compared trimmed because pretty-printed XML surrounds them with whitespace.
pub(crate) fn text(e: &Element) -> String {
    let t = e.text().unwrap_or_default();
    let trimmed = t.trim();
    if trimmed.len() == t.len() {
        t
    } else {
        trimmed.to_owned()
    }
}

pub(crate) fn number<T: std::str::FromStr>(
    e: &Element,
    element: &'static str,
) -> Result<T, ModelError> {
    let t = text(e);
    t.parse()
        .map_err(|_| ModelError::BadNumber { element, value: t })
}

pub(crate) fn required<T>(
    v: Option<T>,
    parent: &'static str,
    name: &'static str,
) -> Result<T, ModelError> {
    v.ok_or(ModelError::Missing { parent, name })
}

/// Builder for a SyncML (code page 0) element.
pub(crate) fn el(name: &str) -> Element {
    Element::new(name, Ns::SyncMl)
}

pub(crate) fn leaf(name: &str, text: impl Into<String>) -> Element {
    Element::leaf(name, Ns::SyncMl, text)
}

/// Append an empty flag element when `set`.
pub(crate) fn push_flag(parent: &mut Element, name: &str, set: bool, ns: Ns) {
    if set {
        parent.children.push(Node::Element(Element::new(name, ns)));
    }
}

pub(crate) fn push_opt(parent: &mut Element, name: &str, v: Option<&str>, ns: Ns) {
    if let Some(v) = v {
        parent
            .children
            .push(Node::Element(Element::leaf(name, ns, v)));
    }
}

pub(crate) fn push_extra(parent: &mut Element, extra: &[Element]) {
    parent
        .children
        .extend(extra.iter().cloned().map(Node::Element));
}
