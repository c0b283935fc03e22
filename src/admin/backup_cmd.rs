//! `syncml-bridge backup list USER` and `syncml-bridge backup restore USER FILE
//! [--collection C]`.
//!
//! The user's upstream password comes from `SYNCML_BRIDGE_BACKUP_PASSWORD` or, when
//! that is not set, from the first line of standard input; it is never printed.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use url::Url;

use crate::backup::{self, BackupError, BackupName, BackupTarget};
use crate::config::{Config, ConfigError};
use crate::dav::{href, Collection, Credentials, DavClient, DavError, DavUser, Login};

/// The environment variable holding the user's upstream password.
pub const PASSWORD_ENV: &str = "SYNCML_BRIDGE_BACKUP_PASSWORD";

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// TOML configuration file (docs/configuration.md); the `[backup]` and `[upstream]`
    /// sections are used.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// List a user's backups, oldest first.
    List {
        /// The upstream user name.
        user: String,
    },
    /// Put a backup's items back into a DAV collection. Items still there (same UID)
    /// are left as they are; only missing ones are added.
    Restore {
        /// The upstream user name.
        user: String,
        /// The backup's file name, e.g. nokia200812310001-contacts.vcf.
        file: String,
        /// The collection to restore into: a URL, a path on the upstream, or the name
        /// or display name of one of the user's collections. Default: the user's
        /// collection for the backup's datastore.
        #[arg(long)]
        collection: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BackupCmdError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("no password: set {PASSWORD_ENV} or write it as the first line of standard input")]
    NoPassword,
    #[error("cannot read the password from standard input: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("the upstream refused the credentials of {user}")]
    LoginRefused { user: String },
    #[error("upstream: {0}")]
    Dav(#[from] DavError),
    #[error("no collection `{name}` among {user}'s collections")]
    NoSuchCollection { name: String, user: String },
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Runs the command with the process' environment, standard input and output.
pub fn run_process(args: BackupArgs) -> Result<(), BackupCmdError> {
    let stdin = std::io::stdin();
    run(
        args,
        std::env::vars(),
        stdin.lock(),
        std::io::stdout().lock(),
    )
}

/// Runs the command with the given environment, input (for the password) and output.
pub fn run(
    args: BackupArgs,
    env: impl IntoIterator<Item = (String, String)>,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<(), BackupCmdError> {
    let env: Vec<(String, String)> = env.into_iter().collect();
    let config = Config::load(args.config.as_deref(), env.iter().cloned())?;
    let user_name = match &args.command {
        BackupCommand::List { user } | BackupCommand::Restore { user, .. } => user.clone(),
    };
    let password = password(&env, input)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BackupCmdError::Runtime)?;
    runtime.block_on(async {
        let user = DavClient::new(&config.upstream)?.user(Credentials::new(&user_name, password));
        if user.check_login().await? == Login::Refused {
            return Err(BackupCmdError::LoginRefused { user: user_name });
        }
        let target = BackupTarget::for_user(&config.backup, &user)?;
        match args.command {
            BackupCommand::List { .. } => list(&target, &mut out).await,
            BackupCommand::Restore {
                file, collection, ..
            } => restore(&user, &target, &file, collection.as_deref(), &mut out).await,
        }
    })
}

fn password(env: &[(String, String)], mut input: impl BufRead) -> Result<String, BackupCmdError> {
    if let Some((_, p)) = env.iter().find(|(k, _)| k == PASSWORD_ENV) {
        return Ok(p.clone());
    }
    let mut line = String::new();
    input.read_line(&mut line).map_err(BackupCmdError::Stdin)?;
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return Err(BackupCmdError::NoPassword);
    }
    Ok(line.to_owned())
}

async fn list(target: &BackupTarget, out: &mut impl Write) -> Result<(), BackupCmdError> {
    let files = backup::list_backups(target).await?;
    let mut text = String::new();
    if files.is_empty() {
        text.push_str(&format!("no backups in {}\n", target.url()));
    }
    for f in &files {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            f.name.file_name(),
            f.name.date,
            f.name.kind.key(),
            f.url
        ));
    }
    out.write_all(text.as_bytes())
        .map_err(BackupCmdError::Output)
}

async fn restore(
    user: &DavUser,
    target: &BackupTarget,
    file: &str,
    collection: Option<&str>,
    out: &mut impl Write,
) -> Result<(), BackupCmdError> {
    let name = BackupName::parse(file).ok_or_else(|| BackupError::NotABackupName {
        name: file.chars().take(200).collect(),
    })?;
    let collection = match collection {
        None => user.collection_for(name.kind).await?,
        Some(c) => find_collection(user, c).await?,
    };
    let report = backup::restore(user, target, file, &collection).await?;
    let text = format!(
        "restored {file} into {}: {} added, {} already there, {} already there with other content (left as is)\n",
        collection.href,
        report.added.len(),
        report.unchanged,
        report.kept
    );
    out.write_all(text.as_bytes())
        .map_err(BackupCmdError::Output)
}

/// A collection named by URL, path, or name / display name among the discovered ones.
async fn find_collection(user: &DavUser, given: &str) -> Result<Collection, BackupCmdError> {
    let path = match Url::parse(given) {
        Ok(url) => Some(url.path().to_owned()),
        Err(_) if given.starts_with('/') => Some(given.to_owned()),
        Err(_) => None,
    };
    if let Some(path) = path {
        let mut path = href::canonical_path(&path);
        if !path.ends_with('/') {
            path.push('/');
        }
        return Ok(user.collection_info(&path).await?);
    }
    let found = user.discover().await?;
    let wanted = given.trim_matches('/');
    found
        .collections
        .into_iter()
        .find(|c| {
            c.href.trim_end_matches('/').rsplit('/').next() == Some(&href::encode_segment(wanted))
                || c.displayname.as_deref() == Some(wanted)
        })
        .ok_or_else(|| BackupCmdError::NoSuchCollection {
            name: given.to_owned(),
            user: user.credentials().user().to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_the_environment_then_stdin() {
        let env = vec![(PASSWORD_ENV.to_owned(), "from-env".to_owned())];
        assert_eq!(password(&env, &b"from-stdin\n"[..]).unwrap(), "from-env");
        assert_eq!(
            password(&[], &b"from-stdin\r\nrest"[..]).unwrap(),
            "from-stdin"
        );
        assert!(matches!(
            password(&[], &b""[..]),
            Err(BackupCmdError::NoPassword)
        ));
    }
}
