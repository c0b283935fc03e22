//! Date-time values of vCalendar 1.0 and iCalendar, and the bridge between vCalendar's
//! calendar-level `TZ`/`DAYLIGHT` properties and time-zone database zones (VTIMEZONE).
//!
//! vCalendar 1.0 describes a zone only by its standard offset and one DST window per year;
//! iCalendar names a zone. Converting in: the device's configured zone is tried first, then a
//! list of common zones, then every zone of the database; a zone matches when it has the same
//! standard offset and the same DST switch instants in the years the phone described.

use chrono::{
    Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Weekday,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz, TZ_VARIANTS};

/// Errors of date-time and time-zone parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("invalid UTC offset {0:?} (expected +hh, +hhmm or +hh:mm)")]
    BadOffset(String),
    #[error("invalid DAYLIGHT value {0:?}")]
    BadDaylight(String),
    #[error("invalid date or date-time {0:?}")]
    BadDateTime(String),
    #[error("invalid duration {0:?}")]
    BadDuration(String),
}

/// A date or date-time as it is written in a calendar item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalTime {
    /// A date without time (`VALUE=DATE`, all-day).
    Date(NaiveDate),
    /// Wall-clock time without a zone.
    Floating(NaiveDateTime),
    /// UTC (`Z` suffix); the naive value is the UTC wall time.
    Utc(NaiveDateTime),
    /// Wall-clock time in a database zone (`TZID=`).
    Zoned(NaiveDateTime, Tz),
}

impl CalTime {
    /// The wall-clock value (midnight for dates), ignoring the zone.
    pub fn naive(&self) -> NaiveDateTime {
        match *self {
            CalTime::Date(d) => d.and_time(NaiveTime::MIN),
            CalTime::Floating(t) | CalTime::Utc(t) | CalTime::Zoned(t, _) => t,
        }
    }

    /// The instant in UTC; floating and date values are read in `zone`.
    pub fn to_utc(&self, zone: Tz) -> NaiveDateTime {
        match *self {
            CalTime::Utc(t) => t,
            CalTime::Zoned(t, tz) => local_to_utc(tz, t),
            CalTime::Floating(t) => local_to_utc(zone, t),
            CalTime::Date(d) => local_to_utc(zone, d.and_time(NaiveTime::MIN)),
        }
    }

    /// The wall-clock value in `zone` (UTC values are moved into the zone).
    pub fn local_in(&self, zone: Tz) -> NaiveDateTime {
        match *self {
            CalTime::Utc(t) => utc_to_local(zone, t),
            CalTime::Zoned(t, tz) if tz != zone => utc_to_local(zone, local_to_utc(tz, t)),
            other => other.naive(),
        }
    }

    pub fn is_date(&self) -> bool {
        matches!(self, CalTime::Date(_))
    }
}

/// Parses the date and date-time forms phones send: `yyyymmdd`, `yyyy-mm-dd`,
/// `yyyymmddThhmm[ss][Z]`, `yyyy-mm-ddThh:mm:ss[Z]`. `T240000` is read as the next midnight.
pub fn parse_caltime(input: &str) -> Result<CalTime, TimeError> {
    let bad = || TimeError::BadDateTime(input.to_string());
    let s: String = input
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    if !s.is_ascii() {
        return Err(bad());
    }
    let (date_part, rest) = match s.find(['T', 't']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s.as_str(), None),
    };
    let date = parse_basic_date(date_part).ok_or_else(bad)?;
    let Some(rest) = rest else {
        return Ok(CalTime::Date(date));
    };
    let (time_part, utc) = match rest.strip_suffix(['Z', 'z']) {
        Some(t) => (t, true),
        None => (rest, false),
    };
    let digits = |r: std::ops::Range<usize>| -> Option<u32> { time_part.get(r)?.parse().ok() };
    let (h, m, sec) = match time_part.len() {
        4 => (digits(0..2), digits(2..4), Some(0)),
        6 => (digits(0..2), digits(2..4), digits(4..6)),
        _ => (None, None, None),
    };
    let (h, m, sec) = (h.ok_or_else(bad)?, m.ok_or_else(bad)?, sec.ok_or_else(bad)?);
    let naive = if h == 24 && m == 0 && sec == 0 {
        date.succ_opt().ok_or_else(bad)?.and_time(NaiveTime::MIN)
    } else {
        // A leap second (60) is clamped rather than rejected.
        let t = NaiveTime::from_hms_opt(h, m, sec.min(59)).ok_or_else(bad)?;
        date.and_time(t)
    };
    Ok(if utc {
        CalTime::Utc(naive)
    } else {
        CalTime::Floating(naive)
    })
}

fn parse_basic_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y = s[0..4].parse().ok()?;
    let m = s[4..6].parse().ok()?;
    let d = s[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// `yyyymmdd`
pub fn format_date(d: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// `yyyymmddThhmmss` (append `Z` for UTC yourself, or use [`format_caltime`]).
pub fn format_naive(t: NaiveDateTime) -> String {
    format!(
        "{}T{:02}{:02}{:02}",
        format_date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The basic form of a value, as iCalendar and vCalendar write it (no TZID parameter).
pub fn format_caltime(t: &CalTime) -> String {
    match t {
        CalTime::Date(d) => format_date(*d),
        CalTime::Floating(t) | CalTime::Zoned(t, _) => format_naive(*t),
        CalTime::Utc(t) => format!("{}Z", format_naive(*t)),
    }
}

/// Reads a TZID, including the vendor-prefixed forms (`/mozilla.org/20050126_1/Europe/Berlin`).
pub fn parse_tzid(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Some(tz);
    }
    let mut rest = tzid;
    while let Some(i) = rest.find('/') {
        rest = &rest[i + 1..];
        if let Ok(tz) = rest.parse::<Tz>() {
            return Some(tz);
        }
    }
    None
}

/// Total UTC offset of `tz` at a UTC instant, in seconds.
pub fn offset_at_utc(tz: Tz, utc: NaiveDateTime) -> i32 {
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
}

/// The UTC instant of a wall-clock time. In a DST gap the time is moved forward by the gap;
/// in an overlap the earlier (daylight) instant is taken, as RFC 5545 §3.3.5 asks.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> NaiveDateTime {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.naive_utc(),
        chrono::LocalResult::Ambiguous(a, b) => a.naive_utc().min(b.naive_utc()),
        chrono::LocalResult::None => {
            // The offset before the gap applies (RFC 5545: 02:30 in a 02:00->03:00 gap is 03:30).
            let before = offset_at_utc(tz, local - Duration::hours(24));
            local - Duration::seconds(i64::from(before))
        }
    }
}

pub fn utc_to_local(tz: Tz, utc: NaiveDateTime) -> NaiveDateTime {
    utc + Duration::seconds(i64::from(offset_at_utc(tz, utc)))
}

/// Parses a vCalendar UTC offset: `+01`, `-05:00`, `+0530`, `+1`. Returns seconds east of UTC.
pub fn parse_utc_offset(input: &str) -> Result<i32, TimeError> {
    let bad = || TimeError::BadOffset(input.to_string());
    let s = input.trim();
    if s.eq_ignore_ascii_case("Z") {
        return Ok(0);
    }
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        Some(c) if c.is_ascii_digit() => (1, s),
        _ => return Err(bad()),
    };
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = if digits.len() <= 2 {
        (digits.parse().map_err(|_| bad())?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse().map_err(|_| bad())?,
            digits[split..].parse().map_err(|_| bad())?,
        )
    };
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// `+hh:mm` when minutes are set, else `+hh` (what phones write in TZ and DAYLIGHT).
pub fn format_vcal_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    if a % 3600 == 0 {
        format!("{sign}{:02}", a / 3600)
    } else {
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    }
}

/// `+hhmm`, the iCalendar UTC-OFFSET form.
pub fn format_ical_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
}

/// One year's DST window of a vCalendar `DAYLIGHT:TRUE;...` property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaylightRule {
    /// Total offset while DST is in force, seconds east of UTC.
    pub dst_offset: i32,
    /// DST begins at this UTC instant.
    pub start_utc: NaiveDateTime,
    /// DST ends at this UTC instant.
    pub end_utc: NaiveDateTime,
    pub std_name: Option<String>,
    pub dst_name: Option<String>,
}

/// The zone a vCalendar object describes with `TZ` and `DAYLIGHT`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VcalZone {
    /// Standard offset, seconds east of UTC.
    pub std_offset: i32,
    pub daylight: Vec<DaylightRule>,
    /// `DAYLIGHT:FALSE` was given: the phone states there is no DST.
    pub no_dst: bool,
}

impl VcalZone {
    /// From the values of `TZ` and every `DAYLIGHT` property.
    pub fn parse(tz: &str, daylights: &[&str]) -> Result<Self, TimeError> {
        let std_offset = parse_utc_offset(tz)?;
        let mut zone = VcalZone {
            std_offset,
            daylight: Vec::new(),
            no_dst: false,
        };
        for d in daylights {
            match parse_daylight(d, std_offset)? {
                Some(rule) => zone.daylight.push(rule),
                None => zone.no_dst = true,
            }
        }
        Ok(zone)
    }

    /// Total offset at a UTC instant.
    pub fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        self.daylight
            .iter()
            .find(|r| r.start_utc <= utc && utc < r.end_utc)
            .map_or(self.std_offset, |r| r.dst_offset)
    }

    pub fn local_to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        let as_std = local - Duration::seconds(i64::from(self.std_offset));
        let off = self.offset_at_utc(as_std);
        if off == self.std_offset {
            return as_std;
        }
        let as_dst = local - Duration::seconds(i64::from(off));
        if self.offset_at_utc(as_dst) == off {
            as_dst
        } else {
            as_std
        }
    }

    /// The `TZ` value.
    pub fn tz_value(&self) -> String {
        format_vcal_offset(self.std_offset)
    }

    /// The `DAYLIGHT` values, one per rule, or `FALSE` when there is no DST.
    pub fn daylight_values(&self) -> Vec<String> {
        if self.daylight.is_empty() {
            return vec!["FALSE".to_string()];
        }
        self.daylight
            .iter()
            .map(|r| {
                format!(
                    "TRUE;{};{}Z;{}Z;{};{}",
                    format_vcal_offset(r.dst_offset),
                    format_naive(r.start_utc),
                    format_naive(r.end_utc),
                    r.std_name.as_deref().unwrap_or(""),
                    r.dst_name.as_deref().unwrap_or("")
                )
            })
            .collect()
    }

    /// Describes `tz` for the given years (vCalendar writers cover at most a few years).
    pub fn from_tz(tz: Tz, years: std::ops::RangeInclusive<i32>) -> Self {
        let first = *years.start();
        let probe = NaiveDate::from_ymd_opt(first, 1, 1)
            .unwrap_or(NaiveDate::MIN)
            .and_time(NaiveTime::MIN);
        let std_offset = tz
            .offset_from_utc_datetime(&probe)
            .base_utc_offset()
            .num_seconds() as i32;
        let mut daylight = Vec::new();
        for year in years {
            if let Some(w) = dst_window(tz, year) {
                daylight.push(w);
            }
        }
        VcalZone {
            std_offset,
            no_dst: daylight.is_empty(),
            daylight,
        }
    }

    /// The database zone that behaves like this description, trying `preferred` (the device's
    /// configured zone) first. `None` when nothing matches.
    pub fn match_tz(&self, preferred: Option<Tz>) -> Option<Tz> {
        let fits = |tz: Tz| self.fits(tz);
        if let Some(p) = preferred.filter(|p| fits(*p)) {
            return Some(p);
        }
        if let Some(tz) = common_zones().into_iter().find(|tz| fits(*tz)) {
            return Some(tz);
        }
        TZ_VARIANTS
            .iter()
            .copied()
            .filter(|tz| tz.name().contains('/') && !tz.name().starts_with("Etc/"))
            .find(|tz| fits(*tz))
    }

    fn fits(&self, tz: Tz) -> bool {
        if self.daylight.is_empty() {
            // Without DST rules only the standard offset can be compared, and only a zone that
            // does not switch in the current era can be claimed to match `DAYLIGHT:FALSE`.
            let probe = NaiveDate::from_ymd_opt(2010, 1, 15)
                .unwrap_or(NaiveDate::MIN)
                .and_time(NaiveTime::MIN);
            let off = tz.offset_from_utc_datetime(&probe);
            let base = off.base_utc_offset().num_seconds() as i32;
            return base == self.std_offset && (!self.no_dst || dst_window(tz, 2010).is_none());
        }
        self.daylight.iter().all(|rule| {
            let Some(w) = dst_window(tz, rule.start_utc.year()) else {
                return false;
            };
            // Phones round or misstate the switch time; the same day and offsets are enough.
            let close = |a: NaiveDateTime, b: NaiveDateTime| (a - b).num_minutes().abs() <= 180;
            let before = rule.start_utc - Duration::days(30);
            tz.offset_from_utc_datetime(&before)
                .base_utc_offset()
                .num_seconds() as i32
                == self.std_offset
                && w.dst_offset == rule.dst_offset
                && close(w.start_utc, rule.start_utc)
                && close(w.end_utc, rule.end_utc)
        })
    }
}

/// Parses one DAYLIGHT value. `Ok(None)` for `FALSE`. Switch times without `Z` are local:
/// the start in standard time, the end in daylight time.
pub fn parse_daylight(input: &str, std_offset: i32) -> Result<Option<DaylightRule>, TimeError> {
    let bad = || TimeError::BadDaylight(input.to_string());
    let parts: Vec<&str> = input.split(';').map(str::trim).collect();
    let flag = parts.first().copied().unwrap_or("");
    if flag.eq_ignore_ascii_case("FALSE") || flag == "0" {
        return Ok(None);
    }
    if !(flag.eq_ignore_ascii_case("TRUE") || flag == "1") || parts.len() < 4 {
        return Err(bad());
    }
    let dst_offset = parse_utc_offset(parts[1]).map_err(|_| bad())?;
    let to_utc = |s: &str, local_offset: i32| -> Result<NaiveDateTime, TimeError> {
        match parse_caltime(s).map_err(|_| bad())? {
            CalTime::Utc(t) => Ok(t),
            other => Ok(other.naive() - Duration::seconds(i64::from(local_offset))),
        }
    };
    let start_utc = to_utc(parts[2], std_offset)?;
    let end_utc = to_utc(parts[3], dst_offset)?;
    let name = |i: usize| {
        parts
            .get(i)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
    };
    Ok(Some(DaylightRule {
        dst_offset,
        start_utc,
        end_utc,
        std_name: name(4),
        dst_name: name(5).or_else(|| name(4)),
    }))
}

/// An instant at which a zone's total offset changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub utc: NaiveDateTime,
    pub offset_before: i32,
    pub offset_after: i32,
}

/// Every offset change of `tz` within a calendar year (UTC), found by sampling the first of
/// each month and bisecting to the minute.
pub fn transitions_in_year(tz: Tz, year: i32) -> Vec<Transition> {
    let mut out = Vec::new();
    let month_start = |m: u32| -> Option<NaiveDateTime> {
        let (y, m) = if m > 12 { (year + 1, 1) } else { (year, m) };
        Some(NaiveDate::from_ymd_opt(y, m, 1)?.and_time(NaiveTime::MIN))
    };
    for m in 1..=12 {
        let (Some(mut lo), Some(mut hi)) = (month_start(m), month_start(m + 1)) else {
            continue;
        };
        let before = offset_at_utc(tz, lo);
        let after = offset_at_utc(tz, hi);
        if before == after {
            continue;
        }
        while (hi - lo).num_minutes() > 1 {
            let mid = lo + (hi - lo) / 2;
            let mid = mid - Duration::seconds(i64::from(mid.second()));
            if offset_at_utc(tz, mid) == before {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        out.push(Transition {
            utc: hi,
            offset_before: before,
            offset_after: after,
        });
    }
    out
}

/// The DST window of `tz` in `year`, for zones with one summer-time period per year.
pub fn dst_window(tz: Tz, year: i32) -> Option<DaylightRule> {
    let ts = transitions_in_year(tz, year);
    let is_dst_at = |t: NaiveDateTime| !tz.offset_from_utc_datetime(&t).dst_offset().is_zero();
    let start = ts.iter().find(|t| is_dst_at(t.utc))?;
    let end = ts.iter().find(|t| t.utc > start.utc && !is_dst_at(t.utc))?;
    let names = |t: NaiveDateTime| {
        tz.offset_from_utc_datetime(&t)
            .abbreviation()
            .map(str::to_string)
    };
    Some(DaylightRule {
        dst_offset: start.offset_after,
        start_utc: start.utc,
        end_utc: end.utc,
        std_name: names(end.utc),
        dst_name: names(start.utc),
    })
}

/// Zones tried before the whole database, so a DST description picks the name a user expects
/// (Europe/Berlin rather than Africa/Ceuta for CET).
fn common_zones() -> Vec<Tz> {
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mappings/timezone/preferred.txt"
    ))
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .filter_map(|l| l.parse().ok())
    .collect()
}

/// One observance (STANDARD or DAYLIGHT) of a VTIMEZONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observance {
    pub daylight: bool,
    /// Local wall time (in the offset before the change) of the first onset.
    pub dtstart: NaiveDateTime,
    pub offset_from: i32,
    pub offset_to: i32,
    pub name: Option<String>,
    /// An RFC 5545 yearly rule (`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`) when the onset follows one.
    pub rrule: Option<String>,
}

/// A VTIMEZONE for a database zone, valid from `year` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VTimezone {
    pub tzid: String,
    pub observances: Vec<Observance>,
}

impl VTimezone {
    /// Builds the VTIMEZONE of `tz` as it is in `year`: yearly DAYLIGHT/STANDARD rules derived
    /// from that year's switches, or a single STANDARD for zones without DST.
    pub fn for_tz(tz: Tz, year: i32) -> Self {
        let ts = transitions_in_year(tz, year);
        let mut observances = Vec::new();
        for t in &ts {
            let local = t.utc + Duration::seconds(i64::from(t.offset_before));
            let off = tz.offset_from_utc_datetime(&t.utc);
            observances.push(Observance {
                daylight: !off.dst_offset().is_zero(),
                dtstart: local,
                offset_from: t.offset_before,
                offset_to: t.offset_after,
                name: off.abbreviation().map(str::to_string),
                rrule: Some(yearly_rule_for(local.date())),
            });
        }
        if observances.is_empty() {
            let probe = NaiveDate::from_ymd_opt(year, 1, 1)
                .unwrap_or(NaiveDate::MIN)
                .and_time(NaiveTime::MIN);
            let off = tz.offset_from_utc_datetime(&probe);
            let total = off.fix().local_minus_utc();
            observances.push(Observance {
                daylight: false,
                dtstart: NaiveDate::from_ymd_opt(1970, 1, 1)
                    .unwrap_or(NaiveDate::MIN)
                    .and_time(NaiveTime::MIN),
                offset_from: total,
                offset_to: total,
                name: off.abbreviation().map(str::to_string),
                rrule: None,
            });
        }
        VTimezone {
            tzid: tz.name().to_string(),
            observances,
        }
    }

    /// A VTIMEZONE for a zone the database does not know, from a phone's TZ/DAYLIGHT: one
    /// STANDARD and, when DST is described, one DAYLIGHT observance per described year.
    pub fn for_vcal_zone(zone: &VcalZone) -> Self {
        let mut observances = Vec::new();
        for r in &zone.daylight {
            observances.push(Observance {
                daylight: true,
                dtstart: r.start_utc + Duration::seconds(i64::from(zone.std_offset)),
                offset_from: zone.std_offset,
                offset_to: r.dst_offset,
                name: r.dst_name.clone(),
                rrule: None,
            });
            observances.push(Observance {
                daylight: false,
                dtstart: r.end_utc + Duration::seconds(i64::from(r.dst_offset)),
                offset_from: r.dst_offset,
                offset_to: zone.std_offset,
                name: r.std_name.clone(),
                rrule: None,
            });
        }
        if observances.is_empty() {
            observances.push(Observance {
                daylight: false,
                dtstart: NaiveDate::from_ymd_opt(1970, 1, 1)
                    .unwrap_or(NaiveDate::MIN)
                    .and_time(NaiveTime::MIN),
                offset_from: zone.std_offset,
                offset_to: zone.std_offset,
                name: None,
                rrule: None,
            });
        }
        VTimezone {
            tzid: format!("UTC{}", format_ical_offset(zone.std_offset)),
            observances,
        }
    }
}

/// `FREQ=YEARLY;BYMONTH=m;BYDAY=nWD`, with -1 for dates in a month's last week.
fn yearly_rule_for(d: NaiveDate) -> String {
    let wd = weekday_code(d.weekday());
    let days_in_month = days_in_month(d.year(), d.month());
    let pos: i32 = if d.day() + 7 > days_in_month {
        -1
    } else {
        ((d.day() - 1) / 7 + 1) as i32
    };
    format!("FREQ=YEARLY;BYMONTH={};BYDAY={pos}{wd}", d.month())
}

/// The RRULE code of a weekday (`MO`...).
pub fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Days in a month (30 for a date chrono cannot represent).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month >= 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(ny, nm, 1),
    ) {
        (Some(a), Some(b)) => (b - a).num_days() as u32,
        _ => 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        match parse_caltime(s) {
            Ok(t) => t.naive(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_every_date_form() {
        assert_eq!(
            parse_caltime("20091010T090000Z"),
            Ok(CalTime::Utc(dt("20091010T090000")))
        );
        assert_eq!(
            parse_caltime("2009-10-10T09:00:00"),
            Ok(CalTime::Floating(dt("20091010T090000")))
        );
        assert!(matches!(parse_caltime("2009-10-16"), Ok(CalTime::Date(_))));
        assert_eq!(
            parse_caltime("20091016T240000"),
            Ok(CalTime::Floating(dt("20091017T000000")))
        );
        assert!(parse_caltime("2009101").is_err());
        assert!(parse_caltime("20091310T000000").is_err());
        assert!(parse_caltime("20091010T2500").is_err());
        assert!(parse_caltime("2009é010").is_err());
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+01"), Ok(3600));
        assert_eq!(parse_utc_offset("-05:00"), Ok(-5 * 3600));
        assert_eq!(parse_utc_offset("+0530"), Ok(5 * 3600 + 1800));
        assert_eq!(parse_utc_offset("+1"), Ok(3600));
        assert!(parse_utc_offset("+99").is_err());
        assert!(parse_utc_offset("CET").is_err());
        assert_eq!(format_vcal_offset(-5 * 3600), "-05");
        assert_eq!(format_vcal_offset(5 * 3600 + 1800), "+05:30");
        assert_eq!(format_ical_offset(-4 * 3600), "-0400");
    }

    #[test]
    fn berlin_window_and_vcal_roundtrip() {
        let z = VcalZone::from_tz(chrono_tz::Europe::Berlin, 2009..=2009);
        assert_eq!(z.tz_value(), "+01");
        assert_eq!(
            z.daylight_values(),
            vec!["TRUE;+02;20090329T010000Z;20091025T010000Z;CET;CEST".to_string()]
        );
        let back = VcalZone::parse(
            "+01",
            &["TRUE;+02;20090329T010000Z;20091025T010000Z;CET;CEST"],
        )
        .unwrap_or_default();
        assert_eq!(back, z);
        assert_eq!(back.match_tz(None), Some(chrono_tz::Europe::Berlin));
        // The device zone wins when it fits too.
        assert_eq!(
            back.match_tz(Some(chrono_tz::Europe::Zurich)),
            Some(chrono_tz::Europe::Zurich)
        );
        // Local wall times on either side of the switch.
        assert_eq!(
            back.local_to_utc(dt("20090329T015900")),
            dt("20090329T005900")
        );
        assert_eq!(
            back.local_to_utc(dt("20090329T030000")),
            dt("20090329T010000")
        );
        assert_eq!(
            back.local_to_utc(dt("20091025T040000")),
            dt("20091025T030000")
        );
    }

    #[test]
    fn new_york_across_dst() {
        let ny = chrono_tz::America::New_York;
        let z = VcalZone::from_tz(ny, 2010..=2011);
        assert_eq!(z.std_offset, -5 * 3600);
        assert_eq!(z.daylight.len(), 2);
        assert_eq!(z.daylight[0].start_utc, dt("20100314T070000"));
        assert_eq!(z.daylight[0].end_utc, dt("20101107T060000"));
        assert_eq!(z.match_tz(None), Some(ny));
        // Local-time phone description (no Z) of the same window.
        let local = VcalZone::parse(
            "-05:00",
            &["TRUE;-04;20100314T020000;20101107T020000;EST;EDT"],
        )
        .unwrap_or_default();
        assert_eq!(local.daylight[0].start_utc, dt("20100314T070000"));
        assert_eq!(local.daylight[0].end_utc, dt("20101107T060000"));
        assert_eq!(local.match_tz(None), Some(ny));
        // 09:00 local on either side of the March switch.
        assert_eq!(
            local_to_utc(ny, dt("20100313T090000")),
            dt("20100313T140000")
        );
        assert_eq!(
            local_to_utc(ny, dt("20100315T090000")),
            dt("20100315T130000")
        );
        // 02:30 does not exist on 2010-03-14: read as 03:30 EDT.
        assert_eq!(
            local_to_utc(ny, dt("20100314T023000")),
            dt("20100314T073000")
        );
        // 01:30 happens twice on 2010-11-07: the first (EDT) is taken.
        assert_eq!(
            local_to_utc(ny, dt("20101107T013000")),
            dt("20101107T053000")
        );
    }

    #[test]
    fn no_dst_and_unknown_zones() {
        let z = VcalZone::parse("+05:30", &["FALSE"]).unwrap_or_default();
        assert!(z.no_dst);
        assert_eq!(z.match_tz(None), Some(chrono_tz::Asia::Kolkata));
        let odd = VcalZone::parse("+01", &["TRUE;+02;20090401T000000Z;20090901T000000Z"])
            .unwrap_or_default();
        assert_eq!(odd.match_tz(None), None);
        let vt = VTimezone::for_vcal_zone(&odd);
        assert_eq!(vt.observances.len(), 2);
        assert_eq!(vt.observances[0].dtstart, dt("20090401T010000"));
        assert!(parse_daylight("TRUE;+02", 3600).is_err());
        assert!(parse_daylight("MAYBE;+02;x;y", 3600).is_err());
    }

    #[test]
    fn vtimezone_rules() {
        let vt = VTimezone::for_tz(chrono_tz::Europe::Berlin, 2021);
        assert_eq!(vt.tzid, "Europe/Berlin");
        assert_eq!(vt.observances.len(), 2);
        let dst = &vt.observances[0];
        assert!(dst.daylight);
        assert_eq!(dst.dtstart, dt("20210328T020000"));
        assert_eq!(
            dst.rrule.as_deref(),
            Some("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
        );
        assert_eq!((dst.offset_from, dst.offset_to), (3600, 7200));
        let ny = VTimezone::for_tz(chrono_tz::America::New_York, 2021);
        assert_eq!(
            ny.observances[0].rrule.as_deref(),
            Some("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU")
        );
        assert_eq!(
            ny.observances[1].rrule.as_deref(),
            Some("FREQ=YEARLY;BYMONTH=11;BYDAY=1SU")
        );
        let tokyo = VTimezone::for_tz(chrono_tz::Asia::Tokyo, 2021);
        assert_eq!(tokyo.observances.len(), 1);
        assert_eq!(tokyo.observances[0].offset_to, 9 * 3600);
    }

    #[test]
    fn tzid_forms() {
        assert_eq!(
            parse_tzid("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            parse_tzid("America/New_York"),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(parse_tzid("W. Europe Standard Time"), None);
    }
}
