//! What every session shares: configuration, the store, the upstream client, the tables.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::auth::{AccessList, AuthPolicy, Authenticator};
use super::throttle::{LoginThrottle, ThrottleSettings};
use crate::catalog::{AliasTable, Profiles, ServerCtCap};
use crate::config::{BackupConfig, Config};
use crate::dav::DavClient;
use crate::engine::{ConflictPolicy, UpstreamSource};
use crate::metrics::Metrics;
use crate::store::{Store, VaultKey};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Vault(#[from] crate::store::VaultLoadError),
    #[error("{0}")]
    Mappings(String),
    #[error("upstream client: {0}")]
    Dav(#[from] crate::dav::DavError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

pub struct Shared {
    pub store: Arc<Store>,
    pub dav: DavClient,
    /// Where sessions log in and read and write: `dav` itself in the server; the sync
    /// simulator's in-memory server in its runs ([`Shared::with_upstream`]).
    pub upstream: Arc<dyn UpstreamSource>,
    /// The time a session starts at (its anchors, the stamps of converted items).
    pub clock: Clock,
    pub auth: Authenticator,
    /// Failed log-ins, per client address and per user.
    pub throttle: LoginThrottle,
    pub aliases: AliasTable,
    pub profiles: Profiles,
    /// What the bridge's own DevInf says it keeps of each content type.
    pub server_ctcap: ServerCtCap,
    pub policy: ConflictPolicy,
    /// How long an interrupted session stays resumable (`sync.resume_within_hours`).
    pub resume_within: Duration,
    pub device_tz: chrono_tz::Tz,
    /// How long a silent session stays open (`limits.session_timeout_secs`).
    pub session_timeout: Duration,
    /// Most sessions open at once (`limits.max_sessions`).
    pub max_sessions: usize,
    /// Largest item the bridge accepts from a phone.
    pub max_obj_size: Option<u64>,
    /// Largest message the bridge accepts (announced as its MaxMsgSize).
    pub max_msg_size: u64,
    /// Bounds of every decode: depth, nesting, elements, commands and the items of
    /// `limits.max_items_per_message`.
    pub decode_limits: crate::syncml::DecodeLimits,
    /// How long a phone waits for any answer (`limits.answer_within_secs`).
    pub answer_within: Duration,
    /// Sessions, items and upstream requests are recorded here (`/metrics`).
    pub metrics: Metrics,
    /// Where backups go, and whether destructive syncs take one first.
    pub backup: BackupConfig,
    /// Devices whose SyncML messages are written to `<data_dir>/debug/` (`log.debug_devices`).
    pub debug_devices: Vec<String>,
    pub data_dir: std::path::PathBuf,
    /// The devices with a session open (the push poller leaves them alone).
    pub in_session: Arc<crate::in_session::InSession>,
}

fn throttle_settings(auth: &crate::config::AuthConfig) -> ThrottleSettings {
    ThrottleSettings {
        user_failures: auth.throttle_user_failures.max(1),
        address_failures: auth.throttle_address_failures.max(1),
        window: Duration::from_secs(auth.throttle_window_secs),
        checks_per_minute: auth.throttle_checks_per_minute,
        lockout: Duration::from_secs(auth.throttle_lockout_secs),
        max_lockout: Duration::from_secs(auth.throttle_max_lockout_secs),
        failure_delay: Duration::from_millis(auth.failure_delay_ms),
        max_failure_delay: Duration::from_millis(auth.max_failure_delay_ms),
    }
}

/// A source of the current time: the system's in the server, a scripted one in the
/// simulator so a run is the same every time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Clock {
        Clock(Arc::new(Utc::now))
    }

    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Shared {
    /// Sessions log in and sync against `upstream` and read the time from `clock`.
    pub fn with_upstream(mut self, upstream: Arc<dyn UpstreamSource>, clock: Clock) -> Shared {
        self.upstream = upstream;
        self.clock = clock;
        self
    }

    pub fn new(cfg: &Config, store: Arc<Store>) -> Result<Shared, SetupError> {
        let vault = VaultKey::load(&cfg.auth.vault_key, &cfg.auth.vault_key_file)?;
        if vault.is_none() {
            tracing::info!("no vault key configured: MD5 log-ins are refused, basic log-ins work");
        }
        let metrics = Metrics::new();
        let dav = DavClient::new(&cfg.upstream)?;
        dav.record_into(metrics.clone());
        Ok(Shared {
            store,
            upstream: Arc::new(dav.clone()),
            clock: Clock::system(),
            dav,
            auth: Authenticator {
                policy: AuthPolicy::from_config(&cfg.auth.policy),
                access: AccessList {
                    allow: cfg.auth.allow.clone(),
                    deny: cfg.auth.deny.clone(),
                },
                vault,
            },
            throttle: LoginThrottle::new(throttle_settings(&cfg.auth), metrics.clone()),
            aliases: AliasTable::builtin().map_err(|e| SetupError::Mappings(e.to_string()))?,
            profiles: Profiles::builtin().map_err(|e| SetupError::Mappings(e.to_string()))?,
            server_ctcap: ServerCtCap::builtin()
                .map_err(|e| SetupError::Mappings(e.to_string()))?,
            policy: ConflictPolicy::from_config(&cfg.sync.conflict_policy),
            resume_within: Duration::from_secs(cfg.sync.resume_within_hours.saturating_mul(3600)),
            device_tz: cfg.sync.device_timezone.parse().unwrap_or(chrono_tz::UTC),
            session_timeout: Duration::from_secs(cfg.limits.session_timeout_secs),
            max_sessions: cfg.limits.max_sessions,
            max_obj_size: Some(cfg.limits.max_object_size),
            max_msg_size: cfg.limits.max_body_bytes as u64,
            decode_limits: cfg.limits.decode_limits(),
            answer_within: Duration::from_secs(cfg.limits.answer_within_secs),
            metrics,
            backup: cfg.backup.clone(),
            debug_devices: cfg.log.debug_devices.clone(),
            data_dir: cfg.data_dir.clone(),
            in_session: crate::in_session::InSession::new(),
        })
    }
}
