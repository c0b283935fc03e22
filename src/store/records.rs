//! The records the store keeps. Everything is keyed by user and device; nothing here is
//! user data (items live upstream), only what SyncML needs and DAV lacks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifies one datastore of one device of one user: the unit that has anchors and a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DatastoreKey {
    pub user: String,
    pub device: String,
    /// The datastore as the bridge names it (the resolved alias, e.g. `contacts`), so a
    /// phone that spells `./Contacts` one day and `contacts` the next keeps its map.
    pub datastore: String,
}

impl DatastoreKey {
    pub fn new(
        user: impl Into<String>,
        device: impl Into<String>,
        datastore: impl Into<String>,
    ) -> Self {
        DatastoreKey {
            user: user.into(),
            device: device.into(),
            datastore: datastore.into(),
        }
    }
}

/// The device setting an admin's `devices wipe` leaves: the device's next session is a
/// client reset (every item deleted from the phone, nothing on the server).
pub const SETTING_WIPE: &str = "wipe";

/// The device setting of `devices timezone`: the IANA zone of the phone's local times,
/// overriding `sync.device_timezone`.
pub const SETTING_TIMEZONE: &str = "timezone";

/// What the bridge knows of a device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub user: String,
    pub device_id: String,
    /// The device's last DevInf, as XML, when it sent one.
    pub devinf_xml: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub software_version: Option<String>,
    /// `1.0`, `1.1` or `1.2`: the protocol version of its last session.
    pub syncml_version: Option<String>,
    /// The nonce the device must use for its next MD5 credential.
    pub next_nonce: Option<String>,
    /// Unix seconds of the last completed session.
    pub last_sync: Option<i64>,
    /// Short text of the last session's outcome (`ok`, or what failed).
    pub last_result: Option<String>,
    /// Free-form per-device settings (quirk profile override, time zone, push), by name.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// The sync state of one datastore; written as a whole when a session completes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatastoreState {
    /// The phone's Next anchor of the last completed session (compared with its next Last).
    pub phone_anchor: Option<String>,
    /// The anchor the bridge sent as its own Next in the last completed session.
    pub server_anchor: Option<String>,
    /// Change-detection state per upstream collection URL (sync token or etag snapshot),
    /// serialised by the engine; opaque here.
    #[serde(default)]
    pub collections: BTreeMap<String, String>,
    /// The task list a combined calendar+tasks datastore (Nokia, Sony Ericsson) also
    /// covers; one of `collections`, or the datastore's own collection.
    #[serde(default)]
    pub task_collection: Option<String>,
    /// The datastore's name as the phone spells it in its Alert (`Contacts`, `./Calendar`),
    /// which a server alert must repeat.
    #[serde(default)]
    pub server_uri: Option<String>,
    /// Set by an admin (or after data loss) to force the next session into a slow sync.
    #[serde(default)]
    pub force_slow: bool,
    /// The item type (a format name, `sifc`, `vcal10`...) a device that sent no DevInf
    /// declared for its items: what it is answered in.
    #[serde(default)]
    pub phone_type: Option<String>,
    pub last_sync: Option<i64>,
    pub last_result: Option<String>,
    /// Server items not sent because they were larger than the phone's MaxObjSize; they
    /// are offered again next session (hrefs).
    #[serde(default)]
    pub held_back: Vec<String>,
    /// LUIDs of phone items whose server item was deleted before the phone's Map named
    /// them: each gets a Delete next session.
    #[serde(default)]
    pub owed_deletes: Vec<String>,
    /// LUIDs paired by a Map that came sessions after their item was sent: the change
    /// lists read since may not show what happened to the item meanwhile, so the next
    /// two-way session reads it again (gone: a Delete; changed: a Replace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_mapped: Vec<String>,
    /// Server items whose Replace the phone answered 404 or 410 (it no longer holds
    /// them, say after a session that broke before its Deletes counted): sent as new
    /// next session (hrefs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resend: Vec<String>,
}

/// One LUID <-> href pairing of a device datastore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    /// The device's local id.
    pub luid: String,
    /// The upstream resource (absolute path or URL).
    pub href: String,
    /// The ETag of the upstream resource as last synchronised with this device, so the
    /// bridge's own writes are not echoed back and a later change is recognised.
    pub etag: Option<String>,
    /// Digests of the item as the phone last had it (what it sent, or what it was sent,
    /// read back as the phone's format reads): a slow sync tells by it a copy the phone
    /// never changed, and which fields each side changed since (`convert::fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_copy: Option<PhoneCopy>,
    /// The server's version sent since, not acknowledged yet: the phone holds either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_copy: Option<PhoneCopy>,
}

/// What a phone's copy of an item said: the digest of the whole and one per field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CopyRecord")]
pub struct PhoneCopy {
    pub whole: String,
    /// Field (`VCARD/EMAIL`) -> digest of its values; empty in records written before
    /// fields were kept, which then only tell the whole.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl PhoneCopy {
    pub fn whole_only(whole: impl Into<String>) -> PhoneCopy {
        PhoneCopy {
            whole: whole.into(),
            fields: BTreeMap::new(),
        }
    }
}

/// A stored copy: a bare digest (older records) or whole and fields.
#[derive(Deserialize)]
#[serde(untagged)]
enum CopyRecord {
    Whole(String),
    Full {
        whole: String,
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
}

impl From<CopyRecord> for PhoneCopy {
    fn from(r: CopyRecord) -> PhoneCopy {
        match r {
            CopyRecord::Whole(whole) => PhoneCopy::whole_only(whole),
            CopyRecord::Full { whole, fields } => PhoneCopy { whole, fields },
        }
    }
}

/// A change to a datastore's map, applied in one transaction with others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapChange {
    /// Insert or replace the pairing for `entry.luid` (and drop any older pairing of its href).
    Put(MapEntry),
    /// Forget the pairing of this LUID.
    RemoveLuid(String),
}

/// An item the bridge sent to a device under a temporary id, waiting for the device's Map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMap {
    /// The id the bridge sent as the item's Source LocURI.
    pub server_id: String,
    pub href: String,
    pub etag: Option<String>,
    /// Deleted upstream while the Map was still to come.
    #[serde(default)]
    pub gone: bool,
    /// Digests of the item as sent ([`MapEntry::phone_copy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_copy: Option<PhoneCopy>,
}
