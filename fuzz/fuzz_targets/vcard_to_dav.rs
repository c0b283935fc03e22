//! Any bytes as a vCard 2.1, 3.0 and 4.0 item into the DAV form, and what parsed back out
//! as vCard 2.1, 3.0 and SIF-C: errors are fine, panics are not.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::{self, Format};

fuzz_target!(|data: &[u8]| {
    let (sel, item) = common::split(data);
    let opts = common::options(sel);
    for from in [Format::Vcard21, Format::Vcard30, Format::Vcard40] {
        let Ok(dav) = convert::to_dav(from, item, &opts) else {
            continue;
        };
        let dav_text = convert::dav_bytes(&dav);
        if let Err(e) = convert::vcard::parse_dav(&dav_text) {
            panic!(
                "our DAV vCard does not parse: {e}\n{}",
                String::from_utf8_lossy(&dav_text)
            );
        }
        for to in [Format::Vcard21, Format::Vcard30, Format::Sifc] {
            let Ok(out) = convert::from_dav(to, &dav, &opts) else {
                continue;
            };
            // What we write for a phone must read back in.
            if let Err(e) = convert::to_dav(to, &out, &opts) {
                panic!(
                    "our {to} output does not read back: {e}\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
});
