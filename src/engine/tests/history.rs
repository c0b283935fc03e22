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
