//! Whether a phone's item and a server item are the same item, for slow syncs: the one
//! rule that decides when two items may be joined.
//!
//! Two items are the same when their UIDs are equal, or, when one side has no UID, when
//! their identity keys agree ([`super::matchkey`]: a contact's given and family name plus
//! one shared number or address when both have some, an event's start and summary, a
//! task's summary, a note's text) and no single-valued field of substance disagrees. A
//! field counts as disagreeing only when both sides hold a non-empty value and the values
//! differ after spelling is set aside (case, spaces, escapes, date and time forms, the cut
//! a phone makes to long text). A field that only one side holds never disagrees.

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::alarm::parse_duration;
use super::matchkey::{match_key, normalize, MatchKey};
use super::timezone::CalTime;
use super::vcal::read_ical_time;
use super::vobject::{split_structured, Component, Dialect};

/// Whether `a` and `b` (DAV trees: a VCARD, or a VCALENDAR holding one item) are the
/// same item. `zone` reads floating times.
pub fn same_item(a: &Component, b: &Component, zone: Tz) -> bool {
    same_item_keyed(a, &match_key(a, zone), b, &match_key(b, zone), zone)
}

/// [`same_item`] with both keys already made (an index holds the server's).
pub fn same_item_keyed(
    a: &Component,
    ka: &MatchKey,
    b: &Component,
    kb: &MatchKey,
    zone: Tz,
) -> bool {
    if let (Some(ua), Some(ub)) = (&ka.uid, &kb.uid) {
        return ua == ub;
    }
    ka.matches(kb) && disagreement(a, b, zone).is_none()
}

/// The first single-valued field of substance that `a` and `b` both hold with different
/// values, by its property name.
pub fn disagreement(a: &Component, b: &Component, zone: Tz) -> Option<&'static str> {
    let (ma, mb) = (main_of(a), main_of(b));
    if ma.name != mb.name {
        return Some("BEGIN");
    }
    let fields: &[(&'static str, Field)] = match ma.name.as_str() {
        "VCARD" => &[
            ("N", Field::Name),
            ("ORG", Field::Structured),
            ("TITLE", Field::Text),
            ("BDAY", Field::Date),
            ("NOTE", Field::Text),
        ],
        "VEVENT" => &[
            ("DTSTART", Field::Time),
            ("DTEND", Field::End),
            ("SUMMARY", Field::Text),
            ("LOCATION", Field::Text),
            ("RRULE", Field::Rule),
        ],
        "VTODO" => &[
            ("SUMMARY", Field::Text),
            ("DUE", Field::Time),
            ("RRULE", Field::Rule),
        ],
        "VJOURNAL" => &[("SUMMARY", Field::Text), ("DESCRIPTION", Field::Text)],
        _ => &[],
    };
    fields
        .iter()
        .find(|(name, field)| field.disagrees(name, ma, mb, zone))
        .map(|(name, _)| *name)
}

/// The component that carries the item's fields: the VCARD itself or the calendar's
/// main item.
pub fn main_of(item: &Component) -> &Component {
    if item.name != "VCALENDAR" {
        return item;
    }
    item.components
        .iter()
        .find(|c| c.name != "VTIMEZONE" && c.property("RECURRENCE-ID").is_none())
        .unwrap_or(item)
}

/// How a field's values are compared.
#[derive(Clone, Copy)]
enum Field {
    /// Free text; a value that is the start of the other (a phone cut it) agrees.
    Text,
    /// `;`-separated fields compared one by one, each like text.
    Structured,
    /// N field by field; FN when either side has no name parts.
    Name,
    /// A date (`1980-01-02`, `19800102`, `--0102`).
    Date,
    /// A date or date-time, compared as an instant.
    Time,
    /// An event's end: DTEND, or DTSTART plus DURATION.
    End,
    /// A recurrence rule, its parts in any order and default parts left out.
    Rule,
}

impl Field {
    fn disagrees(self, name: &str, a: &Component, b: &Component, zone: Tz) -> bool {
        match self {
            Field::End => match (event_end(a, zone), event_end(b, zone)) {
                (Some(x), Some(y)) => x != y,
                _ => false,
            },
            Field::Name => name_disagrees(a, b),
            _ => {
                let (Some(va), Some(vb)) = (value_of(a, name), value_of(b, name)) else {
                    return false;
                };
                match self {
                    Field::Text => !text_agrees(va, vb),
                    Field::Structured => !fields_agree(va, vb),
                    Field::Date => date_digits(va) != date_digits(vb) && !year_less_agrees(va, vb),
                    Field::Time => times_differ(a, b, name, zone),
                    Field::Rule => rule_parts(va) != rule_parts(vb),
                    Field::End | Field::Name => false,
                }
            }
        }
    }
}

/// The first non-empty value of `name`.
fn value_of<'a>(c: &'a Component, name: &'a str) -> Option<&'a str> {
    c.properties_named(name)
        .map(|p| p.value.as_str())
        .find(|v| !is_blank(v))
}

fn is_blank(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_whitespace() || matches!(c, ';' | ','))
}

/// Equal after normalising, or one the start of the other.
fn text_agrees(a: &str, b: &str) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    a.is_empty() || b.is_empty() || a.starts_with(&b) || b.starts_with(&a)
}

/// Every field both sides fill agrees.
fn fields_agree(a: &str, b: &str) -> bool {
    let fa = split_structured(a, Dialect::Standard);
    let fb = split_structured(b, Dialect::Standard);
    fa.iter().zip(&fb).all(|(x, y)| text_agrees(x, y))
}

fn name_disagrees(a: &Component, b: &Component) -> bool {
    if let (Some(na), Some(nb)) = (value_of(a, "N"), value_of(b, "N")) {
        // Name parts compare whole: "Ann" and "Anna" are two people.
        let fa = split_structured(na, Dialect::Standard);
        let fb = split_structured(nb, Dialect::Standard);
        return fa.iter().zip(&fb).any(|(x, y)| {
            let (x, y) = (normalize(x), normalize(y));
            !x.is_empty() && !y.is_empty() && x != y
        });
    }
    match (value_of(a, "FN"), value_of(b, "FN")) {
        (Some(x), Some(y)) => normalize(x) != normalize(y),
        _ => false,
    }
}

fn date_digits(v: &str) -> String {
    let date = v.split('T').next().unwrap_or_default();
    date.chars().filter(char::is_ascii_digit).collect()
}

/// `--0102` (a birthday without its year) agrees with any year's 2 January.
fn year_less_agrees(a: &str, b: &str) -> bool {
    let (da, db) = (date_digits(a), date_digits(b));
    let year_less = |d: &str| d.len() == 4;
    (year_less(&da) || year_less(&db)) && (da.ends_with(&db) || db.ends_with(&da))
}

fn instant(t: &CalTime, zone: Tz) -> NaiveDateTime {
    match t {
        CalTime::Date(_) => t.naive(),
        _ => t.to_utc(zone),
    }
}

fn time_of(c: &Component, name: &str, zone: Tz) -> Option<CalTime> {
    c.properties_named(name)
        .find(|p| !is_blank(&p.value))
        .and_then(|p| read_ical_time(p, zone))
}

fn times_differ(a: &Component, b: &Component, name: &str, zone: Tz) -> bool {
    match (time_of(a, name, zone), time_of(b, name, zone)) {
        // An all-day value and a time on the same day are two spellings of one day.
        (Some(x), Some(y)) if x.is_date() != y.is_date() => x.naive().date() != y.naive().date(),
        (Some(x), Some(y)) => instant(&x, zone) != instant(&y, zone),
        (x, y) => {
            // Unreadable on one side: the raw values decide.
            let raw = |c: &Component| value_of(c, name).map(str::trim).map(str::to_owned);
            x.is_none() && y.is_none() && raw(a).is_some() && raw(b).is_some() && raw(a) != raw(b)
        }
    }
}

fn event_end(c: &Component, zone: Tz) -> Option<NaiveDateTime> {
    if let Some(end) = time_of(c, "DTEND", zone) {
        return Some(instant(&end, zone));
    }
    let start = time_of(c, "DTSTART", zone)?;
    let secs = parse_duration(value_of(c, "DURATION")?).ok()?;
    instant(&start, zone).checked_add_signed(chrono::Duration::seconds(secs))
}

/// The parts of an RRULE, upper-case and sorted, without those that only restate the
/// default (`INTERVAL=1`, `WKST`), `UNTIL` to its date and `+` in `BYDAY` dropped.
fn rule_parts(rule: &str) -> Vec<String> {
    let mut parts: Vec<String> = rule
        .split(';')
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty() && p != "INTERVAL=1" && !p.starts_with("WKST="))
        .map(|p| match p.split_once('=') {
            Some(("UNTIL", v)) => format!("UNTIL={}", date_digits(v)),
            Some(("BYDAY", v)) => format!("BYDAY={}", v.replace('+', "")),
            _ => p,
        })
        .collect();
    parts.sort();
    parts
}

#[cfg(test)]
mod tests {
    use super::super::vobject::{parse, ParseOptions};
    use super::*;

    fn item(text: &str) -> Component {
        parse(text.as_bytes(), &ParseOptions::standard()).unwrap()
    }

    fn card(lines: &[&str]) -> Component {
        item(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n{}\r\nEND:VCARD\r\n",
            lines.join("\r\n")
        ))
    }

    fn event(lines: &[&str]) -> Component {
        item(&format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            lines.join("\r\n")
        ))
    }

    fn task(lines: &[&str]) -> Component {
        item(&format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\n{}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            lines.join("\r\n")
        ))
    }

    fn same(a: &Component, b: &Component) -> bool {
        let both = same_item(a, b, chrono_tz::UTC);
        assert_eq!(both, same_item(b, a, chrono_tz::UTC), "not symmetric");
        both
    }

    /// Anna Schmidt with the family address and `line` (which may be her whole name).
    fn with(line: &str) -> Component {
        let email = "EMAIL:familie@schmidt.example";
        if line.starts_with("N:") {
            card(&[line, email])
        } else {
            card(&["N:Schmidt;Anna;;;", email, line])
        }
    }

    const HAMBURG: &[&str] = &[
        "N:Schmidt;Anna;;;",
        "FN:Anna Schmidt",
        "EMAIL;TYPE=home:familie@schmidt.example",
        "TEL;TYPE=cell:+49 170 1111111",
        "ADR;TYPE=home:;;Elbchaussee 1;Hamburg;;22763;Germany",
        "ORG:Hafen AG",
        "TITLE:Lotsin",
        "NOTE:Hamburg",
    ];

    #[test]
    fn two_people_with_one_name_and_a_family_address_stay_apart() {
        let munich = card(&[
            "N:Schmidt;Anna;;;",
            "EMAIL:Familie@Schmidt.example",
            "TEL;TYPE=cell:+49 171 2222222",
            "ADR;TYPE=home:;;Leopoldstr. 9;München;;80802;Germany",
            "ORG:Brauerei GmbH",
        ]);
        let a = card(HAMBURG);
        assert!(match_key(&a, chrono_tz::UTC).matches(&match_key(&munich, chrono_tz::UTC)));
        assert_eq!(disagreement(&a, &munich, chrono_tz::UTC), Some("ORG"));
        assert!(!same(&a, &munich));
    }

    #[test]
    fn the_same_person_spelled_by_a_phone_is_one_item() {
        // What a vCard 2.1 phone sends back: fewer fields, its own spelling, a cut note.
        let phone = card(&[
            "N:SCHMIDT;anna",
            "TEL;TYPE=CELL:0170 1111111",
            "ORG:hafen ag",
            "NOTE:Ham",
        ]);
        assert!(same(&card(HAMBURG), &phone));
    }

    #[test]
    fn each_field_of_substance_that_differs_keeps_two_contacts() {
        for (line, other) in [
            ("ORG:Hafen AG", "ORG:Brauerei GmbH"),
            ("ORG:Hafen AG;Lotsen", "ORG:Hafen AG;Verwaltung"),
            ("TITLE:Lotsin", "TITLE:Kapitänin"),
            ("BDAY:1980-01-02", "BDAY:19810102"),
            ("NOTE:from Hamburg", "NOTE:from Munich"),
            ("N:Schmidt;Anna;Maria;;", "N:Schmidt;Anna;Luise;;"),
            ("N:Schmidt;Anna;;Dr.;", "N:Schmidt;Anna;;Prof.;"),
        ] {
            assert!(!same(&with(line), &with(other)), "{line} / {other}");
        }
        // Without N the formatted name is the name.
        let a = card(&["FN:Anna Schmidt", "EMAIL:familie@schmidt.example"]);
        let b = card(&["FN:Anna Schmitt", "EMAIL:familie@schmidt.example"]);
        assert!(!same(&a, &b));
    }

    #[test]
    fn a_field_on_one_side_only_or_spelled_differently_agrees() {
        for (line, other) in [
            ("ORG:Hafen AG", "TITLE:Lotsin"),
            ("BDAY:1980-01-02", "BDAY:19800102"),
            ("BDAY:--0102", "BDAY:1980-01-02"),
            ("ORG:Hafen AG;Lotsen", "ORG:Hafen AG"),
            ("N:Schmidt;Anna;Maria;Dr.;", "NOTE:x"),
            ("NOTE:Line one\\nline two", "NOTE:line one  line TWO"),
            ("TITLE:", "TITLE:Lotsin"),
        ] {
            assert!(same(&with(line), &with(other)), "{line} / {other}");
        }
    }

    #[test]
    fn uid_decides_whatever_the_fields_say() {
        let a = card(&["UID:u-1", "N:Schmidt;Anna;;;", "ORG:Hafen AG"]);
        let b = card(&["UID:u-1", "N:Schmidt;Anna;;;", "ORG:Brauerei GmbH"]);
        let c = card(&["UID:u-2", "N:Schmidt;Anna;;;", "ORG:Hafen AG"]);
        let d = card(&["N:Schmidt;Anna;;;", "ORG:Hafen AG"]);
        assert!(same(&a, &b), "equal UIDs");
        assert!(!same(&a, &c), "different UIDs");
        assert!(same(&a, &d), "one side without UID: the fields decide");
        assert!(!same(&b, &d));
    }

    #[test]
    fn different_names_or_numbers_never_match() {
        let a = card(&["N:Schmidt;Anna;;;", "TEL:+49 170 1111111"]);
        assert!(!same(
            &a,
            &card(&["N:Schmidt;Anne;;;", "TEL:+49 170 1111111"])
        ));
        assert!(!same(
            &a,
            &card(&["N:Schmidt;Anna;;;", "TEL:+49 170 9999999"])
        ));
    }

    #[test]
    fn events_compare_end_place_and_rule() {
        let start = "DTSTART;TZID=Europe/Berlin:20240704T100000";
        let base = event(&[
            "SUMMARY:Team",
            start,
            "DTEND;TZID=Europe/Berlin:20240704T110000",
        ]);
        // Another zone's spelling and a duration for the same hour: one event.
        let spelled = event(&["SUMMARY:team", "DTSTART:20240704T080000Z", "DURATION:PT1H"]);
        assert!(same(&base, &spelled));
        let longer = event(&["SUMMARY:Team", start, "DURATION:PT2H"]);
        assert_eq!(disagreement(&base, &longer, chrono_tz::UTC), Some("DTEND"));
        let a = event(&["SUMMARY:Team", start, "LOCATION:Room 1"]);
        let b = event(&["SUMMARY:Team", start, "LOCATION:Room 2"]);
        assert!(!same(&a, &b));
        let weekly = event(&["SUMMARY:Team", start, "RRULE:FREQ=WEEKLY;BYDAY=TH"]);
        let weekly2 = event(&[
            "SUMMARY:Team",
            start,
            "RRULE:BYDAY=TH;INTERVAL=1;FREQ=WEEKLY",
        ]);
        let daily = event(&["SUMMARY:Team", start, "RRULE:FREQ=DAILY"]);
        assert!(same(&weekly, &weekly2));
        assert!(!same(&weekly, &daily));
        assert!(same(&base, &weekly), "a rule on one side only");
        let later = event(&["SUMMARY:Team", "DTSTART:20240704T090000Z"]);
        assert!(!same(&base, &later));
    }

    #[test]
    fn tasks_compare_due_and_notes_their_text() {
        let t1 = task(&["SUMMARY:Buy milk", "DUE;VALUE=DATE:20240105"]);
        let t2 = task(&["SUMMARY:buy milk", "DUE;VALUE=DATE:20240106"]);
        let t3 = task(&["SUMMARY:Buy milk"]);
        assert!(!same(&t1, &t2));
        assert!(same(&t1, &t3), "a due date on one side only");
        let note = |d: &str| {
            item(&format!("BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nSUMMARY:Idea\r\nDESCRIPTION:{d}\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n"))
        };
        assert!(same(&note("Idea\\nmore"), &note("Idea more")));
        assert!(!same(&note("Idea\\nmore"), &note("Idea\\nless")));
    }
}
