//! What a session that did not complete leaves for a resume (SyncML 1.2 Alert 225): per
//! datastore, the sync it ran, its anchors, the phone's changes already applied and the
//! server's changes the phone already acknowledged.

use serde::{Deserialize, Serialize};

/// One phone change applied upstream, with the status it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedChange {
    pub luid: String,
    /// A digest of the command and its data: a resent change that differs is applied.
    pub digest: String,
    pub status: u16,
}

/// One server change the phone acknowledged with a success status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredChange {
    pub href: String,
    /// The etag the phone received; `None` for a delete.
    pub etag: Option<String>,
    /// The phone's LUID, for a delete (its map entry goes at commit).
    #[serde(default)]
    pub luid: Option<String>,
}

/// The resumable state of one datastore of an interrupted session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspendedRun {
    /// The sync method's number (as `SyncMethod::number`).
    pub method: u8,
    /// The phone's Last anchor as it alerted the interrupted session.
    pub phone_last: Option<String>,
    pub phone_next: String,
    pub server_next: String,
    /// Unix seconds of the last change to this record.
    pub saved_at: i64,
    pub applied: Vec<AppliedChange>,
    pub delivered: Vec<DeliveredChange>,
    /// hrefs written upstream for the phone, with the etag written (`None`: deleted).
    pub written: Vec<(String, Option<String>)>,
    /// hrefs whose server version must still go to the phone.
    pub send_back: Vec<String>,
    /// Server items matched with the phone's (slow sync).
    pub taken: Vec<String>,
    /// Something failed upstream: the resumed session keeps the anchors too, so the
    /// next sync repeats what failed.
    #[serde(default)]
    pub failed: bool,
}
