//! Alarms: vCalendar 1.0 `AALARM`/`DALARM`/`PALARM`/`MALARM` properties <-> iCalendar VALARM.
//!
//! A vCalendar alarm is `RunTime;SnoozeTime;RepeatCount;Content` with an absolute run time.
//! Stored VALARMs get a trigger relative to the start (or due) time when that is known, so the
//! alarm follows the event when it moves and applies to every occurrence of a series.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;

use super::timezone::{format_caltime, format_naive, parse_caltime, CalTime, TimeError};
use super::vobject::{escape_text, unescape_text, Component, Dialect, Property};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    Audio,
    Display,
    Procedure,
    Email,
}

impl AlarmKind {
    /// The kind a vCalendar alarm property names.
    pub fn from_vcal_name(name: &str) -> Option<AlarmKind> {
        Some(match name.to_ascii_uppercase().as_str() {
            "AALARM" => AlarmKind::Audio,
            "DALARM" => AlarmKind::Display,
            "PALARM" => AlarmKind::Procedure,
            "MALARM" => AlarmKind::Email,
            _ => return None,
        })
    }

    pub fn vcal_name(self) -> &'static str {
        match self {
            AlarmKind::Audio => "AALARM",
            AlarmKind::Display => "DALARM",
            AlarmKind::Procedure => "PALARM",
            AlarmKind::Email => "MALARM",
        }
    }

    fn action(self) -> &'static str {
        match self {
            AlarmKind::Audio => "AUDIO",
            AlarmKind::Display => "DISPLAY",
            AlarmKind::Procedure => "PROCEDURE",
            AlarmKind::Email => "EMAIL",
        }
    }

    fn from_action(action: &str) -> AlarmKind {
        match action.trim().to_ascii_uppercase().as_str() {
            "DISPLAY" => AlarmKind::Display,
            "PROCEDURE" => AlarmKind::Procedure,
            "EMAIL" => AlarmKind::Email,
            _ => AlarmKind::Audio,
        }
    }
}

/// One vCalendar alarm, fields as the property carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcalAlarm {
    pub kind: AlarmKind,
    pub run_time: Option<CalTime>,
    /// An iCalendar duration (`PT5M`).
    pub snooze: Option<String>,
    pub repeat: Option<u32>,
    /// Audio file, display text, procedure name or e-mail address.
    pub content: Option<String>,
    /// MALARM's note.
    pub note: Option<String>,
    /// `TYPE=` of an AALARM (PCM, WAVE, AIFF, or a vendor value).
    pub audio_type: Option<String>,
}

/// Parses an alarm property. Empty fields are absent; an unreadable run time is an error.
pub fn parse_vcal_alarm(prop: &Property) -> Result<Option<VcalAlarm>, TimeError> {
    let Some(kind) = AlarmKind::from_vcal_name(&prop.name) else {
        return Ok(None);
    };
    let fields: Vec<String> = super::vobject::split_escaped(&prop.value, ';')
        .into_iter()
        .map(|f| unescape_text(f.trim(), Dialect::Old))
        .collect();
    let field = |i: usize| fields.get(i).filter(|s| !s.is_empty()).cloned();
    let run_time = field(0).map(|s| parse_caltime(&s)).transpose()?;
    if run_time.is_none() && fields.iter().all(|f| f.is_empty()) {
        // `AALARM:` (Motorola V3xx adds it empty) carries nothing.
        return Ok(None);
    }
    let snooze = field(1).filter(|s| parse_duration(s).is_ok());
    let repeat = field(2).and_then(|s| s.parse().ok());
    Ok(Some(VcalAlarm {
        kind,
        run_time,
        snooze,
        repeat,
        content: field(3),
        note: field(4),
        audio_type: prop
            .param("TYPE")
            .map(str::to_string)
            .filter(|_| kind == AlarmKind::Audio),
    }))
}

/// Builds the VALARM. `anchor_utc` is the UTC instant of DTSTART (DUE for tasks): when known
/// the trigger is stored relative to it. `zone` reads a floating run time.
pub fn to_valarm(
    a: &VcalAlarm,
    anchor_utc: Option<NaiveDateTime>,
    zone: Tz,
    summary: Option<&str>,
) -> Component {
    let mut c = Component::new("VALARM");
    c.push(Property::new("ACTION", a.kind.action()));
    let run_utc = a.run_time.map(|t| t.to_utc(zone));
    match (run_utc, anchor_utc) {
        (Some(run), Some(anchor)) => c.push(Property::new(
            "TRIGGER",
            format_duration((run - anchor).num_seconds()),
        )),
        (Some(run), None) => c.push(
            Property::new("TRIGGER", format!("{}Z", format_naive(run)))
                .with_param("VALUE", "DATE-TIME"),
        ),
        // No run time at all: "at the start".
        (None, _) => c.push(Property::new("TRIGGER", "PT0S")),
    }
    if let (Some(s), Some(r)) = (&a.snooze, a.repeat.filter(|r| *r > 0)) {
        c.push(Property::new("DURATION", s.clone()));
        c.push(Property::new("REPEAT", r.to_string()));
    }
    let text = |s: &str| escape_text(s, Dialect::Standard);
    match a.kind {
        AlarmKind::Audio | AlarmKind::Procedure => {
            if let Some(content) = &a.content {
                let mut p = Property::new("ATTACH", text(content));
                if let Some(fmt) = a.audio_type.as_deref().and_then(audio_fmttype) {
                    p = p.with_param("FMTTYPE", fmt);
                }
                c.push(p);
            }
        }
        AlarmKind::Display => {
            // DISPLAY requires a DESCRIPTION; the item's summary is what phones show.
            let d = a.content.as_deref().or(summary).unwrap_or("Reminder");
            c.push(Property::new("DESCRIPTION", text(d)));
        }
        AlarmKind::Email => {
            let note = a.note.as_deref().or(summary).unwrap_or("Reminder");
            c.push(Property::new("DESCRIPTION", text(note)));
            c.push(Property::new("SUMMARY", text(note)));
            if let Some(addr) = &a.content {
                c.push(Property::new("ATTENDEE", format!("mailto:{addr}")));
            }
        }
    }
    c
}

fn audio_fmttype(t: &str) -> Option<&'static str> {
    match t.to_ascii_uppercase().as_str() {
        "PCM" => Some("audio/basic"),
        "WAVE" => Some("audio/x-wav"),
        "AIFF" => Some("audio/x-aiff"),
        _ => None,
    }
}

/// Reads a VALARM back into vCalendar fields. `anchor_utc` resolves a relative trigger
/// (RELATED=END uses `end_utc`). `None` when the trigger cannot be placed in time.
pub fn from_valarm(
    c: &Component,
    anchor_utc: Option<NaiveDateTime>,
    end_utc: Option<NaiveDateTime>,
    zone: Tz,
) -> Option<VcalAlarm> {
    let trigger = c.property("TRIGGER")?;
    let run = if trigger
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"))
        || parse_duration(&trigger.value).is_err()
    {
        parse_caltime(&trigger.value).ok()?.to_utc(zone)
    } else {
        let secs = parse_duration(&trigger.value).ok()?;
        let related_end = trigger
            .param("RELATED")
            .is_some_and(|r| r.eq_ignore_ascii_case("END"));
        let base = if related_end {
            end_utc.or(anchor_utc)?
        } else {
            anchor_utc?
        };
        base + Duration::seconds(secs)
    };
    let kind = AlarmKind::from_action(c.value("ACTION").unwrap_or("AUDIO"));
    let text = |name: &str| {
        c.value(name)
            .map(|v| unescape_text(v, Dialect::Standard))
            .filter(|s| !s.is_empty())
    };
    let (content, note) = match kind {
        AlarmKind::Audio | AlarmKind::Procedure => (
            c.property("ATTACH")
                .filter(|p| !p.is_binary())
                .map(|p| unescape_text(&p.value, Dialect::Standard)),
            None,
        ),
        AlarmKind::Display => (text("DESCRIPTION"), None),
        AlarmKind::Email => (
            c.value("ATTENDEE").map(|v| {
                let v = v.trim();
                v.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("mailto:"))
                    .map_or(v, |_| &v[7..])
                    .to_string()
            }),
            text("DESCRIPTION"),
        ),
    };
    let audio_type = c
        .property("ATTACH")
        .and_then(|p| p.param("FMTTYPE"))
        .and_then(|f| {
            Some(match f.to_ascii_lowercase().as_str() {
                "audio/basic" => "PCM",
                "audio/x-wav" | "audio/wav" => "WAVE",
                "audio/x-aiff" | "audio/aiff" => "AIFF",
                _ => return None,
            })
        });
    Some(VcalAlarm {
        kind,
        run_time: Some(CalTime::Utc(run)),
        snooze: c.value("DURATION").map(str::to_string),
        repeat: c.value("REPEAT").and_then(|r| r.trim().parse().ok()),
        content,
        note,
        audio_type: audio_type.map(str::to_string),
    })
}

/// Writes the vCalendar property. `time_form` renders the run time (UTC or device-local).
/// With nothing but a run time only the time is written: Nokia S40 ignores `AALARM:t;;;`.
pub fn to_vcal_property(
    a: &VcalAlarm,
    as_kind: AlarmKind,
    time_form: impl Fn(&CalTime) -> String,
) -> Property {
    // Paths like `C:\music.wma` travel as they are; only the field separator is escaped.
    let esc = |s: &str| s.replace(['\r', '\n'], " ").replace(';', "\\;");
    let run = a.run_time.as_ref().map(&time_form).unwrap_or_default();
    let mut fields = vec![
        run,
        a.snooze.clone().unwrap_or_default(),
        a.repeat.map(|r| r.to_string()).unwrap_or_default(),
        a.content.as_deref().map(esc).unwrap_or_default(),
    ];
    if as_kind == AlarmKind::Email {
        fields.push(a.note.as_deref().map(esc).unwrap_or_default());
    }
    while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
        fields.pop();
    }
    let mut p = Property::new(as_kind.vcal_name(), fields.join(";"));
    if let Some(t) = &a.audio_type {
        if as_kind == AlarmKind::Audio {
            p = p.with_param("TYPE", t);
        }
    }
    p
}

/// Parses an RFC 5545 duration (`-PT15M`, `P1DT2H`, `P2W`) into seconds.
pub fn parse_duration(input: &str) -> Result<i64, TimeError> {
    let bad = || TimeError::BadDuration(input.to_string());
    let s = input.trim().to_ascii_uppercase();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s.as_str()),
    };
    let s = s.strip_prefix('P').ok_or_else(bad)?;
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut in_time = false;
    let mut any = false;
    for ch in s.chars() {
        match ch {
            '0'..='9' => num.push(ch),
            'T' if !in_time && num.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = num.parse().map_err(|_| bad())?;
                num.clear();
                let unit = match (ch, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                total = n
                    .checked_mul(unit)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(bad)?;
                any = true;
            }
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(if neg { -total } else { total })
}

/// Seconds as an RFC 5545 duration (`-PT15M`, `P1D`, `-P1DT30M`).
pub fn format_duration(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let mut s = secs.unsigned_abs();
    if s == 0 {
        return "PT0S".to_string();
    }
    if s % (7 * 86_400) == 0 {
        return format!("{sign}P{}W", s / (7 * 86_400));
    }
    let days = s / 86_400;
    s %= 86_400;
    let mut out = format!("{sign}P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if s > 0 {
        out.push('T');
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if sec > 0 {
            out.push_str(&format!("{sec}S"));
        }
    }
    out
}

/// `format_caltime` for UTC run times, as Nokia and Sony Ericsson want them.
pub fn utc_form(t: &CalTime, zone: Tz) -> String {
    format_caltime(&CalTime::Utc(t.to_utc(zone)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> NaiveDateTime {
        parse_caltime(s).map(|t| t.naive()).unwrap_or_default()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("-PT15M"), Ok(-900));
        assert_eq!(parse_duration("P1DT2H"), Ok(93_600));
        assert_eq!(parse_duration("P2W"), Ok(1_209_600));
        assert_eq!(parse_duration("+PT0S"), Ok(0));
        for bad in [
            "",
            "P",
            "PT",
            "15M",
            "P1H",
            "PT1D",
            "P1X",
            "PT99999999999999999999S",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for s in [-900, 93_600, 1_209_600, -86_400 - 1800, 61] {
            assert_eq!(parse_duration(&format_duration(s)), Ok(s));
        }
        assert_eq!(format_duration(-900), "-PT15M");
    }

    #[test]
    fn aalarm_with_sound_becomes_relative_audio_alarm() {
        let p =
            Property::new("AALARM", "20091010T083500Z;;0;C:\\music.wma").with_param("TYPE", "WAVE");
        let a = parse_vcal_alarm(&p)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("alarm"));
        assert_eq!(a.content.as_deref(), Some("C:\\music.wma"));
        let v = to_valarm(&a, Some(utc("20091010T090000")), Berlin, Some("Meeting"));
        assert_eq!(v.value("ACTION"), Some("AUDIO"));
        assert_eq!(v.value("TRIGGER"), Some("-PT25M"));
        assert_eq!(
            v.property("ATTACH").and_then(|p| p.param("FMTTYPE")),
            Some("audio/x-wav")
        );
        assert_eq!(v.value("ATTACH"), Some("C:\\\\music.wma"));
        let back = from_valarm(&v, Some(utc("20091010T090000")), None, Berlin)
            .unwrap_or_else(|| panic!("alarm back"));
        let prop = to_vcal_property(&back, AlarmKind::Audio, |t| utc_form(t, Berlin));
        assert_eq!(prop.value, "20091010T083500Z;;;C:\\music.wma");
        assert_eq!(prop.param("TYPE"), Some("WAVE"));
    }

    #[test]
    fn dalarm_snooze_repeat_and_bare_forms() {
        let p = Property::new("DALARM", "19960415T235000;PT5M;2;Your Taxes Are Due !!!");
        let a = parse_vcal_alarm(&p)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("alarm"));
        let v = to_valarm(&a, None, Berlin, None);
        assert_eq!(v.value("TRIGGER"), Some("19960415T215000Z"));
        assert_eq!(v.value("DURATION"), Some("PT5M"));
        assert_eq!(v.value("REPEAT"), Some("2"));
        assert_eq!(v.value("DESCRIPTION"), Some("Your Taxes Are Due !!!"));
        // Nothing but the time: written without trailing separators (Nokia S40).
        let bare = VcalAlarm {
            kind: AlarmKind::Audio,
            run_time: Some(CalTime::Utc(utc("20091010T083500"))),
            snooze: None,
            repeat: None,
            content: None,
            note: None,
            audio_type: None,
        };
        assert_eq!(
            to_vcal_property(&bare, AlarmKind::Audio, format_caltime).value,
            "20091010T083500Z"
        );
        assert_eq!(parse_vcal_alarm(&Property::new("AALARM", ";;;")), Ok(None));
        assert!(parse_vcal_alarm(&Property::new("AALARM", "tomorrow;;;")).is_err());
    }

    #[test]
    fn related_end_and_email() {
        let mut v = Component::new("VALARM");
        v.push(Property::new("ACTION", "EMAIL"));
        v.push(Property::new("TRIGGER", "-PT1H").with_param("RELATED", "END"));
        v.push(Property::new("ATTENDEE", "mailto:a@example.com"));
        v.push(Property::new("DESCRIPTION", "Due soon"));
        let a = from_valarm(
            &v,
            Some(utc("20091010T090000")),
            Some(utc("20091010T120000")),
            Berlin,
        )
        .unwrap_or_else(|| panic!("alarm"));
        assert_eq!(a.run_time, Some(CalTime::Utc(utc("20091010T110000"))));
        let p = to_vcal_property(&a, AlarmKind::Email, format_caltime);
        assert_eq!(p.value, "20091010T110000Z;;;a@example.com;Due soon");
        // A relative trigger without an anchor cannot be placed.
        assert!(from_valarm(&v, None, None, Berlin).is_none());
    }
}
