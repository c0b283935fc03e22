//! A real Kannel for push tests: bearerbox with a fake SMSC, smsbox with a
//! `sendsms-user`, and Kannel's `fakesmsc` connected as the "phone network",
//! whose log shows every SMS that would reach a phone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::tools::{free_port, wait_until, OwnedProcess};

pub const USERNAME: &str = "pushtest";
pub const PASSWORD: &str = "pushsecret";
pub const SENDER: &str = "12345";

/// An SMS as it reached the fake SMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    pub from: String,
    pub to: String,
    pub udh: Vec<u8>,
    pub data: Vec<u8>,
}

pub struct Kannel {
    // Dropped in field order: the SMSC client first, the bearerbox last.
    fakesmsc: OwnedProcess,
    smsbox: OwnedProcess,
    bearerbox: OwnedProcess,
    dir: tempfile::TempDir,
    pub sendsms_url: String,
}

/// Finds a Kannel binary on PATH or in the sbin directories Debian installs it to.
fn kannel_tool(name: &str, package: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/lib/kannel/test"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("missing {name}: install Debian package {package}"))
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

impl Kannel {
    pub fn start() -> Self {
        let bearerbox_bin = kannel_tool("bearerbox", "kannel");
        let smsbox_bin = kannel_tool("smsbox", "kannel");
        let fakesmsc_bin = kannel_tool("fakesmsc", "kannel-extras");
        let dir = tempfile::tempdir().expect("temp dir for kannel");
        let [admin, boxes, smsc, sendsms] = [free_port(), free_port(), free_port(), free_port()];
        let d = dir.path().display();
        let conf = format!(
            "group = core\nadmin-port = {admin}\nadmin-password = adminpw\n\
             smsbox-port = {boxes}\nbox-allow-ip = 127.0.0.1\nadmin-allow-ip = 127.0.0.1\n\
             log-file = \"{d}/bearerbox.log\"\nlog-level = 0\n\n\
             group = smsc\nsmsc = fake\nsmsc-id = fake\nport = {smsc}\nconnect-allow-ip = 127.0.0.1\n\n\
             group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = {boxes}\n\
             sendsms-port = {sendsms}\nlog-file = \"{d}/smsbox.log\"\nlog-level = 0\n\n\
             group = sendsms-user\nusername = {USERNAME}\npassword = {PASSWORD}\nmax-messages = 1\n\n\
             group = sms-service\nkeyword = default\ntext = \"unused\"\n"
        );
        let conf_path = dir.path().join("kannel.conf");
        std::fs::write(&conf_path, conf).expect("write kannel.conf");

        let mut cmd = Command::new(bearerbox_bin);
        cmd.arg(&conf_path).current_dir(dir.path());
        let mut bearerbox =
            OwnedProcess::spawn("bearerbox", cmd, &dir.path().join("bearerbox.out"));
        if !wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
            port_open(boxes) && port_open(smsc)
        }) {
            bearerbox.fail("did not open its box and SMSC ports within 20 s");
        }
        let mut cmd = Command::new(smsbox_bin);
        cmd.arg(&conf_path).current_dir(dir.path());
        let mut smsbox = OwnedProcess::spawn("smsbox", cmd, &dir.path().join("smsbox.out"));
        if !wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
            port_open(sendsms)
        }) {
            smsbox.fail("did not open its sendsms port within 20 s");
        }
        let mut cmd = Command::new(fakesmsc_bin);
        cmd.args([
            "-H",
            "127.0.0.1",
            "-r",
            &smsc.to_string(),
            "-m",
            "0",
            "1 2 text unused",
        ])
        .current_dir(dir.path());
        let mut fakesmsc = OwnedProcess::spawn("fakesmsc", cmd, &dir.path().join("fakesmsc.log"));
        // The SMSC is usable once bearerbox reports the fake connection online.
        let status_url = format!("http://127.0.0.1:{admin}/status.txt?password=adminpw");
        let online = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
            reqwest::blocking::get(&status_url)
                .and_then(|r| r.text())
                .map(|t| {
                    t.lines()
                        .any(|l| l.contains("fake") && l.contains("online"))
                })
                .unwrap_or(false)
        });
        if !online {
            fakesmsc.fail("did not connect to bearerbox's fake SMSC within 20 s");
        }
        Kannel {
            fakesmsc,
            smsbox,
            bearerbox,
            sendsms_url: format!("http://127.0.0.1:{sendsms}/cgi-bin/sendsms"),
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every SMS the fake SMSC has received so far, in order.
    pub fn received(&self) -> Vec<ReceivedSms> {
        self.fakesmsc
            .log_text()
            .lines()
            .filter_map(parse_fakesmsc_line)
            .collect()
    }

    /// Waits (bounded) until at least `n` SMS arrived; panics with the logs if not.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedSms> {
        let mut got = Vec::new();
        let ok = wait_until(timeout, Duration::from_millis(100), || {
            got = self.received();
            got.len() >= n
        });
        if !ok {
            panic!(
                "fake SMSC received {} of {n} SMS within {timeout:?}; fakesmsc log:\n{}\nsmsbox log:\n{}",
                got.len(),
                self.fakesmsc.log_text(),
                std::fs::read_to_string(self.dir.path().join("smsbox.log")).unwrap_or_default()
            );
        }
        got
    }
}

/// `... Got message N: <from to udh UDH data DATA>` with URL-encoded UDH and DATA.
fn parse_fakesmsc_line(line: &str) -> Option<ReceivedSms> {
    let start = line.find("Got message")?;
    let body = &line[start..];
    let body = &body[body.find('<')? + 1..body.rfind('>')?];
    let cols: Vec<&str> = body.split(' ').collect();
    match cols.as_slice() {
        [from, to, "udh", udh, "data", data] => Some(ReceivedSms {
            from: from.to_string(),
            to: to.to_string(),
            udh: url_decode(udh),
            data: url_decode(data),
        }),
        [from, to, "data", data] => Some(ReceivedSms {
            from: from.to_string(),
            to: to.to_string(),
            udh: Vec::new(),
            data: url_decode(data),
        }),
        _ => None,
    }
}

fn url_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let v = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}
