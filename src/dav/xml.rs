//! A small namespace-resolved element tree for the upstream's XML answers. Prefixes
//! are resolved away, so `D:href`, `d:href` and a default-namespace `href` are equal.
//! Text is kept exactly as sent (entities decoded, line ends untouched), which keeps
//! `address-data` and `calendar-data` byte-exact.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const DAV: &str = "DAV:";
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CALSERVER: &str = "http://calendarserver.org/ns/";

/// Nesting deeper than this is refused rather than followed.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The value of an attribute by its local name (attributes here are unqualified).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element's text with surrounding whitespace removed, for names and tokens.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Why a body could not be read as XML; the caller adds the URL.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

/// Parses a whole document into its root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let text =
        std::str::from_utf8(body).map_err(|e| XmlError(format!("body is not UTF-8: {e}")))?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(XmlError(format!(
                    "at byte {}: {e}",
                    reader.buffer_position()
                )))
            }
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(XmlError("content after the root element".into()));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError(format!("nesting deeper than {MAX_DEPTH}")));
                }
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| XmlError(format!("bad attribute: {e}")))?;
                    let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
                    let value = attr
                        .unescape_value()
                        .map_err(|e| XmlError(format!("bad attribute value: {e}")))?;
                    attrs.push((key, value.into_owned()));
                }
                let element = Element {
                    ns: namespace(&ns),
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    attrs,
                    text: String::new(),
                    children: Vec::new(),
                };
                if matches!(event, Event::Empty(_)) {
                    close(element, &mut stack, &mut root);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                // quick-xml has already checked that the end tag matches its start.
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError("end tag without a start".into()))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .unescape()
                        .map_err(|e| XmlError(format!("bad text: {e}")))?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    let raw = c.into_inner();
                    let s = std::str::from_utf8(&raw)
                        .map_err(|e| XmlError(format!("CDATA is not UTF-8: {e}")))?;
                    top.text.push_str(s);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError("document ends inside an element".into()));
    }
    root.ok_or_else(|| XmlError("no root element".into()))
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn namespace(ns: &ResolveResult) -> String {
    match ns {
        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
        // An undeclared prefix is tolerated: its elements simply match no known name.
        ResolveResult::Unbound | ResolveResult::Unknown(_) => String::new(),
    }
}

/// Escapes text for an element body or attribute value.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_resolve_to_namespaces() {
        let doc = br#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:x="urn:ietf:params:xml:ns:carddav">
  <response><href>/a/</href><x:address-data>BEGIN:VCARD&#13;
END:VCARD&#13;
</x:address-data></response>
</multistatus>"#;
        let root = parse(doc).unwrap();
        assert!(root.is(DAV, "multistatus"));
        let resp = root.child(DAV, "response").unwrap();
        assert_eq!(resp.child(DAV, "href").unwrap().trimmed(), "/a/");
        assert_eq!(
            resp.child(CARDDAV, "address-data").unwrap().text,
            "BEGIN:VCARD\r\nEND:VCARD\r\n"
        );
    }

    #[test]
    fn raw_crlf_and_cdata_are_kept() {
        let doc = b"<d:a xmlns:d=\"DAV:\"><d:b>x\r\ny</d:b><d:c><![CDATA[<&>\r\n]]></d:c></d:a>";
        let root = parse(doc).unwrap();
        assert_eq!(root.child(DAV, "b").unwrap().text, "x\r\ny");
        assert_eq!(root.child(DAV, "c").unwrap().text, "<&>\r\n");
    }

    #[test]
    fn broken_documents_are_errors() {
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>",
            b"",
            b"not xml at all",
            b"<a/><b/>",
            b"\xff\xfe<a/>",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(doc.as_bytes()).is_err());
    }

    #[test]
    fn unknown_prefix_is_tolerated() {
        let root = parse(b"<q:a><q:b>t</q:b></q:a>").unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.children[0].text, "t");
    }
}
