//! syncml-bridge: a SyncML (OMA DS) server for legacy phones that keeps every item in
//! the user's CalDAV/CardDAV server. See DESIGN in docs/ for the shape of the modules.

pub mod config;
pub mod convert;
pub mod syncml;
