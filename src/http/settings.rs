//! What the front door needs from the configuration, resolved once at start.

use std::time::Duration;

use url::Url;

use super::tls::TlsSettings;
use super::HttpError;
use crate::config::Config;
use crate::metrics::Metrics;

/// Settings of the HTTP front door, built from [`Config`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Path the SyncML messages are posted to, e.g. `/syncml`.
    pub syncml_path: String,
    /// More paths where a POST declared as SyncML is SyncML (Funambol's default).
    pub syncml_aliases: Vec<String>,
    /// Largest SyncML request body, in bytes.
    pub max_body_bytes: usize,
    /// Time allowed to receive a SyncML body, and again to answer it.
    pub request_timeout: Duration,
    /// Time a client may take to send its request head.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further clients wait in the accept backlog.
    pub max_connections: usize,
    /// Connections accepted beyond `max_connections` that answer only `/healthz` and
    /// `/metrics`.
    pub health_connections: usize,
    /// Most connections from one client address at once.
    pub max_connections_per_ip: usize,
    /// Most SyncML requests being received or answered at once.
    pub max_syncml_requests: usize,
    /// How long a SyncML request waits for one of those before 503.
    pub syncml_queue: Duration,
    /// Time a SyncML body may take beyond what `min_body_bytes_per_sec` allows for the
    /// bytes received so far.
    pub body_read_timeout: Duration,
    /// Slowest average rate a SyncML body may arrive at.
    pub min_body_bytes_per_sec: u64,
    /// How long in-flight requests may run on after a shutdown signal.
    pub shutdown_grace: Duration,
    /// The DAV server every other path is passed to; only its origin is used, paths
    /// are forwarded unchanged.
    pub upstream: Url,
    pub upstream_connect_timeout: Duration,
    /// Time the upstream may take to start answering once it has the whole request
    /// (504 after).
    pub upstream_timeout: Duration,
    /// Certificate and key when the listener speaks TLS; `None` for plain HTTP.
    pub tls: Option<TlsSettings>,
    /// The registry `/metrics` exposes; hand clones of it to whatever records metrics.
    pub metrics: Metrics,
}

impl HttpSettings {
    pub fn from_config(config: &Config) -> Result<HttpSettings, HttpError> {
        let upstream = Url::parse(&config.upstream.url).map_err(|e| HttpError::Settings {
            key: "upstream.url",
            message: format!("`{}` is not a URL: {e}", config.upstream.url),
        })?;
        let settings = HttpSettings {
            syncml_path: config.syncml_path.clone(),
            syncml_aliases: config.syncml_aliases.clone(),
            max_body_bytes: config.limits.max_body_bytes,
            request_timeout: Duration::from_secs(config.limits.request_timeout_secs),
            header_read_timeout: Duration::from_secs(config.limits.header_read_timeout_secs),
            max_connections: config.limits.max_connections,
            health_connections: config.limits.health_connections,
            max_connections_per_ip: config.limits.max_connections_per_ip,
            max_syncml_requests: config.limits.max_syncml_requests,
            syncml_queue: Duration::from_secs(config.limits.syncml_queue_secs),
            body_read_timeout: Duration::from_secs(config.limits.body_read_timeout_secs),
            min_body_bytes_per_sec: config.limits.min_body_bytes_per_sec,
            shutdown_grace: Duration::from_secs(config.limits.shutdown_grace_secs),
            upstream,
            upstream_connect_timeout: Duration::from_secs(config.upstream.connect_timeout_secs),
            upstream_timeout: Duration::from_secs(config.upstream.request_timeout_secs),
            tls: TlsSettings::from_config(&config.tls)?,
            metrics: Metrics::new(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what the router relies on; settings built by hand (tests) pass here too.
    pub fn validate(&self) -> Result<(), HttpError> {
        let bad = |key, message: &str| {
            Err(HttpError::Settings {
                key,
                message: message.to_owned(),
            })
        };
        if !self.syncml_path.starts_with('/') || self.syncml_path.len() < 2 {
            return bad("syncml_path", "must start with `/` and name a path");
        }
        if !matches!(self.upstream.scheme(), "http" | "https") || !self.upstream.has_host() {
            return bad(
                "upstream.url",
                "must be an http:// or https:// URL with a host",
            );
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be greater than 0");
        }
        if self.max_connections_per_ip == 0 {
            return bad("limits.max_connections_per_ip", "must be greater than 0");
        }
        if self.max_syncml_requests == 0 {
            return bad("limits.max_syncml_requests", "must be greater than 0");
        }
        if self.min_body_bytes_per_sec == 0 {
            return bad("limits.min_body_bytes_per_sec", "must be greater than 0");
        }
        if self.max_body_bytes == 0 {
            return bad("limits.max_body_bytes", "must be greater than 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_configuration() {
        let mut config = Config::default();
        config.limits.max_body_bytes = 1234;
        config.syncml_path = "/sync".into();
        let s = HttpSettings::from_config(&config).unwrap();
        assert_eq!(s.max_body_bytes, 1234);
        assert_eq!(s.syncml_path, "/sync");
        assert_eq!(s.upstream.as_str(), "http://127.0.0.1:5232/");
        assert_eq!(s.request_timeout, Duration::from_secs(120));
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut s = HttpSettings::from_config(&Config::default()).unwrap();
        s.syncml_path = "syncml".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("syncml_path"));
        let mut config = Config::default();
        config.upstream.url = "not a url".into();
        let err = HttpSettings::from_config(&config).unwrap_err();
        assert!(err.to_string().contains("upstream.url"), "{err}");
    }
}
