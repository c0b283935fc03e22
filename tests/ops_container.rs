//! The container and service files, tested without a container engine: the binary runs
//! with exactly the environment `Containerfile` and `compose.yaml` set and passes the
//! image's own HEALTHCHECK command; `compose.yaml` parses as YAML with the services and
//! volumes it promises; the systemd unit passes `systemd-analyze verify` and its
//! ExecStart line serves.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::tools::{free_port, require, require_python_module, wait_until, OwnedProcess};
use syncml_bridge::config::{env_name, known_keys};

fn containers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("containers")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(containers().join(name))
        .unwrap_or_else(|e| panic!("read containers/{name}: {e}"))
}

/// Containerfile instructions with `\` continuations joined and comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (op, args) = current.split_once(' ').unwrap_or((current.as_str(), ""));
                out.push((op.to_uppercase(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

/// The runtime stage's instructions (after the last FROM).
fn runtime_stage() -> Vec<(String, String)> {
    let all = instructions(&read("Containerfile"));
    let last_from = all
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .expect("a FROM");
    assert!(
        all[..last_from].iter().any(|(op, _)| op == "FROM"),
        "a multi-stage build"
    );
    all[last_from..].to_vec()
}

fn containerfile_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (_, args) in runtime_stage().iter().filter(|(op, _)| op == "ENV") {
        for pair in args.split_whitespace() {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("ENV {pair}: expected KEY=VALUE"));
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    env
}

/// compose.yaml as JSON, through python3's YAML parser.
fn compose() -> serde_json::Value {
    let python = require_python_module("yaml", "Debian package python3-yaml");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(containers().join("compose.yaml"))
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "compose.yaml is not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python3")
}

fn compose_env() -> BTreeMap<String, String> {
    let compose = compose();
    let env = compose["services"]["syncml-bridge"]["environment"]
        .as_object()
        .expect("an environment map for syncml-bridge");
    env.iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_owned()))
        .collect()
}

fn assert_known(vars: &BTreeMap<String, String>, from: &str) {
    let names: Vec<String> = known_keys().iter().map(|k| env_name(k)).collect();
    for var in vars.keys() {
        assert!(
            names.contains(var),
            "{from}: {var} is no configuration variable"
        );
    }
}

fn healthz(port: u16) -> bool {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client")
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .is_ok_and(|r| r.status() == 200)
}

#[test]
fn the_image_environment_serves_and_passes_its_healthcheck() {
    require("curl", "curl");
    let image_env = containerfile_env();
    let compose_env = compose_env();
    assert_known(&image_env, "Containerfile ENV");
    assert_known(&compose_env, "compose.yaml environment");
    assert_eq!(image_env["SYNCML_BRIDGE_DATA_DIR"], "/data");

    let stage = runtime_stage();
    let arg = |op: &str| {
        stage
            .iter()
            .find(|(o, _)| o == op)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("runtime stage has no {op}"))
    };
    assert_eq!(arg("VOLUME"), "/data");
    let user = arg("USER");
    assert!(user != "root" && user != "0", "USER {user}");
    let listen_port = image_env["SYNCML_BRIDGE_LISTEN"]
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    assert_eq!(arg("EXPOSE"), listen_port);
    let healthcheck = arg("HEALTHCHECK");
    let check_cmd = healthcheck
        .split_once(" CMD ")
        .map(|(_, cmd)| cmd.to_owned())
        .expect("HEALTHCHECK ... CMD command");
    assert!(check_cmd.contains("/healthz"), "{check_cmd}");

    // Everything as in the container, except the two things that belong to it: the port
    // (8080 may be taken here; the healthcheck follows SYNCML_BRIDGE_LISTEN) and the /data
    // volume (a temp dir).
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut env = image_env.clone();
    env.extend(compose_env);
    env.insert("SYNCML_BRIDGE_LISTEN".into(), format!("0.0.0.0:{port}"));
    env.insert(
        "SYNCML_BRIDGE_DATA_DIR".into(),
        dir.path().join("data").display().to_string(),
    );
    let run_healthcheck = || {
        Command::new("sh")
            .args(["-c", &check_cmd])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run the HEALTHCHECK command")
    };

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
    // The image's ENTRYPOINT and CMD: `syncml-bridge serve`.
    assert!(arg("CMD").contains("\"serve\""));
    cmd.arg("serve").env_clear().envs(&env);
    let mut bridge = OwnedProcess::spawn("syncml-bridge", cmd, &dir.path().join("bridge.log"));
    if !wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        healthz(port)
    }) {
        bridge.fail("did not answer /healthz with the container's environment");
    }
    assert!(run_healthcheck().success(), "HEALTHCHECK failed");
    // The image logs JSON: one object per line.
    let log = bridge.log_text();
    let first = log.lines().next().expect("a log line");
    serde_json::from_str::<serde_json::Value>(first)
        .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {first}"));

    bridge.stop();
    assert!(
        !run_healthcheck().success(),
        "HEALTHCHECK passes with no bridge"
    );
}

#[test]
fn compose_runs_the_bridge_beside_radicale() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    assert!(services.contains_key("syncml-bridge"), "{compose}");
    assert!(services.contains_key("radicale"), "{compose}");
    let bridge = &compose["services"]["syncml-bridge"];
    assert_eq!(bridge["build"]["dockerfile"], "containers/Containerfile");
    assert_eq!(
        bridge["volumes"][0].as_str(),
        Some("bridge-data:/data"),
        "{bridge}"
    );
    assert!(compose["volumes"]
        .as_object()
        .is_some_and(|v| v.contains_key("bridge-data") && v.contains_key("radicale-data")));
    // The upstream is the radicale service on the port its command listens on.
    let upstream = &compose_env()["SYNCML_BRIDGE_UPSTREAM__URL"];
    let url = url::Url::parse(upstream).expect("upstream URL");
    assert_eq!(url.host_str(), Some("radicale"));
    let radicale_build = compose["services"]["radicale"]["build"]["dockerfile_inline"]
        .as_str()
        .expect("radicale's inline build");
    let port = url.port().expect("explicit port");
    assert!(
        radicale_build.contains(&format!("0.0.0.0:{port}")),
        "{radicale_build}"
    );
    // The published port is the container's listener.
    let listen = &containerfile_env()["SYNCML_BRIDGE_LISTEN"];
    let published = bridge["ports"][0].as_str().expect("a published port");
    let inner = published.rsplit(':').next().expect("container port");
    assert!(
        listen.ends_with(&format!(":{inner}")),
        "{published} vs {listen}"
    );
}

/// `Key=value` lines of the unit's `[Service]` section.
fn unit_service_lines(unit: &str) -> Vec<(String, String)> {
    let mut in_service = false;
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    out
}

#[test]
fn the_systemd_unit_verifies_and_its_exec_start_serves() {
    let analyze = require("systemd-analyze", "systemd");
    let unit = read("syncml-bridge.service");
    let lines = unit_service_lines(&unit);
    let get = |key: &str| {
        lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("unit has no {key}="))
    };
    let exec_start = get("ExecStart");
    let installed = "/usr/local/bin/syncml-bridge";
    assert!(exec_start.starts_with(installed), "{exec_start}");
    for hardening in ["NoNewPrivileges", "ProtectSystem", "PrivateTmp"] {
        get(hardening);
    }
    let binary = env!("CARGO_BIN_EXE_syncml-bridge");

    // The unit as installed, pointing at the binary built here.
    let dir = tempfile::tempdir().expect("tempdir");
    let unit_path = dir.path().join("syncml-bridge.service");
    std::fs::write(&unit_path, unit.replace(installed, binary)).expect("write unit");
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&unit_path)
        .output()
        .expect("run systemd-analyze");
    let diagnostics = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !diagnostics.contains("syncml-bridge.service"),
        "systemd-analyze verify: {diagnostics}"
    );

    // ExecStart with its configuration file and the unit's environment.
    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:{port}\"\n[upstream]\nurl = \"http://127.0.0.1:9/\"\n"),
    )
    .expect("write config");
    let exec_start = exec_start.replace(installed, binary).replace(
        "/etc/syncml-bridge/config.toml",
        &config.display().to_string(),
    );
    let mut words = exec_start.split_whitespace();
    let mut cmd = Command::new(words.next().expect("a program"));
    cmd.args(words).env_clear();
    for (_, v) in lines.iter().filter(|(k, _)| k == "Environment") {
        let (var, value) = v.split_once('=').expect("Environment=VAR=value");
        let value = if var == "SYNCML_BRIDGE_DATA_DIR" {
            dir.path().join("state").display().to_string()
        } else {
            value.to_owned()
        };
        cmd.env(var, value);
    }
    let mut bridge = OwnedProcess::spawn("syncml-bridge", cmd, &dir.path().join("bridge.log"));
    if !wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        healthz(port)
    }) {
        bridge.fail("did not answer /healthz as the unit starts it");
    }
}
