//! A slow sync's pairs: only the same item is joined, and a join keeps every value of
//! both versions and goes back to the phone when it lacks some of them.

use super::*;

fn vcard21(lines: &[&str]) -> Vec<u8> {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\n{}\r\nEND:VCARD\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

const SERVER: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:s1\r\nN:Schmidt;Anna;;;\r\nFN:Anna Schmidt\r\n\
                      TEL;TYPE=cell:+49 170 1111111\r\nTEL;TYPE=home:+49 40 123456\r\n\
                      EMAIL:familie@schmidt.example\r\nORG:Hafen AG\r\nNOTE:Kennt den Hafen\r\nEND:VCARD\r\n";

#[tokio::test]
async fn a_joined_pair_keeps_every_value_of_both_and_goes_back_to_the_phone() {
    let w = world(ConflictPolicy::Merge);
    let href = format!("{CONTACTS}s1.vcf");
    w.edit(&href, SERVER);
    let mut run = w.contacts(SyncMethod::Slow);
    let phone = vcard21(&[
        "N:Schmidt;Anna",
        "TEL;CELL:0170 1111111",
        "TEL;WORK:+49 30 777",
        "EMAIL;INTERNET:familie@schmidt.example",
        "TITLE:Lotsin",
    ]);
    let (st, out) = w
        .session(&mut run, adds(Format::Vcard21, [("1", phone)]))
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(
        w.dav.hrefs(CONTACTS),
        vec![href.clone()],
        "joined, not added"
    );
    let (_, stored) = w.dav.get(&href).expect("stored");
    for kept in [
        "UID:s1",
        "TEL;TYPE=cell:+49 170 1111111",
        "TEL;TYPE=home:+49 40 123456",
        "TEL;TYPE=work:+49 30 777",
        "ORG:Hafen AG",
        "NOTE:Kennt den Hafen",
        "TITLE:Lotsin",
    ] {
        assert!(stored.contains(kept), "{kept} in\n{stored}");
    }
    assert_eq!(stored.matches("1111111").count(), 1, "{stored}");
    // The phone lacked the home number: the united card goes back under its LUID.
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, data }]
            if luid == "1" && String::from_utf8_lossy(data).contains("123456")
                && String::from_utf8_lossy(data).contains("777")),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_different_person_with_the_same_name_is_a_new_item() {
    let w = world(ConflictPolicy::Merge);
    let href = format!("{CONTACTS}s1.vcf");
    w.edit(&href, SERVER);
    let mut run = w.contacts(SyncMethod::Slow);
    let other = vcard21(&[
        "N:Schmidt;Anna",
        "TEL;CELL:+49 171 2222222",
        "EMAIL;INTERNET:familie@schmidt.example",
        "ORG:Brauerei GmbH",
    ]);
    let (st, out) = w
        .session(&mut run, adds(Format::Vcard21, [("1", other)]))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 2);
    let (_, untouched) = w.dav.get(&href).expect("kept");
    assert_eq!(untouched, SERVER);
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == href),
        "{out:?}"
    );
}
