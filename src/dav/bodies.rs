//! The XML bodies the bridge sends: PROPFIND, REPORTs, extended MKCOL, MKCALENDAR.

use super::xml::escape;

const NS: &str = r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/""#;

/// A PROPFIND asking for the given properties, each written as `P:name` with P one
/// of the prefixes declared in [`NS`].
pub fn propfind(props: &[&str]) -> String {
    let mut s = format!(r#"<?xml version="1.0" encoding="utf-8"?><D:propfind {NS}><D:prop>"#);
    for p in props {
        s.push('<');
        s.push_str(p);
        s.push_str("/>");
    }
    s.push_str("</D:prop></D:propfind>");
    s
}

/// RFC 6578 sync-collection; an empty token asks for the initial full listing.
pub fn sync_collection(token: Option<&str>) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection {NS}><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
        escape(token.unwrap_or(""))
    )
}

/// What an item's data is called in a multiget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// vCards: `addressbook-multiget` / `address-data`.
    Card,
    /// iCalendar: `calendar-multiget` / `calendar-data`.
    Calendar,
}

pub fn multiget<'a>(kind: DataKind, hrefs: impl IntoIterator<Item = &'a str>) -> String {
    let (report, data) = match kind {
        DataKind::Card => ("CR:addressbook-multiget", "CR:address-data"),
        DataKind::Calendar => ("C:calendar-multiget", "C:calendar-data"),
    };
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><{report} {NS}><D:prop><D:getetag/><{data}/></D:prop>"#
    );
    for h in hrefs {
        s.push_str("<D:href>");
        s.push_str(&escape(h));
        s.push_str("</D:href>");
    }
    s.push_str("</");
    s.push_str(report);
    s.push('>');
    s
}

/// Extended MKCOL (RFC 5689) for an address book.
pub fn mkcol_addressbook(displayname: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:mkcol {NS}><D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>{}</D:displayname></D:prop></D:set></D:mkcol>"#,
        escape(displayname)
    )
}

/// MKCALENDAR (RFC 4791 §5.3.1) holding the given components (VEVENT, VTODO, VJOURNAL).
pub fn mkcalendar(displayname: &str, components: &[&str]) -> String {
    let mut comps = String::new();
    for c in components {
        comps.push_str(&format!(r#"<C:comp name="{}"/>"#, escape(c)));
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:mkcalendar {NS}><D:set><D:prop><D:displayname>{}</D:displayname><C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#,
        escape(displayname)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dav::xml::{self, CALDAV, CARDDAV, DAV};

    #[test]
    fn bodies_are_well_formed_and_escaped() {
        let m =
            xml::parse(multiget(DataKind::Card, ["/a/x&y.vcf", "/a/b.vcf"]).as_bytes()).unwrap();
        assert!(m.is(CARDDAV, "addressbook-multiget"));
        let hrefs: Vec<_> = m
            .children_named(DAV, "href")
            .map(|h| h.text.clone())
            .collect();
        assert_eq!(hrefs, ["/a/x&y.vcf", "/a/b.vcf"]);

        let c = xml::parse(mkcalendar("Notes <1>", &["VJOURNAL"]).as_bytes()).unwrap();
        let prop = c.child(DAV, "set").unwrap().child(DAV, "prop").unwrap();
        assert_eq!(prop.child(DAV, "displayname").unwrap().text, "Notes <1>");
        let set = prop
            .child(CALDAV, "supported-calendar-component-set")
            .unwrap();
        assert_eq!(set.children[0].attr("name"), Some("VJOURNAL"));

        let s = xml::parse(sync_collection(Some("http://x/t?a=1&b=2")).as_bytes()).unwrap();
        assert_eq!(
            s.child(DAV, "sync-token").unwrap().text,
            "http://x/t?a=1&b=2"
        );
        assert!(xml::parse(propfind(&["D:getetag", "CS:getctag"]).as_bytes()).is_ok());
        assert!(xml::parse(mkcol_addressbook("A&B").as_bytes()).is_ok());
    }
}
