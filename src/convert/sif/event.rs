//! SIF-E (`text/x-s4j-sife`, root `<appointment>`) <-> iCalendar VEVENT. Simple fields come
//! from `mappings/sif/event.toml`; times, all-day events, recurrence, exceptions, the
//! reminder and the `<Timezone>` block are read here.

use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveTime};

use super::super::alarm::{self, AlarmKind};
use super::super::rrule::{self, RecurEnd};
use super::super::timezone::CalTime;
use super::super::vcal;
use super::super::vobject::{escape_text, Component, Dialect, Property};
use super::super::{ConvertError, ConvertOptions, Format};
use super::calendar::{
    bad, calendar_of, exceptions_in, exceptions_out, master, number_of, parse_time, recurrence_in,
    recurrence_out, sif_date, sif_utc, text_of, times_property, zone_in, zone_out, zonify,
    CalTable,
};
use super::{parse_bool, SifElement};

static TABLE: LazyLock<CalTable> = LazyLock::new(|| {
    CalTable::load(
        include_str!("../../../mappings/sif/event.toml"),
        "event.toml",
    )
});

const F: Format = Format::Sife;

/// The elements this format reads and writes.
pub fn element_names() -> Vec<String> {
    TABLE.element_names()
}
/// Outlook describes at most this many DST years in `<Timezone>`.
const MAX_DAYLIGHT_YEARS: i32 = 6;

/// A SIF-E item (plain or base64) as a VCALENDAR with one VEVENT.
pub fn to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let root = TABLE.parse(input, F)?;
    let zone = zone_in(&root, opts.device_tz);
    let recurring = text_of(&root, "IsRecurring").is_some_and(parse_bool);
    let time = |name: &str| {
        text_of(&root, name)
            .map(|t| parse_time(t, zone).map_err(|e| bad(F, name, e)))
            .transpose()
    };
    let start = match time("Start")? {
        Some(s) => s,
        None => time("PatternStartDate")?.ok_or_else(|| ConvertError::Invalid {
            format: F,
            reason: "an appointment needs a Start".into(),
        })?,
    };
    let end = time("End")?;
    let all_day = text_of(&root, "AllDayEvent").is_some_and(parse_bool) || start.is_date();
    let (dtstart, dtend) = if all_day {
        let s = start.local_in(zone).date();
        // SIF's all-day End is the last day; iCalendar's DTEND the day after it.
        let e = match end {
            Some(CalTime::Date(d)) => d + Duration::days(1),
            Some(t) => {
                let l = t.local_in(zone);
                if l.time() == NaiveTime::MIN && l.date() > s {
                    l.date()
                } else {
                    l.date() + Duration::days(1)
                }
            }
            None => s + Duration::days(1),
        };
        (
            CalTime::Date(s),
            Some(CalTime::Date(e.max(s + Duration::days(1)))),
        )
    } else {
        (
            zonify(start, zone, recurring),
            end.map(|e| zonify(e, zone, recurring)),
        )
    };

    let mut ev = Component::new("VEVENT");
    // Without a UID of its own the item gets a unique one when it is first written.
    if let Some(uid) = text_of(&root, "Uid") {
        ev.push(Property::new("UID", escape_text(uid, Dialect::Standard)));
    }
    ev.push(Property::new(
        "DTSTAMP",
        format!(
            "{}Z",
            super::super::timezone::format_naive(opts.now.naive_utc())
        ),
    ));
    ev.push(vcal::time_property("DTSTART", &dtstart));
    if let Some(e) = &dtend {
        ev.push(vcal::time_property("DTEND", e));
    }
    TABLE.fields_in(&root, &mut ev);
    if let Some(r) = recurrence_in(&root, &dtstart, zone, F)? {
        ev.push(Property::new("RRULE", rrule::to_ical(&r)));
        let (ex, inc) = exceptions_in(&root, &dtstart, zone, F)?;
        ev.properties.extend(times_property("EXDATE", &ex));
        ev.properties.extend(times_property("RDATE", &inc));
    }
    if let Some(a) = reminder_in(&root, ev.value("SUMMARY"))? {
        ev.components.push(a);
    }
    Ok(calendar_of(ev))
}

/// `ReminderSet`, `ReminderMinutesBeforeStart`, `ReminderSoundFile` as a VALARM relative
/// to the start.
fn reminder_in(
    root: &SifElement,
    summary: Option<&str>,
) -> Result<Option<Component>, ConvertError> {
    if !text_of(root, "ReminderSet").is_some_and(parse_bool) {
        return Ok(None);
    }
    let minutes = number_of(root, "ReminderMinutesBeforeStart", F)?.unwrap_or(0);
    let minutes = minutes.clamp(-525_600, 525_600);
    let mut a = Component::new("VALARM");
    let sound = text_of(root, "ReminderSoundFile");
    a.push(Property::new(
        "ACTION",
        if sound.is_some() { "AUDIO" } else { "DISPLAY" },
    ));
    a.push(Property::new(
        "TRIGGER",
        alarm::format_duration(-minutes * 60),
    ));
    match sound {
        Some(s) => a.push(Property::new("ATTACH", escape_text(s, Dialect::Standard))),
        None => a.push(Property::new(
            "DESCRIPTION",
            summary.unwrap_or("Reminder").to_owned(),
        )),
    }
    Ok(Some(a))
}

/// The master VEVENT of a VCALENDAR as SIF-E XML (not base64: the SyncML layer applies the
/// item's Format). A rule SIF cannot express is left out; the merge keeps it on the server.
pub fn from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let ev = master(cal, "VEVENT")?;
    let device = opts.device_tz;
    let start = ev
        .property("DTSTART")
        .and_then(|p| vcal::read_ical_time(p, device))
        .ok_or_else(|| ConvertError::Invalid {
            format: Format::Ical20,
            reason: "a VEVENT without DTSTART has no SIF form".into(),
        })?;
    let zone = match start {
        CalTime::Zoned(_, tz) => tz,
        _ => device,
    };
    let end = ev
        .property("DTEND")
        .and_then(|p| vcal::read_ical_time(p, zone))
        .or_else(|| {
            let d = alarm::parse_duration(ev.value("DURATION")?).ok()?;
            Some(match start {
                CalTime::Date(s) => CalTime::Date(s + Duration::seconds(d)),
                t => CalTime::Utc(t.to_utc(zone) + Duration::seconds(d)),
            })
        });
    let all_day = start.is_date();

    let mut out = vec![SifElement::leaf("SIFVersion", "1.1")];
    if let CalTime::Date(s) = start {
        let last = match end {
            Some(e) => (e.local_in(zone).date() - Duration::days(1)).max(s),
            None => s,
        };
        out.push(SifElement::leaf("Start", sif_date(s)));
        out.push(SifElement::leaf("End", sif_date(last)));
        out.push(SifElement::leaf("AllDayEvent", "1"));
    } else {
        out.push(SifElement::leaf("Start", sif_utc(&start, zone)));
        let e = end.unwrap_or(start);
        out.push(SifElement::leaf("End", sif_utc(&e, zone)));
        out.push(SifElement::leaf("AllDayEvent", "0"));
    }
    TABLE.fields_out(ev, &mut out);

    let start_utc = start.to_utc(zone);
    let end_utc = end.map(|e| e.to_utc(zone));
    let reminder = ev
        .components_named("VALARM")
        .find_map(|a| Some((a, alarm::from_valarm(a, Some(start_utc), end_utc, zone)?)));
    match reminder {
        Some((_, a)) => {
            let run = a.run_time.map_or(start_utc, |t| t.to_utc(zone));
            let minutes = (start_utc - run).num_minutes();
            out.push(SifElement::leaf("ReminderSet", "1"));
            out.push(SifElement::leaf(
                "ReminderMinutesBeforeStart",
                minutes.to_string(),
            ));
            if let (AlarmKind::Audio, Some(file)) = (a.kind, a.content.as_deref()) {
                out.push(SifElement::leaf("ReminderSoundFile", file));
            }
        }
        None => out.push(SifElement::leaf("ReminderSet", "0")),
    }

    let rule = ev
        .value("RRULE")
        .and_then(|r| rrule::parse_ical(r).ok())
        .and_then(|r| Some((recurrence_out(&r, &start, zone)?, r)));
    match rule {
        Some((fields, r)) => {
            out.extend(fields);
            out.extend(exceptions_out(ev, all_day, zone));
            if !all_day {
                let first = start.local_in(zone).year();
                let last = match &r.end {
                    RecurEnd::Until(u) => u.local_in(zone).year(),
                    _ => first,
                };
                let last = last.clamp(first, first + MAX_DAYLIGHT_YEARS - 1);
                out.push(zone_out(zone, first..=last));
            }
        }
        None => out.push(SifElement::leaf("IsRecurring", "0")),
    }

    let mut root = SifElement::new(&TABLE.root);
    root.children = out;
    Ok(super::write(&root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::vobject::unescape_text;
    use chrono::TimeZone;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(chrono::Utc.with_ymd_and_hms(2009, 10, 1, 0, 0, 0).unwrap())
            .with_device_tz(chrono_tz::Europe::Berlin)
    }

    fn text(value: &str) -> String {
        unescape_text(value, Dialect::Standard)
    }

    fn vevent(cal: &Component) -> &Component {
        master(cal, "VEVENT").unwrap()
    }

    #[test]
    fn guide_example_with_reminder_and_sensitivity() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<appointment><SIFVersion>1.1</SIFVersion><Subject>subject</Subject>\n<Start>20091010T090000Z</Start><End>20091010T093000Z</End><AllDayEvent>0</AllDayEvent>\n<BusyStatus>2</BusyStatus><ReminderSet>1</ReminderSet><ReminderMinutesBeforeStart>25</ReminderMinutesBeforeStart>\n<Sensitivity>2</Sensitivity><IsRecurring>0</IsRecurring></appointment>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let ev = vevent(&cal);
        assert_eq!(ev.value("DTSTART"), Some("20091010T090000Z"));
        assert_eq!(ev.value("DTEND"), Some("20091010T093000Z"));
        assert_eq!(ev.value("SUMMARY"), Some("subject"));
        assert_eq!(ev.value("CLASS"), Some("PRIVATE"));
        assert_eq!(ev.value("TRANSP"), Some("OPAQUE"));
        assert_eq!(ev.value("X-MICROSOFT-CDO-BUSYSTATUS"), Some("BUSY"));
        assert!(ev.property("RRULE").is_none());
        let a = ev.components_named("VALARM").next().unwrap();
        assert_eq!(a.value("TRIGGER"), Some("-PT25M"));
        assert_eq!(a.value("ACTION"), Some("DISPLAY"));
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("ReminderMinutesBeforeStart"), Some("25"));
        assert_eq!(back.child_text("Sensitivity"), Some("2"));
        assert_eq!(back.child_text("BusyStatus"), Some("2"));
        assert_eq!(back.child_text("Start"), Some("20091010T090000Z"));
    }

    #[test]
    fn funambol_weekly_all_day_with_exception() {
        // Funambol test data sife-with-recurrence.xml -> .ics (formats.md §6.4).
        let xml = "<appointment><SIFVersion>1.1</SIFVersion><Subject>Friday</Subject><Start>2009-10-16</Start><End>2009-10-16</End><AllDayEvent>1</AllDayEvent><IsRecurring>1</IsRecurring><RecurrenceType>1</RecurrenceType><Interval>1</Interval><DayOfWeekMask>32</DayOfWeekMask><NoEndDate>0</NoEndDate><Occurrences>3</Occurrences><Exceptions><ExcludeDate>2009-10-23</ExcludeDate><IncludeDate/></Exceptions></appointment>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let ev = vevent(&cal);
        let text = ev.to_string();
        assert!(text.contains("DTSTART;VALUE=DATE:20091016\r\n"), "{text}");
        assert!(text.contains("DTEND;VALUE=DATE:20091017\r\n"), "{text}");
        assert!(
            text.contains("RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=FR\r\n"),
            "{text}"
        );
        assert!(text.contains("EXDATE;VALUE=DATE:20091023\r\n"), "{text}");
        assert!(!cal.components.iter().any(|c| c.name == "VTIMEZONE"));
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("Start"), Some("2009-10-16"));
        assert_eq!(back.child_text("End"), Some("2009-10-16"));
        assert_eq!(back.child_text("DayOfWeekMask"), Some("32"));
        assert_eq!(back.child_text("Occurrences"), Some("3"));
        let ex = back.child("Exceptions").unwrap();
        assert_eq!(ex.child_text("ExcludeDate"), Some("2009-10-23"));
        assert!(back.child("Timezone").is_none());
    }

    #[test]
    fn outlook_all_day_in_utc_and_recurring_timed_in_zone() {
        // Outlook in Berlin: all-day as local midnights written in UTC.
        let xml = "<appointment><Start>20091015T220000Z</Start><End>20091016T220000Z</End><AllDayEvent>1</AllDayEvent></appointment>";
        let ev = to_dav(xml.as_bytes(), &opts()).unwrap();
        let text = vevent(&ev).to_string();
        assert!(
            text.contains("DTSTART;VALUE=DATE:20091016\r\nDTEND;VALUE=DATE:20091017\r\n"),
            "{text}"
        );

        let xml = "<appointment><Subject>Standup</Subject><Start>20091020T070000Z</Start><End>20091020T071500Z</End><IsRecurring>1</IsRecurring><RecurrenceType>0</RecurrenceType><Interval>1</Interval><NoEndDate>1</NoEndDate><Exceptions><ExcludeDate>20091027T080000Z</ExcludeDate></Exceptions></appointment>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let text = cal.to_string();
        // 09:00 Berlin summer time, and 09:00 Berlin winter time for the exception.
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20091020T090000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("EXDATE;TZID=Europe/Berlin:20091027T090000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"),
            "{text}"
        );
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("Start"), Some("20091020T070000Z"));
        assert_eq!(back.child_text("PatternStartDate"), Some("20091020T090000"));
        assert_eq!(
            back.child("Exceptions").unwrap().child_text("ExcludeDate"),
            Some("20091027T080000Z")
        );
        let tz = back.child("Timezone").unwrap();
        assert_eq!(tz.child_text("BasicOffset"), Some("+0100"));
    }

    #[test]
    fn unknown_elements_and_codes_survive() {
        let xml = "<appointment><Start>20091010T090000Z</Start><BusyStatus>7</BusyStatus><MeetingStatus>1</MeetingStatus><ReminderSet>1</ReminderSet><ReminderMinutesBeforeStart>10</ReminderMinutesBeforeStart><ReminderSoundFile>C:\\music.wma</ReminderSoundFile><Body>line 1\r\nline 2; more</Body></appointment>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let ev = vevent(&cal);
        assert_eq!(ev.value("X-SIF-BUSYSTATUS"), Some("7"));
        assert_eq!(ev.value("X-SIF-MEETINGSTATUS"), Some("1"));
        assert_eq!(
            text(ev.value("DESCRIPTION").unwrap()),
            "line 1\nline 2; more"
        );
        let a = ev.components_named("VALARM").next().unwrap();
        assert_eq!(a.value("ACTION"), Some("AUDIO"));
        assert_eq!(text(a.value("ATTACH").unwrap()), "C:\\music.wma");
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("BusyStatus"), Some("7"));
        assert_eq!(back.child_text("MeetingStatus"), Some("1"));
        assert_eq!(back.child_text("ReminderSoundFile"), Some("C:\\music.wma"));
        assert_eq!(back.child_text("Body"), Some("line 1\r\nline 2; more"));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        for xml in [
            "<task/>",
            "<appointment><Subject>x</Subject></appointment>",
            "<appointment><Start>tomorrow</Start></appointment>",
            "<appointment><Start>20091010T090000Z</Start><ReminderSet>1</ReminderSet><ReminderMinutesBeforeStart>soon</ReminderMinutesBeforeStart></appointment>",
        ] {
            assert!(to_dav(xml.as_bytes(), &opts()).is_err(), "{xml}");
        }
    }
}
