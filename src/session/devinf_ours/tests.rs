//! Our DevInf sent in each version and encoding and read back: only the elements of
//! that version's DTD, the SIF types, and a CTCap for every type with properties.

use super::*;
use crate::syncml::model::{Command, Data, Item, Location, Message, Results, SyncBody, SyncHdr};
use crate::syncml::{decode, encode, Encoding};

fn table() -> ServerCtCap {
    ServerCtCap::builtin().expect("table")
}

/// A reply carrying our DevInf for `version`, encoded and decoded again: the XML text
/// (for XML) and the DevInf read back.
fn round_trip(version: Version, encoding: Encoding) -> (String, DevInf) {
    let uri = version.devinf_uri().to_owned();
    let msg = Message {
        header: SyncHdr {
            ver_dtd: version.ver_dtd().into(),
            ver_proto: format!("SyncML/{}", version.ver_dtd()),
            session_id: "1".into(),
            msg_id: "1".into(),
            target: Location::new("phone"),
            source: Location::new("http://bridge/syncml"),
            ..SyncHdr::default()
        },
        body: SyncBody {
            commands: vec![Command::Results(Results {
                cmd_id: "1".into(),
                msg_ref: Some("1".into()),
                cmd_ref: "2".into(),
                meta: None,
                target_refs: Vec::new(),
                source_refs: vec![uri.clone()],
                items: vec![Item {
                    source: Some(Location::new(uri)),
                    data: Some(Data::DevInf(Box::new(server_devinf(
                        version,
                        &table(),
                        usize::MAX,
                    )))),
                    ..Item::default()
                }],
                extra: Vec::new(),
            })],
            final_: true,
        },
        extra: Vec::new(),
    };
    let bytes = encode(&msg, encoding).expect("encode");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let back = decode(&bytes).expect("decode").message;
    let Some(Command::Results(r)) = back.body.commands.first() else {
        panic!("no Results in {text}");
    };
    let Some(Data::DevInf(d)) = r.items[0].data.clone() else {
        panic!("no DevInf in {text}");
    };
    (text, *d)
}

fn element_names(xml: &str) -> Vec<String> {
    xml.split('<')
        .skip(1)
        .filter(|s| !s.starts_with('/') && !s.starts_with('?') && !s.starts_with('!'))
        .map(|s| {
            s.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The part of the XML that is the DevInf document.
fn devinf_xml(text: &str) -> &str {
    let start = text.find("<DevInf").expect("DevInf element");
    let end = text.find("</DevInf>").expect("DevInf end");
    &text[start..end]
}

#[test]
fn a_1_0_devinf_carries_only_1_0_elements() {
    let (text, d) = round_trip(Version::V1_0, Encoding::Xml);
    let names = element_names(devinf_xml(&text));
    for not_in_1_0 in [
        "UTC",
        "SupportLargeObjs",
        "SupportNumberOfChanges",
        "FieldLevel",
        "Filter-Rx",
        "FilterCap",
        "Property",
        "PropParam",
        "MaxSize",
        "MaxOccur",
        "NoTruncate",
        "SupportHierarchicalSync",
    ] {
        assert!(
            !names.iter().any(|n| n == not_in_1_0),
            "{not_in_1_0} in {text}"
        );
    }
    assert!(text.contains("<VerDTD>1.0</VerDTD>"), "{text}");
    assert_eq!(d.ver_dtd, "1.0");
    assert!(!d.utc && !d.support_large_objs && !d.support_number_of_changes);
    // 1.0 has the device-wide CTCap only, each type once and without VerCT.
    assert!(d.data_stores.iter().all(|s| s.ctcaps.is_empty()));
    assert!(!d.ctcaps.is_empty());
    assert!(d.ctcaps.iter().all(|c| c.ver_ct.is_none()));
    let mut types: Vec<&str> = d.ctcaps.iter().map(|c| c.ct_type.as_str()).collect();
    let count = types.len();
    types.dedup();
    assert_eq!(types.len(), count, "{types:?}");
    // The CTCap comes after the DataStores, as the DTD orders them.
    let xml = devinf_xml(&text);
    assert!(xml.rfind("<DataStore").unwrap() < xml.find("<CTCap").unwrap());
}

#[test]
fn a_1_1_devinf_has_the_1_1_flags_and_a_flat_ctcap() {
    let (text, d) = round_trip(Version::V1_1, Encoding::Xml);
    let names = element_names(devinf_xml(&text));
    for only_1_2 in [
        "FieldLevel",
        "Filter-Rx",
        "FilterCap",
        "Property",
        "PropParam",
        "MaxSize",
        "MaxOccur",
        "NoTruncate",
    ] {
        assert!(!names.iter().any(|n| n == only_1_2), "{only_1_2} in {text}");
    }
    assert_eq!(d.ver_dtd, "1.1");
    assert!(d.utc && d.support_large_objs && d.support_number_of_changes);
    assert!(d.data_stores.iter().all(|s| s.ctcaps.is_empty()));
    assert!(d.ctcaps.iter().all(|c| c.ver_ct.is_none()));
    // vCard 2.1 TYPE values are bare ParamNames in 1.1.
    let vcard = d
        .ctcaps
        .iter()
        .find(|c| c.ct_type == "text/x-vcard")
        .expect("vCard 2.1 CTCap");
    let tel = vcard.properties.iter().find(|p| p.name == "TEL").unwrap();
    assert!(tel.params.iter().any(|p| p.name == "CELL"), "{tel:?}");
    assert!(!tel.params.iter().any(|p| p.name == "TYPE"), "{tel:?}");
    // vCard 3.0 keeps TYPE with its values.
    let v3 = d.ctcaps.iter().find(|c| c.ct_type == "text/vcard").unwrap();
    let tel3 = v3.properties.iter().find(|p| p.name == "TEL").unwrap();
    assert!(tel3.params[0].name == "TYPE" && tel3.params[0].val_enums.contains(&"CELL".into()));
}

#[test]
fn a_1_2_devinf_has_a_ctcap_inside_each_datastore() {
    let (text, d) = round_trip(Version::V1_2, Encoding::Xml);
    assert_eq!(d.ver_dtd, "1.2");
    assert!(d.ctcaps.is_empty(), "no device-wide CTCap in 1.2: {text}");
    for s in &d.data_stores {
        let announced: Vec<&str> = s.rx.iter().map(|r| r.ct_type.as_str()).collect();
        for c in &s.ctcaps {
            assert!(announced.contains(&c.ct_type.as_str()), "{}", c.ct_type);
            assert!(c.ver_ct.is_some(), "{}", c.ct_type);
            assert!(!c.properties.is_empty(), "{}", c.ct_type);
        }
        // Every announced type but plain text has its CTCap.
        for t in announced.iter().filter(|t| **t != "text/plain") {
            assert!(
                s.ctcaps.iter().any(|c| c.ct_type == *t),
                "{}: {t}",
                s.source_ref
            );
        }
    }
    let contacts = d.data_store("contacts").unwrap();
    let v21 = contacts
        .ctcaps
        .iter()
        .find(|c| c.ct_type == "text/x-vcard")
        .unwrap();
    let tel = v21.properties.iter().find(|p| p.name == "TEL").unwrap();
    assert_eq!(tel.params[0].name, "TYPE");
    assert!(tel.params[0].val_enums.contains(&"CELL".into()));
    assert!(element_names(devinf_xml(&text))
        .iter()
        .any(|n| n == "Property"));
}

#[test]
fn every_datastore_takes_its_sif_type() {
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let d = server_devinf(version, &table(), usize::MAX);
        for (uri, sif) in [
            ("contacts", "text/x-s4j-sifc"),
            ("calendar", "text/x-s4j-sife"),
            ("tasks", "text/x-s4j-sift"),
            ("notes", "text/x-s4j-sifn"),
        ] {
            let s = d.data_store(uri).unwrap();
            assert!(s.rx.iter().any(|r| r.ct_type == sif), "{uri} {version:?}");
            assert!(s.tx.iter().any(|r| r.ct_type == sif), "{uri} {version:?}");
            let caps = d.capabilities(sif).expect("a CTCap for the SIF type");
            assert!(!caps.properties.is_empty());
        }
        let sife = d.capabilities("text/x-s4j-sife").unwrap();
        assert!(sife.can_store("Subject") && sife.can_store("Start"));
    }
}

#[test]
fn the_devinf_survives_wbxml_in_every_version() {
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let (_, xml) = round_trip(version, Encoding::Xml);
        let (_, wbxml) = round_trip(version, Encoding::Wbxml);
        assert_eq!(xml, wbxml, "{version:?}");
        assert_eq!(
            wbxml,
            server_devinf(version, &table(), usize::MAX),
            "{version:?}"
        );
    }
}

fn xml_size(d: &DevInf, version: Version) -> usize {
    crate::syncml::xml::write(&d.to_element(), version.namespace()).len()
}

#[test]
fn a_small_message_size_gets_fewer_ctcaps_never_a_devinf_too_big() {
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let full = server_devinf(version, &table(), usize::MAX);
        let full_size = xml_size(&full, version);
        let all_caps = |d: &DevInf| {
            d.ctcaps.len() + d.data_stores.iter().map(|s| s.ctcaps.len()).sum::<usize>()
        };
        let mut last_caps = all_caps(&full);
        for room in [full_size - 1, 12_000, 8_000, 6_000, 0] {
            let d = server_devinf(version, &table(), room);
            let caps = all_caps(&d);
            assert!(caps <= last_caps, "{version:?} {room}");
            last_caps = caps;
            // Whatever is left out, the datastores and their types stay.
            assert_eq!(d.data_stores.len(), 4);
            assert!(d.data_stores.iter().all(|s| s.rx.len() == 3));
            if caps > 0 {
                assert!(xml_size(&d, version) <= room, "{version:?} {room}");
            }
        }
        assert_eq!(last_caps, 0, "no room: no CTCap");
        assert!(all_caps(&server_devinf(version, &table(), full_size - 1)) < all_caps(&full));
    }
    // A 10 KB message still carries the CTCap of the preferred types in 1.1.
    let d = server_devinf(Version::V1_1, &table(), 9_000);
    assert!(
        d.ctcaps.iter().any(|c| c.ct_type == "text/x-vcard"),
        "{d:?}"
    );
}
