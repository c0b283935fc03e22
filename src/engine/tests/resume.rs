//! An interrupted session continued from what it kept: nothing applied twice, nothing
//! the phone acknowledged sent again, the rest sent.

use super::*;

#[tokio::test]
async fn a_resumed_session_applies_nothing_twice_and_sends_only_what_the_phone_lacks() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    // Two server items new since the last session.
    let a = format!("{CONTACTS}srv-a.vcf");
    let b = format!("{CONTACTS}srv-b.vcf");
    w.edit(&a, &server_card("srv-a", "Alpha", "+701"));
    w.edit(&b, &server_card("srv-b", "Beta", "+702"));
    let changes = || {
        vec![
            add("10", Format::Vcard21, card("Ten", "+110")),
            add("11", Format::Vcard21, card("Eleven", "+111")),
            add("12", Format::Vcard21, card("Twelve", "+112")),
        ]
    };

    // Session 1: the phone's first item arrives, the server's changes go out, the phone
    // acknowledges one of them; then the line breaks (no commit).
    let mut first = w.contacts(SyncMethod::TwoWay);
    first.set_phone_last(Some("phone-2".into()));
    let st = first
        .apply_phone_changes(&w.deps, changes()[..1].to_vec())
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    let out = first.server_changes(&w.deps).await.expect("server changes");
    first.note_sent(&w.deps, &out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(first.acknowledge("Add", &a));
    assert!(!first.acknowledge("Add", "never-sent"));
    first.save_resumable(&w.deps).expect("kept");
    let writes = w.dav.writes();

    // Session 2 resumes: the phone sends all three again (it never got the statuses).
    let record = w
        .deps
        .store
        .suspended_run(&key("contacts"))
        .expect("read")
        .expect("kept");
    assert_eq!(record.phone_last.as_deref(), Some("phone-2"));
    let mut second = w.contacts(SyncMethod::TwoWay);
    second.resume_from(record);
    let (st, out) = w.session(&mut second, changes()).await;
    assert_eq!(st, vec![StatusCode::ItemAdded; 3]);
    assert_eq!(
        w.dav.writes() - writes,
        2,
        "the first item was written twice"
    );
    assert_eq!(
        w.dav.hrefs(CONTACTS).len(),
        6,
        "{:?}",
        w.dav.hrefs(CONTACTS)
    );
    // Only the change the phone did not acknowledge goes again, and none of its own.
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == b),
        "{out:?}"
    );
    // Completed: the record is gone, the anchors moved.
    assert!(w
        .deps
        .store
        .suspended_run(&key("contacts"))
        .expect("read")
        .is_none());
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-1")));
}

#[tokio::test]
async fn a_changed_item_sent_again_is_applied_again() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    let mut first = w.contacts(SyncMethod::TwoWay);
    first
        .apply_phone_changes(&w.deps, vec![replace("1", card("Doe", "+201"))])
        .await
        .expect("apply");
    first.save_resumable(&w.deps).expect("kept");
    let record = w
        .deps
        .store
        .suspended_run(&key("contacts"))
        .expect("read")
        .expect("kept");
    let mut second = w.contacts(SyncMethod::TwoWay);
    second.resume_from(record);
    // The phone edited the item again in between: the new version is applied.
    let (st, _) = w
        .session(&mut second, vec![replace("1", card("Doe", "+202"))])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("+202"), "{data}");
}

#[tokio::test]
async fn an_acknowledged_replace_is_not_sent_again_and_an_unacknowledged_one_is() {
    let w = world(ConflictPolicy::Merge);
    let one = first_sync_with_one_contact(&w).await;
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "2", card("Two", "+202"))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    let two = w.href_of("contacts", "2").expect("mapped");
    w.edit(&one, &server_card("u1", "Doe", "+901"));
    w.edit(&two, &server_card("u2", "Two", "+902"));

    let mut first = w.contacts(SyncMethod::TwoWay);
    first
        .apply_phone_changes(&w.deps, Vec::new())
        .await
        .expect("apply");
    let out = first.server_changes(&w.deps).await.expect("server changes");
    first.note_sent(&w.deps, &out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(!first.acknowledge("Put", "1"), "not an item command");
    assert!(first.acknowledge("Replace", "1"));
    assert!(!first.acknowledge("Replace", "1"), "acknowledged once");
    first.save_resumable(&w.deps).expect("kept");

    let record = w
        .deps
        .store
        .suspended_run(&key("contacts"))
        .expect("read")
        .expect("kept");
    let mut second = w.contacts(SyncMethod::TwoWay);
    second.resume_from(record);
    let (_, out) = w.session(&mut second, Vec::new()).await;
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, data }]
            if luid == "2" && String::from_utf8_lossy(data).contains("+902")),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_resumed_session_whose_first_part_failed_upstream_keeps_the_anchors() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    w.dav.refuse(CONTACTS, 503);
    let mut first = w.contacts(SyncMethod::TwoWay);
    let st = first
        .apply_phone_changes(&w.deps, vec![add("5", Format::Vcard21, card("Five", "+5"))])
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::ServiceUnavailable]);
    first.save_resumable(&w.deps).expect("kept");
    let record = w
        .deps
        .store
        .suspended_run(&key("contacts"))
        .expect("read")
        .expect("kept");
    assert!(record.failed);
    let mut second = w.contacts(SyncMethod::TwoWay);
    second.resume_from(record);
    assert!(second.failed());
    w.session(&mut second, Vec::new()).await;
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-2")), "the anchors moved");
}
