//! The bridge's own DevInf, answered to the phone's Get of ./devinf1x.

use crate::syncml::devinf::{ContentTypeRef, DataStore, DevInf};
use crate::syncml::Version;

fn store(uri: &str, pref: (&str, &str), others: &[(&str, &str)]) -> DataStore {
    let ct = |(t, v): (&str, &str)| ContentTypeRef::new(t, v);
    let mut all = vec![ct(pref)];
    all.extend(others.iter().map(|p| ct(*p)));
    DataStore {
        source_ref: uri.to_owned(),
        display_name: Some(uri.to_owned()),
        max_guid_size: Some(64),
        rx_pref: Some(ct(pref)),
        rx: all.clone(),
        tx_pref: Some(ct(pref)),
        tx: all,
        sync_types: vec![1, 2, 3, 4, 5, 6, 7],
        ..DataStore::default()
    }
}

/// Our DevInf for a session of `version`.
pub fn server_devinf(version: Version) -> DevInf {
    DevInf {
        ver_dtd: version.ver_dtd().to_owned(),
        man: Some("syncml-bridge".into()),
        model: Some("syncml-bridge".into()),
        sw_v: Some(env!("CARGO_PKG_VERSION").into()),
        dev_id: "syncml-bridge".into(),
        dev_typ: "server".into(),
        utc: true,
        support_large_objs: version != Version::V1_0,
        support_number_of_changes: version != Version::V1_0,
        data_stores: vec![
            store(
                "contacts",
                ("text/x-vcard", "2.1"),
                &[("text/vcard", "3.0"), ("text/x-s4j-sifc", "1.0")],
            ),
            store(
                "calendar",
                ("text/x-vcalendar", "1.0"),
                &[("text/calendar", "2.0")],
            ),
            store(
                "tasks",
                ("text/x-vcalendar", "1.0"),
                &[("text/calendar", "2.0")],
            ),
            store("notes", ("text/plain", "1.0"), &[("text/x-vnote", "1.1")]),
        ],
        ..DevInf::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devinf_round_trips_and_lists_every_kind() {
        let d = server_devinf(Version::V1_2);
        let back = DevInf::from_element(&d.to_element()).unwrap();
        assert_eq!(back.data_stores.len(), 4);
        assert!(back.data_store("contacts").is_some());
        assert_eq!(back.ver_dtd, "1.2");
    }
}
