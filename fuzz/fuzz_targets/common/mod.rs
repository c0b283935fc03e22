//! Shared by the conversion targets: the first input byte picks the device settings, so
//! every charset, zone and calendar profile is reached from the same corpus.
#![allow(dead_code)]

use chrono::DateTime;
use syncml_bridge::convert::vcal::{AllDayStyle, CalendarProfile, TimeForm};
use syncml_bridge::convert::{Charset, ConvertOptions, DavVcardVersion};

/// Splits off the selector byte; empty input gives the defaults.
pub fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&sel, rest)) => (sel, rest),
        None => (0, data),
    }
}

/// Conversion options chosen by the bits of `sel`.
pub fn options(sel: u8) -> ConvertOptions {
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or(DateTime::UNIX_EPOCH);
    let charset = match sel & 3 {
        1 => Charset::Latin1,
        2 => Charset::Windows1252,
        _ => Charset::Utf8,
    };
    let tz = match (sel >> 2) & 3 {
        1 => chrono_tz::Europe::Berlin,
        2 => chrono_tz::America::New_York,
        3 => chrono_tz::Australia::Lord_Howe,
        _ => chrono_tz::UTC,
    };
    let mut profile = CalendarProfile::default();
    if sel & 0x10 != 0 {
        profile.time_out = TimeForm::Local;
        profile.send_tz = true;
        profile.tz_in_event = sel & 0x80 != 0;
        profile.treat_as_local = sel & 0x01 != 0;
    } else {
        profile.treat_as_utc = sel & 0x80 != 0;
    }
    profile.all_day = match (sel >> 5) & 3 {
        1 => AllDayStyle::Until2359,
        2 => AllDayStyle::DateOnly,
        3 => AllDayStyle::UtcMidnight24,
        _ => AllDayStyle::Midnight,
    };
    let dav = if sel & 0x40 != 0 {
        DavVcardVersion::V40
    } else {
        DavVcardVersion::V30
    };
    ConvertOptions::new(now)
        .with_charset(charset)
        .with_device_tz(tz)
        .with_qp_non_ascii(sel & 0x20 == 0)
        .with_dav_vcard(dav)
        .with_calendar(profile)
}
