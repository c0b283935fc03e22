//! SyncML sessions: log-in, sync-type negotiation, URL parameters, the package flow.

mod alert;
pub mod auth;
pub mod backups;
pub mod context;
mod deadline;
pub mod debug_log;
pub mod devinf_ours;
pub mod ended;
pub mod expiring;
pub mod handler;
mod incoming;
mod item_formats;
mod login;
mod maps;
pub mod nonces;
mod open;
pub mod outbox;
mod outgoing;
mod resume;
mod session_core;
pub mod state;
pub mod sync_type;
pub mod table;
pub mod throttle;
pub mod url_params;

pub use context::{SetupError, Shared};
pub use handler::SessionHandler;
