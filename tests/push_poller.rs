//! The push poller against a real Radicale, alerting a device over TCP to a listener
//! the test starts: one tag check per collection and round, no alert for the device's
//! own writes, one alert per upstream change, nothing new while an alert is outstanding,
//! no alert while the device's own session is open, and no push for a user without a
//! stored credential.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use support::radicale::Radicale;
use syncml_bridge::config::{PushConfig, UpstreamConfig};
use syncml_bridge::dav::{ChangeState, Credentials, DavClient};
use syncml_bridge::in_session::InSession;
use syncml_bridge::push::poller::{Poller, RoundReport};
use syncml_bridge::push::san::San;
use syncml_bridge::push::settings::keys;
use syncml_bridge::store::{DatastoreKey, DatastoreState, DeviceRecord, Store, VaultKey};

const VCARD: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u-1\r\nFN:Ann\r\nN:;Ann;;;\r\nEND:VCARD\r\n";

fn card(uid: &str) -> String {
    VCARD.replace("u-1", uid)
}

/// A device listener: every accepted connection's bytes go to the channel.
fn listener() -> (std::net::SocketAddr, mpsc::Receiver<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { break };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            if tx.send(got).is_err() {
                break;
            }
        }
    });
    (addr, rx)
}

struct Fixture {
    radicale: Radicale,
    store: Arc<Store>,
    dav: DavClient,
    poller: Arc<Poller>,
    collection: String,
    key: DatastoreKey,
    rt: tokio::runtime::Runtime,
    in_session: Arc<InSession>,
}

impl Fixture {
    fn new(device_addr: std::net::SocketAddr) -> (Fixture, tempfile::TempDir) {
        let radicale = Radicale::start();
        let [contacts, ..] = radicale.standard_collections("alice");
        let collection = support::webdav::url_path(&contacts);
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let vault = VaultKey::from_text(&"ab".repeat(32)).unwrap();
        store
            .put_credential(&vault, "alice", radicale.password("alice"))
            .unwrap();
        for (user, device) in [("alice", "phone-1"), ("bob", "phone-2")] {
            store
                .put_device(&DeviceRecord {
                    user: user.into(),
                    device_id: device.into(),
                    syncml_version: Some("1.2".into()),
                    settings: [(keys::TCP.to_string(), device_addr.to_string())]
                        .into_iter()
                        .collect(),
                    ..Default::default()
                })
                .unwrap();
        }
        let upstream = UpstreamConfig {
            url: radicale.base_url(),
            ..UpstreamConfig::default()
        };
        let dav = DavClient::new(&upstream).unwrap();
        let config = PushConfig {
            enabled: true,
            min_alert_interval_secs: 0,
            ..PushConfig::default()
        };
        let in_session = InSession::new();
        let poller = Arc::new(
            Poller::new(
                store.clone(),
                DavClient::new(&upstream).unwrap(),
                Some(vault),
                &config,
            )
            .unwrap()
            .watching_sessions(in_session.clone()),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let fixture = Fixture {
            radicale,
            store,
            dav,
            poller,
            collection,
            key: DatastoreKey::new("alice", "phone-1", "contacts"),
            rt,
            in_session,
        };
        (fixture, dir)
    }

    fn user(&self) -> syncml_bridge::dav::DavUser {
        self.dav
            .user(Credentials::new("alice", self.radicale.password("alice")))
    }

    /// What the engine does at the end of a session: the collection's state (with the
    /// session's own writes recorded) and the device's `last_sync` move on.
    fn device_synced(&self, own_writes: &[(&str, &str)], at: i64) {
        let dav = self.user();
        let changes = self
            .rt
            .block_on(dav.changes(&self.collection, &ChangeState::default()))
            .unwrap();
        let mut state = changes.state;
        let mut written = Vec::new();
        for (name, body) in own_writes {
            let w = self
                .rt
                .block_on(dav.create(&self.collection, name, "text/vcard", body.to_string()))
                .unwrap();
            written.push(w);
        }
        for w in &written {
            state.record_write(&w.href, &w.etag);
        }
        self.store
            .put_datastore_state(
                &self.key,
                &DatastoreState {
                    collections: [(
                        self.collection.clone(),
                        serde_json::to_string(&state).unwrap(),
                    )]
                    .into_iter()
                    .collect(),
                    last_sync: Some(at),
                    ..Default::default()
                },
            )
            .unwrap();
        self.store
            .update_device("alice", "phone-1", |d| d.last_sync = Some(at))
            .unwrap()
            .unwrap();
    }

    fn round(&self) -> RoundReport {
        self.rt.block_on(self.poller.clone().round(Duration::ZERO))
    }

    fn plain_put(&self, name: &str, uid: &str) {
        let r = self.radicale.client("alice").put(
            &format!(
                "{}{}{name}",
                self.radicale.base_url().trim_end_matches('/'),
                self.collection
            ),
            "text/vcard",
            &card(uid),
        );
        assert!(r.is_success(), "PUT {name}: {}", r.status);
    }
}

#[test]
fn poller_alerts_once_per_upstream_change_and_never_for_own_writes() {
    let (addr, received) = listener();
    let (f, _dir) = Fixture::new(addr);
    let earlier = chrono::Utc::now().timestamp() - 10;
    f.device_synced(&[], earlier);

    // Nothing changed: one tag check for alice's one collection; bob has no credential.
    let r = f.round();
    assert_eq!(r.users, 2, "{r:?}");
    assert_eq!(r.without_credential, 1, "{r:?}");
    assert_eq!(
        (r.tag_checks, r.change_checks, r.alerts_sent),
        (1, 0, 0),
        "{r:?}"
    );

    // The device's own session wrote an item: the tags moved, the diff finds only its
    // own write, no alert; the round after is one request again.
    f.device_synced(&[("own.vcf", &card("own"))], earlier);
    let r = f.round();
    assert_eq!(
        (r.tag_checks, r.change_checks, r.alerts_sent),
        (1, 1, 0),
        "{r:?}"
    );
    let r = f.round();
    assert_eq!(
        (r.tag_checks, r.change_checks, r.alerts_sent),
        (1, 0, 0),
        "{r:?}"
    );
    assert!(
        received.try_recv().is_err(),
        "no alert for the device's own write"
    );

    // A plain PUT by someone else: exactly one alert.
    f.plain_put("other.vcf", "other");
    let r = f.round();
    assert_eq!(r.alerts_sent, 1, "{r:?}");
    let bytes = received.recv_timeout(Duration::from_secs(10)).unwrap();
    let san = San::parse(&bytes).unwrap().san;
    assert_eq!(san.syncs.len(), 1);
    assert_eq!(san.syncs[0].server_uri, "contacts");
    let history = f.store.push_alerts("alice", "phone-1").unwrap().history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].result, "sent");
    assert_eq!(history[0].transport, format!("tcp:{addr}"));

    // Another change while the alert is outstanding: no request, no SMS.
    f.plain_put("more.vcf", "more");
    let r = f.round();
    assert_eq!((r.held, r.tag_checks, r.alerts_sent), (1, 0, 0), "{r:?}");
    assert!(received.recv_timeout(Duration::from_millis(300)).is_err());

    // The device syncs (its session ends after the alert); the next change raises the
    // next alert.
    f.device_synced(&[], history[0].time);
    let r = f.round();
    assert_eq!(r.alerts_sent, 0, "{r:?}");
    f.plain_put("third.vcf", "third");
    let r = f.round();
    assert_eq!(r.alerts_sent, 1, "{r:?}");
    assert!(received.recv_timeout(Duration::from_secs(10)).is_ok());
    assert_eq!(
        f.store
            .push_alerts("alice", "phone-1")
            .unwrap()
            .history
            .len(),
        2
    );
}

/// Seen with SyncEvolution and Kannel (`push_e2e`): the phone's Add was written upstream,
/// the poller's round came before the session ended and stored the state that records
/// it, and the phone got an SMS about its own change.
#[test]
fn a_write_of_a_session_still_open_raises_no_alert() {
    let (addr, received) = listener();
    let (f, _dir) = Fixture::new(addr);
    let earlier = chrono::Utc::now().timestamp() - 10;
    f.device_synced(&[], earlier);

    let session = f.in_session.enter("alice", "phone-1");
    f.plain_put("own.vcf", "own");
    let r = f.round();
    assert_eq!((r.tag_checks, r.alerts_sent), (0, 0), "{r:?}");
    // The session ends: its state records the write as the device's own.
    f.device_synced(&[], earlier);
    drop(session);
    let r = f.round();
    assert_eq!(r.alerts_sent, 0, "{r:?}");
    assert!(received.recv_timeout(Duration::from_millis(300)).is_err());

    // Another device's session of the same user does not hide a change from this one.
    let other = f.in_session.enter("alice", "phone-9");
    f.plain_put("other.vcf", "other");
    let r = f.round();
    assert_eq!(r.alerts_sent, 1, "{r:?}");
    assert!(received.recv_timeout(Duration::from_secs(10)).is_ok());
    drop(other);
}
