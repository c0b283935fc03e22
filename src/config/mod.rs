//! The bridge's configuration: one TOML file, every key also settable by an
//! environment variable, validated once at start.
//!
//! Environment variables are named `SYNCML_BRIDGE_` followed by the key path in
//! upper case with `__` between a section and its key, e.g. `SYNCML_BRIDGE_LISTEN`
//! or `SYNCML_BRIDGE_LIMITS__MAX_BODY_BYTES`. Values are read as TOML values when
//! they parse as one (numbers, booleans, arrays) and as strings otherwise.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The prefix of every environment variable the configuration reads.
pub const ENV_PREFIX: &str = "SYNCML_BRIDGE_";

/// Variables with the prefix that are read by a command, not the configuration
/// (the backup CLI's upstream password).
pub const NON_CONFIG_ENV: &[&str] = &["SYNCML_BRIDGE_BACKUP_PASSWORD"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: no configuration key of that name")]
    UnknownEnv { var: String },
    #[error("configuration: {message}")]
    Shape { message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// The whole configuration. Field names are the TOML keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP listener binds to.
    pub listen: String,
    /// Directory of the embedded store (maps, anchors, device records).
    pub data_dir: PathBuf,
    /// Path on which SyncML messages are posted; every other path is proxied.
    pub syncml_path: String,
    /// More paths that take SyncML, for clients with a built-in default path (Funambol's
    /// `/funambol/ds`): only a POST declared as SyncML goes to the bridge there, anything
    /// else is proxied like any other path.
    pub syncml_aliases: Vec<String>,
    pub upstream: UpstreamConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub push: PushConfig,
    pub tls: TlsConfig,
    pub backup: BackupConfig,
    pub auth: AuthConfig,
    pub sync: SyncConfig,
}

/// TLS on the listener: served when both files are set, plain HTTP when neither is.
/// The files are read and parsed at start (`http::TlsSettings`), each error naming its key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file with the server certificate followed by its chain.
    pub cert_file: PathBuf,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl TlsConfig {
    /// Whether TLS is configured (both files named).
    pub fn enabled(&self) -> bool {
        !self.cert_file.as_os_str().is_empty() && !self.key_file.as_os_str().is_empty()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let cert = self.cert_file.as_os_str().is_empty();
        let key = self.key_file.as_os_str().is_empty();
        if cert != key {
            let (missing, given) = if cert {
                ("tls.cert_file", "tls.key_file")
            } else {
                ("tls.key_file", "tls.cert_file")
            };
            return Err(ConfigError::Invalid {
                key: missing.to_owned(),
                message: format!("must be set as well when `{given}` is"),
            });
        }
        Ok(())
    }
}

/// Where device backups go and when they are made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// URL of the WebDAV file collection that receives a user's backups; `{upstream}`
    /// is replaced by `upstream.url` (without its trailing `/`), `{user}` by the user.
    pub folder: String,
    /// Whether a backup is made before a destructive sync (refresh from client,
    /// one-way slow sync to the server).
    pub automatic: bool,
    /// Prefix of backup file names when the phone's `backup` parameter names none.
    pub prefix: String,
    /// Largest backup file written, in bytes.
    pub max_bytes: u64,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            folder: "{upstream}/remote.php/dav/files/{user}/SyncML backups/".into(),
            automatic: true,
            prefix: "backup".into(),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Who may log in and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `any`, `basic` or `md5`: the credential scheme phones must use.
    pub policy: String,
    /// Accounts (`alice`, `alice@example.org`) or domains (`*@example.org`) allowed to
    /// sync; empty allows everyone the upstream accepts.
    pub allow: Vec<String>,
    /// Accounts or domains refused even when the upstream accepts them.
    pub deny: Vec<String>,
    /// File holding the key (32 bytes, base64 or hex) that seals stored app passwords.
    pub vault_key_file: String,
    /// The vault key itself (meant for the environment variable); wins over the file.
    pub vault_key: String,
    /// Failed log-ins of one user within `throttle_window_secs` before its password is
    /// checked only `throttle_checks_per_minute` times a minute.
    pub throttle_user_failures: u32,
    /// Failed log-ins from one client address within the window before it is refused.
    pub throttle_address_failures: u32,
    pub throttle_window_secs: u64,
    pub throttle_checks_per_minute: u32,
    /// First refusal of an address, in seconds; doubles each time, up to the maximum.
    pub throttle_lockout_secs: u64,
    pub throttle_max_lockout_secs: u64,
    /// A failed log-in is answered after this many milliseconds times the address's
    /// failures so far, up to `max_failure_delay_ms`.
    pub failure_delay_ms: u64,
    pub max_failure_delay_ms: u64,
}

/// How items are synchronised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// `merge`, `server-wins`, `client-wins` or `duplicate`: what happens when the phone
    /// and the server both changed an item.
    pub conflict_policy: String,
    /// Time zone assumed for phones that send floating local times (IANA name).
    pub device_timezone: String,
    /// How long an interrupted session stays resumable (SyncML 1.2 Alert 225); 0: never.
    pub resume_within_hours: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            policy: "any".into(),
            allow: Vec::new(),
            deny: Vec::new(),
            vault_key_file: String::new(),
            vault_key: String::new(),
            throttle_user_failures: 5,
            throttle_address_failures: 20,
            throttle_window_secs: 900,
            throttle_checks_per_minute: 3,
            throttle_lockout_secs: 60,
            throttle_max_lockout_secs: 3600,
            failure_delay_ms: 250,
            max_failure_delay_ms: 5000,
        }
    }
}

impl BackupConfig {
    /// The backup folder URL for `user` on the upstream at `upstream_url`. The user
    /// name is percent-encoded as one path segment.
    pub fn folder_url(&self, upstream_url: &str, user: &str) -> Result<url::Url, ConfigError> {
        let user: String = url::form_urlencoded::byte_serialize(user.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let raw = self
            .folder
            .replace("{upstream}", upstream_url.trim_end_matches('/'))
            .replace("{user}", &user);
        let invalid = |message: String| ConfigError::Invalid {
            key: "backup.folder".into(),
            message,
        };
        let url =
            url::Url::parse(&raw).map_err(|e| invalid(format!("`{raw}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must be an http:// or https:// URL".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain a user name or password".into()));
        }
        Ok(url)
    }

    fn validate(&self, upstream_url: &str) -> Result<(), ConfigError> {
        self.folder_url(upstream_url, "user")?;
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.len() <= 32
            && self
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !prefix_ok {
            return Err(ConfigError::Invalid {
                key: "backup.prefix".into(),
                message: format!(
                    "`{}`: 1 to 32 ASCII letters, digits, `-` or `_`",
                    self.prefix
                ),
            });
        }
        if self.max_bytes == 0 {
            return Err(ConfigError::Invalid {
                key: "backup.max_bytes".into(),
                message: "must be greater than 0".into(),
            });
        }
        Ok(())
    }
}

/// A configured secret: read like a string, never shown by `Debug`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Server-alerted sync: when and how phones are told to sync.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// Whether the background poller watches the upstream for push-enabled devices.
    pub enabled: bool,
    /// Seconds between two checks of one collection.
    pub poll_interval_secs: u64,
    /// Most upstream change checks in flight at once.
    pub max_requests_in_flight: usize,
    /// Least number of seconds between two notifications to one device.
    pub min_alert_interval_secs: u64,
    /// `HH:MM-HH:MM` (local time) during which no notification is sent; empty for none.
    pub quiet_hours: String,
    /// Server identifier in the notification digest (what phones call the server ID).
    pub server_id: String,
    /// Server password in the notification digest; per device `push.server_password` wins.
    pub server_password: Secret,
    /// Nonce of the digest when the device has none from its last session.
    pub san_nonce: String,
    /// UI mode asked of the phone: `not-specified`, `background`, `informative`, `user-interaction`.
    pub ui_mode: String,
    /// Form for a device whose DevInf and version say nothing: `san` or `alert11`.
    pub default_form: String,
    /// WDP destination port of WAP pushes.
    pub wdp_destination_port: u16,
    /// WDP source port of WAP pushes.
    pub wdp_source_port: u16,
    /// `raw` (the notification bytes alone) or `http` (an HTTP POST) for TCP push.
    pub tcp_framing: String,
    /// Seconds allowed for one TCP push (connect, write and answer).
    pub tcp_timeout_secs: u64,
    /// SMS gateway: `none`, `kannel` or `webhook`.
    pub gateway: String,
    /// Seconds allowed for one request to the SMS gateway.
    pub gateway_timeout_secs: u64,
    pub kannel: KannelConfig,
    pub webhook: WebhookConfig,
}

/// Kannel's smsbox `sendsms` interface.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KannelConfig {
    /// The sendsms URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub url: String,
    pub username: String,
    pub password: Secret,
    /// Sender number or name; empty to let the SMSC choose.
    pub from: String,
    /// Route through this SMSC id; empty for Kannel's choice.
    pub smsc: String,
}

/// Any other SMS gateway, reached by an HTTP request built from templates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// URL template; see docs/configuration.md for the placeholders.
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    pub content_type: String,
    /// Body template (POST only).
    pub body: String,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            conflict_policy: "merge".into(),
            device_timezone: "UTC".into(),
            resume_within_hours: 24,
        }
    }
}

/// The DAV server behind the bridge and how to talk to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Base URL of the CalDAV/CardDAV server, e.g. `http://127.0.0.1:5232/`.
    pub url: String,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    /// How often an idempotent read is retried after a transport error or 5xx.
    pub read_retries: u32,
    /// How long a successful log-in is remembered (keyed by a hash, never the password).
    pub login_cache_secs: u64,
    /// Items per addressbook-multiget / calendar-multiget REPORT.
    pub multiget_batch: usize,
    /// Whether the bridge may create a missing collection (e.g. a VJOURNAL list for notes).
    pub create_missing_collections: bool,
    /// Explicit collection URLs per datastore kind, overriding discovery. `{user}` is
    /// replaced by the user name, e.g.
    /// `contacts = "https://cloud.example.org/remote.php/dav/addressbooks/users/{user}/contacts/"`.
    pub collections: BTreeMap<String, String>,
    /// How changes are found: `auto` (sync-collection where offered, else the etag
    /// listing) or `etag-diff` (always the Depth-1 `getetag` listing).
    pub change_detection: String,
    /// Requests to the upstream in flight at once, for the whole bridge; more wait.
    pub max_requests_in_flight: usize,
    /// Requests to the upstream in flight at once for one user (all its devices).
    pub max_requests_per_user: usize,
}

/// Explicit limits; every one answered with a clear error when exceeded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted on the SyncML path, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Largest single item accepted from a phone, whole or joined from chunks (416
    /// above); announced as the bridge's MaxObjSize.
    pub max_object_size: u64,
    /// Time allowed for one SyncML request, in seconds.
    pub request_timeout_secs: u64,
    /// Most item commands accepted in one SyncML message.
    pub max_items_per_message: usize,
    /// Deepest element nesting read from a SyncML message (the root is level 1).
    pub max_element_depth: usize,
    /// Most SyncML commands nested inside one another (Atomic, Sequence, Sync).
    pub max_command_nesting: usize,
    /// Most SyncML sessions open at once.
    pub max_sessions: usize,
    /// Seconds of silence after which a SyncML session is dropped.
    pub session_timeout_secs: u64,
    /// Most HTTP connections served at once; past it and the health-only connections,
    /// further clients wait in the accept backlog.
    pub max_connections: usize,
    /// Connections accepted beyond `max_connections` that answer only `/healthz` and
    /// `/metrics` (503 for anything else), so monitoring works while the cap is reached.
    pub health_connections: usize,
    /// Most connections from one client address at once; further ones are refused.
    pub max_connections_per_ip: usize,
    /// Most SyncML requests being received or answered at once; more wait.
    pub max_syncml_requests: usize,
    /// Seconds a SyncML request waits for its turn under `max_syncml_requests` (503 after).
    pub syncml_queue_secs: u64,
    /// Seconds after which a phone gets an answer, whatever the upstream does: what is
    /// ready, and a request for its next message while the work goes on.
    pub answer_within_secs: u64,
    /// Seconds a SyncML body may take beyond what `min_body_bytes_per_sec` allows for
    /// the bytes received so far (408 after).
    pub body_read_timeout_secs: u64,
    /// Slowest average rate a SyncML body may arrive at once
    /// `body_read_timeout_secs` are used up.
    pub min_body_bytes_per_sec: u64,
    /// Seconds a client may take to send its request head.
    pub header_read_timeout_secs: u64,
    /// Seconds in-flight requests may run on after a shutdown signal.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `syncml_bridge=debug`.
    pub filter: String,
    /// Device IDs whose SyncML messages are written, redacted, under
    /// `<data_dir>/debug/<device>/<session>/`.
    pub debug_devices: Vec<String>,
}

/// The path Funambol and Sync4j clients post to unless told otherwise.
pub const FUNAMBOL_PATH: &str = "/funambol/ds";

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            syncml_path: "/syncml".into(),
            syncml_aliases: vec![FUNAMBOL_PATH.into()],
            upstream: UpstreamConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            push: PushConfig::default(),
            tls: TlsConfig::default(),
            backup: BackupConfig::default(),
            auth: AuthConfig::default(),
            sync: SyncConfig::default(),
        }
    }
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            enabled: false,
            poll_interval_secs: 60,
            max_requests_in_flight: 8,
            min_alert_interval_secs: 300,
            quiet_hours: String::new(),
            server_id: "syncml-bridge".into(),
            server_password: Secret::default(),
            san_nonce: "Synthesis".into(),
            ui_mode: "not-specified".into(),
            default_form: "san".into(),
            wdp_destination_port: 2948,
            wdp_source_port: 49154,
            tcp_framing: "raw".into(),
            tcp_timeout_secs: 10,
            gateway: "none".into(),
            gateway_timeout_secs: 10,
            kannel: KannelConfig::default(),
            webhook: WebhookConfig::default(),
        }
    }
}

impl Default for KannelConfig {
    fn default() -> Self {
        KannelConfig {
            url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
            smsc: String::new(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            method: "POST".into(),
            content_type: "application/json".into(),
            body: r#"{"to":"${to}","udh":"${udh_hex}","data":"${data_hex}"}"#.into(),
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            url: "http://127.0.0.1:5232/".into(),
            connect_timeout_secs: 10,
            request_timeout_secs: 60,
            read_retries: 2,
            login_cache_secs: 300,
            multiget_batch: 100,
            create_missing_collections: true,
            collections: BTreeMap::new(),
            change_detection: "auto".into(),
            max_requests_in_flight: 32,
            max_requests_per_user: 4,
        }
    }
}

/// Element depths a message may be limited to: real messages reach about a dozen
/// levels (DevInf inside Put), and the codecs' trees are walked recursively.
const ELEMENT_DEPTH_RANGE: std::ops::RangeInclusive<usize> = 16..=256;
/// Command nestings a message may be limited to: the model is read recursively over
/// this nesting, at several kilobytes of stack per level.
const COMMAND_NESTING_RANGE: std::ops::RangeInclusive<usize> =
    1..=crate::syncml::limits::MAX_CONFIGURABLE_NESTING;

impl LimitsConfig {
    /// The bounds a SyncML message is decoded within: element depth and command
    /// nesting as configured, commands and elements in proportion to
    /// `max_items_per_message`.
    pub fn decode_limits(&self) -> crate::syncml::DecodeLimits {
        crate::syncml::DecodeLimits {
            max_depth: self.max_element_depth,
            max_nesting: self.max_command_nesting,
            ..crate::syncml::DecodeLimits::for_items(self.max_items_per_message)
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 4 * 1024 * 1024,
            max_object_size: 16 * 1024 * 1024,
            request_timeout_secs: 120,
            max_items_per_message: 1000,
            max_element_depth: crate::syncml::limits::MAX_DEPTH,
            max_command_nesting: crate::syncml::limits::MAX_NESTING,
            max_sessions: 2000,
            session_timeout_secs: 900,
            max_connections: 1024,
            health_connections: 16,
            max_connections_per_ip: 32,
            max_syncml_requests: 64,
            syncml_queue_secs: 15,
            answer_within_secs: 15,
            body_read_timeout_secs: 15,
            min_body_bytes_per_sec: 512,
            header_read_timeout_secs: 30,
            shutdown_grace_secs: 30,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "human".into(),
            filter: "info".into(),
            debug_devices: Vec::new(),
        }
    }
}

/// An invalid value of `key`.
fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        message,
    }
}

impl Config {
    /// Loads the file (when given), applies `SYNCML_BRIDGE_*` variables from `env`,
    /// and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        path: path.to_owned(),
                        message: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Shape {
                    message: e.to_string().trim().to_owned(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot; each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.validate_upstream()?;
        self.validate_limits()?;
        self.validate_choices()?;
        self.tls.validate()?;
        self.push.validate()?;
        self.backup.validate(&self.upstream.url)
    }

    fn validate_upstream(&self) -> Result<(), ConfigError> {
        let upstream = url::Url::parse(&self.upstream.url).map_err(|e| {
            invalid(
                "upstream.url",
                format!("`{}` is not a URL: {e}", self.upstream.url),
            )
        })?;
        if !matches!(upstream.scheme(), "http" | "https") {
            return Err(invalid(
                "upstream.url",
                "must be an http:// or https:// URL".into(),
            ));
        }
        for (kind, value) in &self.upstream.collections {
            let probe = value.replace("{user}", "user");
            url::Url::parse(&probe).map_err(|e| {
                invalid(
                    &format!("upstream.collections.{kind}"),
                    format!("`{value}` is not a URL: {e}"),
                )
            })?;
        }
        if !matches!(
            self.upstream.change_detection.as_str(),
            "auto" | "etag-diff"
        ) {
            return Err(invalid(
                "upstream.change_detection",
                format!(
                    "`{}`: expected `auto` or `etag-diff`",
                    self.upstream.change_detection
                ),
            ));
        }
        if !self.syncml_path.starts_with('/') || self.syncml_path.len() < 2 {
            return Err(invalid(
                "syncml_path",
                "must start with `/` and name a path, e.g. `/syncml`".into(),
            ));
        }
        if let Some(bad) = self
            .syncml_aliases
            .iter()
            .find(|p| !p.starts_with('/') || p.trim_end_matches('/').is_empty())
        {
            return Err(invalid(
                "syncml_aliases",
                format!("`{bad}` must start with `/` and name a path, e.g. `/funambol/ds`"),
            ));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), ConfigError> {
        let positive: [(&str, u64); 17] = [
            (
                "upstream.connect_timeout_secs",
                self.upstream.connect_timeout_secs,
            ),
            (
                "upstream.request_timeout_secs",
                self.upstream.request_timeout_secs,
            ),
            (
                "upstream.multiget_batch",
                self.upstream.multiget_batch as u64,
            ),
            ("limits.max_body_bytes", self.limits.max_body_bytes as u64),
            ("limits.max_object_size", self.limits.max_object_size),
            (
                "limits.request_timeout_secs",
                self.limits.request_timeout_secs,
            ),
            (
                "limits.max_items_per_message",
                self.limits.max_items_per_message as u64,
            ),
            ("limits.max_sessions", self.limits.max_sessions as u64),
            ("limits.answer_within_secs", self.limits.answer_within_secs),
            (
                "limits.session_timeout_secs",
                self.limits.session_timeout_secs,
            ),
            ("limits.max_connections", self.limits.max_connections as u64),
            (
                "limits.max_connections_per_ip",
                self.limits.max_connections_per_ip as u64,
            ),
            (
                "limits.max_syncml_requests",
                self.limits.max_syncml_requests as u64,
            ),
            (
                "limits.body_read_timeout_secs",
                self.limits.body_read_timeout_secs,
            ),
            (
                "limits.min_body_bytes_per_sec",
                self.limits.min_body_bytes_per_sec,
            ),
            (
                "limits.header_read_timeout_secs",
                self.limits.header_read_timeout_secs,
            ),
            (
                "limits.shutdown_grace_secs",
                self.limits.shutdown_grace_secs,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        for (key, value, range) in [
            (
                "limits.max_element_depth",
                self.limits.max_element_depth,
                ELEMENT_DEPTH_RANGE,
            ),
            (
                "limits.max_command_nesting",
                self.limits.max_command_nesting,
                COMMAND_NESTING_RANGE,
            ),
        ] {
            if !range.contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value}: expected {} to {}", range.start(), range.end()),
                ));
            }
        }
        Ok(())
    }

    /// Keys with a fixed set of values, and the log filter.
    fn validate_choices(&self) -> Result<(), ConfigError> {
        if !matches!(self.log.format.as_str(), "human" | "json") {
            return Err(invalid(
                "log.format",
                format!("`{}`: expected `human` or `json`", self.log.format),
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|e| invalid("log.filter", e.to_string()))?;
        if !matches!(self.auth.policy.as_str(), "any" | "basic" | "md5") {
            return Err(invalid(
                "auth.policy",
                format!("`{}`: expected `any`, `basic` or `md5`", self.auth.policy),
            ));
        }
        for (key, list) in [
            ("auth.allow", &self.auth.allow),
            ("auth.deny", &self.auth.deny),
        ] {
            if let Some(bad) = list.iter().find(|p| p.trim().is_empty()) {
                return Err(invalid(
                    key,
                    format!("`{bad}`: an empty entry matches nobody"),
                ));
            }
        }
        if !matches!(
            self.sync.conflict_policy.as_str(),
            "merge" | "server-wins" | "client-wins" | "duplicate"
        ) {
            return Err(invalid(
                "sync.conflict_policy",
                format!(
                    "`{}`: expected `merge`, `server-wins`, `client-wins` or `duplicate`",
                    self.sync.conflict_policy
                ),
            ));
        }
        if self.sync.device_timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "sync.device_timezone",
                format!("`{}` is not an IANA time zone", self.sync.device_timezone),
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| ConfigError::Invalid {
            key: "listen".into(),
            message: format!(
                "`{}` is not an address like 127.0.0.1:8080: {e}",
                self.listen
            ),
        })
    }
}

impl PushConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("push.{key}"),
            message,
        };
        let positive: [(&str, u64); 5] = [
            ("poll_interval_secs", self.poll_interval_secs),
            ("max_requests_in_flight", self.max_requests_in_flight as u64),
            ("tcp_timeout_secs", self.tcp_timeout_secs),
            ("gateway_timeout_secs", self.gateway_timeout_secs),
            ("wdp_destination_port", u64::from(self.wdp_destination_port)),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if !self.quiet_hours.is_empty() && parse_quiet_hours(&self.quiet_hours).is_none() {
            return Err(invalid(
                "quiet_hours",
                format!(
                    "`{}`: expected HH:MM-HH:MM, e.g. 22:00-07:00",
                    self.quiet_hours
                ),
            ));
        }
        let choices: [(&str, &str, &[&str]); 4] = [
            (
                "ui_mode",
                &self.ui_mode,
                &[
                    "not-specified",
                    "background",
                    "informative",
                    "user-interaction",
                ],
            ),
            ("default_form", &self.default_form, &["san", "alert11"]),
            ("tcp_framing", &self.tcp_framing, &["raw", "http"]),
            ("gateway", &self.gateway, &["none", "kannel", "webhook"]),
        ];
        for (key, value, allowed) in choices {
            if !allowed.contains(&value) {
                return Err(invalid(
                    key,
                    format!("`{value}`: expected one of {}", allowed.join(", ")),
                ));
            }
        }
        if self.server_id.is_empty() || self.server_id.len() > 255 {
            return Err(invalid("server_id", "must be 1 to 255 bytes long".into()));
        }
        let http_url = |key: &str, value: &str| -> Result<(), ConfigError> {
            let probe = value.replace(['{', '}'], "");
            match url::Url::parse(&probe) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
                _ => Err(invalid(
                    key,
                    format!("`{value}` is not an http:// or https:// URL"),
                )),
            }
        };
        match self.gateway.as_str() {
            "kannel" => http_url("kannel.url", &self.kannel.url)?,
            "webhook" => {
                http_url("webhook.url", &self.webhook.url)?;
                if !matches!(self.webhook.method.as_str(), "GET" | "POST") {
                    return Err(invalid(
                        "webhook.method",
                        format!("`{}`: expected GET or POST", self.webhook.method),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The quiet hours as minutes after midnight, start and end (end may be smaller:
    /// the span crosses midnight). `None` when unset.
    pub fn quiet_hours_minutes(&self) -> Option<(u16, u16)> {
        parse_quiet_hours(&self.quiet_hours)
    }
}

pub(crate) fn parse_quiet_hours(s: &str) -> Option<(u16, u16)> {
    let minutes = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some((minutes(a)?, minutes(b)?))
}

/// Every key path the configuration knows, as the environment names them are derived
/// from it. Tables of free keys (such as `upstream.collections`) end in `.*`.
pub fn known_keys() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(Config::default()) {
        collect_keys(&t, "", &mut out);
    }
    out.push("upstream.collections.*".into());
    out.sort();
    out.dedup();
    out
}

fn collect_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => collect_keys(t, &path, out),
            toml::Value::Table(_) => {}
            _ => out.push(path),
        }
    }
}

/// The environment variable that sets a key path.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let keys = known_keys();
    let defaults = toml::Value::try_from(Config::default()).ok();
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if NON_CONFIG_ENV.contains(&var.as_str()) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_lowercase()).collect();
        let dotted = path.join(".");
        let known = keys.iter().any(|k| {
            *k == dotted
                || k.strip_suffix(".*").is_some_and(|p| {
                    path.len() == p.split('.').count() + 1 && dotted.starts_with(&format!("{p}."))
                })
        });
        if !known {
            return Err(ConfigError::UnknownEnv { var });
        }
        // A key whose value is text keeps the variable as text, so `from = 12345` stays a
        // phone number rather than becoming an integer the string field refuses.
        let default = path.iter().try_fold(defaults.as_ref(), |v, part| {
            Some(v.and_then(|v| v.get(part.as_str())))
        });
        let value = match default.flatten() {
            Some(toml::Value::String(_)) | None => toml::Value::String(raw.clone()),
            Some(_) => parse_env_value(&raw),
        };
        let mut cursor = &mut *table;
        for (i, part) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cursor.insert(part.clone(), value.clone());
            } else {
                let entry = cursor
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => cursor = t,
                    _ => {
                        return Err(ConfigError::Invalid {
                            key: path[..=i].join("."),
                            message: "is not a table".into(),
                        })
                    }
                }
            }
        }
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    // A TOML scalar or array when it reads as one (`42`, `true`, `["a"]`), else the raw string.
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !matches!(v, toml::Value::Table(_)))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn digits_stay_text_for_text_keys() {
        let c = Config::load(
            None,
            env(&[
                ("SYNCML_BRIDGE_PUSH__KANNEL__FROM", "12345"),
                ("SYNCML_BRIDGE_LIMITS__MAX_SESSIONS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(c.push.kannel.from, "12345");
        assert_eq!(c.limits.max_sessions, 7);
    }

    #[test]
    fn env_overrides_file_and_nested_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\n[limits]\nmax_body_bytes = 10\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("SYNCML_BRIDGE_LIMITS__MAX_BODY_BYTES", "2048"),
                ("SYNCML_BRIDGE_UPSTREAM__URL", "http://dav.example:5232/"),
                (
                    "SYNCML_BRIDGE_UPSTREAM__COLLECTIONS__CONTACTS",
                    "http://dav.example/{user}/c/",
                ),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.limits.max_body_bytes, 2048);
        assert_eq!(c.upstream.url, "http://dav.example:5232/");
        assert_eq!(
            c.upstream.collections["contacts"],
            "http://dav.example/{user}/c/"
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        let err = Config::load(None, env(&[("SYNCML_BRIDGE_LISTEN", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("`listen`"), "{err}");
        let err =
            Config::load(None, env(&[("SYNCML_BRIDGE_LIMITS__MAX_SESSIONS", "0")])).unwrap_err();
        assert!(err.to_string().contains("limits.max_sessions"), "{err}");
        let err =
            Config::load(None, env(&[("SYNCML_BRIDGE_UPSTREAM__URL", "ftp://x/")])).unwrap_err();
        assert!(err.to_string().contains("upstream.url"), "{err}");
        let err = Config::load(
            None,
            env(&[("SYNCML_BRIDGE_UPSTREAM__CHANGE_DETECTION", "ctag")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("upstream.change_detection"),
            "{err}"
        );
        let c = Config::load(
            None,
            env(&[("SYNCML_BRIDGE_UPSTREAM__CHANGE_DETECTION", "etag-diff")]),
        )
        .unwrap();
        assert_eq!(c.upstream.change_detection, "etag-diff");
        let err = Config::load(None, env(&[("SYNCML_BRIDGE_NO_SUCH", "1")])).unwrap_err();
        assert!(err.to_string().contains("SYNCML_BRIDGE_NO_SUCH"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[limits]\nmax_bodybytes = 1\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("max_bodybytes"), "{err}");
    }

    #[test]
    fn decode_limits_follow_the_limits_section() {
        let mut c = Config::default();
        c.limits.max_items_per_message = 10;
        c.limits.max_element_depth = 20;
        c.limits.max_command_nesting = 3;
        let d = c.limits.decode_limits();
        assert_eq!((d.max_items, d.max_depth, d.max_nesting), (10, 20, 3));
        assert_eq!(d.max_commands, 4 * 10 + 256);
        c.validate().unwrap();
        c.limits.max_element_depth = 5000;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("limits.max_element_depth"), "{err}");
        c.limits.max_element_depth = 64;
        c.limits.max_command_nesting = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("limits.max_command_nesting"), "{err}");
    }

    #[test]
    fn every_key_is_documented() {
        let doc = include_str!("../../docs/configuration.md");
        for key in known_keys() {
            let key = key.replace(".*", ".<kind>");
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/configuration.md lacks `{key}`"
            );
        }
    }

    #[test]
    fn push_section_is_validated() {
        let c = Config::load(
            None,
            env(&[
                ("SYNCML_BRIDGE_PUSH__GATEWAY", "kannel"),
                ("SYNCML_BRIDGE_PUSH__QUIET_HOURS", "22:30-07:00"),
            ]),
        )
        .unwrap();
        assert_eq!(c.push.quiet_hours_minutes(), Some((22 * 60 + 30, 7 * 60)));
        for (var, value, key) in [
            (
                "SYNCML_BRIDGE_PUSH__QUIET_HOURS",
                "late",
                "push.quiet_hours",
            ),
            (
                "SYNCML_BRIDGE_PUSH__QUIET_HOURS",
                "25:00-07:00",
                "push.quiet_hours",
            ),
            ("SYNCML_BRIDGE_PUSH__GATEWAY", "smpp", "push.gateway"),
            ("SYNCML_BRIDGE_PUSH__UI_MODE", "loud", "push.ui_mode"),
            (
                "SYNCML_BRIDGE_PUSH__POLL_INTERVAL_SECS",
                "0",
                "push.poll_interval_secs",
            ),
            ("SYNCML_BRIDGE_PUSH__SERVER_ID", "", "push.server_id"),
        ] {
            let err = Config::load(None, env(&[(var, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{var}={value}: {err}");
        }
        let err = Config::load(
            None,
            env(&[
                ("SYNCML_BRIDGE_PUSH__GATEWAY", "webhook"),
                ("SYNCML_BRIDGE_PUSH__WEBHOOK__URL", "not a url"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("push.webhook.url"), "{err}");
    }

    #[test]
    fn backup_section_resolves_and_is_validated() {
        let c = Config::load(
            None,
            env(&[
                ("SYNCML_BRIDGE_UPSTREAM__URL", "https://cloud.example.org/"),
                (
                    "SYNCML_BRIDGE_BACKUP_PASSWORD",
                    "not a key, read by the backup command",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.backup
                .folder_url(&c.upstream.url, "ann b@x")
                .unwrap()
                .as_str(),
            "https://cloud.example.org/remote.php/dav/files/ann%20b%40x/SyncML%20backups/"
        );
        for (var, value, key) in [
            (
                "SYNCML_BRIDGE_BACKUP__FOLDER",
                "ftp://x/{user}/",
                "backup.folder",
            ),
            (
                "SYNCML_BRIDGE_BACKUP__FOLDER",
                "{user}/rel",
                "backup.folder",
            ),
            ("SYNCML_BRIDGE_BACKUP__PREFIX", "../x", "backup.prefix"),
            ("SYNCML_BRIDGE_BACKUP__MAX_BYTES", "0", "backup.max_bytes"),
        ] {
            let err = Config::load(None, env(&[(var, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{var}={value}: {err}");
        }
    }

    #[test]
    fn env_names_follow_key_paths() {
        assert_eq!(
            env_name("limits.max_body_bytes"),
            "SYNCML_BRIDGE_LIMITS__MAX_BODY_BYTES"
        );
        assert!(known_keys().contains(&"upstream.multiget_batch".to_string()));
    }
}

#[cfg(test)]
mod syncml_alias_tests {
    use super::*;

    #[test]
    fn funambols_default_path_is_a_syncml_alias_and_a_bad_alias_is_refused() {
        let mut c = Config::default();
        assert_eq!(c.syncml_aliases, [FUNAMBOL_PATH]);
        assert!(c.validate().is_ok());
        for bad in ["funambol/ds", "/", ""] {
            c.syncml_aliases = vec![bad.into()];
            let err = c.validate().expect_err(bad).to_string();
            assert!(err.contains("syncml_aliases"), "{err}");
        }
        c.syncml_aliases = Vec::new();
        assert!(c.validate().is_ok());
    }
}
