//! SIF-T (`text/x-s4j-sift`, root `<task>`) <-> iCalendar VTODO. Simple fields come from
//! `mappings/sif/task.toml`; dates, completion, the reminder and recurrence are read here.

use std::sync::LazyLock;

use chrono::NaiveTime;

use super::super::alarm::{self, AlarmKind};
use super::super::rrule;
use super::super::timezone::{format_naive, local_to_utc, CalTime};
use super::super::vcal;
use super::super::vobject::{escape_text, Component, Dialect, Property};
use super::super::{ConvertError, ConvertOptions, Format};
use super::calendar::{
    bad, calendar_of, exceptions_in, exceptions_out, master, parse_time, recurrence_in,
    recurrence_out, sif_date, text_of, times_property, zone_in, CalTable,
};
use super::{parse_bool, SifElement};

static TABLE: LazyLock<CalTable> =
    LazyLock::new(|| CalTable::load(include_str!("../../../mappings/sif/task.toml"), "task.toml"));

const F: Format = Format::Sift;

/// The elements this format reads and writes.
pub fn element_names() -> Vec<String> {
    TABLE.element_names()
}
/// Outlook's "no date" placeholder (4501-01-01 in its own zone).
const OUTLOOK_NO_DATE: &str = "4500";

/// A SIF-T item (plain or base64) as a VCALENDAR with one VTODO.
pub fn to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    let root = TABLE.parse(input, F)?;
    let zone = zone_in(&root, opts.device_tz);
    // Task dates are days in Outlook, whatever form they arrive in.
    let date = |name: &str| -> Result<Option<CalTime>, ConvertError> {
        let Some(t) = text_of(&root, name).filter(|t| !t.starts_with(OUTLOOK_NO_DATE)) else {
            return Ok(None);
        };
        let t = parse_time(t, zone).map_err(|e| bad(F, name, e))?;
        Ok(Some(CalTime::Date(t.local_in(zone).date())))
    };
    let start = date("StartDate")?;
    let due = date("DueDate")?;
    let completed = date("DateCompleted")?;
    let recurring = text_of(&root, "IsRecurring").is_some_and(parse_bool);
    // RFC 5545 anchors a rule on DTSTART: a recurring task with only a due date starts then.
    let start = start.or(due.filter(|_| recurring));

    let mut todo = Component::new("VTODO");
    // Without a UID of its own the item gets a unique one when it is first written.
    if let Some(uid) = text_of(&root, "Uid") {
        todo.push(Property::new("UID", escape_text(uid, Dialect::Standard)));
    }
    todo.push(Property::new(
        "DTSTAMP",
        format!("{}Z", format_naive(opts.now.naive_utc())),
    ));
    if let Some(s) = &start {
        todo.push(vcal::time_property("DTSTART", s));
    }
    if let Some(d) = &due {
        todo.push(vcal::time_property("DUE", d));
    }
    if let Some(c) = completed {
        // COMPLETED is a UTC date-time: the start of that day where the device is.
        let utc = local_to_utc(zone, c.naive().date().and_time(NaiveTime::MIN));
        todo.push(Property::new(
            "COMPLETED",
            format!("{}Z", format_naive(utc)),
        ));
    }
    TABLE.fields_in(&root, &mut todo);
    if text_of(&root, "Complete").is_some_and(parse_bool) && todo.property("STATUS").is_none() {
        todo.push(Property::new("STATUS", "COMPLETED"));
    }
    if let Some(anchor) = start.filter(|_| recurring) {
        if let Some(r) = recurrence_in(&root, &anchor, zone, F)? {
            todo.push(Property::new("RRULE", rrule::to_ical(&r)));
            let (ex, inc) = exceptions_in(&root, &anchor, zone, F)?;
            todo.properties.extend(times_property("EXDATE", &ex));
            todo.properties.extend(times_property("RDATE", &inc));
        }
    }
    if let Some(a) = reminder_in(&root, zone, todo.value("SUMMARY"))? {
        todo.components.push(a);
    }
    Ok(calendar_of(todo))
}

/// `ReminderSet` + `ReminderTime` (local) as a VALARM at that instant.
fn reminder_in(
    root: &SifElement,
    zone: chrono_tz::Tz,
    summary: Option<&str>,
) -> Result<Option<Component>, ConvertError> {
    if !text_of(root, "ReminderSet").is_some_and(parse_bool) {
        return Ok(None);
    }
    let Some(when) = text_of(root, "ReminderTime") else {
        return Ok(None);
    };
    let run = parse_time(when, zone).map_err(|e| bad(F, "ReminderTime", e))?;
    let sound = text_of(root, "ReminderSoundFile");
    let mut a = Component::new("VALARM");
    a.push(Property::new(
        "ACTION",
        if sound.is_some() { "AUDIO" } else { "DISPLAY" },
    ));
    a.push(
        Property::new("TRIGGER", format!("{}Z", format_naive(run.to_utc(zone))))
            .with_param("VALUE", "DATE-TIME"),
    );
    match sound {
        Some(s) => a.push(Property::new("ATTACH", escape_text(s, Dialect::Standard))),
        None => a.push(Property::new(
            "DESCRIPTION",
            summary.unwrap_or("Reminder").to_owned(),
        )),
    }
    Ok(Some(a))
}

/// The master VTODO of a VCALENDAR as SIF-T XML (not base64). SIF task dates are days: a
/// DUE with a time of day reaches the phone as its date.
pub fn from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    let todo = master(cal, "VTODO")?;
    let zone = opts.device_tz;
    let time = |name: &str| {
        todo.property(name)
            .and_then(|p| vcal::read_ical_time(p, zone))
    };
    let start = time("DTSTART");
    let due = time("DUE");
    let completed = time("COMPLETED");
    let day = |t: &CalTime| sif_date(t.local_in(zone).date());

    let mut out = vec![SifElement::leaf("SIFVersion", "1.1")];
    out.extend(
        start
            .as_ref()
            .map(|s| SifElement::leaf("StartDate", day(s))),
    );
    out.extend(due.as_ref().map(|d| SifElement::leaf("DueDate", day(d))));
    let done = completed.is_some()
        || todo
            .value("STATUS")
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("COMPLETED"));
    out.push(SifElement::leaf("Complete", if done { "1" } else { "0" }));
    out.extend(
        completed
            .as_ref()
            .map(|c| SifElement::leaf("DateCompleted", day(c))),
    );
    TABLE.fields_out(todo, &mut out);

    let anchor = start.or(due);
    let anchor_utc = anchor.map(|a| a.to_utc(zone));
    let due_utc = due.map(|d| d.to_utc(zone));
    let reminder = todo
        .components_named("VALARM")
        .find_map(|a| alarm::from_valarm(a, anchor_utc, due_utc, zone));
    match reminder.and_then(|a| Some((a.run_time?, a))) {
        Some((run, a)) => {
            out.push(SifElement::leaf("ReminderSet", "1"));
            out.push(SifElement::leaf(
                "ReminderTime",
                format_naive(run.local_in(zone)),
            ));
            if let (AlarmKind::Audio, Some(file)) = (a.kind, a.content.as_deref()) {
                out.push(SifElement::leaf("ReminderSoundFile", file));
            }
        }
        None => out.push(SifElement::leaf("ReminderSet", "0")),
    }

    let rule = match (&start, todo.value("RRULE")) {
        (Some(s), Some(r)) => rrule::parse_ical(r)
            .ok()
            .and_then(|r| recurrence_out(&r, s, zone)),
        _ => None,
    };
    match rule {
        Some(fields) => {
            out.extend(fields);
            out.extend(exceptions_out(todo, true, zone));
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
    use chrono::TimeZone;

    fn opts() -> ConvertOptions {
        ConvertOptions::new(chrono::Utc.with_ymd_and_hms(2009, 10, 1, 0, 0, 0).unwrap())
            .with_device_tz(chrono_tz::Europe::Berlin)
    }

    #[test]
    fn funambol_completed_task() {
        // Funambol test data sift-completed.xml (formats.md §6.5), with Outlook's no-date.
        let xml = "<task><SIFVersion>1.1</SIFVersion><Subject>Report</Subject><Body>Q3\r\nnumbers</Body><StartDate>45001231T230000Z</StartDate><DueDate>2009-10-12</DueDate><DateCompleted>2009-10-13</DateCompleted><Complete>1</Complete><PercentComplete>100</PercentComplete><Status>2</Status><Importance>2</Importance><Sensitivity>0</Sensitivity><TotalWork>120</TotalWork><ReminderSet>1</ReminderSet><ReminderTime>20091012T083000</ReminderTime><IsRecurring>0</IsRecurring></task>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let t = master(&cal, "VTODO").unwrap();
        let text = t.to_string();
        assert!(t.property("DTSTART").is_none(), "{text}");
        assert!(text.contains("DUE;VALUE=DATE:20091012\r\n"), "{text}");
        assert!(text.contains("COMPLETED:20091012T220000Z\r\n"), "{text}");
        assert!(text.contains("STATUS:COMPLETED\r\n"), "{text}");
        assert!(text.contains("PRIORITY:1\r\n"), "{text}");
        assert!(text.contains("PERCENT-COMPLETE:100\r\n"), "{text}");
        assert!(text.contains("CLASS:PUBLIC\r\n"), "{text}");
        assert!(text.contains("X-FUNAMBOL-TOTALWORK:120\r\n"), "{text}");
        assert!(text.contains("DESCRIPTION:Q3\\nnumbers\r\n"), "{text}");
        assert!(
            text.contains("TRIGGER;VALUE=DATE-TIME:20091012T063000Z\r\n"),
            "{text}"
        );
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        for (el, v) in [
            ("DueDate", "2009-10-12"),
            ("DateCompleted", "2009-10-13"),
            ("Complete", "1"),
            ("Status", "2"),
            ("Importance", "2"),
            ("PercentComplete", "100"),
            ("ReminderTime", "20091012T083000"),
            ("TotalWork", "120"),
            ("Body", "Q3\r\nnumbers"),
        ] {
            assert_eq!(back.child_text(el), Some(v), "{el}");
        }
        assert!(back.child("StartDate").is_none());
    }

    #[test]
    fn waiting_status_and_recurring_task() {
        let xml = "<task><Subject>Water plants</Subject><StartDate>2009-10-05</StartDate><Status>3</Status><IsRecurring>1</IsRecurring><RecurrenceType>1</RecurrenceType><Interval>2</Interval><DayOfWeekMask>2</DayOfWeekMask><NoEndDate>1</NoEndDate></task>";
        let cal = to_dav(xml.as_bytes(), &opts()).unwrap();
        let t = master(&cal, "VTODO").unwrap();
        assert!(t.property("STATUS").is_none());
        assert_eq!(t.value("X-SIF-STATUS"), Some("3"));
        assert_eq!(t.value("RRULE"), Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"));
        let back = super::super::parse(&from_dav(&cal, &opts()).unwrap(), F).unwrap();
        assert_eq!(back.child_text("Status"), Some("3"));
        assert_eq!(back.child_text("DayOfWeekMask"), Some("2"));
        assert_eq!(back.child_text("Interval"), Some("2"));
    }

    #[test]
    fn bad_dates_are_typed_errors() {
        for xml in [
            "<task><DueDate>someday</DueDate></task>",
            "<task><ReminderSet>1</ReminderSet><ReminderTime>x</ReminderTime></task>",
            "<appointment/>",
        ] {
            assert!(to_dav(xml.as_bytes(), &opts()).is_err(), "{xml}");
        }
    }
}
