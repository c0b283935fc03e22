//! The bridge's metrics and their Prometheus text exposition (`GET /metrics`).
//!
//! [`Metrics`] is a cheap handle (one `Arc`) that the session, the engine, the DAV client
//! and the push poller call by name. Label values are `&'static str` or small enums on
//! purpose: nothing a phone sends can become a label, so the number of series stays
//! bounded however many devices connect.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The media type of the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the upstream latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Which way an item travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// From the phone into the DAV server.
    FromDevice,
    /// From the DAV server to the phone.
    ToDevice,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::FromDevice => "from_device",
            Direction::ToDevice => "to_device",
        }
    }
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemChange {
    Added,
    Replaced,
    Deleted,
}

impl ItemChange {
    fn label(self) -> &'static str {
        match self {
            ItemChange::Added => "added",
            ItemChange::Replaced => "replaced",
            ItemChange::Deleted => "deleted",
        }
    }
}

/// How an upstream request ended: an HTTP status, or no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UpstreamOutcome {
    Status(u16),
    /// Connect error, timeout, broken connection: no status was received.
    TransportError,
}

impl UpstreamOutcome {
    fn label(self) -> String {
        match self {
            UpstreamOutcome::Status(code) => code.to_string(),
            UpstreamOutcome::TransportError => "error".to_owned(),
        }
    }
}

/// A cheap, cloneable handle on the process's metrics.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Registry>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("active_sessions", &self.active_sessions())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Registry {
    sessions_started: Counters<&'static str>,
    sessions_completed: Counters<&'static str>,
    sessions_failed: Counters<&'static str>,
    sessions_active: AtomicI64,
    items: Counters<(Direction, &'static str, ItemChange)>,
    upstream_requests: Counters<(&'static str, UpstreamOutcome)>,
    upstream_latency: Histograms<(&'static str, UpstreamOutcome)>,
    push_sent: Counters<&'static str>,
    push_failed: Counters<&'static str>,
    login_failures: Counters<&'static str>,
    login_throttled: Counters<&'static str>,
    refused: Counters<&'static str>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A SyncML session started with this sync type (a fixed name such as `two-way` or
    /// `slow`). The returned tracker counts the session as active until it is marked
    /// completed or failed; dropped unmarked (timed out, abandoned), it counts as failed.
    pub fn session_started(&self, sync_type: &'static str) -> SessionTracker {
        self.inner.sessions_started.add(sync_type, 1);
        self.inner.sessions_active.fetch_add(1, Ordering::Relaxed);
        SessionTracker {
            metrics: self.clone(),
            sync_type,
            finished: false,
        }
    }

    /// Sessions open now.
    pub fn active_sessions(&self) -> i64 {
        self.inner.sessions_active.load(Ordering::Relaxed)
    }

    /// `count` items of `datastore` (`contacts`, `events`, `tasks`, `notes`) changed in
    /// one direction.
    pub fn items(
        &self,
        direction: Direction,
        datastore: &'static str,
        change: ItemChange,
        count: u64,
    ) {
        self.inner.items.add((direction, datastore, change), count);
    }

    /// One upstream request (`method` such as `PROPFIND`, `REPORT`, `PUT`) and how long
    /// it took until its answer, or its failure.
    pub fn upstream_request(
        &self,
        method: &'static str,
        outcome: UpstreamOutcome,
        elapsed: Duration,
    ) {
        let key = (method, outcome);
        self.inner.upstream_requests.add(key, 1);
        self.inner
            .upstream_latency
            .observe(key, elapsed.as_secs_f64());
    }

    /// A push notification handed to its transport (`sms`, `tcp`) successfully.
    pub fn push_alert_sent(&self, transport: &'static str) {
        self.inner.push_sent.add(transport, 1);
    }

    /// A push notification that its transport could not deliver.
    pub fn push_alert_failed(&self, transport: &'static str) {
        self.inner.push_failed.add(transport, 1);
    }

    /// A log-in refused for wrong credentials.
    pub fn login_failed(&self) {
        self.inner.login_failures.add("credentials", 1);
    }

    /// A log-in attempt refused by the throttle (`address` or `user`).
    pub fn login_throttled(&self, scope: &'static str) {
        self.inner.login_throttled.add(scope, 1);
    }

    /// A connection or request the front door turned away before any SyncML or DAV
    /// work, for a fixed reason such as `connections_per_address` or `body_too_slow`.
    pub fn refused(&self, reason: &'static str) {
        self.inner.refused.add(reason, 1);
    }

    /// The Prometheus text exposition of every metric family (families without samples
    /// keep their `HELP` and `TYPE` lines, so scrapers see them from the start).
    pub fn render(&self) -> String {
        let r = &self.inner;
        let mut out = String::new();
        family(
            &mut out,
            "syncml_bridge_build_info",
            "gauge",
            "Version of the running bridge (always 1).",
        );
        sample(
            &mut out,
            "syncml_bridge_build_info",
            &[("version", env!("CARGO_PKG_VERSION").to_owned())],
            1.0,
        );
        let by_type = |t: &&'static str| vec![("sync_type", (*t).to_owned())];
        r.sessions_started.render(
            &mut out,
            "syncml_bridge_sessions_started_total",
            "SyncML sessions started, by sync type.",
            by_type,
        );
        r.sessions_completed.render(
            &mut out,
            "syncml_bridge_sessions_completed_total",
            "SyncML sessions that completed, by sync type.",
            by_type,
        );
        r.sessions_failed.render(
            &mut out,
            "syncml_bridge_sessions_failed_total",
            "SyncML sessions that failed or were abandoned, by sync type.",
            by_type,
        );
        family(
            &mut out,
            "syncml_bridge_sessions_active",
            "gauge",
            "SyncML sessions open now.",
        );
        sample(
            &mut out,
            "syncml_bridge_sessions_active",
            &[],
            self.active_sessions() as f64,
        );
        r.items.render(
            &mut out,
            "syncml_bridge_items_total",
            "Items added, replaced or deleted, by direction and datastore.",
            |(direction, datastore, change)| {
                vec![
                    ("direction", direction.label().to_owned()),
                    ("datastore", (*datastore).to_owned()),
                    ("change", change.label().to_owned()),
                ]
            },
        );
        let upstream_labels = |(method, outcome): &(&'static str, UpstreamOutcome)| {
            vec![
                ("method", (*method).to_owned()),
                ("status", outcome.label()),
            ]
        };
        r.upstream_requests.render(
            &mut out,
            "syncml_bridge_upstream_requests_total",
            "Requests to the DAV server, by method and status (`error`: no answer).",
            upstream_labels,
        );
        r.upstream_latency.render(
            &mut out,
            "syncml_bridge_upstream_request_duration_seconds",
            "Time until the DAV server answered, by method and status.",
            upstream_labels,
        );
        let by_transport = |t: &&'static str| vec![("transport", (*t).to_owned())];
        r.push_sent.render(
            &mut out,
            "syncml_bridge_push_alerts_sent_total",
            "Push notifications handed to their transport, by transport.",
            by_transport,
        );
        r.push_failed.render(
            &mut out,
            "syncml_bridge_push_alerts_failed_total",
            "Push notifications that could not be delivered, by transport.",
            by_transport,
        );
        r.login_failures.render(
            &mut out,
            "syncml_bridge_login_failures_total",
            "Log-ins refused for wrong credentials.",
            |r: &&'static str| vec![("reason", (*r).to_owned())],
        );
        r.login_throttled.render(
            &mut out,
            "syncml_bridge_login_throttled_total",
            "Log-in attempts refused by the throttle, by scope (`address` or `user`).",
            |s: &&'static str| vec![("scope", (*s).to_owned())],
        );
        r.refused.render(
            &mut out,
            "syncml_bridge_http_refused_total",
            "Connections and requests turned away by the front door's limits, by reason.",
            |reason| vec![("reason", (*reason).to_owned())],
        );
        out
    }
}

/// Counts one session as active until it is marked; see [`Metrics::session_started`].
#[derive(Debug)]
pub struct SessionTracker {
    metrics: Metrics,
    sync_type: &'static str,
    finished: bool,
}

impl SessionTracker {
    pub fn completed(mut self) {
        self.finish(true);
    }

    pub fn failed(mut self) {
        self.finish(false);
    }

    fn finish(&mut self, ok: bool) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let r = &self.metrics.inner;
        r.sessions_active.fetch_sub(1, Ordering::Relaxed);
        let counter = if ok {
            &r.sessions_completed
        } else {
            &r.sessions_failed
        };
        counter.add(self.sync_type, 1);
    }
}

impl Drop for SessionTracker {
    fn drop(&mut self) {
        self.finish(false);
    }
}

/// A poisoned lock only means another thread panicked mid-increment; the numbers are
/// still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Counters<K> {
    values: Mutex<BTreeMap<K, u64>>,
}

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Counters {
            values: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord + Clone> Counters<K> {
    fn add(&self, key: K, n: u64) {
        let mut values = lock(&self.values);
        let v = values.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    fn render(
        &self,
        out: &mut String,
        name: &str,
        help: &str,
        labels: impl Fn(&K) -> Vec<(&'static str, String)>,
    ) {
        family(out, name, "counter", help);
        let snapshot: Vec<(K, u64)> = lock(&self.values)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (key, value) in snapshot {
            sample(out, name, &labels(&key), value as f64);
        }
    }
}

#[derive(Clone)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is `+Inf` only.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

struct Histograms<K> {
    values: Mutex<BTreeMap<K, Histogram>>,
}

impl<K> Default for Histograms<K> {
    fn default() -> Self {
        Histograms {
            values: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord + Clone> Histograms<K> {
    fn observe(&self, key: K, value: f64) {
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        let mut values = lock(&self.values);
        let h = values.entry(key).or_insert(Histogram {
            buckets: [0; LATENCY_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        });
        h.buckets[slot] += 1;
        h.sum += value;
        h.count += 1;
    }

    fn render(
        &self,
        out: &mut String,
        name: &str,
        help: &str,
        labels: impl Fn(&K) -> Vec<(&'static str, String)>,
    ) {
        family(out, name, "histogram", help);
        let snapshot: Vec<(K, Histogram)> = lock(&self.values)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let bucket_name = format!("{name}_bucket");
        for (key, h) in snapshot {
            let base = labels(&key);
            let mut cumulative = 0;
            let bounds = LATENCY_BUCKETS
                .iter()
                .map(|b| b.to_string())
                .chain(std::iter::once("+Inf".to_owned()));
            for (bound, n) in bounds.zip(h.buckets) {
                cumulative += n;
                let mut with_le = base.clone();
                with_le.push(("le", bound));
                sample(out, &bucket_name, &with_le, cumulative as f64);
            }
            sample(out, &format!("{name}_sum"), &base, h.sum);
            sample(out, &format!("{name}_count"), &base, h.count as f64);
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&'static str, String)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn sessions_are_counted_by_outcome_and_the_gauge_follows() {
        let m = Metrics::new();
        let a = m.session_started("two-way");
        let b = m.session_started("two-way");
        let c = m.session_started("slow");
        assert_eq!(m.active_sessions(), 3);
        a.completed();
        b.failed();
        drop(c);
        assert_eq!(m.active_sessions(), 0);
        let text = m.render();
        assert!(text.contains("syncml_bridge_sessions_started_total{sync_type=\"two-way\"} 2\n"));
        assert!(text.contains("syncml_bridge_sessions_completed_total{sync_type=\"two-way\"} 1\n"));
        assert!(text.contains("syncml_bridge_sessions_failed_total{sync_type=\"two-way\"} 1\n"));
        assert!(text.contains("syncml_bridge_sessions_failed_total{sync_type=\"slow\"} 1\n"));
        assert!(text.contains("syncml_bridge_sessions_active 0\n"));
    }

    #[test]
    fn items_carry_direction_datastore_and_change() {
        let m = Metrics::new();
        m.items(Direction::FromDevice, "contacts", ItemChange::Added, 3);
        m.items(Direction::FromDevice, "contacts", ItemChange::Added, 2);
        m.items(Direction::ToDevice, "events", ItemChange::Deleted, 1);
        let text = m.render();
        assert!(text.contains(
            "syncml_bridge_items_total{direction=\"from_device\",datastore=\"contacts\",change=\"added\"} 5\n"
        ));
        assert!(text.contains(
            "syncml_bridge_items_total{direction=\"to_device\",datastore=\"events\",change=\"deleted\"} 1\n"
        ));
    }

    #[test]
    fn latency_buckets_are_cumulative() {
        let m = Metrics::new();
        let ok = UpstreamOutcome::Status(207);
        m.upstream_request("PROPFIND", ok, Duration::from_millis(3));
        m.upstream_request("PROPFIND", ok, Duration::from_millis(200));
        m.upstream_request("PROPFIND", ok, Duration::from_secs(100));
        m.upstream_request(
            "PUT",
            UpstreamOutcome::TransportError,
            Duration::from_secs(1),
        );
        let text = m.render();
        let bucket = |le: &str| {
            let prefix = format!(
                "syncml_bridge_upstream_request_duration_seconds_bucket{{method=\"PROPFIND\",status=\"207\",le=\"{le}\"}} "
            );
            line(&text, &prefix)
                .and_then(|l| l.strip_prefix(&prefix))
                .map(str::to_owned)
        };
        assert_eq!(bucket("0.005").as_deref(), Some("1"));
        assert_eq!(bucket("0.1").as_deref(), Some("1"));
        assert_eq!(bucket("0.25").as_deref(), Some("2"));
        assert_eq!(bucket("30").as_deref(), Some("2"));
        assert_eq!(bucket("+Inf").as_deref(), Some("3"));
        assert!(text.contains(
            "syncml_bridge_upstream_request_duration_seconds_count{method=\"PROPFIND\",status=\"207\"} 3\n"
        ));
        assert!(text.contains(
            "syncml_bridge_upstream_requests_total{method=\"PUT\",status=\"error\"} 1\n"
        ));
    }

    #[test]
    fn push_alerts_by_transport_and_empty_families_still_declared() {
        let m = Metrics::new();
        m.push_alert_sent("sms");
        m.push_alert_failed("tcp");
        m.push_alert_failed("tcp");
        let text = m.render();
        assert!(text.contains("syncml_bridge_push_alerts_sent_total{transport=\"sms\"} 1\n"));
        assert!(text.contains("syncml_bridge_push_alerts_failed_total{transport=\"tcp\"} 2\n"));
        assert!(text.contains("# TYPE syncml_bridge_items_total counter\n"));
        assert!(text.contains("# TYPE syncml_bridge_upstream_request_duration_seconds histogram\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
