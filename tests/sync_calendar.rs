//! Events and tasks in vCalendar 1.0 (recurrences, alarms) and plain-text notes, from the
//! phone into Radicale's VEVENT, VTODO and VJOURNAL collections and back.

mod support;

use support::e2e::{assert_mode, containing, options, writes_among, World};
use support::items::{self, property_values, unfold};
use support::syncevolution::{Datastore, SyncMode};

const CALENDAR: Datastore = Datastore::Calendar;
const TASKS: Datastore = Datastore::Tasks;
const NOTES: Datastore = Datastore::Notes;

/// The one line of `body` (unfolded) starting with `prefix`.
fn line<'a>(body: &'a str, prefix: &str) -> &'a str {
    let found: Vec<&str> = body.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(found.len(), 1, "lines {prefix} in:\n{body}");
    found[0]
}

#[test]
fn events_tasks_and_notes_round_trip_with_recurrences_and_alarms() {
    let world = World::start();
    let mut phone = world.phone("e2e-calendar", options(&[CALENDAR, TASKS, NOTES]));
    for i in 0..4 {
        let e = items::event(i);
        phone.put_item(CALENDAR, &e.file, &e.vcal);
        let t = items::task(i);
        phone.put_item(TASKS, &t.file, &t.vcal);
    }
    for i in 0..3 {
        let (file, text) = items::note(i);
        phone.put_item(NOTES, &file, &text);
    }

    let slow = phone.sync(SyncMode::Slow, &[]);
    for store in [CALENDAR, TASKS, NOTES] {
        assert_mode(&slow, store, "slow");
    }
    assert_eq!(slow.source(CALENDAR).remote_added(), 4, "{:?}", slow.report);
    assert_eq!(slow.source(TASKS).remote_added(), 4, "{:?}", slow.report);
    assert_eq!(slow.source(NOTES).remote_added(), 3, "{:?}", slow.report);

    // Events: iCalendar 2.0, the recurrence and the alarm kept.
    let events = world.server_items(CALENDAR);
    assert_eq!(events.len(), 4, "{events:?}");
    for i in 0..4 {
        let e = items::event(i);
        let found = containing(&events, &format!("SUMMARY:{}", e.summary));
        assert_eq!(found.len(), 1, "event {i} in {events:?}");
        let body = unfold(found[0]);
        assert!(
            body.contains("VERSION:2.0") && body.contains("BEGIN:VEVENT"),
            "{body}"
        );
        assert!(
            body.contains("Büro Zürich"),
            "location of event {i}:\n{body}"
        );
        let rrule = line(&body, "RRULE");
        if i % 2 == 0 {
            for part in ["FREQ=WEEKLY", "BYDAY=MO,WE", "UNTIL=20261231"] {
                assert!(rrule.contains(part), "event {i}: {rrule}");
            }
        } else {
            assert!(rrule.contains("FREQ=DAILY"), "event {i}: {rrule}");
            // A count may travel as the equivalent last occurrence.
            let count = 3 + i % 5;
            let last = format!(
                "UNTIL=202601{:02}T{:02}0000Z",
                5 + i % 20 + count - 1,
                8 + i % 9
            );
            assert!(
                rrule.contains(&format!("COUNT={count}")) || rrule.contains(&last),
                "event {i}: {rrule}"
            );
        }
        assert!(body.contains("BEGIN:VALARM"), "alarm of event {i}:\n{body}");
        // The client sends its audio alarm as AALARM and DALARM: one VALARM each.
        let triggers: Vec<&str> = body.lines().filter(|l| l.starts_with("TRIGGER")).collect();
        let alarm_at = format!("T{:02}4500Z", 8 + i % 9 - 1);
        assert!(
            !triggers.is_empty()
                && triggers
                    .iter()
                    .all(|t| t.contains("-PT15M") || t.contains(&alarm_at)),
            "event {i}: {triggers:?}"
        );
    }

    // Tasks: VTODO with due date, priority, status and alarm.
    let tasks = world.server_items(TASKS);
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for i in 0..4 {
        let t = items::task(i);
        let found = containing(&tasks, &format!("SUMMARY:{}", t.summary));
        assert_eq!(found.len(), 1, "task {i} in {tasks:?}");
        let body = unfold(found[0]);
        assert!(body.contains("BEGIN:VTODO"), "{body}");
        assert!(
            line(&body, "DUE").contains(&format!("202602{:02}", 10 + i % 15)),
            "{body}"
        );
        // vCalendar's 1-3 (high, normal, low) land on iCalendar's 1-9 scale, order kept.
        let priority = 1 + i % 3;
        let accepted = [priority, [1, 5, 9][priority - 1], [1, 5, 7][priority - 1]];
        assert!(
            accepted
                .iter()
                .any(|p| body.contains(&format!("PRIORITY:{p}\n"))),
            "{body}"
        );
        assert!(body.contains("BEGIN:VALARM"), "alarm of task {i}:\n{body}");
        let status = line(&body, "STATUS:");
        if i % 4 == 3 {
            assert_eq!(status, "STATUS:COMPLETED");
        } else {
            assert_eq!(status, "STATUS:NEEDS-ACTION");
        }
    }

    // Notes: VJOURNAL, first line as the summary, the whole text kept.
    let notes = world.server_items(NOTES);
    assert_eq!(notes.len(), 3, "{notes:?}");
    for i in 0..3 {
        let found = containing(&notes, &format!("Einkaufsliste {i}"));
        assert_eq!(found.len(), 1, "note {i} in {notes:?}");
        let body = unfold(found[0]);
        assert!(body.contains("BEGIN:VJOURNAL"), "{body}");
        assert!(body.contains("Blumen für Zoë"), "{body}");
    }

    // The server adds a recurring event with an alarm and a task; the phone changes an event.
    let dav = world.dav();
    dav.put(
        &format!("{}srv-yoga.ics", world.collection(CALENDAR)),
        "text/calendar",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VEVENT\r\n\
         UID:srv-yoga\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260112T180000Z\r\n\
         DTEND:20260112T190000Z\r\nSUMMARY:Yoga\r\nRRULE:FREQ=DAILY;COUNT=5\r\n\
         BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Yoga\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    dav.put(
        &format!("{}srv-taxes.ics", world.collection(TASKS)),
        "text/calendar",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VTODO\r\n\
         UID:srv-taxes\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Belege sammeln\r\n\
         DUE:20260301T170000Z\r\nPRIORITY:1\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n\
         END:VCALENDAR\r\n",
    );
    let first = items::event(0);
    phone.modify_item(
        CALENDAR,
        &first.file,
        &first.vcal.replace("Besprechung 0", "Besprechung null"),
    );

    let sync = phone.sync(SyncMode::TwoWay, &[]);
    for store in [CALENDAR, TASKS, NOTES] {
        assert_mode(&sync, store, "two-way");
    }
    assert_eq!(sync.source(CALENDAR).local_added(), 1, "{:?}", sync.report);
    assert_eq!(
        sync.source(CALENDAR).remote_updated(),
        1,
        "{:?}",
        sync.report
    );
    assert_eq!(sync.source(TASKS).local_added(), 1, "{:?}", sync.report);

    let phone_events = phone.items(CALENDAR);
    let yoga = containing(&phone_events, "SUMMARY:Yoga");
    assert_eq!(yoga.len(), 1, "{phone_events:?}");
    let yoga = unfold(yoga[0]);
    assert!(
        yoga.contains("VERSION:1.0"),
        "the phone got vCalendar 1.0:\n{yoga}"
    );
    let rrule = line(&yoga, "RRULE:");
    assert!(
        rrule == "RRULE:D1 #5" || rrule == "RRULE:D1 20260116T180000Z",
        "{yoga}"
    );
    assert!(
        yoga.contains("AALARM") || yoga.contains("DALARM"),
        "alarm on the phone:\n{yoga}"
    );
    let phone_tasks = phone.items(TASKS);
    assert_eq!(
        containing(&phone_tasks, "Belege sammeln").len(),
        1,
        "{phone_tasks:?}"
    );

    let events = world.server_items(CALENDAR);
    assert_eq!(events.len(), 5, "{events:?}");
    let renamed = containing(&events, "Besprechung null");
    assert_eq!(renamed.len(), 1, "{events:?}");
    assert!(unfold(renamed[0]).contains("BYDAY=MO,WE"), "{}", renamed[0]);
    assert_eq!(
        property_values(renamed[0], "SUMMARY"),
        vec!["Besprechung null – Übersicht".to_owned()]
    );
}

/// Nokia and Sony Ericsson phones keep tasks in their calendar datastore. With such a device
/// profile (forced here by the admin command, as SyncEvolution announces itself) the phone's
/// Calendar reads and writes both the event and the task collection.
#[test]
fn a_combined_calendar_datastore_holds_events_and_tasks() {
    let world = World::start();
    let mut phone = world.phone("e2e-combined", options(&[CALENDAR]));
    let first = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&first, CALENDAR, "slow");
    let said = world
        .bridge
        .admin(&["devices", "profile", "e2e-combined", "nokia-s40"]);
    assert!(said.contains("also holds the tasks"), "{said}");

    // The phone's calendar: two events and two tasks; the server: an event and a task.
    for i in 0..2 {
        let e = items::event(i);
        phone.put_item(CALENDAR, &e.file, &e.vcal);
        let t = items::task(i);
        phone.put_item(CALENDAR, &t.file, &t.vcal);
    }
    let dav = world.dav();
    dav.put(
        &format!("{}srv-yoga.ics", world.collection(CALENDAR)),
        "text/calendar",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VEVENT\r\n\
         UID:srv-yoga\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260112T180000Z\r\n\
         DTEND:20260112T190000Z\r\nSUMMARY:Yoga\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let taxes = format!("{}srv-taxes.ics", world.collection(TASKS));
    dav.put(
        &taxes,
        "text/calendar",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//e2e//EN\r\nBEGIN:VTODO\r\n\
         UID:srv-taxes\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Belege sammeln\r\n\
         DUE:20260301T170000Z\r\nPRIORITY:1\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n\
         END:VCALENDAR\r\n",
    );

    let sync = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&sync, CALENDAR, "two-way");
    assert_eq!(sync.source(CALENDAR).remote_added(), 4, "{:?}", sync.report);
    assert_eq!(sync.source(CALENDAR).local_added(), 2, "{:?}", sync.report);
    // Each item landed in the collection of its kind.
    let events = world.server_items(CALENDAR);
    let tasks = world.server_items(TASKS);
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert!(events
        .iter()
        .all(|(_, b)| b.contains("BEGIN:VEVENT") && !b.contains("BEGIN:VTODO")));
    assert!(tasks
        .iter()
        .all(|(_, b)| b.contains("BEGIN:VTODO") && !b.contains("BEGIN:VEVENT")));
    for i in 0..2 {
        assert_eq!(
            containing(&tasks, &format!("Aufgabe {i}")).len(),
            1,
            "{tasks:?}"
        );
        assert_eq!(
            containing(&events, &format!("Besprechung {i}")).len(),
            1,
            "{events:?}"
        );
    }
    // The phone's calendar holds both kinds, in vCalendar 1.0.
    let on_phone = phone.items(CALENDAR);
    assert_eq!(on_phone.len(), 6, "{on_phone:?}");
    let belege = containing(&on_phone, "Belege sammeln");
    assert_eq!(belege.len(), 1, "{on_phone:?}");
    assert!(
        belege[0].contains("BEGIN:VTODO") && belege[0].contains("VERSION:1.0"),
        "{}",
        belege[0]
    );
    assert_eq!(
        containing(&on_phone, "SUMMARY:Yoga").len(),
        1,
        "{on_phone:?}"
    );

    // A task changed on the phone is written back to the task list; a task deleted on the
    // server leaves the phone's calendar.
    let t0 = items::task(0);
    phone.modify_item(
        CALENDAR,
        &t0.file,
        &t0.vcal.replace("Aufgabe 0", "Aufgabe null"),
    );
    assert!(dav.delete(&taxes).is_success());
    let sync = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&sync, CALENDAR, "two-way");
    assert_eq!(
        sync.source(CALENDAR).remote_updated(),
        1,
        "{:?}",
        sync.report
    );
    assert_eq!(
        sync.source(CALENDAR).local_removed(),
        1,
        "{:?}",
        sync.report
    );
    let tasks = world.server_items(TASKS);
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(containing(&tasks, "Aufgabe null").len(), 1, "{tasks:?}");
    assert_eq!(world.server_items(CALENDAR).len(), 3);
    let on_phone = phone.items(CALENDAR);
    assert_eq!(on_phone.len(), 5, "{on_phone:?}");
    assert!(
        containing(&on_phone, "Belege sammeln").is_empty(),
        "{on_phone:?}"
    );

    // Nothing changed: one "anything new?" request per collection, no writes.
    let before = world.upstream_requests().len();
    let quiet = phone.sync(SyncMode::TwoWay, &[]);
    assert_mode(&quiet, CALENDAR, "two-way");
    let during = world.upstream_requests()[before..].to_vec();
    assert_eq!(writes_among(&during), 0, "{during:?}");
    assert!(
        during.len() <= 2,
        "upstream requests of a quiet sync: {during:?}"
    );
    let report = quiet.source(CALENDAR);
    assert_eq!(
        report.local_added() + report.local_updated() + report.local_removed(),
        0
    );

    // A slow sync matches the phone's events and tasks with both collections: no duplicates.
    let slow = phone.sync(SyncMode::Slow, &[]);
    assert_mode(&slow, CALENDAR, "slow");
    assert_eq!(world.server_items(CALENDAR).len(), 3);
    assert_eq!(world.server_items(TASKS).len(), 2);
    assert_eq!(
        phone.items(CALENDAR).len(),
        5,
        "{:?}",
        phone.items(CALENDAR)
    );
}
