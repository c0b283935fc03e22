//! Real-server test harness: launchers for the DAV servers and the SyncML client used by the
//! integration tests. Each test binary pulls it in with `mod support;`.
//!
//! ```ignore
//! let radicale = support::radicale::Radicale::start(); // alice:secret, bob:hunter2
//! let [contacts, calendar, tasks, notes] = radicale.standard_collections("alice");
//! let dav = radicale.client("alice");
//! dav.put(&format!("{contacts}a.vcf"), "text/vcard", CARD);
//!
//! let mut phone = support::syncevolution::Phone::new();
//! phone.configure(&bridge_url, "alice", "secret", "phone-1", PhoneOptions::default());
//! phone.put_item(Datastore::Contacts, "1", VCARD_21);
//! let outcome = phone.sync(SyncMode::Slow, &[]);
//! outcome.assert_success();
//! assert_eq!(outcome.source(Datastore::Contacts).remote_added(), 1);
//! ```
//!
//! Servers bind 127.0.0.1 on a free port, live in their own temp dir, and are stopped with
//! their whole process group when dropped. A missing tool panics naming the package to install.
#![allow(dead_code)]

pub mod bridge;
pub mod crafted;
pub mod devices;
pub mod e2e;
pub mod items;
pub mod kannel;
pub mod radicale;
pub mod relay;
pub mod replay;
pub mod syncevolution;
pub mod syncml_xml;
pub mod tools;
pub mod webdav;
pub mod webdav_files;
pub mod xandikos;
