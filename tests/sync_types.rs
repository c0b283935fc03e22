//! Every sync type end to end, asked by the phone (refresh and one-way each way) or by the URL
//! (`sync=2,7,8,9`), with what each side holds afterwards.

mod support;

use std::collections::BTreeSet;

use support::e2e::{assert_mode, options, World};
use support::items::{self, property_values};
use support::syncevolution::{Datastore, Phone, SyncMode};

const CONTACTS: Datastore = Datastore::Contacts;

fn names(items: &[(String, String)]) -> BTreeSet<String> {
    items
        .iter()
        .flat_map(|(_, body)| property_values(body, "N"))
        .collect()
}

fn name_of(i: usize) -> String {
    let c = items::contact(i);
    format!("{};{};;;", c.family, c.given)
}

fn name_set(indices: &[usize]) -> BTreeSet<String> {
    indices.iter().map(|&i| name_of(i)).collect()
}

/// The phone holds contacts `phone`, Radicale holds contacts `server` (put there directly).
fn split_world(
    phone_has: &[usize],
    server_has: &[usize],
    url_query: Option<&str>,
) -> (World, Phone) {
    let world = World::start();
    let dav = world.dav();
    for &i in server_has {
        let c = items::contact(i);
        let tel = format!("TEL;TYPE=CELL:{}", c.tels[0]);
        dav.put(
            &format!("{}srv-{i}.vcf", world.collection(CONTACTS)),
            "text/vcard",
            &items::dav_vcard(&format!("srv-{i}"), &c.family, &c.given, &[&tel]),
        );
    }
    let mut phone = support::syncevolution::Phone::new();
    let url = match url_query {
        // Funambol style: parameters after `#`, which HTTP clients keep off the request line.
        Some(q) if q.starts_with('#') => format!("{}{q}", world.bridge.syncml_url()),
        Some(q) => world.bridge.syncml_url_with(q),
        None => world.bridge.syncml_url(),
    };
    phone.configure(
        &url,
        support::e2e::USER,
        support::e2e::PASSWORD,
        &format!(
            "e2e-types-{}",
            url_query.unwrap_or("plain").replace(['=', '#'], "")
        ),
        options(&[CONTACTS]),
    );
    for &i in phone_has {
        let c = items::contact(i);
        phone.put_item(CONTACTS, &c.file, &c.vcard);
    }
    (world, phone)
}

#[test]
fn refresh_from_client_makes_the_server_equal_to_the_phone() {
    let (world, mut phone) = split_world(&[0, 1, 2], &[10, 11], None);
    let sync = phone.sync(SyncMode::RefreshFromClient, &[]);
    assert_mode(&sync, CONTACTS, "refresh-from-client");
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1, 2]));
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2]));
}

#[test]
fn refresh_from_server_makes_the_phone_equal_to_the_server() {
    let (world, mut phone) = split_world(&[0, 1, 2], &[10, 11], None);
    let sync = phone.sync(SyncMode::RefreshFromServer, &[]);
    assert_mode(&sync, CONTACTS, "refresh-from-server");
    assert_eq!(sync.source(CONTACTS).local_added(), 2, "{:?}", sync.report);
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[10, 11]));
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[10, 11]));
}

/// After a slow sync of {0, 1}, the phone adds 2 and the server adds 12.
fn after_baseline() -> (World, Phone) {
    let (world, mut phone) = split_world(&[0, 1], &[], None);
    assert_mode(&phone.sync(SyncMode::Slow, &[]), CONTACTS, "slow");
    let c = items::contact(2);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    let s = items::contact(12);
    world.dav().put(
        &format!("{}srv-12.vcf", world.collection(CONTACTS)),
        "text/vcard",
        &items::dav_vcard("srv-12", &s.family, &s.given, &[]),
    );
    (world, phone)
}

#[test]
fn one_way_from_client_sends_only_the_phones_changes() {
    let (world, mut phone) = after_baseline();
    let sync = phone.sync(SyncMode::OneWayFromClient, &[]);
    assert_mode(&sync, CONTACTS, "one-way-from-client");
    assert_eq!(sync.source(CONTACTS).remote_added(), 1, "{:?}", sync.report);
    assert_eq!(sync.source(CONTACTS).local_added(), 0, "{:?}", sync.report);
    assert_eq!(
        names(&world.server_items(CONTACTS)),
        name_set(&[0, 1, 2, 12])
    );
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2]));
}

#[test]
fn one_way_from_server_sends_only_the_servers_changes() {
    let (world, mut phone) = after_baseline();
    let sync = phone.sync(SyncMode::OneWayFromServer, &[]);
    assert_mode(&sync, CONTACTS, "one-way-from-server");
    assert_eq!(sync.source(CONTACTS).local_added(), 1, "{:?}", sync.report);
    assert_eq!(sync.source(CONTACTS).remote_added(), 0, "{:?}", sync.report);
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1, 12]));
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2, 12]));
}

/// With `sync=N` in the URL: a first slow sync (asked by the phone, so the URL is not
/// consulted) of {0, 1} with 1 already on the server; then the phone adds 2 and the server
/// adds 12, and the phone asks for a two-way sync, which the URL turns into method N.
fn url_round(query: &str) -> (World, Phone, support::syncevolution::SyncOutcome) {
    let (world, mut phone) = split_world(&[0, 1], &[1], Some(query));
    let first = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&first, CONTACTS, "slow");
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1]));
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1]));

    let c = items::contact(2);
    phone.put_item(CONTACTS, &c.file, &c.vcard);
    let s = items::contact(12);
    world.dav().put(
        &format!("{}srv-12.vcf", world.collection(CONTACTS)),
        "text/vcard",
        &items::dav_vcard("srv-12", &s.family, &s.given, &[]),
    );
    let second = phone.sync(SyncMode::TwoWay, &[]);
    assert!(
        second.succeeded(),
        "{query}: {:?}\n{}\nbridge log:\n{}",
        second.report,
        second.output,
        world.log_tail(30)
    );
    (world, phone, second)
}

/// No contact is on the server twice.
fn assert_no_duplicates(world: &World) {
    let server = world.server_items(CONTACTS);
    assert_eq!(names(&server).len(), server.len(), "duplicates: {server:?}");
}

#[test]
fn url_sync_2_turns_a_two_way_request_into_a_slow_sync() {
    let (world, phone, sync) = url_round("sync=2");
    assert_mode(&sync, CONTACTS, "slow");
    assert_eq!(
        names(&world.server_items(CONTACTS)),
        name_set(&[0, 1, 2, 12])
    );
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2, 12]));
    assert_eq!(phone.items(CONTACTS).len(), 4);
    assert_no_duplicates(&world);
}

#[test]
fn url_sync_2_after_a_hash_is_read_from_the_header_target() {
    let (world, phone, sync) = url_round("#sync=2");
    assert_mode(&sync, CONTACTS, "slow");
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2, 12]));
    assert_eq!(phone.items(CONTACTS).len(), 4);
    assert_no_duplicates(&world);
}

#[test]
fn url_sync_7_sends_every_phone_item_one_way_to_the_server() {
    let (world, phone, sync) = url_round("sync=7");
    assert_eq!(sync.source(CONTACTS).local_added(), 0, "{:?}", sync.report);
    assert_eq!(
        names(&world.server_items(CONTACTS)),
        name_set(&[0, 1, 2, 12])
    );
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2]));
    assert_no_duplicates(&world);
}

#[test]
fn url_sync_8_sends_every_server_item_one_way_to_the_phone() {
    let (world, phone, sync) = url_round("sync=8");
    assert_eq!(
        names(&world.server_items(CONTACTS)),
        name_set(&[0, 1, 12]),
        "{:?}",
        sync.report
    );
    assert_eq!(names(&phone.items(CONTACTS)), name_set(&[0, 1, 2, 12]));
    assert_eq!(phone.items(CONTACTS).len(), 4, "duplicates on the phone");
}

#[test]
fn url_sync_9_empties_the_phone_and_keeps_the_server() {
    let (world, phone, sync) = url_round("sync=9");
    assert_eq!(
        phone.items(CONTACTS),
        Vec::<(String, String)>::new(),
        "{:?}",
        sync.report
    );
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1, 12]));
}

#[test]
fn an_admin_wipe_makes_the_next_sync_a_client_reset_once() {
    let (world, mut phone) = split_world(&[0, 1], &[1], None);
    let first = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&first, CONTACTS, "slow");
    let device = "e2e-types-plain";
    // The admin command works while the server runs.
    world.bridge.admin(&["devices", "wipe", device]);
    let wiped = phone.sync(SyncMode::TwoWay, &[]);
    assert!(
        wiped.succeeded(),
        "{:?}\n{}",
        wiped.report,
        world.log_tail(30)
    );
    assert_eq!(phone.items(CONTACTS), Vec::<(String, String)>::new());
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1]));
    // Once only: the next sync is an ordinary two-way sync, which deletes nothing upstream.
    let again = phone.sync(SyncMode::TwoWay, &[]);
    assert!(
        again.succeeded(),
        "{:?}\n{}",
        again.report,
        world.log_tail(30)
    );
    assert_eq!(names(&world.server_items(CONTACTS)), name_set(&[0, 1]));
    assert!(world
        .log_tail(400)
        .contains("client reset requested by an admin"));
}
