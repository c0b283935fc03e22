//! The generic helpers: loud failures for missing tools, bounded runs, process-group cleanup.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::tools::{require, run_bounded, wait_until, OwnedProcess};

#[test]
#[should_panic(expected = "missing no-such-tool-xyz: install Debian package some-package")]
fn a_missing_tool_fails_naming_its_package() {
    require("no-such-tool-xyz", "some-package");
}

#[test]
fn require_finds_an_installed_tool() {
    let sh = require("sh", "dash");
    assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
}

#[test]
fn wait_until_gives_up_after_its_timeout() {
    let start = Instant::now();
    let ready = wait_until(
        Duration::from_millis(200),
        Duration::from_millis(20),
        || false,
    );
    assert!(!ready);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    let mut calls = 0;
    assert!(wait_until(
        Duration::from_secs(5),
        Duration::from_millis(1),
        || {
            calls += 1;
            calls == 3
        }
    ));
    assert_eq!(calls, 3);
}

#[test]
fn run_bounded_kills_a_run_that_exceeds_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("sh");
    command.args(["-c", "sleep 30"]);
    let start = Instant::now();
    let status = run_bounded(
        "sleeper",
        command,
        &dir.path().join("log"),
        Duration::from_millis(300),
    );
    assert_eq!(status, None, "the run must be reported as killed");
    assert!(start.elapsed() < Duration::from_secs(10));

    let mut quick = Command::new("sh");
    quick.args(["-c", "echo done; exit 3"]);
    let status = run_bounded(
        "quick",
        quick,
        &dir.path().join("quick.log"),
        Duration::from_secs(10),
    );
    assert_eq!(status.and_then(|s| s.code()), Some(3));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("quick.log")).unwrap(),
        "done\n"
    );
}

#[test]
fn dropping_a_process_also_ends_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("sleep 30 & echo $! > {}; wait", pidfile.display()));
    let process = OwnedProcess::spawn("parent", command, &dir.path().join("log"));
    assert!(wait_until(
        Duration::from_secs(5),
        Duration::from_millis(10),
        || std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n'))
    ));
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    drop(process);
    // The grandchild is not ours to reap; it is gone or a zombie about to be reaped by init.
    let gone = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z ")
    });
    assert!(gone, "child {child} survived its parent's drop");
}
