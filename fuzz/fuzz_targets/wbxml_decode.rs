//! Any bytes: decoding never panics, and whatever decodes must encode and decode
//! again to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncml_bridge::syncml::wbxml::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = decode(data) else {
        return;
    };
    let bytes = match encode(&doc) {
        Ok(b) => b,
        Err(e) => panic!("a decoded document does not encode: {e}\n{doc:?}"),
    };
    match decode(&bytes) {
        Ok(again) => {
            assert_eq!(again.public_id, doc.public_id);
            assert_eq!(again.root, doc.root);
        }
        Err(e) => panic!("our own encoding does not decode: {e}\n{doc:?}"),
    }
});
