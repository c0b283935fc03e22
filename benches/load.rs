//! Many SyncML devices at once against a running bridge: each device first slow-syncs its
//! contacts to establish anchors (the warm-up wave, reported apart), then every device starts
//! a two-way session with K Adds (default none) at the same moment. Prints sessions completed,
//! errors by kind, latency per message and per message number, and, when given the bridge's
//! PID and the upstream's request log, the bridge's CPU seconds, its peak RSS and upstream
//! requests per session. Asserts nothing.
//!
//! `scripts/bench-load.sh` starts Radicale and the bridge and runs this; by hand:
//! `cargo bench --bench load -- --url http://127.0.0.1:8080/syncml [--devices N]
//! [--users U] [--changes K] [--bridge-pid PID] [--upstream-log FILE]`.
//! `scripts/bench-slow-upstream.sh` runs it with a few devices and `--detail`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::sync::{Barrier, Semaphore};

const SYNCML_XML: &str = "application/vnd.syncml+xml";

const USAGE: &str = "usage: load --url URL [--devices N] [--users U] [--password P] [--changes K]
            [--warmup-concurrency C] [--request-timeout SECS] [--wave-timeout SECS]
            [--bridge-pid PID] [--upstream-log FILE] [--detail]
users are named alice when U is 1, else load0001..loadU; every password is P (secret)";

struct Args {
    url: String,
    devices: usize,
    users: usize,
    password: String,
    changes: usize,
    warmup_concurrency: usize,
    request_timeout: Duration,
    wave_timeout: Duration,
    bridge_pid: Option<u32>,
    upstream_log: Option<PathBuf>,
    detail: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        devices: 1000,
        users: 1,
        password: "secret".into(),
        changes: 0,
        warmup_concurrency: 50,
        request_timeout: Duration::from_secs(300),
        wave_timeout: Duration::from_secs(900),
        bridge_pid: None,
        upstream_log: None,
        detail: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            // cargo bench appends it to every harness-less bench.
            continue;
        }
        if flag == "--detail" {
            args.detail = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--url" => args.url = value.clone(),
            "--devices" => args.devices = number()? as usize,
            "--users" => args.users = number()?.max(1) as usize,
            "--password" => args.password = value.clone(),
            "--changes" => args.changes = number()? as usize,
            "--warmup-concurrency" => args.warmup_concurrency = number()?.max(1) as usize,
            "--request-timeout" => args.request_timeout = Duration::from_secs(number()?),
            "--wave-timeout" => args.wave_timeout = Duration::from_secs(number()?),
            "--bridge-pid" => args.bridge_pid = Some(number()? as u32),
            "--upstream-log" => args.upstream_log = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(args)
}

fn user_name(device: usize, users: usize) -> String {
    if users == 1 {
        "alice".into()
    } else {
        format!("load{:04}", device % users + 1)
    }
}

// ---------------------------------------------------------------------------------------
// Messages and replies (SyncML 1.2 XML, written and read by hand like a phone would)

fn inner<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

struct Status {
    cmd: String,
    cmd_ref: String,
    code: u16,
}

/// A command of the server's that the next message must answer with a Status.
struct ServerCommand {
    name: &'static str,
    cmd_id: String,
    /// For an Add: the server's id of the item, which the phone maps to its own LUID.
    source: Option<String>,
}

struct Reply {
    statuses: Vec<Status>,
    resp_uri: Option<String>,
    msg_id: String,
    commands: Vec<ServerCommand>,
    is_final: bool,
}

fn parse_reply(text: &str) -> Reply {
    let statuses = text
        .split("<Status>")
        .skip(1)
        .filter_map(|chunk| {
            let body = chunk.split("</Status>").next()?;
            Some(Status {
                cmd: inner(body, "Cmd")?.trim().to_owned(),
                cmd_ref: inner(body, "CmdRef")?.trim().to_owned(),
                code: inner(body, "Data")?.trim().parse().ok()?,
            })
        })
        .collect();
    let header = inner(text, "SyncHdr").unwrap_or("");
    let body = inner(text, "SyncBody").unwrap_or("");
    let mut commands = Vec::new();
    for name in ["Alert", "Sync", "Add", "Replace", "Delete", "Put"] {
        let open = format!("<{name}>");
        for chunk in body.split(open.as_str()).skip(1) {
            let Some(cmd_id) = inner(chunk, "CmdID") else {
                continue;
            };
            let source = (name == "Add")
                .then(|| {
                    let add = chunk.split("</Add>").next().unwrap_or(chunk);
                    inner(inner(add, "Source")?, "LocURI").map(|s| s.trim().to_owned())
                })
                .flatten();
            commands.push(ServerCommand {
                name,
                cmd_id: cmd_id.trim().to_owned(),
                source,
            });
        }
    }
    Reply {
        statuses,
        resp_uri: inner(header, "RespURI").map(|s| s.trim().replace("&amp;", "&")),
        msg_id: inner(header, "MsgID").unwrap_or("1").trim().to_owned(),
        commands,
        is_final: body.contains("<Final/>") || body.contains("<Final></Final>"),
    }
}

fn basic_cred(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "<Cred><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-basic</Type><Format xmlns=\"syncml:metinf\">b64</Format></Meta><Data>{}</Data></Cred>",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn card(device: usize, session: &str, k: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Device {device};Change {session}-{k};;;\r\n\
         FN:Change {session}-{k} Device {device}\r\nTEL;CELL:+4917{device:05}{k:03}\r\n\
         EMAIL;INTERNET:d{device}.s{session}.c{k}@example.org\r\nEND:VCARD\r\n"
    )
}

#[derive(Clone, Copy)]
enum Kind {
    /// Alert 201 with Next anchor "1": establishes the anchors.
    Slow,
    /// Alert 200 with Last "1", Next "2".
    TwoWay,
}

/// One phone: its HTTP client (its own connection), device id and user.
struct Device {
    index: usize,
    id: String,
    user: String,
    http: reqwest::Client,
}

/// What one session did: the wait of each message (by number), and the error that ended it.
#[derive(Default)]
struct Outcome {
    waits: Vec<(u32, Duration)>,
    total: Duration,
    error: Option<String>,
}

struct Session<'a> {
    device: &'a Device,
    url: String,
    session_id: &'static str,
    msg_id: u32,
    outcome: Outcome,
}

impl Session<'_> {
    fn message(&mut self, cred: &str, body: &str, last: bool) -> String {
        self.msg_id += 1;
        let fin = if last { "<Final/>" } else { "" };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SyncML xmlns=\"syncml:syncml1.2\"><SyncHdr>\
             <VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>{}</SessionID><MsgID>{}</MsgID>\
             <Target><LocURI>{}</LocURI></Target><Source><LocURI>{}</LocURI></Source>{cred}\
             <Meta><MaxMsgSize xmlns=\"syncml:metinf\">65536</MaxMsgSize></Meta></SyncHdr>\
             <SyncBody>{body}{fin}</SyncBody></SyncML>",
            self.session_id,
            self.msg_id,
            xml_escape(&self.url),
            self.device.id
        )
    }

    /// Posts one message; an error is its kind, prefixed with the message number.
    async fn post(&mut self, xml: String) -> Result<Reply, String> {
        let n = self.msg_id;
        let started = Instant::now();
        let result = async {
            let resp = self
                .device
                .http
                .post(&self.url)
                .header("Content-Type", SYNCML_XML)
                .body(xml)
                .send()
                .await
                .map_err(transport_kind)?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(transport_kind)?;
            if status != 200 {
                return Err(format!("HTTP {status}"));
            }
            Ok(text)
        }
        .await;
        self.outcome.waits.push((n, started.elapsed()));
        let text = result.map_err(|kind| format!("msg {n}: {kind}"))?;
        let reply = parse_reply(&text);
        let header = reply
            .statuses
            .iter()
            .find(|s| s.cmd == "SyncHdr")
            .map(|s| s.code);
        match header {
            Some(200 | 212) => {}
            Some(code) => return Err(format!("msg {n}: SyncHdr status {code}")),
            None => return Err(format!("msg {n}: no SyncHdr status")),
        }
        if let Some(uri) = &reply.resp_uri {
            self.url = uri.clone();
        }
        Ok(reply)
    }

    /// Statuses for every command of `reply`, and a Map for its Adds.
    fn answer(&self, reply: &Reply, next_cmd: &mut u32) -> String {
        let mut out = String::new();
        let mut status = |cmd_ref: &str, cmd: &str, code: u16| {
            *next_cmd += 1;
            out.push_str(&format!(
                "<Status><CmdID>{}</CmdID><MsgRef>{}</MsgRef><CmdRef>{cmd_ref}</CmdRef><Cmd>{cmd}</Cmd><Data>{code}</Data></Status>",
                *next_cmd, reply.msg_id
            ));
        };
        status("0", "SyncHdr", 200);
        let mut map = String::new();
        for c in &reply.commands {
            let code = if c.name == "Add" { 201 } else { 200 };
            status(&c.cmd_id, c.name, code);
            if let Some(server_id) = &c.source {
                // The id is copied as it stood in the reply, still escaped.
                map.push_str(&format!(
                    "<MapItem><Target><LocURI>{server_id}</LocURI></Target><Source><LocURI>{}-from-{server_id}</LocURI></Source></MapItem>",
                    self.device.id
                ));
            }
        }
        if !map.is_empty() {
            *next_cmd += 1;
            out.push_str(&format!(
                "<Map><CmdID>{next_cmd}</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>{map}</Map>"
            ));
        }
        out
    }

    /// Posts `m`; while the bridge's answer is not ready yet (it only asks for the next
    /// message), asks for the rest, as a phone does.
    async fn post_ready(&mut self, m: String) -> Result<Reply, String> {
        let mut reply = self.post(m).await?;
        while reply.still_working() {
            if self.msg_id >= 40 {
                return Err("more than 40 messages".into());
            }
            let mut cmd = 0;
            let mut body = self.answer(&reply, &mut cmd);
            body.push_str(&next_message(cmd + 1));
            let m = self.message("", &body, false);
            reply = self.post(m).await?;
        }
        Ok(reply)
    }

    async fn run(&mut self, kind: Kind, changes: usize, password: &str) -> Result<(), String> {
        let (code, anchors) = match kind {
            Kind::Slow => (201, "<Next>1</Next>"),
            Kind::TwoWay => (200, "<Last>1</Last><Next>2</Next>"),
        };
        let alert = format!(
            "<Alert><CmdID>1</CmdID><Data>{code}</Data><Item><Target><LocURI>contacts</LocURI></Target>\
             <Source><LocURI>./contacts</LocURI></Source><Meta><Anchor xmlns=\"syncml:metinf\">{anchors}</Anchor></Meta></Item></Alert>"
        );
        let cred = basic_cred(&self.device.user, password);
        let m = self.message(&cred, &alert, true);
        let reply = self.post_ready(m).await?;
        expect_status(&reply, "Alert", "1", &[200], 1)?;

        // Package 3: the phone's Sync with its Adds.
        let mut cmd = 0;
        let mut body = self.answer(&reply, &mut cmd);
        cmd += 1;
        let sync_id = cmd;
        let mut adds = String::new();
        for k in 0..changes {
            cmd += 1;
            adds.push_str(&format!(
                "<Add><CmdID>{cmd}</CmdID><Meta><Type xmlns=\"syncml:metinf\">text/x-vcard</Type></Meta>\
                 <Item><Source><LocURI>{}-{}-{k}</LocURI></Source><Data><![CDATA[{}]]></Data></Item></Add>",
                self.device.id,
                self.session_id,
                card(self.device.index, self.session_id, k)
            ));
        }
        body.push_str(&format!(
            "<Sync><CmdID>{sync_id}</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>\
             <NumberOfChanges>{changes}</NumberOfChanges>{adds}</Sync>"
        ));
        let m = self.message("", &body, true);
        let n = self.msg_id;
        let mut reply = self.post_ready(m).await?;
        expect_status(&reply, "Sync", &sync_id.to_string(), &[200], n)?;
        for k in 0..changes {
            let id = (sync_id as usize + 1 + k).to_string();
            expect_status(&reply, "Add", &id, &[200, 201], n)?;
        }

        // Package 4 may span messages: answer each (asking for more with Alert 222) until
        // the server's Final, then one last message with the statuses (and Map) ends it.
        loop {
            if self.msg_id >= 60 {
                return Err("more than 60 messages".into());
            }
            let mut cmd = 0;
            let mut body = self.answer(&reply, &mut cmd);
            if !reply.is_final {
                body.push_str(&next_message(cmd + 1));
            }
            let last = reply.is_final;
            let m = self.message("", &body, last);
            reply = self.post(m).await?;
            if last {
                return Ok(());
            }
        }
    }
}

/// The phone's request for the server's next message (Alert 222).
fn next_message(cmd_id: u32) -> String {
    format!(
        "<Alert><CmdID>{cmd_id}</CmdID><Data>222</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source></Item></Alert>"
    )
}

impl Reply {
    /// The bridge's answer is not ready: only its header status and a request for the
    /// phone's next message.
    fn still_working(&self) -> bool {
        !self.is_final
            && self.statuses.iter().all(|s| s.cmd == "SyncHdr")
            && matches!(self.commands.as_slice(), [c] if c.name == "Alert")
    }
}

fn expect_status(
    reply: &Reply,
    cmd: &str,
    cmd_ref: &str,
    ok: &[u16],
    n: u32,
) -> Result<(), String> {
    match reply
        .statuses
        .iter()
        .find(|s| s.cmd == cmd && s.cmd_ref == cmd_ref)
    {
        Some(s) if ok.contains(&s.code) => Ok(()),
        Some(s) => Err(format!("msg {n}: {cmd} status {}", s.code)),
        None => Err(format!("msg {n}: no {cmd} status")),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

fn transport_kind(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else if e.is_body() || e.is_decode() {
        "error reading the body".into()
    } else {
        "connection error".into()
    }
}

// ---------------------------------------------------------------------------------------
// The bridge's process and the upstream's log

/// utime + stime of `pid` in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// A field of /proc/PID/status in kB (VmHWM, VmRSS).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS so VmHWM covers only what follows (Linux clear_refs "5").
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn upstream_requests(log: &Option<PathBuf>) -> Option<usize> {
    let text = std::fs::read(log.as_ref()?).ok()?;
    Some(
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.contains(" request for "))
            .count(),
    )
}

// ---------------------------------------------------------------------------------------
// Waves and figures

struct WaveResult {
    outcomes: Vec<(usize, Outcome)>,
    wall: Duration,
}

async fn wave(
    devices: &[Arc<Device>],
    kind: Kind,
    changes: usize,
    args: &Args,
    limit: Option<usize>,
) -> WaveResult {
    // Every device waits at the barrier, so all first messages leave together; the warm-up
    // uses a semaphore instead, to establish anchors without measuring an overload.
    let barrier = Arc::new(Barrier::new(devices.len()));
    let permits = Arc::new(Semaphore::new(limit.unwrap_or(devices.len()).max(1)));
    let deadline = tokio::time::Instant::now() + args.wave_timeout;
    let password = Arc::new(args.password.clone());
    let base_url = Arc::new(args.url.clone());
    let wave_secs = args.wave_timeout.as_secs();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(devices.len());
    for device in devices {
        let device = device.clone();
        let barrier = barrier.clone();
        let permits = permits.clone();
        let password = password.clone();
        let base_url = base_url.clone();
        let use_barrier = limit.is_none();
        tasks.push(tokio::spawn(async move {
            if use_barrier {
                barrier.wait().await;
            }
            let _permit = permits.acquire_owned().await;
            let mut session = Session {
                device: &device,
                url: base_url.to_string(),
                session_id: match kind {
                    Kind::Slow => "1",
                    Kind::TwoWay => "2",
                },
                msg_id: 0,
                outcome: Outcome::default(),
            };
            let began = Instant::now();
            let result =
                tokio::time::timeout_at(deadline, session.run(kind, changes, &password)).await;
            let mut outcome = std::mem::take(&mut session.outcome);
            outcome.total = began.elapsed();
            outcome.error = match result {
                Ok(Ok(())) => None,
                Ok(Err(kind)) => Some(kind),
                Err(_) => Some(format!("unfinished at the wave's deadline ({wave_secs} s)")),
            };
            (device.index, outcome)
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(o) => outcomes.push(o),
            Err(e) => outcomes.push((
                usize::MAX,
                Outcome {
                    error: Some(format!("client task failed: {e}")),
                    ..Outcome::default()
                },
            )),
        }
    }
    WaveResult {
        outcomes,
        wall: start.elapsed(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency_line(label: &str, mut d: Vec<Duration>) {
    d.sort();
    println!(
        "  {label:<14} {:>6} {:>9.3} {:>9.3} {:>9.3}",
        d.len(),
        percentile(&d, 50.0).as_secs_f64(),
        percentile(&d, 99.0).as_secs_f64(),
        d.last().copied().unwrap_or_default().as_secs_f64()
    );
}

/// What the bridge and the upstream did during one wave.
struct Footprint {
    cpu: Option<f64>,
    peak_rss_kb: Option<u64>,
    peak_reset: bool,
    requests: Option<usize>,
}

struct Probe {
    pid: Option<u32>,
    cpu: Option<f64>,
    requests: Option<usize>,
    peak_reset: bool,
}

impl Probe {
    fn start(args: &Args) -> Probe {
        let pid = args.bridge_pid;
        Probe {
            pid,
            cpu: pid.and_then(cpu_seconds),
            requests: upstream_requests(&args.upstream_log),
            peak_reset: pid.is_some_and(reset_peak_rss),
        }
    }

    async fn finish(self, args: &Args) -> Footprint {
        // Radicale writes its log line when it answers; give the last lines a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let requests = match (self.requests, upstream_requests(&args.upstream_log)) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        Footprint {
            cpu: match (self.cpu, self.pid.and_then(cpu_seconds)) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            },
            peak_rss_kb: self.pid.and_then(|p| status_kb(p, "VmHWM:")),
            peak_reset: self.peak_reset,
            requests,
        }
    }
}

fn report(title: &str, result: &WaveResult, footprint: &Footprint, detail: bool) {
    println!("\n== {title}");
    let sessions = result.outcomes.len();
    let completed = result
        .outcomes
        .iter()
        .filter(|(_, o)| o.error.is_none())
        .count();
    println!("sessions completed:   {completed} of {sessions}");
    println!("wall time:            {:.1} s", result.wall.as_secs_f64());
    let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, o) in &result.outcomes {
        if let Some(e) = &o.error {
            *errors.entry(e.as_str()).or_default() += 1;
        }
    }
    println!("errors:               {}", sessions - completed);
    for (kind, n) in &errors {
        println!("  {n:>6}  {kind}");
    }
    let mut all = Vec::new();
    let mut by_number: BTreeMap<u32, Vec<Duration>> = BTreeMap::new();
    let mut totals = Vec::new();
    for (_, o) in &result.outcomes {
        for (n, d) in &o.waits {
            all.push(*d);
            by_number.entry(*n).or_default().push(*d);
        }
        if o.error.is_none() {
            totals.push(o.total);
        }
    }
    println!("latency (s)            count       p50       p99       max");
    let worst = all.iter().max().copied().unwrap_or_default();
    latency_line("every message", all);
    for (n, d) in by_number {
        latency_line(&format!("message {n}"), d);
    }
    latency_line("whole session", totals);
    println!(
        "worst phone wait:     {:.3} s (any message, answered or not)",
        worst.as_secs_f64()
    );
    match footprint.cpu {
        Some(cpu) => println!("bridge CPU (user+sys): {cpu:.2} s"),
        None => println!("bridge CPU (user+sys): unknown (no --bridge-pid)"),
    }
    match footprint.peak_rss_kb {
        Some(kb) => println!(
            "bridge peak RSS:      {:.1} MB (VmHWM{})",
            kb as f64 / 1024.0,
            if footprint.peak_reset {
                ", reset before this wave"
            } else {
                ", since the bridge started"
            }
        ),
        None => println!("bridge peak RSS:      unknown"),
    }
    match footprint.requests {
        Some(r) => println!(
            "upstream requests:    {r} ({:.2} per completed session)",
            r as f64 / completed.max(1) as f64
        ),
        None => println!("upstream requests:    unknown (no --upstream-log)"),
    }
    if detail {
        for (index, o) in &result.outcomes {
            let waits: Vec<String> = o
                .waits
                .iter()
                .map(|(n, d)| format!("msg {n} {:.3} s", d.as_secs_f64()))
                .collect();
            println!(
                "  device {index}: {} -> {}",
                waits.join(", "),
                o.error.as_deref().unwrap_or("session completed")
            );
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let mut devices = Vec::with_capacity(args.devices);
    for index in 0..args.devices {
        // One client per device, so each device has its own connection as a phone would.
        let http = match reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .connect_timeout(Duration::from_secs(30))
            .timeout(args.request_timeout)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("HTTP client: {e}");
                std::process::exit(1);
            }
        };
        devices.push(Arc::new(Device {
            index,
            id: format!("load-dev-{index:05}"),
            user: user_name(index, args.users),
            http,
        }));
    }
    println!(
        "devices {}, users {}, changes per two-way session {}, bridge {}",
        args.devices, args.users, args.changes, args.url
    );

    // Warm-up: slow syncs a bounded number at a time, then one retry of the failures.
    let probe = Probe::start(&args);
    let mut warm = wave(
        &devices,
        Kind::Slow,
        0,
        &args,
        Some(args.warmup_concurrency),
    )
    .await;
    let failed: Vec<Arc<Device>> = warm
        .outcomes
        .iter()
        .filter(|(_, o)| o.error.is_some())
        .filter_map(|(i, _)| devices.get(*i).cloned())
        .collect();
    if !failed.is_empty() {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, o) in &warm.outcomes {
            if let Some(e) = &o.error {
                *kinds.entry(e.as_str()).or_default() += 1;
            }
        }
        println!(
            "warm-up: retrying {} failed slow syncs ({kinds:?})",
            failed.len()
        );
        let retry = wave(&failed, Kind::Slow, 0, &args, Some(args.warmup_concurrency)).await;
        for (i, o) in retry.outcomes {
            if let Some(slot) = warm.outcomes.iter_mut().find(|(j, _)| *j == i) {
                slot.1 = o;
            }
        }
        warm.wall += retry.wall;
    }
    let footprint = probe.finish(&args).await;
    report(
        &format!(
            "warm-up: slow sync, {} at a time (not the measured wave)",
            args.warmup_concurrency
        ),
        &warm,
        &footprint,
        args.detail,
    );

    let ready: Vec<Arc<Device>> = warm
        .outcomes
        .iter()
        .filter(|(_, o)| o.error.is_none())
        .filter_map(|(i, _)| devices.get(*i).cloned())
        .collect();
    if ready.is_empty() {
        println!("\nno device has anchors; the two-way wave is not run");
        return;
    }
    let warm_worst = worst_wait(&warm);
    let probe = Probe::start(&args);
    let result = wave(&ready, Kind::TwoWay, args.changes, &args, None).await;
    let footprint = probe.finish(&args).await;
    report(
        &format!(
            "measured: two-way sessions with {} changes, starting at once on {} of {} devices",
            args.changes,
            ready.len(),
            args.devices
        ),
        &result,
        &footprint,
        args.detail,
    );
    println!(
        "\nworst phone wait over both waves: {:.3} s",
        warm_worst.max(worst_wait(&result)).as_secs_f64()
    );
}

fn worst_wait(result: &WaveResult) -> Duration {
    result
        .outcomes
        .iter()
        .flat_map(|(_, o)| o.waits.iter().map(|(_, d)| *d))
        .max()
        .unwrap_or_default()
}
