//! The message header, `SyncHdr`.

use super::item::{Cred, Location};
use super::meta::Meta;
use super::Version;
use crate::syncml::tree::read::{el, leaf, push_extra, push_flag, push_opt, required, text};
use crate::syncml::tree::ModelError;
use crate::syncml::tree::{Element, Ns};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncHdr {
    /// As received: an unsupported version must still decode so it can be answered
    /// with 505/513.
    pub ver_dtd: String,
    pub ver_proto: String,
    pub session_id: String,
    pub msg_id: String,
    pub target: Location,
    pub source: Location,
    pub resp_uri: Option<String>,
    pub no_resp: bool,
    pub cred: Option<Cred>,
    pub meta: Option<Meta>,
    pub extra: Vec<Element>,
}

impl SyncHdr {
    /// The protocol version named by `VerProto` (falling back to `VerDTD`).
    pub fn version(&self) -> Option<Version> {
        Version::from_proto(&self.ver_proto).or_else(|| Version::from_dtd(&self.ver_dtd))
    }

    pub fn from_element(e: &Element) -> Result<Self, ModelError> {
        const P: &str = "SyncHdr";
        let (mut dtd, mut proto, mut sid, mut mid, mut target, mut source) =
            (None, None, None, None, None, None);
        let mut h = SyncHdr::default();
        for c in e.elements() {
            match c.name.as_str() {
                "VerDTD" => dtd = Some(text(c)),
                "VerProto" => proto = Some(text(c)),
                "SessionID" => sid = Some(text(c)),
                "MsgID" => mid = Some(text(c)),
                "Target" => target = Some(Location::from_element(c, "Target")?),
                "Source" => source = Some(Location::from_element(c, "Source")?),
                "RespURI" => h.resp_uri = Some(text(c)),
                "NoResp" => h.no_resp = true,
                "Cred" => h.cred = Some(Cred::from_element(c)?),
                "Meta" => h.meta = Some(Meta::from_element(c)?),
                _ => h.extra.push(c.clone()),
            }
        }
        h.ver_dtd = required(dtd, P, "VerDTD")?;
        h.ver_proto = required(proto, P, "VerProto")?;
        h.session_id = required(sid, P, "SessionID")?;
        h.msg_id = required(mid, P, "MsgID")?;
        h.target = required(target, P, "Target")?;
        h.source = required(source, P, "Source")?;
        Ok(h)
    }

    pub fn to_element(&self) -> Element {
        let mut e = el("SyncHdr");
        e.push(leaf("VerDTD", self.ver_dtd.as_str()));
        e.push(leaf("VerProto", self.ver_proto.as_str()));
        e.push(leaf("SessionID", self.session_id.as_str()));
        e.push(leaf("MsgID", self.msg_id.as_str()));
        e.push(self.target.to_element("Target"));
        e.push(self.source.to_element("Source"));
        push_opt(&mut e, "RespURI", self.resp_uri.as_deref(), Ns::SyncMl);
        push_flag(&mut e, "NoResp", self.no_resp, Ns::SyncMl);
        if let Some(c) = &self.cred {
            e.push(c.to_element());
        }
        if let Some(m) = &self.meta {
            e.push(m.to_element());
        }
        push_extra(&mut e, &self.extra);
        e
    }
}
