//! What SIF-E, SIF-T and SIF-N share: their field tables (`mappings/sif/{event,task,note}.toml`),
//! simple fields through the table, SIF time forms, the `<Timezone>` block, recurrence
//! fields <-> RFC 5545 rules and `<Exceptions>`.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use super::super::rrule::{self, Freq, RecurEnd, Recurrence, WeekdayNum};
use super::super::timezone::{
    format_ical_offset, format_naive, parse_caltime, utc_to_local, CalTime, TimeError, VcalZone,
};
use super::super::vcal;
use super::super::vobject::{
    escape_text, split_escaped, unescape_text, Component, Dialect, Property,
};
use super::super::{ConvertError, Format};
use super::{parse_bool, sif_date_digits, FieldKind, FieldRule, SifElement};

/// Prefix of properties that carry SIF elements (or enum codes) no table row knows.
pub const UNKNOWN_PREFIX: &str = "X-SIF-";
/// Parameter keeping the element name's case for those.
pub const UNKNOWN_NAME_PARAM: &str = "X-SIF-NAME";

/// A `mappings/sif/{event,task,note}.toml` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalTable {
    /// The root element written.
    pub root: String,
    /// Other root names accepted on input.
    #[serde(default)]
    pub roots: Vec<String>,
    /// Elements read by code rather than through `field`.
    #[serde(default)]
    pub structural: Vec<String>,
    #[serde(default)]
    pub field: Vec<FieldRule>,
}

impl CalTable {
    /// Reads an embedded table; a broken one is logged and read as empty (unit tests load
    /// every embedded table, so this does not happen in a build that passed them).
    pub fn load(text: &str, file: &str) -> CalTable {
        toml::from_str(text).unwrap_or_else(|e| {
            tracing::error!(error = %e, file, "SIF field table is invalid");
            CalTable::default()
        })
    }

    /// Every element the format reads and writes: the structural ones, then the fields.
    pub fn element_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self
            .structural
            .iter()
            .chain(self.field.iter().map(|f| &f.sif))
        {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    pub fn is_structural(&self, name: &str) -> bool {
        self.structural.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    fn has_rule(&self, name: &str) -> bool {
        self.field.iter().any(|r| r.sif.eq_ignore_ascii_case(name))
    }

    /// Parses the item and checks its root element.
    pub fn parse(&self, input: &[u8], format: Format) -> Result<SifElement, ConvertError> {
        let root = super::parse(input, format)?;
        let ok = root.name.eq_ignore_ascii_case(&self.root)
            || self
                .roots
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&root.name));
        if !ok {
            return Err(ConvertError::WrongComponent {
                format,
                expected: if format == Format::Sife {
                    "appointment"
                } else if format == Format::Sift {
                    "task"
                } else {
                    "note"
                },
                found: root.name,
            });
        }
        Ok(root)
    }

    /// The table's fields and every unknown element of `root` as properties of `out`.
    pub fn fields_in(&self, root: &SifElement, out: &mut Component) {
        let mut kept_raw: BTreeSet<String> = BTreeSet::new();
        for rule in &self.field {
            let Some(el) = root.child(&rule.sif) else {
                continue;
            };
            let text = normalise_newlines(&el.text);
            if text.trim().is_empty() {
                // An empty element is "no value": the merge turns it into a deletion.
                continue;
            }
            match rule.kind {
                FieldKind::List => {
                    let items: Vec<String> = text
                        .split([',', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| escape_text(s, Dialect::Standard))
                        .collect();
                    out.push(Property::new(&rule.property, items.join(",")));
                }
                FieldKind::Enum => match rule.enum_to_dav(&text) {
                    Some(v) => out.push(Property::new(&rule.property, v)),
                    None => {
                        if kept_raw.insert(el.name.to_ascii_uppercase()) {
                            if let Some(p) = raw_property(&el.name, text.trim()) {
                                out.push(p);
                            }
                        }
                    }
                },
                _ => out.push(Property::new(
                    &rule.property,
                    escape_text(&text, Dialect::Standard),
                )),
            }
        }
        for el in &root.children {
            if self.is_structural(&el.name)
                || self.has_rule(&el.name)
                || !el.children.is_empty()
                || el.text.trim().is_empty()
            {
                continue;
            }
            if let Some(p) = raw_property(&el.name, &normalise_newlines(&el.text)) {
                out.push(p);
            }
        }
    }

    /// The table's fields of `item`, then its `X-SIF-` properties, as SIF elements.
    pub fn fields_out(&self, item: &Component, out: &mut Vec<SifElement>) {
        let mut done: BTreeSet<String> = out.iter().map(|e| e.name.to_ascii_uppercase()).collect();
        for rule in &self.field {
            if done.contains(&rule.sif.to_ascii_uppercase()) {
                continue;
            }
            let Some(p) = item.property(&rule.property) else {
                continue;
            };
            let text = match rule.kind {
                FieldKind::List => split_escaped(&p.value, ',')
                    .iter()
                    .map(|s| unescape_text(s.trim(), Dialect::Standard))
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(","),
                FieldKind::Enum => match rule.enum_to_sif(&p.value) {
                    Some(code) => code.to_owned(),
                    None => continue,
                },
                _ => sif_text(&p.value),
            };
            done.insert(rule.sif.to_ascii_uppercase());
            out.push(SifElement::leaf(&rule.sif, text));
        }
        for p in &item.properties {
            let Some(upper) = p.name.strip_prefix(UNKNOWN_PREFIX) else {
                continue;
            };
            let name = p.param(UNKNOWN_NAME_PARAM).unwrap_or(upper).to_owned();
            if done.insert(name.to_ascii_uppercase()) {
                out.push(SifElement::leaf(&name, sif_text(&p.value)));
            }
        }
    }
}

/// `X-SIF-<NAME>;X-SIF-NAME=<Name>:text`, if the element name can be a property name.
fn raw_property(element: &str, text: &str) -> Option<Property> {
    let name = format!("{UNKNOWN_PREFIX}{}", element.to_ascii_uppercase());
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        .then(|| {
            Property::new(&name, escape_text(text, Dialect::Standard))
                .with_param(UNKNOWN_NAME_PARAM, element)
        })
}

/// SIF text uses CRLF; the tree holds `\n`.
pub fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// An escaped iCalendar text value as SIF text (CRLF line breaks).
pub fn sif_text(value: &str) -> String {
    unescape_text(value, Dialect::Standard).replace('\n', "\r\n")
}

/// The text of a child, trimmed, `None` when absent or empty.
pub fn text_of<'a>(root: &'a SifElement, name: &str) -> Option<&'a str> {
    root.child_text(name)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A numeric child; a value that is no number is a typed error naming the element.
pub fn number_of(
    root: &SifElement,
    name: &str,
    format: Format,
) -> Result<Option<i64>, ConvertError> {
    text_of(root, name)
        .map(|t| {
            t.parse::<i64>().map_err(|_| ConvertError::BadProperty {
                format,
                property: name.to_owned(),
                reason: format!("{t:?} is not a number"),
            })
        })
        .transpose()
}

pub fn bad(format: Format, element: &str, reason: impl std::fmt::Display) -> ConvertError {
    ConvertError::BadProperty {
        format,
        property: element.to_owned(),
        reason: reason.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Times

/// A SIF date or date-time: `yyyy-MM-dd` is a date, `...Z` UTC, anything else local in `zone`.
pub fn parse_time(text: &str, zone: Tz) -> Result<CalTime, TimeError> {
    Ok(match parse_caltime(text)? {
        CalTime::Floating(n) if zone == chrono_tz::UTC => CalTime::Utc(n),
        CalTime::Floating(n) => CalTime::Zoned(n, zone),
        t => t,
    })
}

/// `yyyy-MM-dd`.
pub fn sif_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `yyyyMMddTHHmmssZ`.
pub fn sif_utc(t: &CalTime, zone: Tz) -> String {
    format!("{}Z", format_naive(t.to_utc(zone)))
}

/// A UTC instant of a recurring series moved into `zone`, so the series keeps its
/// wall-clock time across DST changes.
pub fn zonify(t: CalTime, zone: Tz, recurring: bool) -> CalTime {
    match t {
        CalTime::Utc(n) if recurring && zone != chrono_tz::UTC => {
            CalTime::Zoned(utc_to_local(zone, n), zone)
        }
        t => t,
    }
}

/// Every value of a (possibly multi-valued) date or date-time property.
pub fn ical_times(p: &Property, fallback: Tz) -> Vec<CalTime> {
    p.value
        .split(',')
        .filter_map(|v| {
            let t = parse_caltime(v.trim()).ok()?;
            Some(match (t, p.param("TZID")) {
                (CalTime::Floating(n), Some(id)) => CalTime::Zoned(
                    n,
                    super::super::timezone::parse_tzid(id).unwrap_or(fallback),
                ),
                (t, _) => t,
            })
        })
        .collect()
}

/// A multi-valued date or date-time property (EXDATE, RDATE); `None` for no values.
pub fn times_property(name: &str, values: &[CalTime]) -> Option<Property> {
    let first = values.first()?;
    let mut p = vcal::time_property(name, first);
    p.value = values
        .iter()
        .map(super::super::timezone::format_caltime)
        .collect::<Vec<_>>()
        .join(",");
    Some(p)
}

// ---------------------------------------------------------------------------------------------
// <Timezone>

/// The database zone a `<Timezone>` block describes (the device's zone when it fits, or
/// when the block is absent or matches nothing).
pub fn zone_in(root: &SifElement, device_tz: Tz) -> Tz {
    let Some(block) = root.child("Timezone") else {
        return device_tz;
    };
    let Some(basic) = text_of(block, "BasicOffset") else {
        return device_tz;
    };
    let daylights: Vec<String> = block
        .children
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case("DayLight"))
        .map(|d| {
            let f = |n: &str| text_of(d, n).unwrap_or("").replace(';', " ");
            format!(
                "TRUE;{};{};{};{};{}",
                f("DSTOffset"),
                f("DSTStart"),
                f("DSTEnd"),
                f("StandardName"),
                f("DSTName")
            )
        })
        .collect();
    let refs: Vec<&str> = daylights.iter().map(String::as_str).collect();
    VcalZone::parse(basic, &refs)
        .ok()
        .and_then(|vz| vz.match_tz(Some(device_tz)))
        .unwrap_or(device_tz)
}

/// The `<Timezone>` block Outlook sends with recurring items: the standard offset and one
/// `<DayLight>` per year (local standard time at the start, local daylight time at the end).
pub fn zone_out(tz: Tz, years: std::ops::RangeInclusive<i32>) -> SifElement {
    let vz = VcalZone::from_tz(tz, years);
    let mut block = SifElement::new("Timezone");
    block.children.push(SifElement::leaf(
        "BasicOffset",
        format_ical_offset(vz.std_offset),
    ));
    for r in &vz.daylight {
        let mut d = SifElement::new("DayLight");
        let local =
            |t: NaiveDateTime, off: i32| format_naive(t + Duration::seconds(i64::from(off)));
        d.children.push(SifElement::leaf(
            "DSTOffset",
            format_ical_offset(r.dst_offset),
        ));
        d.children.push(SifElement::leaf(
            "DSTStart",
            local(r.start_utc, vz.std_offset),
        ));
        d.children
            .push(SifElement::leaf("DSTEnd", local(r.end_utc, r.dst_offset)));
        d.children.push(SifElement::leaf(
            "StandardName",
            r.std_name.clone().unwrap_or_default(),
        ));
        d.children.push(SifElement::leaf(
            "DSTName",
            r.dst_name.clone().unwrap_or_default(),
        ));
        block.children.push(d);
    }
    block
}

// ---------------------------------------------------------------------------------------------
// Recurrence

/// Outlook olDaysOfWeek bits.
const MASK_DAYS: [(Weekday, i64); 7] = [
    (Weekday::Sun, 1),
    (Weekday::Mon, 2),
    (Weekday::Tue, 4),
    (Weekday::Wed, 8),
    (Weekday::Thu, 16),
    (Weekday::Fri, 32),
    (Weekday::Sat, 64),
];

fn days_of_mask(mask: i64) -> Vec<Weekday> {
    // Monday first, the order RFC 5545 rules are usually written in.
    let mut days: Vec<Weekday> = MASK_DAYS
        .iter()
        .filter(|(_, bit)| mask & bit != 0)
        .map(|(d, _)| *d)
        .collect();
    days.sort_by_key(Weekday::num_days_from_monday);
    days
}

fn mask_of(days: impl IntoIterator<Item = Weekday>) -> i64 {
    days.into_iter()
        .filter_map(|d| MASK_DAYS.iter().find(|(w, _)| *w == d).map(|(_, b)| *b))
        .fold(0, |m, b| m | b)
}

/// The RFC 5545 rule of an item's SIF recurrence fields, `None` when it does not recur.
pub fn recurrence_in(
    root: &SifElement,
    dtstart: &CalTime,
    zone: Tz,
    format: Format,
) -> Result<Option<Recurrence>, ConvertError> {
    if !text_of(root, "IsRecurring").is_some_and(parse_bool) {
        return Ok(None);
    }
    let num = |name: &str| number_of(root, name, format);
    let kind = num("RecurrenceType")?
        .ok_or_else(|| bad(format, "RecurrenceType", "missing in a recurring item"))?;
    let interval = u32::try_from(num("Interval")?.unwrap_or(1).clamp(1, 999)).unwrap_or(1);
    let mask = num("DayOfWeekMask")?.unwrap_or(0) & 127;
    let start = dtstart.local_in(zone).date();
    let day_of_month = match num("DayOfMonth")? {
        Some(d) if (1..=31).contains(&d) => d as i8,
        Some(d) => return Err(bad(format, "DayOfMonth", format!("{d} is not a day"))),
        None => start.day() as i8,
    };
    let month = match num("MonthOfYear")? {
        Some(m) if (1..=12).contains(&m) => m as u8,
        Some(m) => return Err(bad(format, "MonthOfYear", format!("{m} is not a month"))),
        None => start.month() as u8,
    };
    let nth = match num("Instance")? {
        Some(5) => -1,
        Some(n) if (1..=4).contains(&n) => n as i8,
        Some(n) => return Err(bad(format, "Instance", format!("{n} is not 1-5"))),
        None => ((start.day() - 1) / 7 + 1) as i8,
    };
    let days = if mask == 0 {
        vec![start.weekday()]
    } else {
        days_of_mask(mask)
    };
    let plain = |d: &Weekday| WeekdayNum { nth: 0, day: *d };
    let nth_days = |r: &mut Recurrence| {
        if days.len() == 1 {
            r.by_day = vec![WeekdayNum { nth, day: days[0] }];
        } else {
            r.by_day = days.iter().map(plain).collect();
            r.by_set_pos = vec![i16::from(nth)];
        }
    };
    let mut r = match kind {
        0 if mask == 0 => Recurrence::new(Freq::Daily, interval),
        0 | 1 => {
            let mut r = Recurrence::new(Freq::Weekly, interval);
            r.by_day = days.iter().map(plain).collect();
            r
        }
        2 => {
            let mut r = Recurrence::new(Freq::Monthly, interval);
            r.by_month_day = vec![day_of_month];
            r
        }
        3 => {
            let mut r = Recurrence::new(Freq::Monthly, interval);
            nth_days(&mut r);
            r
        }
        5 | 6 => {
            // Outlook 2007 reports yearly intervals in months.
            let years = if interval >= 12 && interval % 12 == 0 {
                interval / 12
            } else {
                interval
            };
            let mut r = Recurrence::new(Freq::Yearly, years);
            r.by_month = vec![month];
            if kind == 5 {
                r.by_month_day = vec![day_of_month];
            } else {
                nth_days(&mut r);
            }
            r
        }
        other => {
            return Err(bad(
                format,
                "RecurrenceType",
                format!("{other} is not a SIF recurrence type"),
            ))
        }
    };
    r.end = if text_of(root, "NoEndDate").is_some_and(parse_bool) {
        RecurEnd::Forever
    } else if let Some(n) = num("Occurrences")?.filter(|n| *n > 0) {
        RecurEnd::Count(u32::try_from(n).unwrap_or(u32::MAX))
    } else if let Some(end) = text_of(root, "PatternEndDate") {
        let t = parse_caltime(end).map_err(|e| bad(format, "PatternEndDate", e))?;
        // Outlook writes the last day at local midnight: the whole day is in the series.
        let t = match t {
            CalTime::Floating(n) if n.time() == NaiveTime::MIN => CalTime::Date(n.date()),
            t => t,
        };
        RecurEnd::Until(rrule::normalise_until(t, dtstart, zone))
    } else {
        RecurEnd::Forever
    };
    Ok(Some(r))
}

/// The SIF recurrence fields of an RFC 5545 rule; `None` when SIF cannot say it (the rule
/// then stays on the server, the merge keeps it).
pub fn recurrence_out(r: &Recurrence, dtstart: &CalTime, zone: Tz) -> Option<Vec<SifElement>> {
    if !r.other.is_empty() || !r.by_year_day.is_empty() || r.interval == 0 {
        return None;
    }
    let start_local = dtstart.local_in(zone);
    let start = start_local.date();
    let all_plain = r.by_day.iter().all(|d| d.nth == 0);
    let mask = || {
        if r.by_day.is_empty() {
            mask_of([start.weekday()])
        } else {
            mask_of(r.by_day.iter().map(|d| d.day))
        }
    };
    let instance = |n: i64| match n {
        -1 => Some(5),
        1..=4 => Some(n),
        _ => None,
    };
    // (type, mask, day of month, month, instance)
    let nth_pattern = || -> Option<(i64, i64)> {
        match (
            r.by_day.as_slice(),
            r.by_set_pos.as_slice(),
            r.by_month_day.is_empty(),
        ) {
            ([one], [], true) if one.nth != 0 => {
                Some((mask_of([one.day]), instance(i64::from(one.nth))?))
            }
            (days, [pos], true) if !days.is_empty() && all_plain => {
                Some((mask(), instance(i64::from(*pos))?))
            }
            _ => None,
        }
    };
    let (kind, mask, dom, month, inst) = match r.freq {
        Freq::Daily => {
            if !r.by_month_day.is_empty() || !r.by_month.is_empty() || !r.by_set_pos.is_empty() {
                return None;
            }
            if r.by_day.is_empty() {
                (0, None, None, None, None)
            } else if all_plain && r.interval == 1 {
                (1, Some(mask()), None, None, None)
            } else {
                return None;
            }
        }
        Freq::Weekly => {
            if !all_plain
                || !r.by_month_day.is_empty()
                || !r.by_month.is_empty()
                || !r.by_set_pos.is_empty()
            {
                return None;
            }
            (1, Some(mask()), None, None, None)
        }
        Freq::Monthly => {
            if !r.by_month.is_empty() {
                return None;
            }
            match (
                r.by_day.is_empty(),
                r.by_month_day.as_slice(),
                r.by_set_pos.is_empty(),
            ) {
                (true, [], true) => (2, None, Some(i64::from(start.day())), None, None),
                (true, [d], true) if *d > 0 => (2, None, Some(i64::from(*d)), None, None),
                _ => {
                    let (m, i) = nth_pattern()?;
                    (3, Some(m), None, None, Some(i))
                }
            }
        }
        Freq::Yearly => {
            let month = match r.by_month.as_slice() {
                [] => i64::from(start.month()),
                [m] => i64::from(*m),
                _ => return None,
            };
            match (
                r.by_day.is_empty(),
                r.by_month_day.as_slice(),
                r.by_set_pos.is_empty(),
            ) {
                (true, [], true) => (5, None, Some(i64::from(start.day())), Some(month), None),
                (true, [d], true) if *d > 0 => (5, None, Some(i64::from(*d)), Some(month), None),
                _ => {
                    let (m, i) = nth_pattern()?;
                    (6, Some(m), None, Some(month), Some(i))
                }
            }
        }
    };
    let leaf = |n: &str, v: String| SifElement::leaf(n, v);
    let mut out = vec![
        leaf("IsRecurring", "1".into()),
        leaf("RecurrenceType", kind.to_string()),
        leaf("Interval", r.interval.to_string()),
    ];
    out.extend(mask.map(|m| leaf("DayOfWeekMask", m.to_string())));
    out.extend(dom.map(|d| leaf("DayOfMonth", d.to_string())));
    out.extend(month.map(|m| leaf("MonthOfYear", m.to_string())));
    out.extend(inst.map(|i| leaf("Instance", i.to_string())));
    out.push(leaf("PatternStartDate", format_naive(start_local)));
    out.extend(pattern_end(&r.end, zone));
    Some(out)
}

/// How a SIF pattern ends: never, after a count, or on a date.
fn pattern_end(end: &RecurEnd, zone: Tz) -> Vec<SifElement> {
    let leaf = |n: &str, v: String| SifElement::leaf(n, v);
    match end {
        RecurEnd::Forever => vec![leaf("NoEndDate", "1".into())],
        RecurEnd::Count(n) => vec![
            leaf("NoEndDate", "0".into()),
            leaf("Occurrences", n.to_string()),
        ],
        RecurEnd::Until(u) => {
            let end = match u {
                CalTime::Date(d) => format_naive(d.and_time(NaiveTime::MIN)),
                t => format_naive(t.local_in(zone)),
            };
            vec![leaf("NoEndDate", "0".into()), leaf("PatternEndDate", end)]
        }
    }
}

/// `<Exceptions>`: the EXDATE (ExcludeDate) and RDATE (IncludeDate) values, in the form of
/// `dtstart` (dates for all-day series; a bare date of a timed series takes its start time).
pub fn exceptions_in(
    root: &SifElement,
    dtstart: &CalTime,
    zone: Tz,
    format: Format,
) -> Result<(Vec<CalTime>, Vec<CalTime>), ConvertError> {
    let mut ex = Vec::new();
    let mut inc = Vec::new();
    let Some(block) = root.child("Exceptions") else {
        return Ok((ex, inc));
    };
    for el in &block.children {
        let target = if el.name.eq_ignore_ascii_case("ExcludeDate") {
            &mut ex
        } else if el.name.eq_ignore_ascii_case("IncludeDate") {
            &mut inc
        } else {
            continue;
        };
        let text = el.text.trim();
        if text.is_empty() {
            continue;
        }
        let t = parse_time(text, zone).map_err(|e| bad(format, &el.name, e))?;
        let t = match (dtstart, t) {
            (CalTime::Date(_), t) => CalTime::Date(t.local_in(zone).date()),
            (CalTime::Zoned(s, tz), CalTime::Date(d)) => CalTime::Zoned(d.and_time(s.time()), *tz),
            (CalTime::Zoned(_, tz), t) => CalTime::Zoned(t.local_in(*tz), *tz),
            (CalTime::Utc(s), CalTime::Date(d)) => {
                let local = utc_to_local(zone, *s);
                CalTime::Utc(super::super::timezone::local_to_utc(
                    zone,
                    d.and_time(local.time()),
                ))
            }
            (_, t) => CalTime::Utc(t.to_utc(zone)),
        };
        target.push(t);
    }
    Ok((ex, inc))
}

/// `<Exceptions>` from EXDATE and RDATE: dates for all-day series, else UTC date-times.
pub fn exceptions_out(item: &Component, all_day: bool, zone: Tz) -> Option<SifElement> {
    let mut block = SifElement::new("Exceptions");
    for (prop, el) in [("EXDATE", "ExcludeDate"), ("RDATE", "IncludeDate")] {
        for p in item.properties_named(prop) {
            for t in ical_times(p, zone) {
                let v = if all_day {
                    sif_date(t.local_in(zone).date())
                } else {
                    sif_utc(&t, zone)
                };
                block.children.push(SifElement::leaf(el, v));
            }
        }
    }
    (!block.children.is_empty()).then_some(block)
}

/// The VCALENDAR holding one converted item, with the VTIMEZONE its zoned times refer to.
pub fn calendar_of(item: Component) -> Component {
    let zoned = ["DTSTART", "DTEND", "DUE"].iter().find_map(|n| {
        let p = item.property(n)?;
        let tz = super::super::timezone::parse_tzid(p.param("TZID")?)?;
        let year = parse_caltime(&p.value).ok()?.naive().year();
        Some((tz, year))
    });
    let mut cal = Component::new("VCALENDAR");
    cal.push(Property::new("VERSION", "2.0"));
    cal.push(Property::new("PRODID", vcal::PRODID));
    if let Some((tz, year)) = zoned {
        cal.components.push(vcal::vtimezone_for(tz, year));
    }
    cal.components.push(item);
    cal
}

/// The master item (no RECURRENCE-ID) named `name` of a VCALENDAR, or the item itself.
pub fn master<'a>(cal: &'a Component, name: &'static str) -> Result<&'a Component, ConvertError> {
    if cal.name == name {
        return Ok(cal);
    }
    cal.components
        .iter()
        .find(|c| c.name == name && c.property("RECURRENCE-ID").is_none())
        .ok_or_else(|| ConvertError::WrongComponent {
            format: Format::Ical20,
            expected: name,
            found: cal
                .components
                .iter()
                .map(|c| c.name.as_str())
                .find(|n| *n != "VTIMEZONE")
                .unwrap_or(cal.name.as_str())
                .to_owned(),
        })
}

/// A `yyyy-MM-dd` (or `yyyyMMdd`) SIF date.
pub fn parse_sif_date(text: &str) -> Option<NaiveDate> {
    let d = sif_date_digits(text)?;
    NaiveDate::parse_from_str(&d, "%Y%m%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> SifElement {
        super::super::parse(xml.as_bytes(), Format::Sife).unwrap()
    }

    fn berlin(y: i32, m: u32, d: u32, h: u32) -> CalTime {
        CalTime::Zoned(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
            chrono_tz::Europe::Berlin,
        )
    }

    #[test]
    fn every_sif_pattern_round_trips_through_rfc5545() {
        let tz = chrono_tz::Europe::Berlin;
        let start = berlin(2024, 3, 12, 9); // a Tuesday, second of the month
        let cases = [
            ("<RecurrenceType>0</RecurrenceType><Interval>2</Interval><NoEndDate>1</NoEndDate>", "FREQ=DAILY;INTERVAL=2"),
            ("<RecurrenceType>1</RecurrenceType><Interval>1</Interval><DayOfWeekMask>62</DayOfWeekMask><Occurrences>10</Occurrences>", "FREQ=WEEKLY;COUNT=10;BYDAY=MO,TU,WE,TH,FR"),
            ("<RecurrenceType>2</RecurrenceType><Interval>1</Interval><DayOfMonth>12</DayOfMonth><NoEndDate>1</NoEndDate>", "FREQ=MONTHLY;BYMONTHDAY=12"),
            ("<RecurrenceType>3</RecurrenceType><Interval>1</Interval><DayOfWeekMask>4</DayOfWeekMask><Instance>2</Instance><NoEndDate>1</NoEndDate>", "FREQ=MONTHLY;BYDAY=2TU"),
            ("<RecurrenceType>3</RecurrenceType><Interval>1</Interval><DayOfWeekMask>62</DayOfWeekMask><Instance>5</Instance><NoEndDate>1</NoEndDate>", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
            ("<RecurrenceType>5</RecurrenceType><Interval>1</Interval><DayOfMonth>12</DayOfMonth><MonthOfYear>3</MonthOfYear><NoEndDate>1</NoEndDate>", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=12"),
            ("<RecurrenceType>6</RecurrenceType><Interval>1</Interval><DayOfWeekMask>2</DayOfWeekMask><MonthOfYear>5</MonthOfYear><Instance>5</Instance><NoEndDate>1</NoEndDate>", "FREQ=YEARLY;BYDAY=-1MO;BYMONTH=5"),
        ];
        for (fields, want) in cases {
            let root = el(&format!(
                "<appointment><IsRecurring>1</IsRecurring>{fields}</appointment>"
            ));
            let r = recurrence_in(&root, &start, tz, Format::Sife)
                .unwrap()
                .unwrap();
            let got = rrule::to_ical(&r);
            for part in want.split(';') {
                assert!(
                    got.split(';').any(|p| p == part),
                    "{fields}: {got} lacks {part}"
                );
            }
            let back = recurrence_out(&r, &start, tz).unwrap();
            let mut again = SifElement::new("appointment");
            again.children = back;
            let r2 = recurrence_in(&again, &start, tz, Format::Sife)
                .unwrap()
                .unwrap();
            assert_eq!(r2, r, "{fields}");
        }
    }

    #[test]
    fn yearly_interval_in_months_and_until() {
        let tz = chrono_tz::Europe::Berlin;
        let start = berlin(2024, 3, 12, 9);
        let root = el("<appointment><IsRecurring>1</IsRecurring><RecurrenceType>5</RecurrenceType><Interval>24</Interval><PatternEndDate>20300312T000000</PatternEndDate><NoEndDate>0</NoEndDate></appointment>");
        let r = recurrence_in(&root, &start, tz, Format::Sife)
            .unwrap()
            .unwrap();
        assert_eq!(r.interval, 2);
        // The whole last day: 23:59:59 Berlin winter time is 22:59:59Z.
        assert_eq!(
            rrule::to_ical(&r),
            "FREQ=YEARLY;INTERVAL=2;UNTIL=20300312T225959Z;BYMONTH=3;BYMONTHDAY=12"
        );
    }

    #[test]
    fn rules_sif_cannot_say_are_refused() {
        let start = berlin(2024, 3, 12, 9);
        for rule in [
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=9,12",
            "FREQ=MONTHLY;BYMONTHDAY=1,15",
            "FREQ=YEARLY;BYYEARDAY=100",
        ] {
            let r = rrule::parse_ical(rule).unwrap();
            assert!(
                recurrence_out(&r, &start, chrono_tz::UTC).is_none(),
                "{rule}"
            );
        }
    }

    #[test]
    fn bad_recurrence_fields_are_typed_errors() {
        let start = berlin(2024, 3, 12, 9);
        for fields in [
            "<RecurrenceType>4</RecurrenceType>",
            "<RecurrenceType>x</RecurrenceType>",
            "",
            "<RecurrenceType>2</RecurrenceType><DayOfMonth>40</DayOfMonth>",
            "<RecurrenceType>3</RecurrenceType><Instance>9</Instance>",
        ] {
            let root = el(&format!(
                "<appointment><IsRecurring>1</IsRecurring>{fields}</appointment>"
            ));
            assert!(
                matches!(
                    recurrence_in(&root, &start, chrono_tz::UTC, Format::Sife),
                    Err(ConvertError::BadProperty { .. })
                ),
                "{fields}"
            );
        }
    }

    #[test]
    fn timezone_block_round_trips_to_the_zone() {
        for tz in [chrono_tz::Europe::Berlin, chrono_tz::America::New_York] {
            let mut root = SifElement::new("appointment");
            root.children.push(zone_out(tz, 2009..=2011));
            assert_eq!(zone_in(&root, chrono_tz::UTC), tz);
        }
        let root = el("<appointment><Timezone><BasicOffset>+0100</BasicOffset><DayLight><DSTOffset>+0200</DSTOffset><DSTStart>20090329T020000</DSTStart><DSTEnd>20091025T030000</DSTEnd><StandardName/><DSTName/></DayLight></Timezone></appointment>");
        assert_eq!(zone_in(&root, chrono_tz::UTC), chrono_tz::Europe::Berlin);
    }

    #[test]
    fn embedded_tables_load() {
        for (text, name) in [
            (include_str!("../../../mappings/sif/event.toml"), "event"),
            (include_str!("../../../mappings/sif/task.toml"), "task"),
            (include_str!("../../../mappings/sif/note.toml"), "note"),
        ] {
            let t: CalTable = toml::from_str(text).unwrap();
            assert_eq!(t.root, if name == "event" { "appointment" } else { name });
            assert!(!t.field.is_empty());
        }
    }
}
