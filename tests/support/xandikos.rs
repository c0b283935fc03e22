//! Xandikos (Debian 0.2.8) on 127.0.0.1, started with
//! `xandikos --defaults -d DIR -l 127.0.0.1 -p PORT`. It serves one user without authentication.
//!
//! URL layout it really gives (checked with PROPFIND against 0.2.8):
//! - principal `/user/` (also its `current-user-principal`);
//! - calendar home `/user/calendars/`, with the default calendar `/user/calendars/calendar/`
//!   whose supported-calendar-component-set is VEVENT, VTODO, VJOURNAL, VFREEBUSY;
//! - address book home `/user/contacts/`, with the default address book
//!   `/user/contacts/addressbook/`;
//! - scheduling inbox `/user/inbox`.
//!
//! `PROPFIND /` is refused (415) when sent without an XML body. Further collections can be made
//! with MKCOL/MKCALENDAR under the two homes.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::tools::{free_port, require, wait_until, OwnedProcess};
use super::webdav::WebDav;

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub const PRINCIPAL: &str = "/user/";
pub const CALENDAR_HOME: &str = "/user/calendars/";
pub const DEFAULT_CALENDAR: &str = "/user/calendars/calendar/";
pub const ADDRESSBOOK_HOME: &str = "/user/contacts/";
pub const DEFAULT_ADDRESSBOOK: &str = "/user/contacts/addressbook/";

/// A running Xandikos; killed (with its children) when dropped.
pub struct Xandikos {
    process: OwnedProcess,
    port: u16,
    data: PathBuf,
    dir: TempDir,
}

impl Xandikos {
    /// Starts Xandikos on a fresh data dir with its default collections.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("xandikos-")
            .tempdir()
            .expect("create Xandikos temp dir");
        let data = dir.path().join("data");
        launch(dir, data)
    }

    /// Starts Xandikos on a data dir owned by the test (to restart on the same data).
    pub fn with_storage(data: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("xandikos-")
            .tempdir()
            .expect("create Xandikos temp dir");
        launch(dir, data.to_owned())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The principal URL; Xandikos has a single user, so `user` is accepted but unused.
    pub fn user_url(&self, _user: &str) -> String {
        format!("{}{PRINCIPAL}", self.base_url())
    }

    pub fn default_calendar_url(&self) -> String {
        format!("{}{DEFAULT_CALENDAR}", self.base_url())
    }

    pub fn default_addressbook_url(&self) -> String {
        format!("{}{DEFAULT_ADDRESSBOOK}", self.base_url())
    }

    /// An anonymous client (Xandikos has no authentication here).
    pub fn client(&self) -> WebDav {
        WebDav::new(&self.base_url(), None)
    }

    pub fn storage_dir(&self) -> &Path {
        &self.data
    }

    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    pub fn stop(mut self) {
        self.process.stop();
    }

    /// Stops this instance and starts another on the same data (the port changes).
    pub fn restart(self) -> Self {
        let Xandikos {
            mut process,
            data,
            dir,
            ..
        } = self;
        process.stop();
        drop(process);
        launch(dir, data)
    }
}

fn launch(dir: TempDir, data: PathBuf) -> Xandikos {
    let xandikos = require("xandikos", "xandikos");
    let mut last_log = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(&xandikos);
        command.arg("--defaults").arg("-d").arg(&data).args([
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]);
        let log = dir.path().join("xandikos.log");
        let mut process = OwnedProcess::spawn("xandikos", command, &log);
        let up = wait_until(START_TIMEOUT, Duration::from_millis(50), || {
            process.exited().is_some() || TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if up && process.exited().is_none() {
            return Xandikos {
                process,
                port,
                data,
                dir,
            };
        }
        if !up {
            process.fail("did not answer within 20 s");
        }
        last_log = process.log_text();
        if !last_log.contains("address already in use") && !last_log.contains("Errno 98") {
            process.fail("exited while starting");
        }
    }
    panic!("xandikos could not bind a free port after 3 tries; last log:\n{last_log}");
}
