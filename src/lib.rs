//! syncml-bridge: a SyncML (OMA DS) server for legacy phones that keeps every item in
//! the user's CalDAV/CardDAV server. docs/architecture.md describes the modules.

#![forbid(unsafe_code)]

pub mod admin;
pub mod backup;
pub mod catalog;
pub mod config;
pub mod convert;
pub mod dav;
pub mod engine;
pub mod http;
pub mod in_session;
pub mod metrics;
pub mod push;
pub mod replay;
pub mod session;
pub mod store;
pub mod syncml;
