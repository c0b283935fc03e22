//! A calendar datastore in SIF that also holds tasks: each server item goes in the SIF
//! type of its own component.

use super::*;

#[tokio::test]
async fn a_combined_sif_calendar_sends_each_item_in_the_sif_type_of_its_component() {
    let w = world(ConflictPolicy::Merge);
    w.edit(
        &format!("{CALENDAR}ev.ics"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev\r\nSUMMARY:Lunch\r\nDTSTART:20240103T120000Z\r\nDTEND:20240103T130000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    w.edit(
        &format!("{TASKS}td.ics"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:td\r\nSUMMARY:Buy milk\r\nDUE:20240104T100000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    );
    let mut run = w.calendar_with_tasks(SyncMethod::Slow);
    run.phone_format = Format::Sife;
    let (_, out) = w.session(&mut run, Vec::new()).await;
    assert_eq!(out.len(), 2, "no item skipped: {out:?}");
    for change in &out {
        let ServerChange::Add { data, .. } = change else {
            panic!("{out:?}");
        };
        let text = String::from_utf8_lossy(data);
        let format = run.format_of(change);
        if text.contains("Buy milk") {
            assert_eq!(format, Format::Sift);
            assert!(text.contains("<task>"), "{text}");
        } else {
            assert_eq!(format, Format::Sife);
            assert!(
                text.contains("<appointment>") && text.contains("Lunch"),
                "{text}"
            );
        }
    }
}
