//! Any bytes as a vCalendar 1.0 item into iCalendar, and back to vCalendar 1.0: errors are
//! fine, panics are not, and what we write must read back in.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::{self, Format};

fuzz_target!(|data: &[u8]| {
    let (sel, item) = common::split(data);
    let opts = common::options(sel);
    let Ok(dav) = convert::to_dav(Format::Vcal10, item, &opts) else {
        return;
    };
    let dav_text = convert::dav_bytes(&dav);
    if let Err(e) = convert::parse_ical(&dav_text) {
        panic!(
            "our iCalendar does not parse: {e}\n{}",
            String::from_utf8_lossy(&dav_text)
        );
    }
    if let Ok(out) = convert::from_dav(Format::Vcal10, &dav, &opts) {
        let _ = convert::to_dav(Format::Vcal10, &out, &opts);
    }
});
