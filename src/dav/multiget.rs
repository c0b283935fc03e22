//! Reading items: addressbook-multiget / calendar-multiget in batches, with plain GETs
//! for servers that refuse the REPORT.

use super::bodies::{self, DataKind};
use super::client::DavRequest;
use super::error::DavError;
use super::multistatus;
use super::user::DavUser;
use super::xml::{CALDAV, CARDDAV, DAV};

/// One item as stored upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub href: String,
    pub etag: Option<String>,
    /// The vCard or iCalendar text, byte for byte as the server holds it.
    pub data: String,
}

/// The answer to a read of several hrefs.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub items: Vec<Item>,
    /// Hrefs the server no longer has (deleted since they were listed).
    pub missing: Vec<String>,
}

impl DataKind {
    pub fn content_type(self) -> &'static str {
        match self {
            DataKind::Card => "text/vcard; charset=utf-8",
            DataKind::Calendar => "text/calendar; charset=utf-8",
        }
    }
}

impl DavUser {
    /// Reads `hrefs` from `collection`, `multiget_batch` per REPORT, in the order given.
    pub async fn multiget(
        &self,
        collection: &str,
        kind: DataKind,
        hrefs: &[String],
    ) -> Result<Fetched, DavError> {
        let batch = self.client.settings().multiget_batch;
        let mut out = Fetched::default();
        let mut use_get = false;
        for chunk in hrefs.chunks(batch) {
            if !use_get {
                match self
                    .multiget_batch(collection, kind, chunk, &mut out)
                    .await?
                {
                    true => continue,
                    false => {
                        tracing::info!(collection, "upstream refuses multiget, reading with GET");
                        use_get = true;
                    }
                }
            }
            for href in chunk {
                match self.get(href).await {
                    Ok(item) => out.items.push(item),
                    Err(DavError::NotFound { .. }) => out.missing.push(href.clone()),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// One multiget REPORT. False when the server refuses the report itself.
    async fn multiget_batch(
        &self,
        collection: &str,
        kind: DataKind,
        hrefs: &[String],
        out: &mut Fetched,
    ) -> Result<bool, DavError> {
        let url = self.url(collection)?;
        let req = DavRequest::new("REPORT", url.clone())
            .header("depth", "1")?
            .xml(bodies::multiget(kind, hrefs.iter().map(String::as_str)));
        let resp = self.send(req).await?;
        match resp.status.as_u16() {
            207 => {}
            400 | 403 | 405 | 415 | 501 => return Ok(false),
            _ => return Err(resp.error("REPORT")),
        }
        let ms = multistatus::parse(&url, &resp.body)?;
        let (ns, name) = match kind {
            DataKind::Card => (CARDDAV, "address-data"),
            DataKind::Calendar => (CALDAV, "calendar-data"),
        };
        let mut found = std::collections::HashMap::new();
        for r in ms.responses {
            if r.is_gone() {
                continue;
            }
            let Some(data) = r.prop(ns, name) else {
                continue;
            };
            let item = Item {
                href: r.href.clone(),
                etag: r.prop_text(DAV, "getetag"),
                data: data.text.clone(),
            };
            found.insert(r.href, item);
        }
        for h in hrefs {
            match found.remove(&super::href::canonical_path(h)) {
                Some(item) => out.items.push(item),
                None => out.missing.push(h.clone()),
            }
        }
        Ok(true)
    }

    /// Reads one item with GET.
    pub async fn get(&self, href: &str) -> Result<Item, DavError> {
        let url = self.url(href)?;
        let resp = self.send(DavRequest::new("GET", url)).await?;
        if !resp.status.is_success() {
            return Err(resp.error("GET"));
        }
        let data = String::from_utf8(resp.body.to_vec()).map_err(|_| DavError::Malformed {
            url: resp.url.to_string(),
            message: "item is not UTF-8".into(),
        })?;
        Ok(Item {
            href: super::href::canonical_path(href),
            etag: resp.header("etag").map(str::to_owned),
            data,
        })
    }
}
