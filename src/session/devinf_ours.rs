//! The bridge's own DevInf, answered to the phone's Get of ./devinf1x: in the DTD of the
//! session's version (1.0 without UTC and the large-object flags, 1.0/1.1 with one flat
//! CTCap for the device, 1.2 with a CTCap inside each DataStore).

use crate::catalog::{CapProperty, ServerCtCap};
use crate::convert::Format;
use crate::syncml::devinf::{ContentTypeRef, CtCap, DataStore, DevInf, PropParam, Property};
use crate::syncml::Version;

/// Each datastore the bridge offers: its name, the preferred type, the others it takes.
const STORES: [(&str, Format, [Format; 2]); 4] = [
    ("contacts", Format::Vcard21, [Format::Vcard30, Format::Sifc]),
    ("calendar", Format::Vcal10, [Format::Ical20, Format::Sife]),
    ("tasks", Format::Vcal10, [Format::Ical20, Format::Sift]),
    ("notes", Format::Text, [Format::Vnote, Format::Sifn]),
];

/// The VerCT each format is announced with.
fn ver_ct(f: Format) -> &'static str {
    match f {
        Format::Vcard21 => "2.1",
        Format::Vcard30 => "3.0",
        Format::Vcard40 => "4.0",
        Format::Ical20 => "2.0",
        Format::Vnote => "1.1",
        Format::Vcal10 | Format::Text | Format::Sifc | Format::Sife | Format::Sift => "1.0",
        Format::Sifn => "1.0",
    }
}

fn content_type(f: Format) -> ContentTypeRef {
    ContentTypeRef::new(f.mime_type(), ver_ct(f))
}

fn store(uri: &str, pref: Format, others: &[Format], ctcaps: Vec<CtCap>) -> DataStore {
    let mut all = vec![content_type(pref)];
    all.extend(others.iter().map(|f| content_type(*f)));
    DataStore {
        source_ref: uri.to_owned(),
        display_name: Some(uri.to_owned()),
        max_guid_size: Some(64),
        rx_pref: Some(content_type(pref)),
        rx: all.clone(),
        tx_pref: Some(content_type(pref)),
        tx: all,
        ctcaps,
        sync_types: vec![1, 2, 3, 4, 5, 6, 7],
        ..DataStore::default()
    }
}

/// Which content types get a CTCap, from the most to the least: a phone's MaxMsgSize
/// often cannot hold them all, and a DevInf cannot be split across messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapLevel {
    Every,
    /// Every type but SIF (whose element lists are the longest).
    NoSif,
    /// Only each datastore's preferred type.
    Preferred,
    None,
}

impl CapLevel {
    const ALL: [CapLevel; 4] = [
        CapLevel::Every,
        CapLevel::NoSif,
        CapLevel::Preferred,
        CapLevel::None,
    ];

    fn includes(self, format: Format, preferred: bool) -> bool {
        let sif = matches!(
            format,
            Format::Sifc | Format::Sife | Format::Sift | Format::Sifn
        );
        match self {
            CapLevel::Every => true,
            CapLevel::NoSif => !sif,
            CapLevel::Preferred => preferred,
            CapLevel::None => false,
        }
    }
}

/// Our DevInf for a session of `version`: every CTCap that fits in `room` bytes (as
/// XML, which is never smaller than the WBXML form), fewer when they do not.
pub fn server_devinf(version: Version, table: &ServerCtCap, room: usize) -> DevInf {
    let mut chosen = devinf_at(version, table, CapLevel::None);
    for level in CapLevel::ALL {
        let d = devinf_at(version, table, level);
        let size = crate::syncml::xml::write(&d.to_element(), version.namespace()).len();
        if size <= room || level == CapLevel::None {
            if level != CapLevel::Every {
                tracing::debug!(
                    ?level,
                    size,
                    room,
                    "server DevInf trimmed to the phone's message size"
                );
            }
            chosen = d;
            break;
        }
    }
    chosen
}

fn devinf_at(version: Version, table: &ServerCtCap, level: CapLevel) -> DevInf {
    let flat = version != Version::V1_2;
    let mut data_stores = Vec::with_capacity(STORES.len());
    let mut device_caps: Vec<CtCap> = Vec::new();
    for (uri, pref, others) in STORES {
        let formats = std::iter::once((pref, true)).chain(others.map(|f| (f, false)));
        let caps: Vec<CtCap> = formats
            .filter(|(f, preferred)| level.includes(*f, *preferred))
            .filter_map(|(f, _)| ctcap(f, version, table))
            .collect();
        if flat {
            // One CTCap for the device: each content type listed once.
            for c in caps {
                if !device_caps.iter().any(|d| d.ct_type == c.ct_type) {
                    device_caps.push(c);
                }
            }
            data_stores.push(store(uri, pref, &others, Vec::new()));
        } else {
            data_stores.push(store(uri, pref, &others, caps));
        }
    }
    // UTC and the two Support flags arrived with DevInf 1.1.
    let since_1_1 = version != Version::V1_0;
    DevInf {
        ver_dtd: version.ver_dtd().to_owned(),
        man: Some("syncml-bridge".into()),
        model: Some("syncml-bridge".into()),
        sw_v: Some(env!("CARGO_PKG_VERSION").into()),
        dev_id: "syncml-bridge".into(),
        dev_typ: "server".into(),
        utc: since_1_1,
        support_large_objs: since_1_1,
        support_number_of_changes: since_1_1,
        data_stores,
        ctcaps: device_caps,
        ..DevInf::default()
    }
}

/// The CTCap of one format in the shape of `version`; `None` when there is nothing to
/// list (plain text has no properties, and a CTCap needs at least one).
fn ctcap(format: Format, version: Version, table: &ServerCtCap) -> Option<CtCap> {
    let props = table.properties(format);
    if props.is_empty() {
        return None;
    }
    // vCard 2.1 and vCalendar 1.0 write TYPE values bare (`TEL;HOME`): DS 1.0/1.1
    // devices expect each as a ParamName of its own, 1.2 ones as ValEnums of TYPE.
    let bare_types = version != Version::V1_2 && matches!(format, Format::Vcard21 | Format::Vcal10);
    Some(CtCap {
        ct_type: format.mime_type().to_owned(),
        // 1.0/1.1 CTCap has no VerCT.
        ver_ct: (version == Version::V1_2).then(|| ver_ct(format).to_owned()),
        properties: props.iter().map(|p| property(p, bare_types)).collect(),
        ..CtCap::default()
    })
}

fn property(p: &CapProperty, bare_types: bool) -> Property {
    let mut params = Vec::new();
    for pp in &p.params {
        if bare_types && pp.name.eq_ignore_ascii_case("TYPE") {
            params.extend(pp.values.iter().map(|v| PropParam {
                name: v.clone(),
                ..PropParam::default()
            }));
        } else {
            params.push(PropParam {
                name: pp.name.clone(),
                val_enums: pp.values.clone(),
                ..PropParam::default()
            });
        }
    }
    Property {
        name: p.name.clone(),
        val_enums: p.values.clone(),
        params,
        ..Property::default()
    }
}

#[cfg(test)]
#[path = "devinf_ours/tests.rs"]
mod tests;
