//! SyncML sessions: log-in, sync-type negotiation, URL parameters, the package flow.

pub mod auth;
pub mod backups;
pub mod context;
pub mod datastores;
pub mod debug_log;
pub mod devinf_ours;
pub mod ended;
pub mod expiring;
pub mod handler;
pub mod nonces;
pub mod outbox;
pub mod profiles;
pub mod state;
pub mod sync_type;
pub mod table;
pub mod throttle;
pub mod url_params;

pub use context::{SetupError, Shared};
pub use handler::SessionHandler;
