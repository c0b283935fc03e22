//! Any bytes through the content-line parser in both dialects: errors are fine, panics are
//! not. A tree that parses must write, and what we write must parse again to a tree with
//! the same shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syncml_bridge::convert::vobject::{
    self, Charset, Component, Dialect, ParseOptions, WriteOptions,
};

fn shape(c: &Component) -> (String, Vec<String>, usize) {
    (
        c.name.clone(),
        c.properties.iter().map(|p| p.name.clone()).collect(),
        c.components.len(),
    )
}

fn check(data: &[u8], parse: &ParseOptions, write: &WriteOptions) {
    let Ok(tree) = vobject::parse(data, parse) else {
        return;
    };
    let bytes = vobject::write(&tree, write);
    match vobject::parse(&bytes, parse) {
        Ok(again) => assert_eq!(
            shape(&again),
            shape(&tree),
            "{}",
            String::from_utf8_lossy(&bytes)
        ),
        Err(e) => panic!(
            "our own output does not parse: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, &ParseOptions::standard(), &WriteOptions::standard());
    for charset in [Charset::Utf8, Charset::Latin1, Charset::Windows1252] {
        check(
            data,
            &ParseOptions::old(charset),
            &WriteOptions::old(charset),
        );
    }
    let _ = vobject::parse_all(data, &ParseOptions::detect(Dialect::Old, Charset::Latin1));
    let _ = vobject::decode_qp(data);
    if let Ok(text) = std::str::from_utf8(data) {
        for dialect in [Dialect::Old, Dialect::Standard] {
            let _ = vobject::unescape_text(text, dialect);
            let _ = vobject::split_structured(text, dialect);
            // Line ends are written as `\n`: a CR does not survive, by design.
            if !text.contains('\r') {
                let escaped = vobject::escape_text(text, dialect);
                assert_eq!(vobject::unescape_text(&escaped, dialect), text);
            }
        }
    }
});
