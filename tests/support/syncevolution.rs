//! SyncEvolution (Debian 2.0.0) as the phone: a command-line SyncML client whose datastores are
//! plain directories (one item per file), run with private XDG dirs and the `curl_shim.c`
//! LD_PRELOAD fix for its HTTP transport.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use super::tools::{require, run_bounded};

const CONFIG: &str = "phone@test";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds `curl_shim.c` once per test process and returns the shared object's path.
pub fn curl_shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(build_curl_shim)
}

fn build_curl_shim() -> PathBuf {
    let gcc = require("gcc", "gcc");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/curl_shim.c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("curl-shim");
    std::fs::create_dir_all(&out_dir).expect("create the shim build dir");
    // Built under a per-process name and renamed, so parallel test binaries never load a
    // half-written library.
    let partial = out_dir.join(format!("curl_shim.{}.so.partial", std::process::id()));
    let target = out_dir.join(format!("curl_shim.{}.so", std::process::id()));
    let output = Command::new(gcc)
        .args([
            "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
        ])
        .arg(&partial)
        .arg(&source)
        .arg("-ldl")
        .output()
        .expect("run gcc");
    if !output.status.success() {
        panic!(
            "building {} failed:\n{}",
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&partial, &target).expect("move the built shim in place");
    target
}

/// The shim calls into libsyncevolution; look for it where Debian puts multiarch libraries.
fn libsyncevolution_installed() -> bool {
    let Ok(entries) = std::fs::read_dir("/usr/lib") else {
        return false;
    };
    entries
        .filter_map(|e| e.ok())
        .any(|e| e.path().join("libsyncevolution.so.0").exists())
}

/// One of the phone's datastores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datastore {
    Contacts,
    Calendar,
    Tasks,
    Notes,
}

impl Datastore {
    pub const ALL: [Datastore; 4] = [
        Datastore::Contacts,
        Datastore::Calendar,
        Datastore::Tasks,
        Datastore::Notes,
    ];

    /// The source name in the SyncEvolution config (and in its report).
    pub fn name(self) -> &'static str {
        match self {
            Datastore::Contacts => "contacts",
            Datastore::Calendar => "calendar",
            Datastore::Tasks => "tasks",
            Datastore::Notes => "notes",
        }
    }

    /// The server database URI the phone alerts by default (as Nokia phones name them).
    pub fn default_uri(self) -> &'static str {
        match self {
            Datastore::Contacts => "Contacts",
            Datastore::Calendar => "Calendar",
            Datastore::Tasks => "Tasks",
            Datastore::Notes => "Notes",
        }
    }

    /// The item format on the phone and on the wire: what legacy phones use.
    pub fn format(self) -> &'static str {
        match self {
            Datastore::Contacts => "text/x-vcard",
            Datastore::Calendar | Datastore::Tasks => "text/x-vcalendar",
            Datastore::Notes => "text/plain",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMlVersion {
    V1_0,
    V1_1,
    V1_2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Md5,
    Basic,
}

/// How the phone talks to the server.
#[derive(Debug, Clone)]
pub struct PhoneOptions {
    pub version: SyncMlVersion,
    pub wbxml: bool,
    pub auth: ClientAuth,
    /// SyncEvolution raises values below 10240 to 10240.
    pub max_msg_size: Option<u32>,
    pub max_obj_size: Option<u32>,
    /// `loglevel=`; 5 dumps every message into the session log.
    pub log_level: Option<u8>,
    /// Server database URI per datastore; [`Datastore::default_uri`] when absent.
    pub uris: BTreeMap<Datastore, String>,
    /// Further `key=value` config properties.
    pub extra: Vec<(String, String)>,
    /// Datastores to configure.
    pub datastores: Vec<Datastore>,
    /// Upper bound of one `--sync` run; the client is killed when it is exceeded.
    pub timeout: Duration,
}

impl Default for PhoneOptions {
    fn default() -> Self {
        Self {
            version: SyncMlVersion::V1_2,
            wbxml: true,
            auth: ClientAuth::Md5,
            max_msg_size: None,
            max_obj_size: None,
            log_level: None,
            uris: BTreeMap::new(),
            extra: Vec::new(),
            datastores: Datastore::ALL.to_vec(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Sync modes as SyncEvolution names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    TwoWay,
    Slow,
    RefreshFromClient,
    RefreshFromServer,
    OneWayFromClient,
    OneWayFromServer,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::TwoWay => "two-way",
            SyncMode::Slow => "slow",
            SyncMode::RefreshFromClient => "refresh-from-client",
            SyncMode::RefreshFromServer => "refresh-from-server",
            SyncMode::OneWayFromClient => "one-way-from-client",
            SyncMode::OneWayFromServer => "one-way-from-server",
        }
    }
}

/// Counters and state of one datastore from the session's `status.ini`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceReport {
    /// `source-<name>-mode`, e.g. `two-way`, `slow`, `disabled`.
    pub mode: Option<String>,
    /// `source-<name>-status`: 0 on success, otherwise a SyncML or local (20xxx) code.
    pub status: Option<u32>,
    /// Every `source-<name>-stat-<rest>` counter, keyed by `<rest>`
    /// (e.g. `local-added-total`, `remote-updated-total`, `local-any-sent-bytes`).
    pub stats: BTreeMap<String, u64>,
}

impl SourceReport {
    pub fn stat(&self, key: &str) -> u64 {
        self.stats.get(key).copied().unwrap_or(0)
    }
    /// Items added/updated/removed on the phone by this session.
    pub fn local_added(&self) -> u64 {
        self.stat("local-added-total")
    }
    pub fn local_updated(&self) -> u64 {
        self.stat("local-updated-total")
    }
    pub fn local_removed(&self) -> u64 {
        self.stat("local-removed-total")
    }
    /// Items the server reported as added/updated/removed on its side.
    pub fn remote_added(&self) -> u64 {
        self.stat("remote-added-total")
    }
    pub fn remote_updated(&self) -> u64 {
        self.stat("remote-updated-total")
    }
    pub fn remote_removed(&self) -> u64 {
        self.stat("remote-removed-total")
    }
}

/// The session report (`status.ini`) of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// `status`: 0 (or 200) when the session succeeded.
    pub status: Option<u32>,
    pub error: Option<String>,
    pub sources: BTreeMap<String, SourceReport>,
    /// The session directory (log, status.ini, message dumps with loglevel 5).
    pub dir: PathBuf,
}

impl SessionReport {
    /// Parses the text of a `status.ini`.
    pub fn parse(text: &str, dir: PathBuf) -> Self {
        let mut report = SessionReport {
            dir,
            ..Default::default()
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "status" => report.status = value.parse().ok(),
                "error" => report.error = Some(value.to_owned()),
                _ => {
                    if let Some(rest) = key.strip_prefix("source-") {
                        report.parse_source_key(rest, value);
                    }
                }
            }
        }
        report
    }

    fn parse_source_key(&mut self, rest: &str, value: &str) {
        // Source names never contain '-' in our configs, so the first '-' ends the name.
        let Some((name, field)) = rest.split_once('-') else {
            return;
        };
        let source = self.sources.entry(name.to_owned()).or_default();
        if let Some(stat) = field.strip_prefix("stat-") {
            if let Ok(n) = value.parse() {
                source.stats.insert(stat.to_owned(), n);
            }
        } else if field == "mode" {
            source.mode = Some(value.to_owned());
        } else if field == "status" {
            source.status = value.parse().ok();
        }
    }

    pub fn source(&self, datastore: Datastore) -> SourceReport {
        self.sources
            .get(datastore.name())
            .cloned()
            .unwrap_or_default()
    }
}

/// What one `--sync` run gave.
#[derive(Debug)]
pub struct SyncOutcome {
    /// `None` when the run exceeded its timeout and was killed.
    pub exit: Option<ExitStatus>,
    pub report: Option<SessionReport>,
    /// Everything the client printed.
    pub output: String,
}

impl SyncOutcome {
    /// The message dumps of a session logged at level 5 that went `way` ("outgoing" or
    /// "incoming"), in order.
    pub fn message_dumps(&self, way: &str) -> Vec<String> {
        let Some(report) = &self.report else {
            panic!("no session report:\n{}", self.output);
        };
        let suffix = format!("_{way}.xml");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&report.dir)
            .expect("session log dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("_msg") && n.ends_with(&suffix))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("read message dump"))
            .collect()
    }

    pub fn timed_out(&self) -> bool {
        self.exit.is_none()
    }

    pub fn succeeded(&self) -> bool {
        self.exit.is_some_and(|s| s.success())
    }

    /// True when the client died of a signal (SIGSEGV was the transport bug the shim fixes).
    pub fn crashed(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.exit.and_then(|s| s.signal()).is_some()
    }

    pub fn source(&self, datastore: Datastore) -> SourceReport {
        self.report
            .as_ref()
            .map(|r| r.source(datastore))
            .unwrap_or_default()
    }

    /// Panics with the client's output unless the run succeeded.
    pub fn assert_success(&self) {
        assert!(
            self.succeeded(),
            "syncevolution failed (exit {:?}, report status {:?}, error {:?}):\n{}",
            self.exit,
            self.report.as_ref().and_then(|r| r.status),
            self.report.as_ref().and_then(|r| r.error.clone()),
            self.output
        );
    }
}

/// A SyncEvolution client with private configuration, cache, data and datastore dirs.
pub struct Phone {
    dir: TempDir,
    syncevolution: PathBuf,
    options: PhoneOptions,
    runs: u32,
}

impl Phone {
    pub fn new() -> Self {
        let syncevolution = require("syncevolution", "syncevolution");
        if !libsyncevolution_installed() {
            panic!("missing libsyncevolution.so.0: install Debian package syncevolution");
        }
        curl_shim();
        let dir = tempfile::Builder::new()
            .prefix("phone-")
            .tempdir()
            .expect("create phone temp dir");
        for sub in ["config", "cache", "data", "logs"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create phone dirs");
        }
        for store in Datastore::ALL {
            std::fs::create_dir_all(dir.path().join("stores").join(store.name()))
                .expect("create datastore dir");
        }
        Self {
            dir,
            syncevolution,
            options: PhoneOptions::default(),
            runs: 0,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.syncevolution);
        command
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("LD_PRELOAD", curl_shim())
            .arg("--daemon=no");
        command
    }

    /// Writes the client configuration `phone@test` with file-backed datastores.
    pub fn configure(
        &mut self,
        url: &str,
        user: &str,
        password: &str,
        device_id: &str,
        options: PhoneOptions,
    ) {
        let mut props: Vec<String> = vec![
            "keyring=no".into(),
            format!("syncURL={url}"),
            format!("username={user}"),
            format!("password={password}"),
            format!("deviceId={device_id}"),
            format!("enableWBXML={}", u8::from(options.wbxml)),
            format!(
                "SyncMLVersion={}",
                match options.version {
                    SyncMlVersion::V1_0 => "1.0",
                    SyncMlVersion::V1_1 => "1.1",
                    SyncMlVersion::V1_2 => "1.2",
                }
            ),
            format!(
                "clientAuthType={}",
                match options.auth {
                    ClientAuth::Md5 => "md5",
                    ClientAuth::Basic => "basic",
                }
            ),
            "preventSlowSync=0".into(),
            "RetryInterval=0".into(),
            "enableRefreshSync=1".into(),
            "printChanges=0".into(),
            "dumpData=0".into(),
            format!("logdir={}", self.dir.path().join("logs").display()),
        ];
        if let Some(size) = options.max_msg_size {
            props.push(format!("maxMsgSize={size}"));
        }
        if let Some(size) = options.max_obj_size {
            props.push(format!("maxObjSize={size}"));
        }
        if let Some(level) = options.log_level {
            props.push(format!("loglevel={level}"));
        }
        for (key, value) in &options.extra {
            props.push(format!("{key}={value}"));
        }
        for store in &options.datastores {
            let name = store.name();
            let uri = options
                .uris
                .get(store)
                .map(String::as_str)
                .unwrap_or(store.default_uri());
            props.extend([
                format!("{name}/backend=file"),
                format!(
                    "{name}/database=file://{}",
                    self.datastore_dir(*store).display()
                ),
                format!("{name}/databaseFormat={}", store.format()),
                format!("{name}/syncFormat={}", store.format()),
                format!("{name}/forceSyncFormat=1"),
                format!("{name}/uri={uri}"),
            ]);
        }

        let mut command = self.command();
        command
            .args(["--configure", "--template", "none"])
            .args(&props)
            .arg(CONFIG)
            .args(options.datastores.iter().map(|s| s.name()));
        let log = self.dir.path().join("configure.log");
        let status = run_bounded("syncevolution --configure", command, &log, options.timeout);
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        match status {
            Some(s) if s.success() => {}
            other => panic!("syncevolution --configure failed ({other:?}):\n{output}"),
        }
        self.options = options;
    }

    /// Runs one sync of `sources` (all configured ones when empty), bounded by the configured
    /// timeout.
    pub fn sync(&mut self, mode: SyncMode, sources: &[Datastore]) -> SyncOutcome {
        self.runs += 1;
        let sessions_before = self.session_dirs();
        let mut command = self.command();
        command.args(["--sync", mode.as_str(), CONFIG]);
        command.args(sources.iter().map(|s| s.name()));
        let log = self.dir.path().join(format!("sync-{}.log", self.runs));
        let exit = run_bounded("syncevolution --sync", command, &log, self.options.timeout);
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        let report = self
            .session_dirs()
            .into_iter()
            .filter(|d| !sessions_before.contains(d))
            .filter_map(|d| {
                let text = std::fs::read_to_string(d.join("status.ini")).ok()?;
                Some(SessionReport::parse(&text, d))
            })
            .next_back();
        SyncOutcome {
            exit,
            report,
            output,
        }
    }

    fn session_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("logs"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs
    }

    /// The directory backing `datastore` (one item per file).
    pub fn datastore_dir(&self, datastore: Datastore) -> PathBuf {
        self.dir.path().join("stores").join(datastore.name())
    }

    /// Adds (or overwrites) the item file `name` in `datastore`.
    pub fn put_item(&self, datastore: Datastore, name: &str, content: &str) -> PathBuf {
        let path = self.datastore_dir(datastore).join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Replaces an existing item; panics if it does not exist.
    pub fn modify_item(&self, datastore: Datastore, name: &str, content: &str) {
        let path = self.datastore_dir(datastore).join(name);
        assert!(path.exists(), "no item {} to modify", path.display());
        // The file backend detects changes by modification time with one-second resolution.
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub fn delete_item(&self, datastore: Datastore, name: &str) {
        let path = self.datastore_dir(datastore).join(name);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Every item of `datastore` as (file name, content), sorted by name.
    pub fn items(&self, datastore: Datastore) -> Vec<(String, String)> {
        let dir = self.datastore_dir(datastore);
        let mut items: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let content = std::fs::read_to_string(e.path()).unwrap_or_default();
                (name, content)
            })
            .collect();
        items.sort();
        items
    }
}

impl Default for Phone {
    fn default() -> Self {
        Self::new()
    }
}
