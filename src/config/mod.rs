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
    pub upstream: UpstreamConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub sync: SyncConfig,
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
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            policy: "any".into(),
            allow: Vec::new(),
            deny: Vec::new(),
            vault_key_file: String::new(),
            vault_key: String::new(),
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            conflict_policy: "merge".into(),
            device_timezone: "UTC".into(),
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
}

/// Explicit limits; every one answered with a clear error when exceeded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body accepted on the SyncML path, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Time allowed for one SyncML request, in seconds.
    pub request_timeout_secs: u64,
    /// Most item commands accepted in one SyncML message.
    pub max_items_per_message: usize,
    /// Most SyncML sessions open at once.
    pub max_sessions: usize,
    /// Seconds of silence after which a SyncML session is dropped.
    pub session_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: String,
    /// A `tracing` filter such as `info` or `syncml_bridge=debug`.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            syncml_path: "/syncml".into(),
            upstream: UpstreamConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            sync: SyncConfig::default(),
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
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout_secs: 120,
            max_items_per_message: 1000,
            max_sessions: 500,
            session_timeout_secs: 900,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "human".into(),
            filter: "info".into(),
        }
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
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.to_owned(),
            message,
        };
        self.listen_addr()?;
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
        let positive: [(&str, u64); 8] = [
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
            (
                "limits.request_timeout_secs",
                self.limits.request_timeout_secs,
            ),
            (
                "limits.max_items_per_message",
                self.limits.max_items_per_message as u64,
            ),
            ("limits.max_sessions", self.limits.max_sessions as u64),
            (
                "limits.session_timeout_secs",
                self.limits.session_timeout_secs,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
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
        for (key, list) in [("auth.allow", &self.auth.allow), ("auth.deny", &self.auth.deny)] {
            if let Some(bad) = list.iter().find(|p| p.trim().is_empty()) {
                return Err(invalid(key, format!("`{bad}`: an empty entry matches nobody")));
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
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
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
        let value = parse_env_value(&raw);
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
    fn env_names_follow_key_paths() {
        assert_eq!(
            env_name("limits.max_body_bytes"),
            "SYNCML_BRIDGE_LIMITS__MAX_BODY_BYTES"
        );
        assert!(known_keys().contains(&"upstream.multiget_batch".to_string()));
    }
}
