//! Real-server test harness: launchers for the DAV servers and the SyncML client used by the
//! integration tests. Each test binary pulls in what it needs with `mod support;`.
#![allow(dead_code)]

pub mod radicale;
pub mod syncevolution;
pub mod syncml_xml;
pub mod tools;
pub mod webdav;
pub mod xandikos;
