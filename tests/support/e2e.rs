//! The end-to-end set-up: Radicale with alice's four standard collections, the bridge in front
//! of it, phones pointed at the bridge, and reads of what Radicale really holds.

use std::time::Duration;

use super::bridge::{Bridge, BridgeBuilder};
use super::items::unfold;
use super::radicale::Radicale;
use super::syncevolution::{ClientAuth, Datastore, Phone, PhoneOptions, SyncOutcome};
use super::webdav::WebDav;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "secret";
/// A second account, whose password is distinctive enough to look for in logs.
pub const OTHER_USER: &str = "bob";
pub const OTHER_PASSWORD: &str = "hunter2";

/// Radicale, alice's collections and a bridge in front of them.
pub struct World {
    pub bridge: Bridge,
    pub radicale: Radicale,
    /// `contacts/`, `calendar/`, `tasks/`, `notes/` of alice, as full URLs.
    pub collections: [String; 4],
}

impl World {
    /// A bridge with its default settings (phones log in with their DAV password).
    pub fn start() -> Self {
        Self::start_with(|b| b)
    }

    /// A bridge with settings added by `configure`.
    pub fn start_with(configure: impl FnOnce(BridgeBuilder) -> BridgeBuilder) -> Self {
        let radicale = Radicale::start();
        let collections = radicale.standard_collections(USER);
        radicale.standard_collections(OTHER_USER);
        let bridge = configure(Bridge::builder(&radicale.base_url())).start();
        Self {
            bridge,
            radicale,
            collections,
        }
    }

    /// alice's client on Radicale.
    pub fn dav(&self) -> WebDav {
        self.radicale.client(USER)
    }

    pub fn collection(&self, datastore: Datastore) -> &str {
        let i = Datastore::ALL
            .iter()
            .position(|d| *d == datastore)
            .unwrap_or_default();
        &self.collections[i]
    }

    /// Every item of alice's collection for `datastore`, as (href, body), sorted by href.
    pub fn server_items(&self, datastore: Datastore) -> Vec<(String, String)> {
        fetch_all(
            &self.dav(),
            self.collection(datastore),
            datastore == Datastore::Contacts,
        )
    }

    /// A phone logging in as alice with Basic auth (unless `options` says otherwise).
    pub fn phone(&self, device_id: &str, options: PhoneOptions) -> Phone {
        let mut phone = Phone::new();
        phone.configure(
            &self.bridge.syncml_url(),
            USER,
            PASSWORD,
            device_id,
            options,
        );
        phone
    }

    /// A phone logging in as `user` with `password`.
    pub fn phone_as(
        &self,
        user: &str,
        password: &str,
        device_id: &str,
        options: PhoneOptions,
    ) -> Phone {
        let mut phone = Phone::new();
        phone.configure(
            &self.bridge.syncml_url(),
            user,
            password,
            device_id,
            options,
        );
        phone
    }

    /// Every item of `user`'s collection for `datastore` (alice's URLs with the user swapped).
    pub fn server_items_of(&self, user: &str, datastore: Datastore) -> Vec<(String, String)> {
        let url = self
            .collection(datastore)
            .replace(&format!("/{USER}/"), &format!("/{user}/"));
        fetch_all(
            &self.radicale.client(user),
            &url,
            datastore == Datastore::Contacts,
        )
    }

    /// The requests Radicale logged so far, as (method, path), oldest first. Tests take the
    /// length before an action and look at what came after it.
    pub fn upstream_requests(&self) -> Vec<(String, String)> {
        upstream_requests_in(&self.radicale.log_text())
    }

    /// The last `lines` lines of the bridge's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.bridge.log_text();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Restarts the bridge on the same data dir and port.
    pub fn restart_bridge(self) -> Self {
        let World {
            bridge,
            radicale,
            collections,
        } = self;
        Self {
            bridge: bridge.restart(),
            radicale,
            collections,
        }
    }
}

/// The (method, path) of every `METHOD request for 'PATH'` line of a Radicale log.
pub fn upstream_requests_in(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|line| {
            let (head, rest) = line.split_once(" request for '")?;
            let method = head.rsplit(' ').next()?.to_owned();
            let path = rest.split('\'').next()?.to_owned();
            Some((method, path))
        })
        .collect()
}

/// How many of `requests` write (PUT, DELETE, MKCOL, PROPPATCH, MOVE).
pub fn writes_among(requests: &[(String, String)]) -> usize {
    requests
        .iter()
        .filter(|(m, _)| {
            matches!(
                m.as_str(),
                "PUT" | "DELETE" | "MKCOL" | "PROPPATCH" | "MOVE"
            )
        })
        .count()
}

/// Phone options for a datastore subset, Basic auth, a bound that suits the item count.
pub fn options(datastores: &[Datastore]) -> PhoneOptions {
    PhoneOptions {
        auth: ClientAuth::Basic,
        datastores: datastores.to_vec(),
        timeout: Duration::from_secs(180),
        ..PhoneOptions::default()
    }
}

/// Every member of a CardDAV/CalDAV collection with its data, in one REPORT.
pub fn fetch_all(dav: &WebDav, collection: &str, addressbook: bool) -> Vec<(String, String)> {
    let body = if addressbook {
        r#"<?xml version="1.0" encoding="utf-8"?>
<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><CR:address-data/></D:prop>
</CR:addressbook-query>"#
    } else {
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"/></C:filter>
</C:calendar-query>"#
    };
    let reply = dav.request(
        "REPORT",
        collection,
        &[
            ("Depth", "1"),
            ("Content-Type", "application/xml; charset=utf-8"),
        ],
        Some(body),
    );
    assert_eq!(
        reply.status, 207,
        "REPORT {collection} answered {}: {}",
        reply.status, reply.body
    );
    let mut items = parse_report(&reply.body);
    items.sort();
    items
}

/// (href, data) of every response of a multistatus carrying address-data or calendar-data.
fn parse_report(multistatus: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(multistatus);
    let mut items = Vec::new();
    let (mut href, mut data) = (String::new(), String::new());
    let mut field: Option<&'static str> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"response" => {
                    href.clear();
                    data.clear();
                }
                b"href" => field = Some("href"),
                b"address-data" | b"calendar-data" => field = Some("data"),
                _ => {}
            },
            Ok(Event::End(e)) => {
                match e.local_name().as_ref() {
                    b"response" if !data.is_empty() => {
                        items.push((href.trim().to_owned(), data.clone()));
                    }
                    _ => {}
                }
                field = None;
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map(|c| c.into_owned()).unwrap_or_default();
                match field {
                    Some("href") => href.push_str(&text),
                    Some("data") => data.push_str(&text),
                    _ => {}
                }
            }
            Ok(Event::CData(t)) if field == Some("data") => {
                data.push_str(&String::from_utf8_lossy(&t));
            }
            Ok(Event::Eof) => break,
            Err(e) => panic!("unparsable REPORT answer ({e}): {multistatus}"),
            _ => {}
        }
    }
    items
}

/// Panics with the report and output unless the run succeeded and `datastore` ended with
/// status 0 in mode `mode`.
pub fn assert_mode(outcome: &SyncOutcome, datastore: Datastore, mode: &str) {
    outcome.assert_success();
    let source = outcome.source(datastore);
    // The client names the same modes from its own side too: local is the phone.
    let seen = source
        .mode
        .as_deref()
        .map(|m| m.replace("-local", "-client").replace("-remote", "-server"));
    assert_eq!(
        seen.as_deref(),
        Some(mode),
        "{} ran as {:?}, expected {mode}; report {:?}",
        datastore.name(),
        source.mode,
        outcome.report
    );
    assert!(
        matches!(source.status, None | Some(0) | Some(200)),
        "{} ended with status {:?}: {:?}",
        datastore.name(),
        source.status,
        outcome.report
    );
}

/// The bodies of `items` (href, body) whose unfolded text contains `needle`.
pub fn containing<'a>(items: &'a [(String, String)], needle: &str) -> Vec<&'a str> {
    items
        .iter()
        .filter(|(_, body)| unfold(body).contains(needle))
        .map(|(_, body)| body.as_str())
        .collect()
}
