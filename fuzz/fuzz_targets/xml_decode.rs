//! Any bytes through the XML reader and the message facade: errors are fine,
//! panics are not. A message that decodes must also encode in both encodings
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncml_bridge::syncml::{self, xml, Encoding};

fuzz_target!(|data: &[u8]| {
    let _ = xml::parse(data);
    if let Ok(decoded) = syncml::decode(data) {
        let _ = syncml::encode(&decoded.message, Encoding::Xml);
        let _ = syncml::encode(&decoded.message, Encoding::Wbxml);
    }
});
