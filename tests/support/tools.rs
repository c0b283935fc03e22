//! Tool discovery, free ports, bounded waits and owned child processes.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Finds `tool` on `PATH`. A missing tool fails the test loudly: the harness never skips.
pub fn require(tool: &str, package: &str) -> PathBuf {
    find_on_path(tool).unwrap_or_else(|| panic!("missing {tool}: install Debian package {package}"))
}

/// Checks that `python3 -m <module>` is importable, naming the package to install when not.
pub fn require_python_module(module: &str, package: &str) -> PathBuf {
    let python = require("python3", "python3");
    let status = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    if !status.success() {
        panic!("missing python module {module}: install {package}");
    }
    python
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A port that was free a moment ago on 127.0.0.1. The listener is dropped before the server
/// binds it, so a rare race with another process is possible; callers retry on bind failure.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on 127.0.0.1");
    listener
        .local_addr()
        .expect("local address of the listener")
        .port()
}

/// Polls `ready` every `interval` until it returns true or `timeout` elapses.
pub fn wait_until(timeout: Duration, interval: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(interval);
    }
}

/// A child process in its own process group, whose output goes to a log file. Dropping it
/// terminates the whole group (the process and anything it spawned).
pub struct OwnedProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl OwnedProcess {
    /// Spawns `command` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Self {
        // Appended, so a restarted server keeps the earlier log.
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            child,
            name: name.to_owned(),
            log: log.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has already ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log of the process, for a server that failed to come up.
    pub fn fail(&mut self, why: &str) -> ! {
        let status = self.exited();
        panic!(
            "{} {why} (exit status: {status:?}); its log {}:\n{}",
            self.name,
            self.log.display(),
            self.log_text()
        );
    }

    /// Terminates the process group: SIGTERM, a bounded wait, then SIGKILL.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let group = -(self.child.id() as i32);
        // SAFETY: kill(2) with a negative pid signals the process group we created at spawn.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let ended = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            self.child.try_wait().ok().flatten().is_some()
        });
        if !ended {
            // SAFETY: as above; the group id is that of our own child.
            unsafe { libc::kill(group, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

impl Drop for OwnedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `command` to completion within `timeout`, killing its process group on timeout.
/// Returns `None` when it had to be killed.
pub fn run_bounded(
    name: &str,
    command: Command,
    log: &Path,
    timeout: Duration,
) -> Option<ExitStatus> {
    let mut process = OwnedProcess::spawn(name, command, log);
    let mut status = None;
    wait_until(timeout, Duration::from_millis(25), || {
        status = process.exited();
        status.is_some()
    });
    if status.is_none() {
        process.stop();
    }
    status
}

/// True when `program` (searched on PATH) can be run with `arg` and exits successfully.
pub fn runs_ok(program: impl AsRef<OsStr>, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
