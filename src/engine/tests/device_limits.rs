//! What the phone says it can hold: items shaped by its CTCap (and the shaped form coming
//! back changes nothing upstream), items over its MaxObjSize held back and offered again.

use super::*;
use crate::convert::capability::{CtCapParam, CtCapProperty};

fn ctcap() -> Capability {
    let prop = |name: &str, max: Option<usize>| CtCapProperty {
        name: name.into(),
        max_size: max,
        ..CtCapProperty::default()
    };
    let mut tel = prop("TEL", None);
    tel.params = vec![CtCapParam {
        name: "TYPE".into(),
        values: vec!["HOME".into(), "WORK".into(), "CELL".into()],
    }];
    Capability::from_ctcap(&[prop("N", Some(10)), tel, prop("EMAIL", None)])
}

fn text_of(change: &ServerChange) -> String {
    match change {
        ServerChange::Add { data, .. } | ServerChange::Replace { data, .. } => {
            String::from_utf8_lossy(data).into_owned()
        }
        ServerChange::Delete { luid } => panic!("delete of {luid}"),
    }
}

#[tokio::test]
async fn items_follow_the_ctcap_and_their_shaped_form_coming_back_writes_nothing() {
    let w = world(ConflictPolicy::Merge);
    let href = format!("{CONTACTS}arnie.vcf");
    w.edit(
        &href,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:arnie\r\nN:Schwarzenegger;Maximilian;;;\r\n\
         FN:Maximilian Schwarzenegger\r\nNOTE:gym\r\nTEL;TYPE=PAGER:+4930111\r\n\
         TEL;TYPE=IPHONE:+4917222\r\nEMAIL:a@example.org\r\nEND:VCARD\r\n",
    );
    let mut run = w.contacts(SyncMethod::Slow);
    run.cap = ctcap();
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert_eq!(out.len(), 1, "{out:?}");
    let sent = text_of(&out[0]);
    assert!(sent.contains("N:Schwarzene;Maximilian"), "{sent}");
    assert!(
        !sent.contains("NOTE") && !sent.contains("+4930111"),
        "{sent}"
    );
    assert!(sent.contains("TEL;CELL:+4917222"), "{sent}");
    let ServerChange::Add { server_id, .. } = &out[0] else {
        panic!("{out:?}");
    };
    run.apply_map(&w.deps, &[(server_id.clone(), "p1".into())])
        .expect("map");

    // The phone sends back exactly what it holds: nothing changes upstream.
    let writes = w.dav.writes();
    let (before, _) = w.dav.get(&href).expect("stored");
    let mut run = w.contacts(SyncMethod::TwoWay);
    run.cap = ctcap();
    let (st, _) = w
        .session(&mut run, vec![replace("p1", sent.into_bytes())])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(
        w.dav.writes(),
        writes,
        "the shaped form was written upstream"
    );
    assert_eq!(w.dav.get(&href).expect("stored").0, before);
}

#[tokio::test]
async fn an_item_over_the_phones_max_obj_size_is_held_back_and_offered_again() {
    let w = world(ConflictPolicy::Merge);
    let small = format!("{CONTACTS}small.vcf");
    let big = format!("{CONTACTS}big.vcf");
    w.edit(&small, &server_card("small", "Small", "+1"));
    let note = "x".repeat(2000);
    w.edit(
        &big,
        &format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nN:Big;B;;;\r\nNOTE:{note}\r\nEND:VCARD\r\n"
        ),
    );
    let mut run = w.contacts(SyncMethod::Slow);
    run.phone_max_obj = Some(500);
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(text_of(&out[0]).contains("Small"));
    assert_eq!(run.held_back().len(), 1);
    assert_eq!(run.held_back()[0].href, big);
    assert_eq!(run.held_back()[0].limit, 500);
    let pending = w
        .deps
        .store
        .pending_maps(&key("contacts"))
        .expect("pending");
    assert!(pending.iter().all(|p| p.href != big), "{pending:?}");

    // A session in which the server sends nothing keeps it for later.
    let mut run = w.contacts(SyncMethod::OneWayFromClient);
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert!(out.is_empty(), "{out:?}");

    // Nothing changed upstream; the next session, with room, sends it.
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (_, out) = w.session(&mut run, Vec::new()).await;
    let bigs = out.iter().filter(|c| text_of(c).contains("Big")).count();
    assert_eq!(bigs, 1, "{out:?}");
    assert!(run.held_back().is_empty());
    let state = w
        .deps
        .store
        .datastore_state(&key("contacts"))
        .expect("state")
        .expect("stored");
    assert!(state.held_back.is_empty(), "{state:?}");
}
