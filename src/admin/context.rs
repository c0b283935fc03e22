//! What every store-reading admin command shares: the configuration and store it opens,
//! the device lookup, and printing a table for people or JSON for scripts.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::config::{Config, ConfigError};
use crate::store::{DeviceRecord, Store, StoreError};

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// TOML configuration file (docs/configuration.md).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the bridge's store (config key `data_dir`).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The device's user, when two users have a device with the same id.
    #[arg(long, global = true)]
    pub user: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("the store in {dir} is held open exclusively by another process (an older `syncml-bridge serve`?); stop it and try again")]
    StoreBusy { dir: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("no device `{device}`{}", user.as_ref().map(|u| format!(" of user {u}")).unwrap_or_default())]
    NoSuchDevice {
        device: String,
        user: Option<String>,
    },
    #[error("device `{device}` exists for several users ({users}); name one with --user")]
    AmbiguousDevice { device: String, users: String },
    #[error("no user `{0}` in the store (no device and no stored credential)")]
    NoSuchUser(String),
    #[error("device `{device}` has no datastore `{datastore}` (it has: {known})")]
    NoSuchDatastore {
        device: String,
        datastore: String,
        known: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("push: {0}")]
    Push(#[from] crate::push::PushError),
    #[error("vault: {0}")]
    Vault(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// The loaded configuration and the opened store.
pub struct Admin {
    pub config: Config,
    pub store: Store,
    pub json: bool,
    pub user: Option<String>,
}

impl Admin {
    pub fn open(
        args: &CommonArgs,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Admin, AdminError> {
        let mut config = Config::load(args.config.as_deref(), env)?;
        if let Some(d) = &args.data_dir {
            config.data_dir = d.clone();
        }
        let store = Store::open(&config.data_dir).map_err(|e| match e {
            StoreError::Open { source, .. }
                if matches!(*source, redb::DatabaseError::DatabaseAlreadyOpen) =>
            {
                AdminError::StoreBusy {
                    dir: config.data_dir.display().to_string(),
                }
            }
            other => AdminError::Store(other),
        })?;
        Ok(Admin {
            config,
            store,
            json: args.json,
            user: args.user.clone(),
        })
    }

    /// The one device with this id (of `--user` when given).
    pub fn device(&self, device: &str) -> Result<DeviceRecord, AdminError> {
        let mut found: Vec<DeviceRecord> = self
            .store
            .devices(self.user.as_deref())?
            .into_iter()
            .filter(|d| d.device_id == device)
            .collect();
        match found.len() {
            0 => Err(AdminError::NoSuchDevice {
                device: device.to_owned(),
                user: self.user.clone(),
            }),
            1 => Ok(found.remove(0)),
            _ => Err(AdminError::AmbiguousDevice {
                device: device.to_owned(),
                users: found
                    .iter()
                    .map(|d| d.user.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Prints rows as an aligned table, or `json` when `--json` was given.
    pub fn print(
        &self,
        out: &mut dyn Write,
        header: &[&str],
        rows: &[Vec<String>],
        json: &serde_json::Value,
    ) -> Result<(), AdminError> {
        if self.json {
            writeln!(out, "{json:#}")?;
            return Ok(());
        }
        print_table(out, header, rows)
    }
}

pub fn print_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), AdminError> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A Unix time as UTC text, `-` when absent.
pub fn when(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}
