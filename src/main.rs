use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use syncml_bridge::config::Config;
use syncml_bridge::{convert, http, session, syncml};

#[derive(Parser)]
#[command(
    name = "syncml-bridge",
    version,
    about = "SyncML server for legacy phones in front of a CalDAV/CardDAV server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bridge: SyncML on the SyncML path, everything else proxied to the DAV server.
    Serve {
        /// Address to listen on (config key `listen`).
        #[arg(long)]
        listen: Option<String>,
        /// Base URL of the DAV server (config key `upstream.url`).
        #[arg(long)]
        upstream: Option<String>,
        /// Directory of the bridge's store (config key `data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// TOML configuration file (docs/configuration.md).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Convert a SyncML message (XML or WBXML, detected) to the other encoding on stdout.
    Codec {
        /// The encoding to write.
        #[arg(long, value_enum)]
        to: CodecTarget,
        /// The message file; stdin when absent.
        file: Option<PathBuf>,
    },
    /// Convert one item between formats (vcard21, vcard30, vcard40, vcal10, ical20, text,
    /// vnote, sifc, sife, sift, sifn) on stdout.
    Convert {
        /// The format of the input item.
        #[arg(long)]
        from: convert::Format,
        /// The format to write.
        #[arg(long)]
        to: convert::Format,
        /// The item file; stdin when absent.
        file: Option<PathBuf>,
    },
    /// Devices: list, show, resync, debug log, profile, time zone, wipe, remove (docs/admin-guide.md).
    Devices(syncml_bridge::admin::devices_cmd::DevicesArgs),
    /// Push registration and a test notification (docs/admin-guide.md).
    Push(syncml_bridge::admin::push_cmd::PushArgs),
    /// List and restore device backups (docs/configuration.md, `[backup]`).
    Backup(syncml_bridge::admin::backup_cmd::BackupArgs),
    /// Replay a recorded session (a directory of NN-in.xml messages) against a running
    /// bridge, print every exchange and check each answer (docs/admin-guide.md).
    Replay {
        /// The recording's directory.
        recording: PathBuf,
        /// The bridge's SyncML URL, e.g. http://127.0.0.1:8080/syncml.
        #[arg(long)]
        url: String,
        /// The user to log in as (Basic); without it the recorded credentials are sent.
        #[arg(long, requires = "password")]
        user: Option<String>,
        /// The user's password (a test account's: it shows in the process list).
        #[arg(long)]
        password: Option<String>,
        /// Seconds one answer may take.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum UsersAction {
    /// Users with a device or a stored credential, and whether they can have push.
    List {
        #[command(flatten)]
        common: syncml_bridge::admin::context::CommonArgs,
    },
    /// Forget USER's credential, devices, anchors and maps (upstream data stays).
    Remove {
        #[arg(value_name = "USER")]
        name: String,
        #[command(flatten)]
        common: syncml_bridge::admin::context::CommonArgs,
    },
    /// Store USER's upstream app password (read from stdin) in the vault, for MD5 log-ins.
    SetPassword {
        user: String,
        /// TOML configuration file (for `data_dir` and the vault key).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Directory of the bridge's store (config key `data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CodecTarget {
    Xml,
    Wbxml,
}

/// Replays a recording; a failed check is an error (exit code 2) after the report.
fn replay(
    dir: PathBuf,
    url: String,
    credentials: Option<(String, String)>,
    timeout: u64,
) -> anyhow::Result<()> {
    use syncml_bridge::replay;
    let recording = replay::Recording::load(&dir)?;
    let options = replay::ReplayOptions {
        url,
        credentials,
        timeout: std::time::Duration::from_secs(timeout),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    let report = runtime.block_on(replay::replay(&recording, &options))?;
    print!("{report}");
    anyhow::ensure!(
        report.passed(),
        "{} of the replayed answers failed a check",
        report
            .exchanges
            .iter()
            .filter(|e| !e.problems.is_empty())
            .count()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve {
            listen,
            upstream,
            data_dir,
            config,
        } => serve(listen, upstream, data_dir, config),
        Command::Codec { to, file } => codec(to, file),
        Command::Convert { from, to, file } => convert_item(from, to, file),
        Command::Replay {
            recording,
            url,
            user,
            password,
            timeout,
        } => replay(recording, url, user.zip(password), timeout),
        Command::Backup(args) => {
            syncml_bridge::admin::backup_cmd::run_process(args).map_err(Into::into)
        }
        Command::Devices(args) => {
            syncml_bridge::admin::devices_cmd::run(args, std::env::vars(), &mut std::io::stdout())
                .map_err(Into::into)
        }
        Command::Push(args) => {
            syncml_bridge::admin::push_cmd::run(args, std::env::vars(), &mut std::io::stdout())
                .map_err(Into::into)
        }
        Command::Users {
            action: UsersAction::List { common },
        } => users_admin(&common, |a, out| {
            syncml_bridge::admin::users_cmd::list(a, out)
        }),
        Command::Users {
            action: UsersAction::Remove { name, common },
        } => users_admin(&common, |a, out| {
            syncml_bridge::admin::users_cmd::remove(a, &name, out)
        }),
        Command::Users {
            action:
                UsersAction::SetPassword {
                    user,
                    config,
                    data_dir,
                },
        } => set_password(&user, config, data_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syncml-bridge: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(
    listen: Option<String>,
    upstream: Option<String>,
    data_dir: Option<PathBuf>,
    config: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut cfg =
        Config::load(config.as_deref(), std::env::vars()).context("invalid configuration")?;
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(u) = upstream {
        cfg.upstream.url = u;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    cfg.validate().context("invalid configuration")?;
    init_logging(&cfg)?;
    let store = Arc::new(
        syncml_bridge::store::Store::open(&cfg.data_dir).context("cannot open the store")?,
    );
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let shared = session::Shared::new(&cfg, store.clone()).context("cannot set up sessions")?;
        if cfg.push.enabled {
            start_poller(&cfg, store, shared.in_session.clone())?;
        }
        let metrics = shared.metrics.clone();
        let handler = session::SessionHandler::new(Arc::new(shared));
        tracing::info!(listen = %cfg.listen, upstream = %cfg.upstream.url, path = %cfg.syncml_path, "syncml-bridge starting");
        http::serve_with_metrics(&cfg, metrics, Arc::new(handler), http::shutdown_signal())
            .await
            .context("HTTP server failed")
    })
}

/// The push poller, with its own upstream client so its requests are counted apart.
fn start_poller(
    cfg: &Config,
    store: Arc<syncml_bridge::store::Store>,
    in_session: Arc<syncml_bridge::in_session::InSession>,
) -> anyhow::Result<()> {
    use syncml_bridge::push::poller;
    let vault = syncml_bridge::store::VaultKey::load(&cfg.auth.vault_key, &cfg.auth.vault_key_file)
        .context("cannot read the vault key")?;
    let dav = syncml_bridge::dav::DavClient::new(&cfg.upstream)
        .context("cannot set up the upstream client")?;
    let p = poller::Poller::new(store, dav, vault, &cfg.push)
        .context("push configuration")?
        .watching_sessions(in_session);
    poller::spawn(p);
    tracing::info!(
        interval_secs = cfg.push.poll_interval_secs,
        "push poller started"
    );
    Ok(())
}

fn users_admin(
    common: &syncml_bridge::admin::context::CommonArgs,
    f: impl FnOnce(
        &syncml_bridge::admin::context::Admin,
        &mut dyn Write,
    ) -> Result<(), syncml_bridge::admin::context::AdminError>,
) -> anyhow::Result<()> {
    let admin = syncml_bridge::admin::context::Admin::open(common, std::env::vars())?;
    f(&admin, &mut std::io::stdout())?;
    Ok(())
}

fn set_password(
    user: &str,
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut cfg =
        Config::load(config.as_deref(), std::env::vars()).context("invalid configuration")?;
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    let key = syncml_bridge::store::VaultKey::load(&cfg.auth.vault_key, &cfg.auth.vault_key_file)
        .context("cannot read the vault key")?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no vault key configured: set auth.vault_key_file or SYNCML_BRIDGE_AUTH__VAULT_KEY"
            )
        })?;
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from stdin")?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("empty password on stdin");
    }
    let store =
        syncml_bridge::store::Store::open(&cfg.data_dir).context("cannot open the store")?;
    store
        .put_credential(&key, user, password)
        .context("cannot store the password")?;
    eprintln!("syncml-bridge: app password stored for {user}");
    Ok(())
}

fn init_logging(cfg: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.filter).context("log.filter")?;
    // Timestamps always (RFC 3339, UTC); colours only on a terminal, never in log files.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let result = if cfg.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

fn codec(to: CodecTarget, file: Option<PathBuf>) -> anyhow::Result<()> {
    let input = read_input(file.as_ref())?;
    let target = match to {
        CodecTarget::Xml => syncml::Encoding::Xml,
        CodecTarget::Wbxml => syncml::Encoding::Wbxml,
    };
    let out = syncml::transcode(&input, target).context("cannot convert the message")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write to stdout")?;
    Ok(())
}

fn convert_item(
    from: convert::Format,
    to: convert::Format,
    file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let input = read_input(file.as_ref())?;
    let opts = convert::ConvertOptions::new(chrono::Utc::now());
    let out = convert::cli_convert(
        from,
        to,
        &input,
        &opts,
        syncml_bridge::engine::items::new_uid,
    )
    .context("cannot convert the item")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write to stdout")?;
    Ok(())
}

fn read_input(file: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    match file {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        }
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            Ok(buf)
        }
    }
}
