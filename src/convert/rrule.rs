//! Recurrence rules: the vCalendar 1.0 grammar (`W2 MO TH #10`) and RFC 5545 (`FREQ=WEEKLY;...`),
//! both read into one [`Recurrence`], plus the small occurrence expander needed to turn a
//! `COUNT` into an end date for phones (vCalendar writers never send `#n` with n > 0).
//!
//! `#n` is read as libsynthesis does: n repetitions of the *interval*. When the rule yields one
//! occurrence per interval this equals `COUNT=n`; otherwise the end of the n-th interval becomes
//! the UNTIL date.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;

use super::timezone::{
    days_in_month, format_caltime, local_to_utc, parse_caltime, weekday_code, CalTime,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RruleError {
    #[error("empty recurrence rule")]
    Empty,
    #[error("recurrence rule {rule:?}: unknown frequency {token:?}")]
    BadFrequency { rule: String, token: String },
    #[error("recurrence rule {rule:?}: bad modifier {token:?}")]
    BadModifier { rule: String, token: String },
    #[error("recurrence rule {rule:?}: bad end {token:?}")]
    BadEnd { rule: String, token: String },
    #[error("recurrence rule {rule:?}: bad part {part:?}")]
    BadPart { rule: String, part: String },
    /// The rule is valid but has no vCalendar 1.0 form (BYSETPOS, BYHOUR, HOURLY, ...).
    #[error("recurrence rule cannot be written as vCalendar 1.0: {0}")]
    NotRepresentable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// A BYDAY entry: `nth` 0 means every such weekday of the period, -1 the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekdayNum {
    pub nth: i8,
    pub day: Weekday,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurEnd {
    Forever,
    Count(u32),
    Until(CalTime),
}

/// A recurrence rule in the RFC 5545 model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub freq: Freq,
    pub interval: u32,
    pub by_day: Vec<WeekdayNum>,
    pub by_month_day: Vec<i8>,
    pub by_month: Vec<u8>,
    pub by_year_day: Vec<i16>,
    pub by_set_pos: Vec<i16>,
    pub wkst: Option<Weekday>,
    pub end: RecurEnd,
    /// Parts this model does not interpret (BYHOUR, FREQ=HOURLY, ...), kept verbatim so an
    /// iCalendar rule survives a round trip; they make the rule unrepresentable in vCalendar.
    pub other: Vec<(String, String)>,
}

impl Recurrence {
    pub fn new(freq: Freq, interval: u32) -> Self {
        Recurrence {
            freq,
            interval: interval.max(1),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            by_year_day: Vec::new(),
            by_set_pos: Vec::new(),
            wkst: None,
            end: RecurEnd::Forever,
            other: Vec::new(),
        }
    }
}

pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// Brings an end value into the form RFC 5545 requires for the given DTSTART: a DATE for
/// all-day series, UTC when DTSTART is zoned or UTC, floating when DTSTART is floating.
/// Floating ends are read in `zone`.
pub fn normalise_until(until: CalTime, dtstart: &CalTime, zone: Tz) -> CalTime {
    match (dtstart, until) {
        (CalTime::Date(_), u) => CalTime::Date(u.local_in(zone).date()),
        (CalTime::Floating(_), CalTime::Date(d)) => {
            CalTime::Floating(d.and_hms_opt(23, 59, 59).unwrap_or_default())
        }
        (CalTime::Floating(_), u) => CalTime::Floating(u.local_in(zone)),
        (CalTime::Zoned(_, tz), CalTime::Date(d)) => CalTime::Utc(local_to_utc(
            *tz,
            d.and_hms_opt(23, 59, 59).unwrap_or_default(),
        )),
        (CalTime::Zoned(_, tz), CalTime::Floating(t)) => CalTime::Utc(local_to_utc(*tz, t)),
        (CalTime::Utc(_), CalTime::Date(d)) => CalTime::Utc(local_to_utc(
            zone,
            d.and_hms_opt(23, 59, 59).unwrap_or_default(),
        )),
        (_, u) => CalTime::Utc(u.to_utc(zone)),
    }
}

// ---------------------------------------------------------------------------------------------
// vCalendar 1.0

/// Parses a vCalendar 1.0 rule. `dtstart` supplies the defaults the grammar leaves implicit
/// (the weekday of a `W` rule, the day of an `MD` rule, ...); floating end dates are read in
/// `zone`.
pub fn parse_vcal(rule: &str, dtstart: &CalTime, zone: Tz) -> Result<Recurrence, RruleError> {
    let mut tokens: Vec<&str> = rule.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(RruleError::Empty);
    }
    let head = tokens.remove(0).to_ascii_uppercase();
    let (code, interval, freq) = vcal_head(rule, &head)?;
    let mut r = Recurrence::new(freq, interval);

    // The end is the last token when it is `#n` or a date; missing means `#2` (as in the spec).
    let mut end_token = None;
    if let Some(last) = tokens.last() {
        if last.starts_with('#') || last.len() >= 8 && last.as_bytes()[0].is_ascii_digit() {
            end_token = tokens.pop();
        }
    }
    let positions = vcal_modifiers(rule, code, &tokens, &mut r)?;
    vcal_implied(&mut r, (code, interval), positions, dtstart.naive());
    r.end = vcal_end(rule, end_token, &r, code, dtstart, zone)?;
    Ok(r)
}

/// The frequency code (`D`, `W`, `MP`...), interval and frequency of a rule's head.
fn vcal_head<'h>(rule: &str, head: &'h str) -> Result<(&'h str, u32, Freq), RruleError> {
    let bad = || RruleError::BadFrequency {
        rule: rule.to_string(),
        token: head.to_string(),
    };
    let split = head
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(head.len());
    let (code, num) = head.split_at(split);
    let interval: u32 = if num.is_empty() {
        1
    } else {
        num.parse().map_err(|_| bad())?
    };
    let freq = match code {
        "D" => Freq::Daily,
        "W" => Freq::Weekly,
        "MP" | "MD" => Freq::Monthly,
        "YM" | "YD" => Freq::Yearly,
        _ => return Err(bad()),
    };
    Ok((code, interval, freq))
}

/// The modifiers between head and end (weekdays, positions, days, months); returns the
/// `MP` positions, which apply to the weekdays that follow them.
fn vcal_modifiers(
    rule: &str,
    code: &str,
    tokens: &[&str],
    r: &mut Recurrence,
) -> Result<Vec<i8>, RruleError> {
    let err_mod = |t: &str| RruleError::BadModifier {
        rule: rule.to_string(),
        token: t.to_string(),
    };
    let mut positions: Vec<i8> = Vec::new();
    for raw in tokens.iter().copied() {
        let t = raw.trim_end_matches('$').to_ascii_uppercase();
        if t.is_empty() {
            continue;
        }
        match code {
            "W" | "D" => {
                let d = parse_weekday(&t).ok_or_else(|| err_mod(raw))?;
                r.by_day.push(WeekdayNum { nth: 0, day: d });
            }
            "MP" => {
                if let Some(d) = parse_weekday(&t) {
                    if positions.is_empty() {
                        r.by_day.push(WeekdayNum { nth: 0, day: d });
                    }
                    for p in &positions {
                        r.by_day.push(WeekdayNum { nth: *p, day: d });
                    }
                } else {
                    positions.push(parse_signed_ordinal(&t, 5).ok_or_else(|| err_mod(raw))?);
                }
            }
            "MD" => {
                let v = if t == "LD" {
                    -1
                } else {
                    parse_signed_ordinal(&t, 31).ok_or_else(|| err_mod(raw))?
                };
                r.by_month_day.push(v);
            }
            "YM" => {
                let m: u8 = t.parse().map_err(|_| err_mod(raw))?;
                if !(1..=12).contains(&m) {
                    return Err(err_mod(raw));
                }
                r.by_month.push(m);
            }
            "YD" => {
                let d: i16 = t.parse().map_err(|_| err_mod(raw))?;
                if !(1..=366).contains(&d) {
                    return Err(err_mod(raw));
                }
                r.by_year_day.push(d);
            }
            _ => return Err(err_mod(raw)),
        }
    }
    Ok(positions)
}

/// What the vCalendar grammar leaves implicit, taken from DTSTART, and the rules phones
/// send outside the grammar.
fn vcal_implied(
    r: &mut Recurrence,
    (code, interval): (&str, u32),
    positions: Vec<i8>,
    start: NaiveDateTime,
) {
    // MP positions given with no weekday: the weekday of DTSTART.
    if code == "MP" && r.by_day.is_empty() {
        let nth = if positions.is_empty() {
            nth_of_month(start.date())
        } else {
            0
        };
        let day = start.weekday();
        if positions.is_empty() {
            r.by_day.push(WeekdayNum { nth, day });
        }
        for p in positions {
            r.by_day.push(WeekdayNum { nth: p, day });
        }
    }
    // `MP12 2+ SU` is Outlook's "yearNth": a yearly rule in DTSTART's month.
    if code == "MP" && interval % 12 == 0 {
        r.freq = Freq::Yearly;
        r.interval = interval / 12;
        r.by_month.push(start.month() as u8);
    }
    // `D1 MO TU` is not in the grammar but sent; it is a weekly rule on those days.
    if code == "D" && !r.by_day.is_empty() {
        r.freq = Freq::Weekly;
    }
    // libsynthesis adds DTSTART's weekday to a W mask; RFC 5545 counts DTSTART as an
    // occurrence anyway, and adding it would change the rule on every round trip.
    if code == "YD" && r.by_year_day.is_empty() {
        r.by_month.push(start.month() as u8);
    }
    sort_by_day(&mut r.by_day);
}

/// The rule's end: a count (`#n`, `#0` for never), an end date, or the default `#2`.
fn vcal_end(
    rule: &str,
    end_token: Option<&str>,
    r: &Recurrence,
    code: &str,
    dtstart: &CalTime,
    zone: Tz,
) -> Result<RecurEnd, RruleError> {
    let bad_end = |t: &str| RruleError::BadEnd {
        rule: rule.to_string(),
        token: t.to_string(),
    };
    Ok(match end_token {
        None => vcal_count_end(r, code, 2, dtstart),
        Some(t) if t.starts_with('#') => {
            let n: u32 = t[1..].parse().map_err(|_| bad_end(t))?;
            if n == 0 {
                RecurEnd::Forever
            } else {
                vcal_count_end(r, code, n, dtstart)
            }
        }
        Some(t) => {
            let until = parse_caltime(t).map_err(|_| bad_end(t))?;
            // A floating end at midnight means "through that day".
            let until = match until {
                CalTime::Floating(u) if u.time() == chrono::NaiveTime::MIN => {
                    CalTime::Date(u.date())
                }
                other => other,
            };
            RecurEnd::Until(normalise_until(until, dtstart, zone))
        }
    })
}

fn sort_by_day(v: &mut Vec<WeekdayNum>) {
    v.sort_by_key(|w| (w.nth, w.day.num_days_from_monday()));
    v.dedup();
}

/// `2+` -> 2, `1-` -> -1, `3` -> 3.
fn parse_signed_ordinal(t: &str, max: i8) -> Option<i8> {
    let (num, neg) = if let Some(n) = t.strip_suffix('-') {
        (n, true)
    } else {
        (t.strip_suffix('+').unwrap_or(t), false)
    };
    let v: i8 = num.parse().ok()?;
    if v < 1 || v > max {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn nth_of_month(d: NaiveDate) -> i8 {
    ((d.day() - 1) / 7 + 1) as i8
}

/// How many occurrences one interval of the rule yields (for the `#n` reading).
fn per_interval(r: &Recurrence, code: &str) -> usize {
    match code {
        "W" => r.by_day.len().max(1),
        "MP" => r.by_day.len().max(1),
        "MD" => r.by_month_day.len().max(1),
        "YM" => r.by_month.len().max(1),
        "YD" => r.by_year_day.len().max(1),
        _ => 1,
    }
}

fn vcal_count_end(r: &Recurrence, code: &str, n: u32, dtstart: &CalTime) -> RecurEnd {
    if per_interval(r, code) <= 1 {
        return RecurEnd::Count(n);
    }
    let start = dtstart.naive();
    let steps = i64::from(n.saturating_sub(1)) * i64::from(r.interval);
    let last_day = match r.freq {
        Freq::Daily => start.date() + Duration::days(steps),
        Freq::Weekly => {
            // libsynthesis counts weeks Sunday to Saturday.
            let sunday =
                start.date() - Duration::days(i64::from(start.weekday().num_days_from_sunday()));
            sunday + Duration::days(steps * 7 + 6)
        }
        Freq::Monthly => {
            let (y, m) = add_months(start.year(), start.month(), steps);
            NaiveDate::from_ymd_opt(y, m, days_in_month(y, m)).unwrap_or(start.date())
        }
        Freq::Yearly => {
            let y = start.year().saturating_add(steps as i32);
            NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(start.date())
        }
    };
    let until = match dtstart {
        CalTime::Date(_) => CalTime::Date(last_day),
        CalTime::Floating(t) => CalTime::Floating(last_day.and_time(t.time())),
        CalTime::Utc(t) => CalTime::Utc(last_day.and_time(t.time())),
        CalTime::Zoned(t, tz) => CalTime::Utc(local_to_utc(*tz, last_day.and_time(t.time()))),
    };
    RecurEnd::Until(until)
}

fn add_months(year: i32, month: u32, n: i64) -> (i32, u32) {
    let idx = i64::from(year) * 12 + i64::from(month) - 1 + n;
    (idx.div_euclid(12) as i32, (idx.rem_euclid(12) + 1) as u32)
}

/// Writes the vCalendar 1.0 form. The end is always an UNTIL date or `#0` (phones disagree on
/// what `#n` means); a COUNT is expanded to the date of the last occurrence. `until_form`
/// turns the end instant into the value the device wants (UTC or local).
pub fn to_vcal(
    r: &Recurrence,
    dtstart: &CalTime,
    until_form: impl Fn(&CalTime) -> String,
) -> Result<String, RruleError> {
    if !r.other.is_empty() {
        let names: Vec<&str> = r.other.iter().map(|(k, _)| k.as_str()).collect();
        return Err(RruleError::NotRepresentable(names.join(",")));
    }
    let start = dtstart.naive();
    let mut out = String::new();
    let mut set_pos_as_nth = false;
    if !r.by_set_pos.is_empty() {
        // `BYDAY=TU;BYSETPOS=2` (one weekday, one position) is `MP1 2+ TU`.
        let simple = r.by_set_pos.len() == 1
            && r.by_day.len() == 1
            && r.by_day[0].nth == 0
            && matches!(r.freq, Freq::Monthly | Freq::Yearly)
            && r.by_month_day.is_empty();
        if !simple {
            return Err(RruleError::NotRepresentable("BYSETPOS".into()));
        }
        set_pos_as_nth = true;
    }
    match r.freq {
        Freq::Daily => vcal_daily(&mut out, r)?,
        Freq::Weekly => vcal_weekly(&mut out, r, start)?,
        Freq::Monthly => vcal_monthly(&mut out, r, start, set_pos_as_nth)?,
        Freq::Yearly => vcal_yearly(&mut out, r, start, set_pos_as_nth)?,
    }
    out.push(' ');
    match &r.end {
        RecurEnd::Forever => out.push_str("#0"),
        RecurEnd::Until(u) => out.push_str(&until_form(u)),
        RecurEnd::Count(n) => {
            let occ = occurrences(r, start, *n as usize, None);
            let last = occ.last().copied().unwrap_or(start);
            let last = match dtstart {
                CalTime::Date(_) => CalTime::Date(last.date()),
                CalTime::Floating(_) => CalTime::Floating(last),
                CalTime::Utc(_) => CalTime::Utc(last),
                CalTime::Zoned(_, tz) => CalTime::Utc(local_to_utc(*tz, last)),
            };
            out.push_str(&until_form(&last));
        }
    }
    Ok(out)
}

/// A `MP` position: `2+`, `1-`.
fn vcal_pos(n: i8) -> String {
    if n < 0 {
        format!("{}-", -n)
    } else {
        format!("{n}+")
    }
}

fn vcal_daily(out: &mut String, r: &Recurrence) -> Result<(), RruleError> {
    if !r.by_month_day.is_empty() || !r.by_month.is_empty() || !r.by_year_day.is_empty() {
        return Err(RruleError::NotRepresentable("DAILY with BY* parts".into()));
    }
    if r.by_day.is_empty() {
        out.push_str(&format!("D{}", r.interval));
    } else if r.interval == 1 && r.by_day.iter().all(|w| w.nth == 0) {
        out.push_str("W1");
        for w in &r.by_day {
            out.push(' ');
            out.push_str(weekday_code(w.day));
        }
    } else {
        return Err(RruleError::NotRepresentable("DAILY with BYDAY".into()));
    }
    Ok(())
}

fn vcal_weekly(out: &mut String, r: &Recurrence, start: NaiveDateTime) -> Result<(), RruleError> {
    if !r.by_month_day.is_empty() || !r.by_month.is_empty() || !r.by_year_day.is_empty() {
        return Err(RruleError::NotRepresentable("WEEKLY with BY* parts".into()));
    }
    if r.by_day.iter().any(|w| w.nth != 0) {
        return Err(RruleError::NotRepresentable(
            "WEEKLY with BYDAY positions".into(),
        ));
    }
    out.push_str(&format!("W{}", r.interval));
    let days: Vec<Weekday> = if r.by_day.is_empty() {
        vec![start.weekday()]
    } else {
        r.by_day.iter().map(|w| w.day).collect()
    };
    for d in days {
        out.push(' ');
        out.push_str(weekday_code(d));
    }
    Ok(())
}

fn vcal_monthly(
    out: &mut String,
    r: &Recurrence,
    start: NaiveDateTime,
    set_pos_as_nth: bool,
) -> Result<(), RruleError> {
    if !r.by_month.is_empty() || !r.by_year_day.is_empty() {
        return Err(RruleError::NotRepresentable("MONTHLY with BYMONTH".into()));
    }
    if !r.by_day.is_empty() && !r.by_month_day.is_empty() {
        return Err(RruleError::NotRepresentable("BYDAY with BYMONTHDAY".into()));
    }
    if !r.by_day.is_empty() {
        out.push_str(&format!("MP{}", r.interval));
        write_mp_days(out, r, set_pos_as_nth)?;
    } else {
        out.push_str(&format!("MD{}", r.interval));
        let days = if r.by_month_day.is_empty() {
            vec![start.day() as i8]
        } else {
            r.by_month_day.clone()
        };
        for d in days {
            out.push(' ');
            if d < 0 {
                out.push_str(&vcal_pos(d));
            } else {
                out.push_str(&d.to_string());
            }
        }
    }
    Ok(())
}

fn vcal_yearly(
    out: &mut String,
    r: &Recurrence,
    start: NaiveDateTime,
    set_pos_as_nth: bool,
) -> Result<(), RruleError> {
    if !r.by_year_day.is_empty() {
        if !r.by_day.is_empty() || !r.by_month.is_empty() || !r.by_month_day.is_empty() {
            return Err(RruleError::NotRepresentable("BYYEARDAY with others".into()));
        }
        out.push_str(&format!("YD{}", r.interval));
        for d in &r.by_year_day {
            if *d < 0 {
                return Err(RruleError::NotRepresentable("negative BYYEARDAY".into()));
            }
            out.push_str(&format!(" {d}"));
        }
    } else if !r.by_day.is_empty() {
        // Yearly by weekday position only works within DTSTART's month (`MP12`).
        let month_ok = r.by_month.is_empty()
            || r.by_month.len() == 1 && u32::from(r.by_month[0]) == start.month();
        if !month_ok || !r.by_month_day.is_empty() || r.by_month.is_empty() {
            return Err(RruleError::NotRepresentable("YEARLY with BYDAY".into()));
        }
        out.push_str(&format!("MP{}", r.interval.saturating_mul(12)));
        write_mp_days(out, r, set_pos_as_nth)?;
    } else {
        let day_ok = r.by_month_day.is_empty()
            || r.by_month_day.len() == 1 && r.by_month_day[0] == start.day() as i8;
        if !day_ok {
            return Err(RruleError::NotRepresentable(
                "YEARLY with BYMONTHDAY".into(),
            ));
        }
        out.push_str(&format!("YM{}", r.interval));
        let months = if r.by_month.is_empty() {
            vec![start.month() as u8]
        } else {
            r.by_month.clone()
        };
        for m in months {
            out.push_str(&format!(" {m}"));
        }
    }
    Ok(())
}

fn write_mp_days(out: &mut String, r: &Recurrence, set_pos_as_nth: bool) -> Result<(), RruleError> {
    if set_pos_as_nth {
        let n = r.by_set_pos[0];
        if !(-5..=5).contains(&n) || n == 0 {
            return Err(RruleError::NotRepresentable("BYSETPOS".into()));
        }
        out.push_str(&format!(
            " {} {}",
            vcal_pos(n as i8),
            weekday_code(r.by_day[0].day)
        ));
        return Ok(());
    }
    // vCalendar lists positions then weekdays, so every weekday shares the same positions.
    let mut positions: Vec<i8> = r.by_day.iter().map(|w| w.nth).collect();
    positions.sort();
    positions.dedup();
    let mut days: Vec<Weekday> = r.by_day.iter().map(|w| w.day).collect();
    days.sort_by_key(|d| d.num_days_from_monday());
    days.dedup();
    if positions.contains(&0) || positions.len() * days.len() != r.by_day.len() {
        return Err(RruleError::NotRepresentable("mixed BYDAY positions".into()));
    }
    for p in positions {
        out.push(' ');
        out.push_str(&vcal_pos(p));
    }
    for d in days {
        out.push(' ');
        out.push_str(weekday_code(d));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RFC 5545

/// Parses an RFC 5545 RRULE value. Parts this model does not know are kept in `other`.
pub fn parse_ical(rule: &str) -> Result<Recurrence, RruleError> {
    let bad = |p: &str| RruleError::BadPart {
        rule: rule.to_string(),
        part: p.to_string(),
    };
    let mut freq = None;
    let mut r = Recurrence::new(Freq::Daily, 1);
    for part in rule.trim().split(';').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| bad(part))?;
        let k = k.trim().to_ascii_uppercase();
        let v = v.trim();
        let list = || v.split(',').map(str::trim).filter(|s| !s.is_empty());
        match k.as_str() {
            "FREQ" => {
                freq = Some(match v.to_ascii_uppercase().as_str() {
                    "DAILY" => Some(Freq::Daily),
                    "WEEKLY" => Some(Freq::Weekly),
                    "MONTHLY" => Some(Freq::Monthly),
                    "YEARLY" => Some(Freq::Yearly),
                    "HOURLY" | "MINUTELY" | "SECONDLY" => None,
                    _ => return Err(bad(part)),
                });
                if freq == Some(None) {
                    r.other.push(("FREQ".into(), v.to_string()));
                }
            }
            "INTERVAL" => r.interval = v.parse::<u32>().map_err(|_| bad(part))?.max(1),
            "COUNT" => r.end = RecurEnd::Count(v.parse().map_err(|_| bad(part))?),
            "UNTIL" => r.end = RecurEnd::Until(parse_caltime(v).map_err(|_| bad(part))?),
            "BYDAY" => {
                for item in list() {
                    let split = item.len().saturating_sub(2);
                    let (n, d) = (
                        item.get(..split).unwrap_or(""),
                        item.get(split..).unwrap_or(""),
                    );
                    let day = parse_weekday(d).ok_or_else(|| bad(part))?;
                    let nth = if n.is_empty() {
                        0
                    } else {
                        let v: i8 = n.trim_start_matches('+').parse().map_err(|_| bad(part))?;
                        if v == 0 || !(-53..=53).contains(&v) {
                            return Err(bad(part));
                        }
                        v
                    };
                    r.by_day.push(WeekdayNum { nth, day });
                }
            }
            "BYMONTHDAY" => {
                for item in list() {
                    let v: i8 = item.parse().map_err(|_| bad(part))?;
                    if v == 0 || !(-31..=31).contains(&v) {
                        return Err(bad(part));
                    }
                    r.by_month_day.push(v);
                }
            }
            "BYMONTH" => {
                for item in list() {
                    let v: u8 = item.parse().map_err(|_| bad(part))?;
                    if !(1..=12).contains(&v) {
                        return Err(bad(part));
                    }
                    r.by_month.push(v);
                }
            }
            "BYYEARDAY" => {
                for item in list() {
                    let v: i16 = item.parse().map_err(|_| bad(part))?;
                    if v == 0 || !(-366..=366).contains(&v) {
                        return Err(bad(part));
                    }
                    r.by_year_day.push(v);
                }
            }
            "BYSETPOS" => {
                for item in list() {
                    let v: i16 = item.parse().map_err(|_| bad(part))?;
                    if v == 0 || !(-366..=366).contains(&v) {
                        return Err(bad(part));
                    }
                    r.by_set_pos.push(v);
                }
            }
            "WKST" => r.wkst = Some(parse_weekday(v).ok_or_else(|| bad(part))?),
            _ => r.other.push((k, v.to_string())),
        }
    }
    match freq {
        Some(Some(f)) => r.freq = f,
        Some(None) => {}
        None => return Err(bad("FREQ missing")),
    }
    Ok(r)
}

/// Writes the RFC 5545 value, parts in the customary order.
pub fn to_ical(r: &Recurrence) -> String {
    let mut parts: Vec<String> = Vec::new();
    match r.other.iter().find(|(k, _)| k == "FREQ") {
        Some((_, f)) => parts.push(format!("FREQ={f}")),
        None => parts.push(
            match r.freq {
                Freq::Daily => "FREQ=DAILY",
                Freq::Weekly => "FREQ=WEEKLY",
                Freq::Monthly => "FREQ=MONTHLY",
                Freq::Yearly => "FREQ=YEARLY",
            }
            .to_string(),
        ),
    }
    if r.interval > 1 {
        parts.push(format!("INTERVAL={}", r.interval));
    }
    match &r.end {
        RecurEnd::Forever => {}
        RecurEnd::Count(n) => parts.push(format!("COUNT={n}")),
        RecurEnd::Until(u) => parts.push(format!("UNTIL={}", format_caltime(u))),
    }
    let join = |v: Vec<String>| v.join(",");
    if !r.by_month.is_empty() {
        parts.push(format!(
            "BYMONTH={}",
            join(r.by_month.iter().map(|m| m.to_string()).collect())
        ));
    }
    if !r.by_year_day.is_empty() {
        parts.push(format!(
            "BYYEARDAY={}",
            join(r.by_year_day.iter().map(|m| m.to_string()).collect())
        ));
    }
    if !r.by_month_day.is_empty() {
        parts.push(format!(
            "BYMONTHDAY={}",
            join(r.by_month_day.iter().map(|m| m.to_string()).collect())
        ));
    }
    if !r.by_day.is_empty() {
        parts.push(format!(
            "BYDAY={}",
            join(
                r.by_day
                    .iter()
                    .map(|w| if w.nth == 0 {
                        weekday_code(w.day).to_string()
                    } else {
                        format!("{}{}", w.nth, weekday_code(w.day))
                    })
                    .collect()
            )
        ));
    }
    if !r.by_set_pos.is_empty() {
        parts.push(format!(
            "BYSETPOS={}",
            join(r.by_set_pos.iter().map(|m| m.to_string()).collect())
        ));
    }
    if let Some(w) = r.wkst {
        parts.push(format!("WKST={}", weekday_code(w)));
    }
    for (k, v) in r.other.iter().filter(|(k, _)| k != "FREQ") {
        parts.push(format!("{k}={v}"));
    }
    parts.join(";")
}

// ---------------------------------------------------------------------------------------------
// Expansion

/// Periods scanned before giving up on a rule that never matches (`BYMONTHDAY=31;BYMONTH=2`).
const MAX_PERIODS: usize = 20_000;

/// The first `limit` occurrences (wall-clock, DTSTART's time of day) from `start` on, stopping
/// after `until` when given. Parts kept in `other` are ignored.
pub fn occurrences(
    r: &Recurrence,
    start: NaiveDateTime,
    limit: usize,
    until: Option<NaiveDateTime>,
) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let time = start.time();
    let sd = start.date();
    let wkst = r.wkst.unwrap_or(Weekday::Mon);
    let interval = i64::from(r.interval.max(1));
    for period in 0..MAX_PERIODS {
        let step = period as i64 * interval;
        let mut days: Vec<NaiveDate> = match r.freq {
            Freq::Daily => {
                let d = sd + Duration::days(step);
                if day_filter(r, d, true) {
                    vec![d]
                } else {
                    vec![]
                }
            }
            Freq::Weekly => {
                let back = (7 + sd.weekday().num_days_from_monday() as i64
                    - wkst.num_days_from_monday() as i64)
                    % 7;
                let week_start = sd - Duration::days(back) + Duration::days(step * 7);
                (0..7)
                    .map(|i| week_start + Duration::days(i))
                    .filter(|d| {
                        let wd_ok = if r.by_day.is_empty() {
                            d.weekday() == sd.weekday()
                        } else {
                            r.by_day.iter().any(|w| w.day == d.weekday())
                        };
                        wd_ok && month_ok(r, *d)
                    })
                    .collect()
            }
            Freq::Monthly => {
                let (y, m) = add_months(sd.year(), sd.month(), step);
                if !r.by_month.is_empty() && !r.by_month.contains(&(m as u8)) {
                    vec![]
                } else {
                    month_days(r, y, m, sd.day())
                }
            }
            Freq::Yearly => {
                let y = sd.year().saturating_add(step as i32);
                year_days(r, y, sd)
            }
        };
        days.sort();
        days.dedup();
        if !r.by_set_pos.is_empty() {
            let n = days.len() as i16;
            let mut picked: Vec<NaiveDate> = r
                .by_set_pos
                .iter()
                .filter_map(|p| {
                    let idx = if *p > 0 { p - 1 } else { n + p };
                    days.get(usize::try_from(idx).ok()?).copied()
                })
                .collect();
            picked.sort();
            picked.dedup();
            days = picked;
        }
        for d in days {
            let t = d.and_time(time);
            if t < start {
                continue;
            }
            if until.is_some_and(|u| t > u) {
                return out;
            }
            out.push(t);
            if out.len() >= limit {
                return out;
            }
        }
        if let Some(u) = until {
            if sd + Duration::days(step) > u.date() + Duration::days(400) {
                return out;
            }
        }
    }
    out
}

fn month_ok(r: &Recurrence, d: NaiveDate) -> bool {
    r.by_month.is_empty() || r.by_month.contains(&(d.month() as u8))
}

fn day_filter(r: &Recurrence, d: NaiveDate, with_weekday: bool) -> bool {
    month_ok(r, d)
        && (r.by_month_day.is_empty() || r.by_month_day.iter().any(|md| month_day_matches(*md, d)))
        && (!with_weekday || r.by_day.is_empty() || r.by_day.iter().any(|w| w.day == d.weekday()))
}

fn month_day_matches(md: i8, d: NaiveDate) -> bool {
    let dim = days_in_month(d.year(), d.month()) as i32;
    let want = if md < 0 {
        dim + 1 + i32::from(md)
    } else {
        i32::from(md)
    };
    want == d.day() as i32
}

/// Days of month `m` selected by BYMONTHDAY / BYDAY (defaulting to `default_day`).
fn month_days(r: &Recurrence, y: i32, m: u32, default_day: u32) -> Vec<NaiveDate> {
    let dim = days_in_month(y, m);
    let all = (1..=dim).filter_map(|d| NaiveDate::from_ymd_opt(y, m, d));
    if r.by_day.is_empty() && r.by_month_day.is_empty() {
        return NaiveDate::from_ymd_opt(y, m, default_day)
            .into_iter()
            .collect();
    }
    all.filter(|d| {
        (r.by_month_day.is_empty() || r.by_month_day.iter().any(|md| month_day_matches(*md, *d)))
            && (r.by_day.is_empty() || r.by_day.iter().any(|w| weekday_matches(*w, *d, dim)))
    })
    .collect()
}

/// Whether `d` is the `w.nth` `w.day` of its month.
fn weekday_matches(w: WeekdayNum, d: NaiveDate, dim: u32) -> bool {
    if d.weekday() != w.day {
        return false;
    }
    match w.nth {
        0 => true,
        n if n > 0 => (d.day() - 1) / 7 + 1 == n as u32,
        n => (dim - d.day()) / 7 + 1 == (-n) as u32,
    }
}

fn year_days(r: &Recurrence, y: i32, sd: NaiveDate) -> Vec<NaiveDate> {
    if !r.by_year_day.is_empty() {
        let Some(jan1) = NaiveDate::from_ymd_opt(y, 1, 1) else {
            return vec![];
        };
        let len = if NaiveDate::from_ymd_opt(y, 2, 29).is_some() {
            366
        } else {
            365
        };
        return r
            .by_year_day
            .iter()
            .filter_map(|yd| {
                let idx = if *yd > 0 {
                    i64::from(*yd) - 1
                } else {
                    len + i64::from(*yd)
                };
                (0..len).contains(&idx).then(|| jan1 + Duration::days(idx))
            })
            .filter(|d| month_ok(r, *d))
            .collect();
    }
    let months: Vec<u32> = if r.by_month.is_empty() {
        if !r.by_day.is_empty() && r.by_month_day.is_empty() {
            // BYDAY positions count within the whole year without BYMONTH.
            return year_weekdays(r, y);
        }
        vec![sd.month()]
    } else {
        r.by_month.iter().map(|m| u32::from(*m)).collect()
    };
    months
        .into_iter()
        .flat_map(|m| month_days(r, y, m, sd.day()))
        .collect()
}

fn year_weekdays(r: &Recurrence, y: i32) -> Vec<NaiveDate> {
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(y, 1, 1),
        NaiveDate::from_ymd_opt(y, 12, 31),
    ) else {
        return vec![];
    };
    let mut out = Vec::new();
    for w in &r.by_day {
        let all: Vec<NaiveDate> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter(|d| d.weekday() == w.day)
            .collect();
        match w.nth {
            0 => out.extend(all),
            n if n > 0 => out.extend(all.get(n as usize - 1)),
            n => out.extend(
                all.len()
                    .checked_sub((-n) as usize)
                    .and_then(|i| all.get(i)),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn t(s: &str) -> CalTime {
        match parse_caltime(s) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }
    // Monday 2009-10-05 10:00, the start of formats.md's example table.
    fn start() -> CalTime {
        t("20091005T100000")
    }
    fn v2i(rule: &str) -> String {
        match parse_vcal(rule, &start(), Berlin) {
            Ok(r) => to_ical(&r),
            Err(e) => panic!("{rule}: {e}"),
        }
    }

    #[test]
    fn vcal_to_ical_table() {
        assert_eq!(v2i("D1 #10"), "FREQ=DAILY;COUNT=10");
        assert_eq!(
            v2i("D2 20091031T000000"),
            "FREQ=DAILY;INTERVAL=2;UNTIL=20091031T235959"
        );
        assert_eq!(v2i("W1 #0"), "FREQ=WEEKLY");
        assert_eq!(
            v2i("W2 MO TH #10"),
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20100213T100000;BYDAY=MO,TH"
        );
        assert_eq!(v2i("MP1 1+ MO #0"), "FREQ=MONTHLY;BYDAY=1MO");
        assert_eq!(v2i("MP1 1- FR #0"), "FREQ=MONTHLY;BYDAY=-1FR");
        assert_eq!(v2i("MP1 2+ 4+ TU #0"), "FREQ=MONTHLY;BYDAY=2TU,4TU");
        assert_eq!(v2i("MP12 2+ SU #0"), "FREQ=YEARLY;BYMONTH=10;BYDAY=2SU");
        assert_eq!(v2i("MD1 1 15 #0"), "FREQ=MONTHLY;BYMONTHDAY=1,15");
        assert_eq!(v2i("MD1 LD #0"), "FREQ=MONTHLY;BYMONTHDAY=-1");
        assert_eq!(v2i("MD1 1- #0"), "FREQ=MONTHLY;BYMONTHDAY=-1");
        assert_eq!(v2i("YM1 6 7 #0"), "FREQ=YEARLY;BYMONTH=6,7");
        assert_eq!(v2i("YM1 #0"), "FREQ=YEARLY");
        assert_eq!(v2i("YD1 1 100 #0"), "FREQ=YEARLY;BYYEARDAY=1,100");
        // Defaults and leniency.
        assert_eq!(v2i("D1"), "FREQ=DAILY;COUNT=2");
        assert_eq!(v2i("W1 TH$ #0"), "FREQ=WEEKLY;BYDAY=TH");
        assert_eq!(v2i("MP1 #0"), "FREQ=MONTHLY;BYDAY=1MO");
        assert_eq!(v2i("YD1 #0"), "FREQ=YEARLY;BYMONTH=10");
        assert_eq!(v2i("w1 mo #3"), "FREQ=WEEKLY;COUNT=3;BYDAY=MO");
        assert_eq!(
            v2i("W1 FR 20091023T000000Z"),
            "FREQ=WEEKLY;UNTIL=20091023T020000;BYDAY=FR"
        );
    }

    #[test]
    fn vcal_errors() {
        assert_eq!(parse_vcal("  ", &start(), Berlin), Err(RruleError::Empty));
        assert!(matches!(
            parse_vcal("Q1 #0", &start(), Berlin),
            Err(RruleError::BadFrequency { .. })
        ));
        assert!(matches!(
            parse_vcal("W1 XX #0", &start(), Berlin),
            Err(RruleError::BadModifier { .. })
        ));
        assert!(matches!(
            parse_vcal("MD1 32 #0", &start(), Berlin),
            Err(RruleError::BadModifier { .. })
        ));
        assert!(matches!(
            parse_vcal("D1 #x", &start(), Berlin),
            Err(RruleError::BadEnd { .. })
        ));
        assert!(matches!(
            parse_vcal("D1 2009999999", &start(), Berlin),
            Err(RruleError::BadEnd { .. })
        ));
    }

    #[test]
    fn until_takes_the_form_of_dtstart() {
        let allday = CalTime::Date(t("20091016").naive().date());
        let r =
            parse_vcal("W1 FR 20091023T000000", &allday, Berlin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(to_ical(&r), "FREQ=WEEKLY;UNTIL=20091023;BYDAY=FR");
        let zoned = CalTime::Zoned(t("20091005T100000").naive(), Berlin);
        let r = parse_vcal("D1 20091031T100000", &zoned, Berlin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(to_ical(&r), "FREQ=DAILY;UNTIL=20091031T090000Z");
    }

    fn i2v(rule: &str, dtstart: &CalTime) -> Result<String, RruleError> {
        let r = parse_ical(rule)?;
        to_vcal(&r, dtstart, format_caltime)
    }

    #[test]
    fn ical_to_vcal() {
        let s = start();
        let ok = |rule: &str| i2v(rule, &s).unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert_eq!(ok("FREQ=DAILY;COUNT=10"), "D1 20091014T100000");
        assert_eq!(ok("FREQ=WEEKLY"), "W1 MO #0");
        assert_eq!(
            ok("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=4"),
            "W2 MO TH 20091022T100000"
        );
        assert_eq!(ok("FREQ=MONTHLY;BYDAY=2TU,4TU"), "MP1 2+ 4+ TU #0");
        assert_eq!(ok("FREQ=MONTHLY;BYDAY=-1FR"), "MP1 1- FR #0");
        assert_eq!(ok("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2"), "MP1 2+ TU #0");
        assert_eq!(ok("FREQ=MONTHLY;BYMONTHDAY=-1"), "MD1 1- #0");
        assert_eq!(ok("FREQ=MONTHLY"), "MD1 5 #0");
        assert_eq!(ok("FREQ=YEARLY;BYMONTH=10;BYDAY=2SU"), "MP12 2+ SU #0");
        assert_eq!(ok("FREQ=YEARLY;BYMONTH=6,7"), "YM1 6 7 #0");
        assert_eq!(ok("FREQ=YEARLY;BYYEARDAY=1,100"), "YD1 1 100 #0");
        assert_eq!(ok("FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=5"), "YM1 10 #0");
        assert_eq!(
            ok("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
            "W1 MO TU WE TH FR #0"
        );
        assert_eq!(
            ok("FREQ=DAILY;UNTIL=20091031T090000Z"),
            "D1 20091031T090000Z"
        );
        for bad in [
            "FREQ=HOURLY",
            "FREQ=DAILY;BYHOUR=9,17",
            "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=1MO,2TU",
            "FREQ=WEEKLY;BYDAY=1MO",
            "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        ] {
            assert!(
                matches!(i2v(bad, &s), Err(RruleError::NotRepresentable(_))),
                "{bad}"
            );
        }
        assert!(parse_ical("INTERVAL=2").is_err());
        assert!(parse_ical("FREQ=WEEKLY;BYDAY=XX").is_err());
        assert!(parse_ical("FREQ=WEEKLY;BYMONTHDAY=0").is_err());
        assert!(parse_ical("FREQ=SOMETIMES").is_err());
    }

    #[test]
    fn ical_roundtrip_keeps_unknown_parts() {
        let r = parse_ical("FREQ=DAILY;BYHOUR=9,17;X-FOO=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(to_ical(&r), "FREQ=DAILY;BYHOUR=9,17;X-FOO=1");
        let r = parse_ical("FREQ=MINUTELY;INTERVAL=15").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(to_ical(&r), "FREQ=MINUTELY;INTERVAL=15");
    }

    #[test]
    fn expansion() {
        let s = start().naive();
        let r = parse_ical("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3").unwrap_or_else(|e| panic!("{e}"));
        let o = occurrences(&r, s, 3, None);
        assert_eq!(
            o,
            vec![
                t("20091030T100000").naive(),
                t("20091127T100000").naive(),
                t("20091225T100000").naive()
            ]
        );
        let r = parse_ical("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30").unwrap_or_else(|e| panic!("{e}"));
        assert!(occurrences(&r, s, 1, None).is_empty());
        let r = parse_ical("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            occurrences(&r, s, 1, None),
            vec![t("20091030T100000").naive()]
        );
        // The libsynthesis reading of `#n` agrees with the expansion of the written UNTIL.
        let r = parse_vcal("W2 MO TH #10", &start(), Berlin).unwrap_or_else(|e| panic!("{e}"));
        let RecurEnd::Until(u) = r.end else {
            panic!("until expected")
        };
        assert_eq!(occurrences(&r, s, 100, Some(u.naive())).len(), 20);
    }
}
