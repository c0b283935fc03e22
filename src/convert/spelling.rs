//! One value, many spellings: base64 with or without line breaks or as a `data:` URI,
//! `+41 44 123 45 67` and `044 123 45 67`, `1980-01-02` and `19800102`, a time in UTC
//! and the same instant in a named zone. The merge keeps the server's spelling whenever
//! the device's value says the same thing.

use base64::Engine as _;

use super::vcal::read_ical_time;
use super::vobject::Property;

/// Date-time properties of calendar items.
pub const TIMES: &[&str] = &[
    "DTSTART",
    "DTEND",
    "DUE",
    "COMPLETED",
    "RECURRENCE-ID",
    "EXDATE",
    "RDATE",
];

/// The bytes of a binary value (`ENCODING=b`/`BASE64`, or a `data:...;base64,` URI);
/// `None` for any other value.
pub fn binary_payload(p: &Property) -> Option<Vec<u8>> {
    let text = if p.is_binary() {
        p.value.as_str()
    } else {
        let rest = p.value.trim().strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        if !meta.ends_with(";base64") {
            return Some(data.as_bytes().to_vec());
        }
        data
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    // Undecodable data is compared as the text it is.
    Some(
        engine
            .decode(&compact)
            .unwrap_or_else(|_| compact.into_bytes()),
    )
}

/// Phone numbers as [`super::merge::phone_digits`] gives them: equal, or one in national
/// form (`0` + area) and the other international (`+` or `00` + country + area).
pub fn same_number(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let international = |d: &str| {
        d.strip_prefix('+')
            .or_else(|| d.strip_prefix("00"))
            .map(str::to_owned)
    };
    let national = |d: &str| {
        d.strip_prefix('0')
            .filter(|rest| !rest.starts_with('0') && rest.len() >= 6)
            .map(str::to_owned)
    };
    let one_way = |x: &str, y: &str| match (international(x), national(y)) {
        (Some(full), Some(local)) => full.ends_with(&local) && full.len() - local.len() <= 3,
        _ => false,
    };
    one_way(a, b) || one_way(b, a)
}

/// Dates with or without dashes, and a date-time's date part kept as written.
pub fn same_date(a: &str, b: &str) -> bool {
    let digits = |v: &str| -> String {
        let v = v.trim();
        if v.contains('T') {
            return v.replace(['-', ':'], "");
        }
        v.chars().filter(char::is_ascii_digit).collect()
    };
    digits(a) == digits(b)
}

/// Two date-times that name the same instant (UTC and a zone's wall time), the same
/// floating wall time, or the same date. Floating against zoned is never the same: the
/// device's zone is not known here.
pub fn same_time(a: &Property, b: &Property) -> bool {
    use super::timezone::CalTime;
    let (Some(x), Some(y)) = (
        read_ical_time(a, chrono_tz::UTC),
        read_ical_time(b, chrono_tz::UTC),
    ) else {
        return a.value.trim() == b.value.trim();
    };
    // Lists (EXDATE, RDATE) are compared by their first value and their length.
    if a.value.split(',').count() != b.value.split(',').count() {
        return false;
    }
    if a.value.contains(',') && a.value.trim() != b.value.trim() {
        return false;
    }
    match (x, y) {
        (CalTime::Date(d), CalTime::Date(e)) => d == e,
        (CalTime::Floating(s), CalTime::Floating(t)) => s == t,
        (CalTime::Utc(_) | CalTime::Zoned(..), CalTime::Utc(_) | CalTime::Zoned(..)) => {
            x.to_utc(chrono_tz::UTC) == y.to_utc(chrono_tz::UTC)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_data_however_encoded() {
        let b = Property::new("PHOTO", "AAEC\r\n AwQ=").with_param("ENCODING", "b");
        let b64 = Property::new("PHOTO", "AAECAwQ").with_param("ENCODING", "BASE64");
        let uri = Property::new("PHOTO", "data:image/jpeg;base64,AAECAwQ=");
        let other = Property::new("PHOTO", "AAECAwU=").with_param("ENCODING", "b");
        assert_eq!(binary_payload(&b), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(binary_payload(&b64), binary_payload(&b));
        assert_eq!(binary_payload(&uri), binary_payload(&b));
        assert_ne!(binary_payload(&other), binary_payload(&b));
        assert_eq!(binary_payload(&Property::new("NOTE", "AAEC")), None);
    }

    #[test]
    fn numbers_national_and_international() {
        assert!(same_number("+41441234567", "0441234567"));
        assert!(same_number("0041441234567", "0441234567"));
        assert!(same_number("0441234567", "+41441234567"));
        assert!(!same_number("+41441234567", "0441234568"));
        assert!(!same_number("+41441234567", "0449999999"));
        assert!(!same_number("123", "0123"));
    }

    #[test]
    fn dates_and_times() {
        assert!(same_date("1980-01-02", "19800102"));
        assert!(!same_date("1980-01-02", "19800103"));
        let t = |v: &str, tz: Option<&str>| {
            let p = Property::new("DTSTART", v);
            match tz {
                Some(z) => p.with_param("TZID", z),
                None => p,
            }
        };
        let berlin = t("20240704T100000", Some("Europe/Berlin"));
        assert!(same_time(&berlin, &t("20240704T080000Z", None)));
        assert!(!same_time(&berlin, &t("20240704T100000Z", None)));
        assert!(!same_time(&berlin, &t("20240704T100000", None)));
        assert!(same_time(&t("20240704", None), &t("2024-07-04", None)));
    }
}
