//! The configuration SMS (push.md §6): an OMA Client Provisioning document with the
//! `w5` (SyncML DS) application, authenticated with a NETWPIN/USERPIN HMAC, and the
//! older Nokia/Ericsson "SyncSettings" document for phones before OMA CP.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::prov_wbxml::{self as codec, Header, Tables};
pub use super::prov_wbxml::{Child, Node};
use super::wap::{
    ContentType, WapPush, WdpPorts, PORT_NOKIA_OTA, PORT_SYNCML_SOURCE, PORT_WAP_PUSH,
};
use super::webhook::hex_upper;
use super::PushError;

/// WBXML public id of `-//WAPFORUM//DTD PROV 1.0//EN`.
pub const PUBLIC_ID_PROV10: u8 = 0x0B;

fn prov_tables() -> Result<&'static Tables, PushError> {
    static T: OnceLock<Result<Tables, String>> = OnceLock::new();
    table(
        &T,
        "prov10.tokens",
        include_str!("../../mappings/push/prov10.tokens"),
    )
}

fn nokia_tables() -> Result<&'static Tables, PushError> {
    static T: OnceLock<Result<Tables, String>> = OnceLock::new();
    table(
        &T,
        "nokia-syncsettings.tokens",
        include_str!("../../mappings/push/nokia-syncsettings.tokens"),
    )
}

fn table(
    cell: &'static OnceLock<Result<Tables, String>>,
    file: &'static str,
    text: &'static str,
) -> Result<&'static Tables, PushError> {
    cell.get_or_init(|| Tables::parse(file, text).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|what| PushError::InvalidProvisioning { what: what.clone() })
}

/// One datastore of the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileDatastore {
    /// The server database URI, e.g. `contacts`.
    pub uri: String,
    /// Display name on the phone.
    pub name: String,
    /// MIME type the phone should send, e.g. `text/x-vcard`.
    pub accept: String,
}

/// A phone's SyncML account. The password is normally left out so the owner types it.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncProfile {
    /// Account name shown to the user.
    pub name: String,
    /// Server identifier (`PROVIDER-ID`); the one the push digest uses.
    pub server_id: Option<String>,
    pub url: String,
    pub user: String,
    pub password: Option<String>,
    /// `APPAUTH/AAUTHTYPE`, e.g. `BASIC` or `DIGEST`.
    pub auth_type: Option<String>,
    /// Access point reference (`TO-NAPID`), e.g. `INTERNET`.
    pub to_napid: Option<String>,
    pub datastores: Vec<ProfileDatastore>,
}

impl std::fmt::Debug for SyncProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncProfile")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("user", &self.user)
            .field("datastores", &self.datastores)
            .finish_non_exhaustive()
    }
}

fn parm(name: &str, value: &str) -> Child {
    Child::Element(Node {
        name: "parm".into(),
        attrs: vec![("name".into(), name.into()), ("value".into(), value.into())],
        children: vec![],
    })
}

fn characteristic(kind: &str, children: Vec<Child>) -> Child {
    Child::Element(Node {
        name: "characteristic".into(),
        attrs: vec![("type".into(), kind.into())],
        children,
    })
}

impl SyncProfile {
    /// The `wap-provisioningdoc` with one `w5` APPLICATION.
    pub fn document(&self) -> Node {
        let mut app = vec![parm("APPID", "w5")];
        if let Some(id) = &self.server_id {
            app.push(parm("PROVIDER-ID", id));
        }
        app.push(parm("NAME", &self.name));
        if let Some(nap) = &self.to_napid {
            app.push(parm("TO-NAPID", nap));
        }
        app.push(parm("ADDR", &self.url));
        let mut auth = vec![parm("AAUTHLEVEL", "APPSRV")];
        if let Some(t) = &self.auth_type {
            auth.push(parm("AAUTHTYPE", t));
        }
        auth.push(parm("AAUTHNAME", &self.user));
        if let Some(p) = &self.password {
            auth.push(parm("AAUTHSECRET", p));
        }
        app.push(characteristic("APPAUTH", auth));
        for d in &self.datastores {
            app.push(characteristic(
                "RESOURCE",
                vec![
                    parm("URI", &d.uri),
                    parm("NAME", &d.name),
                    parm("AACCEPT", &d.accept),
                ],
            ));
        }
        Node {
            name: "wap-provisioningdoc".into(),
            attrs: vec![("version".into(), "1.0".into())],
            children: vec![characteristic("APPLICATION", app)],
        }
    }

    /// The pre-OMA Nokia/Ericsson `SyncSettings` document as WBXML.
    pub fn nokia_syncsettings(&self) -> Result<Vec<u8>, PushError> {
        let leaf = |name: &str, text: &str| {
            Child::Element(Node {
                name: name.into(),
                attrs: vec![],
                children: vec![Child::Text(text.into())],
            })
        };
        let branch = |name: &str, children: Vec<Child>| {
            Child::Element(Node {
                name: name.into(),
                attrs: vec![],
                children,
            })
        };
        let mut root = vec![leaf("Version", "1.0"), leaf("HostAddr", &self.url)];
        for d in &self.datastores {
            root.push(branch(
                "RemoteDB",
                vec![
                    leaf("CTType", &d.accept),
                    leaf("CTVer", ct_version(&d.accept)),
                    leaf("URI", &d.uri),
                    leaf("Name", &d.name),
                ],
            ));
        }
        root.push(leaf("Name", &self.name));
        let mut auth = vec![
            leaf("AuthLevel", "1"),
            leaf("AuthScheme", "1"),
            leaf("Username", &self.user),
        ];
        if let Some(p) = &self.password {
            auth.push(leaf("Cred", &B64.encode(p)));
        }
        root.push(branch("Auth", auth));
        let doc = Node {
            name: "SyncSettings".into(),
            attrs: vec![],
            children: root,
        };
        codec::encode(
            &doc,
            Header {
                version: 0x01,
                public_id: 0x01,
            },
            nokia_tables()?,
        )
    }
}

fn ct_version(mime: &str) -> &'static str {
    match mime {
        "text/x-vcard" => "2.1",
        "text/vcard" => "3.0",
        "text/x-vcalendar" => "1.0",
        "text/calendar" => "2.0",
        _ => "1.0",
    }
}

/// Encodes a provisioning document as WBXML 1.3, public id PROV 1.0, UTF-8.
pub fn encode(doc: &Node) -> Result<Vec<u8>, PushError> {
    codec::encode(
        doc,
        Header {
            version: 0x03,
            public_id: PUBLIC_ID_PROV10,
        },
        prov_tables()?,
    )
}

/// Decodes a WBXML provisioning document.
pub fn decode(bytes: &[u8]) -> Result<Node, PushError> {
    let (header, root) = codec::decode(bytes, prov_tables()?)?;
    if header.public_id != PUBLIC_ID_PROV10 {
        return Err(PushError::MalformedProvisioning {
            offset: 1,
            what: format!("public id {:#04x} is not PROV 1.0", header.public_id),
        });
    }
    Ok(root)
}

/// Decodes the Nokia/Ericsson `SyncSettings` WBXML.
pub fn decode_nokia_syncsettings(bytes: &[u8]) -> Result<Node, PushError> {
    Ok(codec::decode(bytes, nokia_tables()?)?.1)
}

/// Reads a provisioning document from XML (for example `wbxml2xml` output).
pub fn from_xml(xml: &str) -> Result<Node, PushError> {
    use quick_xml::events::{BytesStart, Event};
    let bad = |what: String| PushError::MalformedProvisioning { offset: 0, what };
    let start = |e: &BytesStart<'_>| -> Result<Node, PushError> {
        let mut n = Node::new(&String::from_utf8_lossy(e.local_name().as_ref()));
        for a in e.attributes() {
            let a = a.map_err(|err| bad(err.to_string()))?;
            let value = a.unescape_value().map_err(|err| bad(err.to_string()))?;
            n.attrs.push((
                String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                value.into_owned(),
            ));
        }
        Ok(n)
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => stack.push(start(&e)?),
            Event::Empty(e) => {
                let n = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Child::Element(n)),
                    None => return Ok(n),
                }
            }
            Event::End(_) => {
                let n = stack
                    .pop()
                    .ok_or_else(|| bad("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Child::Element(n)),
                    None => return Ok(n),
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| bad(e.to_string()))?;
                if let (Some(parent), false) = (stack.last_mut(), text.trim().is_empty()) {
                    parent.children.push(Child::Text(text.trim().to_owned()));
                }
            }
            Event::Eof => return Err(bad("no root element".into())),
            _ => {}
        }
    }
}

/// Who the document's MAC is keyed for.
#[derive(Clone, PartialEq, Eq)]
pub enum Security {
    /// The subscriber's IMSI (known to the network operator).
    NetwPin { imsi: String },
    /// A PIN the user is told out of band and types when the SMS arrives.
    UserPin { pin: String },
    /// IMSI and user PIN together.
    UserNetwPin { imsi: String, pin: String },
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Security::NetwPin { .. } => "NetwPin",
            Security::UserPin { .. } => "UserPin",
            Security::UserNetwPin { .. } => "UserNetwPin",
        })
    }
}

impl Security {
    /// The WSP `SEC` parameter value (short integer).
    pub fn code(&self) -> u8 {
        match self {
            Security::NetwPin { .. } => 0x80,
            Security::UserPin { .. } => 0x81,
            Security::UserNetwPin { .. } => 0x82,
        }
    }

    /// The HMAC key.
    pub fn key(&self) -> Result<Vec<u8>, PushError> {
        Ok(match self {
            Security::NetwPin { imsi } => imsi_semi_octets(imsi)?,
            Security::UserPin { pin } => pin_bytes(pin)?,
            Security::UserNetwPin { imsi, pin } => {
                let mut k = imsi_semi_octets(imsi)?;
                k.extend(pin_bytes(pin)?);
                k
            }
        })
    }
}

fn pin_bytes(pin: &str) -> Result<Vec<u8>, PushError> {
    if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PushError::InvalidProvisioning {
            what: "the PIN must be one or more digits".into(),
        });
    }
    Ok(pin.as_bytes().to_vec())
}

/// The IMSI in GSM 11.11 form: a parity digit (9 odd, 1 even, then F padding), the
/// digits, nibbles swapped per byte.
pub fn imsi_semi_octets(imsi: &str) -> Result<Vec<u8>, PushError> {
    if !(6..=15).contains(&imsi.len()) || !imsi.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PushError::InvalidProvisioning {
            what: "the IMSI must be 6 to 15 digits".into(),
        });
    }
    let mut nibbles: Vec<u8> = Vec::with_capacity(imsi.len() + 2);
    nibbles.push(if imsi.len() % 2 == 1 { 9 } else { 1 });
    nibbles.extend(imsi.bytes().map(|b| b - b'0'));
    if nibbles.len() % 2 == 1 {
        nibbles.push(0xF);
    }
    Ok(nibbles.chunks(2).map(|p| (p[1] << 4) | p[0]).collect())
}

/// HMAC-SHA1 of the WBXML document, as 40 upper-case hex characters.
pub fn mac(security: &Security, wbxml: &[u8]) -> Result<String, PushError> {
    let key = security.key()?;
    let mut m =
        <Hmac<Sha1> as Mac>::new_from_slice(&key).map_err(|_| PushError::InvalidProvisioning {
            what: "HMAC key rejected".into(),
        })?;
    m.update(wbxml);
    Ok(hex_upper(&m.finalize().into_bytes()))
}

/// Whether `mac_hex` is the MAC of `wbxml` under `security` (what the phone checks).
pub fn verify_mac(security: &Security, wbxml: &[u8], mac_hex: &str) -> Result<bool, PushError> {
    let key = security.key()?;
    let Some(expected) = parse_hex(mac_hex) else {
        return Ok(false);
    };
    let mut m =
        <Hmac<Sha1> as Mac>::new_from_slice(&key).map_err(|_| PushError::InvalidProvisioning {
            what: "HMAC key rejected".into(),
        })?;
    m.update(wbxml);
    Ok(m.verify_slice(&expected).is_ok())
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The OMA CP push: ports 2948/2948, content type
/// `application/vnd.wap.connectivity-wbxml` with SEC and MAC.
pub fn oma_cp_push(wbxml: &[u8], security: &Security) -> Result<WapPush, PushError> {
    let content_type = ContentType::Connectivity {
        sec: security.code(),
        mac: mac(security, wbxml)?,
    };
    Ok(WapPush::bare(
        WdpPorts {
            destination: PORT_WAP_PUSH,
            source: PORT_WAP_PUSH,
        },
        0x01,
        content_type,
        wbxml,
    ))
}

/// The Nokia/Ericsson settings push: port 49996, content type
/// `application/vnd.nokia.syncset+wbxml`.
pub fn nokia_push(wbxml: &[u8]) -> WapPush {
    WapPush::bare(
        WdpPorts {
            destination: PORT_NOKIA_OTA,
            source: PORT_SYNCML_SOURCE,
        },
        0x34,
        ContentType::NokiaSyncset,
        wbxml,
    )
}

/// Splits a received configuration push back into its SEC code, MAC and document
/// (what the phone does; used to check what was sent).
pub fn parse_oma_cp_pdu(pdu: &[u8]) -> Result<(u8, String, &[u8]), PushError> {
    let bad = |offset: usize, what: &str| PushError::MalformedProvisioning {
        offset,
        what: what.into(),
    };
    if pdu.get(1) != Some(&0x06) {
        return Err(bad(1, "not a WSP Push PDU"));
    }
    let (hdr_len, start) = read_uintvar(pdu, 2).ok_or_else(|| bad(2, "bad headers length"))?;
    let headers = pdu
        .get(start..start + hdr_len)
        .ok_or_else(|| bad(start, "headers longer than the PDU"))?;
    // Content type in general form: value-length (short, or quote + uintvar), then the value.
    let (len, at) = match headers.first() {
        Some(0x1F) => read_uintvar(headers, 1).ok_or_else(|| bad(start, "bad value length"))?,
        Some(&n) if n <= 30 => (usize::from(n), 1),
        _ => return Err(bad(start, "content type has no SEC/MAC parameters")),
    };
    let value = headers
        .get(at..at + len)
        .ok_or_else(|| bad(start + at, "content type longer than the headers"))?;
    if value.first() != Some(&0xB6) {
        return Err(bad(
            start + at,
            "content type is not application/vnd.wap.connectivity-wbxml",
        ));
    }
    let (mut sec, mut mac, mut i) = (None, None, 1);
    while i < value.len() {
        match value[i] {
            0x91 => {
                sec = value.get(i + 1).copied();
                i += 2;
            }
            0x92 => {
                let rest = &value[i + 1..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                mac = Some(String::from_utf8_lossy(&rest[..end]).into_owned());
                i += 2 + end;
            }
            _ => return Err(bad(start + at + i, "unknown content-type parameter")),
        }
    }
    match (sec, mac) {
        (Some(s), Some(m)) => Ok((s, m, &pdu[start + hdr_len..])),
        _ => Err(bad(start, "SEC or MAC parameter missing")),
    }
}

/// A WSP uintvar at `at`: its value and the offset after it.
fn read_uintvar(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut v: usize = 0;
    for (i, &b) in bytes.get(at..)?.iter().take(5).enumerate() {
        v = (v << 7) | usize::from(b & 0x7F);
        if b & 0x80 == 0 {
            return Some((v, at + i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imsi_key_form() {
        // 15 digits: parity 9, no padding.
        assert_eq!(
            imsi_semi_octets("262011234567890").unwrap(),
            [0x29, 0x26, 0x10, 0x21, 0x43, 0x65, 0x87, 0x09]
        );
        // Even digit count: parity 1 and trailing F.
        assert_eq!(
            imsi_semi_octets("123456").unwrap(),
            [0x11, 0x32, 0x54, 0xF6]
        );
        assert!(imsi_semi_octets("12ab").is_err());
    }

    #[test]
    fn security_codes_and_debug_hides_pins() {
        let s = Security::UserPin { pin: "1234".into() };
        assert_eq!(s.code(), 0x81);
        assert_eq!(format!("{s:?}"), "UserPin");
        assert!(Security::UserPin { pin: "12a".into() }.key().is_err());
    }
}
