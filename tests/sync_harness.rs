//! The end-to-end support itself: the bridge launcher restarts on the same port and data dir,
//! REPORT reads return every item with its data, and the generated items are distinct.

mod support;

use std::collections::BTreeSet;

use support::e2e::{fetch_all, World};
use support::items::{self, property_values};
use support::syncevolution::Datastore;
use support::xandikos::Xandikos;

#[test]
fn the_bridge_restarts_on_its_port_and_radicale_items_are_read_back() {
    let world = World::start();
    let port = world.bridge.port();
    let data_dir = world.bridge.data_dir().to_owned();
    assert!(world.bridge.cpu_seconds() >= 0.0);

    let dav = world.dav();
    let card = items::dav_vcard("h-1", "Müller", "Jürgen", &["TEL;TYPE=CELL:+4917012345"]);
    dav.put(
        &format!("{}h-1.vcf", world.collection(Datastore::Contacts)),
        "text/vcard",
        &card,
    );
    let event = items::dav_event("h-2", "Kaffee", "20260105T090000Z", "20260105T093000Z");
    dav.put(
        &format!("{}h-2.ics", world.collection(Datastore::Calendar)),
        "text/calendar",
        &event,
    );

    let world = world.restart_bridge();
    assert_eq!(world.bridge.port(), port);
    assert_eq!(world.bridge.data_dir(), data_dir);

    let cards = world.server_items(Datastore::Contacts);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert!(cards[0].0.ends_with("/alice/contacts/h-1.vcf"), "{cards:?}");
    assert_eq!(property_values(&cards[0].1, "N"), vec!["Müller;Jürgen;;;"]);
    let events = world.server_items(Datastore::Calendar);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].1.contains("SUMMARY:Kaffee"), "{events:?}");
    assert!(world.server_items(Datastore::Tasks).is_empty());
    assert!(world.server_items_of("bob", Datastore::Contacts).is_empty());
}

#[test]
fn xandikos_items_are_read_back() {
    let xandikos = Xandikos::start();
    let dav = xandikos.client();
    let book = xandikos.default_addressbook_url();
    dav.put(
        &format!("{book}x-1.vcf"),
        "text/vcard",
        &items::dav_vcard("x-1", "Xandl", "Xaver", &[]),
    );
    let cards = fetch_all(&dav, &book, true);
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(property_values(&cards[0].1, "N"), vec!["Xandl;Xaver;;;"]);
}

#[test]
fn generated_items_are_distinct_and_decode() {
    let all = items::contacts(5_000);
    let names: BTreeSet<(String, String)> = all
        .iter()
        .map(|c| (c.given.clone(), c.family.clone()))
        .collect();
    assert_eq!(names.len(), 5_000);
    let first = &all[0];
    assert_eq!(property_values(&first.vcard, "N"), vec!["Müller;Jürgen;;;"]);
    assert_eq!(property_values(&first.vcard, "TEL").len(), 3);
    assert_eq!(property_values(&all[1].vcard, "TEL").len(), 2);
    let event = items::event(0);
    assert_eq!(
        property_values(&event.vcal, "SUMMARY"),
        vec!["Besprechung 0 – Übersicht".to_owned()]
    );
    let (card, photo) = items::contact_with_photo(300 * 1024);
    assert_eq!(photo.len(), 300 * 1024);
    assert!(card.len() > 400_000, "{}", card.len());
}
