//! The background poller: asks the upstream whether the collections of push-enabled
//! devices changed, and alerts the devices that have something to sync.
//!
//! Per round and user: one Depth-0 PROPFIND per synced collection. Only when a
//! collection's tags moved since the state a device stored at the end of its last
//! session does the poller ask for the changes themselves, diffed against that state;
//! the engine recorded its own writes in it, so a change the device made itself is
//! not a reason to alert it. When such a check finds nothing new, the tags are
//! remembered, so the next round is one request again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;

use super::coalesce::{local_minute_now, Coalescing};
use super::san::AlertedSync;
use super::settings::{DevicePush, PushAddress};
use super::{AlertedDatastore, PushError, Transports};
use crate::config::PushConfig;
use crate::dav::{ChangeState, Credentials, DavClient, DavError};
use crate::in_session::{InSession, Look};
use crate::store::{AlertEntry, DeviceRecord, Store, StoreError, VaultKey, VaultStoreError};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("credential of {user}: {source}")]
    Vault {
        user: String,
        #[source]
        source: VaultStoreError,
    },
    #[error("upstream, {user} {collection}: {source}")]
    Dav {
        user: String,
        collection: String,
        #[source]
        source: DavError,
    },
}

/// What a round did, for logs, tests and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Users with at least one push-registered device.
    pub users: usize,
    /// Users skipped because no upstream credential is stored for them.
    pub without_credential: usize,
    /// Users whose every device was held (outstanding alert, interval, quiet hours).
    pub held: usize,
    /// Depth-0 "did it change?" requests.
    pub tag_checks: usize,
    /// Full change checks after the tags moved.
    pub change_checks: usize,
    /// Alerts handed to a transport.
    pub alerts_sent: usize,
    pub alerts_failed: usize,
    /// Users whose poll failed (upstream or store error), logged.
    pub errors: usize,
}

impl RoundReport {
    fn add(&mut self, o: &RoundReport) {
        self.users += o.users;
        self.without_credential += o.without_credential;
        self.held += o.held;
        self.tag_checks += o.tag_checks;
        self.change_checks += o.change_checks;
        self.alerts_sent += o.alerts_sent;
        self.alerts_failed += o.alerts_failed;
        self.errors += o.errors;
    }
}

/// The tags a device's stored collection state holds (its etag snapshot is not read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct StoredTags {
    sync_token: Option<String>,
    ctag: Option<String>,
}

impl StoredTags {
    fn as_state(&self) -> ChangeState {
        ChangeState {
            sync_token: self.sync_token.clone(),
            ctag: self.ctag.clone(),
            etags: BTreeMap::new(),
        }
    }
}

/// Tags seen upstream that held nothing new for a device, valid while the device's
/// stored state is the one they were checked against.
#[derive(Debug, Clone)]
struct Baseline {
    checked_against: (Option<i64>, StoredTags),
    tags: ChangeState,
}

type WatchKey = (String, String, String, String);

/// One device datastore watching a collection.
struct Watcher {
    device: usize,
    datastore: String,
    /// The datastore as the phone names it (what the alert must carry).
    server_uri: String,
    stored_json: String,
    stored: StoredTags,
}

/// The poller; cheap to share between tasks.
pub struct Poller {
    store: Arc<Store>,
    dav: DavClient,
    vault: Option<VaultKey>,
    config: PushConfig,
    transports: Transports,
    coalescing: Coalescing,
    in_flight: Semaphore,
    baselines: Mutex<HashMap<WatchKey, Baseline>>,
    in_session: Arc<InSession>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").finish_non_exhaustive()
    }
}

/// `sms:NUMBER` or `tcp:HOST:PORT`, as the alert history shows it.
pub fn transport_label(device: &DevicePush) -> String {
    match &device.address {
        PushAddress::Sms(n) => format!("sms:{n}"),
        PushAddress::Tcp(a) => format!("tcp:{a}"),
    }
}

impl Poller {
    pub fn new(
        store: Arc<Store>,
        dav: DavClient,
        vault: Option<VaultKey>,
        config: &PushConfig,
    ) -> Result<Self, PushError> {
        Ok(Poller {
            store,
            dav,
            vault,
            transports: Transports::from_config(config)?,
            coalescing: Coalescing::from_config(config),
            in_flight: Semaphore::new(config.max_requests_in_flight.max(1)),
            config: config.clone(),
            baselines: Mutex::new(HashMap::new()),
            in_session: InSession::new(),
        })
    }

    /// Leaves alone the devices these sessions show open: their change state is stored
    /// only when the session ends, and until then their own writes look like news.
    pub fn watching_sessions(mut self, in_session: Arc<InSession>) -> Self {
        self.in_session = in_session;
        self
    }

    /// Upstream requests made through the poller's client (give it its own client for
    /// a count of the poller alone).
    pub fn requests(&self) -> u64 {
        self.dav.requests_sent()
    }

    /// Polls forever, one round per `poll_interval_secs`, users spread over the interval.
    pub async fn run(self: Arc<Self>) {
        let interval = Duration::from_secs(self.config.poll_interval_secs.max(1));
        if self.vault.is_none() {
            tracing::warn!("push is enabled but no vault key is configured: no user can have push");
        }
        loop {
            let started = tokio::time::Instant::now();
            let report = self.clone().round(interval).await;
            tracing::debug!(?report, "push poll round done");
            tokio::time::sleep_until(started + interval).await;
        }
    }

    /// One round over every user with a push-registered device; user `i` of `n` starts
    /// `i * spread / n` after the round began. Returns when every user is done.
    pub async fn round(self: Arc<Self>, spread: Duration) -> RoundReport {
        let users = match self.push_users() {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "push poller cannot list devices");
                return RoundReport {
                    errors: 1,
                    ..RoundReport::default()
                };
            }
        };
        let n = users.len().max(1) as u32;
        let start = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (user, devices)) in users.into_iter().enumerate() {
            let me = self.clone();
            let at = start + spread / n * (i as u32);
            tasks.spawn(async move {
                tokio::time::sleep_until(at).await;
                me.poll_user(&user, devices).await
            });
        }
        let mut total = RoundReport::default();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(r) => total.add(&r),
                Err(e) => {
                    tracing::error!(error = %e, "push poll task failed");
                    total.errors += 1;
                }
            }
        }
        total
    }

    /// Users and their devices registered for push (with `push.sms` or `push.tcp`).
    fn push_users(&self) -> Result<BTreeMap<String, Vec<DeviceRecord>>, StoreError> {
        let mut out: BTreeMap<String, Vec<DeviceRecord>> = BTreeMap::new();
        for d in self.store.devices(None)? {
            if is_registered(&d) {
                out.entry(d.user.clone()).or_default().push(d);
            }
        }
        Ok(out)
    }

    /// Polls one user's collections and alerts the devices with changes to sync.
    pub async fn poll_user(&self, user: &str, devices: Vec<DeviceRecord>) -> RoundReport {
        let mut report = RoundReport {
            users: 1,
            ..RoundReport::default()
        };
        if let Err(e) = self.poll_user_inner(user, devices, &mut report).await {
            tracing::warn!(user, error = %e, "push poll failed");
            report.errors += 1;
        }
        report
    }

    async fn poll_user_inner(
        &self,
        user: &str,
        devices: Vec<DeviceRecord>,
        report: &mut RoundReport,
    ) -> Result<(), PollError> {
        let now = chrono::Utc::now().timestamp();
        let minute = local_minute_now();
        let mut alertable = Vec::new();
        for d in devices {
            let look = self.in_session.look(user, &d.device_id);
            if look.is_open() {
                tracing::trace!(user, device = %d.device_id, "in session: not polled");
                continue;
            }
            let push = match DevicePush::resolve(&d, &self.config) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(user, device = %d.device_id, error = %e, "push settings unusable");
                    continue;
                }
            };
            let alerts = self.store.push_alerts(user, &d.device_id)?;
            match self.coalescing.check(&alerts, d.last_sync, now, minute) {
                Ok(()) => alertable.push((d, push, look)),
                Err(hold) => tracing::trace!(user, device = %d.device_id, ?hold, "alert held"),
            }
        }
        if alertable.is_empty() {
            report.held += 1;
            return Ok(());
        }
        let Some(password) = self.credential(user)? else {
            tracing::debug!(user, "no stored upstream credential: no push");
            report.without_credential += 1;
            return Ok(());
        };
        let dav = self.dav.user(Credentials::new(user, password));

        let watch = self.watchers(user, &alertable)?;

        let mut to_alert: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (collection, watchers) in watch {
            let dav_err = |source| PollError::Dav {
                user: user.to_owned(),
                collection: collection.clone(),
                source,
            };
            let tags = {
                let _permit = self.in_flight.acquire().await;
                report.tag_checks += 1;
                dav.current_tags(&collection).await.map_err(dav_err)?
            };
            for w in watchers {
                let device = &alertable[w.device].0;
                if to_alert
                    .get(&w.device)
                    .is_some_and(|ds| ds.contains(&w.server_uri))
                {
                    continue;
                }
                let key = (
                    user.to_owned(),
                    device.device_id.clone(),
                    w.datastore.clone(),
                    collection.clone(),
                );
                let checked_against = (device.last_sync, w.stored.clone());
                let baseline = self
                    .baselines()
                    .get(&key)
                    .filter(|b| b.checked_against == checked_against)
                    .map(|b| b.tags.clone())
                    .unwrap_or_else(|| w.stored.as_state());
                if !baseline.differs_from(&tags) {
                    continue;
                }
                // The tags moved: find out whether anything the device has not seen changed.
                let stored: ChangeState = match serde_json::from_str(&w.stored_json) {
                    Ok(s) => s,
                    Err(_) => continue,
                };
                let changes = {
                    let _permit = self.in_flight.acquire().await;
                    report.change_checks += 1;
                    dav.changes(&collection, &stored).await.map_err(dav_err)?
                };
                if changes.changed.is_empty() && changes.deleted.is_empty() {
                    self.baselines().insert(
                        key,
                        Baseline {
                            checked_against,
                            tags: tags.clone(),
                        },
                    );
                } else {
                    tracing::debug!(user, device = %device.device_id, datastore = %w.datastore,
                        changed = changes.changed.len(), deleted = changes.deleted.len(),
                        "upstream changes for a push device");
                    to_alert.entry(w.device).or_default().push(w.server_uri);
                }
            }
        }

        for (i, datastores) in to_alert {
            let (device, push, look) = &alertable[i];
            // A session that began after the state was read may have written what was seen.
            if !self
                .in_session
                .look(user, &device.device_id)
                .quiet_since(look)
            {
                tracing::debug!(user, device = %device.device_id, "a session began: alert left to the next round");
                continue;
            }
            match self.alert(device, push, &datastores).await {
                Ok(true) => report.alerts_sent += 1,
                Ok(false) => report.alerts_failed += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The collections to check, each with the devices (indexes into `alertable`) and
    /// datastores that last saw it.
    fn watchers(
        &self,
        user: &str,
        alertable: &[(DeviceRecord, DevicePush, Look)],
    ) -> Result<BTreeMap<String, Vec<Watcher>>, PollError> {
        let mut watch: BTreeMap<String, Vec<Watcher>> = BTreeMap::new();
        for (i, (d, _, _)) in alertable.iter().enumerate() {
            for (datastore, state) in self.store.datastores(user, &d.device_id)? {
                for (collection, json) in state.collections {
                    let stored = match serde_json::from_str::<StoredTags>(&json) {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::warn!(user, device = %d.device_id, %datastore, error = %e,
                                "stored change state unreadable; waiting for the next sync");
                            continue;
                        }
                    };
                    watch.entry(collection).or_default().push(Watcher {
                        device: i,
                        datastore: datastore.clone(),
                        server_uri: state
                            .server_uri
                            .clone()
                            .unwrap_or_else(|| datastore.clone()),
                        stored_json: json,
                        stored,
                    });
                }
            }
        }
        Ok(watch)
    }

    fn baselines(&self) -> std::sync::MutexGuard<'_, HashMap<WatchKey, Baseline>> {
        // The map holds no invariant a panicking holder could break.
        self.baselines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn credential(&self, user: &str) -> Result<Option<String>, PollError> {
        let Some(vault) = &self.vault else {
            return Ok(None);
        };
        self.store
            .credential(vault, user)
            .map_err(|source| PollError::Vault {
                user: user.to_owned(),
                source,
            })
    }

    /// Sends one alert and records it; `Ok(false)` when the transport failed (recorded too).
    async fn alert(
        &self,
        device: &DeviceRecord,
        push: &DevicePush,
        datastores: &[String],
    ) -> Result<bool, PollError> {
        let alerted: Vec<AlertedDatastore> = datastores
            .iter()
            .map(|d| AlertedDatastore {
                server_uri: d.clone(),
                sync: AlertedSync::TwoWay,
                content_type: None,
            })
            .collect();
        let result = super::notify(push, &alerted, &self.transports).await;
        let ok = result.is_ok();
        let entry = AlertEntry {
            time: chrono::Utc::now().timestamp(),
            transport: transport_label(push),
            result: match &result {
                Ok(_) => "sent".into(),
                Err(e) => e.to_string(),
            },
            datastores: datastores.to_vec(),
        };
        if let Err(e) = &result {
            tracing::warn!(user = %device.user, device = %device.device_id, error = %e, "push alert failed");
        }
        self.store
            .record_alert(&device.user, &device.device_id, entry)?;
        Ok(ok)
    }
}

/// Whether a device has a push address (`push.sms` or `push.tcp`).
pub fn is_registered(d: &DeviceRecord) -> bool {
    use super::settings::keys;
    [keys::SMS, keys::TCP]
        .iter()
        .any(|k| d.settings.get(*k).is_some_and(|v| !v.trim().is_empty()))
}

/// Starts the poller on the current runtime.
pub fn spawn(poller: Poller) -> tokio::task::JoinHandle<()> {
    tokio::spawn(Arc::new(poller).run())
}
