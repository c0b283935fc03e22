//! The real `syncml-bridge serve` binary on 127.0.0.1: its own data dir, configured through
//! `SYNCML_BRIDGE_*` environment variables (so every subcommand sees the same settings),
//! waited for on `/healthz`, restartable on the same data dir and port, stopped on drop.
//!
//! ```ignore
//! let bridge = Bridge::builder(&radicale.base_url())
//!     .env("SYNCML_BRIDGE_AUTH__POLICY", "md5")
//!     .app_password("alice", "secret")
//!     .start();
//! phone.configure(&bridge.syncml_url(), "alice", "secret", "phone-1", options);
//! let bridge = bridge.restart();
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::tools::{free_port, wait_until, OwnedProcess};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a bridge before it starts.
pub struct BridgeBuilder {
    upstream: String,
    env: Vec<(String, String)>,
    app_passwords: Vec<(String, String)>,
    log_filter: String,
}

impl BridgeBuilder {
    /// Sets any configuration key by its environment variable (`SYNCML_BRIDGE_...`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Stores `password` as `user`'s upstream app password with `users set-password` (stdin)
    /// before the server starts; needs a vault key among the settings.
    pub fn app_password(mut self, user: &str, password: &str) -> Self {
        self.app_passwords
            .push((user.to_owned(), password.to_owned()));
        self
    }

    /// Another upstream URL than the one the builder was made with (e.g. a relay in front
    /// of the DAV server).
    pub fn upstream(mut self, url: &str) -> Self {
        url.clone_into(&mut self.upstream);
        self
    }

    /// The `log.filter` of the server (default `info`).
    pub fn log_filter(mut self, filter: &str) -> Self {
        filter.clone_into(&mut self.log_filter);
        self
    }

    pub fn start(self) -> Bridge {
        let dir = tempfile::Builder::new()
            .prefix("bridge-")
            .tempdir()
            .expect("create the bridge temp dir");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("create the bridge data dir");
        let mut settings = vec![
            ("SYNCML_BRIDGE_UPSTREAM__URL".to_owned(), self.upstream),
            (
                "SYNCML_BRIDGE_DATA_DIR".to_owned(),
                data_dir.display().to_string(),
            ),
            ("SYNCML_BRIDGE_LOG__FILTER".to_owned(), self.log_filter),
        ];
        settings.extend(self.env);
        let spec = BridgeSpec {
            dir,
            data_dir,
            settings,
        };
        for (user, password) in &self.app_passwords {
            spec.set_password(user, password);
        }
        spec.launch(None)
    }
}

/// What a bridge needs to be (re)started.
struct BridgeSpec {
    dir: TempDir,
    data_dir: PathBuf,
    settings: Vec<(String, String)>,
}

impl BridgeSpec {
    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"));
        // Only our settings: none leaks in from the environment running the tests.
        for (key, _) in std::env::vars() {
            if key.starts_with("SYNCML_BRIDGE_") {
                command.env_remove(key);
            }
        }
        command.envs(self.settings.iter().map(|(k, v)| (k, v)));
        command
    }

    fn set_password(&self, user: &str, password: &str) {
        let mut child = self
            .command()
            .args(["users", "set-password", user])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run syncml-bridge users set-password");
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{password}").expect("write the password to stdin");
        }
        let output = child
            .wait_with_output()
            .expect("wait for syncml-bridge users set-password");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "syncml-bridge users set-password {user} failed ({}):\n{stderr}",
            output.status
        );
        assert!(
            !stderr.contains(password)
                && !String::from_utf8_lossy(&output.stdout).contains(password),
            "users set-password printed the password"
        );
    }

    /// Starts the server; on `port` when given (a restart), else on a free port.
    fn launch(self, port: Option<u16>) -> Bridge {
        // No connection outlives a check: tests that count connections per address
        // start from zero.
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(0)
            .build()
            .expect("build the health-check client");
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = port.unwrap_or_else(free_port);
            let mut command = self.command();
            command
                .arg("serve")
                .env("SYNCML_BRIDGE_LISTEN", format!("127.0.0.1:{port}"));
            let log = self.dir.path().join("bridge.log");
            let mut process = OwnedProcess::spawn("syncml-bridge", command, &log);
            let health = format!("http://127.0.0.1:{port}/healthz");
            let up = wait_until(START_TIMEOUT, Duration::from_millis(50), || {
                process.exited().is_some()
                    || client
                        .get(&health)
                        .header("Connection", "close")
                        .send()
                        .is_ok_and(|r| r.status().is_success())
            });
            if up && process.exited().is_none() {
                return Bridge {
                    process,
                    port,
                    spec: self,
                };
            }
            if !up {
                process.fail("did not answer /healthz within 30 s");
            }
            last_log = process.log_text();
            let bind_failed =
                last_log.contains("Address already in use") || last_log.contains("in use");
            if !bind_failed {
                process.fail("exited while starting");
            }
            // A restart waits for the old socket to be released, then tries the same port.
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("syncml-bridge could not bind a port after 3 tries; last log:\n{last_log}");
    }
}

/// A running bridge; its process group is stopped when dropped.
pub struct Bridge {
    process: OwnedProcess,
    port: u16,
    spec: BridgeSpec,
}

impl Bridge {
    /// Settings for a bridge in front of the DAV server at `upstream`.
    pub fn builder(upstream: &str) -> BridgeBuilder {
        BridgeBuilder {
            upstream: upstream.to_owned(),
            env: Vec::new(),
            app_passwords: Vec::new(),
            log_filter: "info".to_owned(),
        }
    }

    /// A bridge with the default settings in front of `upstream`.
    pub fn start(upstream: &str) -> Self {
        Self::builder(upstream).start()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SyncML URL phones are given.
    pub fn syncml_url(&self) -> String {
        format!("{}/syncml", self.base_url())
    }

    /// The SyncML URL with a query, e.g. `sync=7` (`#` would be dropped by the HTTP stack).
    pub fn syncml_url_with(&self, query: &str) -> String {
        format!("{}?{query}", self.syncml_url())
    }

    pub fn data_dir(&self) -> &Path {
        &self.spec.data_dir
    }

    /// Runs an admin command (`devices ...`, `push ...`) on this bridge's store while it
    /// runs; panics with its stderr when it fails, returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_syncml-bridge"))
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .output()
            .expect("run the admin command");
        assert!(
            out.status.success(),
            "syncml-bridge {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// How the server process ended, or `None` while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.process.exited()
    }

    /// Everything the server logged so far (earlier runs included).
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    /// User plus system CPU time the server has used, from `/proc/PID/stat`.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(self.pid())
    }

    /// Stops the server and starts it again on the same data dir, settings and port.
    pub fn restart(self) -> Self {
        let Bridge {
            mut process,
            port,
            spec,
        } = self;
        process.stop();
        drop(process);
        spec.launch(Some(port))
    }

    /// Stops the server now (dropping does the same).
    pub fn stop(mut self) {
        self.process.stop();
    }
}

/// utime + stime of a process in seconds.
pub fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/stat: {e}"));
    // The command name (field 2) may hold blanks; the fields after its ')' are plain.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / per_second.max(1) as f64
}
