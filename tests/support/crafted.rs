//! A crafted SyncML 1.2 phone over plain HTTP: messages written by hand, so a test can send
//! exactly what a device (or an attacker) would, and read the statuses of the reply.

use base64::Engine as _;

pub const SYNCML_XML: &str = "application/vnd.syncml+xml";

/// One status of a reply: the command it answers, its CmdRef and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub cmd: String,
    pub cmd_ref: String,
    pub code: u16,
}

/// A reply: its statuses, the RespURI and the whole text.
#[derive(Debug)]
pub struct Reply {
    pub statuses: Vec<Status>,
    pub resp_uri: Option<String>,
    pub text: String,
}

pub fn inner<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

pub fn parse_reply(text: String) -> Reply {
    let statuses = text
        .split("<Status>")
        .skip(1)
        .filter_map(|chunk| {
            let body = chunk.split("</Status>").next()?;
            Some(Status {
                cmd: inner(body, "Cmd")?.trim().to_owned(),
                cmd_ref: inner(body, "CmdRef")?.trim().to_owned(),
                code: inner(body, "Data")?.trim().parse().ok()?,
            })
        })
        .collect();
    let resp_uri = inner(&text, "RespURI").map(|s| s.trim().replace("&amp;", "&"));
    Reply {
        statuses,
        resp_uri,
        text,
    }
}

/// A crafted phone: one session id, a message counter, Basic credentials.
pub struct Crafted {
    pub http: reqwest::blocking::Client,
    pub url: String,
    pub device: String,
    pub session: String,
    pub msg_id: u32,
    /// The user name sent in Source/LocName (MD5 log-ins need it).
    pub loc_name: Option<String>,
}

pub fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "<Cred><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-basic</Type><Format xmlns=\"syncml:metinf\">b64</Format></Meta><Data>{}</Data></Cred>",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl Crafted {
    pub fn new(url: &str, device: &str, session: &str) -> Self {
        Crafted {
            http: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("http client"),
            url: url.to_owned(),
            device: device.to_owned(),
            session: session.to_owned(),
            msg_id: 0,
            loc_name: None,
        }
    }

    /// The next message with `cred` (may be empty) and `body` commands.
    pub fn message(&mut self, cred: &str, body: &str, last: bool) -> String {
        self.msg_id += 1;
        let fin = if last { "<Final/>" } else { "" };
        let name = self
            .loc_name
            .as_ref()
            .map(|n| format!("<LocName>{n}</LocName>"))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SyncML xmlns=\"syncml:syncml1.2\"><SyncHdr>\
             <VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>{}</SessionID><MsgID>{}</MsgID>\
             <Target><LocURI>{}</LocURI></Target><Source><LocURI>{}</LocURI>{name}</Source>{cred}\
             <Meta><MaxMsgSize xmlns=\"syncml:metinf\">65536</MaxMsgSize></Meta></SyncHdr>\
             <SyncBody>{body}{fin}</SyncBody></SyncML>",
            self.session, self.msg_id, self.url, self.device
        )
    }

    /// Posts `xml` and returns the HTTP status and body, whatever they are.
    pub fn post_raw(&mut self, xml: &str) -> (u16, String) {
        let resp = self
            .http
            .post(&self.url)
            .header("Content-Type", SYNCML_XML)
            .body(xml.to_owned())
            .send()
            .expect("POST to the bridge");
        let status = resp.status().as_u16();
        (status, resp.text().expect("reply body"))
    }

    pub fn post(&mut self, xml: &str) -> Reply {
        let (status, text) = self.post_raw(xml);
        assert_eq!(status, 200, "HTTP status");
        let reply = parse_reply(text);
        if let Some(uri) = &reply.resp_uri {
            self.url = uri.clone();
        }
        reply
    }
}

pub fn header_code(reply: &Reply) -> u16 {
    reply
        .statuses
        .iter()
        .find(|s| s.cmd == "SyncHdr")
        .map(|s| s.code)
        .unwrap_or_else(|| panic!("no SyncHdr status in:\n{}", reply.text))
}

/// The settings that make the bridge demand MD5 (policy and vault key).
pub fn md5_policy(b: super::bridge::BridgeBuilder) -> super::bridge::BridgeBuilder {
    b.env("SYNCML_BRIDGE_AUTH__POLICY", "md5").env(
        "SYNCML_BRIDGE_AUTH__VAULT_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
}

/// Package 1's Alert for the contacts datastore.
pub fn alert(code: u16, last: Option<&str>, next: &str) -> String {
    let last = last
        .map(|l| format!("<Last>{l}</Last>"))
        .unwrap_or_default();
    format!(
        "<Alert><CmdID>1</CmdID><Data>{code}</Data><Item><Target><LocURI>contacts</LocURI></Target>\
         <Source><LocURI>./contacts</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\">{last}<Next>{next}</Next></Anchor></Meta></Item></Alert>"
    )
}

/// A Sync with one Add of `card` (vCard 2.1) under `luid`.
pub fn sync_with_add(luid: &str, card: &str) -> String {
    format!(
        "<Sync><CmdID>2</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
         <Add><CmdID>3</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
         <Item><Source><LocURI>{luid}</LocURI></Source><Data><![CDATA[{card}]]></Data></Item></Add></Sync>"
    )
}

pub fn statuses_for<'a>(reply: &'a Reply, cmd: &str) -> Vec<&'a Status> {
    reply.statuses.iter().filter(|s| s.cmd == cmd).collect()
}

/// MD5 credentials (SyncML 1.1/1.2 formula) of `user` over the raw nonce `nonce`.
pub fn md5(user: &str, password: &str, nonce: &[u8]) -> String {
    format!(
        "<Cred><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-md5</Type><Format xmlns=\"syncml:metinf\">b64</Format></Meta><Data>{}</Data></Cred>",
        syncml_bridge::syncml::auth::md5_v11(user, password, nonce)
    )
}

/// The raw nonce of the reply's MD5 challenge (its NextNonce travels base64-encoded).
pub fn challenge_nonce(reply: &Reply) -> Option<Vec<u8>> {
    let at = reply.text.find("<NextNonce")?;
    let start = reply.text[at..].find('>')? + at + 1;
    let end = reply.text[start..].find('<')? + start;
    let b64 = &reply.text[start..end];
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
}

/// The credential scheme the reply's challenge asks for.
pub fn challenge_scheme(reply: &Reply) -> Option<String> {
    let chal = inner(&reply.text, "Chal")?;
    let start = chal.find("syncml:auth-")?;
    let end = chal[start..].find('<')? + start;
    Some(chal[start..end].to_owned())
}
