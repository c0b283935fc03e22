//! Every persistent byte of the bridge, behind one type with named operations.
//!
//! The engine is redb: ACID transactions that are durable when `commit` returns, opened in
//! multi-writer mode so the admin CLI reads and writes the store while the server runs. Values are JSON so a damaged or old
//! record is readable by eye; keys are `\0`-joined strings so a device's or a datastore's
//! records form one contiguous range.

pub mod alerts;
mod records;
pub mod suspended;
pub mod vault;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use alerts::{AlertEntry, AlertRecord};
pub use records::{
    DatastoreKey, DatastoreState, DeviceRecord, MapChange, MapEntry, PendingMap, PhoneCopy,
    SETTING_TIMEZONE, SETTING_WIPE,
};
pub use suspended::{AppliedChange, DeliveredChange, SuspendedRun};
pub use vault::{VaultError, VaultKey, VaultLoadError};

const DEVICES: TableDefinition<&str, &[u8]> = TableDefinition::new("devices");
const DATASTORES: TableDefinition<&str, &[u8]> = TableDefinition::new("datastores");
/// key: user\0device\0datastore\0luid -> MapEntry
const MAP_BY_LUID: TableDefinition<&str, &[u8]> = TableDefinition::new("map_by_luid");
/// key: user\0device\0datastore\0href -> luid
const MAP_BY_HREF: TableDefinition<&str, &str> = TableDefinition::new("map_by_href");
/// key: user\0device\0datastore\0server_id -> PendingMap
const PENDING_MAPS: TableDefinition<&str, &[u8]> = TableDefinition::new("pending_maps");
/// key: user -> sealed credential
const VAULT: TableDefinition<&str, &[u8]> = TableDefinition::new("vault");
/// key: user\0device -> AlertRecord
const PUSH_ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("push_alerts");
/// key: user\0device\0datastore -> SuspendedRun
const SUSPENDED: TableDefinition<&str, &[u8]> = TableDefinition::new("suspended_runs");

const SEP: char = '\0';

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<redb::DatabaseError>,
    },
    #[error("store {op}: {source}")]
    Db {
        op: &'static str,
        source: Box<redb::Error>,
    },
    #[error("store record {key:?} is damaged: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error("store: a key part contains a NUL character")]
    BadKey,
    #[error("cannot create store directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn db_err<E: Into<redb::Error>>(op: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Db {
        op,
        source: Box::new(e.into()),
    }
}

/// The bridge's store.
pub struct Store {
    db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn key(parts: &[&str]) -> Result<String, StoreError> {
    if parts.iter().any(|p| p.contains(SEP)) {
        return Err(StoreError::BadKey);
    }
    Ok(parts.join("\0"))
}

/// A key below an already-built prefix.
fn sub_key(prefix: &str, part: &str) -> Result<String, StoreError> {
    if part.contains(SEP) {
        return Err(StoreError::BadKey);
    }
    Ok(format!("{prefix}{SEP}{part}"))
}

/// The half-open range of keys that start with `prefix` followed by the separator.
fn prefix_range(prefix: &str) -> (String, String) {
    (format!("{prefix}{SEP}"), format!("{prefix}\u{1}"))
}

fn ds_prefix(k: &DatastoreKey) -> Result<String, StoreError> {
    key(&[&k.user, &k.device, &k.datastore])
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: key.replace(SEP, "/"),
        source,
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain records cannot fail: no maps with non-string keys, no I/O.
    serde_json::to_vec(value).unwrap_or_default()
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("bridge.redb");
        // MultiWriter: the admin CLI opens the same file while `serve` runs; redb serialises
        // write transactions across processes with byte-range locks.
        let db = redb::Builder::new()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(&path)
            .map_err(|e| StoreError::Open {
                path: path.clone(),
                source: Box::new(e),
            })?;
        Store::with_tables(db)
    }

    /// A store held in memory alone, for the sync simulator: the same tables and
    /// transactions as the file, none of the disk's cost.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = redb::Builder::new()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::Open {
                path: "(memory)".into(),
                source: Box::new(e),
            })?;
        Store::with_tables(db)
    }

    fn with_tables(db: redb::Database) -> Result<Store, StoreError> {
        let store = Store { db };
        // Create every table up front so readers never meet a missing one.
        let tx = store.db.begin_write().map_err(db_err("begin"))?;
        {
            tx.open_table(DEVICES).map_err(db_err("create"))?;
            tx.open_table(DATASTORES).map_err(db_err("create"))?;
            tx.open_table(MAP_BY_LUID).map_err(db_err("create"))?;
            tx.open_table(MAP_BY_HREF).map_err(db_err("create"))?;
            tx.open_table(PENDING_MAPS).map_err(db_err("create"))?;
            tx.open_table(VAULT).map_err(db_err("create"))?;
            tx.open_table(PUSH_ALERTS).map_err(db_err("create"))?;
            tx.open_table(SUSPENDED).map_err(db_err("create"))?;
        }
        tx.commit().map_err(db_err("commit"))?;
        Ok(store)
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        k: &str,
    ) -> Result<Option<T>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let t = tx.open_table(table).map_err(db_err("open table"))?;
        match t.get(k).map_err(db_err("get"))? {
            Some(v) => Ok(Some(decode(k, v.value())?)),
            None => Ok(None),
        }
    }

    fn put_json<T: Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        k: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(table).map_err(db_err("open table"))?;
            t.insert(k, encode(value).as_slice())
                .map_err(db_err("insert"))?;
        }
        tx.commit().map_err(db_err("commit"))
    }

    fn range_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let (lo, hi) = prefix_range(prefix);
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let t = tx.open_table(table).map_err(db_err("open table"))?;
        let mut out = Vec::new();
        for row in t.range(lo.as_str()..hi.as_str()).map_err(db_err("range"))? {
            let (k, v) = row.map_err(db_err("range"))?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    // ---- devices -------------------------------------------------------------------

    pub fn device(&self, user: &str, device: &str) -> Result<Option<DeviceRecord>, StoreError> {
        self.get_json(DEVICES, &key(&[user, device])?)
    }

    pub fn put_device(&self, record: &DeviceRecord) -> Result<(), StoreError> {
        self.put_json(DEVICES, &key(&[&record.user, &record.device_id])?, record)
    }

    /// Every device, or those of one user.
    pub fn devices(&self, user: Option<&str>) -> Result<Vec<DeviceRecord>, StoreError> {
        match user {
            Some(u) => self.range_json(DEVICES, &key(&[u])?),
            None => {
                let tx = self.db.begin_read().map_err(db_err("begin read"))?;
                let t = tx.open_table(DEVICES).map_err(db_err("open table"))?;
                let mut out = Vec::new();
                for row in t.iter().map_err(db_err("iter"))? {
                    let (k, v) = row.map_err(db_err("iter"))?;
                    out.push(decode(k.value(), v.value())?);
                }
                Ok(out)
            }
        }
    }

    /// Removes one device with its datastore states, maps and alert record.
    pub fn remove_device(&self, user: &str, device: &str) -> Result<bool, StoreError> {
        let dk = key(&[user, device])?;
        let (lo, hi) = prefix_range(&dk);
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        let existed;
        {
            let mut t = tx.open_table(DEVICES).map_err(db_err("open table"))?;
            existed = t.remove(dk.as_str()).map_err(db_err("remove"))?.is_some();
            for table in [DATASTORES, MAP_BY_LUID, PENDING_MAPS, SUSPENDED] {
                let mut t = tx.open_table(table).map_err(db_err("open table"))?;
                t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                    .map_err(db_err("clear"))?;
            }
            let mut t = tx.open_table(MAP_BY_HREF).map_err(db_err("open table"))?;
            t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                .map_err(db_err("clear"))?;
            let mut a = tx.open_table(PUSH_ALERTS).map_err(db_err("open table"))?;
            a.remove(dk.as_str()).map_err(db_err("remove"))?;
        }
        tx.commit().map_err(db_err("commit"))?;
        Ok(existed)
    }

    /// Changes one device record in a single write transaction, so a setting changed by
    /// an admin is not lost to a concurrent read-modify-write. `None`: no such device.
    pub fn update_device(
        &self,
        user: &str,
        device: &str,
        change: impl FnOnce(&mut DeviceRecord),
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let k = key(&[user, device])?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        let updated = {
            let mut t = tx.open_table(DEVICES).map_err(db_err("open table"))?;
            let current: Option<DeviceRecord> = match t.get(k.as_str()).map_err(db_err("get"))? {
                Some(v) => Some(decode(&k, v.value())?),
                None => None,
            };
            match current {
                Some(mut record) => {
                    change(&mut record);
                    t.insert(k.as_str(), encode(&record).as_slice())
                        .map_err(db_err("insert"))?;
                    Some(record)
                }
                None => None,
            }
        };
        tx.commit().map_err(db_err("commit"))?;
        Ok(updated)
    }

    // ---- push alerts ---------------------------------------------------------------

    /// The alert state of a device (empty when it was never alerted).
    pub fn push_alerts(&self, user: &str, device: &str) -> Result<AlertRecord, StoreError> {
        Ok(self
            .get_json(PUSH_ALERTS, &key(&[user, device])?)?
            .unwrap_or_default())
    }

    /// Appends one alert attempt to a device's history.
    pub fn record_alert(
        &self,
        user: &str,
        device: &str,
        entry: AlertEntry,
    ) -> Result<AlertRecord, StoreError> {
        let k = key(&[user, device])?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        let record = {
            let mut t = tx.open_table(PUSH_ALERTS).map_err(db_err("open table"))?;
            let mut record: AlertRecord = match t.get(k.as_str()).map_err(db_err("get"))? {
                Some(v) => decode(&k, v.value())?,
                None => AlertRecord::default(),
            };
            record.push(entry);
            t.insert(k.as_str(), encode(&record).as_slice())
                .map_err(db_err("insert"))?;
            record
        };
        tx.commit().map_err(db_err("commit"))?;
        Ok(record)
    }

    // ---- datastore state -----------------------------------------------------------

    pub fn datastore_state(&self, k: &DatastoreKey) -> Result<Option<DatastoreState>, StoreError> {
        self.get_json(DATASTORES, &ds_prefix(k)?)
    }

    /// The datastores of one device with their state.
    pub fn datastores(
        &self,
        user: &str,
        device: &str,
    ) -> Result<Vec<(String, DatastoreState)>, StoreError> {
        let prefix = key(&[user, device])?;
        let (lo, hi) = prefix_range(&prefix);
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let t = tx.open_table(DATASTORES).map_err(db_err("open table"))?;
        let mut out = Vec::new();
        for row in t.range(lo.as_str()..hi.as_str()).map_err(db_err("range"))? {
            let (k, v) = row.map_err(db_err("range"))?;
            let name = k.value().rsplit(SEP).next().unwrap_or_default().to_owned();
            out.push((name, decode(k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Writes a datastore's state. The engine calls this only when a session completed,
    /// so anchors and upstream tokens never run ahead of what the device has applied.
    pub fn put_datastore_state(
        &self,
        k: &DatastoreKey,
        state: &DatastoreState,
    ) -> Result<(), StoreError> {
        self.put_json(DATASTORES, &ds_prefix(k)?, state)
    }

    // ---- suspended sessions ---------------------------------------------------------

    /// The resumable state an interrupted session left for a datastore.
    pub fn suspended_run(&self, k: &DatastoreKey) -> Result<Option<SuspendedRun>, StoreError> {
        self.get_json(SUSPENDED, &ds_prefix(k)?)
    }

    pub fn put_suspended_run(
        &self,
        k: &DatastoreKey,
        run: &SuspendedRun,
    ) -> Result<(), StoreError> {
        self.put_json(SUSPENDED, &ds_prefix(k)?, run)
    }

    /// Forgets a datastore's resumable state (the session completed, or was not resumed).
    pub fn remove_suspended_run(&self, k: &DatastoreKey) -> Result<(), StoreError> {
        let k = ds_prefix(k)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(SUSPENDED).map_err(db_err("open table"))?;
            t.remove(k.as_str()).map_err(db_err("remove"))?;
        }
        tx.commit().map_err(db_err("commit"))
    }

    // ---- LUID <-> href map ---------------------------------------------------------

    pub fn map_by_luid(
        &self,
        k: &DatastoreKey,
        luid: &str,
    ) -> Result<Option<MapEntry>, StoreError> {
        self.get_json(MAP_BY_LUID, &sub_key(&ds_prefix(k)?, luid)?)
    }

    pub fn map_by_href(
        &self,
        k: &DatastoreKey,
        href: &str,
    ) -> Result<Option<MapEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let by_href = tx.open_table(MAP_BY_HREF).map_err(db_err("open table"))?;
        let luid = match by_href
            .get(sub_key(&ds_prefix(k)?, href)?.as_str())
            .map_err(db_err("get"))?
        {
            Some(l) => l.value().to_owned(),
            None => return Ok(None),
        };
        let by_luid = tx.open_table(MAP_BY_LUID).map_err(db_err("open table"))?;
        let lk = sub_key(&ds_prefix(k)?, &luid)?;
        match by_luid.get(lk.as_str()).map_err(db_err("get"))? {
            Some(v) => Ok(Some(decode(&lk, v.value())?)),
            None => Ok(None),
        }
    }

    /// The whole map of a datastore.
    pub fn map(&self, k: &DatastoreKey) -> Result<Vec<MapEntry>, StoreError> {
        self.range_json(MAP_BY_LUID, &ds_prefix(k)?)
    }

    /// Applies map changes (and settles pending maps they answer) in one durable transaction.
    pub fn apply_map(&self, k: &DatastoreKey, changes: &[MapChange]) -> Result<(), StoreError> {
        let prefix = ds_prefix(k)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut by_luid = tx.open_table(MAP_BY_LUID).map_err(db_err("open table"))?;
            let mut by_href = tx.open_table(MAP_BY_HREF).map_err(db_err("open table"))?;
            for change in changes {
                match change {
                    MapChange::Put(entry) => {
                        let lk = sub_key(&prefix, &entry.luid)?;
                        let hk = sub_key(&prefix, &entry.href)?;
                        // Drop the LUID's old href and the href's old LUID: a pairing is 1:1.
                        let old = by_luid
                            .get(lk.as_str())
                            .map_err(db_err("get"))?
                            .map(|v| decode::<MapEntry>(&lk, v.value()))
                            .transpose()?;
                        if let Some(old) = old.filter(|o| o.href != entry.href) {
                            by_href
                                .remove(sub_key(&prefix, &old.href)?.as_str())
                                .map_err(db_err("remove"))?;
                        }
                        let old_luid = by_href
                            .get(hk.as_str())
                            .map_err(db_err("get"))?
                            .map(|v| v.value().to_owned());
                        if let Some(ol) = old_luid.filter(|ol| *ol != entry.luid) {
                            by_luid
                                .remove(sub_key(&prefix, &ol)?.as_str())
                                .map_err(db_err("remove"))?;
                        }
                        by_luid
                            .insert(lk.as_str(), encode(entry).as_slice())
                            .map_err(db_err("insert"))?;
                        by_href
                            .insert(hk.as_str(), entry.luid.as_str())
                            .map_err(db_err("insert"))?;
                    }
                    MapChange::RemoveLuid(luid) => {
                        let lk = sub_key(&prefix, luid)?;
                        let old = by_luid
                            .remove(lk.as_str())
                            .map_err(db_err("remove"))?
                            .map(|v| decode::<MapEntry>(&lk, v.value()))
                            .transpose()?;
                        if let Some(old) = old {
                            by_href
                                .remove(sub_key(&prefix, &old.href)?.as_str())
                                .map_err(db_err("remove"))?;
                        }
                    }
                }
            }
        }
        tx.commit().map_err(db_err("commit"))
    }

    /// Forgets a datastore's whole map and pending maps (refresh, reset, admin resync).
    pub fn clear_map(&self, k: &DatastoreKey) -> Result<(), StoreError> {
        let (lo, hi) = prefix_range(&ds_prefix(k)?);
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            for table in [MAP_BY_LUID, PENDING_MAPS] {
                let mut t = tx.open_table(table).map_err(db_err("open table"))?;
                t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                    .map_err(db_err("clear"))?;
            }
            let mut t = tx.open_table(MAP_BY_HREF).map_err(db_err("open table"))?;
            t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                .map_err(db_err("clear"))?;
        }
        tx.commit().map_err(db_err("commit"))
    }

    // ---- pending maps (items sent, device's Map not yet received) --------------------

    pub fn put_pending_maps(
        &self,
        k: &DatastoreKey,
        pending: &[PendingMap],
    ) -> Result<(), StoreError> {
        let prefix = ds_prefix(k)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(PENDING_MAPS).map_err(db_err("open table"))?;
            for p in pending {
                t.insert(
                    sub_key(&prefix, &p.server_id)?.as_str(),
                    encode(p).as_slice(),
                )
                .map_err(db_err("insert"))?;
            }
        }
        tx.commit().map_err(db_err("commit"))
    }

    pub fn pending_map(
        &self,
        k: &DatastoreKey,
        server_id: &str,
    ) -> Result<Option<PendingMap>, StoreError> {
        self.get_json(PENDING_MAPS, &sub_key(&ds_prefix(k)?, server_id)?)
    }

    pub fn pending_maps(&self, k: &DatastoreKey) -> Result<Vec<PendingMap>, StoreError> {
        self.range_json(PENDING_MAPS, &ds_prefix(k)?)
    }

    /// Forgets pending entries whose Map will not come.
    pub fn remove_pending_maps(
        &self,
        k: &DatastoreKey,
        server_ids: &[String],
    ) -> Result<(), StoreError> {
        let prefix = ds_prefix(k)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(PENDING_MAPS).map_err(db_err("open table"))?;
            for id in server_ids {
                t.remove(sub_key(&prefix, id)?.as_str())
                    .map_err(db_err("remove"))?;
            }
        }
        tx.commit().map_err(db_err("commit"))
    }

    /// Turns pending entries into map entries for the (server id, LUID) pairs a device's Map
    /// command named, in one transaction. Returns the server ids that had no pending entry.
    pub fn settle_pending_maps(
        &self,
        k: &DatastoreKey,
        pairs: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        let prefix = ds_prefix(k)?;
        let mut changes = Vec::new();
        let mut unknown = Vec::new();
        {
            let tx = self.db.begin_read().map_err(db_err("begin read"))?;
            let t = tx.open_table(PENDING_MAPS).map_err(db_err("open table"))?;
            for (server_id, luid) in pairs {
                let pk = sub_key(&prefix, server_id)?;
                match t.get(pk.as_str()).map_err(db_err("get"))? {
                    Some(v) => {
                        let p: PendingMap = decode(&pk, v.value())?;
                        changes.push(MapChange::Put(MapEntry {
                            luid: luid.clone(),
                            href: p.href,
                            etag: p.etag,
                            phone_copy: p.phone_copy,
                            sent_copy: None,
                        }));
                    }
                    None => unknown.push(server_id.clone()),
                }
            }
        }
        self.apply_map(k, &changes)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(PENDING_MAPS).map_err(db_err("open table"))?;
            for (server_id, _) in pairs {
                t.remove(sub_key(&prefix, server_id)?.as_str())
                    .map_err(db_err("remove"))?;
            }
        }
        tx.commit().map_err(db_err("commit"))?;
        Ok(unknown)
    }

    // ---- credential vault ----------------------------------------------------------

    pub fn put_credential(
        &self,
        vault: &VaultKey,
        user: &str,
        secret: &str,
    ) -> Result<(), VaultStoreError> {
        let sealed = vault.seal(user, secret)?;
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            let mut t = tx.open_table(VAULT).map_err(db_err("open table"))?;
            t.insert(key(&[user])?.as_str(), sealed.as_slice())
                .map_err(db_err("insert"))?;
        }
        tx.commit().map_err(db_err("commit"))?;
        Ok(())
    }

    pub fn credential(
        &self,
        vault: &VaultKey,
        user: &str,
    ) -> Result<Option<String>, VaultStoreError> {
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let t = tx.open_table(VAULT).map_err(db_err("open table"))?;
        let sealed = match t.get(key(&[user])?.as_str()).map_err(db_err("get"))? {
            Some(v) => v.value().to_vec(),
            None => return Ok(None),
        };
        Ok(Some(vault.open(user, &sealed)?))
    }

    /// The users that have a stored credential (their secrets stay sealed).
    pub fn credential_users(&self) -> Result<Vec<String>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err("begin read"))?;
        let t = tx.open_table(VAULT).map_err(db_err("open table"))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err("iter"))? {
            let (k, _) = row.map_err(db_err("iter"))?;
            out.push(k.value().to_owned());
        }
        Ok(out)
    }

    /// Removes a user's credential, devices, datastore states and maps.
    pub fn remove_user(&self, user: &str) -> Result<(), StoreError> {
        let (lo, hi) = prefix_range(&key(&[user])?);
        let tx = self.db.begin_write().map_err(db_err("begin write"))?;
        {
            for table in [
                DEVICES,
                DATASTORES,
                MAP_BY_LUID,
                PENDING_MAPS,
                VAULT,
                PUSH_ALERTS,
                SUSPENDED,
            ] {
                let mut t = tx.open_table(table).map_err(db_err("open table"))?;
                t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                    .map_err(db_err("clear"))?;
            }
            let mut t = tx.open_table(MAP_BY_HREF).map_err(db_err("open table"))?;
            t.retain_in(lo.as_str()..hi.as_str(), |_, _| false)
                .map_err(db_err("clear"))?;
            let mut v = tx.open_table(VAULT).map_err(db_err("open table"))?;
            v.remove(user).map_err(db_err("remove"))?;
        }
        tx.commit().map_err(db_err("commit"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(luid: &str, href: &str) -> MapEntry {
        MapEntry {
            luid: luid.into(),
            href: href.into(),
            etag: Some(format!("\"{luid}\"")),
            phone_copy: None,
            sent_copy: None,
        }
    }

    #[test]
    fn maps_are_one_to_one_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let k = DatastoreKey::new("alice", "IMEI:1", "contacts");
        {
            let s = Store::open(dir.path()).unwrap();
            s.apply_map(
                &k,
                &[
                    MapChange::Put(entry("1", "/a/1.vcf")),
                    MapChange::Put(entry("2", "/a/2.vcf")),
                ],
            )
            .unwrap();
            // The href of LUID 1 moves to LUID 3: LUID 1 is gone, the reverse index follows.
            s.apply_map(&k, &[MapChange::Put(entry("3", "/a/1.vcf"))])
                .unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.map_by_luid(&k, "1").unwrap(), None);
        assert_eq!(s.map_by_href(&k, "/a/1.vcf").unwrap().unwrap().luid, "3");
        assert_eq!(s.map(&k).unwrap().len(), 2);
        s.apply_map(&k, &[MapChange::RemoveLuid("2".into())])
            .unwrap();
        assert_eq!(s.map_by_href(&k, "/a/2.vcf").unwrap(), None);
        // Another device's map is separate.
        let other = DatastoreKey::new("alice", "IMEI:2", "contacts");
        assert!(s.map(&other).unwrap().is_empty());
        s.clear_map(&k).unwrap();
        assert!(s.map(&k).unwrap().is_empty());
        assert_eq!(s.map_by_href(&k, "/a/1.vcf").unwrap(), None);
    }

    #[test]
    fn a_copy_stored_as_a_bare_digest_reads_as_its_whole() {
        let old: MapEntry = serde_json::from_str(
            r#"{"luid":"1","href":"/a/b/c.vcf","etag":null,"phone_copy":"d0"}"#,
        )
        .unwrap();
        assert_eq!(old.phone_copy, Some(PhoneCopy::whole_only("d0")));
        let again: MapEntry = serde_json::from_str(
            &serde_json::to_string(&MapEntry {
                phone_copy: Some(PhoneCopy {
                    whole: "d0".into(),
                    fields: [("VCARD/TEL".to_string(), "t".to_string())].into(),
                }),
                ..old
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(again.phone_copy.unwrap().fields["VCARD/TEL"], "t");
    }

    #[test]
    fn pending_maps_settle_into_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let k = DatastoreKey::new("bob", "dev", "calendar");
        s.put_pending_maps(
            &k,
            &[PendingMap {
                server_id: "s1".into(),
                href: "/b/cal/x.ics".into(),
                etag: None,
                gone: false,
                phone_copy: Some(PhoneCopy {
                    whole: "d1".into(),
                    fields: [("VCARD/N".to_string(), "f1".to_string())].into(),
                }),
            }],
        )
        .unwrap();
        let unknown = s
            .settle_pending_maps(
                &k,
                &[("s1".into(), "42".into()), ("nope".into(), "43".into())],
            )
            .unwrap();
        assert_eq!(unknown, vec!["nope".to_string()]);
        let settled = s.map_by_luid(&k, "42").unwrap().unwrap();
        assert_eq!(settled.href, "/b/cal/x.ics");
        // What the phone was sent stays known once it is paired.
        let copy = settled.phone_copy.unwrap();
        assert_eq!(copy.whole, "d1");
        assert_eq!(copy.fields["VCARD/N"], "f1");
        assert!(s.pending_maps(&k).unwrap().is_empty());
    }

    #[test]
    fn devices_states_vault_and_user_removal() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let dev = DeviceRecord {
            user: "alice".into(),
            device_id: "IMEI:1".into(),
            model: Some("6230i".into()),
            ..Default::default()
        };
        s.put_device(&dev).unwrap();
        s.put_device(&DeviceRecord {
            user: "alicia".into(),
            device_id: "x".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.devices(Some("alice")).unwrap(), vec![dev.clone()]);
        assert_eq!(s.devices(None).unwrap().len(), 2);
        let k = DatastoreKey::new("alice", "IMEI:1", "contacts");
        let st = DatastoreState {
            phone_anchor: Some("20260101T000000Z".into()),
            ..Default::default()
        };
        s.put_datastore_state(&k, &st).unwrap();
        assert_eq!(s.datastore_state(&k).unwrap(), Some(st.clone()));
        assert_eq!(
            s.datastores("alice", "IMEI:1").unwrap(),
            vec![("contacts".to_string(), st)]
        );
        let vk = VaultKey::from_text(&"ab".repeat(32)).unwrap();
        s.put_credential(&vk, "alice", "app-secret").unwrap();
        assert_eq!(
            s.credential(&vk, "alice").unwrap().as_deref(),
            Some("app-secret")
        );
        assert_eq!(s.credential_users().unwrap(), vec!["alice".to_string()]);
        s.remove_user("alice").unwrap();
        assert_eq!(s.device("alice", "IMEI:1").unwrap(), None);
        assert_eq!(s.datastore_state(&k).unwrap(), None);
        assert_eq!(s.credential(&vk, "alice").unwrap(), None);
        assert!(s.device("alicia", "x").unwrap().is_some());
    }

    #[test]
    fn a_suspended_run_is_kept_per_datastore_and_goes_with_its_device() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let k = DatastoreKey::new("u", "d", "contacts");
        let other = DatastoreKey::new("u", "d", "calendar");
        assert_eq!(s.suspended_run(&k).unwrap(), None);
        let run = SuspendedRun {
            method: 1,
            phone_last: Some("1".into()),
            applied: vec![AppliedChange {
                luid: "7".into(),
                digest: "ab".into(),
                status: 201,
            }],
            ..SuspendedRun::default()
        };
        s.put_suspended_run(&k, &run).unwrap();
        assert_eq!(s.suspended_run(&k).unwrap(), Some(run.clone()));
        assert_eq!(s.suspended_run(&other).unwrap(), None);
        s.remove_suspended_run(&k).unwrap();
        assert_eq!(s.suspended_run(&k).unwrap(), None);
        s.put_suspended_run(&k, &run).unwrap();
        s.remove_device("u", "d").unwrap();
        assert_eq!(s.suspended_run(&k).unwrap(), None);
    }

    #[test]
    fn alerts_are_recorded_and_removed_with_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.put_device(&DeviceRecord {
            user: "u".into(),
            device_id: "d".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(s.push_alerts("u", "d").unwrap().history.is_empty());
        let e = AlertEntry {
            time: 10,
            transport: "tcp:127.0.0.1:1".into(),
            result: "sent".into(),
            datastores: vec!["contacts".into()],
        };
        s.record_alert("u", "d", e.clone()).unwrap();
        assert_eq!(s.push_alerts("u", "d").unwrap().history, vec![e]);
        let updated = s
            .update_device("u", "d", |r| {
                r.settings.insert("debug".into(), "on".into());
            })
            .unwrap()
            .unwrap();
        assert_eq!(updated.settings["debug"], "on");
        assert_eq!(s.device("u", "d").unwrap(), Some(updated));
        assert!(s.update_device("u", "nope", |_| {}).unwrap().is_none());
        assert!(s.remove_device("u", "d").unwrap());
        assert!(!s.remove_device("u", "d").unwrap());
        assert!(s.push_alerts("u", "d").unwrap().history.is_empty());
    }

    #[test]
    fn nul_in_key_parts_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(matches!(s.device("a\0b", "c"), Err(StoreError::BadKey)));
    }
}
