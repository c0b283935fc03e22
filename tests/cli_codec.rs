//! `syncml-bridge codec` on the real SyncEvolution messages, checked against libwbxml2:
//! WBXML -> our XML equals what `wbxml2xml` reads; our WBXML is read by `wbxml2xml` as the
//! same tree as the XML it came from; XML -> WBXML -> XML is the identity on trees.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use syncml_bridge::syncml::tree::{Element, Node};
use syncml_bridge::syncml::xml;

fn bridge(args: &[&str], input: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(args)
        .arg(input)
        .output()
        .expect("run syncml-bridge");
    assert!(
        out.status.success(),
        "syncml-bridge {args:?} {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn wbxml2xml(input: &Path, dir: &Path) -> Vec<u8> {
    let tool = support::tools::require("wbxml2xml", "libwbxml2-utils");
    let out = dir.join("libwbxml.xml");
    let status = Command::new(tool)
        .arg("-o")
        .arg(&out)
        .arg(input)
        .output()
        .expect("run wbxml2xml");
    assert!(
        status.status.success(),
        "wbxml2xml {}: {:?}",
        input.display(),
        status
    );
    std::fs::read(&out).expect("read wbxml2xml output")
}

/// Trees compared as documents: surrounding whitespace of text ignored, opaque bytes read as
/// text, and the DevInf type named as in XML (libwbxml2 keeps the `+wbxml` spelling).
fn normalise(e: &Element) -> Element {
    let mut out = Element::new(e.name.clone(), e.ns.clone());
    for n in &e.children {
        match n {
            Node::Element(c) => out.children.push(Node::Element(normalise(c))),
            Node::Text(t) => push_text(&mut out, t),
            Node::Opaque(b) => push_text(&mut out, &String::from_utf8_lossy(b)),
        }
    }
    if out.name == "DevInf" {
        sort_flag_runs(&mut out.children);
    }
    out
}

/// The DevInf flags UTC/SupportLargeObjs/SupportNumberOfChanges are a set: libsynthesis
/// writes them in DTD order in XML but its WBXML bytes (0x28 0x29 0x2A) read back through
/// the standard token table in another order. Compare runs of empty flags as sets.
fn sort_flag_runs(children: &mut [Node]) {
    let is_flag = |n: &Node| matches!(n, Node::Element(e) if e.children.is_empty());
    let mut i = 0;
    while i < children.len() {
        let start = i;
        while i < children.len() && is_flag(&children[i]) {
            i += 1;
        }
        children[start..i].sort_by_key(|n| match n {
            Node::Element(e) => e.name.clone(),
            _ => String::new(),
        });
        i += 1;
    }
}

fn push_text(out: &mut Element, t: &str) {
    let t = t.trim().replace("\r\n", "\n");
    if t.is_empty() {
        return;
    }
    let t = if t == "application/vnd.syncml-devinf+wbxml" {
        "application/vnd.syncml-devinf+xml".to_owned()
    } else {
        t
    };
    out.children.push(Node::Text(t));
}

/// The path of the first place two trees differ, with both sides there, or `None`.
fn difference(a: &Element, b: &Element, path: &str) -> Option<String> {
    let here = format!("{path}/{}", a.name);
    if a.name != b.name || a.ns != b.ns {
        return Some(format!(
            "{here}: <{} {:?}> vs <{} {:?}>",
            a.name, a.ns, b.name, b.ns
        ));
    }
    for (i, (x, y)) in a.children.iter().zip(&b.children).enumerate() {
        match (x, y) {
            (Node::Element(x), Node::Element(y)) => {
                if let Some(d) = difference(x, y, &here) {
                    return Some(d);
                }
            }
            (x, y) if x != y => return Some(format!("{here}[{i}]: {x:?} vs {y:?}")),
            _ => {}
        }
    }
    if a.children.len() != b.children.len() {
        let extra = |e: &Element| {
            e.children
                .get(a.children.len().min(b.children.len()))
                .cloned()
        };
        return Some(format!(
            "{here}: {} vs {} children (first extra: {:?} / {:?})",
            a.children.len(),
            b.children.len(),
            extra(a),
            extra(b)
        ));
    }
    None
}

fn assert_same(a: &Element, b: &Element, what: String) {
    if let Some(d) = difference(a, b, "") {
        panic!("{what}: {d}");
    }
}

fn tree(bytes: &[u8], what: &str) -> Element {
    normalise(&xml::parse(bytes).unwrap_or_else(|e| panic!("{what}: not XML: {e}")))
}

fn fixtures(ext: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syncevolution");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixture dir") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("fixture subdir") {
            let f = f.expect("entry").path();
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let is_message = name.contains("-request.") || name.contains("-response.");
            if is_message && name.ends_with(ext) && !name.contains("wbxml2xml") {
                out.push(f);
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the SyncEvolution corpus, found {} *{ext}",
        out.len()
    );
    out
}

#[test]
fn wbxml_messages_decode_as_libwbxml2_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in fixtures(".wbxml") {
        let ours = tree(&bridge(&["codec", "--to", "xml"], &f), "our XML");
        let theirs = tree(&wbxml2xml(&f, dir.path()), "wbxml2xml output");
        assert_same(
            &ours,
            &theirs,
            format!("{}: our XML vs wbxml2xml's", f.display()),
        );
    }
}

#[test]
fn xml_messages_encode_to_wbxml_that_libwbxml2_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in fixtures(".xml") {
        let original = tree(&std::fs::read(&f).expect("read fixture"), "fixture");
        let wbxml = dir.path().join("ours.wbxml");
        std::fs::write(&wbxml, bridge(&["codec", "--to", "wbxml"], &f)).expect("write");
        let theirs = tree(&wbxml2xml(&wbxml, dir.path()), "wbxml2xml output");
        assert_same(
            &original,
            &theirs,
            format!("{}: fixture vs libwbxml2 reading our WBXML", f.display()),
        );
        let back = tree(&bridge(&["codec", "--to", "xml"], &wbxml), "our XML");
        assert_same(
            &original,
            &back,
            format!("{}: XML -> WBXML -> XML", f.display()),
        );
    }
}

#[test]
fn garbage_is_refused_with_exit_status_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("junk");
    std::fs::write(&f, b"\x03\x9f\x53\x6a\x00\x6d\x6c\x71").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["codec", "--to", "xml"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot convert"));
}

/// Hostile nesting (500 Atomics, 12,000 unknown elements, 64,000 WBXML Sequences) is
/// refused with a message and exit status 2; it used to overflow the stack and abort.
#[test]
fn deep_nesting_is_refused_with_exit_status_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hdr = "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>\
<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>s</LocURI></Target>\
<Source><LocURI>d</LocURI></Source></SyncHdr>";
    let nested = |open: &str, close: &str, n: usize| {
        format!(
            "<SyncML>{hdr}<SyncBody>{}{}</SyncBody></SyncML>",
            open.repeat(n),
            close.repeat(n)
        )
        .into_bytes()
    };
    let mut wbxml = vec![0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D, 0x6B];
    wbxml.extend(std::iter::repeat_n(0x64, 64_000));
    let cases = [
        (
            "atomic.xml",
            nested("<Atomic><CmdID>1</CmdID>", "</Atomic>", 500),
            "commands nest deeper",
        ),
        ("unknown.xml", nested("<X>", "</X>", 12_000), "nest deeper"),
        ("sequence.wbxml", wbxml, "commands nest deeper"),
    ];
    for (name, bytes, reason) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).expect("write");
        for to in ["xml", "wbxml"] {
            let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
                .args(["codec", "--to", to])
                .arg(&f)
                .output()
                .expect("run");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(reason), "{name}: {stderr}");
        }
    }
}
