//! The upstream DAV client against real Radicale and Xandikos servers.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use syncml_bridge::config::UpstreamConfig;
use syncml_bridge::dav::{
    ChangeMethod, ChangeState, Changes, CollectionType, Created, Credentials, DataKind, DavClient,
    DavError, DavUser, ItemKind, Login,
};

use support::radicale::Radicale;
use support::webdav::WebDav;
use support::xandikos::{self, Xandikos};

const VCARD_TYPE: &str = "text/vcard; charset=utf-8";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config(base: &str) -> UpstreamConfig {
    UpstreamConfig {
        url: format!("{}/", base.trim_end_matches('/')),
        connect_timeout_secs: 5,
        request_timeout_secs: 30,
        ..UpstreamConfig::default()
    }
}

fn user(config: &UpstreamConfig, name: &str, password: &str) -> DavUser {
    DavClient::new(config)
        .unwrap()
        .user(Credentials::new(name, password))
}

fn vcard(uid: &str, name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n")
}

fn vtodo(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:{uid}\r\n\
         DTSTAMP:20240101T000000Z\r\nSUMMARY:{summary}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
}

fn hrefs(changes: &Changes) -> Vec<String> {
    let mut v: Vec<String> = changes.changed.iter().map(|c| c.href.clone()).collect();
    v.sort();
    v
}

// ---------------------------------------------------------------- log-in

#[test]
fn radicale_login_is_accepted_refused_and_remembered() {
    let radicale = Radicale::start();
    let cfg = config(&radicale.base_url());
    let client = DavClient::new(&cfg).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let alice = client.user(Credentials::new("alice", "secret"));
        assert_eq!(alice.check_login().await.unwrap(), Login::Accepted);
        let before = client.requests_sent();
        assert_eq!(alice.check_login().await.unwrap(), Login::Accepted);
        assert_eq!(
            client.requests_sent(),
            before,
            "a remembered log-in asks nothing"
        );

        let wrong = client.user(Credentials::new("alice", "not-the-secret"));
        assert_eq!(wrong.check_login().await.unwrap(), Login::Refused);
        let nobody = client.user(Credentials::new("mallory", "secret"));
        assert_eq!(nobody.check_login().await.unwrap(), Login::Refused);
        // A refusal is never remembered as a success.
        assert_eq!(wrong.check_login().await.unwrap(), Login::Refused);
    });
}

// ---------------------------------------------------------------- discovery

#[test]
fn radicale_discovery_finds_each_kind_and_config_overrides_it() {
    let radicale = Radicale::start();
    radicale.standard_collections("alice");
    let cfg = config(&radicale.base_url());
    let rt = runtime();
    rt.block_on(async {
        let alice = user(&cfg, "alice", "secret");
        let found = alice.discover().await.unwrap();
        assert_eq!(found.principal.as_deref(), Some("/alice/"));
        assert_eq!(found.addressbook_homes, ["/alice/"]);
        let contacts = found.best_for(ItemKind::Contacts).unwrap();
        assert_eq!(contacts.href, "/alice/contacts/");
        assert_eq!(contacts.kind, CollectionType::AddressBook);
        assert!(contacts.supports_sync_collection());
        assert!(contacts.reports.iter().any(|r| r == "addressbook-multiget"));
        assert!(contacts.ctag.is_some());
        assert_eq!(
            found.best_for(ItemKind::Events).unwrap().href,
            "/alice/calendar/"
        );
        let tasks = found.best_for(ItemKind::Tasks).unwrap();
        assert_eq!(tasks.href, "/alice/tasks/");
        assert_eq!(tasks.components, ["VTODO"]);
        assert_eq!(tasks.data_kind(), DataKind::Calendar);
        assert_eq!(contacts.data_kind(), DataKind::Card);
        assert_eq!(
            found.best_for(ItemKind::Notes).unwrap().href,
            "/alice/notes/"
        );

        // An explicit URL wins over discovery, with {user} filled in.
        let mut cfg = cfg.clone();
        cfg.collections.insert(
            "tasks".into(),
            format!("{}/{{user}}/calendar/", radicale.base_url()),
        );
        let alice = user(&cfg, "alice", "secret");
        let tasks = alice.collection_for(ItemKind::Tasks).await.unwrap();
        assert_eq!(tasks.href, "/alice/calendar/");
        assert_eq!(tasks.components, ["VEVENT"]);
    });
}

#[test]
fn discovery_is_shared_by_a_users_devices_and_never_by_a_wrong_password() {
    let radicale = Radicale::start();
    radicale.standard_collections("alice");
    let rt = runtime();
    let client = DavClient::new(&config(&radicale.base_url())).unwrap();
    let phone_1 = client.user(Credentials::new("alice", "secret"));
    let first = rt.block_on(phone_1.discover()).unwrap();
    assert_eq!(first.collections.len(), 4);
    // A second device of the same user: no request at all.
    let before = client.requests_sent();
    let phone_2 = client.user(Credentials::new("alice", "secret"));
    let second = rt.block_on(phone_2.discover()).unwrap();
    assert_eq!(second.collections.len(), 4);
    assert_eq!(client.requests_sent(), before);
    // The same user name with a wrong password reads nothing from the cache.
    let wrong = client.user(Credentials::new("alice", "nope"));
    let err = rt.block_on(wrong.discover()).unwrap_err();
    assert!(matches!(err, DavError::Unauthorized { .. }), "{err}");
}

#[test]
fn radicale_discovery_falls_back_to_the_well_known_urls() {
    let radicale = Radicale::start();
    radicale.standard_collections("alice");
    let rt = runtime();
    // A configured URL that holds no principal: the well-known URLs lead to it.
    let cfg = config(&format!("{}/elsewhere/", radicale.base_url()));
    let alice = user(&cfg, "alice", "secret");
    let client = alice.client().clone();
    let found = rt.block_on(alice.discover()).unwrap();
    assert_eq!(found.principal.as_deref(), Some("/alice/"));
    assert_eq!(found.collections.len(), 4, "{:?}", found.collections);
    assert!(client.requests_sent() >= 4);
    // A wrong password fails discovery as unauthorised, never as "nothing found".
    let wrong = user(&cfg, "alice", "nope");
    let err = rt.block_on(wrong.discover()).unwrap_err();
    assert!(matches!(err, DavError::Unauthorized { .. }), "{err}");
}

#[test]
fn radicale_missing_notes_collection_is_created_for_vjournal() {
    let radicale = Radicale::start();
    let dav = radicale.client("alice");
    dav.create_addressbook(&format!("{}contacts/", radicale.user_url("alice")));
    let rt = runtime();

    let mut cfg = config(&radicale.base_url());
    cfg.create_missing_collections = false;
    rt.block_on(async {
        let err = user(&cfg, "alice", "secret")
            .collection_for(ItemKind::Notes)
            .await
            .unwrap_err();
        assert!(matches!(err, DavError::NoCollection { .. }), "{err}");
    });

    cfg.create_missing_collections = true;
    rt.block_on(async {
        let alice = user(&cfg, "alice", "secret");
        let notes = alice.collection_for(ItemKind::Notes).await.unwrap();
        assert_eq!(notes.href, "/alice/notes/");
        assert_eq!(notes.kind, CollectionType::Calendar);
        assert_eq!(notes.components, ["VJOURNAL"]);
        assert_eq!(notes.displayname.as_deref(), Some("notes"));
        // Asking again finds it instead of making another.
        let again = alice.collection_for(ItemKind::Notes).await.unwrap();
        assert_eq!(again.href, notes.href);
        assert_eq!(
            alice
                .create_collection("/alice/notes/", ItemKind::Notes, "notes")
                .await
                .unwrap(),
            Created::AlreadyExists
        );
    });
}

// ---------------------------------------------------------------- writes

/// Create, update, delete with preconditions, and a concurrent change between read
/// and write that must surface as a conflict and overwrite nothing.
fn writes_with_preconditions(
    dav: &DavUser,
    other: &WebDav,
    collection: &str,
    rt: &tokio::runtime::Runtime,
) {
    let (created, conflict_on_create) = rt.block_on(async {
        let created = dav
            .create(collection, "ada.vcf", VCARD_TYPE, vcard("ada", "Ada"))
            .await
            .unwrap();
        let again = dav
            .create(collection, "ada.vcf", VCARD_TYPE, vcard("ada", "Other Ada"))
            .await
            .unwrap_err();
        (created, again)
    });
    assert_eq!(created.href, format!("{collection}ada.vcf"));
    assert!(!created.etag.is_empty());
    match conflict_on_create {
        DavError::Conflict { href, current_etag } => {
            assert_eq!(href, created.href);
            assert_eq!(current_etag.as_deref(), Some(created.etag.as_str()));
        }
        e => panic!("create over an existing item must conflict, got {e}"),
    }

    let updated = rt.block_on(async {
        dav.update(
            &created.href,
            &created.etag,
            VCARD_TYPE,
            vcard("ada", "Ada L."),
        )
        .await
        .unwrap()
    });
    assert_eq!(updated.href, created.href);
    assert_ne!(updated.etag, created.etag);

    // The bridge reads the item, then someone else changes it before the bridge writes.
    let read = rt.block_on(async {
        dav.multiget(
            collection,
            DataKind::Card,
            std::slice::from_ref(&created.href),
        )
        .await
        .unwrap()
    });
    assert_eq!(read.items.len(), 1);
    let seen_etag = read.items[0].etag.clone().unwrap();
    assert_eq!(seen_etag, updated.etag);
    let theirs = vcard("ada", "Changed Elsewhere");
    let their_put = other.put(&created.href, "text/vcard", &theirs);
    let err = rt.block_on(async {
        dav.update(
            &created.href,
            &seen_etag,
            VCARD_TYPE,
            vcard("ada", "Phone's Ada"),
        )
        .await
        .unwrap_err()
    });
    match &err {
        DavError::Conflict { current_etag, .. } => {
            assert!(current_etag.is_some());
            if let Some(theirs) = &their_put.etag {
                assert_eq!(current_etag.as_ref(), Some(theirs));
            }
            assert_ne!(current_etag.as_ref(), Some(&seen_etag));
        }
        e => panic!("a stale If-Match must conflict, got {e}"),
    }
    let stored = other.get(&created.href).unwrap();
    assert!(
        stored.body.contains("FN:Changed Elsewhere"),
        "overwritten: {}",
        stored.body
    );

    let current = rt
        .block_on(dav.current_etag(&created.href))
        .unwrap()
        .unwrap();
    let stale_delete = rt
        .block_on(dav.delete(&created.href, &seen_etag))
        .unwrap_err();
    assert!(
        matches!(stale_delete, DavError::Conflict { .. }),
        "{stale_delete}"
    );
    assert!(
        other.get(&created.href).is_some(),
        "a stale delete removed the item"
    );
    rt.block_on(dav.delete(&created.href, &current)).unwrap();
    assert!(other.get(&created.href).is_none());
    let gone = rt.block_on(dav.get(&created.href)).unwrap_err();
    assert!(matches!(gone, DavError::NotFound { .. }), "{gone}");
}

#[test]
fn radicale_writes_honour_preconditions() {
    let radicale = Radicale::start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let cfg = config(&radicale.base_url());
    let rt = runtime();
    let alice = user(&cfg, "alice", "secret");
    let path = support::webdav::url_path(&contacts);
    writes_with_preconditions(&alice, &radicale.client("alice"), &path, &rt);

    // Another user's collection is forbidden, not a conflict.
    let bob = user(&cfg, "bob", "hunter2");
    let err = rt
        .block_on(bob.create(&path, "x.vcf", VCARD_TYPE, vcard("x", "X")))
        .unwrap_err();
    assert!(matches!(err, DavError::Forbidden { .. }), "{err}");
}

#[test]
fn xandikos_writes_honour_preconditions() {
    let server = Xandikos::start();
    let cfg = config(&server.base_url());
    let rt = runtime();
    let dav = user(&cfg, "user", "unused");
    writes_with_preconditions(&dav, &server.client(), xandikos::DEFAULT_ADDRESSBOOK, &rt);
}

// ---------------------------------------------------------------- change detection

/// Several rounds of upstream changes, each found by `dav` as exactly what happened.
/// Returns the final state.
fn change_rounds(
    dav: &DavUser,
    other: &WebDav,
    collection: &str,
    rt: &tokio::runtime::Runtime,
    expect: ChangeMethod,
) -> ChangeState {
    for i in 0..3 {
        other.put(
            &format!("{collection}c{i}.vcf"),
            "text/vcard",
            &vcard(&format!("c{i}"), "Start"),
        );
    }
    let first = rt
        .block_on(dav.changes(collection, &ChangeState::default()))
        .unwrap();
    assert_eq!(first.changed.len(), 3);
    assert!(first.deleted.is_empty());
    let mut state = first.state;

    // Round 1: one new, one changed.
    other.put(
        &format!("{collection}c3.vcf"),
        "text/vcard",
        &vcard("c3", "New"),
    );
    other.put(
        &format!("{collection}c0.vcf"),
        "text/vcard",
        &vcard("c0", "Changed"),
    );
    assert!(rt.block_on(dav.has_changed(collection, &state)).unwrap());
    let round = rt.block_on(dav.changes(collection, &state)).unwrap();
    assert_eq!(round.method, expect);
    assert_eq!(
        hrefs(&round),
        [format!("{collection}c0.vcf"), format!("{collection}c3.vcf")]
    );
    assert!(round.deleted.is_empty());
    state = round.state;

    // Round 2: one deleted, one changed twice.
    other.delete(&format!("{collection}c1.vcf"));
    other.put(
        &format!("{collection}c2.vcf"),
        "text/vcard",
        &vcard("c2", "Once"),
    );
    other.put(
        &format!("{collection}c2.vcf"),
        "text/vcard",
        &vcard("c2", "Twice"),
    );
    let round = rt.block_on(dav.changes(collection, &state)).unwrap();
    assert_eq!(hrefs(&round), [format!("{collection}c2.vcf")]);
    assert_eq!(round.deleted, [format!("{collection}c1.vcf")]);
    state = round.state;

    // Round 3: nothing happened, and asking costs one request.
    let before = dav.client().requests_sent();
    assert!(!rt.block_on(dav.has_changed(collection, &state)).unwrap());
    assert_eq!(dav.client().requests_sent() - before, 1);
    let round = rt.block_on(dav.changes(collection, &state)).unwrap();
    assert!(
        round.changed.is_empty() && round.deleted.is_empty(),
        "{round:?}"
    );
    state = round.state;

    // Round 4: the bridge's own write is recorded and not reported back.
    let mine = rt
        .block_on(dav.create(collection, "mine.vcf", VCARD_TYPE, vcard("mine", "Mine")))
        .unwrap();
    state.record_write(&mine.href, &mine.etag);
    let round = rt.block_on(dav.changes(collection, &state)).unwrap();
    assert!(
        round.changed.is_empty() && round.deleted.is_empty(),
        "{round:?}"
    );
    let expected: Vec<String> = ["c0", "c2", "c3", "mine"]
        .iter()
        .map(|n| format!("{collection}{n}.vcf"))
        .collect();
    assert_eq!(
        round.state.etags.keys().cloned().collect::<Vec<_>>(),
        expected
    );
    round.state
}

#[test]
fn radicale_sync_token_and_etag_diff_find_the_same_changes() {
    let radicale = Radicale::start();
    radicale.standard_collections("alice");
    radicale.standard_collections("bob");
    let cfg = config(&radicale.base_url());
    let rt = runtime();

    let alice = user(&cfg, "alice", "secret");
    let state = change_rounds(
        &alice,
        &radicale.client("alice"),
        "/alice/contacts/",
        &rt,
        ChangeMethod::SyncToken,
    );
    assert!(state.sync_token.is_some());

    let mut forced = cfg.clone();
    forced.change_detection = "etag-diff".into();
    let bob = user(&forced, "bob", "hunter2");
    let state = change_rounds(
        &bob,
        &radicale.client("bob"),
        "/bob/contacts/",
        &rt,
        ChangeMethod::EtagDiff,
    );
    assert!(state.ctag.is_some());
}

#[test]
fn radicale_invalid_sync_token_recovers_with_the_exact_changes() {
    let radicale = Radicale::start();
    let [contacts, ..] = radicale.standard_collections("alice");
    let other = radicale.client("alice");
    let rt = runtime();
    let alice = user(&config(&radicale.base_url()), "alice", "secret");
    for name in ["a", "b", "c"] {
        other.put(
            &format!("{contacts}{name}.vcf"),
            "text/vcard",
            &vcard(name, name),
        );
    }
    let first = rt
        .block_on(alice.changes("/alice/contacts/", &ChangeState::default()))
        .unwrap();
    other.delete(&format!("{contacts}a.vcf"));
    other.put(&format!("{contacts}d.vcf"), "text/vcard", &vcard("d", "d"));

    let mut broken = first.state.clone();
    broken.sync_token =
        Some("http://radicale.org/ns/sync/0000000000000000000000000000000000000000".into());
    let changes = rt
        .block_on(alice.changes("/alice/contacts/", &broken))
        .unwrap();
    assert_eq!(changes.method, ChangeMethod::FullListing);
    assert_eq!(hrefs(&changes), ["/alice/contacts/d.vcf"]);
    assert_eq!(changes.deleted, ["/alice/contacts/a.vcf"]);
    // The token it got back works for the next round.
    let next = rt
        .block_on(alice.changes("/alice/contacts/", &changes.state))
        .unwrap();
    assert_eq!(next.method, ChangeMethod::SyncToken);
    assert!(next.changed.is_empty() && next.deleted.is_empty());

    let mut garbage = first.state;
    garbage.sync_token = Some("not a token at all <&>".into());
    let changes = rt
        .block_on(alice.changes("/alice/contacts/", &garbage))
        .unwrap();
    assert_eq!(changes.method, ChangeMethod::FullListing);
    assert_eq!(changes.deleted, ["/alice/contacts/a.vcf"]);
}

#[test]
fn xandikos_sync_token_and_etag_diff_find_the_same_changes() {
    let server = Xandikos::start();
    let rt = runtime();
    let other = server.client();
    let cfg = config(&server.base_url());
    let dav = user(&cfg, "user", "unused");
    let found = rt.block_on(dav.discover()).unwrap();
    assert_eq!(found.principal.as_deref(), Some(xandikos::PRINCIPAL));
    assert_eq!(
        found.best_for(ItemKind::Contacts).unwrap().href,
        xandikos::DEFAULT_ADDRESSBOOK
    );
    assert_eq!(
        found.best_for(ItemKind::Events).unwrap().href,
        xandikos::DEFAULT_CALENDAR
    );
    assert_eq!(
        found.best_for(ItemKind::Tasks).unwrap().href,
        xandikos::DEFAULT_CALENDAR
    );

    change_rounds(
        &dav,
        &other,
        xandikos::DEFAULT_ADDRESSBOOK,
        &rt,
        ChangeMethod::SyncToken,
    );

    let book = "/user/contacts/second/";
    let created = rt
        .block_on(dav.create_collection(book, ItemKind::Contacts, "Second"))
        .unwrap();
    assert_eq!(created, Created::Created);
    let mut forced = cfg;
    forced.change_detection = "etag-diff".into();
    let dav = user(&forced, "user", "unused");
    change_rounds(&dav, &other, book, &rt, ChangeMethod::EtagDiff);
}

#[test]
fn radicale_tasks_round_trip_through_calendar_multiget() {
    let radicale = Radicale::start();
    radicale.standard_collections("alice");
    let rt = runtime();
    let alice = user(&config(&radicale.base_url()), "alice", "secret");
    rt.block_on(async {
        let tasks = alice.collection_for(ItemKind::Tasks).await.unwrap();
        let text = vtodo("t1", "Buy milk");
        let w = alice
            .create(
                &tasks.href,
                "t1.ics",
                DataKind::Calendar.content_type(),
                text.clone(),
            )
            .await
            .unwrap();
        let changes = alice
            .changes(&tasks.href, &ChangeState::default())
            .await
            .unwrap();
        assert_eq!(changes.changed.len(), 1);
        assert_eq!(changes.changed[0].etag, w.etag);
        let got = alice
            .multiget(
                &tasks.href,
                DataKind::Calendar,
                &[w.href.clone(), format!("{}nope.ics", tasks.href)],
            )
            .await
            .unwrap();
        assert_eq!(got.items.len(), 1);
        assert!(got.items[0].data.contains("SUMMARY:Buy milk"));
        assert_eq!(got.missing, [format!("{}nope.ics", tasks.href)]);
    });
}

// ---------------------------------------------------------------- reads at scale

/// Writes `n` vCards straight into Radicale's storage folder (before it starts), as
/// loading them by PUT costs minutes. Returns name -> exact text.
fn seed_radicale_contacts(storage: &Path, user: &str, n: usize) -> BTreeMap<String, String> {
    let dir = storage.join("collection-root").join(user).join("contacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".Radicale.props"), r#"{"tag": "VADDRESSBOOK"}"#).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..n {
        let name = format!("contact-{i:05}.vcf");
        // Non-ASCII, XML-special characters and a vCard escape, to make "byte-exact"
        // mean something; properties in the order Radicale writes them, so the file is
        // also what Radicale serves.
        let text = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-{i:05}\r\nFN:Zoë Ünïcode {i} & <Co>\r\n\
             N:Ünïcode;Zoë;;;\r\nNOTE:line one\\nline two\r\nTEL;TYPE=CELL:+49 30 {i:07}\r\n\
             END:VCARD\r\n"
        );
        std::fs::write(dir.join(&name), &text).unwrap();
        out.insert(format!("/{user}/contacts/{name}"), text);
    }
    out
}

#[test]
fn radicale_multiget_of_2000_items_is_complete_and_byte_exact() {
    let storage = tempfile::tempdir().unwrap();
    let expected = seed_radicale_contacts(storage.path(), "alice", 2000);
    let radicale = Radicale::builder().storage(storage.path()).start();
    let rt = runtime();
    let mut cfg = config(&radicale.base_url());
    cfg.multiget_batch = 250;
    let client = DavClient::new(&cfg).unwrap();
    let alice = client.user(Credentials::new("alice", "secret"));
    let (changes, fetched, requests) = rt.block_on(async {
        let changes = alice
            .changes("/alice/contacts/", &ChangeState::default())
            .await
            .unwrap();
        let before = client.requests_sent();
        let hrefs: Vec<String> = changes.changed.iter().map(|c| c.href.clone()).collect();
        let fetched = alice
            .multiget("/alice/contacts/", DataKind::Card, &hrefs)
            .await
            .unwrap();
        (changes, fetched, client.requests_sent() - before)
    });
    assert_eq!(changes.changed.len(), 2000);
    assert_eq!(requests, 8, "2000 items in batches of 250");
    assert!(fetched.missing.is_empty(), "{:?}", fetched.missing);
    assert_eq!(fetched.items.len(), 2000);
    let mut seen = std::collections::BTreeSet::new();
    for item in &fetched.items {
        let seed = expected
            .get(&item.href)
            .unwrap_or_else(|| panic!("unexpected {}", item.href));
        assert!(seen.insert(item.href.clone()), "{} twice", item.href);
        assert_eq!(
            item.data.as_bytes(),
            seed.as_bytes(),
            "{} differs",
            item.href
        );
        assert_eq!(
            item.etag.as_deref(),
            changes.state.etags.get(&item.href).map(String::as_str)
        );
    }
    // An independent client's GET agrees, bytes and etag (a sample: GETs are slow here).
    let oracle = radicale.client("alice");
    for item in fetched.items.iter().step_by(97) {
        let got = oracle.get(&item.href).unwrap();
        assert_eq!(item.data.as_bytes(), got.body.as_bytes(), "{}", item.href);
        assert_eq!(item.etag, got.etag);
    }
}

// ---------------------------------------------------------------- failures

#[test]
fn unreachable_and_silent_upstreams_are_typed_errors() {
    let rt = runtime();
    // Nothing listens on a port just released.
    let port = support::tools::free_port();
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.read_retries = 1;
    let client = DavClient::new(&cfg).unwrap();
    let dav = client.user(Credentials::new("alice", "secret"));
    let err = rt.block_on(dav.check_login()).unwrap_err();
    assert!(matches!(err, DavError::Unreachable { .. }), "{err}");
    assert!(err.is_unavailable());
    assert!(!err.to_string().contains("secret"));
    assert_eq!(client.requests_sent(), 2, "one read retry");
    // Writes are never retried.
    let err = rt
        .block_on(dav.create("/alice/contacts/", "x.vcf", VCARD_TYPE, vcard("x", "x")))
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert_eq!(client.requests_sent(), 3);

    // A server that accepts the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = config(&format!("http://{}", silent.local_addr().unwrap()));
    cfg.request_timeout_secs = 1;
    cfg.read_retries = 0;
    let dav = user(&cfg, "alice", "secret");
    let started = std::time::Instant::now();
    let err = rt
        .block_on(dav.changes("/alice/contacts/", &ChangeState::default()))
        .unwrap_err();
    assert!(matches!(err, DavError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);

    // Credentials in the upstream URL are refused at start.
    let err = DavClient::new(&config("http://u:p@127.0.0.1:1")).unwrap_err();
    assert!(!err.to_string().contains(":p@"), "{err}");
}

#[test]
fn files_go_into_a_plain_collection() {
    // Radicale keeps only calendars and address books: a plain folder is forbidden.
    let radicale = Radicale::start();
    let rt = runtime();
    let alice = user(&config(&radicale.base_url()), "alice", "secret");
    let err = rt.block_on(alice.mkcol("/alice/backups/")).unwrap_err();
    assert!(matches!(err, DavError::Forbidden { .. }), "{err}");
    drop(radicale);

    let server = Xandikos::start();
    let dav = user(&config(&server.base_url()), "user", "unused");
    let (first, again, (href, etag)) = rt.block_on(async {
        let first = dav.mkcol("/user/backups/").await.unwrap();
        let again = dav.mkcol("/user/backups/").await.unwrap();
        let put = dav
            .put_file(
                "/user/backups/",
                "phone 1.vcf",
                "text/vcard",
                vcard("b", "Backup"),
            )
            .await
            .unwrap();
        (first, again, put)
    });
    assert_eq!(first, Created::Created);
    assert_eq!(again, Created::AlreadyExists);
    assert_eq!(href, "/user/backups/phone%201.vcf");
    let stored = server.client().get(&href).unwrap();
    assert_eq!(stored.body, vcard("b", "Backup"));
    assert_eq!(stored.etag, etag);
    assert_eq!(server.client().list("/user/backups/"), [href]);
}
