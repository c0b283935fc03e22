//! A slow sync, or a change sent again, for an item whose last exchange the map entry
//! remembers: the side that changed it since wins, not the union.

use super::*;

/// The phone adds a card in a two-way sync; its href.
async fn phone_card(w: &World, tel: &str) -> String {
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "p1", card("Doe", tel))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    w.href_of("contacts", "p1").expect("mapped")
}

async fn slow_sync_with(w: &World, tel: &str) -> (Vec<StatusCode>, Vec<ServerChange>) {
    let mut run = w.contacts(SyncMethod::Slow);
    w.session(&mut run, vec![replace("p1", card("Doe", tel))])
        .await
}

#[tokio::test]
async fn an_unchanged_copy_in_a_slow_sync_gets_the_newer_server_version_and_writes_nothing() {
    let w = world(ConflictPolicy::Merge);
    let href = phone_card(&w, "+111").await;
    // Another client replaces the number.
    w.edit(&href, &server_card("doe", "Doe", "+999"));
    let writes = w.dav.writes();
    let (st, out) = slow_sync_with(&w, "+111").await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.dav.writes(), writes, "the old copy was written");
    let (_, stored) = w.dav.get(&href).expect("still there");
    assert!(
        !stored.contains("+111"),
        "the replaced number came back: {stored}"
    );
    let [ServerChange::Replace { luid, data }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(luid, "p1");
    assert!(String::from_utf8_lossy(data).contains("+999"));
}

#[tokio::test]
async fn an_unchanged_copy_of_an_item_deleted_upstream_is_deleted_on_the_phone() {
    let w = world(ConflictPolicy::Merge);
    let href = phone_card(&w, "+111").await;
    assert!(w.dav.remove(&href));
    let (st, out) = slow_sync_with(&w, "+111").await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(
        w.dav.hrefs(CONTACTS).is_empty(),
        "the deleted card came back"
    );
    assert!(
        matches!(&out[..], [ServerChange::Delete { luid }] if luid == "p1"),
        "{out:?}"
    );
    assert_eq!(w.href_of("contacts", "p1"), None);
}

#[tokio::test]
async fn a_change_only_the_phone_made_replaces_the_old_value_in_a_slow_sync() {
    let w = world(ConflictPolicy::Merge);
    let href = phone_card(&w, "+111").await;
    let (st, _) = slow_sync_with(&w, "+222").await;
    assert_eq!(st, vec![StatusCode::Ok]);
    let (_, stored) = w.dav.get(&href).expect("still there");
    assert!(stored.contains("+222"), "{stored}");
    assert!(
        !stored.contains("+111"),
        "the union kept the replaced number: {stored}"
    );
}

#[tokio::test]
async fn a_copy_changed_on_both_sides_is_still_united() {
    let w = world(ConflictPolicy::Merge);
    let href = phone_card(&w, "+111").await;
    w.edit(&href, &server_card("doe", "Doe", "+999"));
    let (st, _) = slow_sync_with(&w, "+222").await;
    assert_eq!(st, vec![StatusCode::Ok]);
    let (_, stored) = w.dav.get(&href).expect("still there");
    assert!(
        stored.contains("+222") && stored.contains("+999"),
        "{stored}"
    );
}

/// A 2.1 card with a number and a note, as a phone sends it.
fn card_with_note(tel: &str, note: &str) -> Vec<u8> {
    format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;CELL:{tel}\r\nNOTE:{note}\r\nEND:VCARD\r\n")
        .into_bytes()
}

fn server_card_with_note(tel: &str, note: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:doe\r\nN:Doe;John;;;\r\nFN:John Doe\r\nTEL;TYPE=CELL:{tel}\r\nNOTE:{note}\r\nEND:VCARD\r\n")
}

/// The phone's card with a note, mapped; its href.
async fn phone_card_with_note(w: &World) -> String {
    let (st, _) = w
        .session_adding(SyncMethod::TwoWay, "p1", card_with_note("+111", "first"))
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    w.href_of("contacts", "p1").expect("mapped")
}

/// Another client replaces the number, the phone rewrites the note, and a `method`
/// session brings the phone's copy: the stored card must hold the new number and the new
/// note, never the old number.
async fn both_changed(method: SyncMethod) -> (Vec<StatusCode>, Vec<ServerChange>) {
    let w = world(ConflictPolicy::Merge);
    let href = phone_card_with_note(&w).await;
    w.edit(&href, &server_card_with_note("+999", "first"));
    let mut run = w.contacts(method);
    let changed = replace("p1", card_with_note("+111", "second"));
    let result = w.session(&mut run, vec![changed]).await;
    let (_, stored) = w.dav.get(&href).expect("still there");
    assert!(
        stored.contains("+999") && stored.contains("NOTE:second"),
        "{stored}"
    );
    assert!(!stored.contains("+111"), "the old number won: {stored}");
    result
}

#[tokio::test]
async fn a_slow_sync_after_both_sides_changed_takes_each_field_from_the_side_that_changed_it() {
    let (st, out) = both_changed(SyncMethod::Slow).await;
    assert_eq!(st, vec![StatusCode::Ok]);
    // The phone still holds the old number: the result goes back to it.
    let [ServerChange::Replace { luid, data }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(luid, "p1");
    let sent = String::from_utf8_lossy(data);
    assert!(sent.contains("+999") && sent.contains("second"), "{sent}");
}

#[tokio::test]
async fn a_merge_conflict_keeps_the_fields_only_the_server_changed() {
    let (st, _) = both_changed(SyncMethod::TwoWay).await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedWithMerge]);
}

/// A server edit of the phone's card goes to the phone as a Replace, which it answers
/// with 404. The world and the card's href.
async fn replace_answered_404(policy: ConflictPolicy) -> (World, String) {
    let w = world(policy);
    let href = phone_card(&w, "+111").await;
    w.edit(&href, &server_card("doe", "Doe", "+999"));
    let mut run = w.contacts(SyncMethod::TwoWay);
    run.apply_phone_changes(&w.deps, vec![])
        .await
        .expect("apply");
    let out = run.server_changes(&w.deps).await.expect("changes");
    assert!(
        matches!(&out[..], [ServerChange::Replace { luid, .. }] if luid == "p1"),
        "{out:?}"
    );
    run.refused("Replace", "p1", StatusCode::NotFound);
    run.commit(&w.deps).expect("commit");
    (w, href)
}

#[tokio::test]
async fn a_replace_the_phone_answers_with_404_goes_as_new_next_session() {
    // The phone lost the card (a session that broke after it applied a Delete).
    let (w, _) = replace_answered_404(ConflictPolicy::Merge).await;

    let (_, out) = w.session(&mut w.contacts(SyncMethod::TwoWay), vec![]).await;
    let [ServerChange::Add { data, .. }] = &out[..] else {
        panic!("the card did not go again as new: {out:?}");
    };
    assert!(String::from_utf8_lossy(data).contains("+999"));
    assert_eq!(
        w.href_of("contacts", "p1"),
        None,
        "the old LUID is forgotten"
    );
    // Sent once: the session after has nothing more.
    let (_, out) = w.session(&mut w.contacts(SyncMethod::TwoWay), vec![]).await;
    assert!(out.is_empty(), "{out:?}");
}

#[tokio::test]
async fn a_card_the_phone_deleted_before_the_newer_version_it_answered_404_is_kept() {
    // The user deleted the card before the server's edit reached the phone: the delete
    // never saw the edit, so, as a delete meeting a 412, the edit stays and comes back.
    let (w, href) = replace_answered_404(ConflictPolicy::Merge).await;

    let delete = PhoneChange::Delete { luid: "p1".into() };
    let (st, out) = w
        .session(&mut w.contacts(SyncMethod::TwoWay), vec![delete])
        .await;
    assert_eq!(st, vec![StatusCode::ConflictResolvedServerWins]);
    assert!(w.dav.get(&href).is_some(), "the unseen edit was deleted");
    let [ServerChange::Add { data, .. }] = &out[..] else {
        panic!("the kept card did not go back as new: {out:?}");
    };
    assert!(String::from_utf8_lossy(data).contains("+999"));
}

#[tokio::test]
async fn under_client_wins_a_card_the_phone_answered_404_and_then_deleted_is_deleted() {
    let (w, href) = replace_answered_404(ConflictPolicy::ClientWins).await;

    let delete = PhoneChange::Delete { luid: "p1".into() };
    let (st, out) = w
        .session(&mut w.contacts(SyncMethod::TwoWay), vec![delete])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert!(out.is_empty(), "the deleted card came back: {out:?}");
    assert!(
        w.dav.get(&href).is_none(),
        "the phone's delete did not land"
    );
}
