//! Golden corpus for SIF-E, SIF-T and SIF-N (Funambol Outlook / Windows Mobile items):
//! SIF -> DAV against expected iCalendar files, DAV -> SIF -> DAV keeping what SIF carries,
//! and garbage that must give typed errors, never a panic.
//!
//! Expected files are `tests/fixtures/convert/sif/<name>.ics`; `UPDATE_GOLDEN=1` rewrites them.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use syncml_bridge::convert::{self, Component, ConvertOptions, Format};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert/sif")
}

fn opts() -> ConvertOptions {
    let now = Utc.with_ymd_and_hms(2009, 10, 1, 12, 0, 0).unwrap();
    ConvertOptions::new(now).with_device_tz(chrono_tz::Europe::Berlin)
}

fn golden(input: &str, format: Format) {
    let bytes = std::fs::read(dir().join(input)).unwrap();
    let dav = convert::to_dav(format, &bytes, &opts()).unwrap();
    let got = String::from_utf8(convert::dav_bytes(&dav)).unwrap();
    let expected_path = dir().join(format!("{input}.ics"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    assert_eq!(got, expected, "{input}");
}

#[test]
fn golden_sif_to_dav() {
    golden("guide-appointment.sife", Format::Sife);
    golden("outlook-weekly-exceptions.sife", Format::Sife);
    golden("allday-two-days.sife", Format::Sife);
    golden("completed-task.sift", Format::Sift);
    golden("note-b64.sifn", Format::Sifn);
}

/// The properties of the first item of a calendar, without UID/DTSTAMP (SIF does not carry
/// them; the merge keeps the server's).
fn item_props(cal: &Component) -> Vec<String> {
    let item = cal
        .components
        .iter()
        .find(|c| c.name != "VTIMEZONE")
        .unwrap();
    let mut out: Vec<String> = item
        .properties
        .iter()
        .filter(|p| p.name != "UID" && p.name != "DTSTAMP")
        .map(|p| {
            let mut p = p.clone();
            p.params.sort_by(|a, b| a.name.cmp(&b.name));
            format!("{p:?}")
        })
        .collect();
    out.sort();
    for a in item.components_named("VALARM") {
        out.push(format!("VALARM {:?}", a.value("TRIGGER")));
    }
    out
}

fn sif_round_trip(cal: &Component, format: Format) -> Component {
    let sif = convert::from_dav(format, cal, &opts()).unwrap();
    convert::to_dav(format, &sif, &opts()).unwrap()
}

#[test]
fn sif_to_dav_to_sif_to_dav_is_stable() {
    for (file, format) in [
        ("guide-appointment.sife", Format::Sife),
        ("outlook-weekly-exceptions.sife", Format::Sife),
        ("allday-two-days.sife", Format::Sife),
        ("completed-task.sift", Format::Sift),
        ("note-b64.sifn", Format::Sifn),
    ] {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let dav = convert::to_dav(format, &bytes, &opts()).unwrap();
        let again = sif_round_trip(&dav, format);
        assert_eq!(item_props(&again), item_props(&dav), "{file}");
    }
}

#[test]
fn dav_event_keeps_what_sif_can_carry() {
    let bytes = std::fs::read(dir().join("rich-event.dav.ics")).unwrap();
    let dav = convert::parse_ical(&bytes).unwrap();
    let sif = convert::from_dav(Format::Sife, &dav, &opts()).unwrap();
    let text = String::from_utf8(sif.clone()).unwrap();
    assert!(
        text.contains("<RecurrenceType>3</RecurrenceType>"),
        "{text}"
    );
    assert!(text.contains("<Instance>1</Instance>"), "{text}");
    assert!(text.contains("<DayOfWeekMask>4</DayOfWeekMask>"), "{text}");
    assert!(text.contains("<BasicOffset>-0500</BasicOffset>"), "{text}");
    assert!(
        text.contains("<ExcludeDate>20240402T133000Z</ExcludeDate>"),
        "{text}"
    );
    let back = convert::to_dav(Format::Sife, &sif, &opts()).unwrap();
    let ev = back.components.iter().find(|c| c.name == "VEVENT").unwrap();
    // The series stays in its own zone (from the <Timezone> block), not the device's.
    assert_eq!(
        ev.property("DTSTART").unwrap().param("TZID"),
        Some("America/New_York")
    );
    let kept = [
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "CATEGORIES",
        "CLASS",
        "PRIORITY",
        "TRANSP",
        "X-MICROSOFT-CDO-BUSYSTATUS",
        "RRULE",
        "EXDATE",
        "X-FUNAMBOL-FOLDER",
    ];
    let orig = dav.components.iter().find(|c| c.name == "VEVENT").unwrap();
    for name in kept {
        assert_eq!(
            ev.property(name).map(|p| (&p.value, p.param("TZID"))),
            orig.property(name).map(|p| (&p.value, p.param("TZID"))),
            "{name}"
        );
    }
    let alarm = ev.components_named("VALARM").next().unwrap();
    assert_eq!(alarm.value("TRIGGER"), Some("-PT30M"));
    // What SIF has no field for is not invented: the merge keeps it on the server.
    assert!(ev.property("ATTENDEE").is_none());
}

#[test]
fn dav_task_and_note_keep_what_sif_can_carry() {
    let task = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;VALUE=DATE:20240301\r\nDUE;VALUE=DATE:20240308\r\nSUMMARY:Pay rent\r\nDESCRIPTION:by transfer\\nIBAN on file\r\nPRIORITY:5\r\nSTATUS:IN-PROCESS\r\nPERCENT-COMPLETE:40\r\nCLASS:PRIVATE\r\nCATEGORIES:Home,Money\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DATE-TIME:20240307T080000Z\r\nDESCRIPTION:Pay rent\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let dav = convert::parse_ical(task).unwrap();
    let back = sif_round_trip(&dav, Format::Sift);
    let t = back.components.iter().find(|c| c.name == "VTODO").unwrap();
    let o = dav.components.iter().find(|c| c.name == "VTODO").unwrap();
    for name in [
        "DTSTART",
        "DUE",
        "SUMMARY",
        "DESCRIPTION",
        "PRIORITY",
        "STATUS",
        "PERCENT-COMPLETE",
        "CLASS",
        "CATEGORIES",
        "RRULE",
    ] {
        assert_eq!(t.value(name), o.value(name), "{name}");
    }
    let a = t.components_named("VALARM").next().unwrap();
    assert_eq!(a.value("TRIGGER"), Some("20240307T080000Z"));

    let note = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VJOURNAL\r\nUID:n1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Ideas\r\nDESCRIPTION:Ideas\\n- more sleep\\n- fewer meetings\r\nCATEGORIES:Personal\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n";
    let dav = convert::parse_ical(note).unwrap();
    let back = sif_round_trip(&dav, Format::Sifn);
    assert_eq!(item_props(&back), item_props(&dav));
}

#[test]
fn cli_converts_between_sif_and_vcalendar() {
    let sife = std::fs::read(dir().join("guide-appointment.sife")).unwrap();
    let vcs = convert::cli_convert(
        Format::Sife,
        Format::Vcal10,
        &sife,
        &opts(),
        syncml_bridge::engine::items::new_uid,
    )
    .unwrap();
    let text = String::from_utf8(vcs).unwrap();
    assert!(text.contains("DTSTART:20091010T090000Z\r\n"), "{text}");
    assert!(text.contains("CLASS:PRIVATE\r\n"), "{text}");
    let back = convert::cli_convert(
        Format::Vcal10,
        Format::Sife,
        text.as_bytes(),
        &opts(),
        syncml_bridge::engine::items::new_uid,
    )
    .unwrap();
    let back = String::from_utf8(back).unwrap();
    assert!(back.contains("<Start>20091010T090000Z</Start>"), "{back}");
    assert!(
        back.contains("<ReminderMinutesBeforeStart>25</ReminderMinutesBeforeStart>"),
        "{back}"
    );
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for f in [
        "guide-appointment.sife",
        "outlook-weekly-exceptions.sife",
        "allday-two-days.sife",
        "completed-task.sift",
        "note-b64.sifn",
    ] {
        let bytes = std::fs::read(dir().join(f)).unwrap();
        // Every truncation and a spread of single-byte corruptions.
        for cut in (0..bytes.len()).step_by(7) {
            inputs.push(bytes[..cut].to_vec());
        }
        for (i, b) in [b'<', b'>', b'&', b'0', b'9', b'-', b'Z', 0xff, b'\n']
            .iter()
            .enumerate()
        {
            for pos in (i..bytes.len()).step_by(11) {
                let mut m = bytes.clone();
                m[pos] = *b;
                inputs.push(m);
            }
        }
    }
    for value in [
        "",
        "-1",
        "99999999999999999999",
        "2147483648",
        "0000-00-00",
        "20091310T250000Z",
        "45001231T230000Z",
        "5",
        "x",
    ] {
        for el in [
            "RecurrenceType",
            "Interval",
            "DayOfWeekMask",
            "DayOfMonth",
            "MonthOfYear",
            "Instance",
            "Occurrences",
            "PatternEndDate",
            "ReminderMinutesBeforeStart",
            "Start",
            "End",
        ] {
            inputs.push(
                format!("<appointment><Start>20091010T090000Z</Start><IsRecurring>1</IsRecurring><RecurrenceType>1</RecurrenceType><ReminderSet>1</ReminderSet><{el}>{value}</{el}></appointment>")
                    .into_bytes(),
            );
        }
    }
    let mut ok = 0;
    for input in &inputs {
        for format in [Format::Sife, Format::Sift, Format::Sifn] {
            if let Ok(dav) = convert::to_dav(format, input, &opts()) {
                ok += 1;
                // Whatever was read can be written back.
                convert::from_dav(format, &dav, &opts()).unwrap();
            }
        }
    }
    assert!(
        ok > 0 && ok < inputs.len() * 3,
        "{ok} of {}",
        inputs.len() * 3
    );
}
