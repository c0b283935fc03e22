//! An event ends by DTEND or by DURATION, never both: whichever form the phone sends
//! replaces the server's other one, and a slow-sync pair keeps the server's.

use super::*;
use crate::convert::capability::CtCapProperty;

/// A phone that keeps an event's summary, start and end time, but no DURATION.
fn dtend_only() -> Capability {
    let prop = |name: &str| CtCapProperty {
        name: name.into(),
        ..CtCapProperty::default()
    };
    Capability::from_ctcap(&[prop("SUMMARY"), prop("DTSTART"), prop("DTEND")])
}

fn phone_event(end: &str) -> Vec<u8> {
    format!("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        .into_bytes()
}

#[tokio::test]
async fn the_phones_dtend_replaces_the_servers_duration_upstream() {
    let w = world(ConflictPolicy::Merge);
    let href = format!("{CALENDAR}talk.ics");
    w.edit(
        &href,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:talk\r\nSUMMARY:Talk\r\nDTSTART:20260310T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    // The slow sync pairs the phone's copy with the server's: the server's form stays.
    let mut run = w.run(
        SyncMethod::Slow,
        "calendar",
        CALENDAR,
        ItemKind::Events,
        None,
    );
    run.cap = dtend_only();
    let change = add("e1", Format::Vcal10, phone_event("20260310T100000Z"));
    let (st, _) = w.session(&mut run, vec![change]).await;
    assert_eq!(st, vec![StatusCode::Ok]);
    assert_eq!(w.href_of("calendar", "e1").as_deref(), Some(href.as_str()));
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(
        data.contains("DURATION:PT1H") && !data.contains("DTEND"),
        "{data}"
    );

    // The phone moves the end: its DTEND replaces the DURATION.
    let mut run = w.run(
        SyncMethod::TwoWay,
        "calendar",
        CALENDAR,
        ItemKind::Events,
        None,
    );
    run.cap = dtend_only();
    let change = PhoneChange::Replace {
        luid: "e1".into(),
        format: Format::Vcal10,
        data: phone_event("20260310T110000Z"),
    };
    let (st, _) = w.session(&mut run, vec![change]).await;
    assert_eq!(st, vec![StatusCode::Ok]);
    let (_, data) = w.dav.get(&href).expect("kept");
    assert!(data.contains("DTEND:20260310T110000Z"), "{data}");
    assert!(
        !data.contains("DURATION"),
        "both DTEND and DURATION: {data}"
    );
}
