//! The upstream CalDAV/CardDAV client: everything the bridge reads or writes goes
//! through here. One pooled [`DavClient`] per process; a [`DavUser`] per phone user
//! carries the credentials and offers the operations:
//!
//! - log-in: [`DavUser::check_login`]
//! - discovery: [`DavUser::discover`], [`DavUser::collection_for`]
//! - change detection: [`DavUser::changes`], [`DavUser::has_changed`], state [`ChangeState`]
//! - reads: [`DavUser::multiget`], [`DavUser::get`]
//! - writes: [`DavUser::create`], [`DavUser::update`], [`DavUser::delete`]
//! - collections and files: [`DavUser::create_collection`], [`DavUser::mkcol`], [`DavUser::put_file`]

mod bodies;
mod changes;
mod client;
mod collections;
mod discovery;
mod discovery_cache;
mod error;
mod files;
mod gate;
pub mod href;
mod login;
mod multiget;
mod multistatus;
mod user;
mod writes;
mod xml;

pub use bodies::DataKind;
pub use changes::{apply_delta, diff, ChangeMethod, ChangeState, Changed, Changes};
pub use client::{ChangeDetection, DavClient, DavSettings};
pub use collections::Created;
pub use discovery::{Collection, CollectionType, Discovery, ItemKind};
pub use error::DavError;
pub use login::Credentials;
pub use multiget::{Fetched, Item};
pub use user::{DavUser, Login};
pub use writes::Written;
