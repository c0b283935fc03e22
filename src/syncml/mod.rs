//! The SyncML wire layer: the message model, its XML and WBXML encodings, DevInf and
//! the status and alert codes. Depends on nothing else of ours.

pub mod tree;
pub mod wbxml;
