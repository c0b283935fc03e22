//! The phone's sync Alerts: which datastore each one names, the upstream collections
//! behind it, which sync really runs, the backup a destructive one takes first, and the
//! Alert the bridge answers with.

use super::session_core::{Answer, SessionCore, Slot};
use super::sync_type::resolve;
use crate::catalog::DatastoreUri;
use crate::convert::capability::Capability;
use crate::convert::Format;
use crate::dav::ItemKind;
use crate::engine::{items, DatastoreRun, Prior, RunSetup, SyncMethod};
use crate::store::DatastoreKey;
use crate::syncml::codes::{AlertCode, StatusCode};
use crate::syncml::model::{Alert, Anchor, Command, Data, Item, Location, Meta};
use crate::syncml::reply::item_status;

/// The datastore an Alert names, as the bridge keys it.
struct Named {
    /// The alias table's kind name, or `collection:<href>` for a collection named
    /// directly.
    kind_name: String,
    kind: ItemKind,
    /// The kind a combined datastore also covers (tasks of a calendar).
    also: Option<ItemKind>,
}

/// A datastore run ready to start, with what its Alert answer needs.
struct Started {
    run: DatastoreRun,
    method: SyncMethod,
    anchors_match: bool,
    phone_next: String,
    /// An interrupted session is continued (Alert 225 honoured).
    resumed: bool,
}

impl SessionCore {
    /// What the phone can store of `format`, its CTCap's sizes dropped where its profile
    /// says they are unreliable.
    fn device_capability(&self, format: Format) -> Capability {
        let cap = items::capability_for(self.devinf.as_ref(), format);
        if self.profile.devinf_sizes {
            cap
        } else {
            cap.without_max_sizes()
        }
    }

    /// Opens the datastore one Alert item names; returns the item's Status and queues
    /// our Alert. `max_obj` takes the phone's MaxObjSize when the item carries one.
    pub(super) async fn open_slot(
        &mut self,
        msg_ref: &str,
        alert: &Alert,
        item: &Item,
        answer: &mut Answer,
        max_obj: &mut Option<u64>,
    ) -> Command {
        let loc = |l: Option<&Location>| l.map(|l| l.loc_uri.clone()).unwrap_or_default();
        let target = loc(item.target.as_ref());
        let source = loc(item.source.as_ref());
        let alert_cmd = Command::Alert(alert.clone());
        let mut st = item_status(msg_ref, &alert_cmd, item, "0", StatusCode::Ok);
        let started = match self.start_run(alert, item, &target, &source, max_obj).await {
            Ok(s) => s,
            Err(code) => {
                st.code = code;
                return Command::Status(st);
            }
        };
        let Started {
            run,
            method,
            anchors_match,
            phone_next,
            resumed,
        } = started;
        // A resumed sync is answered with the code of the sync it continues (as
        // libsynthesis servers do; its clients take that as the resume accepted).
        let answer_code = AlertCode::from_code(method.alert_code());
        // 508 tells the phone its anchors are stale; a slow sync the URL asks for is
        // carried by our Alert code alone (SyncEvolution fails a session on 508 otherwise).
        let asked_two_way = matches!(
            alert.code,
            AlertCode::TwoWay | AlertCode::TwoWayByServer | AlertCode::Resume
        );
        if !resumed && asked_two_way && answer_code == AlertCode::SlowSync && !anchors_match {
            st.code = StatusCode::RefreshRequired;
        } else if alert.code == AlertCode::Resume && !resumed {
            st.code = StatusCode::ResumeRefused;
        }
        st.items = vec![Item {
            data: Some(Data::Anchor(Anchor {
                last: None,
                next: phone_next,
            })),
            ..Item::default()
        }];
        answer.commands.push(Command::Alert(Alert {
            cmd_id: "0".into(),
            no_resp: false,
            cred: None,
            code: answer_code,
            items: vec![Item {
                target: Some(Location::new(source.clone())),
                source: Some(Location::new(target.clone())),
                meta: Some(Meta {
                    anchor: Some(Anchor {
                        last: run.server_last().map(str::to_owned),
                        next: run.server_next.clone(),
                    }),
                    max_obj_size: self.own_max_obj_size(),
                    ..Meta::default()
                }),
                ..Item::default()
            }],
            extra: Vec::new(),
        }));
        self.slots.push(Slot {
            server_uri: target,
            phone_uri: source,
            run: Some(run),
            sync_index: None,
        });
        Command::Status(st)
    }

    /// Resolves the datastore and its collections, decides the sync method, takes the
    /// backup a destructive one needs and sets the run up; `Err` is the Alert's status.
    async fn start_run(
        &mut self,
        alert: &Alert,
        item: &Item,
        target: &str,
        source: &str,
        max_obj: &mut Option<u64>,
    ) -> Result<Started, StatusCode> {
        let asked = if alert.code == AlertCode::Resume {
            // Unless the interrupted session can be continued, a two-way sync (or a slow
            // one, when the anchors say so) takes its place; repeating the work is safe.
            SyncMethod::TwoWay
        } else {
            SyncMethod::from_alert(alert.code.code())
                .ok_or(StatusCode::OptionalFeatureNotSupported)?
        };
        let named = self.name_datastore(target).await?;
        let key = DatastoreKey::new(&self.user, &self.device, named.kind_name.clone());
        let prior = Prior::load(&self.shared.store, &key).map_err(|e| {
            tracing::error!(error = %e, "cannot read the datastore state");
            StatusCode::CommandFailed
        })?;
        let phone_last = item
            .meta
            .as_ref()
            .and_then(|m| m.anchor.as_ref())
            .and_then(|a| a.last.clone());
        let kept = if alert.code == AlertCode::Resume {
            self.resumable(&key, &prior, phone_last.as_deref())
        } else {
            // A new session supersedes whatever an interrupted one kept.
            self.forget_suspended(&key);
            None
        };
        let collection = self.own_collection(&named, &prior, target).await?;
        let task_collection = match named.also {
            Some(other) => self.combined_collection(&prior, other, target).await,
            None => None,
        };
        let anchor = item
            .meta
            .as_ref()
            .and_then(|m| m.anchor.clone())
            .unwrap_or_default();
        if let Some(m) = item.meta.as_ref().and_then(|m| m.max_obj_size) {
            *max_obj = Some(m);
        }
        let anchors_match = prior.anchors_match(anchor.last.as_deref());
        let method = match kept
            .as_ref()
            .and_then(|k| SyncMethod::from_number(k.method))
        {
            Some(m) => m,
            None => resolve(asked, self.url.sync, anchors_match),
        };
        let mut backed_up = vec![(named.kind, collection.clone())];
        if let Some(tasks) = task_collection.as_ref().filter(|t| **t != collection) {
            backed_up.push((ItemKind::Tasks, tasks.clone()));
        }
        // A resumed destructive sync took its backup when it started.
        if kept.is_none() {
            for (k, href) in &backed_up {
                self.backup_before_destructive(method, *k, href, target)
                    .await?;
            }
        }
        let remembered = prior
            .state
            .phone_type
            .as_deref()
            .and_then(|t| t.parse::<Format>().ok());
        let phone_format = self.phone_format(target, source, named.kind, remembered);
        let max_guid = self
            .devinf
            .as_ref()
            .and_then(|d| d.data_store(source))
            .and_then(|d| d.max_guid_size)
            .map(|n| n as usize)
            .unwrap_or(self.profile.max_guid_size);
        let setup = RunSetup {
            key,
            method,
            collection,
            kind: named.kind,
            phone_format,
            cap: self.device_capability(phone_format),
            max_guid,
            phone_next: anchor.next.clone(),
            task_collection,
            server_uri: target.to_owned(),
        };
        let mut run = DatastoreRun::new(&self.deps, prior, setup).map_err(|e| {
            tracing::error!(error = %e, "cannot start the datastore");
            StatusCode::CommandFailed
        })?;
        run.set_phone_last(phone_last);
        let resumed = kept.is_some();
        if let Some(record) = kept {
            run.resume_from(record);
        }
        tracing::info!(device = %self.device, user = %self.user, datastore = %target, asked = asked.number(), performed = method.number(), anchors_match, "sync alerted");
        Ok(Started {
            run,
            method,
            anchors_match,
            phone_next: anchor.next,
            resumed,
        })
    }

    /// The datastore a phone's URI names: an alias of the table, else a collection
    /// named by its path segment or displayname.
    async fn name_datastore(&self, target: &str) -> Result<Named, StatusCode> {
        let uri = DatastoreUri::parse(target);
        if let Some((n, k)) = self.shared.aliases.kind_of(&uri) {
            let kind = dav_kind(&k.collection);
            let also = if self.profile.combined_tasks {
                k.combined_with
                    .as_deref()
                    .and_then(|other| self.shared.aliases.kind(other))
                    .map(|other| dav_kind(&other.collection))
                    .filter(|other| *other != kind)
            } else {
                None
            };
            return Ok(Named {
                kind_name: n.to_owned(),
                kind,
                also,
            });
        }
        match self.find_named_collection(&uri.name).await {
            Some((href, kind)) => Ok(Named {
                kind_name: format!("collection:{href}"),
                kind,
                also: None,
            }),
            None => {
                tracing::info!(device = %self.device, datastore = %target, "unknown datastore");
                Err(StatusCode::NotFound)
            }
        }
    }

    /// The datastore's own collection: the one named, the one of the last session, or
    /// the one discovery finds.
    async fn own_collection(
        &self,
        named: &Named,
        prior: &Prior,
        target: &str,
    ) -> Result<String, StatusCode> {
        if let Some(href) = named.kind_name.strip_prefix("collection:") {
            return Ok(href.to_owned());
        }
        if let Some(href) = self.known_collection(prior, named.kind) {
            return Ok(href);
        }
        match self.deps.dav.collection_for(named.kind).await {
            Ok(c) => Ok(c.href),
            Err(e) => {
                tracing::warn!(device = %self.device, datastore = %target, error = %e, "no upstream collection");
                Err(if e.is_unavailable() {
                    StatusCode::ServiceUnavailable
                } else {
                    StatusCode::NotFound
                })
            }
        }
    }

    /// The collection this datastore synced with last time, so a session needs no
    /// discovery requests upstream; unless the config now names another one.
    fn known_collection(&self, prior: &Prior, kind: ItemKind) -> Option<String> {
        self.still_configured(prior.known_collection()?, kind)
    }

    fn still_configured(&self, stored: &str, kind: ItemKind) -> Option<String> {
        match self.deps.dav.configured_collection(kind) {
            Ok(Some(configured)) if configured != stored => None,
            Ok(_) => Some(stored.to_owned()),
            Err(_) => None,
        }
    }

    /// The second collection of a combined datastore (the task list of a Nokia or Sony
    /// Ericsson calendar): the one of the last session, else discovered. Without one the
    /// datastore syncs its own collection alone.
    async fn combined_collection(
        &self,
        prior: &Prior,
        kind: ItemKind,
        datastore: &str,
    ) -> Option<String> {
        if let Some(known) = prior
            .known_collections()
            .and_then(|(_, t)| t)
            .and_then(|t| self.still_configured(t, kind))
        {
            return Some(known);
        }
        match self.deps.dav.collection_for(kind).await {
            Ok(c) => Some(c.href),
            Err(e) => {
                tracing::warn!(device = %self.device, %datastore, error = %e, "no upstream collection for the combined {} of this datastore: syncing without them", kind.key());
                None
            }
        }
    }

    /// A collection named by its last path segment or displayname.
    async fn find_named_collection(&self, name: &str) -> Option<(String, ItemKind)> {
        let found = self.deps.dav.discover().await.ok()?;
        found
            .collections
            .iter()
            .filter(|c| c.kind != crate::dav::CollectionType::Plain)
            .find(|c| {
                let seg = c
                    .href
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                seg.eq_ignore_ascii_case(name)
                    || c.displayname
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case(name))
            })
            .map(|c| {
                let has = |comp: &str| c.components.iter().any(|x| x == comp);
                let kind = match c.kind {
                    crate::dav::CollectionType::AddressBook => ItemKind::Contacts,
                    _ if has("VEVENT") || c.components.is_empty() => ItemKind::Events,
                    _ if has("VTODO") => ItemKind::Tasks,
                    _ => ItemKind::Notes,
                };
                (c.href.clone(), kind)
            })
    }

    /// The bridge's MaxObjSize, repeated in its sync Alerts; 1.0 has no such element.
    fn own_max_obj_size(&self) -> Option<u64> {
        self.shared
            .max_obj_size
            .filter(|_| self.version != crate::syncml::Version::V1_0)
    }

    /// The format items go to the phone in: the URL's `format=` (the session's, else
    /// the datastore URI's own), else its DevInf's preferred receive type, else (for a phone
    /// without DevInf) the type it declared for its own items in an earlier session
    /// (`remembered`), else SIF for a datastore named the Funambol SIF way (`scard`,
    /// `scal`...), else the classic format of the kind.
    fn phone_format(
        &self,
        server_uri: &str,
        phone_uri: &str,
        kind: ItemKind,
        remembered: Option<Format>,
    ) -> Format {
        use super::url_params::{FormatParam, UrlParams};
        let uri = DatastoreUri::parse(server_uri);
        let own = uri.options.as_deref().and_then(|o| {
            UrlParams::parse(&format!("?{o}"))
                .map_err(|e| tracing::info!(device = %self.device, datastore = %server_uri, error = %e, "datastore option ignored"))
                .ok()
                .and_then(|p| p.format)
        });
        match self.url.format.or(own) {
            Some(FormatParam::Sif) => return sif_format(kind),
            Some(FormatParam::Vob) => return vobject_format(kind),
            Some(FormatParam::Get) | None => {}
        }
        self.devinf
            .as_ref()
            .and_then(|d| d.data_store(phone_uri))
            .and_then(|ds| ds.rx_pref.as_ref())
            .and_then(|ct| Format::from_mime(&ct.ct_type, ct.ver_ct.as_deref()))
            .or(remembered.filter(|_| self.devinf.is_none()))
            .filter(|f| kind_fits(*f, kind))
            .unwrap_or_else(|| {
                if self.shared.aliases.names_sif(&uri) {
                    sif_format(kind)
                } else {
                    classic_format(kind)
                }
            })
    }
}

/// What a phone of no known preference gets.
fn classic_format(kind: ItemKind) -> Format {
    match kind {
        ItemKind::Contacts => Format::Vcard21,
        ItemKind::Events | ItemKind::Tasks => Format::Vcal10,
        ItemKind::Notes => Format::Text,
    }
}

/// `format=vob`: the vObject of each kind (vCard 2.1, vCalendar 1.0, vNote 1.1).
fn vobject_format(kind: ItemKind) -> Format {
    match kind {
        ItemKind::Notes => Format::Vnote,
        other => classic_format(other),
    }
}

/// `format=sif`: Funambol's SIF of each kind.
fn sif_format(kind: ItemKind) -> Format {
    match kind {
        ItemKind::Contacts => Format::Sifc,
        ItemKind::Events => Format::Sife,
        ItemKind::Tasks => Format::Sift,
        ItemKind::Notes => Format::Sifn,
    }
}

fn kind_fits(f: Format, kind: ItemKind) -> bool {
    use crate::convert::ItemKind as K;
    matches!(
        (f.kind(), kind),
        (K::Contact, ItemKind::Contacts)
            | (K::Calendar, ItemKind::Events | ItemKind::Tasks)
            | (K::Note, ItemKind::Notes)
    )
}

fn dav_kind(collection: &str) -> ItemKind {
    match collection {
        "addressbook" => ItemKind::Contacts,
        "VTODO" => ItemKind::Tasks,
        "VJOURNAL" => ItemKind::Notes,
        _ => ItemKind::Events,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::convert::ConvertOptions;
    use crate::dav::Credentials;
    use crate::engine::{ConflictPolicy, EngineDeps};
    use crate::session::context::Shared;
    use crate::session::url_params::UrlParams;
    use crate::store::{DeviceRecord, Store};
    use crate::syncml::Version;

    fn core(dir: &std::path::Path, url: &str) -> SessionCore {
        let mut cfg = Config::default();
        cfg.upstream.url = "http://127.0.0.1:9/".into();
        let store = Arc::new(Store::open(dir).expect("store"));
        let shared = Arc::new(Shared::new(&cfg, store.clone()).expect("shared"));
        let deps = EngineDeps {
            store,
            dav: shared.upstream.user(&Credentials::new("alice", "pw")),
            policy: ConflictPolicy::Merge,
            opts: ConvertOptions::new(chrono::Utc::now()),
        };
        let record = DeviceRecord {
            user: "alice".into(),
            device_id: "fwm-1".into(),
            ..DeviceRecord::default()
        };
        SessionCore::new(
            shared,
            "fwm-1".into(),
            "alice".into(),
            Version::V1_1,
            UrlParams::parse(url).expect("url"),
            deps,
            record,
        )
    }

    #[test]
    fn format_sif_in_the_url_means_sif_for_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let c = core(dir.path(), "/syncml#format=sif");
        for (uri, kind, want) in [
            ("card", ItemKind::Contacts, Format::Sifc),
            ("cal", ItemKind::Events, Format::Sife),
            ("task", ItemKind::Tasks, Format::Sift),
            ("note", ItemKind::Notes, Format::Sifn),
        ] {
            assert_eq!(c.phone_format(uri, uri, kind, None), want, "{uri}");
        }
    }

    #[test]
    fn funambol_sif_names_mean_sif_and_their_vobject_names_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let c = core(dir.path(), "/syncml");
        for (uri, kind, want) in [
            ("scard", ItemKind::Contacts, Format::Sifc),
            ("scal", ItemKind::Events, Format::Sife),
            ("stask", ItemKind::Tasks, Format::Sift),
            ("snote", ItemKind::Notes, Format::Sifn),
            ("card", ItemKind::Contacts, Format::Vcard21),
            ("cal", ItemKind::Events, Format::Vcal10),
            ("task", ItemKind::Tasks, Format::Vcal10),
            ("note", ItemKind::Notes, Format::Text),
        ] {
            assert_eq!(c.phone_format(uri, uri, kind, None), want, "{uri}");
        }
    }

    #[test]
    fn format_vob_and_datastore_options_override_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let c = core(dir.path(), "/syncml?format=vob");
        assert_eq!(
            c.phone_format("scal", "scal", ItemKind::Events, None),
            Format::Vcal10
        );
        assert_eq!(
            c.phone_format("snote", "snote", ItemKind::Notes, None),
            Format::Vnote
        );
        let c = core(dir.path(), "/syncml");
        assert_eq!(
            c.phone_format("./notes?format=sif", "notes", ItemKind::Notes, None),
            Format::Sifn
        );
        assert_eq!(
            c.phone_format("./scard?format=vob", "scard", ItemKind::Contacts, None),
            Format::Vcard21
        );
        // A datastore option the bridge does not know leaves the choice to the rest.
        assert_eq!(
            c.phone_format("./scal?format=csv", "scal", ItemKind::Events, None),
            Format::Sife
        );
    }
}
