//! The data tables phones need, read from `mappings/` at build time: the names phones
//! give their datastores, the device quirk profiles and what the bridge's own DevInf
//! says it keeps of each content type. Sessions and the admin CLI both
//! read them, so they belong to neither.

pub mod datastores;
pub mod profiles;
pub mod server_ctcap;

pub use datastores::{AliasTable, DatastoreUri};
pub use profiles::{DeviceProfile, Profiles};
pub use server_ctcap::{CapParam, CapProperty, ServerCtCap};
