//! Any bytes as SIF-C, SIF-E, SIF-T and SIF-N (plain XML and base64) into the DAV form,
//! and back: errors are fine, panics are not, and what we write must read back in.
#![no_main]

mod common;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::{self, Format};

fuzz_target!(|data: &[u8]| {
    let (sel, item) = common::split(data);
    let opts = common::options(sel);
    let b64 = base64::engine::general_purpose::STANDARD.encode(item);
    for format in [Format::Sifc, Format::Sife, Format::Sift, Format::Sifn] {
        for input in [item, b64.as_bytes()] {
            let Ok(dav) = convert::to_dav(format, input, &opts) else {
                continue;
            };
            let Ok(out) = convert::from_dav(format, &dav, &opts) else {
                continue;
            };
            if let Err(e) = convert::to_dav(format, &out, &opts) {
                panic!(
                    "our {format} output does not read back: {e}\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
});
