//! Radicale (PyPI 3.5.10, run as `python3 -m radicale`) on 127.0.0.1 with plain htpasswd users.
//!
//! Layout: every user's principal is `/<user>/`; Radicale creates no collections itself, so
//! tests make them with [`WebDav::create_addressbook`] / [`WebDav::create_calendar`] (or the
//! [`Radicale::standard_collections`] shortcut: `contacts/`, `calendar/`, `tasks/`, `notes/`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::tools::{free_port, require_python_module, wait_until, OwnedProcess};
use super::webdav::{Component, WebDav};

const PACKAGE: &str = "PyPI package radicale==3.5.10 (pip install radicale==3.5.10)";
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Options for a Radicale instance.
pub struct RadicaleBuilder {
    users: Vec<(String, String)>,
    storage: Option<PathBuf>,
    rights: Option<String>,
}

impl RadicaleBuilder {
    /// Replaces the user list (default: `alice:secret`, `bob:hunter2`).
    pub fn users(mut self, users: &[(&str, &str)]) -> Self {
        self.users = users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
            .collect();
        self
    }

    /// Keeps the collections in `dir` (owned by the test) instead of the instance's temp dir,
    /// so a later instance started on the same dir sees the same data.
    pub fn storage(mut self, dir: &Path) -> Self {
        self.storage = Some(dir.to_owned());
        self
    }

    /// Radicale's `from_file` rights with these rules instead of `owner_only`.
    pub fn rights(mut self, rules: &str) -> Self {
        self.rights = Some(rules.to_owned());
        self
    }

    pub fn start(self) -> Radicale {
        let dir = tempfile::Builder::new()
            .prefix("radicale-")
            .tempdir()
            .expect("create Radicale temp dir");
        let storage = self
            .storage
            .unwrap_or_else(|| dir.path().join("collections"));
        launch(dir, self.users, storage, self.rights)
    }
}

fn launch(
    dir: TempDir,
    users: Vec<(String, String)>,
    storage: PathBuf,
    rights: Option<String>,
) -> Radicale {
    let python = require_python_module("radicale", PACKAGE);
    std::fs::create_dir_all(&storage).expect("create Radicale storage dir");
    let htpasswd = dir.path().join("users");
    let lines: String = users.iter().map(|(u, p)| format!("{u}:{p}\n")).collect();
    std::fs::write(&htpasswd, lines).expect("write htpasswd");
    let rights = match rights {
        Some(rules) => {
            let file = dir.path().join("rights");
            std::fs::write(&file, rules).expect("write Radicale rights");
            format!("type = from_file\nfile = {}\n", file.display())
        }
        None => "type = owner_only\n".to_owned(),
    };

    // A port picked free may be taken before Radicale binds it: retry a few times.
    let mut last_log = String::new();
    for _ in 0..3 {
        let port = free_port();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {}\n\
                 htpasswd_encryption = plain\ndelay = 0\n\
                 [rights]\n{rights}\
                 [storage]\nfilesystem_folder = {}\n\
                 [web]\ntype = none\n\
                 [logging]\nlevel = info\nmask_passwords = True\n",
                htpasswd.display(),
                storage.display()
            ),
        )
        .expect("write Radicale config");
        let mut command = Command::new(&python);
        command.args(["-m", "radicale", "--config"]).arg(&config);
        let log = dir.path().join("radicale.log");
        let mut process = OwnedProcess::spawn("radicale", command, &log);
        let up = wait_until(START_TIMEOUT, Duration::from_millis(50), || {
            process.exited().is_some() || TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if up && process.exited().is_none() {
            return Radicale {
                process,
                port,
                users,
                storage,
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
    panic!("radicale could not bind a free port after 3 tries; last log:\n{last_log}");
}

/// A running Radicale; killed (with its children) when dropped.
pub struct Radicale {
    process: OwnedProcess,
    port: u16,
    users: Vec<(String, String)>,
    storage: PathBuf,
    dir: TempDir,
}

impl Radicale {
    /// Starts Radicale with users `alice:secret` and `bob:hunter2`.
    pub fn start() -> Self {
        Self::builder().start()
    }

    pub fn builder() -> RadicaleBuilder {
        RadicaleBuilder {
            rights: None,
            users: vec![
                ("alice".to_owned(), "secret".to_owned()),
                ("bob".to_owned(), "hunter2".to_owned()),
            ],
            storage: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The user's principal/home collection, `http://127.0.0.1:PORT/<user>/`.
    pub fn user_url(&self, user: &str) -> String {
        format!("{}/{user}/", self.base_url())
    }

    /// The password the instance was configured with for `user`.
    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("user {user} is not configured on this Radicale"))
    }

    /// A client authenticated as `user` with the configured password.
    pub fn client(&self, user: &str) -> WebDav {
        WebDav::new(&self.base_url(), Some((user, self.password(user))))
    }

    /// A client with arbitrary credentials (for refused-login tests).
    pub fn client_with(&self, user: &str, password: &str) -> WebDav {
        WebDav::new(&self.base_url(), Some((user, password)))
    }

    /// Creates `/<user>/contacts/` (address book) and `/<user>/calendar/`, `tasks/`, `notes/`
    /// (VEVENT, VTODO, VJOURNAL calendars). Returns their full URLs in that order.
    pub fn standard_collections(&self, user: &str) -> [String; 4] {
        let dav = self.client(user);
        let home = self.user_url(user);
        let contacts = format!("{home}contacts/");
        let calendar = format!("{home}calendar/");
        let tasks = format!("{home}tasks/");
        let notes = format!("{home}notes/");
        dav.create_addressbook(&contacts);
        dav.create_calendar(&calendar, Component::Event);
        dav.create_calendar(&tasks, Component::Todo);
        dav.create_calendar(&notes, Component::Journal);
        [contacts, calendar, tasks, notes]
    }

    /// Where the collections live on disk.
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Stops the server now (dropping does the same).
    pub fn stop(mut self) {
        self.process.stop();
    }

    /// Stops this instance and starts a new one on the same storage, users and temp dir
    /// (the port changes).
    pub fn restart(self) -> Self {
        let Radicale {
            mut process,
            users,
            storage,
            dir,
            ..
        } = self;
        process.stop();
        drop(process);
        let rights = std::fs::read_to_string(dir.path().join("rights")).ok();
        launch(dir, users, storage, rights)
    }
}
