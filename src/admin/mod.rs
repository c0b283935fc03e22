//! The admin CLI subcommands other than `serve`.

pub mod backup_cmd;
pub mod config_sms_cmd;
pub mod context;
pub mod devices_cmd;
pub mod push_cmd;
pub mod users_cmd;
