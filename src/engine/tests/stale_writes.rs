//! Writes that meet a 412 because someone edits the item upstream between the bridge's
//! read and its write: resolved by the policy and retried inside the session.

use super::*;

/// The stored item at `href` with an e-mail address another client added.
fn with_email(w: &World, href: &str) -> String {
    let (_, data) = w.dav.get(href).expect("stored");
    data.replace("END:VCARD", "EMAIL:upstream@example.org\r\nEND:VCARD")
}

/// A first session adds one contact; then someone edits it upstream while the next
/// session's write of the phone's Replace is on its way, `times` times over.
async fn replace_racing_an_edit(
    policy: ConflictPolicy,
    times: usize,
) -> (
    World,
    String,
    DatastoreRun,
    Vec<StatusCode>,
    Vec<ServerChange>,
) {
    let w = world(policy);
    let href = first_sync_with_one_contact(&w).await;
    w.dav.race_next_writes(&href, &with_email(&w, &href), times);
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![replace("1", card("Doe", "+222"))])
        .await;
    (w, href, run, st, out)
}

fn assert_anchors_moved(w: &World) {
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-1")), "anchors kept");
}

#[tokio::test]
async fn a_412_once_is_merged_and_retried_inside_the_session() {
    let (w, href, run, st, out) = replace_racing_an_edit(ConflictPolicy::Merge, 1).await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedWithMerge]);
    assert!(!run.failed());
    assert_anchors_moved(&w);
    let (etag, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("+222"), "the phone's number: {data}");
    assert!(
        data.contains("upstream@example.org"),
        "the upstream edit: {data}"
    );
    // The merged version goes to the phone in this session, and its map holds the etag
    // written, so the next session is quiet.
    let [ServerChange::Replace { luid, data: sent }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(luid, "1");
    assert!(String::from_utf8_lossy(sent).contains("upstream@example.org"));
    let entry = w.deps.store.map(&key("contacts")).expect("map");
    assert_eq!(entry[0].etag.as_deref(), Some(etag.as_str()));
    let mut next = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w.session(&mut next, Vec::new()).await;
    assert!(st.is_empty() && out.is_empty(), "{out:?}");
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
}

#[tokio::test]
async fn a_412_with_client_wins_writes_the_phone_version_and_sends_nothing_back() {
    let (w, href, run, st, out) = replace_racing_an_edit(ConflictPolicy::ClientWins, 1).await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedClientWins]);
    assert!(!run.failed());
    assert!(out.is_empty(), "{out:?}");
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("+222"), "{data}");
    assert_anchors_moved(&w);
}

#[tokio::test]
async fn a_412_with_server_wins_keeps_the_upstream_edit_and_sends_it_to_the_phone() {
    let (w, href, run, st, out) = replace_racing_an_edit(ConflictPolicy::ServerWins, 1).await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedServerWins]);
    assert!(!run.failed());
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(
        data.contains("upstream@example.org") && data.contains("+111"),
        "{data}"
    );
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, data }]
            if luid == "1" && String::from_utf8_lossy(data).contains("upstream@example.org")),
        "{out:?}"
    );
    assert_anchors_moved(&w);
}

#[tokio::test]
async fn a_412_with_duplicate_keeps_both_versions() {
    let (w, href, run, st, out) = replace_racing_an_edit(ConflictPolicy::Duplicate, 1).await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedWithDuplicate]);
    assert!(!run.failed());
    let hrefs = w.dav.hrefs(CONTACTS);
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    let phone_href = w.href_of("contacts", "1").expect("phone item mapped");
    assert_ne!(phone_href, href);
    let (_, mine) = w.dav.get(&phone_href).expect("phone version");
    assert!(mine.contains("+222"), "{mine}");
    // The server's version reaches the phone as a new item.
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == href),
        "{out:?}"
    );
    assert_anchors_moved(&w);
}

#[tokio::test]
async fn a_412_every_time_fails_the_item_after_the_retries_and_keeps_the_anchors() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav
        .race_next_writes(&href, &with_email(&w, &href), usize::MAX);
    let writes = w.dav.writes();
    let mut run = w.contacts(SyncMethod::TwoWay);
    let st = run
        .apply_phone_changes(
            &w.deps,
            vec![
                replace("1", card("Doe", "+222")),
                add("2", Format::Vcard21, card("Other", "+333")),
            ],
        )
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::Conflict, StatusCode::ItemAdded]);
    assert_eq!(w.dav.writes() - writes, 2 + STALE_WRITE_RETRIES);
    assert!(run.failed(), "the anchors must stay");
    run.server_changes(&w.deps).await.expect("server changes");
    run.commit(&w.deps).expect("commit");
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.anchors_match(Some("phone-2")), "anchors moved");
    // What was written is mapped: the repeated session finds it.
    assert!(w.href_of("contacts", "2").is_some());
}

#[tokio::test]
async fn a_delete_meeting_a_412_keeps_the_edit_and_sends_it_back() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav.race_next_writes(&href, &with_email(&w, &href), 1);
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![PhoneChange::Delete { luid: "1".into() }])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedServerWins]);
    assert!(w.dav.get(&href).is_some(), "an edited item is not deleted");
    assert!(
        matches!(&out[..], [ServerChange::Add { server_id, .. }] if *server_id == href),
        "{out:?}"
    );
    assert!(!run.failed());
}

#[tokio::test]
async fn a_delete_meeting_a_412_with_client_wins_deletes_the_new_version() {
    let w = world(ConflictPolicy::ClientWins);
    let href = first_sync_with_one_contact(&w).await;
    w.dav.race_next_writes(&href, &with_email(&w, &href), 1);
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(&mut run, vec![PhoneChange::Delete { luid: "1".into() }])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedClientWins]);
    assert!(w.dav.get(&href).is_none(), "deleted");
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(w.href_of("contacts", "1"), None);
    assert_anchors_moved(&w);
}

#[tokio::test]
async fn a_create_meeting_the_same_uid_upstream_is_resolved_by_the_policy() {
    let w = world(ConflictPolicy::Merge);
    first_sync_with_one_contact(&w).await;
    let uid = "phone-made-uid-42";
    let href = format!("{CONTACTS}{uid}.vcf");
    // The same contact, created upstream by another client while the phone's Add is
    // on its way.
    w.dav
        .race_next_writes(&href, &server_card(uid, "Mayer", "+444"), 1);
    let phone = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nN:Mayer;John\r\nFN:John Mayer\r\nEMAIL:john@example.org\r\nEND:VCARD\r\n"
    );
    let mut run = w.contacts(SyncMethod::TwoWay);
    let (st, out) = w
        .session(
            &mut run,
            vec![add("2", Format::Vcard30, phone.into_bytes())],
        )
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedWithMerge]);
    assert!(!run.failed());
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 2, "no duplicate");
    let (_, data) = w.dav.get(&href).expect("one item");
    assert!(
        data.contains("+444") && data.contains("john@example.org"),
        "{data}"
    );
    assert_eq!(w.href_of("contacts", "2").as_deref(), Some(href.as_str()));
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, .. }] if luid == "2"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_create_meeting_another_uid_under_its_name_is_not_an_overwrite() {
    let w = world(ConflictPolicy::ClientWins);
    first_sync_with_one_contact(&w).await;
    let href = format!("{CONTACTS}taken-name.vcf");
    w.dav
        .race_next_writes(&href, &server_card("someone-else", "Else", "+5"), 1);
    let phone = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:taken-name\r\nN:Mine;John\r\nEND:VCARD\r\n";
    let mut run = w.contacts(SyncMethod::TwoWay);
    let st = run
        .apply_phone_changes(&w.deps, vec![add("2", Format::Vcard30, phone.into())])
        .await
        .expect("apply");
    assert_eq!(st, vec![StatusCode::Conflict]);
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("someone-else"), "{data}");
    assert_eq!(w.href_of("contacts", "2"), None);
}

#[tokio::test]
async fn a_412_during_a_slow_sync_keeps_the_upstream_edit_and_sends_it_back() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav.race_next_writes(&href, &with_email(&w, &href), 1);
    let mut run = w.contacts(SyncMethod::Slow);
    // The phone sends its card again with a note added: matched, merged, written.
    let phone = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;CELL:+111\r\nNOTE:from the phone\r\nEND:VCARD\r\n";
    let (st, out) = w
        .session(&mut run, vec![add("1", Format::Vcard21, phone.into())])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(!run.failed());
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(
        data.contains("upstream@example.org") && data.contains("from the phone"),
        "{data}"
    );
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, data }]
            if luid == "1" && String::from_utf8_lossy(data).contains("upstream@example.org")),
        "{out:?}"
    );
}

/// The stored item at `href` as another client edited it: its number and note changed.
fn with_new_number_and_note(w: &World, href: &str) -> String {
    let (_, data) = w.dav.get(href).expect("stored");
    data.replace("+111", "+999")
        .replace("END:VCARD", "NOTE:edited upstream\r\nEND:VCARD")
}

/// The phone's card again in a slow sync, with its own note and its old number.
fn phone_card_with_note() -> Vec<u8> {
    b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;CELL:+111\r\nNOTE:from the phone\r\nEND:VCARD\r\n".to_vec()
}

#[tokio::test]
async fn a_412_during_a_slow_sync_unites_the_new_version_with_the_phone_copy() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav
        .race_next_writes(&href, &with_new_number_and_note(&w, &href), 1);
    let mut run = w.contacts(SyncMethod::Slow);
    let (st, out) = w
        .session(
            &mut run,
            vec![add("1", Format::Vcard21, phone_card_with_note())],
        )
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(!run.failed());
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
    let (_, data) = w.dav.get(&href).expect("kept");
    // Neither side overwrites the other: both numbers, and the server's single note.
    assert!(data.contains("+999") && data.contains("+111"), "{data}");
    assert!(data.contains("edited upstream"), "{data}");
    assert!(!data.contains("from the phone"), "{data}");
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, data }]
            if luid == "1" && String::from_utf8_lossy(data).contains("+999")),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_412_during_a_one_way_slow_to_server_unites_and_sends_nothing_back() {
    let w = world(ConflictPolicy::Merge);
    let href = first_sync_with_one_contact(&w).await;
    w.dav
        .race_next_writes(&href, &with_new_number_and_note(&w, &href), 1);
    let mut run = w.contacts(SyncMethod::OneWaySlowToServer);
    let (st, out) = w
        .session(
            &mut run,
            vec![add("1", Format::Vcard21, phone_card_with_note())],
        )
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(!run.failed());
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("+999") && data.contains("+111"), "{data}");
    assert!(data.contains("edited upstream"), "{data}");
    assert!(out.is_empty(), "{out:?}");
}
