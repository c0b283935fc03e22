//! vCalendar 1.0 <-> iCalendar 2.0 for events (VEVENT) and tasks (VTODO).
//!
//! In: the phone's local times are placed in a zone (the one its TZ/DAYLIGHT describe, else
//! the device's configured zone), all-day events in every phone convention become DATE values,
//! alarms become VALARMs, the vCalendar RRULE grammar becomes RFC 5545. Out: the reverse, in
//! the form the device profile asks for. What vCalendar 1.0 cannot say is left out of the
//! phone's copy, never approximated; the merge keeps it on the server.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use chrono_tz::Tz;

use super::alarm::{self, AlarmKind};
use super::rrule::{self, RecurEnd};
use super::timezone::{
    format_caltime, format_date, format_ical_offset, format_naive, parse_caltime, parse_tzid,
    CalTime, VTimezone, VcalZone,
};
use super::vobject::{
    self, escape_text, split_escaped, unescape_text, Component, Dialect, Property,
};
use super::{ConvertError, ConvertOptions, Format};

/// How a device writes all-day events (formats.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllDayStyle {
    /// `T000000` to `T000000` of the day after (local).
    #[default]
    Midnight,
    /// `T000000` to `T235900` of the last day (Funambol synclets, libsynthesis inclusive end).
    Until2359,
    /// `yyyymmdd` dates, end exclusive (Funambol).
    DateOnly,
    /// `T000000Z` to `T240000Z` of the last day (Sony Ericsson P800).
    UtcMidnight24,
}

/// How times are written to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeForm {
    /// UTC with `Z` (devices whose DevInf says `<UTC/>`).
    #[default]
    Utc,
    /// Wall-clock time in the device's zone, without `Z`.
    Local,
}

/// Per-device calendar behaviour (the content quirks of quirks.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProfile {
    pub time_out: TimeForm,
    /// Write `TZ`/`DAYLIGHT` with local times.
    pub send_tz: bool,
    /// Put `TZ`/`DAYLIGHT` inside each VEVENT/VTODO (Nokia 7210c) instead of the VCALENDAR.
    pub tz_in_event: bool,
    pub all_day: AllDayStyle,
    /// Which property carries the phone's alarm (DALARM for Siemens M55, Motorola V8).
    pub alarm_as: AlarmKind,
    /// Alarm times always in UTC (Nokia, Sony Ericsson), whatever `time_out` says.
    pub alarm_utc: bool,
    /// Read `...Z` as local time (SE P800/P900 family, EPOC).
    pub treat_as_local: bool,
    /// Read times without `Z` as UTC (Nokia 9300/9500).
    pub treat_as_utc: bool,
    /// Drop the `X-` some phones put before category names (Nokia E series, UIQ).
    pub strip_x_categories: bool,
}

impl Default for CalendarProfile {
    fn default() -> Self {
        CalendarProfile {
            time_out: TimeForm::Utc,
            send_tz: false,
            tz_in_event: false,
            all_day: AllDayStyle::Midnight,
            alarm_as: AlarmKind::Audio,
            alarm_utc: true,
            treat_as_local: false,
            treat_as_utc: false,
            strip_x_categories: true,
        }
    }
}

/// Properties of VEVENT and VTODO that a vCalendar 1.0 item can carry: what the format
/// capability of a device without CTCap holds (VALARM: one slot).
pub const VCAL_PROPERTIES: &[&str] = &[
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "DTSTART",
    "DTEND",
    "DUE",
    "COMPLETED",
    "RRULE",
    "EXDATE",
    "RDATE",
    "CATEGORIES",
    "CLASS",
    "STATUS",
    "PRIORITY",
    "TRANSP",
    "VALARM",
];

pub const PRODID: &str = "-//syncml-bridge//convert//EN";

fn bad(property: &str, reason: impl std::fmt::Display) -> ConvertError {
    ConvertError::BadProperty {
        format: Format::Vcal10,
        property: property.to_string(),
        reason: reason.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// vCalendar 1.0 -> iCalendar

/// Reads a vCalendar 1.0 item into an iCalendar VCALENDAR, with the device profile of `opts`.
pub fn to_dav(input: &[u8], opts: &ConvertOptions) -> Result<Component, ConvertError> {
    to_dav_with(input, opts, &opts.calendar)
}

/// Reads a vCalendar 1.0 item (VCALENDAR with VEVENTs/VTODOs, or a bare VEVENT/VTODO).
pub fn to_dav_with(
    input: &[u8],
    opts: &ConvertOptions,
    profile: &CalendarProfile,
) -> Result<Component, ConvertError> {
    let root =
        vobject::parse(input, &opts.parse_old()).map_err(ConvertError::syntax(Format::Vcal10))?;
    let items: Vec<&Component> = match root.name.as_str() {
        "VCALENDAR" => root
            .components
            .iter()
            .filter(|c| c.name == "VEVENT" || c.name == "VTODO")
            .collect(),
        "VEVENT" | "VTODO" => vec![&root],
        other => {
            return Err(ConvertError::WrongComponent {
                format: Format::Vcal10,
                expected: "VCALENDAR",
                found: other.to_string(),
            })
        }
    };
    if items.is_empty() {
        return Err(ConvertError::Invalid {
            format: Format::Vcal10,
            reason: "no VEVENT or VTODO in the calendar".into(),
        });
    }
    let mut cal = Component::new("VCALENDAR");
    cal.push(Property::new("VERSION", "2.0"));
    cal.push(Property::new("PRODID", PRODID));
    let mut zones: Vec<Component> = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut out_items = Vec::new();
    for item in items {
        let zone = item_zone(&root, item, opts)?;
        let mut reader = Reader {
            opts,
            profile,
            zone,
            used_tz: None,
        };
        let c = reader.convert(item)?;
        if let Some((tz, year)) = reader.used_tz {
            if used.insert(tz.name().to_string()) {
                zones.push(vtimezone_for(tz, year));
            }
        }
        out_items.push(c);
    }
    cal.components.extend(zones);
    cal.components.extend(out_items);
    Ok(cal)
}

/// The zone an item's local times are in.
#[derive(Debug, Clone)]
enum ItemZone {
    Db(Tz),
    /// A TZ/DAYLIGHT no database zone matches: local times are turned into UTC with it.
    Custom(VcalZone),
}

fn item_zone(
    root: &Component,
    item: &Component,
    opts: &ConvertOptions,
) -> Result<ItemZone, ConvertError> {
    // TZ inside the item (Nokia 7210c) wins over the calendar's.
    let holder = if item.property("TZ").is_some() {
        item
    } else {
        root
    };
    let Some(tz) = holder.value("TZ").map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(ItemZone::Db(opts.device_tz));
    };
    let daylights: Vec<&str> = holder
        .properties_named("DAYLIGHT")
        .map(|p| p.value.as_str())
        .filter(|v| !v.trim().is_empty())
        .collect();
    let key = (
        opts.device_tz,
        tz.to_owned(),
        daylights.iter().map(|d| (*d).to_owned()).collect(),
    );
    if let Some(zone) = ZONE_MATCHES.with(|cache| cache.borrow().get(&key).cloned()) {
        return Ok(zone);
    }
    let zone = match_item_zone(tz, &daylights, opts)?;
    ZONE_MATCHES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= ZONE_MATCH_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, zone.clone());
    });
    Ok(zone)
}

/// Matched zones per thread, by device zone and TZ/DAYLIGHT text: matching walks the zone
/// database (the largest cost left of an item with TZ), and a phone repeats the same lines
/// in every item.
const ZONE_MATCH_CACHE_LIMIT: usize = 256;

type ZoneKey = (Tz, String, Vec<String>);

thread_local! {
    static ZONE_MATCHES: std::cell::RefCell<std::collections::HashMap<ZoneKey, ItemZone>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn match_item_zone(
    tz: &str,
    daylights: &[&str],
    opts: &ConvertOptions,
) -> Result<ItemZone, ConvertError> {
    let vz = VcalZone::parse(tz, daylights).map_err(|e| bad("TZ", e))?;
    if daylights.is_empty() {
        // TZ alone (Nokia S40 style): the device's zone if its standard offset agrees.
        let probe = VcalZone::from_tz(opts.device_tz, 2010..=2010);
        if probe.std_offset == vz.std_offset {
            return Ok(ItemZone::Db(opts.device_tz));
        }
    }
    Ok(match vz.match_tz(Some(opts.device_tz)) {
        Some(tz) => ItemZone::Db(tz),
        None => ItemZone::Custom(vz),
    })
}

/// An item's times as read from the phone.
struct Times {
    start: Option<CalTime>,
    end: Option<CalTime>,
    due: Option<CalTime>,
    all_day: bool,
    /// What a recurrence and alarms count from: the start, else the due time.
    anchor: Option<CalTime>,
    anchor_utc: Option<NaiveDateTime>,
    /// The item has an RRULE or RDATE.
    recurring: bool,
}

/// What every property of one item is read with.
struct ItemContext<'a> {
    is_todo: bool,
    times: &'a Times,
    keep_description: bool,
    summary: Option<&'a str>,
}

struct Reader<'a> {
    opts: &'a ConvertOptions,
    profile: &'a CalendarProfile,
    zone: ItemZone,
    /// The database zone the output refers to by TZID, and the year for its VTIMEZONE.
    used_tz: Option<(Tz, i32)>,
}

impl Reader<'_> {
    fn fallback_tz(&self) -> Tz {
        match &self.zone {
            ItemZone::Db(tz) => *tz,
            ItemZone::Custom(_) => self.opts.device_tz,
        }
    }

    /// A phone time as the item's zone places it.
    fn read_time(&self, name: &str, raw: &str) -> Result<CalTime, ConvertError> {
        let t = parse_caltime(raw).map_err(|e| bad(name, e))?;
        let t = match t {
            CalTime::Utc(n) if self.profile.treat_as_local => CalTime::Floating(n),
            CalTime::Floating(n) if self.profile.treat_as_utc => CalTime::Utc(n),
            other => other,
        };
        Ok(match (t, &self.zone) {
            (CalTime::Floating(n), ItemZone::Db(tz)) if *tz == chrono_tz::UTC => CalTime::Utc(n),
            (CalTime::Floating(n), ItemZone::Db(tz)) => CalTime::Zoned(n, *tz),
            (CalTime::Floating(n), ItemZone::Custom(vz)) => CalTime::Utc(vz.local_to_utc(n)),
            (other, _) => other,
        })
    }

    /// Wall-clock time in the item's zone (for all-day detection).
    fn wall(&self, t: &CalTime) -> NaiveDateTime {
        match (t, &self.zone) {
            (CalTime::Utc(n), ItemZone::Custom(vz)) => {
                *n + Duration::seconds(i64::from(vz.offset_at_utc(*n)))
            }
            (t, _) => t.local_in(self.fallback_tz()),
        }
    }

    /// UTC values of a recurring series are moved into the zone, so the series keeps its
    /// wall-clock time across DST changes.
    fn zonify(&self, t: CalTime, recurring: bool) -> CalTime {
        match (t, &self.zone) {
            (CalTime::Utc(n), ItemZone::Db(tz)) if recurring && *tz != chrono_tz::UTC => {
                CalTime::Zoned(super::timezone::utc_to_local(*tz, n), *tz)
            }
            (t, _) => t,
        }
    }

    fn note_tz(&mut self, t: &CalTime) {
        if let CalTime::Zoned(n, tz) = t {
            if self.used_tz.is_none() {
                self.used_tz = Some((*tz, n.year()));
            }
        }
    }

    fn time_prop(&mut self, name: &str, t: &CalTime) -> Property {
        self.note_tz(t);
        time_property(name, t)
    }

    fn convert(&mut self, item: &Component) -> Result<Component, ConvertError> {
        let mut out = Component::new(&item.name);
        let times = self.read_times(item)?;
        // Without a UID of its own the item gets a unique one when it is first written.
        if let Some(uid) = item
            .value("UID")
            .map(|u| unescape_text(u.trim(), Dialect::Old))
            .filter(|u| !u.is_empty())
        {
            out.push(Property::new("UID", escape_text(&uid, Dialect::Standard)));
        }
        out.push(Property::new(
            "DTSTAMP",
            format!("{}Z", format_naive(self.opts.now.naive_utc())),
        ));
        for (name, t) in [
            ("DTSTART", &times.start),
            ("DTEND", &times.end),
            ("DUE", &times.due),
        ] {
            if let Some(t) = t {
                let p = self.time_prop(name, t);
                out.push(p);
            }
        }

        let summary_text = item
            .value("SUMMARY")
            .map(|v| unescape_text(v, Dialect::Old))
            .filter(|s| !s.trim().is_empty());
        let description = item
            .value("DESCRIPTION")
            .map(|v| unescape_text(v, Dialect::Old))
            .filter(|s| !s.trim().is_empty());
        // Nokia 7650 and others: a description but no summary.
        let summary = summary_text.clone().or_else(|| {
            description
                .as_deref()
                .and_then(|d| d.lines().next())
                .map(|l| l.trim().to_string())
        });
        let ctx = ItemContext {
            is_todo: item.name == "VTODO",
            times: &times,
            // Phones copy the summary into the description; the copy is no data.
            keep_description: description.is_some() && description != summary,
            summary: summary.as_deref(),
        };
        for p in &item.properties {
            self.convert_property(p, &ctx, &mut out)?;
        }
        if let Some(s) = &summary {
            // Right after the times, where readers look for it.
            // UID (when the item has one) and DTSTAMP come first.
            let at = out.properties.len().min(
                1 + usize::from(out.property("UID").is_some())
                    + usize::from(times.start.is_some())
                    + usize::from(times.end.is_some())
                    + usize::from(times.due.is_some()),
            );
            out.properties.insert(at, text_prop("SUMMARY", s));
        }
        Ok(out)
    }

    /// Start, end and due, with the all-day conventions resolved.
    fn read_times(&self, item: &Component) -> Result<Times, ConvertError> {
        let is_todo = item.name == "VTODO";
        let recurring = item
            .properties
            .iter()
            .any(|p| (p.name == "RRULE" || p.name == "RDATE") && !p.value.trim().is_empty());
        let get = |name: &'static str| {
            item.value(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (name, v))
        };
        let start = get("DTSTART")
            .map(|(n, v)| self.read_time(n, v))
            .transpose()?;
        let end = get("DTEND")
            .map(|(n, v)| self.read_time(n, v))
            .transpose()?;
        let due = get("DUE").map(|(n, v)| self.read_time(n, v)).transpose()?;
        let flagged_all_day = item
            .value("X-FUNAMBOL-ALLDAY")
            .is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("TRUE"))
            || item.value("X-EPOCAGENDAENTRYTYPE").is_some_and(|v| {
                v.trim().eq_ignore_ascii_case("EVENT")
                    || v.trim().eq_ignore_ascii_case("ANNIVERSARY")
            });
        let (start, end) = match (start, end) {
            (Some(s), e) if !is_todo => match self.all_day_range(&s, e.as_ref(), flagged_all_day) {
                Some((ds, de)) => (Some(CalTime::Date(ds)), Some(CalTime::Date(de))),
                None => (
                    Some(self.zonify(s, recurring)),
                    e.map(|e| self.zonify(e, recurring)),
                ),
            },
            (s, e) => (
                s.map(|s| self.task_date(s, recurring)),
                e.map(|e| self.zonify(e, recurring)),
            ),
        };
        let due = due.map(|d| self.task_date(d, recurring));
        let anchor = start.or(due);
        Ok(Times {
            all_day: start.as_ref().is_some_and(CalTime::is_date),
            anchor,
            anchor_utc: anchor.map(|a| a.to_utc(self.fallback_tz())),
            recurring,
            start,
            end,
            due,
        })
    }

    /// One property of the phone's item into `out` (the times and UID are done).
    fn convert_property(
        &mut self,
        p: &Property,
        ctx: &ItemContext<'_>,
        out: &mut Component,
    ) -> Result<(), ConvertError> {
        let name = p.name.as_str();
        let value = p.value.trim();
        match name {
            "UID" | "DTSTART" | "DTEND" | "DUE" | "TZ" | "DAYLIGHT" | "VERSION" | "X-IRMC-LUID"
            | "X-FUNAMBOL-ALLDAY" | "DTSTAMP" | "SUMMARY" => {}
            "DESCRIPTION" => {
                if ctx.keep_description {
                    out.push(text_prop(name, &unescape_text(&p.value, Dialect::Old)));
                }
            }
            "LOCATION" | "COMMENT" | "CONTACT" => {
                if !value.is_empty() {
                    out.push(text_prop(name, &unescape_text(&p.value, Dialect::Old)));
                }
            }
            "CATEGORIES" | "RESOURCES" => {
                let items = self.list_values(name, &p.value);
                if !items.is_empty() {
                    let joined: Vec<String> = items
                        .iter()
                        .map(|s| escape_text(s, Dialect::Standard))
                        .collect();
                    out.push(Property::new(name, joined.join(",")));
                }
            }
            "CLASS" => {
                if !value.is_empty() {
                    out.push(Property::new(name, value.to_ascii_uppercase()));
                }
            }
            "STATUS" => {
                if let Some(s) = status_in(value, ctx.is_todo) {
                    out.push(Property::new(name, s));
                }
            }
            "PRIORITY" => {
                if let Ok(n) = value.parse::<u8>() {
                    out.push(Property::new(name, priority_in(n).to_string()));
                }
            }
            "TRANSP" => match value {
                "0" => out.push(Property::new(name, "OPAQUE")),
                "1" => out.push(Property::new(name, "TRANSPARENT")),
                v if v.eq_ignore_ascii_case("OPAQUE") || v.eq_ignore_ascii_case("TRANSPARENT") => {
                    out.push(Property::new(name, v.to_ascii_uppercase()))
                }
                _ => {}
            },
            "DCREATED" | "CREATED" | "LAST-MODIFIED" | "COMPLETED" => {
                if !value.is_empty() {
                    let t = self.read_time(name, value)?;
                    let out_name = if name == "DCREATED" { "CREATED" } else { name };
                    let utc = CalTime::Utc(t.to_utc(self.fallback_tz()));
                    out.push(time_property(out_name, &utc));
                }
            }
            "RRULE" | "EXRULE" | "EXDATE" | "RDATE" => {
                if let Some(prop) = self.recurrence_property(name, value, ctx.times)? {
                    out.push(prop);
                }
            }
            "AALARM" | "DALARM" | "PALARM" | "MALARM" => {
                if let Some(valarm) = self.alarm(p, ctx)? {
                    out.components.push(valarm);
                }
            }
            "ATTENDEE" => {
                if !value.is_empty() {
                    out.push(attendee_in(p));
                }
            }
            _ => {
                if value.is_empty() && !name.starts_with("X-") {
                    return Ok(());
                }
                let mut q = p.clone();
                q.value = escape_text(&unescape_text(&p.value, Dialect::Old), Dialect::Standard);
                q.remove_param("ENCODING");
                q.remove_param("CHARSET");
                out.push(q);
            }
        }
        Ok(())
    }

    /// RRULE and EXRULE in iCalendar syntax; EXDATE and RDATE in the item's zone.
    fn recurrence_property(
        &mut self,
        name: &str,
        value: &str,
        times: &Times,
    ) -> Result<Option<Property>, ConvertError> {
        if name == "RRULE" || name == "EXRULE" {
            // Funambol sends an empty `RRULE:` for "no recurrence".
            if value.is_empty() {
                return Ok(None);
            }
            let Some(dtstart) = times.anchor else {
                return Err(bad(name, "a recurrence needs DTSTART"));
            };
            let r =
                rrule::parse_vcal(value, &dtstart, self.fallback_tz()).map_err(|e| bad(name, e))?;
            return Ok(Some(Property::new(name, rrule::to_ical(&r))));
        }
        let mut values = Vec::new();
        for v in value
            .split([';', ','])
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            let t = self.read_time(name, v)?;
            let t = if times.all_day {
                CalTime::Date(self.wall(&t).date())
            } else {
                self.zonify(t, times.recurring)
            };
            values.push(t);
        }
        let Some(first) = values.first().copied() else {
            return Ok(None);
        };
        let mut prop = self.time_prop(name, &first);
        prop.value = values
            .iter()
            .map(format_caltime)
            .collect::<Vec<_>>()
            .join(",");
        Ok(Some(prop))
    }

    /// A vCalendar alarm as a VALARM, its run time read in the item's zone.
    fn alarm(
        &self,
        p: &Property,
        ctx: &ItemContext<'_>,
    ) -> Result<Option<Component>, ConvertError> {
        let Some(mut a) = alarm::parse_vcal_alarm(p).map_err(|e| bad(&p.name, e))? else {
            return Ok(None);
        };
        if self.profile.treat_as_local {
            a.run_time = a.run_time.map(|t| match t {
                CalTime::Utc(n) => CalTime::Floating(n),
                o => o,
            });
        }
        let zone = self.fallback_tz();
        let run = match (&self.zone, a.run_time) {
            (ItemZone::Custom(vz), Some(CalTime::Floating(n))) => {
                Some(CalTime::Utc(vz.local_to_utc(n)))
            }
            (_, t) => t,
        };
        a.run_time = run;
        Ok(Some(alarm::to_valarm(
            &a,
            ctx.times.anchor_utc,
            zone,
            ctx.summary,
        )))
    }

    /// The all-day reading of a start/end pair, as (first day, day after the last).
    fn all_day_range(
        &self,
        start: &CalTime,
        end: Option<&CalTime>,
        flagged: bool,
    ) -> Option<(NaiveDate, NaiveDate)> {
        if let CalTime::Date(s) = start {
            let e = match end.map(|e| self.wall(e)) {
                Some(e) if e.date() > *s => {
                    if matches!(end, Some(CalTime::Date(_))) || e.time() == NaiveTime::MIN {
                        e.date()
                    } else {
                        e.date() + Duration::days(1)
                    }
                }
                _ => *s + Duration::days(1),
            };
            return Some((*s, e));
        }
        // Sony Ericsson P800: T000000Z..T240000Z, midnight UTC on both ends.
        if let (CalTime::Utc(s), Some(CalTime::Utc(e))) = (start, end) {
            if s.time() == NaiveTime::MIN && e.time() == NaiveTime::MIN && e > s {
                let here = self.wall(start);
                if here.time() != NaiveTime::MIN {
                    return Some((s.date(), e.date()));
                }
            }
        }
        let s = self.wall(start);
        if s.time() != NaiveTime::MIN {
            return None;
        }
        let Some(end) = end else {
            return flagged.then(|| (s.date(), s.date() + Duration::days(1)));
        };
        let e = self.wall(end);
        if e.time() == NaiveTime::MIN && e.date() > s.date() {
            return Some((s.date(), e.date()));
        }
        if is_end_of_day(e.time()) && e.date() >= s.date() {
            return Some((s.date(), e.date() + Duration::days(1)));
        }
        // Nokia S40: start == end at midnight.
        if e == s {
            return Some((s.date(), s.date() + Duration::days(1)));
        }
        None
    }

    /// A task's DTSTART/DUE: all-day shaped values (local midnight or 23:59) become dates.
    fn task_date(&self, t: CalTime, recurring: bool) -> CalTime {
        if t.is_date() {
            return t;
        }
        let w = self.wall(&t);
        if w.time() == NaiveTime::MIN || is_end_of_day(w.time()) {
            return CalTime::Date(w.date());
        }
        self.zonify(t, recurring)
    }

    fn list_values(&self, name: &str, raw: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in split_escaped(raw, ';') {
            for item in split_escaped(&part, ',') {
                let mut v = unescape_text(item.trim(), Dialect::Old);
                if name == "CATEGORIES" && self.profile.strip_x_categories {
                    if let Some(rest) = v.strip_prefix("X-").or_else(|| v.strip_prefix("x-")) {
                        v = rest.to_string();
                    }
                }
                if !v.is_empty() {
                    out.push(v);
                }
            }
        }
        out
    }
}

fn is_end_of_day(t: NaiveTime) -> bool {
    t.hour() == 23 && t.minute() == 59
}

fn text_prop(name: &str, text: &str) -> Property {
    Property::new(name, escape_text(text, Dialect::Standard))
}

/// An iCalendar date or date-time property with the parameters its form needs.
pub fn time_property(name: &str, t: &CalTime) -> Property {
    let p = Property::new(name, format_caltime(t));
    match t {
        CalTime::Date(_) => p.with_param("VALUE", "DATE"),
        CalTime::Zoned(_, tz) => p.with_param("TZID", tz.name()),
        _ => p,
    }
}

/// Reads an iCalendar date or date-time property; unknown TZIDs are read in `fallback`.
pub fn read_ical_time(p: &Property, fallback: Tz) -> Option<CalTime> {
    let first = p.value.split(',').next()?.trim();
    read_ical_value(first, p.param("TZID"), fallback)
}

fn read_ical_value(value: &str, tzid: Option<&str>, fallback: Tz) -> Option<CalTime> {
    let t = parse_caltime(value).ok()?;
    Some(match (t, tzid) {
        (CalTime::Floating(n), Some(id)) => CalTime::Zoned(n, parse_tzid(id).unwrap_or(fallback)),
        (t, _) => t,
    })
}

fn status_in(v: &str, is_todo: bool) -> Option<&'static str> {
    let v = v.trim().to_ascii_uppercase().replace('-', " ");
    Some(match (v.as_str(), is_todo) {
        ("TENTATIVE", false) => "TENTATIVE",
        ("CONFIRMED", false) => "CONFIRMED",
        ("CANCELLED" | "DECLINED", false) => "CANCELLED",
        ("COMPLETED", true) => "COMPLETED",
        ("IN PROCESS" | "ACCEPTED", true) => "IN-PROCESS",
        ("CANCELLED" | "DECLINED", true) => "CANCELLED",
        ("NEEDS ACTION" | "SENT" | "DELEGATED", true) => "NEEDS-ACTION",
        _ => return None,
    })
}

fn status_out(v: &str, is_todo: bool) -> Option<&'static str> {
    Some(match (v.trim().to_ascii_uppercase().as_str(), is_todo) {
        ("TENTATIVE", false) => "TENTATIVE",
        ("CONFIRMED", false) => "CONFIRMED",
        ("CANCELLED", false) => "DECLINED",
        ("COMPLETED", true) => "COMPLETED",
        ("IN-PROCESS", true) => "IN PROCESS",
        ("NEEDS-ACTION", true) => "NEEDS ACTION",
        ("CANCELLED", true) => "DECLINED",
        _ => return None,
    })
}

/// vCalendar 1 high, 2 normal, 3 low -> iCalendar 1, 5, 7; larger values (Motorola V8 sends
/// 1-9) are already on the iCalendar scale.
pub fn priority_in(n: u8) -> u8 {
    match n {
        2 => 5,
        3 => 7,
        n => n.min(9),
    }
}

/// iCalendar 1-4 -> 1, 5 -> 2, 6-9 -> 3 (SyncEvolution `06todo-priorities.xml`).
pub fn priority_out(n: u8) -> u8 {
    match n {
        0 => 0,
        1..=4 => 1,
        5 => 2,
        _ => 3,
    }
}

/// `ATTENDEE;ROLE=...;STATUS=...;RSVP=YES:Name <a@b>` -> RFC 5545 form.
fn attendee_in(p: &Property) -> Property {
    let raw = unescape_text(p.value.trim(), Dialect::Old);
    let (cn, addr) = match (raw.find('<'), raw.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            Some(raw[..a].trim().to_string()),
            raw[a + 1..b].trim().to_string(),
        ),
        _ => (None, raw.clone()),
    };
    let value = if addr.contains(':') {
        addr
    } else {
        format!("mailto:{addr}")
    };
    let mut q = Property::new("ATTENDEE", value);
    if let Some(cn) = cn.filter(|c| !c.is_empty()) {
        q = q.with_param("CN", &cn);
    }
    if let Some(role) = p.param("ROLE") {
        let r = match role.to_ascii_uppercase().as_str() {
            "OWNER" | "ORGANIZER" => "CHAIR",
            "DELEGATE" => "OPT-PARTICIPANT",
            _ => "REQ-PARTICIPANT",
        };
        q = q.with_param("ROLE", r);
    }
    if let Some(st) = p.param("STATUS") {
        let s = match st.to_ascii_uppercase().replace('-', " ").as_str() {
            "ACCEPTED" | "CONFIRMED" => "ACCEPTED",
            "DECLINED" => "DECLINED",
            "TENTATIVE" => "TENTATIVE",
            "DELEGATED" => "DELEGATED",
            "COMPLETED" => "COMPLETED",
            _ => "NEEDS-ACTION",
        };
        q = q.with_param("PARTSTAT", s);
    }
    if p.param("RSVP")
        .is_some_and(|v| v.eq_ignore_ascii_case("YES"))
    {
        q = q.with_param("RSVP", "TRUE");
    }
    q
}

/// Distinct (zone, year) VTIMEZONEs remembered per thread; a phone session touches a handful.
const VTIMEZONE_CACHE_LIMIT: usize = 256;

thread_local! {
    static VTIMEZONES: std::cell::RefCell<std::collections::HashMap<(Tz, i32), Component>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The VTIMEZONE component of a database zone as it is in `year`. Building it walks the
/// zone's transitions (a third of a vCalendar item's conversion time), so it is computed
/// once per thread, zone and year.
pub fn vtimezone_for(tz: Tz, year: i32) -> Component {
    VTIMEZONES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(c) = cache.get(&(tz, year)) {
            return c.clone();
        }
        if cache.len() >= VTIMEZONE_CACHE_LIMIT {
            cache.clear();
        }
        let c = vtimezone_component(&VTimezone::for_tz(tz, year));
        cache.insert((tz, year), c.clone());
        c
    })
}

/// A VTIMEZONE component from its description.
pub fn vtimezone_component(vt: &VTimezone) -> Component {
    let mut c = Component::new("VTIMEZONE");
    c.push(Property::new("TZID", vt.tzid.clone()));
    for o in &vt.observances {
        let mut sub = Component::new(if o.daylight { "DAYLIGHT" } else { "STANDARD" });
        sub.push(Property::new("DTSTART", format_naive(o.dtstart)));
        sub.push(Property::new(
            "TZOFFSETFROM",
            format_ical_offset(o.offset_from),
        ));
        sub.push(Property::new("TZOFFSETTO", format_ical_offset(o.offset_to)));
        if let Some(n) = &o.name {
            sub.push(Property::new("TZNAME", n.clone()));
        }
        if let Some(r) = &o.rrule {
            sub.push(Property::new("RRULE", r.clone()));
        }
        c.components.push(sub);
    }
    c
}

// ---------------------------------------------------------------------------------------------
// iCalendar -> vCalendar 1.0

/// Writes the events and tasks of a VCALENDAR as vCalendar 1.0 with the device profile of `opts`.
pub fn from_dav(cal: &Component, opts: &ConvertOptions) -> Result<Vec<u8>, ConvertError> {
    from_dav_with(cal, opts, &opts.calendar)
}

/// Writes the events and tasks of a VCALENDAR as vCalendar 1.0 for a device. Detached
/// occurrences (RECURRENCE-ID) have no vCalendar form and stay on the server.
pub fn from_dav_with(
    cal: &Component,
    opts: &ConvertOptions,
    profile: &CalendarProfile,
) -> Result<Vec<u8>, ConvertError> {
    let out = vcal_tree(cal, opts, profile)?;
    Ok(vobject::write(&out, &opts.write_old()))
}

/// The vCalendar 1.0 tree [`from_dav_with`] writes.
pub fn vcal_tree(
    cal: &Component,
    opts: &ConvertOptions,
    profile: &CalendarProfile,
) -> Result<Component, ConvertError> {
    let items: Vec<&Component> = if cal.name == "VEVENT" || cal.name == "VTODO" {
        vec![cal]
    } else {
        cal.components
            .iter()
            .filter(|c| {
                (c.name == "VEVENT" || c.name == "VTODO") && c.property("RECURRENCE-ID").is_none()
            })
            .collect()
    };
    if items.is_empty() {
        return Err(ConvertError::Invalid {
            format: Format::Ical20,
            reason: "no VEVENT or VTODO in the calendar".into(),
        });
    }
    let mut out = Component::new("VCALENDAR");
    out.push(Property::new("VERSION", "1.0"));
    let writer = Writer { opts, profile };
    let mut tz_props: Option<Vec<Property>> = None;
    for item in items {
        let (c, years) = writer.convert(item)?;
        if profile.send_tz && profile.time_out == TimeForm::Local && tz_props.is_none() {
            let vz = VcalZone::from_tz(opts.device_tz, years.0..=years.1);
            let mut props = vec![Property::new("TZ", vz.tz_value())];
            props.extend(
                vz.daylight_values()
                    .into_iter()
                    .map(|d| Property::new("DAYLIGHT", d)),
            );
            tz_props = Some(props);
        }
        out.components.push(c);
    }
    if let Some(props) = tz_props {
        if profile.tz_in_event {
            for c in &mut out.components {
                let mut p = props.clone();
                p.append(&mut c.properties);
                c.properties = p;
            }
        } else {
            out.properties.extend(props);
        }
    }
    Ok(out)
}

struct Writer<'a> {
    opts: &'a ConvertOptions,
    profile: &'a CalendarProfile,
}

/// vCalendar writers describe at most this many DST years (Funambol `MAX_DAYLIGHT_PROPS`).
const MAX_DAYLIGHT_YEARS: i32 = 6;

impl Writer<'_> {
    fn tz(&self) -> Tz {
        self.opts.device_tz
    }

    fn time_out(&self, t: &CalTime) -> String {
        match (t, self.profile.time_out) {
            (CalTime::Date(d), _) => format_naive(d.and_time(NaiveTime::MIN)),
            (t, TimeForm::Utc) => format!("{}Z", format_naive(t.to_utc(self.tz()))),
            (t, TimeForm::Local) => format_naive(t.local_in(self.tz())),
        }
    }

    fn alarm_time(&self, t: &CalTime) -> String {
        if self.profile.alarm_utc {
            alarm::utc_form(t, self.tz())
        } else {
            self.time_out(t)
        }
    }

    /// The all-day pair in the device's convention (`end` exclusive).
    fn all_day_out(&self, start: NaiveDate, end: NaiveDate) -> (String, String) {
        let last = (end - Duration::days(1)).max(start);
        let midnight = |d: NaiveDate| format_naive(d.and_time(NaiveTime::MIN));
        match self.profile.all_day {
            AllDayStyle::Midnight => (midnight(start), midnight(last + Duration::days(1))),
            AllDayStyle::Until2359 => (
                midnight(start),
                format_naive(last.and_hms_opt(23, 59, 0).unwrap_or_default()),
            ),
            AllDayStyle::DateOnly => (format_date(start), format_date(last + Duration::days(1))),
            AllDayStyle::UtcMidnight24 => (
                format!("{}Z", midnight(start)),
                format!("{}T240000Z", format_date(last)),
            ),
        }
    }

    fn date_out(&self, d: NaiveDate) -> String {
        match self.profile.all_day {
            AllDayStyle::DateOnly => format_date(d),
            AllDayStyle::UtcMidnight24 => format!("{}Z", format_naive(d.and_time(NaiveTime::MIN))),
            _ => format_naive(d.and_time(NaiveTime::MIN)),
        }
    }

    /// Returns the item and the years its dates span (for DAYLIGHT).
    fn convert(&self, item: &Component) -> Result<(Component, (i32, i32)), ConvertError> {
        let is_todo = item.name == "VTODO";
        let tz = self.tz();
        let mut out = Component::new(&item.name);
        let time = |name: &str| item.property(name).and_then(|p| read_ical_time(p, tz));
        let start = time("DTSTART");
        let end = time("DTEND").or_else(|| end_from_duration(item, start));
        let due = time("DUE");
        let first_year = start.or(due).map_or(2000, |t| t.naive().year());

        let text = |name: &str| {
            item.value(name)
                .map(|v| unescape_text(v, Dialect::Standard))
                .filter(|v| !v.is_empty())
        };
        for name in ["SUMMARY", "DESCRIPTION", "LOCATION"] {
            if let Some(s) = text(name) {
                out.push(Property::new(name, escape_text(&s, Dialect::Old)));
            }
        }
        self.push_times(item, &mut out, (start, end, due), is_todo);
        let anchor = start.or(due);
        let last_year = self.push_recurrence(item, &mut out, anchor, first_year);
        self.push_details(item, &mut out, is_todo);
        // Phones hold one alarm: the first that can be placed in time.
        let anchor_utc = anchor.map(|a| a.to_utc(tz));
        let end_utc = end.or(due).map(|e| e.to_utc(tz));
        if let Some(a) = item
            .components_named("VALARM")
            .find_map(|v| alarm::from_valarm(v, anchor_utc, end_utc, tz))
        {
            let kind = match a.kind {
                AlarmKind::Email => AlarmKind::Email,
                AlarmKind::Procedure => AlarmKind::Procedure,
                _ => self.profile.alarm_as,
            };
            // A display text is no sound file: an AALARM carries only the time then.
            let mut a = a;
            if a.kind != kind && kind == AlarmKind::Audio {
                a.content = None;
            }
            out.push(alarm::to_vcal_property(&a, kind, |t| self.alarm_time(t)));
        }
        Ok((
            out,
            (
                first_year,
                last_year.clamp(first_year, first_year + MAX_DAYLIGHT_YEARS - 1),
            ),
        ))
    }

    /// DTSTART, DTEND and DUE in the device's conventions.
    fn push_times(
        &self,
        item: &Component,
        out: &mut Component,
        (start, end, due): (Option<CalTime>, Option<CalTime>, Option<CalTime>),
        is_todo: bool,
    ) {
        match (start, end) {
            (Some(CalTime::Date(s)), e) => {
                let e = match e {
                    Some(CalTime::Date(e)) => e,
                    _ => s + Duration::days(1),
                };
                let (a, b) = self.all_day_out(s, e);
                out.push(Property::new("DTSTART", a));
                if !is_todo || item.property("DTEND").is_some() {
                    out.push(Property::new("DTEND", b));
                }
            }
            (s, e) => {
                if let Some(s) = s {
                    out.push(Property::new("DTSTART", self.time_out(&s)));
                }
                if let Some(e) = e {
                    out.push(Property::new("DTEND", self.time_out(&e)));
                }
            }
        }
        if let Some(d) = due {
            let v = match d {
                CalTime::Date(d) => self.date_out(d),
                other => self.time_out(&other),
            };
            out.push(Property::new("DUE", v));
        }
    }

    /// RRULE, EXDATE and RDATE; returns the last year the series reaches.
    fn push_recurrence(
        &self,
        item: &Component,
        out: &mut Component,
        anchor: Option<CalTime>,
        first_year: i32,
    ) -> i32 {
        let mut last_year = first_year;
        if let (Some(p), Some(dtstart)) = (item.property("RRULE"), anchor) {
            // A rule vCalendar cannot say is withheld, not approximated.
            if let Ok(r) = rrule::parse_ical(&p.value) {
                let until_form = |u: &CalTime| match u {
                    CalTime::Date(d) => self.date_out(*d),
                    other => self.time_out(other),
                };
                if let Ok(v) = rrule::to_vcal(&r, &dtstart, until_form) {
                    out.push(Property::new("RRULE", v));
                }
                last_year = match r.end {
                    RecurEnd::Until(u) => u.naive().year(),
                    _ => first_year + MAX_DAYLIGHT_YEARS - 1,
                };
            }
        }
        for name in ["EXDATE", "RDATE"] {
            let mut values = Vec::new();
            for p in item.properties_named(name) {
                for v in p.value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    let Some(t) = read_ical_value(v, p.param("TZID"), self.tz()) else {
                        continue;
                    };
                    values.push(match t {
                        CalTime::Date(d) => self.date_out(d),
                        other => self.time_out(&other),
                    });
                }
            }
            if !values.is_empty() {
                out.push(Property::new(name, values.join(";")));
            }
        }
        last_year
    }

    /// Categories, class, status, priority, transparency and the bookkeeping times.
    fn push_details(&self, item: &Component, out: &mut Component, is_todo: bool) {
        let tz = self.tz();
        let cats: Vec<String> = item
            .properties_named("CATEGORIES")
            .flat_map(|p| split_escaped(&p.value, ','))
            .map(|c| unescape_text(c.trim(), Dialect::Standard))
            .filter(|c| !c.is_empty())
            .map(|c| escape_text(&c, Dialect::Old).replace(';', "\\;"))
            .collect();
        if !cats.is_empty() {
            out.push(Property::new("CATEGORIES", cats.join(";")));
        }
        if let Some(c) = item.value("CLASS") {
            out.push(Property::new("CLASS", c.trim().to_ascii_uppercase()));
        }
        if let Some(s) = item.value("STATUS").and_then(|s| status_out(s, is_todo)) {
            out.push(Property::new("STATUS", s));
        }
        if let Some(n) = item
            .value("PRIORITY")
            .and_then(|p| p.trim().parse::<u8>().ok())
        {
            out.push(Property::new("PRIORITY", priority_out(n).to_string()));
        }
        match item.value("TRANSP").map(|t| t.trim().to_ascii_uppercase()) {
            Some(t) if t == "TRANSPARENT" => out.push(Property::new("TRANSP", "1")),
            Some(t) if t == "OPAQUE" => out.push(Property::new("TRANSP", "0")),
            _ => {}
        }
        for (name, out_name) in [
            ("COMPLETED", "COMPLETED"),
            ("CREATED", "DCREATED"),
            ("LAST-MODIFIED", "LAST-MODIFIED"),
        ] {
            if let Some(c) = item.property(name).and_then(|p| read_ical_time(p, tz)) {
                out.push(Property::new(
                    out_name,
                    format!("{}Z", format_naive(c.to_utc(tz))),
                ));
            }
        }
        if let Some(v) = item.value("X-EPOCAGENDAENTRYTYPE") {
            out.push(Property::new("X-EPOCAGENDAENTRYTYPE", v.trim()));
        }
    }
}

/// An end computed from DTSTART and DURATION, for items that give no DTEND.
fn end_from_duration(item: &Component, start: Option<CalTime>) -> Option<CalTime> {
    let secs = alarm::parse_duration(item.value("DURATION")?).ok()?;
    Some(match start? {
        CalTime::Date(d) => CalTime::Date(d + Duration::days(secs / 86_400)),
        CalTime::Floating(n) => CalTime::Floating(n + Duration::seconds(secs)),
        CalTime::Utc(n) => CalTime::Utc(n + Duration::seconds(secs)),
        CalTime::Zoned(n, z) => {
            CalTime::Utc(super::timezone::local_to_utc(z, n) + Duration::seconds(secs))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn opts() -> ConvertOptions {
        let now = Utc
            .with_ymd_and_hms(2009, 10, 1, 12, 0, 0)
            .single()
            .unwrap_or_default();
        ConvertOptions::new(now).with_device_tz(chrono_tz::Europe::Berlin)
    }

    fn ev(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:1.0\r\n{body}END:VCALENDAR\r\n")
    }

    fn item(cal: &Component) -> &Component {
        cal.components
            .iter()
            .find(|c| c.name == "VEVENT" || c.name == "VTODO")
            .unwrap_or_else(|| panic!("no item in {cal}"))
    }

    /// The zone matched for a TZ/DAYLIGHT pair is remembered per device zone: the same
    /// lines from a Zurich phone after a Berlin one still give Zurich, and a repeat gives
    /// the same result as the first time.
    #[test]
    fn zone_match_cache_keeps_the_device_zone_apart() {
        let input = ev(concat!(
            "TZ:+01\r\nDAYLIGHT:TRUE;+02;20090329T010000Z;20091025T010000Z;CET;CEST\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20090701T100000\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        ));
        let tzid = |o: &ConvertOptions| {
            let cal = to_dav(input.as_bytes(), o).unwrap();
            let start = item(&cal).property("DTSTART").unwrap().clone();
            (start.param("TZID").map(str::to_owned), start.value)
        };
        let berlin = opts();
        let zurich = opts().with_device_tz(chrono_tz::Europe::Zurich);
        let first = tzid(&berlin);
        assert_eq!(
            first,
            (Some("Europe/Berlin".into()), "20090701T100000".into())
        );
        assert_eq!(tzid(&zurich).0.as_deref(), Some("Europe/Zurich"));
        assert_eq!(tzid(&berlin), first);
        // A zone no database entry matches is cached as the phone's own rule.
        let odd = ev(concat!(
            "TZ:+01\r\nDAYLIGHT:TRUE;+02;20090401T000000Z;20090901T000000Z\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20090701T100000\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        ));
        for _ in 0..2 {
            let cal = to_dav(odd.as_bytes(), &berlin).unwrap();
            assert_eq!(item(&cal).value("DTSTART"), Some("20090701T080000Z"));
        }
    }

    #[test]
    fn the_device_profile_in_the_options_is_used() {
        let input = ev("BEGIN:VEVENT\r\nSUMMARY:Meeting\r\nDTSTART:20091010T070000Z\r\nDTEND:20091010T073000Z\r\nEND:VEVENT\r\n");
        let cal = to_dav(input.as_bytes(), &opts()).unwrap_or_else(|e| panic!("{e}"));
        let utc =
            String::from_utf8(from_dav(&cal, &opts()).unwrap_or_default()).unwrap_or_default();
        assert!(utc.contains("DTSTART:20091010T070000Z\r\n"), "{utc}");
        let local = CalendarProfile {
            time_out: TimeForm::Local,
            send_tz: true,
            ..CalendarProfile::default()
        };
        let opts = opts().with_calendar(local);
        let out = String::from_utf8(from_dav(&cal, &opts).unwrap_or_default()).unwrap_or_default();
        assert!(out.contains("DTSTART:20091010T090000\r\n"), "{out}");
        assert!(out.contains("TZ:+01\r\n"), "{out}");
    }

    #[test]
    fn floating_times_go_to_the_device_zone() {
        let cal = to_dav(
            ev("BEGIN:VEVENT\r\nSUMMARY:Meeting\r\nDTSTART:20091010T090000\r\nDTEND:20091010T093000\r\nEND:VEVENT\r\n").as_bytes(),
            &opts(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = item(&cal);
        let s = e.property("DTSTART").unwrap_or_else(|| panic!("DTSTART"));
        assert_eq!(s.param("TZID"), Some("Europe/Berlin"));
        assert_eq!(s.value, "20091010T090000");
        assert!(cal.components.iter().any(|c| c.name == "VTIMEZONE"));
    }

    #[test]
    fn all_day_conventions() {
        for (s, e) in [
            ("20091016T000000", "20091017T000000"),
            ("20091016T000000", "20091016T235900"),
            ("20091016T000000", "20091016T235959"),
            ("20091016T000000", "20091016T240000"),
            ("20091016T000000", "20091016T000000"),
            ("20091016", "20091017"),
            ("2009-10-16", "2009-10-16"),
            ("20091016T000000Z", "20091016T240000Z"),
        ] {
            let text = ev(&format!(
                "BEGIN:VEVENT\r\nDTSTART:{s}\r\nDTEND:{e}\r\nSUMMARY:x\r\nEND:VEVENT\r\n"
            ));
            let cal = to_dav(text.as_bytes(), &opts()).unwrap_or_else(|err| panic!("{err}"));
            let ev = item(&cal);
            assert_eq!(ev.value("DTSTART"), Some("20091016"), "{s} {e}");
            assert_eq!(ev.value("DTEND"), Some("20091017"), "{s} {e}");
            assert_eq!(
                ev.property("DTSTART").and_then(|p| p.param("VALUE")),
                Some("DATE")
            );
        }
    }

    #[test]
    fn bad_items_are_typed_errors() {
        assert!(matches!(
            to_dav(b"BEGIN:VCARD\r\nEND:VCARD\r\n", &opts()),
            Err(ConvertError::WrongComponent { .. })
        ));
        assert!(matches!(
            to_dav(ev("").as_bytes(), &opts()),
            Err(ConvertError::Invalid { .. })
        ));
        assert!(matches!(
            to_dav(
                ev("BEGIN:VEVENT\r\nDTSTART:tomorrow\r\nEND:VEVENT\r\n").as_bytes(),
                &opts()
            ),
            Err(ConvertError::BadProperty { .. })
        ));
        assert!(matches!(
            to_dav(
                ev("BEGIN:VEVENT\r\nDTSTART:20091010T090000Z\r\nRRULE:X9 #0\r\nEND:VEVENT\r\n")
                    .as_bytes(),
                &opts()
            ),
            Err(ConvertError::BadProperty { .. })
        ));
    }
}
