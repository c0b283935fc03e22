//! TLS on the real binary: a certificate issued by a test CA (made with the `openssl`
//! CLI), `/healthz` over https trusting only that CA, and unusable key files refused at
//! start naming `tls.key_file`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::tools::{free_port, require, run_bounded, wait_until, OwnedProcess};

struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    other_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let openssl = require("openssl", "openssl");
    let out = Command::new(openssl)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it (webpki refuses a
/// self-signed CA certificate used directly as the server's).
fn make_pki(dir: &Path) -> Pki {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ops test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
    );
    Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        other_key: dir.join("other.key"),
    }
}

fn bridge_command(dir: &Path, port: u16, cert: &Path, key: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.join("data"))
        // Nothing listens there; /healthz and /metrics do not need the upstream.
        .args(["--upstream", "http://127.0.0.1:9/"])
        .env("SYNCML_BRIDGE_TLS__CERT_FILE", cert)
        .env("SYNCML_BRIDGE_TLS__KEY_FILE", key);
    cmd
}

#[test]
fn healthz_is_served_over_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = make_pki(dir.path());
    let port = free_port();
    let mut bridge = OwnedProcess::spawn(
        "syncml-bridge",
        bridge_command(dir.path(), port, &pki.cert, &pki.key),
        &dir.path().join("bridge.log"),
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.ca).expect("read CA"))
        .expect("CA parses");
    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!("https://127.0.0.1:{port}/healthz");
    let mut answer = None;
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        answer = client.get(&url).send().ok();
        answer.is_some()
    });
    if !up {
        bridge.fail("did not answer /healthz over https");
    }
    let resp = answer.expect("an answer");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().expect("body"), "ok");

    // A client that does not trust the test CA is refused: the listener really speaks TLS
    // with that certificate.
    let untrusting = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    assert!(untrusting.get(&url).send().is_err());

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let plain_answer = plain.get(format!("http://127.0.0.1:{port}/healthz")).send();
    assert!(
        plain_answer.as_ref().map_or(true, |r| r.status() != 200),
        "{plain_answer:?}"
    );

    // The server is still healthy after the failed handshakes.
    assert_eq!(client.get(&url).send().expect("get").status(), 200);
}

fn refused_at_start(dir: &Path, cert: &Path, key: &Path) -> String {
    let log = dir.join(format!("refused-{}.log", free_port()));
    let status = run_bounded(
        "syncml-bridge",
        bridge_command(dir, free_port(), cert, key),
        &log,
        Duration::from_secs(20),
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "the bridge should exit 2 at start; its log:\n{text}"
    );
    text
}

#[test]
fn unusable_key_files_are_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = make_pki(dir.path());

    // A key that does not belong to the certificate.
    let text = refused_at_start(dir.path(), &pki.cert, &pki.other_key);
    assert!(text.contains("tls.key_file"), "{text}");
    assert!(text.contains("other.key"), "{text}");

    // A file that is no key at all.
    let text = refused_at_start(dir.path(), &pki.cert, &pki.cert);
    assert!(text.contains("tls.key_file"), "{text}");

    // A missing file.
    let missing = dir.path().join("missing.key");
    let text = refused_at_start(dir.path(), &pki.cert, &missing);
    assert!(text.contains("tls.key_file"), "{text}");
    assert!(text.contains("missing.key"), "{text}");

    // A key without its certificate.
    let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("SYNCML_BRIDGE_TLS__KEY_FILE", &pki.key)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls.cert_file"), "{err}");
}
