//! Golden corpus for events, tasks and notes: every `*.vcs` under
//! `tests/fixtures/convert/calendar/` is read as a phone item and must give the `.ics` next
//! to it; every `*.dav.ics` is written for a phone and must give the `.out.vcs` next to it.
//! The file name picks the settings: `ny-` New York (else Berlin), `se-` ISO-8859-1,
//! `local` local times with TZ/DAYLIGHT. `BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use syncml_bridge::convert::alarm::AlarmKind;
use syncml_bridge::convert::vcal::{self, AllDayStyle, CalendarProfile, TimeForm};
use syncml_bridge::convert::vobject::{self, ParseOptions, WriteOptions};
use syncml_bridge::convert::{note, Charset, Component, ConvertOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert/calendar")
}

fn settings(name: &str) -> (ConvertOptions, CalendarProfile) {
    let now = Utc
        .with_ymd_and_hms(2009, 10, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let tz = if name.starts_with("ny-") {
        chrono_tz::America::New_York
    } else {
        chrono_tz::Europe::Berlin
    };
    let mut opts = ConvertOptions::new(now).with_device_tz(tz);
    if name.starts_with("se-") {
        opts = opts.with_charset(Charset::Latin1);
    }
    let mut profile = CalendarProfile::default();
    if name.contains("local") {
        profile.time_out = TimeForm::Local;
        profile.send_tz = true;
    }
    (opts, profile)
}

fn check(expected_path: &Path, actual: &[u8], failures: &mut Vec<String>) {
    if std::env::var_os("BLESS").is_some() {
        if let Err(e) = std::fs::write(expected_path, actual) {
            failures.push(format!("{}: {e}", expected_path.display()));
        }
        return;
    }
    match std::fs::read(expected_path) {
        Ok(want) if want == actual => {}
        Ok(want) => failures.push(format!(
            "{}:\n--- expected\n{}\n--- actual\n{}",
            expected_path.display(),
            String::from_utf8_lossy(&want),
            String::from_utf8_lossy(actual)
        )),
        Err(e) => failures.push(format!("{}: {e}", expected_path.display())),
    }
}

#[test]
fn golden_calendar_corpus() {
    let mut failures = Vec::new();
    let mut seen = 0;
    let entries = std::fs::read_dir(dir()).unwrap_or_else(|e| panic!("fixture dir: {e}"));
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (opts, profile) = settings(&name);
        if let Some(stem) = name.strip_suffix(".dav.ics") {
            seen += 1;
            let cal = vobject::parse(&input, &ParseOptions::standard())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let out = vcal::from_dav_with(&cal, &opts, &profile)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check(&dir().join(format!("{stem}.out.vcs")), &out, &mut failures);
        } else if let Some(stem) = name.strip_suffix(".vcs").filter(|s| !s.ends_with(".out")) {
            seen += 1;
            let cal = vcal::to_dav_with(&input, &opts, &profile)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let out = vobject::write(&cal, &WriteOptions::standard());
            check(&dir().join(format!("{stem}.ics")), &out, &mut failures);
        }
    }
    assert!(seen >= 10, "only {seen} fixtures found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn opts_berlin() -> ConvertOptions {
    settings("x").0
}

fn vevent(cal: &Component) -> &Component {
    cal.components
        .iter()
        .find(|c| c.name == "VEVENT" || c.name == "VTODO")
        .unwrap_or_else(|| panic!("no item in {cal}"))
}

/// DAV -> phone -> DAV keeps every property vCalendar can carry, for generated events.
#[test]
fn roundtrip_keeps_what_vcal_carries() {
    let opts = opts_berlin();
    let rules = [
        None,
        Some("FREQ=DAILY;COUNT=5"),
        Some("FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        Some("FREQ=MONTHLY;BYDAY=-1FR"),
        Some("FREQ=MONTHLY;BYMONTHDAY=1,15"),
        Some("FREQ=YEARLY;BYMONTH=3,9"),
    ];
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    for i in 0..300 {
        let month = next() % 12 + 1;
        let day = next() % 28 + 1;
        // Daytime hours: a start inside a DST gap (02:30 on the switch day) legitimately moves.
        let hour = 8 + next() % 12;
        let rule = rules[i % rules.len()];
        let summary = format!("Event {i}, ünïcode; part");
        let mut text = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u{i}\r\nDTSTAMP:20090101T000000Z\r\nSUMMARY:{}\r\nDESCRIPTION:line 1\\nline 2\r\nLOCATION:Room {i}\r\nDTSTART;TZID=Europe/Berlin:2011{month:02}{day:02}T{hour:02}0000\r\nDTEND;TZID=Europe/Berlin:2011{month:02}{day:02}T{:02}3000\r\nCATEGORIES:A,B{i}\r\nCLASS:PRIVATE\r\nPRIORITY:{}\r\n",
            summary.replace(',', "\\,").replace(';', "\\;"),
            hour,
            [1, 5, 7][i % 3]
        );
        if let Some(r) = rule {
            text.push_str(&format!("RRULE:{r}\r\n"));
        }
        text.push_str("BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let dav = vobject::parse(text.as_bytes(), &ParseOptions::standard())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let phone = vcal::from_dav(&dav, &opts).unwrap_or_else(|e| panic!("{e}"));
        let back = vcal::to_dav(&phone, &opts).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (vevent(&dav), vevent(&back));
        for prop in [
            "SUMMARY",
            "DESCRIPTION",
            "LOCATION",
            "CATEGORIES",
            "CLASS",
            "PRIORITY",
        ] {
            assert_eq!(
                a.value(prop),
                b.value(prop),
                "{prop} of item {i}\n{}",
                String::from_utf8_lossy(&phone)
            );
        }
        // Same instants and the same wall-clock zone (recurring series keep their TZID).
        let tz = chrono_tz::Europe::Berlin;
        for prop in ["DTSTART", "DTEND"] {
            let ta = a
                .property(prop)
                .and_then(|p| vcal::read_ical_time(p, tz))
                .map(|t| t.to_utc(tz));
            let tb = b
                .property(prop)
                .and_then(|p| vcal::read_ical_time(p, tz))
                .map(|t| t.to_utc(tz));
            assert_eq!(ta, tb, "{prop} of item {i}");
        }
        if rule.is_some() {
            assert_eq!(
                b.property("DTSTART").and_then(|p| p.param("TZID")),
                Some("Europe/Berlin")
            );
            let expand = |c: &Component| {
                let r = syncml_bridge::convert::rrule::parse_ical(c.value("RRULE").unwrap_or(""))
                    .unwrap_or_else(|e| panic!("{e}"));
                let start = c
                    .property("DTSTART")
                    .and_then(|p| vcal::read_ical_time(p, tz))
                    .unwrap_or_else(|| panic!("start"));
                syncml_bridge::convert::rrule::occurrences(&r, start.naive(), 12, None)
            };
            assert_eq!(
                expand(a),
                expand(b),
                "occurrences of item {i}: {:?} vs {:?}",
                a.value("RRULE"),
                b.value("RRULE")
            );
        }
        assert_eq!(
            b.components_named("VALARM")
                .next()
                .and_then(|v| v.value("TRIGGER")),
            Some("-PT10M")
        );
    }
}

/// Every all-day convention and alarm property written to a phone reads back the same.
#[test]
fn device_conventions_roundtrip() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20090101T000000Z\r\nSUMMARY:Trip\r\nDTSTART;VALUE=DATE:20110328\r\nDTEND;VALUE=DATE:20110401\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Trip\r\nTRIGGER:-PT12H\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let dav = vobject::parse(text.as_bytes(), &ParseOptions::standard())
        .unwrap_or_else(|e| panic!("{e}"));
    for tz in [chrono_tz::Europe::Berlin, chrono_tz::America::New_York] {
        for style in [
            AllDayStyle::Midnight,
            AllDayStyle::Until2359,
            AllDayStyle::DateOnly,
            AllDayStyle::UtcMidnight24,
        ] {
            for time_out in [TimeForm::Utc, TimeForm::Local] {
                let mut opts = opts_berlin().with_device_tz(tz);
                opts = opts.with_charset(Charset::Utf8);
                let profile = CalendarProfile {
                    all_day: style,
                    time_out,
                    send_tz: time_out == TimeForm::Local,
                    alarm_as: AlarmKind::Display,
                    ..CalendarProfile::default()
                };
                let phone =
                    vcal::from_dav_with(&dav, &opts, &profile).unwrap_or_else(|e| panic!("{e}"));
                let back =
                    vcal::to_dav_with(&phone, &opts, &profile).unwrap_or_else(|e| panic!("{e}"));
                let ev = vevent(&back);
                let ctx = format!(
                    "{tz} {style:?} {time_out:?}\n{}",
                    String::from_utf8_lossy(&phone)
                );
                assert_eq!(ev.value("DTSTART"), Some("20110328"), "{ctx}");
                assert_eq!(ev.value("DTEND"), Some("20110401"), "{ctx}");
                let alarm = ev
                    .components_named("VALARM")
                    .next()
                    .unwrap_or_else(|| panic!("alarm {ctx}"));
                assert_eq!(alarm.value("ACTION"), Some("DISPLAY"), "{ctx}");
                assert_eq!(alarm.value("TRIGGER"), Some("-PT12H"), "{ctx}");
            }
        }
    }
}

/// No input makes the calendar and note readers panic.
#[test]
fn readers_never_panic() {
    let opts = opts_berlin();
    let pieces: &[&str] = &[
        "BEGIN:VCALENDAR\r\n",
        "VERSION:1.0\r\n",
        "BEGIN:VEVENT\r\n",
        "END:VEVENT\r\n",
        "BEGIN:VTODO\r\n",
        "END:VTODO\r\n",
        "END:VCALENDAR\r\n",
        "DTSTART:20091010T090000Z\r\n",
        "DTEND:2009\r\n",
        "RRULE:W1 MO TH #4\r\n",
        "RRULE:MP0 9+ XX\r\n",
        "RRULE:YD1 400\r\n",
        "EXDATE:;;,\r\n",
        "AALARM:x;y;z\r\n",
        "DALARM:20091010T090000;PTX;-1;\r\n",
        "TZ:+99\r\n",
        "TZ:-05\r\n",
        "DAYLIGHT:TRUE;+02;garbage\r\n",
        "DUE:20091012T240000\r\n",
        "PRIORITY:300\r\n",
        "SUMMARY;ENCODING=QUOTED-PRINTABLE:=C3=\r\n",
        "BEGIN:VNOTE\r\n",
        "BODY:x\r\n",
        "END:VNOTE\r\n",
        "DCREATED:bad\r\n",
        "RRULE:D1 99999999T999999\r\n",
        "\u{0}\u{ff}",
        "RRULE:MD1 31- LD 0 #9999999999\r\n",
    ];
    let mut seed: u64 = 99;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..8 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        let _ = vcal::to_dav(text.as_bytes(), &opts);
        let _ = note::vnote_to_dav(text.as_bytes(), &opts);
        let _ = note::text_to_dav(text.as_bytes(), &opts);
        if let Ok(cal) = vobject::parse(text.as_bytes(), &ParseOptions::standard()) {
            let _ = vcal::from_dav(&cal, &opts);
            let _ = note::vnote_from_dav(&cal, &opts);
        }
    }
}
