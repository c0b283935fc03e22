//! The message model across encodings: XML -> WBXML -> model, WBXML -> XML, nested
//! DevInf, answering in kind, and a cross-check of whole messages with libwbxml2.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};
use syncml_bridge::syncml::model::{Command, Data, Message, DEVINF_XML_TYPE};
use syncml_bridge::syncml::wbxml::{self, PublicId};
use syncml_bridge::syncml::{
    decode, encode, encode_with, transcode, CodecError, EncodeOptions, Encoding, WbxmlForm,
};

fn corpus() -> Vec<(String, Message)> {
    let dir = format!("{}/tests/fixtures/messages", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let m = decode(&std::fs::read(&p).unwrap()).unwrap().message;
            (name, m)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Fixtures whose every element has a WBXML token.
fn wbxml_corpus() -> Vec<(String, Message)> {
    corpus()
        .into_iter()
        .filter(|(n, _)| n != "unknown_elements.xml")
        .collect()
}

#[test]
fn xml_to_wbxml_to_model_is_equal() {
    let all = wbxml_corpus();
    assert!(all.len() >= 10);
    for (name, m) in all {
        let bin = encode(&m, Encoding::Wbxml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = decode(&bin).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.encoding, Encoding::Wbxml);
        assert_eq!(back.message, m, "{name}");
    }
}

#[test]
fn wbxml_to_xml_is_equal() {
    for (name, m) in wbxml_corpus() {
        let bin = encode(&m, Encoding::Wbxml).unwrap();
        let xml = transcode(&bin, Encoding::Xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(xml.starts_with(b"<?xml"));
        assert_eq!(decode(&xml).unwrap().message, m, "{name}");
        // And back again.
        assert_eq!(transcode(&xml, Encoding::Wbxml).unwrap(), bin, "{name}");
    }
}

#[test]
fn devinf_travels_as_nested_wbxml_document() {
    let m = corpus()
        .into_iter()
        .find(|(n, _)| n == "v11_pkg1_init.xml")
        .unwrap()
        .1;
    let bin = encode(&m, Encoding::Wbxml).unwrap();
    let raw = wbxml::decode(&bin).unwrap();
    assert_eq!(raw.public_id, PublicId::Numeric(0x0FD3));
    let put = raw.root.child("SyncBody").unwrap().child("Put").unwrap();
    let ty = put.child("Meta").unwrap().child("Type").unwrap().text();
    assert_eq!(ty.as_deref(), Some("application/vnd.syncml-devinf+wbxml"));
    let data = put.child("Item").unwrap().child("Data").unwrap();
    let [syncml_bridge::syncml::tree::Node::Opaque(nested)] = data.children.as_slice() else {
        panic!("DevInf is not opaque: {data:?}")
    };
    let inner = wbxml::decode(nested).unwrap();
    assert_eq!(inner.public_id, PublicId::Numeric(0x0FD4));
    assert_eq!(inner.root.name, "DevInf");
    // Decoded, the model names it by the XML type again.
    let back = decode(&bin).unwrap().message;
    let Command::Put(p) = &back.body.commands[0] else { panic!() };
    assert_eq!(p.meta.as_ref().unwrap().content_type.as_deref(), Some(DEVINF_XML_TYPE));
    assert!(matches!(p.items[0].data, Some(Data::DevInf(_))));
}

#[test]
fn answers_use_the_public_id_form_received() {
    let m = corpus()
        .into_iter()
        .find(|(n, _)| n == "v10_pkg1_doctype.xml")
        .unwrap()
        .1;
    let opts = EncodeOptions {
        encoding: Encoding::Wbxml,
        wbxml: WbxmlForm {
            version: 0x02,
            fpi: true,
        },
    };
    let bin = encode_with(&m, &opts).unwrap();
    assert_eq!(
        wbxml::decode(&bin).unwrap().public_id,
        PublicId::Fpi("-//SYNCML//DTD SyncML 1.0//EN".into())
    );
    let d = decode(&bin).unwrap();
    assert_eq!(d.wbxml, Some(WbxmlForm { version: 0x02, fpi: true }));
    assert_eq!(d.reply_options(), opts);
    // Transcoding keeps the form too.
    let again = transcode(&transcode(&bin, Encoding::Wbxml).unwrap(), Encoding::Wbxml).unwrap();
    assert!(matches!(wbxml::decode(&again).unwrap().public_id, PublicId::Fpi(_)));
}

#[test]
fn binary_data_is_opaque_in_wbxml() {
    let mut m = corpus()
        .into_iter()
        .find(|(n, _)| n == "v11_pkg3_sync.xml")
        .unwrap()
        .1;
    let Command::Sync(sync) = &mut m.body.commands[2] else { panic!() };
    let Command::Add(add) = &mut sync.commands[0] else { panic!() };
    add.items[0].data = Some(Data::Binary(vec![0xFF, 0x00, 0x80]));
    let back = decode(&encode(&m, Encoding::Wbxml).unwrap()).unwrap().message;
    assert_eq!(back, m);
}

#[test]
fn elements_without_a_token_fail_wbxml_encoding_cleanly() {
    let m = corpus()
        .into_iter()
        .find(|(n, _)| n == "unknown_elements.xml")
        .unwrap()
        .1;
    assert!(matches!(
        encode(&m, Encoding::Wbxml),
        Err(CodecError::Wbxml(wbxml::WbxmlError::NoToken { .. }))
    ));
}

#[test]
fn bad_wbxml_gives_typed_errors() {
    let m = &wbxml_corpus()[0].1;
    let bin = encode(m, Encoding::Wbxml).unwrap();
    for cut in 1..bin.len() {
        assert!(decode(&bin[..cut]).is_err(), "prefix of {cut} bytes decoded");
    }
    // A DevInf document where a SyncML message is expected.
    let devinf = wbxml::encode(&wbxml::WbxmlDocument {
        version: 2,
        public_id: PublicId::Numeric(0x1203),
        charset: 106,
        root: syncml_bridge::syncml::tree::Element::new(
            "DevInf",
            syncml_bridge::syncml::tree::Ns::DevInf,
        ),
    })
    .unwrap();
    assert!(matches!(decode(&devinf), Err(CodecError::Model(_))));
    assert!(matches!(decode(&[0x02, 0xFF, 0xFF]), Err(CodecError::Wbxml(_))));
}

const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is missing: install Debian package libwbxml2-utils")
        })
}

fn run(name: &str, args: &[&Path]) {
    let mut child = Process::new(tool(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TOOL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} timed out");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{name} {args:?} failed: {status}");
}

#[test]
fn libwbxml_reads_our_messages_and_we_read_its() {
    let dir = tempfile::tempdir().unwrap();
    for (name, m) in wbxml_corpus() {
        // Ours -> wbxml2xml -> our XML decoder.
        let ours = dir.path().join("ours.wbxml");
        let theirs_xml = dir.path().join("theirs.xml");
        std::fs::write(&ours, encode(&m, Encoding::Wbxml).unwrap()).unwrap();
        run("wbxml2xml", &[Path::new("-o"), &theirs_xml, &ours]);
        let via_libwbxml = decode(&std::fs::read(&theirs_xml).unwrap())
            .unwrap_or_else(|e| panic!("{name}: wbxml2xml output: {e}"))
            .message;
        assert_eq!(via_libwbxml, m, "{name} via wbxml2xml");

        // Our XML -> xml2wbxml -> our WBXML decoder.
        let our_xml = dir.path().join("ours.xml");
        let theirs = dir.path().join("theirs.wbxml");
        std::fs::write(&our_xml, encode(&m, Encoding::Xml).unwrap()).unwrap();
        run(
            "xml2wbxml",
            &[Path::new("-v"), Path::new("1.2"), Path::new("-o"), &theirs, &our_xml],
        );
        let from_libwbxml = decode(&std::fs::read(&theirs).unwrap())
            .unwrap_or_else(|e| panic!("{name}: xml2wbxml output: {e}"))
            .message;
        // xml2wbxml turns LF into CRLF inside text; compare with line ends unified.
        let unify = |m: &Message| format!("{m:?}").replace("\\r\\n", "\\n");
        assert_eq!(unify(&from_libwbxml), unify(&m), "{name} via xml2wbxml");
    }
}
