//! Finding a user's collections: principal, home sets, and the collections in them
//! with what change detection and reads they support. Explicit URLs in the config
//! win over discovery.

use serde::{Deserialize, Serialize};
use url::Url;

use super::bodies;
use super::client::DavRequest;
use super::discovery_cache;
use super::error::DavError;
use super::href;
use super::multistatus::{self, Response};
use super::user::DavUser;
use super::xml::{CALDAV, CALSERVER, CARDDAV, DAV};

/// How many redirects discovery follows from a well-known URL.
const MAX_REDIRECTS: usize = 5;

const COLLECTION_PROPS: &[&str] = &[
    "D:resourcetype",
    "D:displayname",
    "C:supported-calendar-component-set",
    "CS:getctag",
    "D:sync-token",
    "D:supported-report-set",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionType {
    AddressBook,
    Calendar,
    /// A plain WebDAV collection (files, or a home set).
    Plain,
}

/// One collection on the upstream and what it offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// Canonical path, ending in `/`.
    pub href: String,
    pub displayname: Option<String>,
    pub kind: CollectionType,
    /// `supported-calendar-component-set` (e.g. `VEVENT`); empty when the server does not
    /// say, which RFC 4791 reads as "any component".
    pub components: Vec<String>,
    pub ctag: Option<String>,
    pub sync_token: Option<String>,
    /// Local names of the REPORTs in `supported-report-set`.
    pub reports: Vec<String>,
}

impl Collection {
    pub fn supports_sync_collection(&self) -> bool {
        self.sync_token.is_some() || self.reports.iter().any(|r| r == "sync-collection")
    }

    /// How items of this collection are named in a multiget.
    pub fn data_kind(&self) -> bodies::DataKind {
        match self.kind {
            CollectionType::AddressBook => bodies::DataKind::Card,
            _ => bodies::DataKind::Calendar,
        }
    }

    fn holds(&self, kind: ItemKind) -> bool {
        match kind.component() {
            None => self.kind == CollectionType::AddressBook,
            Some(c) => {
                self.kind == CollectionType::Calendar
                    && (self.components.is_empty() || self.components.iter().any(|x| x == c))
            }
        }
    }

    pub(crate) fn from_response(r: &Response) -> Collection {
        let types = r.prop(DAV, "resourcetype");
        let has = |ns: &str, name: &str| types.is_some_and(|t| t.child(ns, name).is_some());
        let kind = if has(CARDDAV, "addressbook") {
            CollectionType::AddressBook
        } else if has(CALDAV, "calendar") {
            CollectionType::Calendar
        } else {
            CollectionType::Plain
        };
        let components = r
            .prop(CALDAV, "supported-calendar-component-set")
            .map(|set| {
                set.children_named(CALDAV, "comp")
                    .filter_map(|c| c.attr("name"))
                    .map(|n| n.to_ascii_uppercase())
                    .collect()
            })
            .unwrap_or_default();
        let reports = r
            .prop(DAV, "supported-report-set")
            .map(|set| {
                set.children_named(DAV, "supported-report")
                    .filter_map(|s| s.child(DAV, "report"))
                    .flat_map(|rep| rep.children.iter().map(|c| c.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut href = r.href.clone();
        if !href.ends_with('/') {
            href.push('/');
        }
        Collection {
            href,
            displayname: r.prop_text(DAV, "displayname"),
            kind,
            components,
            ctag: r.prop_text(CALSERVER, "getctag"),
            sync_token: r.prop_text(DAV, "sync-token"),
            reports,
        }
    }
}

/// The kinds of data a phone syncs, each kept in its own kind of collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    Contacts,
    Events,
    Tasks,
    Notes,
}

impl ItemKind {
    /// The key under `[upstream.collections]` and the default collection name.
    pub fn key(self) -> &'static str {
        match self {
            ItemKind::Contacts => "contacts",
            ItemKind::Events => "events",
            ItemKind::Tasks => "tasks",
            ItemKind::Notes => "notes",
        }
    }

    /// The iCalendar component, or None for vCards.
    pub fn component(self) -> Option<&'static str> {
        match self {
            ItemKind::Contacts => None,
            ItemKind::Events => Some("VEVENT"),
            ItemKind::Tasks => Some("VTODO"),
            ItemKind::Notes => Some("VJOURNAL"),
        }
    }

    pub fn data_kind(self) -> bodies::DataKind {
        match self {
            ItemKind::Contacts => bodies::DataKind::Card,
            _ => bodies::DataKind::Calendar,
        }
    }
}

/// What discovery found for a user.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub principal: Option<String>,
    pub addressbook_homes: Vec<String>,
    pub calendar_homes: Vec<String>,
    pub collections: Vec<Collection>,
}

impl Discovery {
    /// The collection that best holds `kind`: one declaring exactly that component
    /// before one that holds several.
    pub fn best_for(&self, kind: ItemKind) -> Option<&Collection> {
        self.collections
            .iter()
            .filter(|c| c.holds(kind))
            .min_by_key(|c| (c.components.is_empty(), c.components.len()))
    }
}

impl DavUser {
    /// Runs discovery: principal (from the configured URL, else the well-known URLs),
    /// its home sets, and every collection in them.
    pub async fn discover(&self) -> Result<Discovery, DavError> {
        let slot = self.client.discoveries().slot(&self.creds);
        let mut cached = slot.lock().await;
        if let Some(d) = discovery_cache::fresh(&cached) {
            return Ok(d);
        }
        let found = self.discover_uncached().await?;
        *cached = Some((std::time::Instant::now(), found.clone()));
        Ok(found)
    }

    async fn discover_uncached(&self) -> Result<Discovery, DavError> {
        let base = self.client.settings().base.clone();
        let mut principal = self.principal_at(base.clone()).await?;
        for well_known in ["/.well-known/carddav", "/.well-known/caldav"] {
            if principal.is_some() {
                break;
            }
            principal = self.principal_at(self.url(well_known)?).await?;
        }
        let mut out = Discovery {
            principal: principal.clone(),
            ..Discovery::default()
        };
        match principal {
            Some(p) => {
                let ms = self
                    .propfind(
                        self.url(&p)?,
                        "0",
                        &["CR:addressbook-home-set", "C:calendar-home-set"],
                    )
                    .await?;
                for r in &ms.responses {
                    out.addressbook_homes.extend(home_hrefs(
                        r,
                        CARDDAV,
                        "addressbook-home-set",
                        &self.url(&p)?,
                    )?);
                    out.calendar_homes.extend(home_hrefs(
                        r,
                        CALDAV,
                        "calendar-home-set",
                        &self.url(&p)?,
                    )?);
                }
            }
            None => {
                // No principal: the configured URL is taken as the home of everything.
                let path = href::canonical_path(base.path());
                out.addressbook_homes.push(path.clone());
                out.calendar_homes.push(path);
            }
        }
        let mut homes: Vec<String> = out
            .addressbook_homes
            .iter()
            .chain(out.calendar_homes.iter())
            .cloned()
            .collect();
        homes.sort();
        homes.dedup_by(|a, b| href::same_collection(a, b));
        for home in homes {
            let ms = self
                .propfind(self.url(&home)?, "1", COLLECTION_PROPS)
                .await?;
            for r in &ms.responses {
                if href::same_collection(&r.href, &home) {
                    continue;
                }
                let c = Collection::from_response(r);
                if c.kind != CollectionType::Plain
                    && !out.collections.iter().any(|x| x.href == c.href)
                {
                    out.collections.push(c);
                }
            }
        }
        Ok(out)
    }

    /// The current properties of one collection (one Depth-0 PROPFIND).
    pub async fn collection_info(&self, path: &str) -> Result<Collection, DavError> {
        let url = self.url(path)?;
        let ms = self.propfind(url, "0", COLLECTION_PROPS).await?;
        let r = ms
            .get(path)
            .or(ms.responses.first())
            .ok_or_else(|| DavError::Malformed {
                url: path.to_owned(),
                message: "no response for the collection".into(),
            })?;
        Ok(Collection::from_response(r))
    }

    /// The configured URL for `kind` with `{user}` filled in, as a canonical path.
    pub fn configured_collection(&self, kind: ItemKind) -> Result<Option<String>, DavError> {
        let settings = self.client.settings();
        let Some((_, template)) = settings.collections.iter().find(|(k, _)| k == kind.key()) else {
            return Ok(None);
        };
        let user = href::encode_segment(self.creds.user());
        let raw = template.replace("{user}", &user);
        let url = settings.base.join(&raw).map_err(|e| DavError::InvalidUrl {
            url: raw.clone(),
            message: e.to_string(),
        })?;
        href::resolve(&settings.base, url.as_str()).map(Some)
    }

    /// The collection for `kind`: the configured one, else the best discovered one,
    /// else (where the config allows) a new one created in the home set.
    pub async fn collection_for(&self, kind: ItemKind) -> Result<Collection, DavError> {
        let create = self.client.settings().create_missing_collections;
        if let Some(path) = self.configured_collection(kind)? {
            return match self.collection_info(&path).await {
                Err(DavError::NotFound { .. }) if create => {
                    self.create_collection(&path, kind, kind.key()).await?;
                    self.collection_info(&path).await
                }
                other => other,
            };
        }
        let found = self.discover().await?;
        if let Some(c) = found.best_for(kind) {
            return Ok(c.clone());
        }
        let homes = match kind {
            ItemKind::Contacts => &found.addressbook_homes,
            _ => &found.calendar_homes,
        };
        match homes.first() {
            Some(home) if create => {
                let path = href::child(home, kind.key()) + "/";
                self.create_collection(&path, kind, kind.key()).await?;
                self.collection_info(&path).await
            }
            _ => Err(DavError::NoCollection {
                kind: kind.key().to_owned(),
            }),
        }
    }

    /// `current-user-principal` at `url`, following redirects (well-known URLs answer
    /// with one). 403, 404 or 405 mean "not here", not an error: a wrong password is
    /// a 401 and fails the whole discovery.
    async fn principal_at(&self, mut url: Url) -> Result<Option<String>, DavError> {
        for _ in 0..=MAX_REDIRECTS {
            let req = DavRequest::new("PROPFIND", url.clone())
                .header("depth", "0")?
                .xml(bodies::propfind(&["D:current-user-principal"]));
            let resp = self.send(req).await?;
            match resp.status.as_u16() {
                207 => {
                    let ms = multistatus::parse(&url, &resp.body)?;
                    for r in &ms.responses {
                        if let Some(p) = r.prop_href(&url, DAV, "current-user-principal")? {
                            return Ok(Some(p));
                        }
                    }
                    return Ok(None);
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = resp.header("location").ok_or_else(|| DavError::Malformed {
                        url: url.to_string(),
                        message: "redirect without Location".into(),
                    })?;
                    let next = url.join(location).map_err(|e| DavError::InvalidUrl {
                        url: location.to_owned(),
                        message: e.to_string(),
                    })?;
                    if next.origin() != url.origin() {
                        return Err(DavError::InvalidUrl {
                            url: next.to_string(),
                            message: "discovery redirects to another server".into(),
                        });
                    }
                    url = next;
                }
                400 | 403 | 404 | 405 | 501 => return Ok(None),
                _ => return Err(resp.error("PROPFIND")),
            }
        }
        Err(DavError::Malformed {
            url: url.to_string(),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }
}

fn home_hrefs(r: &Response, ns: &str, name: &str, base: &Url) -> Result<Vec<String>, DavError> {
    let Some(set) = r.prop(ns, name) else {
        return Ok(Vec::new());
    };
    set.children_named(DAV, "href")
        .map(|h| href::resolve(base, h.trimmed()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coll(kind: CollectionType, comps: &[&str]) -> Collection {
        Collection {
            href: format!("/u/{}/", comps.join("-")),
            displayname: None,
            kind,
            components: comps.iter().map(|c| c.to_string()).collect(),
            ctag: None,
            sync_token: None,
            reports: Vec::new(),
        }
    }

    #[test]
    fn the_most_specific_collection_wins() {
        let d = Discovery {
            collections: vec![
                coll(CollectionType::Calendar, &[]),
                coll(CollectionType::Calendar, &["VEVENT", "VTODO"]),
                coll(CollectionType::Calendar, &["VTODO"]),
                coll(CollectionType::AddressBook, &[]),
            ],
            ..Discovery::default()
        };
        assert_eq!(d.best_for(ItemKind::Tasks).unwrap().href, "/u/VTODO/");
        assert_eq!(
            d.best_for(ItemKind::Events).unwrap().href,
            "/u/VEVENT-VTODO/"
        );
        assert_eq!(d.best_for(ItemKind::Notes).unwrap().href, "/u//");
        assert_eq!(
            d.best_for(ItemKind::Contacts).unwrap().kind,
            CollectionType::AddressBook
        );
    }

    #[test]
    fn reads_collection_properties() {
        let url = Url::parse("http://h/u/").unwrap();
        let body = br#"<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">
<response><href>/u/tasks</href><propstat><prop>
<resourcetype><collection/><C:calendar/></resourcetype><displayname>Tasks</displayname>
<C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>
<CS:getctag>"c1"</CS:getctag><sync-token>http://radicale.org/ns/sync/abc</sync-token>
<supported-report-set><supported-report><report><sync-collection/></report></supported-report>
<supported-report><report><C:calendar-multiget/></report></supported-report></supported-report-set>
</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        let ms = multistatus::parse(&url, body).unwrap();
        let c = Collection::from_response(&ms.responses[0]);
        assert_eq!(c.href, "/u/tasks/");
        assert_eq!(c.kind, CollectionType::Calendar);
        assert_eq!(c.components, ["VTODO"]);
        assert_eq!(c.displayname.as_deref(), Some("Tasks"));
        assert_eq!(c.ctag.as_deref(), Some("\"c1\""));
        assert!(c.supports_sync_collection());
        assert_eq!(c.reports, ["sync-collection", "calendar-multiget"]);
    }
}
