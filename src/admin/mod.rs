//! The admin CLI subcommands other than `serve`.

pub mod backup_cmd;
