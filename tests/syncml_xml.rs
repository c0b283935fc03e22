//! XML codec and model: the hand-written corpus decodes, round-trips, and keeps what
//! it does not understand; bad input gives typed errors.

use syncml_bridge::syncml::codes::{AlertCode, StatusCode};
use syncml_bridge::syncml::model::{Command, Data, Message, DEVINF_XML_TYPE};
use syncml_bridge::syncml::tree::Ns;
use syncml_bridge::syncml::{self, decode, encode, CodecError, Encoding};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/messages/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/tests/fixtures/messages", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "corpus went missing");
    out
}

fn msg(name: &str) -> Message {
    let d = decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(d.encoding, Encoding::Xml);
    d.message
}

#[test]
fn every_fixture_round_trips_through_xml() {
    for (name, bytes) in corpus() {
        let first = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")).message;
        let xml = encode(&first, Encoding::Xml).unwrap();
        let second = decode(&xml)
            .unwrap_or_else(|e| panic!("{name} re-encoded: {e}\n{}", String::from_utf8_lossy(&xml)))
            .message;
        assert_eq!(first, second, "{name}");
        // Writing is deterministic: the second encoding is byte-identical.
        assert_eq!(xml, encode(&second, Encoding::Xml).unwrap(), "{name}");
    }
}

#[test]
fn v11_init_package_is_fully_typed() {
    let m = msg("v11_pkg1_init.xml");
    let h = &m.header;
    assert_eq!(m.version(), Some(syncml::Version::V1_1));
    assert_eq!(h.session_id, "42");
    assert_eq!(h.source.loc_name.as_deref(), Some("alice"));
    let cred = h.cred.as_ref().unwrap();
    assert_eq!(cred.auth_type(), "syncml:auth-md5");
    assert_eq!(cred.data.as_text(), Some("Zz6EivR3yeaaENcRN6lpAQ=="));
    let meta = h.meta.as_ref().unwrap();
    assert_eq!((meta.max_msg_size, meta.max_obj_size), (Some(10000), Some(65536)));
    assert!(m.body.final_);
    assert_eq!(m.body.commands.len(), 3);

    let Command::Put(put) = &m.body.commands[0] else { panic!("not a Put") };
    assert_eq!(put.meta.as_ref().unwrap().content_type.as_deref(), Some(DEVINF_XML_TYPE));
    let Some(Data::DevInf(di)) = &put.items[0].data else { panic!("no DevInf") };
    assert_eq!((di.man.as_deref(), di.model.as_deref()), (Some("NOKIA"), Some("6230")));
    assert!(di.support_large_objs && di.support_number_of_changes && !di.utc);
    assert_eq!(di.data_stores.len(), 2);
    assert_eq!(di.data_stores[0].max_guid_size, Some(8));
    assert_eq!(di.data_stores[0].sync_types, vec![1, 2, 3, 5, 7]);
    assert_eq!(di.data_stores[0].ds_mem.as_ref().unwrap().max_id, Some(500));
    // The flat 1.1 CTCap holds two content types.
    assert_eq!(di.ctcaps.len(), 2);
    assert_eq!(di.exts[0].xvals, vec!["30", "60"]);

    let vcard = di.capabilities("TEXT/X-VCARD").unwrap();
    assert!(vcard.can_store("tel") && vcard.can_store("NOTE") && !vcard.can_store("PHOTO"));
    assert!(vcard.can_store_type("TEL", "cell"));
    assert!(!vcard.can_store_type("TEL", "PAGER"));
    assert!(vcard.can_store_type("N", "anything"));
    assert_eq!(vcard.property("NOTE").unwrap().max_size, Some(256));
    let vcal = di.capabilities("text/x-vcalendar").unwrap();
    let begin = vcal.property("BEGIN").unwrap();
    assert!(begin.values.contains("VEVENT") && begin.values.contains("VTODO"));
    assert!(di.capabilities("text/calendar").is_none());

    let Command::Alert(alert) = &m.body.commands[2] else { panic!("not an Alert") };
    assert_eq!(alert.code, AlertCode::TwoWay);
    let anchor = alert.items[0].meta.as_ref().unwrap().anchor.as_ref().unwrap();
    assert_eq!(anchor.last.as_deref(), Some("20050101T120000Z"));
    assert_eq!(anchor.next, "20050102T120000Z");
}

#[test]
fn v12_devinf_structured_ctcap() {
    let m = msg("v12_pkg1_init.xml");
    // MetInf wrapped in a <MetInf> element is flattened.
    assert_eq!(m.header.meta.as_ref().unwrap().max_msg_size, Some(20000));
    assert_eq!(m.header.cred.as_ref().unwrap().auth_type(), "syncml:auth-basic");
    let Command::Put(put) = &m.body.commands[0] else { panic!() };
    let Some(Data::DevInf(di)) = &put.items[0].data else { panic!() };
    assert!(di.utc && di.ctcaps.is_empty());
    let contacts = di.data_store("./C\\Contacts.cdb").unwrap();
    assert!(contacts.support_hierarchical_sync);
    assert_eq!(contacts.rx.len(), 1);
    // Filter-Rx and FilterCap are kept as elements.
    let kept: Vec<_> = contacts.extra.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(kept, ["Filter-Rx", "FilterCap"]);
    let caps = di.capabilities("text/x-vcard").unwrap();
    let tel = caps.property("TEL").unwrap();
    assert_eq!((tel.max_occur, tel.max_size, tel.no_truncate), (Some(5), Some(40), true));
    assert!(caps.can_store_type("TEL", "WORK") && !caps.can_store_type("TEL", "FAX"));
    // ENCODING is a named parameter, not a TYPE value.
    let photo = caps.property("PHOTO").unwrap();
    assert!(photo.type_values.is_empty());
    assert!(photo.params["ENCODING"].contains("BASE64"));
    // Events and tasks listed separately for one type are merged.
    let cal = di.capabilities("text/x-vcalendar").unwrap();
    assert!(cal.property("BEGIN").unwrap().values.len() == 2);
    assert_eq!(cal.property("SUMMARY").unwrap().max_size, Some(80));
    assert!(cal.can_store("PRIORITY"));

    let Command::Alert(resume) = &m.body.commands[2] else { panic!() };
    assert_eq!(resume.code, AlertCode::Resume);
    let Command::Alert(slow) = &m.body.commands[1] else { panic!() };
    assert_eq!(slow.items[0].meta.as_ref().unwrap().max_obj_size, Some(4_000_000));
    assert_eq!(slow.items[0].meta.as_ref().unwrap().anchor.as_ref().unwrap().last, None);
}

#[test]
fn devinf_forms_are_written_per_place() {
    let m = msg("v12_pkg1_init.xml");
    let out = String::from_utf8(encode(&m, Encoding::Xml).unwrap()).unwrap();
    assert!(out.contains("<Property><PropName>TEL</PropName>"), "{out}");
    assert!(out.contains("<MaxSize>40</MaxSize>"));
    let m11 = msg("v11_pkg1_init.xml");
    let out11 = String::from_utf8(encode(&m11, Encoding::Xml).unwrap()).unwrap();
    assert!(out11.contains("<PropName>NOTE</PropName><Size>256</Size>"), "{out11}");
    assert!(!out11.contains("<Property>"));
    assert!(out11.contains("<DevInf xmlns=\"syncml:devinf\">"));
}

#[test]
fn v10_with_doctype_and_display_alert() {
    let m = msg("v10_pkg1_doctype.xml");
    assert_eq!(m.version(), Some(syncml::Version::V1_0));
    assert_eq!(m.header.msg_id, "2");
    let Command::Alert(display) = &m.body.commands[1] else { panic!() };
    assert_eq!(display.code, AlertCode::Display);
    assert_eq!(display.items[0].data.as_ref().unwrap().as_text(), Some("Sync starting"));
    let out = String::from_utf8(encode(&m, Encoding::Xml).unwrap()).unwrap();
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><SyncML xmlns=\"SYNCML:SYNCML1.0\">"));
}

#[test]
fn server_package_statuses_results_and_chal() {
    let m = msg("v11_pkg2_server.xml");
    assert_eq!(m.header.resp_uri.as_deref(), Some("http://sync.example.org/syncml?sid=a1b2c3"));
    let Command::Status(hdr) = &m.body.commands[0] else { panic!() };
    assert_eq!((hdr.cmd.as_str(), hdr.cmd_ref.as_str()), ("SyncHdr", "0"));
    assert_eq!(hdr.code, StatusCode::AuthenticationAccepted);
    let chal = hdr.chal.as_ref().unwrap();
    assert_eq!(chal.meta.next_nonce.as_deref(), Some("Tm9uY2U="));
    let Command::Status(alert) = &m.body.commands[2] else { panic!() };
    assert_eq!(alert.code, StatusCode::RefreshRequired);
    let Some(Data::Anchor(echo)) = &alert.items[0].data else { panic!("no anchor echo") };
    assert_eq!(echo.next, "20050102T120000Z");
    let Command::Results(res) = &m.body.commands[3] else { panic!() };
    assert_eq!((res.msg_ref.as_deref(), res.cmd_ref.as_str()), (Some("1"), "2"));
    assert_eq!(res.target_refs, ["./devinf11"]);
    let Some(Data::DevInf(di)) = &res.items[0].data else { panic!() };
    assert_eq!(di.dev_typ, "server");
}

#[test]
fn sync_package_with_every_change_command() {
    let m = msg("v11_pkg3_sync.xml");
    let Command::Sync(sync) = &m.body.commands[2] else { panic!() };
    assert_eq!(sync.number_of_changes, Some(6));
    assert_eq!(sync.meta.as_ref().unwrap().max_obj_size, Some(65536));
    let names: Vec<_> = sync.commands.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["Add", "Replace", "Delete", "Copy", "Atomic", "Sequence"]);
    let Command::Add(add) = &sync.commands[0] else { panic!() };
    let cdata = add.items[0].data.as_ref().unwrap().as_text().unwrap();
    assert!(cdata.starts_with("BEGIN:VCARD\n") && cdata.contains("Tom & Jerry <friends>"));
    // Character references keep carriage returns.
    let crlf = add.items[1].data.as_ref().unwrap().as_text().unwrap();
    assert!(crlf.starts_with("BEGIN:VCARD\r\nVERSION:2.1\r\n"));
    let Command::Replace(rep) = &sync.commands[1] else { panic!() };
    assert!(rep.no_resp && rep.items[0].more_data);
    assert_eq!(rep.items[0].meta.as_ref().unwrap().size, Some(120));
    // Item data is not trimmed: the chunk's trailing space is part of the object.
    assert!(rep.items[0].data.as_ref().unwrap().as_text().unwrap().ends_with("chunk "));
    let Command::Delete(del) = &sync.commands[2] else { panic!() };
    assert!(del.archive && del.sft_del);
    let Command::Atomic(atomic) = &sync.commands[4] else { panic!() };
    assert_eq!(atomic.commands.len(), 2);
    let Command::Sequence(seq) = &sync.commands[5] else { panic!() };
    assert_eq!(seq.meta.as_ref().unwrap().mark.as_deref(), Some("urgent"));
    assert!(seq.no_resp);
    // Markup in item data is written back as CDATA and reads back the same.
    let out = String::from_utf8(encode(&m, Encoding::Xml).unwrap()).unwrap();
    assert!(out.contains("<![CDATA[BEGIN:VCARD\nVERSION:2.1\nN:Smith;John"));
}

#[test]
fn v12_move_exec_search_and_meta() {
    let m = msg("v12_pkg4_misc_commands.xml");
    assert!(m.header.no_resp);
    assert_eq!(m.header.meta.as_ref().unwrap().emi, ["vendor-a", "vendor-b"]);
    let Command::Sync(sync) = &m.body.commands[0] else { panic!() };
    assert!(sync.cred.is_some() && sync.no_resp);
    let mem = sync.meta.as_ref().unwrap().mem.as_ref().unwrap();
    assert!(mem.shared_mem && mem.free_mem == Some(8192) && mem.free_id == Some(40));
    let Command::Move(mv) = &sync.commands[0] else { panic!() };
    assert_eq!(mv.items[0].target_parent.as_ref().unwrap().loc_uri, "folder2");
    assert_eq!(mv.items[0].source_parent.as_ref().unwrap().loc_uri, "folder1");
    let Command::Add(add) = &sync.commands[1] else { panic!() };
    let meta = add.meta.as_ref().unwrap();
    assert!(meta.field_level && meta.version.as_deref() == Some("2.1"));
    assert!(add.items[0].data.as_ref().unwrap().as_text().unwrap().contains("Müller;Jürgen"));
    let Command::Search(search) = &m.body.commands[2] else { panic!() };
    assert!(search.no_results && search.sources.len() == 2 && search.lang.as_deref() == Some("en"));
    let Command::Get(get) = &m.body.commands[3] else { panic!() };
    assert_eq!(get.lang.as_deref(), Some("de"));
    let Command::Alert(next) = &m.body.commands[4] else { panic!() };
    assert_eq!(next.code, AlertCode::NextMessage);
    assert!(!m.body.final_);
}

#[test]
fn map_package() {
    let m = msg("v11_pkg5_map.xml");
    let Command::Map(map) = &m.body.commands[2] else { panic!() };
    let pairs: Vec<_> = map
        .items
        .iter()
        .map(|i| (i.target.loc_uri.as_str(), i.source.loc_uri.as_str()))
        .collect();
    assert_eq!(pairs, [("srv-0001", "11"), ("srv-0002", "12")]);
    let Command::Status(st) = &m.body.commands[1] else { panic!() };
    assert_eq!(st.source_refs, ["srv-0001", "srv-0002"]);
    assert_eq!(st.code, StatusCode::ItemAdded);
}

#[test]
fn document_without_any_namespace() {
    let m = msg("no_namespace.xml");
    assert_eq!(m.header.meta.as_ref().unwrap().max_msg_size, Some(8000));
    let Command::Put(put) = &m.body.commands[0] else { panic!() };
    let Some(Data::DevInf(di)) = &put.items[0].data else { panic!("DevInf not recognised") };
    // A junk SyncType is dropped, the good one kept.
    assert_eq!(di.data_stores[0].sync_types, [1]);
    let Command::Alert(alert) = &m.body.commands[1] else { panic!() };
    let meta = alert.items[0].meta.as_ref().unwrap();
    assert_eq!(meta.anchor.as_ref().unwrap().next, "2");
    assert_eq!(meta.max_obj_size, Some(4096));
    // Written strictly: namespaces appear where the vocabularies change.
    let out = String::from_utf8(encode(&m, Encoding::Xml).unwrap()).unwrap();
    assert!(out.contains("<Meta><Anchor xmlns=\"syncml:metinf\"><Last>1</Last>"), "{out}");
    assert!(out.contains("<SyncML xmlns=\"SYNCML:SYNCML1.1\">"));
}

#[test]
fn metinf_namespace_on_meta_or_prefixed() {
    let m = msg("metinf_on_meta.xml");
    assert_eq!(m.header.meta.as_ref().unwrap().max_msg_size, Some(9000));
    let Command::Sync(sync) = &m.body.commands[0] else { panic!() };
    let Command::Replace(rep) = &sync.commands[0] else { panic!() };
    assert_eq!(rep.meta.as_ref().unwrap().content_type.as_deref(), Some("text/x-vcalendar"));
}

#[test]
fn latin1_bytes_under_utf8_declaration() {
    let m = msg("latin1_under_utf8_decl.xml");
    let Command::Sync(sync) = &m.body.commands[0] else { panic!() };
    let Command::Add(add) = &sync.commands[0] else { panic!() };
    let text = add.items[0].data.as_ref().unwrap().as_text().unwrap();
    assert!(text.contains("N:François;Renée") && text.contains("Straße 5;Köln"), "{text}");
    // Answered in UTF-8.
    let out = encode(&m, Encoding::Xml).unwrap();
    assert!(std::str::from_utf8(&out).unwrap().contains("François"));
}

#[test]
fn declared_latin1_is_honoured() {
    let mut doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
    doc.extend_from_slice(b"<SyncML><SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>");
    doc.extend_from_slice(b"<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target>");
    doc.extend_from_slice(b"<Source><LocURI>d</LocURI><LocName>J\xfcrgen</LocName></Source></SyncHdr>");
    doc.extend_from_slice(b"<SyncBody/></SyncML>");
    let m = decode(&doc).unwrap().message;
    assert_eq!(m.header.source.loc_name.as_deref(), Some("Jürgen"));
    assert!(m.body.commands.is_empty() && !m.body.final_);
}

#[test]
fn unknown_elements_survive_a_round_trip() {
    let m = msg("unknown_elements.xml");
    let h = &m.header;
    assert_eq!(h.extra[0].name, "XHeader");
    assert_eq!(h.target.extra[0].name, "Filter");
    assert_eq!(h.meta.as_ref().unwrap().extra[0].name, "Vendor");
    assert_eq!(h.meta.as_ref().unwrap().extra[0].ns, Ns::MetInf);
    let Command::Alert(a) = &m.body.commands[0] else { panic!() };
    assert_eq!(a.extra[0].name, "Correlator");
    assert_eq!(a.items[0].extra[0].name, "ItemExt");
    let Command::Other(f) = &m.body.commands[1] else { panic!() };
    assert_eq!(f.name, "Frobnicate");
    let Command::Put(put) = &m.body.commands[2] else { panic!() };
    let Some(Data::DevInf(di)) = &put.items[0].data else { panic!() };
    assert_eq!(di.extra[0].name, "Gadget");
    assert_eq!(di.data_stores[0].extra[0].name, "Quirk");
    let Command::Other(foreign) = &m.body.commands[3] else { panic!() };
    assert_eq!(foreign.ns, Ns::Other("urn:example:foreign".into()));

    let out = String::from_utf8(encode(&m, Encoding::Xml).unwrap()).unwrap();
    for kept in [
        "<XHeader>custom</XHeader>",
        "<Vendor xmlns=\"syncml:metinf\">acme</Vendor>",
        "<Correlator>c-77</Correlator>",
        "<Frobnicate><CmdID>2</CmdID><Data>something new</Data></Frobnicate>",
        "<Foreign xmlns=\"urn:example:foreign\"><Inner>1</Inner></Foreign>",
        "<Gadget>yes</Gadget>",
    ] {
        assert!(out.contains(kept), "{kept} missing from {out}");
    }
}

fn assert_error(bytes: &[u8], what: &str) -> CodecError {
    match decode(bytes) {
        Ok(m) => panic!("{what}: decoded to {m:?}"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let good = fixture("v11_pkg1_init.xml");
    // Every truncation of a valid message fails cleanly (or, once only trailing
    // whitespace is missing, still decodes).
    for cut in (0..good.len()).step_by(7) {
        let _ = decode(&good[..cut]);
    }
    assert!(matches!(
        assert_error(&good[..good.len() / 2], "truncated"),
        CodecError::Xml(syncml::xml::XmlError::Truncated { .. })
    ));
    assert!(matches!(assert_error(b"", "empty"), CodecError::Unrecognised));
    assert!(matches!(assert_error(b"\x7fELF garbage", "garbage"), CodecError::Unrecognised));
    assert!(matches!(
        assert_error(b"<SyncML><SyncHdr></SyncBody></SyncML>", "mismatched"),
        CodecError::Xml(syncml::xml::XmlError::Syntax { .. })
    ));
    assert!(matches!(
        assert_error(b"<html><body/></html>", "wrong root"),
        CodecError::Model(syncml::model::ModelError::WrongRoot { .. })
    ));
    assert!(matches!(
        assert_error(b"<SyncML><SyncBody/></SyncML>", "no header"),
        CodecError::Model(syncml::model::ModelError::Missing { name: "SyncHdr", .. })
    ));
    assert!(matches!(
        assert_error(b"<SyncML/><SyncML/>", "two roots"),
        CodecError::Xml(syncml::xml::XmlError::TrailingContent { .. })
    ));
    assert!(matches!(
        assert_error(b"<?xml version=\"1.0\" encoding=\"klingon\"?><SyncML/>", "charset"),
        CodecError::Xml(syncml::xml::XmlError::UnknownCharset { .. })
    ));
    let bad_number = String::from_utf8(good.clone())
        .unwrap()
        .replace("<Data>200</Data>", "<Data>two hundred</Data>");
    assert!(matches!(
        assert_error(bad_number.as_bytes(), "alert code"),
        CodecError::Model(syncml::model::ModelError::BadNumber { .. })
    ));
    assert!(matches!(
        assert_error(b"<SyncML>&bogus;</SyncML>", "entity"),
        CodecError::Xml(syncml::xml::XmlError::Syntax { .. })
    ));
}

#[test]
fn detect_and_content_types() {
    assert_eq!(syncml::detect(b"  <?xml"), Some(Encoding::Xml));
    assert_eq!(syncml::detect(b"\xEF\xBB\xBF<SyncML/>"), Some(Encoding::Xml));
    assert_eq!(syncml::detect(&[0x02, 0x9F, 0x53, 0x6A]), Some(Encoding::Wbxml));
    assert_eq!(syncml::detect(b"hello"), None);
    assert_eq!(syncml::detect(b""), None);
    assert_eq!(
        Encoding::from_content_type("application/vnd.syncml+wbxml; charset=UTF-8"),
        Some(Encoding::Wbxml)
    );
    assert_eq!(Encoding::from_content_type("text/html"), None);
}

#[test]
fn binary_item_data_goes_base64_in_xml() {
    let mut m = msg("v11_pkg3_sync.xml");
    let Command::Sync(sync) = &mut m.body.commands[2] else { panic!() };
    let Command::Add(add) = &mut sync.commands[0] else { panic!() };
    add.items[0].data = Some(Data::Binary(vec![0xFF, 0xFE, 0x00, 0x01]));
    let out = encode(&m, Encoding::Xml).unwrap();
    let back = decode(&out).unwrap().message;
    let Command::Sync(sync) = &back.body.commands[2] else { panic!() };
    let Command::Add(add) = &sync.commands[0] else { panic!() };
    assert_eq!(add.items[0].data.as_ref().unwrap().as_text(), Some("//4AAQ=="));
    assert_eq!(add.items[0].meta.as_ref().unwrap().format.as_deref(), Some("b64"));
}
