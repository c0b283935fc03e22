//! One item between its phone form and its DAV form: conversion, UIDs, resource names,
//! and the device capability that decides what a merge may replace.

use rand::RngCore;

use crate::convert::capability::{Capability, CtCapParam, CtCapProperty};
use crate::convert::{self, Component, ConvertError, ConvertOptions, Format, Property};
use crate::syncml::devinf::DevInf;

/// The DAV side of an item: its parsed tree.
pub fn phone_to_dav(
    format: Format,
    data: &[u8],
    opts: &ConvertOptions,
) -> Result<Component, ConvertError> {
    convert::to_dav(format, data, opts)
}

/// Parses a DAV resource (vCard 3.0/4.0 or iCalendar) into its tree.
pub fn parse_dav(data: &str, opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let trimmed = data.trim_start();
    if trimmed.len() >= 11 && trimmed[..11].eq_ignore_ascii_case("BEGIN:VCARD") {
        let version = if data.contains("VERSION:4.0") {
            Format::Vcard40
        } else {
            Format::Vcard30
        };
        convert::to_dav(version, data.as_bytes(), opts)
    } else {
        convert::parse_ical(data.as_bytes())
    }
}

/// The phone's bytes for a DAV tree.
pub fn dav_to_phone(
    format: Format,
    item: &Component,
    opts: &ConvertOptions,
) -> Result<Vec<u8>, ConvertError> {
    convert::from_dav(format, item, opts)
}

/// The format `item` goes to the phone in, for a datastore in `format`: a SIF calendar
/// that also holds tasks gets each item in the SIF type of its own component.
pub fn format_for_item(format: Format, item: &Component) -> Format {
    let main = item
        .components
        .iter()
        .find(|c| c.name != "VTIMEZONE")
        .map(|c| c.name.as_str());
    match (format, main) {
        (Format::Sife, Some("VTODO")) => Format::Sift,
        (Format::Sift, Some("VEVENT")) => Format::Sife,
        _ => format,
    }
}

/// The item's UID (the VCARD's or the calendar's main item's), if it has one.
pub fn uid_of(item: &Component) -> Option<String> {
    convert::matching::main_of(item)
        .value("UID")
        .map(str::to_owned)
}

/// The item's UID, given a new random one when it has none (phones rarely send UIDs).
pub fn ensure_uid(item: &mut Component) -> String {
    convert::uid::ensure_uid(item, new_uid)
}

/// A UID for an item the phone sent without one: a random (version 4) UUID, so two
/// identical items converted at the same instant never share it. Nothing of the clock
/// or the content goes into it.
pub fn new_uid() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "sb-{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Whether `uid` was made by the bridge (a phone item without one), not by its author:
/// such an item may take another UID when its name is taken upstream.
pub fn uid_is_ours(uid: &str) -> bool {
    uid.starts_with("sb-") || uid.ends_with("@syncml-bridge")
}

/// Gives `item` a new random UID, in every component that carried the old one (the
/// exceptions of a recurring event with it); returns the new UID.
pub fn fresh_uid(item: &mut Component) -> String {
    let old = convert::uid::holder_mut(item)
        .value("UID")
        .map(str::to_owned);
    let uid = new_uid();
    let same = |c: &Component| old.is_some() && c.value("UID").map(str::to_owned) == old;
    if same(item) || item.name != "VCALENDAR" {
        item.set(Property::new("UID", uid.clone()));
    }
    for c in item.components.iter_mut().filter(|c| same(c)) {
        c.set(Property::new("UID", uid.clone()));
    }
    convert::uid::holder_mut(item).set(Property::new("UID", uid.clone()));
    uid
}

/// The resource name for a new item: its UID when that is a safe path segment, else a
/// fresh name, with the extension of its kind.
pub fn resource_name(uid: &str, is_card: bool) -> String {
    let ext = if is_card { "vcf" } else { "ics" };
    let safe = !uid.is_empty()
        && uid.len() <= 200
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if safe {
        format!("{uid}.{ext}")
    } else {
        let mut raw = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut raw);
        let name: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        format!("{name}.{ext}")
    }
}

/// What the device can store of `format`: its CTCap when its DevInf has one for the
/// format's type, else the format's known capability.
pub fn capability_for(devinf: Option<&DevInf>, format: Format) -> Capability {
    let ctcaps: Vec<&crate::syncml::devinf::CtCap> = devinf
        .map(|d| {
            d.data_stores
                .iter()
                .flat_map(|s| s.ctcaps.iter())
                .chain(d.ctcaps.iter())
                .filter(|c| c.ct_type.eq_ignore_ascii_case(format.mime_type()))
                .collect()
        })
        .unwrap_or_default();
    if ctcaps.is_empty() {
        return Capability::from_format(format);
    }
    let props: Vec<CtCapProperty> = ctcaps
        .iter()
        .flat_map(|c| c.properties.iter())
        .map(|p| CtCapProperty {
            name: p.name.clone(),
            values: p.val_enums.clone(),
            max_size: p.max_size.map(|n| n as usize),
            max_occur: p.max_occur.map(|n| n as usize),
            no_truncate: p.no_truncate,
            params: p
                .params
                .iter()
                .map(|pp| CtCapParam {
                    name: pp.name.clone(),
                    values: pp.val_enums.clone(),
                })
                .collect(),
        })
        .collect();
    Capability::from_ctcap(&props)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn two_identical_uidless_items_get_different_uids_at_the_same_instant() {
        let opts = ConvertOptions::new(DateTime::UNIX_EPOCH);
        let todo = b"BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VTODO\r\nSUMMARY:client1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
        let note = b"client1";
        let sif = b"<?xml version=\"1.0\"?><task><SIFVersion>1.1</SIFVersion><Subject>client1</Subject></task>";
        for (format, data) in [
            (Format::Vcal10, &todo[..]),
            (Format::Text, &note[..]),
            (Format::Sift, &sif[..]),
        ] {
            let mut a = phone_to_dav(format, data, &opts).unwrap();
            let mut b = phone_to_dav(format, data, &opts).unwrap();
            assert_eq!(a, b, "{format}: the conversion itself is pure");
            let (ua, ub) = (ensure_uid(&mut a), ensure_uid(&mut b));
            assert_ne!(ua, ub, "{format}");
            assert_ne!(resource_name(&ua, false), resource_name(&ub, false));
            assert!(uid_is_ours(&ua), "{ua}");
            // A version 4 UUID after the prefix.
            let uuid = ua.strip_prefix("sb-").unwrap();
            assert_eq!(uuid.len(), 36, "{ua}");
            assert_eq!(uuid.as_bytes()[14], b'4', "{ua}");
        }
    }

    #[test]
    fn uid_is_added_once_and_names_are_safe() {
        let opts = ConvertOptions::new(DateTime::UNIX_EPOCH);
        let mut card = phone_to_dav(
            Format::Vcard21,
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nEND:VCARD\r\n",
            &opts,
        )
        .unwrap();
        let uid = ensure_uid(&mut card);
        assert_eq!(ensure_uid(&mut card), uid);
        assert_eq!(resource_name(&uid, true), format!("{uid}.vcf"));
        let odd = resource_name("a/b c", false);
        assert!(odd.ends_with(".ics") && !odd.contains('/'), "{odd}");
        let text = String::from_utf8(convert::dav_bytes(&card)).unwrap();
        let back = parse_dav(&text, &opts).unwrap();
        assert_eq!(back.value("UID"), Some(uid.as_str()));
    }

    /// The same limits said the 1.1 way (flat CTCap at DevInf level, `Size`, bare TYPE
    /// values as `ParamName`s) and the 1.2 way (CTCap in the DataStore, `MaxSize`,
    /// `PropParam` with `ValEnum`s) shape a card alike.
    #[test]
    fn ds11_and_ds12_ctcaps_shape_alike() {
        let v11 = r#"<DevInf xmlns="syncml:devinf"><VerDTD>1.1</VerDTD><DevID>p</DevID><DevTyp>phone</DevTyp>
            <DataStore><SourceRef>./contacts</SourceRef></DataStore>
            <CTCap><CTType>text/x-vcard</CTType><PropName>BEGIN</PropName><ValEnum>VCARD</ValEnum>
            <PropName>N</PropName><DataType>chr</DataType><Size>10</Size>
            <PropName>TITLE</PropName><Size>3</Size><NoTruncate/>
            <PropName>CLASS</PropName><ValEnum>PUBLIC</ValEnum><ValEnum>PRIVATE</ValEnum>
            <PropName>TEL</PropName><ParamName>HOME</ParamName><ParamName>WORK</ParamName><ParamName>CELL</ParamName>
            </CTCap></DevInf>"#;
        let v12 = r#"<DevInf xmlns="syncml:devinf"><VerDTD>1.2</VerDTD><DevID>p</DevID><DevTyp>phone</DevTyp>
            <DataStore><SourceRef>./contacts</SourceRef><CTCap><CTType>text/x-vcard</CTType><VerCT>2.1</VerCT>
            <Property><PropName>N</PropName><DataType>chr</DataType><MaxSize>10</MaxSize></Property>
            <Property><PropName>TITLE</PropName><MaxSize>3</MaxSize><NoTruncate/></Property>
            <Property><PropName>CLASS</PropName><ValEnum>PUBLIC</ValEnum><ValEnum>PRIVATE</ValEnum></Property>
            <Property><PropName>TEL</PropName><PropParam><ParamName>TYPE</ParamName>
            <ValEnum>HOME</ValEnum><ValEnum>WORK</ValEnum><ValEnum>CELL</ValEnum></PropParam></Property>
            </CTCap></DataStore></DevInf>"#;
        let card = convert::to_dav(
            Format::Vcard30,
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nN:Schwarzenegger;Max;;;\r\nTITLE:Boss\r\n\
              CLASS:CONFIDENTIAL\r\nNOTE:n\r\nTEL;TYPE=PAGER:1\r\nTEL;TYPE=MOBILE:2\r\nEND:VCARD\r\n",
            &ConvertOptions::new(DateTime::UNIX_EPOCH),
        )
        .unwrap();
        let mut shaped = Vec::new();
        for xml in [v11, v12] {
            let tree = crate::syncml::xml::parse(xml.as_bytes()).unwrap();
            let devinf = DevInf::from_element(&tree).unwrap();
            let cap = capability_for(Some(&devinf), Format::Vcard21);
            assert!(crate::convert::shaping::applies(&cap));
            shaped.push(crate::convert::shaping::shape(&cap, &card));
        }
        assert_eq!(shaped[0], shaped[1]);
        let item = &shaped[0].item;
        assert_eq!(item.value("N"), Some("Schwarzene;Max;;;"));
        assert_eq!(item.value("TITLE"), None);
        assert_eq!(item.value("NOTE"), None);
        assert_eq!(item.value("CLASS"), Some("PRIVATE"));
        let tels: Vec<(&str, Vec<String>)> = item
            .properties_named("TEL")
            .map(|p| (p.value.as_str(), p.types()))
            .collect();
        assert_eq!(tels, [("2", vec!["CELL".to_owned()])]);
    }
}
