//! syncml-bridge: a SyncML (OMA DS) server for legacy phones that keeps every item in
//! the user's CalDAV/CardDAV server. See DESIGN in docs/ for the shape of the modules.

pub mod config;
pub mod push;
pub mod session;
pub mod store;
pub mod syncml;
