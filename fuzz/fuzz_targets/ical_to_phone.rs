//! Any bytes as a DAV iCalendar resource out to every phone calendar and note format
//! (vCalendar 1.0, SIF-E, SIF-T, text, vNote, SIF-N): errors are fine, panics are not.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::{self, matchkey, Format};

fuzz_target!(|data: &[u8]| {
    let (sel, item) = common::split(data);
    let opts = common::options(sel);
    let Ok(cal) = convert::parse_ical(item) else {
        return;
    };
    let _ = matchkey::match_key(&cal, opts.device_tz);
    for to in [
        Format::Vcal10,
        Format::Sife,
        Format::Sift,
        Format::Text,
        Format::Vnote,
        Format::Sifn,
    ] {
        if let Ok(out) = convert::from_dav(to, &cal, &opts) {
            let _ = convert::to_dav(to, &out, &opts);
        }
    }
});
