//! WsgiDAV (PyPI `wsgidav==4.3.3` with `cheroot==10.0.1`) on 127.0.0.1: a plain WebDAV
//! file server, as a Nextcloud's files are, for backup tests.
//!
//! Each user gets a share `/<user>/` (a directory of its own) that only that user may use,
//! with HTTP basic auth and the same default users as [`super::radicale::Radicale`]
//! (`alice:secret`, `bob:hunter2`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::tools::{free_port, require_python_module, wait_until, OwnedProcess};
use super::webdav::WebDav;

const PACKAGE: &str =
    "PyPI packages wsgidav==4.3.3 and cheroot==10.0.1 (pip install wsgidav==4.3.3 cheroot==10.0.1)";
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running WsgiDAV; killed (with its children) when dropped.
pub struct WebDavFiles {
    process: OwnedProcess,
    port: u16,
    users: Vec<(String, String)>,
    dir: TempDir,
}

impl WebDavFiles {
    /// Starts WsgiDAV with users `alice:secret` and `bob:hunter2`.
    pub fn start() -> Self {
        Self::start_with(&[("alice", "secret"), ("bob", "hunter2")])
    }

    pub fn start_with(users: &[(&str, &str)]) -> Self {
        require_python_module("cheroot", PACKAGE);
        let python = require_python_module("wsgidav", PACKAGE);
        let dir = tempfile::Builder::new()
            .prefix("wsgidav-")
            .tempdir()
            .expect("create WsgiDAV temp dir");
        let users: Vec<(String, String)> = users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
            .collect();
        for (user, _) in &users {
            std::fs::create_dir_all(dir.path().join("shares").join(user))
                .expect("create a user's share directory");
        }
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.path().join("wsgidav.json");
            std::fs::write(&config, config_json(port, dir.path(), &users))
                .expect("write WsgiDAV config");
            let mut command = Command::new(&python);
            command
                .args(["-m", "wsgidav.server.server_cli", "--config"])
                .arg(&config);
            let log = dir.path().join("wsgidav.log");
            let mut process = OwnedProcess::spawn("wsgidav", command, &log);
            let up = wait_until(START_TIMEOUT, Duration::from_millis(50), || {
                process.exited().is_some() || TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up && process.exited().is_none() {
                return WebDavFiles {
                    process,
                    port,
                    users,
                    dir,
                };
            }
            if !up {
                process.fail("did not answer within 20 s");
            }
            last_log = process.log_text();
            if !last_log.contains("Address already in use") {
                process.fail("exited while starting");
            }
        }
        panic!("wsgidav could not bind a free port after 3 tries; last log:\n{last_log}");
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The user's share, `http://127.0.0.1:PORT/<user>/`.
    pub fn user_url(&self, user: &str) -> String {
        format!("{}/{user}/", self.base_url())
    }

    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("user {user} is not configured on this WsgiDAV"))
    }

    /// A client authenticated as `user`.
    pub fn client(&self, user: &str) -> WebDav {
        WebDav::new(&self.base_url(), Some((user, self.password(user))))
    }

    /// The directory behind a user's share, to inspect what was stored.
    pub fn share_dir(&self, user: &str) -> PathBuf {
        self.dir.path().join("shares").join(user)
    }

    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    /// Stops the server now (dropping does the same).
    pub fn stop(mut self) {
        self.process.stop();
    }
}

/// One share per user, readable and writable by that user only; no anonymous access,
/// no directory browser, locks and dead properties in memory.
fn config_json(port: u16, dir: &Path, users: &[(String, String)]) -> String {
    let mut shares = serde_json::Map::new();
    let mut mapping = serde_json::Map::new();
    for (user, password) in users {
        let share = format!("/{user}");
        let path = dir.join("shares").join(user);
        shares.insert(share.clone(), path.display().to_string().into());
        mapping.insert(
            share,
            serde_json::json!({ user.as_str(): { "password": password, "roles": [] } }),
        );
    }
    serde_json::json!({
        "host": "127.0.0.1",
        "port": port,
        "provider_mapping": shares,
        "http_authenticator": {
            "domain_controller": null,
            "accept_basic": true,
            "accept_digest": false,
            "default_to_digest": false,
            "trusted_auth_header": null
        },
        "simple_dc": { "user_mapping": mapping },
        "dir_browser": { "enable": false },
        "lock_storage": true,
        "property_manager": true,
        "verbose": 3,
        "logging": { "enable_loggers": [] }
    })
    .to_string()
}
