//! Identity keys for slow-sync matching: "which server items could this device item be?".
//! UID first; then normalised name plus phone digits for contacts, start plus summary for
//! events, the summary for tasks, the text for notes. Whether a candidate really is the
//! same item is [`super::matching::same_item`]'s to say.

use chrono_tz::Tz;

use super::vcal::read_ical_time;
use super::vobject::{split_structured, unescape_text, Component, Dialect};

/// What identifies an item for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchKey {
    pub uid: Option<String>,
    /// The main content key (kind-prefixed, normalised); an index can be built on it.
    pub content: String,
    /// Secondary values of which one must be shared when both sides have some (contact
    /// phone numbers and e-mail addresses; a phone may hold fewer than the server).
    pub extra: Vec<String>,
}

impl MatchKey {
    /// Whether two items are the same: equal UIDs, or (when the UIDs do not contradict)
    /// equal content and at least one shared secondary value.
    pub fn matches(&self, other: &MatchKey) -> bool {
        match (&self.uid, &other.uid) {
            (Some(a), Some(b)) if a == b => return true,
            (Some(_), Some(_)) => return false,
            _ => {}
        }
        if self.content.is_empty() || self.content != other.content {
            return false;
        }
        self.extra.is_empty()
            || other.extra.is_empty()
            || self.extra.iter().any(|e| other.extra.contains(e))
    }
}

/// The match key of a DAV item (VCARD, or VCALENDAR with a VEVENT, VTODO or VJOURNAL).
/// Floating times are read in `zone` (the device's zone).
pub fn match_key(item: &Component, zone: Tz) -> MatchKey {
    if item.name == "VCALENDAR" {
        let main = item
            .components
            .iter()
            .find(|c| c.name != "VTIMEZONE" && c.property("RECURRENCE-ID").is_none());
        return match main {
            Some(c) => calendar_key(c, zone),
            None => MatchKey {
                uid: None,
                content: String::new(),
                extra: Vec::new(),
            },
        };
    }
    if item.name == "VCARD" {
        return contact_key(item);
    }
    calendar_key(item, zone)
}

fn uid_of(c: &Component) -> Option<String> {
    c.value("UID")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

/// Lower-case, unescaped, whitespace collapsed.
pub fn normalize(raw: &str) -> String {
    unescape_text(raw, Dialect::Standard)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn contact_key(card: &Component) -> MatchKey {
    let from_n = card.value("N").map(|n| {
        let f = split_structured(n, Dialect::Standard);
        // given + family: the parts every phone keeps.
        let parts = [f.get(1), f.first()];
        parts
            .iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let name = from_n
        .filter(|s| !s.is_empty())
        .or_else(|| card.value("FN").map(str::to_owned))
        .or_else(|| card.value("ORG").map(|o| o.replace(';', " ")))
        .unwrap_or_default();
    let mut extra: Vec<String> = card
        .properties_named("TEL")
        .map(|p| {
            let digits: String = p.value.chars().filter(char::is_ascii_digit).collect();
            // The last digits survive national/international spelling (+41 44 vs 044).
            let skip = digits.len().saturating_sub(8);
            digits[skip..].to_owned()
        })
        .filter(|d| !d.is_empty())
        .collect();
    extra.extend(
        card.properties_named("EMAIL")
            .map(|p| p.value.trim().to_lowercase())
            .filter(|e| !e.is_empty()),
    );
    extra.sort();
    extra.dedup();
    MatchKey {
        uid: uid_of(card),
        content: format!("C|{}", normalize(&name)),
        extra,
    }
}

fn time_key(c: &Component, name: &str, zone: Tz) -> String {
    let Some(p) = c.property(name) else {
        return String::new();
    };
    match read_ical_time(p, zone) {
        Some(t) if t.is_date() => t.naive().format("%Y%m%d").to_string(),
        Some(t) => t.to_utc(zone).format("%Y%m%dT%H%M%SZ").to_string(),
        None => p.value.trim().to_owned(),
    }
}

fn calendar_key(c: &Component, zone: Tz) -> MatchKey {
    let summary = normalize(c.value("SUMMARY").unwrap_or_default());
    let content = match c.name.as_str() {
        "VEVENT" => format!("E|{}|{}", time_key(c, "DTSTART", zone), summary),
        // The due date is compared by `matching`: a phone may hold a task without one.
        "VTODO" => format!("T|{summary}"),
        "VJOURNAL" => {
            let body = normalize(c.value("DESCRIPTION").unwrap_or_default());
            format!("N|{summary}|{body}")
        }
        other => format!("{other}|{summary}"),
    };
    MatchKey {
        uid: uid_of(c),
        content,
        extra: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::vobject::{parse, ParseOptions};
    use super::*;

    fn item(text: &str) -> Component {
        parse(text.as_bytes(), &ParseOptions::standard()).unwrap()
    }

    #[test]
    fn contacts_match_by_name_and_a_shared_number() {
        let server = item("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nN:Müller;Hans;;Dr.;\r\nTEL:+41 44 123 45 67\r\nTEL:+41 79 000 00 00\r\nEND:VCARD\r\n");
        let phone = item(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:MÜLLER;hans\r\nTEL:044 123 45 67\r\nEND:VCARD\r\n",
        );
        let other = item(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans\r\nTEL:+41 31 999 99 99\r\nEND:VCARD\r\n",
        );
        let k = match_key(&server, chrono_tz::UTC);
        assert!(k.matches(&match_key(&phone, chrono_tz::UTC)));
        assert!(!k.matches(&match_key(&other, chrono_tz::UTC)));
    }

    #[test]
    fn uid_decides_when_both_have_one() {
        let a = item("BEGIN:VCARD\r\nUID:1\r\nFN:A\r\nEND:VCARD\r\n");
        let b = item("BEGIN:VCARD\r\nUID:2\r\nFN:A\r\nEND:VCARD\r\n");
        let c = item("BEGIN:VCARD\r\nUID:1\r\nFN:B\r\nEND:VCARD\r\n");
        let (ka, kb, kc) = (
            match_key(&a, chrono_tz::UTC),
            match_key(&b, chrono_tz::UTC),
            match_key(&c, chrono_tz::UTC),
        );
        assert!(!ka.matches(&kb));
        assert!(ka.matches(&kc));
    }

    #[test]
    fn events_match_by_instant_across_zone_spellings() {
        let server = item("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nSUMMARY:Team  Meeting\r\nDTSTART;TZID=Europe/Berlin:20240704T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let phone = item("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:team meeting\r\nDTSTART:20240704T080000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let later = item("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:team meeting\r\nDTSTART:20240704T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        let k = match_key(&server, chrono_tz::UTC);
        assert!(k.matches(&match_key(&phone, chrono_tz::UTC)));
        assert!(!k.matches(&match_key(&later, chrono_tz::UTC)));
    }

    #[test]
    fn tasks_and_notes() {
        let t1 = item("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:Buy milk\r\nDUE;VALUE=DATE:20240105\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        let t2 = item(
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        );
        assert!(match_key(&t1, chrono_tz::UTC).matches(&match_key(&t2, chrono_tz::UTC)));
        let n1 = item("BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nSUMMARY:Idea\r\nDESCRIPTION:Idea\\nmore\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n");
        let n2 = item("BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nSUMMARY:Idea\r\nDESCRIPTION:Idea more\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n");
        assert!(match_key(&n1, chrono_tz::UTC).matches(&match_key(&n2, chrono_tz::UTC)));
    }
}
