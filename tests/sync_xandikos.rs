//! Xandikos as the upstream for one full round: slow sync, changes on each side, a delete.

mod support;

use support::bridge::Bridge;
use support::e2e::{assert_mode, containing, fetch_all, options};
use support::items;
use support::syncevolution::{Datastore, Phone, SyncMode};
use support::xandikos::Xandikos;

const CONTACTS: Datastore = Datastore::Contacts;
const CALENDAR: Datastore = Datastore::Calendar;

#[test]
fn a_full_round_with_xandikos_as_the_upstream() {
    let xandikos = Xandikos::start();
    let addressbook = xandikos.default_addressbook_url();
    let calendar = xandikos.default_calendar_url();
    // Xandikos serves one principal without log-in, so the collections are named outright.
    let bridge = Bridge::builder(&xandikos.base_url())
        .env(
            "SYNCML_BRIDGE_UPSTREAM__COLLECTIONS__CONTACTS",
            &addressbook,
        )
        .env("SYNCML_BRIDGE_UPSTREAM__COLLECTIONS__CALENDAR", &calendar)
        .start();
    let dav = xandikos.client();

    let mut phone = Phone::new();
    phone.configure(
        &bridge.syncml_url(),
        "alice",
        "secret",
        "e2e-xandikos",
        options(&[CONTACTS, CALENDAR]),
    );
    let cards = items::contacts(3);
    for card in &cards {
        phone.put_item(CONTACTS, &card.file, &card.vcard);
    }
    for i in 0..2 {
        let e = items::event(i);
        phone.put_item(CALENDAR, &e.file, &e.vcal);
    }

    let slow = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&slow, CONTACTS, "slow");
    assert_mode(&slow, CALENDAR, "slow");
    let server_cards = fetch_all(&dav, &addressbook, true);
    assert_eq!(server_cards.len(), 3, "{server_cards:?}");
    for card in &cards {
        let name = format!("{};{}", card.family, card.given);
        assert_eq!(containing(&server_cards, &name).len(), 1, "{name}");
    }
    let events = fetch_all(&dav, &calendar, false);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(containing(&events, "FREQ=WEEKLY").len(), 1, "{events:?}");

    dav.put(
        &format!("{addressbook}srv-xaver.vcf"),
        "text/vcard",
        &items::dav_vcard(
            "srv-xaver",
            "Xandl",
            "Xaver",
            &["TEL;TYPE=CELL:+491706660000"],
        ),
    );
    phone.delete_item(CONTACTS, &cards[2].file);
    let sync = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&sync, CONTACTS, "two-way");
    assert_eq!(sync.source(CONTACTS).local_added(), 1, "{:?}", sync.report);
    assert_eq!(
        sync.source(CONTACTS).remote_removed(),
        1,
        "{:?}",
        sync.report
    );

    let on_phone = phone.items(CONTACTS);
    assert_eq!(on_phone.len(), 3, "{on_phone:?}");
    assert_eq!(containing(&on_phone, "Xandl").len(), 1, "{on_phone:?}");
    let server_cards = fetch_all(&dav, &addressbook, true);
    assert_eq!(server_cards.len(), 3, "{server_cards:?}");
    let gone = format!("{};{}", cards[2].family, cards[2].given);
    assert!(
        containing(&server_cards, &gone).is_empty(),
        "{server_cards:?}"
    );

    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&quiet, CONTACTS, "two-way");
    assert_eq!(
        quiet.source(CONTACTS).local_added(),
        0,
        "{:?}",
        quiet.report
    );
    assert_eq!(
        quiet.source(CONTACTS).remote_added(),
        0,
        "{:?}",
        quiet.report
    );
}
