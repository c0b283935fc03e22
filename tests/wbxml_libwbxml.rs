//! Cross-check of the WBXML codec against libwbxml2 (Debian `libwbxml2-utils`):
//! what we encode, `wbxml2xml` reads back to the same tree, and what `xml2wbxml`
//! encodes, we decode to the same tree. Trees are compared, not bytes.
//!
//! libwbxml differs from a plain XML reading in three documented ways, which
//! `normalise` evens out on both sides: item `Data` travels as OPAQUE, DevInf
//! inside `Data` becomes a nested WBXML document with `Meta/Type` rewritten from
//! `+xml` to `+wbxml`, and item text gets CRLF line ends.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use syncml_bridge::syncml::tree::{Element, Node, Ns};
use syncml_bridge::syncml::wbxml::{decode, encode, public_ids, PublicId, WbxmlDocument};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wbxml");
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
const DEVINF_XML: &str = "application/vnd.syncml-devinf+xml";
const DEVINF_WBXML: &str = "application/vnd.syncml-devinf+wbxml";

/// The path of a libwbxml2 tool; panics with the package to install when missing.
fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: the WBXML cross-check needs libwbxml2's tools \
             (Debian package libwbxml2-utils: apt-get install libwbxml2-utils)"
        )
    })
}

/// Runs a tool with a bounded wait; panics with its stderr when it fails.
fn run(name: &str, args: &[&Path], dir: &Path) {
    let err_path = dir.join(format!("{name}.stderr"));
    let err_file = fs::File::create(&err_path).unwrap();
    let mut child = Command::new(tool(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TOOL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} did not finish within {TOOL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "{name} {args:?} failed ({status}): {stderr}"
    );
}

fn ns_of(uri: &str) -> Ns {
    if uri.to_ascii_uppercase().starts_with("SYNCML:SYNCML") {
        Ns::SyncMl
    } else if uri.eq_ignore_ascii_case("syncml:metinf") {
        Ns::MetInf
    } else if uri.eq_ignore_ascii_case("syncml:devinf") {
        Ns::DevInf
    } else {
        Ns::Other(uri.to_owned())
    }
}

/// Reads XML into a tree: default namespaces (`xmlns`) give each element its
/// vocabulary, whitespace-only text is dropped, CDATA is text.
fn read_xml(xml: &str) -> Element {
    let mut reader = quick_xml::Reader::from_str(xml);
    // (element, default namespace in force inside it)
    let mut stack: Vec<(Element, Ns)> = Vec::new();
    let mut root = None;
    let open = |e: &quick_xml::events::BytesStart, parent_ns: Option<&Ns>| -> (Element, Ns) {
        let mut ns = parent_ns.cloned().unwrap_or(Ns::Other(String::new()));
        for a in e.attributes() {
            let a = a.unwrap();
            if a.key.as_ref() == b"xmlns" {
                ns = ns_of(&a.unescape_value().unwrap());
            }
        }
        let name = String::from_utf8(e.local_name().as_ref().to_vec()).unwrap();
        (Element::new(name, ns.clone()), ns)
    };
    fn close(stack: &mut [(Element, Ns)], root: &mut Option<Element>, e: Element) {
        match stack.last_mut() {
            Some((parent, _)) => parent.children.push(Node::Element(e)),
            None => *root = Some(e),
        }
    }
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let opened = open(&e, stack.last().map(|(_, ns)| ns));
                stack.push(opened);
            }
            Event::Empty(e) => {
                let (el, _) = open(&e, stack.last().map(|(_, ns)| ns));
                close(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                let (el, _) = stack.pop().unwrap();
                close(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some((parent, _)) = stack.last_mut() {
                    parent.push_text(t.unescape().unwrap().into_owned());
                }
            }
            Event::CData(c) => {
                if let Some((parent, _)) = stack.last_mut() {
                    parent.push_text(String::from_utf8(c.into_inner().to_vec()).unwrap());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.expect("no root element")
}

/// Brings a tree from either side to one comparable form: nested DevInf
/// documents decoded in place, opaque UTF-8 as text, CRLF as LF, adjacent text
/// joined, whitespace-only text dropped, the DevInf MIME type in its XML form.
fn normalise(e: &Element) -> Element {
    let mut out = Element::new(e.name.clone(), e.ns.clone());
    for child in &e.children {
        let node = match child {
            Node::Element(c) => Node::Element(normalise(c)),
            Node::Opaque(bytes) => match decode(bytes) {
                Ok(inner) if inner.root.ns == Ns::DevInf => Node::Element(normalise(&inner.root)),
                _ => match String::from_utf8(bytes.clone()) {
                    Ok(s) => Node::Text(s),
                    Err(_) => Node::Opaque(bytes.clone()),
                },
            },
            Node::Text(t) => Node::Text(t.clone()),
        };
        match (node, out.children.last_mut()) {
            (Node::Text(t), Some(Node::Text(prev))) => prev.push_str(&t),
            (node, _) => out.children.push(node),
        }
    }
    for child in &mut out.children {
        if let Node::Text(t) = child {
            *t = t.replace("\r\n", "\n");
            if t == DEVINF_WBXML {
                *t = DEVINF_XML.to_owned();
            }
        }
    }
    out.children
        .retain(|c| !matches!(c, Node::Text(t) if t.trim().is_empty()));
    out
}

fn dtd_version(root: &Element) -> String {
    root.child("SyncHdr")
        .unwrap_or(root)
        .child("VerDTD")
        .and_then(|v| v.text())
        .expect("document has a VerDTD")
}

fn numeric_id(root: &Element) -> u32 {
    match (root.ns.clone(), dtd_version(root).as_str()) {
        (Ns::SyncMl, "1.1") => public_ids::SYNCML_11,
        (Ns::SyncMl, "1.2") => public_ids::SYNCML_12,
        (Ns::DevInf, "1.1") => public_ids::DEVINF_11,
        (Ns::DevInf, "1.2") => public_ids::DEVINF_12,
        other => panic!("no fixture public id for {other:?}"),
    }
}

fn fpi(root: &Element) -> String {
    let doc = if root.ns == Ns::DevInf {
        "DevInf"
    } else {
        "SyncML"
    };
    format!("-//SYNCML//DTD {doc} {}//EN", dtd_version(root))
}

/// The form a WBXML message carries: DevInf inside `Data` as an OPAQUE nested
/// document of the same version, and the DevInf MIME type in its `+wbxml` form.
fn to_wbxml_form(e: &Element) -> Element {
    let mut out = Element::new(e.name.clone(), e.ns.clone());
    for child in &e.children {
        out.children.push(match child {
            Node::Element(c) if c.ns == Ns::DevInf && e.name == "Data" => {
                let inner = WbxmlDocument {
                    version: 2,
                    public_id: PublicId::Numeric(numeric_id(c)),
                    charset: 106,
                    root: c.clone(),
                };
                Node::Opaque(encode(&inner).unwrap())
            }
            Node::Element(c) => Node::Element(to_wbxml_form(c)),
            Node::Text(t) if t == DEVINF_XML => Node::Text(DEVINF_WBXML.to_owned()),
            other => other.clone(),
        });
    }
    out
}

fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<_> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    let names: Vec<_> = out.iter().map(|(n, _)| n.as_str()).collect();
    for want in ["syncml11", "syncml12", "devinf11", "devinf12"] {
        assert!(
            names.iter().any(|n| n.starts_with(want)),
            "no {want} fixture in {names:?}"
        );
    }
    out
}

#[test]
fn what_we_encode_libwbxml_decodes_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    for (name, xml) in fixtures() {
        let tree = read_xml(&xml);
        let want = normalise(&tree);
        for (form, public_id) in [
            ("numeric", PublicId::Numeric(numeric_id(&tree))),
            ("fpi", PublicId::Fpi(fpi(&tree))),
        ] {
            let doc = WbxmlDocument {
                version: 2,
                public_id,
                charset: 106,
                root: to_wbxml_form(&tree),
            };
            let wbxml = dir.path().join(format!("{name}.{form}.wbxml"));
            let back = dir.path().join(format!("{name}.{form}.xml"));
            fs::write(&wbxml, encode(&doc).unwrap()).unwrap();
            run("wbxml2xml", &[Path::new("-o"), &back, &wbxml], dir.path());
            let theirs = read_xml(&fs::read_to_string(&back).unwrap());
            assert_eq!(
                normalise(&theirs),
                want,
                "{name} ({form} public id): wbxml2xml reads our WBXML differently"
            );
        }
    }
}

#[test]
fn what_libwbxml_encodes_we_decode_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let mut string_table_refs = 0;
    for (name, xml) in fixtures() {
        let want = normalise(&read_xml(&xml));
        let src = dir.path().join(&name);
        fs::write(&src, &xml).unwrap();
        // WBXML 1.1/1.2/1.3 headers, with and without a string table.
        for (version, no_table) in [
            ("1.1", false),
            ("1.2", true),
            ("1.2", false),
            ("1.3", false),
        ] {
            let out = dir
                .path()
                .join(format!("{name}.{version}.{no_table}.wbxml"));
            let mut args: Vec<&Path> = vec![Path::new("-v"), Path::new(version)];
            if no_table {
                args.push(Path::new("-n"));
            }
            args.extend([Path::new("-o"), out.as_path(), src.as_path()]);
            run("xml2wbxml", &args, dir.path());
            let bytes = fs::read(&out).unwrap();
            let doc =
                decode(&bytes).unwrap_or_else(|e| panic!("{name} (xml2wbxml -v {version}): {e}"));
            assert_eq!(
                doc.public_id,
                PublicId::Numeric(numeric_id(&doc.root)),
                "{name}"
            );
            assert_eq!(
                normalise(&doc.root),
                want,
                "{name} (xml2wbxml -v {version}, no string table: {no_table}) decodes differently"
            );
            // Our encoding of what we decoded must decode the same again.
            let again = decode(&encode(&doc).unwrap()).unwrap();
            assert_eq!(again.root, doc.root, "{name}: re-encoding changed the tree");
            if bytes[4] != 0 && !no_table {
                string_table_refs += 1;
            }
        }
    }
    // The fixtures repeat strings, so libwbxml used STR_T for some of them.
    assert!(string_table_refs > 0, "no fixture exercised STR_T");
}
