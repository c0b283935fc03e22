//! Golden corpus for contact conversion and the merge: every case directory under
//! `tests/fixtures/convert/contacts/` holds `input.<format>`, `options.toml` (`to`, optional
//! `charset`, `qp_non_ascii`, `dav_vcard`, `round_trip`) and `expected.<to>`; every case under
//! `tests/fixtures/convert/merge/` holds `server.vcf`, `phone.<format>`, optional
//! `ctcap.txt` and `expected.vcf`. `BLESS=1` rewrites the expected files.

use std::fs;
use std::path::{Path, PathBuf};

use syncml_bridge::convert::capability::{Capability, CtCapParam, CtCapProperty};
use syncml_bridge::convert::{
    cli_convert, dav_bytes, merge::merge, to_dav, vcard, Charset, ConvertOptions, DavVcardVersion,
    Format,
};

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/convert")
        .join(kind)
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures(kind))
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no {kind} fixtures");
    dirs
}

/// The file in `dir` named `stem.<format>`, with its format.
fn find(dir: &Path, stem: &str) -> (PathBuf, Format) {
    for entry in fs::read_dir(dir).expect("case dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(ext) = name.strip_prefix(&format!("{stem}.")) {
            if let Ok(f) = ext.parse::<Format>() {
                return (path, f);
            }
        }
    }
    panic!("{}: no {stem}.<format> file", dir.display());
}

#[derive(serde::Deserialize)]
struct CaseOptions {
    to: String,
    charset: Option<String>,
    qp_non_ascii: Option<bool>,
    dav_vcard: Option<String>,
    #[serde(default)]
    round_trip: bool,
}

fn options(o: &CaseOptions) -> ConvertOptions {
    let mut opts = ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
    if let Some(c) = &o.charset {
        opts = opts.with_charset(Charset::from_label(c).expect("charset"));
    }
    if let Some(q) = o.qp_non_ascii {
        opts = opts.with_qp_non_ascii(q);
    }
    if o.dav_vcard.as_deref() == Some("4.0") {
        opts = opts.with_dav_vcard(DavVcardVersion::V40);
    }
    opts
}

fn check(path: &Path, actual: &[u8], failures: &mut Vec<String>) {
    if std::env::var_os("BLESS").is_some() {
        fs::write(path, actual).expect("bless");
        return;
    }
    match fs::read(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}:\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        )),
        Err(e) => failures.push(format!("{}: {e}", path.display())),
    }
}

#[test]
fn golden_contact_conversions() {
    let mut failures = Vec::new();
    for dir in cases("contacts") {
        let (input_path, from) = find(&dir, "input");
        let raw = fs::read_to_string(dir.join("options.toml")).expect("options.toml");
        let case: CaseOptions = toml::from_str(&raw).expect("options.toml syntax");
        let to: Format = case.to.parse().expect("format");
        let opts = options(&case);
        let input = fs::read(&input_path).expect("input");
        let out = cli_convert(
            from,
            to,
            &input,
            &opts,
            syncml_bridge::engine::items::new_uid,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        check(&dir.join(format!("expected.{to}")), &out, &mut failures);
        if case.round_trip {
            // Back to the input format and again: the DAV form is stable.
            let back = cli_convert(to, from, &out, &opts, syncml_bridge::engine::items::new_uid)
                .expect("back");
            let dav1 = to_dav(from, &input, &opts).expect("dav1");
            let dav2 = to_dav(from, &back, &opts).expect("dav2");
            if dav1 != dav2 {
                failures.push(format!("{}: round trip changed the item", dir.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `ctcap.txt`: one property a line, `NAME [maxoccur=N] [maxsize=N] [types=A,B]`.
fn read_ctcap(path: &Path) -> Option<Capability> {
    let text = fs::read_to_string(path).ok()?;
    let mut props = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut words = line.split_whitespace();
        let mut p = CtCapProperty {
            name: words.next().unwrap().into(),
            ..CtCapProperty::default()
        };
        for w in words {
            let (k, v) = w.split_once('=').expect("key=value");
            match k {
                "maxoccur" => p.max_occur = Some(v.parse().unwrap()),
                "maxsize" => p.max_size = Some(v.parse().unwrap()),
                "types" => p.params.push(CtCapParam {
                    name: "TYPE".into(),
                    values: v.split(',').map(str::to_owned).collect(),
                }),
                other => panic!("unknown ctcap key {other}"),
            }
        }
        props.push(p);
    }
    Some(Capability::from_ctcap(&props))
}

#[test]
fn golden_contact_merges() {
    let mut failures = Vec::new();
    for dir in cases("merge") {
        let opts = ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
        let server = vcard::parse_dav(&fs::read(dir.join("server.vcf")).expect("server.vcf"))
            .expect("server parses");
        let (phone_path, format) = find(&dir, "phone");
        let phone = to_dav(format, &fs::read(&phone_path).expect("phone"), &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let cap =
            read_ctcap(&dir.join("ctcap.txt")).unwrap_or_else(|| Capability::from_format(format));
        let merged = merge(&server, &phone, &cap).expect("merge");
        check(
            &dir.join("expected.vcf"),
            &dav_bytes(&merged),
            &mut failures,
        );
        // Merging the same phone item again changes nothing (no ping-pong).
        let again = merge(&merged, &phone, &cap).expect("merge again");
        if again != merged {
            failures.push(format!("{}: second merge changed the item", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
