//! The data tables phones need, read from `mappings/` at build time: the names phones
//! give their datastores and the device quirk profiles. Sessions and the admin CLI both
//! read them, so they belong to neither.

pub mod datastores;
pub mod profiles;

pub use datastores::{AliasTable, DatastoreUri};
pub use profiles::{DeviceProfile, Profiles};
