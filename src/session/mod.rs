//! SyncML sessions: log-in, sync-type negotiation, URL parameters, the package flow.

pub mod datastores;
pub mod header_reply;
pub mod sync_type;
pub mod url_params;
