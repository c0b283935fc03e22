//! Any bytes as a plain-text note and as a vNote 1.1 into a VJOURNAL, and back to both:
//! errors are fine, panics are not, and what we write must read back in.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::{self, Format};

fuzz_target!(|data: &[u8]| {
    let (sel, item) = common::split(data);
    let opts = common::options(sel);
    for from in [Format::Text, Format::Vnote] {
        let Ok(dav) = convert::to_dav(from, item, &opts) else {
            continue;
        };
        for to in [Format::Text, Format::Vnote, Format::Sifn] {
            let Ok(out) = convert::from_dav(to, &dav, &opts) else {
                continue;
            };
            if let Err(e) = convert::to_dav(to, &out, &opts) {
                panic!(
                    "our {to} output does not read back: {e}\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
});
