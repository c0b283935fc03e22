//! The few changes a recorded message needs before it can be sent to another server: the
//! server's URL, the credentials, and the ids the recorded server handed out. Everything
//! else is sent as recorded, byte for byte.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::syncml::auth::AUTH_MD5;

/// The `(start, end)` byte range of the text of the first `<name ...>...</name>` at or after
/// `from`; attributes and a namespace prefix-free name are allowed.
fn element_range(xml: &str, name: &str, from: usize) -> Option<(usize, usize)> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut at = from;
    loop {
        let i = at + xml.get(at..)?.find(&open)?;
        let after = i + open.len();
        match xml.as_bytes().get(after) {
            Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') => {
                let gt = after + xml[after..].find('>')?;
                if xml.as_bytes().get(gt.wrapping_sub(1)) == Some(&b'/') {
                    return Some((gt + 1, gt + 1));
                }
                let end = gt + 1 + xml[gt + 1..].find(&close)?;
                return Some((gt + 1, end));
            }
            Some(b'/') => {
                // `<Name/>`: empty.
                let gt = after + xml[after..].find('>')?;
                return Some((gt + 1, gt + 1));
            }
            _ => at = after,
        }
    }
}

/// The text of the first `<name>` element.
pub fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    element_range(xml, name, 0).map(|(s, e)| &xml[s..e])
}

/// The text of every `<name>` element (not nested in one another).
pub fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((s, e)) = element_range(xml, name, at) {
        out.push(&xml[s..e]);
        at = e;
    }
    out
}

/// The header's text (`<SyncHdr>...</SyncHdr>`), or the empty text.
pub fn header(xml: &str) -> &str {
    element(xml, "SyncHdr").unwrap_or("")
}

/// The LocURI of the header's Target: the URL the phone was given.
pub fn target_url(xml: &str) -> Option<String> {
    element(header(xml), "Target")
        .and_then(|t| element(t, "LocURI"))
        .map(|s| unescape(s.trim()))
}

/// The header's SessionID.
pub fn session_id(xml: &str) -> Option<String> {
    element(header(xml), "SessionID").map(|s| s.trim().to_owned())
}

/// The header's MsgID.
pub fn msg_id(xml: &str) -> Option<String> {
    element(header(xml), "MsgID").map(|s| s.trim().to_owned())
}

/// `&amp;` and friends as their characters (URLs in recordings are escaped).
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Every element text equal to `from` (trimmed) becomes `to`.
pub fn replace_text(xml: &str, from: &str, to: &str) -> String {
    if from.is_empty() || from == to {
        return xml.to_owned();
    }
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    let needle = escape(from);
    while let Some(i) = rest.find(&needle) {
        let before = &rest[..i];
        let after = &rest[i + needle.len()..];
        let opens = before.trim_end().ends_with('>');
        let closes = after.trim_start().starts_with('<');
        out.push_str(before);
        if opens && closes {
            out.push_str(&escape(to));
        } else {
            out.push_str(&needle);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The header's credentials made Basic for `user`/`password`: the Type and the Data are
/// replaced, the recording's own Meta shape (namespaces, Format) is kept. An MD5 log-in
/// cannot be recomputed without the recorded nonce's password, so it becomes Basic too.
pub fn basic_cred(xml: &str, user: &str, password: &str) -> String {
    let Some((cs, ce)) = element_range(xml, "Cred", 0) else {
        return xml.to_owned();
    };
    let mut cred = xml[cs..ce].to_owned();
    if let Some((ts, te)) = element_range(&cred, "Type", 0) {
        cred.replace_range(ts..te, "syncml:auth-basic");
    }
    let data = B64.encode(format!("{user}:{password}"));
    if let Some((ds, de)) = element_range(&cred, "Data", 0) {
        cred.replace_range(ds..de, &data);
    }
    let mut out = xml.to_owned();
    out.replace_range(cs..ce, &cred);
    out
}

/// The header's credentials made MD5 for `user` with `digest` (computed over the server's
/// nonce), and the user named in the header's Source/LocName, where MD5 log-ins carry it.
pub fn md5_cred(xml: &str, user: &str, digest: &str) -> String {
    let Some((cs, ce)) = element_range(xml, "Cred", 0) else {
        return xml.to_owned();
    };
    let mut cred = xml[cs..ce].to_owned();
    if let Some((ts, te)) = element_range(&cred, "Type", 0) {
        cred.replace_range(ts..te, AUTH_MD5);
    }
    if let Some((ds, de)) = element_range(&cred, "Data", 0) {
        cred.replace_range(ds..de, digest);
    }
    let mut out = xml.to_owned();
    out.replace_range(cs..ce, &cred);
    with_loc_name(&out, user)
}

/// The header's Source with `<LocName>user</LocName>`.
fn with_loc_name(xml: &str, user: &str) -> String {
    let Some((hs, _)) = element_range(xml, "SyncHdr", 0) else {
        return xml.to_owned();
    };
    let Some((ss, se)) = element_range(xml, "Source", hs) else {
        return xml.to_owned();
    };
    let mut source = xml[ss..se].to_owned();
    match element_range(&source, "LocName", 0) {
        Some((ls, le)) => source.replace_range(ls..le, &escape(user)),
        None => source.push_str(&format!("<LocName>{}</LocName>", escape(user))),
    }
    let mut out = xml.to_owned();
    out.replace_range(ss..se, &source);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_with_attributes_and_empty_ones_are_found() {
        let xml = "<a><LocURI xmlns='x'>one</LocURI><LocURI/><LocURI>two</LocURI></a>";
        assert_eq!(elements(xml, "LocURI"), vec!["one", "", "two"]);
        assert_eq!(element("<LocURIs>no</LocURIs>", "LocURI"), None);
    }

    #[test]
    fn only_whole_element_texts_are_replaced() {
        let xml = "<LocURI>abc</LocURI><Data>xabcx</Data><TargetRef> abc </TargetRef>";
        assert_eq!(
            replace_text(xml, "abc", "Z&1"),
            "<LocURI>Z&amp;1</LocURI><Data>xabcx</Data><TargetRef> Z&amp;1 </TargetRef>"
        );
    }

    #[test]
    fn md5_credentials_become_basic_for_the_given_user() {
        let xml = "<SyncHdr><Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-md5</Type>\
                   </Meta><Data>Zm9v</Data></Cred></SyncHdr>";
        let out = basic_cred(xml, "alice", "secret");
        assert!(out.contains(">syncml:auth-basic</Type>"));
        assert!(out.contains("<Data>YWxpY2U6c2VjcmV0</Data>"));
    }

    #[test]
    fn md5_credentials_name_the_user_in_the_source() {
        let xml = "<SyncHdr><Source><LocURI>IMEI:1</LocURI></Source><Cred><Meta><Type>\
                   syncml:auth-basic</Type></Meta><Data>x</Data></Cred></SyncHdr>";
        let out = md5_cred(xml, "alice", "ZGlnZXN0");
        assert!(out.contains("<Source><LocURI>IMEI:1</LocURI><LocName>alice</LocName></Source>"));
        assert!(out.contains("<Type>syncml:auth-md5</Type>"));
        assert!(out.contains("<Data>ZGlnZXN0</Data>"));
        let again = md5_cred(&out, "bob", "eA==");
        assert!(again.contains("<LocName>bob</LocName>") && !again.contains("alice"));
    }

    #[test]
    fn the_header_fields_are_read() {
        let xml = "<SyncML><SyncHdr><SessionID>7</SessionID><MsgID>2</MsgID><Target>\
                   <LocURI>http://h/x?a=1&amp;b=2</LocURI></Target></SyncHdr></SyncML>";
        assert_eq!(session_id(xml).as_deref(), Some("7"));
        assert_eq!(msg_id(xml).as_deref(), Some("2"));
        assert_eq!(target_url(xml).as_deref(), Some("http://h/x?a=1&b=2"));
    }
}
