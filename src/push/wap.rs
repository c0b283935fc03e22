//! WAP Push over SMS (push.md §4): the connectionless WSP Push PDU, the SMS user
//! data header with WDP port addressing, and concatenation into several SMS.

use super::PushError;

/// Octets of user data one SMS carries (8-bit coding).
pub const SMS_USER_DATA: usize = 140;
/// The WAP push port on the phone (WDP).
pub const PORT_WAP_PUSH: u16 = 2948;
/// The source port Funambol's SAN sender uses.
pub const PORT_SYNCML_SOURCE: u16 = 0xC002;
/// The Nokia/Ericsson OTA settings port.
pub const PORT_NOKIA_OTA: u16 = 49996;

const PDU_PUSH: u8 = 0x06;
/// WSP header field `X-Wap-Application-Id` (0x2F as a short integer).
const HEADER_APPLICATION_ID: u8 = 0xAF;
/// Application id `x-wap-application:push.syncml` (0x05 as a short integer); 0x07
/// would be Device Management.
const APP_ID_SYNCML_DS: u8 = 0x85;

/// Destination and source WDP ports of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WdpPorts {
    pub destination: u16,
    pub source: u16,
}

impl Default for WdpPorts {
    fn default() -> Self {
        WdpPorts {
            destination: PORT_WAP_PUSH,
            source: PORT_SYNCML_SOURCE,
        }
    }
}

/// The WSP content types pushes are sent under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentType {
    /// `application/vnd.syncml.ds.notification` (0x4E): the DS 1.2 SAN.
    DsNotification,
    /// `application/vnd.syncml+wbxml` (registered 0x0303): the 1.1 notification.
    SyncmlWbxml,
    /// `application/vnd.wap.connectivity-wbxml` (0x36) with the SEC and MAC parameters.
    Connectivity { sec: u8, mac: String },
    /// `application/vnd.nokia.syncset+wbxml` (registered 0x020B), charset UTF-8.
    NokiaSyncset,
}

impl ContentType {
    pub fn mime(&self) -> &'static str {
        match self {
            ContentType::DsNotification => "application/vnd.syncml.ds.notification",
            ContentType::SyncmlWbxml => "application/vnd.syncml+wbxml",
            ContentType::Connectivity { .. } => "application/vnd.wap.connectivity-wbxml",
            ContentType::NokiaSyncset => "application/vnd.nokia.syncset+wbxml",
        }
    }

    /// The WSP encoding of the content-type header value.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ContentType::DsNotification => vec![0x80 | 0x4E],
            // General form: value-length, long integer of 2 octets.
            ContentType::SyncmlWbxml => vec![0x03, 0x02, 0x03, 0x03],
            ContentType::Connectivity { sec, mac } => {
                let mut value = vec![0x80 | 0x36, 0x80 | 0x11, *sec, 0x80 | 0x12];
                value.extend_from_slice(mac.as_bytes());
                value.push(0);
                with_value_length(value)
            }
            // Long integer 0x020B, then charset (0x01) = UTF-8 (106).
            ContentType::NokiaSyncset => vec![0x05, 0x02, 0x02, 0x0B, 0x81, 0x80 | 106],
        }
    }
}

fn with_value_length(value: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    if value.len() <= 30 {
        out.push(value.len() as u8);
    } else {
        // Length-quote, then a uintvar.
        out.push(0x1F);
        out.extend(uintvar(value.len() as u32));
    }
    out.extend(value);
    out
}

/// A WSP variable-length unsigned integer: 7 bits per octet, high bit = more follow.
pub fn uintvar(mut v: u32) -> Vec<u8> {
    let mut out = vec![(v & 0x7F) as u8];
    v >>= 7;
    while v > 0 {
        out.push(0x80 | (v & 0x7F) as u8);
        v >>= 7;
    }
    out.reverse();
    out
}

/// One SMS: its user data header (length byte included) and the rest of the user data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub udh: Vec<u8>,
    pub data: Vec<u8>,
}

/// A complete WAP push: ports plus the WSP PDU (headers and payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WapPush {
    pub ports: WdpPorts,
    pub pdu: Vec<u8>,
}

impl WapPush {
    /// A SyncML DS notification: `X-Wap-Application-Id: push.syncml`, TID 0x01.
    pub fn notification(ports: WdpPorts, content_type: ContentType, payload: &[u8]) -> Self {
        let mut headers = content_type.encode();
        headers.extend([HEADER_APPLICATION_ID, APP_ID_SYNCML_DS]);
        WapPush {
            ports,
            pdu: push_pdu(0x01, &headers, payload),
        }
    }

    /// A push with only a content-type header (configuration documents).
    pub fn bare(ports: WdpPorts, tid: u8, content_type: ContentType, payload: &[u8]) -> Self {
        WapPush {
            ports,
            pdu: push_pdu(tid, &content_type.encode(), payload),
        }
    }

    /// The port-addressing UDH: `06 05 04 DDDD SSSS`.
    pub fn udh(&self) -> Vec<u8> {
        let [d0, d1] = self.ports.destination.to_be_bytes();
        let [s0, s1] = self.ports.source.to_be_bytes();
        vec![0x06, 0x05, 0x04, d0, d1, s0, s1]
    }

    /// The SMS that carry this push: one when it fits, else concatenated parts
    /// sharing the reference `reference`, numbered from 1.
    pub fn to_sms(&self, reference: u8) -> Result<Vec<Sms>, PushError> {
        let udh = self.udh();
        if udh.len() + self.pdu.len() <= SMS_USER_DATA {
            return Ok(vec![Sms {
                udh,
                data: self.pdu.clone(),
            }]);
        }
        // Concatenation IE (00 03 ref total seq) after the port IE; 5 more header octets.
        let room = SMS_USER_DATA - udh.len() - 5;
        let chunks: Vec<&[u8]> = self.pdu.chunks(room).collect();
        let total = u8::try_from(chunks.len()).map_err(|_| PushError::TooLongForSms {
            bytes: self.pdu.len(),
            parts: chunks.len(),
        })?;
        Ok(chunks
            .into_iter()
            .zip(1u8..)
            .map(|(chunk, seq)| {
                let mut part_udh = udh.clone();
                part_udh[0] += 5;
                part_udh.extend([0x00, 0x03, reference, total, seq]);
                Sms {
                    udh: part_udh,
                    data: chunk.to_vec(),
                }
            })
            .collect())
    }
}

fn push_pdu(tid: u8, headers: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut pdu = vec![tid, PDU_PUSH];
    pdu.extend(uintvar(headers.len() as u32));
    pdu.extend_from_slice(headers);
    pdu.extend_from_slice(payload);
    pdu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uintvar_encoding() {
        assert_eq!(uintvar(0), [0x00]);
        assert_eq!(uintvar(45), [0x2D]);
        assert_eq!(uintvar(0x7F), [0x7F]);
        assert_eq!(uintvar(0x80), [0x81, 0x00]);
        assert_eq!(uintvar(0x3FFF), [0xFF, 0x7F]);
    }

    #[test]
    fn syncml_11_headers_match_the_funambol_bytes() {
        let p = WapPush::notification(WdpPorts::default(), ContentType::SyncmlWbxml, b"");
        assert_eq!(
            p.pdu,
            [0x01, 0x06, 0x06, 0x03, 0x02, 0x03, 0x03, 0xAF, 0x85]
        );
    }

    #[test]
    fn nokia_syncset_headers() {
        let p = WapPush::bare(
            WdpPorts {
                destination: PORT_NOKIA_OTA,
                source: PORT_SYNCML_SOURCE,
            },
            0x34,
            ContentType::NokiaSyncset,
            b"",
        );
        assert_eq!(
            p.pdu,
            [0x34, 0x06, 0x06, 0x05, 0x02, 0x02, 0x0B, 0x81, 0xEA]
        );
        assert_eq!(p.udh(), [0x06, 0x05, 0x04, 0xC3, 0x4C, 0xC0, 0x02]);
    }
}
