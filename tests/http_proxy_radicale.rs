//! The passthrough proxy in front of a real Radicale: what a DAV client sees through the
//! bridge is what it would see talking to Radicale directly.

mod http_bridge;
mod support;

use std::sync::Arc;
use std::time::Duration;

use http_bridge::{client, settings, Bridge};
use reqwest::blocking::{Body, Client, Response};
use reqwest::Method;
use support::radicale::Radicale;
use support::webdav::WebDav;
use syncml_bridge::http::{SyncmlHandler, SyncmlReply, SyncmlRequest};

/// The SyncML path is not under test here; it must never be reached.
struct NoSyncml;

impl SyncmlHandler for NoSyncml {
    async fn handle(&self, _req: SyncmlRequest) -> SyncmlReply {
        panic!("no SyncML request is sent in these tests")
    }
}

const PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/><D:current-user-principal/></D:prop></D:propfind>"#;

const VCARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:proxy-1\r\nFN:Ada Lovelace\r\n\
N:Lovelace;Ada;;;\r\nTEL;TYPE=CELL:+44 20 7946 0000\r\nEND:VCARD\r\n";

fn start() -> (Radicale, Bridge) {
    let radicale = Radicale::start();
    let mut settings = settings(&radicale.base_url());
    // Radicale spends about 15 s of CPU parsing a 5 MB vCard; far longer on a loaded machine.
    settings.upstream_timeout = Duration::from_secs(300);
    let bridge = Bridge::start(settings, Arc::new(NoSyncml));
    (radicale, bridge)
}

fn propfind(http: &Client, url: &str, password: &str) -> Response {
    http.request(Method::from_bytes(b"PROPFIND").unwrap(), url)
        .basic_auth("alice", Some(password))
        .header("Depth", "1")
        .header("Content-Type", "application/xml; charset=utf-8")
        .body(PROPFIND)
        .send()
        .unwrap()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn propfind_authentication_and_well_known_pass_through_unchanged() {
    let (radicale, bridge) = start();
    let http = client();
    // Radicale creates the principal on first use; warm it up so both answers see the same state.
    assert_eq!(
        propfind(&http, &radicale.user_url("alice"), "secret").status(),
        207
    );

    let direct = propfind(&http, &radicale.user_url("alice"), "secret");
    let through = propfind(&http, &bridge.url("/alice/"), "secret");
    assert_eq!(through.status(), 207);
    assert_eq!(
        header(&through, "content-type"),
        header(&direct, "content-type")
    );
    let direct_body = direct.text().unwrap();
    assert!(direct_body.contains("/alice/"), "{direct_body}");
    assert_eq!(through.text().unwrap(), direct_body);

    let direct = propfind(&http, &radicale.user_url("alice"), "wrong");
    let through = propfind(&http, &bridge.url("/alice/"), "wrong");
    assert_eq!(direct.status(), 401);
    assert_eq!(through.status(), 401);
    let challenge = header(&direct, "www-authenticate");
    assert!(
        challenge.as_deref().is_some_and(|c| c.starts_with("Basic")),
        "{challenge:?}"
    );
    assert_eq!(header(&through, "www-authenticate"), challenge);
    assert_eq!(through.text().unwrap(), direct.text().unwrap());

    for path in ["/.well-known/carddav", "/.well-known/caldav"] {
        let direct = http
            .get(format!("{}{path}", radicale.base_url()))
            .basic_auth("alice", Some("secret"))
            .send()
            .unwrap();
        let through = http
            .get(bridge.url(path))
            .basic_auth("alice", Some("secret"))
            .send()
            .unwrap();
        assert!(
            direct.status().is_redirection(),
            "{path}: {}",
            direct.status()
        );
        assert_eq!(through.status(), direct.status(), "{path}");
        // An absolute Location on Radicale comes back relative to the origin.
        let location = header(&direct, "location");
        let expected = location
            .as_deref()
            .map(|l| l.replace(&radicale.base_url(), ""));
        assert_eq!(header(&through, "location"), expected, "{path}");
        assert_eq!(through.text().unwrap(), direct.text().unwrap(), "{path}");
    }
}

#[test]
fn a_vcard_is_created_read_and_deleted_through_the_bridge_and_big_uploads_stream() {
    let (radicale, bridge) = start();
    let through = WebDav::new(&bridge.base_url(), Some(("alice", "secret")));
    let direct = radicale.client("alice");

    through.create_addressbook("/alice/contacts/");
    let put = through.put(
        "/alice/contacts/ada.vcf",
        "text/vcard; charset=utf-8",
        VCARD,
    );
    assert_eq!(put.status, 201);
    let got_through = through.get("/alice/contacts/ada.vcf").expect("stored");
    let got_direct = direct.get("/alice/contacts/ada.vcf").expect("stored");
    assert!(
        got_through.body.contains("UID:proxy-1"),
        "{}",
        got_through.body
    );
    assert_eq!(got_through.body, got_direct.body);
    assert_eq!(got_through.etag, got_direct.etag);
    assert_eq!(got_through.etag, put.etag);

    // Five megabytes in one PUT, far above the SyncML body limit of this bridge (1 KiB):
    // the limit belongs to the SyncML path alone.
    let photo: String = "QUJD".repeat(5 * 1024 * 1024 / 4);
    let folded: Vec<&str> = photo
        .as_bytes()
        .chunks(74)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let big = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:proxy-big\r\nFN:Big Photo\r\nN:Photo;Big;;;\r\n\
         PHOTO;ENCODING=b;TYPE=JPEG:{}\r\nEND:VCARD\r\n",
        folded.join("\r\n ")
    );
    let length = big.len() as u64;
    let http = client();
    let stored = http
        .put(bridge.url("/alice/contacts/big.vcf"))
        .basic_auth("alice", Some("secret"))
        .header("Content-Type", "text/vcard; charset=utf-8")
        .body(Body::sized(std::io::Cursor::new(big.into_bytes()), length))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 201, "{:?}", stored.text());
    let big_through = http
        .get(bridge.url("/alice/contacts/big.vcf"))
        .basic_auth("alice", Some("secret"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let big_direct = direct.get("/alice/contacts/big.vcf").expect("stored");
    assert!(
        big_through.len() > 5 * 1024 * 1024,
        "{} bytes",
        big_through.len()
    );
    assert_eq!(&big_through[..], big_direct.body.as_bytes());

    assert!(through.delete("/alice/contacts/ada.vcf").is_success());
    assert!(direct.get("/alice/contacts/ada.vcf").is_none());
    assert!(through.get("/alice/contacts/ada.vcf").is_none());
}

#[test]
fn a_stopped_upstream_gives_502() {
    let (radicale, bridge) = start();
    let http = client();
    let up = propfind(&http, &bridge.url("/alice/"), "secret");
    assert_eq!(up.status(), 207);
    radicale.stop();
    let down = propfind(&http, &bridge.url("/alice/"), "secret");
    assert_eq!(down.status(), 502);
    assert!(down.text().unwrap().contains("unreachable"));
}
