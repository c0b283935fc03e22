//! The Radicale and Xandikos launchers start real servers that behave as the tests expect.

mod support;

use support::radicale::Radicale;
use support::webdav::{hrefs_of, url_path, Component};
use support::xandikos::{self, Xandikos};

const VCARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:harness-1\r\nFN:Ada Lovelace\r\n\
N:Lovelace;Ada;;;\r\nTEL;TYPE=CELL:+44 20 7946 0000\r\nEND:VCARD\r\n";

#[test]
fn radicale_accepts_alice_and_refuses_a_wrong_password() {
    let radicale = Radicale::start();
    let home = radicale.user_url("alice");

    let ok = radicale
        .client("alice")
        .request("PROPFIND", &home, &[("Depth", "0")], None);
    assert_eq!(ok.status, 207, "alice:secret must be accepted: {}", ok.body);

    let wrong = radicale.client_with("alice", "not-the-secret").request(
        "PROPFIND",
        &home,
        &[("Depth", "0")],
        None,
    );
    assert_eq!(wrong.status, 401, "a wrong password must be refused");

    let other = radicale
        .client("bob")
        .request("PROPFIND", &home, &[("Depth", "0")], None);
    assert_eq!(other.status, 403, "bob must not read alice's home");
}

#[test]
fn radicale_stores_and_returns_a_vcard_and_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let radicale = Radicale::builder().storage(data.path()).start();
    let [contacts, calendar, tasks, notes] = radicale.standard_collections("alice");
    let dav = radicale.client("alice");

    let card = format!("{contacts}ada.vcf");
    let put = dav.put(&card, "text/vcard; charset=utf-8", VCARD);
    assert_eq!(put.status, 201);
    let etag = put.etag.clone().expect("PUT answers an ETag");

    let got = dav.get(&card).expect("the card exists");
    assert!(got.body.contains("FN:Ada Lovelace"), "{}", got.body);
    assert_eq!(got.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(dav.list(&contacts), vec![url_path(&card)]);

    // A stale If-Match is refused: the DAV client's conflict handling depends on it.
    let stale = dav.request(
        "PUT",
        &card,
        &[("If-Match", "\"stale\""), ("Content-Type", "text/vcard")],
        Some(VCARD),
    );
    assert_eq!(stale.status, 412);

    // The three calendars exist with the component they were made for.
    let body = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:supported-calendar-component-set/></D:prop></D:propfind>"#;
    for (url, comp) in [
        (&calendar, Component::Event),
        (&tasks, Component::Todo),
        (&notes, Component::Journal),
    ] {
        let reply = dav.propfind(url, "0", body);
        assert!(
            reply.body.contains(&format!("name=\"{}\"", comp.name())),
            "{url}: {}",
            reply.body
        );
    }

    let radicale = radicale.restart();
    let dav = radicale.client("alice");
    let contacts = format!("{}contacts/", radicale.user_url("alice"));
    let again = dav
        .get(&format!("{contacts}ada.vcf"))
        .expect("the card survives a restart");
    assert!(again.body.contains("FN:Ada Lovelace"));
    assert_eq!(dav.list(&contacts).len(), 1);
}

#[test]
fn radicale_is_gone_after_drop() {
    let radicale = Radicale::start();
    let port = radicale.port();
    let pid = radicale.pid();
    drop(radicale);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still answers after drop"
    );
    // SAFETY: signal 0 only checks whether the process exists.
    let alive = unsafe { libc::kill(pid as i32, 0) } == 0;
    assert!(!alive, "radicale pid {pid} still exists after drop");
}

#[test]
fn xandikos_serves_its_default_collections() {
    let server = Xandikos::start();
    let dav = server.client();

    let calendars = dav.list(xandikos::CALENDAR_HOME);
    assert!(
        calendars.contains(&xandikos::DEFAULT_CALENDAR.to_owned()),
        "{calendars:?}"
    );
    let books = dav.list(xandikos::ADDRESSBOOK_HOME);
    assert!(
        books.contains(&xandikos::DEFAULT_ADDRESSBOOK.to_owned()),
        "{books:?}"
    );

    let principal = dav.propfind(
        xandikos::PRINCIPAL,
        "0",
        r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/></D:prop></D:propfind>"#,
    );
    assert_eq!(
        hrefs_of(&principal.body),
        vec![xandikos::PRINCIPAL.to_owned()]
    );
    assert!(principal.body.contains(xandikos::CALENDAR_HOME));

    let card = format!("{}ada.vcf", server.default_addressbook_url());
    dav.put(&card, "text/vcard", VCARD);
    let got = dav.get(&card).expect("card stored in Xandikos");
    assert!(got.body.contains("FN:Ada Lovelace"));

    let server = server.restart();
    let got = server
        .client()
        .get(&format!("{}ada.vcf", server.default_addressbook_url()))
        .expect("card survives a Xandikos restart");
    assert!(got.body.contains("UID:harness-1"));
}
