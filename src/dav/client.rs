//! The one pooled HTTP client to the upstream: timeouts, retries of idempotent reads,
//! request counting, and status handling shared by every operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use super::discovery_cache::DiscoveryCache;
use super::error::DavError;
use super::gate::UpstreamGate;
use super::login::{Credentials, LoginCache};
use crate::config::UpstreamConfig;
use crate::metrics::{Metrics, UpstreamOutcome};

/// The largest body read from the upstream in one answer.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// How changes in a collection are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeDetection {
    /// sync-collection where the server offers it, else the etag diff.
    Auto,
    /// Always the Depth-1 PROPFIND of `getetag` diffed against the snapshot.
    EtagDiff,
}

/// The settings the client runs with, taken from `[upstream]`.
#[derive(Debug, Clone)]
pub struct DavSettings {
    pub base: Url,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub read_retries: u32,
    pub login_cache: Duration,
    pub multiget_batch: usize,
    pub create_missing_collections: bool,
    /// Explicit collection URLs by datastore kind, with `{user}` still in them.
    pub collections: Vec<(String, String)>,
    pub change_detection: ChangeDetection,
    /// Upstream requests in flight at once, process-wide and per user; more queue.
    pub max_in_flight: usize,
    pub max_in_flight_per_user: usize,
}

impl DavSettings {
    pub fn from_config(c: &UpstreamConfig) -> Result<Self, DavError> {
        let base = Url::parse(&c.url).map_err(|e| DavError::InvalidUrl {
            url: c.url.clone(),
            message: e.to_string(),
        })?;
        if !base.username().is_empty() || base.password().is_some() {
            // Credentials come from the phone; a URL with its own would be sent instead.
            return Err(DavError::InvalidUrl {
                url: base.host_str().unwrap_or_default().to_owned(),
                message: "the upstream URL must not contain a user name or password".into(),
            });
        }
        let change_detection = match c.change_detection.as_str() {
            "auto" => ChangeDetection::Auto,
            "etag-diff" => ChangeDetection::EtagDiff,
            other => {
                return Err(DavError::Setup {
                    message: format!("unknown change_detection `{other}`"),
                })
            }
        };
        Ok(DavSettings {
            base,
            connect_timeout: Duration::from_secs(c.connect_timeout_secs),
            request_timeout: Duration::from_secs(c.request_timeout_secs),
            read_retries: c.read_retries,
            login_cache: Duration::from_secs(c.login_cache_secs),
            multiget_batch: c.multiget_batch.max(1),
            create_missing_collections: c.create_missing_collections,
            collections: c
                .collections
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            change_detection,
            max_in_flight: c.max_requests_in_flight,
            max_in_flight_per_user: c.max_requests_per_user,
        })
    }
}

struct Inner {
    http: reqwest::Client,
    settings: DavSettings,
    login: LoginCache,
    requests: AtomicU64,
    gate: UpstreamGate,
    discoveries: DiscoveryCache,
    /// Where each request's outcome and latency is recorded, once set.
    metrics: std::sync::OnceLock<Metrics>,
}

/// The upstream client, shared by every session (cheap to clone).
#[derive(Clone)]
pub struct DavClient {
    inner: Arc<Inner>,
}

/// One request to send; the body is shared so a retry costs no copy.
pub(crate) struct DavRequest {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl DavRequest {
    pub fn new(method: &str, url: Url) -> Self {
        DavRequest {
            // Every method name used here is a valid token.
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self, DavError> {
        let value = HeaderValue::from_str(value).map_err(|_| DavError::InvalidUrl {
            url: self.url.to_string(),
            message: format!("value for header {name} is not valid"),
        })?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    pub fn xml(mut self, body: String) -> Self {
        self.headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        );
        self.body = Some(Bytes::from(body));
        self
    }

    fn is_idempotent_read(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD" | "PROPFIND" | "REPORT")
    }
}

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct DavResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: Url,
}

impl DavResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error for this answer when the operation did not expect its status.
    pub fn error(&self, method: &str) -> DavError {
        DavError::from_status(method, self.url.as_str(), self.status)
    }
}

impl DavClient {
    pub fn new(config: &UpstreamConfig) -> Result<Self, DavError> {
        Self::with_settings(DavSettings::from_config(config)?)
    }

    pub fn with_settings(settings: DavSettings) -> Result<Self, DavError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // Redirects are followed by hand where DAV allows them (discovery).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("syncml-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DavError::Setup {
                message: e.to_string(),
            })?;
        Ok(DavClient {
            inner: Arc::new(Inner {
                http,
                login: LoginCache::new(settings.login_cache),
                discoveries: DiscoveryCache::default(),
                gate: UpstreamGate::new(settings.max_in_flight, settings.max_in_flight_per_user),
                settings,
                requests: AtomicU64::new(0),
                metrics: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn settings(&self) -> &DavSettings {
        &self.inner.settings
    }

    pub(crate) fn discoveries(&self) -> &DiscoveryCache {
        &self.inner.discoveries
    }

    pub(crate) fn login_cache(&self) -> &LoginCache {
        &self.inner.login
    }

    /// Records every later request (and its clones') into `metrics`; a client records
    /// into the first handle it is given.
    pub fn record_into(&self, metrics: Metrics) {
        let _ = self.inner.metrics.set(metrics);
    }

    /// How many HTTP requests went to the upstream since the client was made,
    /// retries included.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Sends a request as `creds`, retrying idempotent reads after a transport error
    /// or a 5xx. Any status is returned; the caller decides what it means.
    pub(crate) async fn send(
        &self,
        creds: &Credentials,
        req: DavRequest,
    ) -> Result<DavResponse, DavError> {
        let retries = if req.is_idempotent_read() {
            self.inner.settings.read_retries
        } else {
            0
        };
        let mut attempt = 0;
        loop {
            let result = self.send_once(creds, &req).await;
            let retry = match &result {
                Ok(resp) => resp.status.is_server_error(),
                Err(e) => e.is_unavailable(),
            };
            if !retry || attempt >= retries {
                return result;
            }
            attempt += 1;
            tracing::debug!(method = %req.method, url = %req.url, attempt, "retrying upstream read");
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
    }

    async fn send_once(
        &self,
        creds: &Credentials,
        req: &DavRequest,
    ) -> Result<DavResponse, DavError> {
        let started = Instant::now();
        // Waiting for a slot counts against the request's own time limit.
        let wait = self.inner.settings.request_timeout;
        let Ok(_permits) = self.inner.gate.enter(creds.user(), wait).await else {
            tracing::warn!(method = %req.method, "upstream request not started: no free slot within the request timeout");
            return Err(DavError::Timeout {
                method: req.method.to_string(),
                url: req.url.to_string(),
            });
        };
        let result = self.exchange(creds, req, started).await;
        if let Some(m) = self.inner.metrics.get() {
            let outcome = match &result {
                Ok(resp) => UpstreamOutcome::Status(resp.status.as_u16()),
                Err(_) => UpstreamOutcome::TransportError,
            };
            m.upstream_request(method_label(&req.method), outcome, started.elapsed());
        }
        result
    }

    async fn exchange(
        &self,
        creds: &Credentials,
        req: &DavRequest,
        started: Instant,
    ) -> Result<DavResponse, DavError> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), req.url.clone())
            .headers(req.headers.clone())
            .basic_auth(creds.user(), Some(creds.password()));
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let transport = |e: reqwest::Error| self.transport_error(req, e);
        let mut resp = builder.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(DavError::TooLarge {
                    url: req.url.to_string(),
                    limit: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            method = %req.method,
            url = %req.url,
            status = status.as_u16(),
            bytes = body.len(),
            ms = started.elapsed().as_millis() as u64,
            "upstream request"
        );
        Ok(DavResponse {
            status,
            headers,
            body: Bytes::from(body),
            url: req.url.clone(),
        })
    }

    fn transport_error(&self, req: &DavRequest, e: reqwest::Error) -> DavError {
        let (method, url) = (req.method.to_string(), req.url.to_string());
        if e.is_timeout() {
            DavError::Timeout { method, url }
        } else {
            // The source chain says why (refused, reset, TLS); it never holds headers.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            DavError::Unreachable {
                method,
                url,
                message,
            }
        }
    }
}

/// The metric label of a method: the fixed names the client sends, so labels stay bounded.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 10] = [
        "GET",
        "HEAD",
        "PUT",
        "DELETE",
        "PROPFIND",
        "PROPPATCH",
        "REPORT",
        "MKCOL",
        "MKCALENDAR",
        "OPTIONS",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("OTHER")
}
