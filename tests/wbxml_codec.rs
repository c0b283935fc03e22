//! The WBXML codec against hand-checked bytes, round trips and malformed input.

use syncml_bridge::syncml::tree::{Element, Node, Ns};
use syncml_bridge::syncml::wbxml::{
    decode, encode, public_ids, PublicId, WbxmlDocument, WbxmlError, MAX_DEPTH,
};

fn el(name: &str, ns: Ns, children: Vec<Node>) -> Node {
    Node::Element(Element {
        name: name.into(),
        ns,
        children,
    })
}
fn s(name: &str, children: Vec<Node>) -> Node {
    el(name, Ns::SyncMl, children)
}
fn m(name: &str, children: Vec<Node>) -> Node {
    el(name, Ns::MetInf, children)
}
fn d(name: &str, children: Vec<Node>) -> Node {
    el(name, Ns::DevInf, children)
}
fn t(text: &str) -> Node {
    Node::Text(text.into())
}
fn st(name: &str, text: &str) -> Node {
    s(name, vec![t(text)])
}
fn root(n: Node) -> Element {
    match n {
        Node::Element(e) => e,
        _ => panic!("not an element"),
    }
}
fn doc(public_id: PublicId, n: Node) -> WbxmlDocument {
    WbxmlDocument {
        version: 2,
        public_id,
        charset: 106,
        root: root(n),
    }
}
fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
fn loc(name: &str, uri: &str) -> Node {
    s(name, vec![st("LocURI", uri)])
}

/// The worked example of wbxml.md §8 as a tree.
fn guide_example() -> Node {
    s(
        "SyncML",
        vec![
            s(
                "SyncHdr",
                vec![
                    st("VerDTD", "1.1"),
                    st("VerProto", "SyncML/1.1"),
                    st("SessionID", "1"),
                    st("MsgID", "1"),
                    loc("Target", "http://s/"),
                    loc("Source", "IMEI:1"),
                ],
            ),
            s(
                "SyncBody",
                vec![
                    s(
                        "Alert",
                        vec![
                            st("CmdID", "1"),
                            st("Data", "200"),
                            s(
                                "Item",
                                vec![
                                    loc("Target", "card"),
                                    loc("Source", "./C"),
                                    s(
                                        "Meta",
                                        vec![m(
                                            "Anchor",
                                            vec![m("Last", vec![t("1")]), m("Next", vec![t("2")])],
                                        )],
                                    ),
                                ],
                            ),
                        ],
                    ),
                    s("Final", vec![]),
                ],
            ),
        ],
    )
}

const GUIDE_EXAMPLE_HEX: &str = "
029f536a006d6c7103312e3100017203
53796e634d4c2f312e31000165033100
015b033100016e5703687474703a2f2f
732f000101675703494d45493a310001
01016b464b033100014f033230300001
546e5703636172640001016757032e2f
430001015a0001454a033100014f0332
0001010101010000120101";

#[test]
fn guide_example_encodes_byte_exact() {
    let bytes = encode(&doc(
        PublicId::Numeric(public_ids::SYNCML_11),
        guide_example(),
    ))
    .unwrap();
    assert_eq!(bytes.len(), 123);
    assert_eq!(bytes, hex(GUIDE_EXAMPLE_HEX));
}

#[test]
fn guide_example_decodes_to_the_tree() {
    let got = decode(&hex(GUIDE_EXAMPLE_HEX)).unwrap();
    assert_eq!(got, doc(PublicId::Numeric(0x0FD3), guide_example()));
}

#[test]
fn string_table_public_id_both_ways() {
    let fpi = "-//SYNCML//DTD SyncML 1.1//EN";
    let mut bytes = hex("02 00 00 6A 1D");
    bytes.extend_from_slice(fpi.as_bytes());
    bytes.extend_from_slice(&hex(GUIDE_EXAMPLE_HEX)[5..]);
    let got = decode(&bytes).unwrap();
    assert_eq!(got.public_id, PublicId::Fpi(fpi.into()));
    assert_eq!(got.root, root(guide_example()));
    // The encoder writes the Toolkit's form: no NUL after a lone FPI.
    assert_eq!(encode(&got).unwrap(), bytes);
}

#[test]
fn fpi_of_syncml_1_0_selects_the_syncml_tables() {
    let fpi = "-//SYNCML//DTD SyncML 1.0//EN";
    let mut bytes = hex("02 00 00 6A 1E");
    bytes.extend_from_slice(fpi.as_bytes());
    bytes.push(0);
    // <SyncML><SyncBody><Final/></SyncBody></SyncML>
    bytes.extend_from_slice(&hex("6D 6B 12 01 01"));
    let got = decode(&bytes).unwrap();
    assert_eq!(
        got.root,
        root(s("SyncML", vec![s("SyncBody", vec![s("Final", vec![])])]))
    );
}

#[test]
fn str_t_references_read_from_the_string_table() {
    // String table "card\0./C\0"; LocURI texts by STR_T at offsets 0 and 5, the
    // second one pointing into the middle of an entry ("C").
    let bytes = hex("03 A4 01 6A 09 63 61 72 64 00 2E 2F 43 00
         6D 6B 46 54 6E 57 83 00 01 01 67 57 83 07 01 01 01 01 01 01");
    let got = decode(&bytes).unwrap();
    assert_eq!(got.version, 3);
    assert_eq!(got.public_id, PublicId::Numeric(public_ids::SYNCML_12));
    let want = s(
        "SyncML",
        vec![s(
            "SyncBody",
            vec![s(
                "Alert",
                vec![s("Item", vec![loc("Target", "card"), loc("Source", "C")])],
            )],
        )],
    );
    assert_eq!(got.root, root(want));
}

#[test]
fn text_pieces_and_entities_join_into_one_text_node() {
    // <SyncML><SyncBody><Data>"a" &#x263A; "b" STR_T"c"</Data>...
    let bytes = hex("02 A4 01 6A 02 63 00 6D 6B 4F 03 61 00 02 CC 3A 03 62 00 83 00 01 01 01");
    let got = decode(&bytes).unwrap();
    let data = got.root.child("SyncBody").unwrap().child("Data").unwrap();
    assert_eq!(data.children, vec![t("a\u{263A}bc")]);
}

#[test]
fn lazy_and_eager_page_switching_decode_alike() {
    // Meta/Anchor on page 1, then CmdID on page 0 inside the same Alert.
    // libwbxml switches back right before CmdID (lazy); the Toolkit right after
    // the MetInf element closes (eager). Both must give the same tree.
    let lazy = hex(
        "02 A4 01 6A 00 6D 6B 46 5A 00 01 45 4A 03 31 00 01 01 01 00 00 4B 03 32 00 01 01 01 01",
    );
    let eager = hex(
        "02 A4 01 6A 00 6D 6B 46 5A 00 01 45 4A 03 31 00 01 01 00 00 01 4B 03 32 00 01 01 01 01",
    );
    let want = s(
        "SyncML",
        vec![s(
            "SyncBody",
            vec![s(
                "Alert",
                vec![
                    s("Meta", vec![m("Anchor", vec![m("Last", vec![t("1")])])]),
                    st("CmdID", "2"),
                ],
            )],
        )],
    );
    let want = doc(PublicId::Numeric(public_ids::SYNCML_12), want);
    assert_eq!(decode(&lazy).unwrap(), want);
    assert_eq!(decode(&eager).unwrap(), want);
    // We write the lazy form.
    assert_eq!(encode(&want).unwrap(), lazy);
}

#[test]
fn end_does_not_reset_the_code_page() {
    // After </Anchor></Meta> with page 1 still active, 0x0F is Next, not Data.
    let bytes = hex("02 A4 01 6A 00 6D 5A 00 01 45 01 01 4F 03 32 00 01 01");
    let got = decode(&bytes).unwrap();
    let names: Vec<_> = got
        .root
        .elements()
        .map(|e| (e.name.as_str(), e.ns.clone()))
        .collect();
    assert_eq!(names, [("Meta", Ns::SyncMl), ("Next", Ns::MetInf)]);
}

#[test]
fn empty_element_in_both_forms() {
    let bare = decode(&hex("02 A4 01 6A 00 6D 6B 12 01 01")).unwrap();
    let with_end = decode(&hex("02 A4 01 6A 00 6D 6B 52 01 01 01")).unwrap();
    assert_eq!(bare, with_end);
    assert_eq!(
        encode(&with_end).unwrap(),
        hex("02 A4 01 6A 00 6D 6B 12 01 01")
    );
}

#[test]
fn attributes_pi_and_extension_tokens_are_skipped() {
    // PI before the root; <SyncML> with attributes (attr start 0x05, STR_I value,
    // attribute page switch that must not touch the tag page, END); EXT_I_0,
    // EXT_T_1, EXT_2 in content; a PI inside; a PI after the root.
    let bytes = hex("02 A4 01 6A 00
         43 05 03 78 00 01
         ED 05 03 76 00 00 07 85 01
         40 61 00 81 05 C2 43 06 01
         6B 12 01 01
         43 07 01");
    let got = decode(&bytes).unwrap();
    assert_eq!(
        got.root,
        root(s("SyncML", vec![s("SyncBody", vec![s("Final", vec![])])]))
    );
}

#[test]
fn literal_tags_keep_their_name_and_round_trip() {
    // String table "X-Foo\0"; <SyncML><X-Foo>"v"</X-Foo></SyncML> via LITERAL_C.
    let bytes = hex("02 A4 01 6A 06 58 2D 46 6F 6F 00 6D 44 00 03 76 00 01 01");
    let got = decode(&bytes).unwrap();
    let want = s(
        "SyncML",
        vec![el("X-Foo", Ns::Other(String::new()), vec![t("v")])],
    );
    assert_eq!(got.root, root(want));
    assert_eq!(encode(&got).unwrap(), bytes);
}

#[test]
fn opaque_and_text_with_nul() {
    let tree = s(
        "SyncML",
        vec![s(
            "SyncBody",
            vec![
                s("Data", vec![Node::Opaque(vec![0, 1, 2, 0xFF])]),
                st("Data", "a\0b"),
            ],
        )],
    );
    let bytes = encode(&doc(PublicId::Numeric(public_ids::SYNCML_12), tree)).unwrap();
    assert_eq!(
        bytes,
        hex("02 A4 01 6A 00 6D 6B 4F C3 04 00 01 02 FF 01 4F C3 03 61 00 62 01 01 01")
    );
    let back = decode(&bytes).unwrap();
    let datas: Vec<_> = back
        .root
        .child("SyncBody")
        .unwrap()
        .children_named("Data")
        .collect();
    assert_eq!(datas[0].children, vec![Node::Opaque(vec![0, 1, 2, 0xFF])]);
    assert_eq!(datas[1].children, vec![Node::Opaque(b"a\0b".to_vec())]);
}

#[test]
fn latin1_charset_is_decoded() {
    // charset 4 = ISO-8859-1; "Müller" with ü as 0xFC.
    let bytes = hex("02 A4 01 04 00 6D 4F 03 4D FC 6C 6C 65 72 00 01 01");
    let got = decode(&bytes).unwrap();
    assert_eq!(got.charset, 4);
    assert_eq!(
        got.root.child("Data").unwrap().text().as_deref(),
        Some("Müller")
    );
    // Re-encoded as UTF-8.
    let out = encode(&got).unwrap();
    assert_eq!(&out[3..4], &[0x6A]);
    assert_eq!(decode(&out).unwrap().root, got.root);
}

fn devinf_12() -> Node {
    d(
        "DevInf",
        vec![
            d("VerDTD", vec![t("1.2")]),
            d("Man", vec![t("Nokia")]),
            d("Mod", vec![t("6280")]),
            d("DevID", vec![t("IMEI:3")]),
            d("DevTyp", vec![t("phone")]),
            d("UTC", vec![]),
            d("SupportLargeObjs", vec![]),
            d(
                "DataStore",
                vec![
                    d("SourceRef", vec![t("./C")]),
                    d("MaxGUIDSize", vec![t("8")]),
                    d(
                        "Rx-Pref",
                        vec![
                            d("CTType", vec![t("text/x-vcard")]),
                            d("VerCT", vec![t("2.1")]),
                        ],
                    ),
                    d(
                        "SyncCap",
                        vec![d("SyncType", vec![t("1")]), d("SyncType", vec![t("7")])],
                    ),
                ],
            ),
            d(
                "CTCap",
                vec![
                    d("CTType", vec![t("text/x-vcard")]),
                    d(
                        "Property",
                        vec![
                            d("PropName", vec![t("N")]),
                            d("MaxSize", vec![t("50")]),
                            d("NoTruncate", vec![]),
                        ],
                    ),
                ],
            ),
        ],
    )
}

#[test]
fn devinf_document_round_trips_and_nests_as_opaque() {
    let dev = doc(PublicId::Numeric(public_ids::DEVINF_12), devinf_12());
    let dev_bytes = encode(&dev).unwrap();
    assert_eq!(&dev_bytes[..5], &hex("02 A4 03 6A 00"));
    assert_eq!(dev_bytes[5], 0x4A, "DevInf root is token 0x0A with content");
    assert_eq!(decode(&dev_bytes).unwrap(), dev);

    // Inside a SyncML Put the DevInf document travels as OPAQUE.
    let put = s(
        "SyncML",
        vec![s(
            "SyncBody",
            vec![s(
                "Put",
                vec![
                    st("CmdID", "1"),
                    s(
                        "Meta",
                        vec![m("Type", vec![t("application/vnd.syncml-devinf+wbxml")])],
                    ),
                    s(
                        "Item",
                        vec![
                            loc("Source", "./devinf12"),
                            s("Data", vec![Node::Opaque(dev_bytes)]),
                        ],
                    ),
                ],
            )],
        )],
    );
    let msg = doc(PublicId::Numeric(public_ids::SYNCML_12), put);
    let back = decode(&encode(&msg).unwrap()).unwrap();
    assert_eq!(back, msg);
    let data = back
        .root
        .child("SyncBody")
        .unwrap()
        .child("Put")
        .unwrap()
        .child("Item")
        .unwrap()
        .child("Data")
        .unwrap();
    let Node::Opaque(inner) = &data.children[0] else {
        panic!("Data is not opaque: {data:?}")
    };
    assert_eq!(decode(inner).unwrap(), dev);
}

#[test]
fn devinf_size_token_is_named_by_version() {
    // The same bytes: 0x1C is Size in DevInf 1.1 and MaxSize in 1.2.
    let body = hex("4A 5C 03 35 00 01 01");
    let with_id = |id: &str| {
        let mut b = hex(id);
        b.extend_from_slice(&body);
        decode(&b)
            .unwrap()
            .root
            .elements()
            .next()
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(with_id("02 9F 54 6A 00"), "Size");
    assert_eq!(with_id("02 A4 03 6A 00"), "MaxSize");
    // Unknown public id: the document's own VerDTD decides.
    let unknown = hex("02 01 6A 00 4A 65 03 31 2E 31 00 01 5C 03 35 00 01 01");
    let got = decode(&unknown).unwrap();
    assert_eq!(got.root.name, "DevInf");
    assert_eq!(got.root.elements().nth(1).unwrap().name, "Size");
    // Both names encode to 0x1C.
    let size11 = doc(
        PublicId::Numeric(public_ids::DEVINF_11),
        d("DevInf", vec![d("Size", vec![t("5")])]),
    );
    assert_eq!(&encode(&size11).unwrap()[5..], &body[..]);
}

#[test]
fn unknown_public_id_detects_the_document_from_the_root_tag() {
    let got = decode(&hex("02 01 6A 00 6D 6B 12 01 01")).unwrap();
    assert_eq!(got.public_id, PublicId::Numeric(public_ids::UNKNOWN));
    assert_eq!(got.root.name, "SyncML");
    assert_eq!(encode(&got).unwrap(), hex("02 01 6A 00 6D 6B 12 01 01"));
    let err = decode(&hex("02 01 6A 00 46 01")).unwrap_err();
    assert!(
        matches!(err, WbxmlError::UnknownDocument { offset: 4, .. }),
        "{err}"
    );
}

#[test]
fn round_trips_over_many_shapes() {
    let ids = [
        PublicId::Numeric(public_ids::SYNCML_10),
        PublicId::Numeric(public_ids::SYNCML_11),
        PublicId::Numeric(public_ids::SYNCML_12),
        PublicId::Fpi("-//SYNCML//DTD SyncML 1.0//EN".into()),
        PublicId::Fpi("-//SYNCML//DTD SyncML 1.2//EN".into()),
        PublicId::Numeric(public_ids::UNKNOWN),
    ];
    let bodies = vec![
        guide_example(),
        s("SyncML", vec![]),
        s("SyncML", vec![s("SyncBody", vec![s("Final", vec![])])]),
        // Text, opaque and elements mixed in one element.
        s(
            "SyncML",
            vec![s(
                "Data",
                vec![t("x"), Node::Opaque(vec![9]), st("Cmd", "y"), t("z")],
            )],
        ),
        // Unicode text, empty text, a long text (length > 127 exercises nothing
        // in STR_I but does in OPAQUE).
        s(
            "SyncML",
            vec![
                st("Data", "Grüße ☺ 日本"),
                st("LocName", ""),
                s("Data", vec![Node::Opaque(vec![b'q'; 300])]),
            ],
        ),
        // Every 1.1/1.2 addition and MetInf on page 1 several times in a row.
        s(
            "SyncML",
            vec![s(
                "SyncBody",
                vec![s(
                    "Sync",
                    vec![
                        st("NumberOfChanges", "3"),
                        s(
                            "Move",
                            vec![s(
                                "Item",
                                vec![
                                    loc("SourceParent", "p"),
                                    loc("TargetParent", "q"),
                                    s("MoreData", vec![]),
                                ],
                            )],
                        ),
                        s(
                            "Meta",
                            vec![m("MaxObjSize", vec![t("4000")]), m("FieldLevel", vec![])],
                        ),
                        s(
                            "Meta",
                            vec![m(
                                "Mem",
                                vec![m("FreeMem", vec![t("1")]), m("FreeID", vec![t("2")])],
                            )],
                        ),
                        st("Correlator", "c"),
                        s(
                            "Filter",
                            vec![
                                s("Record", vec![s("Item", vec![])]),
                                st("FilterType", "INCLUSIVE"),
                                s("Field", vec![]),
                            ],
                        ),
                    ],
                )],
            )],
        ),
        // Literal tags with and without content next to known ones.
        s(
            "SyncML",
            vec![
                el("X-A", Ns::Other(String::new()), vec![t("1")]),
                el("X-B", Ns::Other(String::new()), vec![]),
                s("Final", vec![]),
            ],
        ),
        // Deepest nesting accepted: SyncML, MAX_DEPTH - 2 Sequences, Final.
        s(
            "SyncML",
            vec![(2..MAX_DEPTH).fold(s("Final", vec![]), |acc, _| s("Sequence", vec![acc]))],
        ),
    ];
    for id in &ids {
        for body in &bodies {
            let original = doc(id.clone(), body.clone());
            let bytes = encode(&original).unwrap();
            let back = decode(&bytes).unwrap_or_else(|e| panic!("{e} for {original:?}"));
            assert_eq!(back, original);
            assert_eq!(encode(&back).unwrap(), bytes);
        }
    }
}

#[test]
fn encoder_names_the_element_without_a_token() {
    let tree = s("SyncML", vec![s("Bogus", vec![])]);
    let err = encode(&doc(PublicId::Numeric(public_ids::SYNCML_12), tree)).unwrap_err();
    assert!(
        matches!(&err, WbxmlError::NoToken { name, .. } if name == "Bogus"),
        "{err}"
    );
    assert!(err.to_string().contains("Bogus"));
    // A DevInf element directly inside a SyncML document has no token either.
    let tree = s("SyncML", vec![d("DevInf", vec![])]);
    let err = encode(&doc(PublicId::Numeric(public_ids::SYNCML_12), tree)).unwrap_err();
    assert!(
        matches!(&err, WbxmlError::NoToken { name, .. } if name == "DevInf"),
        "{err}"
    );
    let too_deep = (0..MAX_DEPTH).fold(s("Final", vec![]), |acc, _| s("Sequence", vec![acc]));
    let err = encode(&doc(PublicId::Numeric(public_ids::SYNCML_12), too_deep)).unwrap_err();
    assert!(matches!(err, WbxmlError::EncodeTooDeep { .. }), "{err}");
}

#[test]
fn malformed_input_gives_typed_errors_with_offsets() {
    let cases: Vec<(&str, WbxmlError)> = vec![
        (
            "",
            WbxmlError::Truncated {
                offset: 0,
                what: "version",
            },
        ),
        (
            "05 A4 01 6A 00",
            WbxmlError::UnsupportedVersion { version: 5 },
        ),
        (
            "02 FF FF FF FF 7F",
            WbxmlError::IntegerOverflow { offset: 1 },
        ),
        (
            "02 A4 01 6A 05 61",
            WbxmlError::Truncated {
                offset: 6,
                what: "string table",
            },
        ),
        (
            "02 A4 01 8F 7F 00 6D 01",
            WbxmlError::UnsupportedCharset { mib: 0x7FF },
        ),
        ("02 A4 01 6A 00", WbxmlError::NoRoot { offset: 5 }),
        (
            "02 A4 01 6A 00 6D 6B",
            WbxmlError::Truncated {
                offset: 7,
                what: "element content",
            },
        ),
        (
            "02 A4 01 6A 00 6D 03 61 62",
            WbxmlError::Truncated {
                offset: 9,
                what: "inline string",
            },
        ),
        (
            "02 A4 01 6A 02 61 00 6D 83 05 01",
            WbxmlError::BadStringRef {
                offset: 9,
                index: 5,
                len: 2,
            },
        ),
        (
            "02 A4 01 6A 00 6D 83 00 01",
            WbxmlError::BadStringRef {
                offset: 7,
                index: 0,
                len: 0,
            },
        ),
        (
            "02 00 03 6A 00 6D 01",
            WbxmlError::BadStringRef {
                offset: 2,
                index: 3,
                len: 0,
            },
        ),
        (
            "02 A4 01 6A 00 6D C3 05 61 01",
            WbxmlError::Truncated {
                offset: 10,
                what: "opaque data",
            },
        ),
        (
            "02 A4 01 6A 00 6D 3F 01",
            WbxmlError::UnknownTag {
                offset: 6,
                page: 0,
                token: 0x3F,
                document: "SyncML",
            },
        ),
        (
            "02 A4 01 6A 00 6D 00 01 30 01",
            WbxmlError::UnknownTag {
                offset: 8,
                page: 1,
                token: 0x30,
                document: "SyncML",
            },
        ),
        (
            "02 A4 01 6A 00 6D 00 07 05 01",
            WbxmlError::UnknownTag {
                offset: 8,
                page: 7,
                token: 0x05,
                document: "SyncML",
            },
        ),
        (
            "02 A4 03 6A 00 4A 2F 01",
            WbxmlError::UnknownTag {
                offset: 6,
                page: 0,
                token: 0x2F,
                document: "DevInf",
            },
        ),
        (
            "02 A4 01 6A 00 6D 02 00 01",
            WbxmlError::InvalidEntity { offset: 6, code: 0 },
        ),
        (
            "02 A4 01 6A 00 6D 02 83 B0 00 01",
            WbxmlError::InvalidEntity {
                offset: 6,
                code: 0xD800,
            },
        ),
        (
            "02 A4 01 6A 00 6D 03 FF 00 01",
            WbxmlError::InvalidText {
                offset: 7,
                mib: 106,
            },
        ),
        (
            "02 A4 01 6A 00 01",
            WbxmlError::UnexpectedByte {
                offset: 5,
                byte: 1,
                context: "before the root element",
            },
        ),
        (
            "02 A4 01 6A 00 12 12",
            WbxmlError::TrailingBytes {
                offset: 6,
                count: 1,
            },
        ),
        (
            "02 A4 01 6A 00 ED 05",
            WbxmlError::Truncated {
                offset: 7,
                what: "attributes",
            },
        ),
        (
            "02 A4 01 6A 00 44 07 01",
            WbxmlError::BadStringRef {
                offset: 6,
                index: 7,
                len: 0,
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(decode(&hex(input)), Err(want), "input {input}");
    }
}

#[test]
fn depth_element_count_and_expansion_are_bounded() {
    let mut deep = hex("02 A4 01 6A 00");
    deep.extend(std::iter::repeat_n(0x64, MAX_DEPTH + 1));
    let err = decode(&deep).unwrap_err();
    assert_eq!(
        err,
        WbxmlError::TooDeep {
            offset: 5 + MAX_DEPTH,
            limit: MAX_DEPTH
        }
    );

    // One 1000-byte string table entry referenced 40,000 times is 40 MB of text.
    let mut bomb = hex("02 A4 01 6A 87 69");
    bomb.extend(std::iter::repeat_n(b'a', 1000));
    bomb.push(0);
    bomb.push(0x6D);
    for _ in 0..40_000 {
        bomb.extend_from_slice(&[0x83, 0x00]);
    }
    bomb.push(0x01);
    let err = decode(&bomb).unwrap_err();
    assert!(matches!(err, WbxmlError::TextTooLarge { .. }), "{err}");

    let mut many = hex("02 A4 01 6A 00 6D");
    many.extend(std::iter::repeat_n(
        0x12,
        syncml_bridge::syncml::wbxml::MAX_ELEMENTS,
    ));
    many.push(0x01);
    let err = decode(&many).unwrap_err();
    assert!(matches!(err, WbxmlError::TooManyElements { .. }), "{err}");
}

/// Referenced text may grow to twice the input plus 64 KiB, not to the absolute cap.
#[test]
fn string_table_expansion_is_bounded_by_the_input_size() {
    let doc = |refs: usize| {
        let mut bytes = hex("02 A4 01 6A 87 69");
        bytes.extend(std::iter::repeat_n(b'a', 1000));
        bytes.push(0);
        bytes.push(0x6D);
        for _ in 0..refs {
            bytes.extend_from_slice(&[0x83, 0x00]);
        }
        bytes.push(0x01);
        bytes
    };
    let within = doc(40);
    assert_eq!(
        decode(&within).unwrap().root.text().map(|t| t.len()),
        Some(40_000)
    );
    let beyond = doc(70);
    let limit = beyond.len() * syncml_bridge::syncml::wbxml::EXPANSION_PER_INPUT_BYTE
        + syncml_bridge::syncml::wbxml::EXPANSION_ALLOWANCE;
    let err = decode(&beyond).unwrap_err();
    assert!(
        matches!(err, WbxmlError::TextTooLarge { limit: l, .. } if l == limit),
        "{err}"
    );
}

#[test]
fn every_truncation_of_a_valid_document_is_an_error_not_a_panic() {
    let bytes = hex(GUIDE_EXAMPLE_HEX);
    for n in 0..bytes.len() {
        assert!(decode(&bytes[..n]).is_err(), "prefix of {n} bytes decoded");
    }
}

#[test]
fn encoder_writes_the_documents_wbxml_version() {
    let tree = s("SyncML", vec![s("SyncBody", vec![s("Final", vec![])])]);
    for version in [1u8, 2, 3] {
        let mut d = doc(PublicId::Numeric(public_ids::SYNCML_11), tree.clone());
        d.version = version;
        let bytes = encode(&d).unwrap();
        assert_eq!(bytes[0], version);
        assert_eq!(decode(&bytes).unwrap(), d);
    }
    let mut d = doc(PublicId::Numeric(public_ids::SYNCML_11), tree);
    d.version = 0x13;
    assert_eq!(
        encode(&d),
        Err(WbxmlError::UnsupportedVersion { version: 0x13 })
    );
}
