//! Items sent to a phone whose Map did not arrive: a lost Map costs at most a slow sync,
//! never a copy, a merge of two items or a lost change.

use super::*;

const UPSTREAM: &str = "/dav/alice/contacts/anna.vcf";

impl World {
    /// A session of the phone of datastore `ds` that sends `changes`, gets the server's
    /// changes and, when `map` is given, the Map pairing the server's Adds with it.
    async fn session_mapping(
        &self,
        ds: &str,
        method: SyncMethod,
        changes: Vec<PhoneChange>,
        map: Option<&[(&str, &str)]>,
    ) -> (Vec<StatusCode>, Vec<ServerChange>) {
        let mut run = self.run(method, ds, CONTACTS, ItemKind::Contacts, None);
        let st = run
            .apply_phone_changes(&self.deps, changes)
            .await
            .expect("apply");
        let out = run
            .server_changes(&self.deps)
            .await
            .expect("server changes");
        if let Some(pairs) = map {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(s, l)| (s.to_string(), l.to_string()))
                .collect();
            run.apply_map(&self.deps, &pairs).expect("map");
        }
        run.commit(&self.deps).expect("commit");
        (st, out)
    }

    /// The server's one card goes to the phone of `ds`, whose Map is lost.
    async fn sent_without_map(&self, ds: &str) -> String {
        let (_, out) = self
            .session_mapping(ds, SyncMethod::Slow, Vec::new(), None)
            .await;
        let [ServerChange::Add { server_id, .. }] = &out[..] else {
            panic!("{out:?}");
        };
        // Short hrefs are their own server ids.
        assert_eq!(server_id, UPSTREAM);
        server_id.clone()
    }
}

fn one_upstream_card(w: &World) {
    w.edit(UPSTREAM, &server_card("anna", "Doe", "+111"));
}

#[tokio::test]
async fn a_change_to_an_item_whose_map_was_lost_waits_for_the_map_never_a_copy() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    // The phone edits the card and sends its Map only at the end of the next session.
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::TwoWay,
            vec![replace("p1", card("Doe", "+222"))],
            Some(&[(UPSTREAM, "p1")]),
        )
        .await;
    assert_eq!(st, vec![StatusCode::RetryLater]);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::TwoWay,
            vec![replace("p1", card("Doe", "+222"))],
            None,
        )
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    let (_, data) = w.dav.get(UPSTREAM).expect("kept");
    assert!(data.contains("+222"), "the phone's edit: {data}");
}

#[tokio::test]
async fn a_slow_sync_adds_a_phone_card_that_pairs_with_no_item_awaiting_its_map() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    // The phone deleted the card sent; its own new card reaches a slow sync as a
    // Replace (it was sent before, in a session that broke).
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            vec![replace("p7", card("Roe", "+777"))],
            None,
        )
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 2);
}

#[tokio::test]
async fn a_slow_sync_holds_back_a_namesake_of_an_item_awaiting_its_map_until_the_map_comes() {
    let w = world(ConflictPolicy::Merge);
    let with_note = |note: &str| {
        format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;CELL:+111\r\nNOTE:{note}\r\nEND:VCARD\r\n")
    };
    w.edit(UPSTREAM, &with_note("old"));
    w.sent_without_map("contacts").await;
    // The phone's edited copy disagrees on the note, so matching keeps it apart from
    // the item sent; its Map comes at the end of this session.
    let edited = || replace("p1", with_note("new").into_bytes());
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            vec![edited()],
            Some(&[(UPSTREAM, "p1")]),
        )
        .await;
    assert_eq!(st, vec![StatusCode::RetryLater]);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    let (st, _) = w
        .session_mapping("contacts", SyncMethod::TwoWay, vec![edited()], None)
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    let (_, data) = w.dav.get(UPSTREAM).expect("kept");
    assert!(data.contains("NOTE:new"), "the phone's edit: {data}");
}

/// The slow sync finds the phone's edited copy of an item sent without its Map new (the
/// item sent is gone); the phone's lost Map for it comes at the end of the session, or of
/// the session it starts over with after the first broke.
async fn late_map_after_slow_sync_stored_it_anew(started_over: bool) {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    assert!(w.dav.remove(UPSTREAM));
    let edited = || vec![replace("p1", card("Doe", "+222"))];
    if started_over {
        let mut run = w.run(
            SyncMethod::Slow,
            "contacts",
            CONTACTS,
            ItemKind::Contacts,
            None,
        );
        let st = run
            .apply_phone_changes(&w.deps, edited())
            .await
            .expect("apply");
        assert_eq!(st, vec![StatusCode::ItemAdded]);
    }
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            edited(),
            Some(&[(UPSTREAM, "p1")]),
        )
        .await;
    assert_eq!(st.len(), 1);
    let new = w.href_of("contacts", "p1").expect("paired");
    assert_ne!(new, UPSTREAM);
    let (_, out) = w
        .session_mapping("contacts", SyncMethod::TwoWay, Vec::new(), None)
        .await;
    assert!(out.is_empty(), "the phone's card is deleted: {out:?}");
    assert_eq!(w.href_of("contacts", "p1"), Some(new));
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
}

#[tokio::test]
async fn a_map_that_comes_after_a_slow_sync_added_its_item_anew_leaves_the_new_pairing() {
    late_map_after_slow_sync_stored_it_anew(false).await;
}

#[tokio::test]
async fn a_map_that_comes_after_a_slow_sync_started_over_leaves_the_new_pairing() {
    late_map_after_slow_sync_stored_it_anew(true).await;
}

#[tokio::test]
async fn a_slow_sync_re_creates_an_edited_copy_of_an_item_gone_before_its_map_at_its_old_href() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    assert!(w.dav.remove(UPSTREAM));
    // Same name and number as the copy sent, a note added on the phone: the same person,
    // so it comes back where another phone's edit of the card would land too.
    let edited = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;CELL:+111\r\nNOTE:new\r\nEND:VCARD\r\n";
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            vec![replace("p1", edited.as_bytes().to_vec())],
            None,
        )
        .await;
    assert_eq!(st.len(), 1);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    assert_eq!(w.href_of("contacts", "p1").as_deref(), Some(UPSTREAM));
    let (_, data) = w.dav.get(UPSTREAM).expect("re-created");
    assert!(data.contains("NOTE:new"), "{data}");
}

#[tokio::test]
async fn a_map_sent_again_at_the_start_of_the_next_session_is_accepted() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    let server_id = w.sent_without_map("contacts").await;
    let mut run = w.contacts(SyncMethod::TwoWay);
    run.apply_map(&w.deps, &[(server_id, "p1".into())])
        .expect("map");
    let (st, _) = w
        .session(&mut run, vec![replace("p1", card("Doe", "+222"))])
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.href_of("contacts", "p1").as_deref(), Some(UPSTREAM));
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
}

#[tokio::test]
async fn a_card_whose_map_comes_again_before_the_sync_is_not_sent_again() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    // A session sends the card and breaks before the phone's Map: nothing is committed.
    let mut run = w.contacts(SyncMethod::TwoWay);
    let out = run.server_changes(&w.deps).await.expect("server changes");
    let [ServerChange::Add { server_id, .. }] = &out[..] else {
        panic!("{out:?}");
    };
    // The next session gets the Map before the phone's (empty) Sync: the phone has the
    // card, and a Replace of it would overwrite an edit the phone sends only later.
    let mut run = w.contacts(SyncMethod::TwoWay);
    run.apply_map(&w.deps, &[(server_id.clone(), "p1".into())])
        .expect("map");
    let (st, out) = w.session(&mut run, Vec::new()).await;
    assert!(st.is_empty());
    assert!(out.is_empty(), "sent again: {out:?}");
    assert_eq!(w.href_of("contacts", "p1").as_deref(), Some(UPSTREAM));
}

#[tokio::test]
async fn a_map_that_never_comes_costs_a_slow_sync() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    w.session_mapping("contacts", SyncMethod::TwoWay, Vec::new(), None)
        .await;
    let prior = Prior::load(&w.deps.store, &key("contacts")).expect("prior");
    assert!(prior.state.force_slow, "next session is slow");
    // Kept for a Map sent after the end, and for the slow sync's pairing.
    let pending = |w: &World| {
        w.deps
            .store
            .pending_maps(&key("contacts"))
            .expect("pending")
            .len()
    };
    assert_eq!(pending(&w), 1);
    // The slow sync pairs the phone's unchanged copy with the server's card.
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            vec![replace(
                "p1",
                server_card("anna", "Doe", "+111").into_bytes(),
            )],
            None,
        )
        .await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.dav.hrefs(CONTACTS).len(), 1);
    // The slow sync judged every phone item: nothing waits any more.
    assert_eq!(pending(&w), 0);
}

#[tokio::test]
async fn a_card_deleted_upstream_before_its_map_came_is_deleted_on_the_phone() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    assert!(w.dav.remove(UPSTREAM));
    // The session that learns of the delete gets the Map of the earlier session's Add
    // at its end, too late to send a Delete in it.
    let (_, out) = w
        .session_mapping(
            "contacts",
            SyncMethod::TwoWay,
            Vec::new(),
            Some(&[(UPSTREAM, "p1")]),
        )
        .await;
    assert!(out.is_empty(), "{out:?}");
    let (_, out) = w
        .session_mapping("contacts", SyncMethod::TwoWay, Vec::new(), None)
        .await;
    assert!(
        matches!(&out[..], [ServerChange::Delete { luid }] if luid == "p1"),
        "{out:?}"
    );
    assert_eq!(w.href_of("contacts", "p1"), None);
    let (_, out) = w
        .session_mapping("contacts", SyncMethod::TwoWay, Vec::new(), None)
        .await;
    assert!(out.is_empty(), "sent once: {out:?}");
}

#[tokio::test]
async fn a_slow_sync_that_re_creates_a_card_deleted_before_its_map_came_voids_the_delete_owed() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    w.sent_without_map("contacts").await;
    assert!(w.dav.remove(UPSTREAM));
    // The Map comes at the end of the session that learns of the delete: a Delete is
    // owed. The next session is slow, and the phone's edit of the card re-creates it.
    w.session_mapping(
        "contacts",
        SyncMethod::TwoWay,
        Vec::new(),
        Some(&[(UPSTREAM, "p1")]),
    )
    .await;
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::Slow,
            vec![replace("p1", card("Doe", "+222"))],
            None,
        )
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    let (_, out) = w
        .session_mapping("contacts", SyncMethod::TwoWay, Vec::new(), None)
        .await;
    assert!(
        out.is_empty(),
        "the card the phone re-created is deleted: {out:?}"
    );
    assert_eq!(w.href_of("contacts", "p1").as_deref(), Some(UPSTREAM));
}

#[tokio::test]
async fn a_deleted_card_changed_on_two_phones_is_re_created_once() {
    let w = world(ConflictPolicy::Merge);
    one_upstream_card(&w);
    for (ds, luid) in [("contacts", "a1"), ("contacts2", "b1")] {
        w.session_mapping(ds, SyncMethod::Slow, Vec::new(), Some(&[(UPSTREAM, luid)]))
            .await;
    }
    assert!(w.dav.remove(UPSTREAM));
    let (st, _) = w
        .session_mapping(
            "contacts",
            SyncMethod::TwoWay,
            vec![replace("a1", card("Doe", "+222"))],
            None,
        )
        .await;
    assert_eq!(st, vec![StatusCode::ItemAdded]);
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    w.session_mapping(
        "contacts2",
        SyncMethod::TwoWay,
        vec![replace("b1", card("Doe", "+333"))],
        None,
    )
    .await;
    assert_eq!(w.dav.hrefs(CONTACTS), vec![UPSTREAM.to_owned()]);
    let (_, data) = w.dav.get(UPSTREAM).expect("re-created");
    assert!(data.contains("+333"), "the second phone's edit: {data}");
    assert_eq!(w.href_of("contacts", "a1").as_deref(), Some(UPSTREAM));
}
