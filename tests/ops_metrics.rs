//! `GET /metrics`: Prometheus text that parses line by line, with every metric family
//! declared, from the real binary; and values recorded through the shared handle seen
//! over HTTP.

mod http_bridge;
mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use http_bridge::{client, dead_upstream, settings, Bridge};
use support::tools::{free_port, wait_until, OwnedProcess};
use syncml_bridge::config::Config;
use syncml_bridge::metrics::{Direction, ItemChange, Metrics, UpstreamOutcome};
use syncml_bridge::session::{SessionHandler, Shared};
use syncml_bridge::store::Store;

const FAMILIES: [(&str, &str); 11] = [
    ("syncml_bridge_build_info", "gauge"),
    ("syncml_bridge_sessions_started_total", "counter"),
    ("syncml_bridge_sessions_completed_total", "counter"),
    ("syncml_bridge_sessions_failed_total", "counter"),
    ("syncml_bridge_sessions_active", "gauge"),
    ("syncml_bridge_items_total", "counter"),
    ("syncml_bridge_upstream_requests_total", "counter"),
    (
        "syncml_bridge_upstream_request_duration_seconds",
        "histogram",
    ),
    ("syncml_bridge_push_alerts_sent_total", "counter"),
    ("syncml_bridge_push_alerts_failed_total", "counter"),
    ("syncml_bridge_http_refused_total", "counter"),
];

/// One sample: metric name, labels in order, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses the text exposition format 0.0.4 strictly enough to catch malformed output:
/// `# HELP`/`# TYPE` lines, names `[a-zA-Z_:][a-zA-Z0-9_:]*`, quoted and escaped label
/// values, a float value; every sample must belong to a family declared before it.
fn parse(text: &str) -> Result<(BTreeMap<String, String>, Vec<Sample>), String> {
    fn name_ok(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    if !text.ends_with('\n') {
        return Err("the exposition must end with a newline".into());
    }
    for (n, line) in text.lines().enumerate() {
        let err = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (parts.next(), parts.next(), parts.next());
            let name = name.filter(|n| name_ok(n)).ok_or_else(|| err("bad name"))?;
            match (kw, tail) {
                (Some("HELP"), Some(_)) => {}
                (Some("TYPE"), Some(t))
                    if ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) =>
                {
                    if types.insert(name.to_owned(), t.to_owned()).is_some() {
                        return Err(err("family declared twice"));
                    }
                }
                _ => return Err(err("bad comment line")),
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value after the name"))?;
        let name = &line[..name_end];
        if !name_ok(name) {
            return Err(err("bad metric name"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(inner) = rest.strip_prefix('{') {
            let mut s = inner;
            loop {
                if let Some(after) = s.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = s.find('=').ok_or_else(|| err("label without ="))?;
                let label = &s[..eq];
                if !name_ok(label) || label.contains(':') {
                    return Err(err("bad label name"));
                }
                let mut chars = s[eq + 1..]
                    .strip_prefix('"')
                    .ok_or_else(|| err("unquoted label value"))?
                    .char_indices();
                let mut value = String::new();
                let close = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err(err("bad escape")),
                        },
                        Some((i, '"')) => break i,
                        Some((_, c)) => value.push(c),
                        None => return Err(err("unterminated label value")),
                    }
                };
                labels.push((label.to_owned(), value));
                s = &s[eq + 1..][1 + close + 1..];
                s = s.strip_prefix(',').unwrap_or(s);
            }
        }
        let value_text = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before the value"))?;
        let value: f64 = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| err("value is not a number"))?,
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(err("sample of an undeclared family"));
        }
        samples.push((name.to_owned(), labels, value));
    }
    Ok((types, samples))
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.iter().find_map(|(n, l, v)| {
        let same = n == name
            && l.len() == labels.len()
            && l.iter()
                .zip(labels)
                .all(|((a, b), (c, d))| a == c && b == d);
        same.then_some(*v)
    })
}

#[test]
fn the_real_binary_exposes_every_family_in_parseable_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--upstream", &dead_upstream()])
        .arg("--data-dir")
        .arg(dir.path().join("data"));
    let mut bridge = OwnedProcess::spawn("syncml-bridge", cmd, &dir.path().join("bridge.log"));
    let client = client();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut answer = None;
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        answer = client.get(&url).send().ok();
        answer.is_some()
    });
    if !up {
        bridge.fail("did not answer /metrics");
    }
    let resp = answer.expect("an answer");
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().expect("ascii");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().expect("body");
    let (types, samples) = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for (family, kind) in FAMILIES {
        assert_eq!(types.get(family).map(String::as_str), Some(kind), "{text}");
    }
    assert_eq!(
        value(&samples, "syncml_bridge_sessions_active", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "syncml_bridge_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );

    // Answered by the bridge, never proxied; GET and HEAD only.
    let post = client.post(&url).send().expect("post");
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_eq!(client.head(&url).send().expect("head").status(), 200);
}

#[test]
fn what_the_shared_handle_records_is_scraped() {
    let metrics = Metrics::new();
    let mut s = settings(&dead_upstream());
    s.metrics = metrics.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.upstream.url = dead_upstream();
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let mut shared = Shared::new(&config, store).expect("shared");
    shared.metrics = metrics.clone();
    let bridge = Bridge::start(s, Arc::new(SessionHandler::new(Arc::new(shared))));

    let open = metrics.session_started("two-way");
    let done = metrics.session_started("slow");
    done.completed();
    metrics.items(Direction::FromDevice, "contacts", ItemChange::Added, 4);
    metrics.items(Direction::ToDevice, "events", ItemChange::Replaced, 1);
    metrics.upstream_request(
        "REPORT",
        UpstreamOutcome::Status(207),
        Duration::from_millis(40),
    );
    metrics.upstream_request(
        "PUT",
        UpstreamOutcome::TransportError,
        Duration::from_secs(2),
    );
    metrics.push_alert_sent("sms");
    metrics.push_alert_failed("tcp");

    let scrape = || {
        let text = client()
            .get(bridge.url("/metrics"))
            .send()
            .expect("get")
            .text()
            .expect("body");
        parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}")).1
    };
    let samples = scrape();
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(v("syncml_bridge_sessions_active", &[]), Some(1.0));
    assert_eq!(
        v(
            "syncml_bridge_sessions_started_total",
            &[("sync_type", "two-way")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_sessions_completed_total",
            &[("sync_type", "slow")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_items_total",
            &[
                ("direction", "from_device"),
                ("datastore", "contacts"),
                ("change", "added")
            ]
        ),
        Some(4.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_upstream_request_duration_seconds_bucket",
            &[("method", "REPORT"), ("status", "207"), ("le", "0.05")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_upstream_request_duration_seconds_bucket",
            &[("method", "REPORT"), ("status", "207"), ("le", "0.025")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_upstream_requests_total",
            &[("method", "PUT"), ("status", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_push_alerts_sent_total",
            &[("transport", "sms")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "syncml_bridge_push_alerts_failed_total",
            &[("transport", "tcp")]
        ),
        Some(1.0)
    );

    // An abandoned session counts as failed and leaves the gauge.
    drop(open);
    let samples = scrape();
    assert_eq!(
        value(&samples, "syncml_bridge_sessions_active", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "syncml_bridge_sessions_failed_total",
            &[("sync_type", "two-way")]
        ),
        Some(1.0)
    );
}

#[test]
fn the_parser_rejects_malformed_lines() {
    for bad in [
        "no_type 1\n",
        "# TYPE a counter\na{b=\"c} 1\n",
        "# TYPE a counter\na{b=c} 1\n",
        "# TYPE a counter\na one\n",
        "# TYPE a widget\n",
        "# TYPE a counter\na 1",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    let (_, samples) =
        parse("# HELP a x\n# TYPE a counter\na{b=\"q\\\"\\\\\",c=\"\"} 2\n").expect("valid");
    assert_eq!(
        samples[0].1,
        vec![("b".into(), "q\"\\".into()), ("c".into(), String::new())]
    );
}
