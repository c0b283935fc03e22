use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use syncml_bridge::config::Config;

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
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            upstream,
            data_dir,
            config,
        } => {
            let mut cfg = Config::load(config.as_deref(), std::env::vars())
                .context("invalid configuration")?;
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
            anyhow::bail!("serve: the HTTP front door is not wired yet")
        }
    }
}
