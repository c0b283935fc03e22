//! Creating a missing collection with the right type: an address book (extended
//! MKCOL, RFC 5689) or a calendar for one component (MKCALENDAR, RFC 4791).

use super::bodies;
use super::client::DavRequest;
use super::discovery::{CollectionType, ItemKind};
use super::error::DavError;
use super::user::DavUser;

/// Whether a collection was made or was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

impl DavUser {
    /// Creates the collection at `path` to hold `kind`, named `displayname`.
    pub async fn create_collection(
        &self,
        path: &str,
        kind: ItemKind,
        displayname: &str,
    ) -> Result<Created, DavError> {
        // The user's cached discovery does not know the new collection yet.
        self.client.discoveries().forget(self.creds.user());
        let url = self.url(path)?;
        let (method, body) = match kind.component() {
            None => ("MKCOL", bodies::mkcol_addressbook(displayname)),
            Some(c) => ("MKCALENDAR", bodies::mkcalendar(displayname, &[c])),
        };
        let resp = self.send(DavRequest::new(method, url).xml(body)).await?;
        match resp.status.as_u16() {
            200 | 201 => {
                tracing::info!(path, kind = kind.key(), "created upstream collection");
                Ok(Created::Created)
            }
            // An existing resource gets 405 (RFC 4918), 403 or 409 depending on the
            // server: it is fine only if it already is the right kind of collection.
            403 | 405 | 409 => match self.collection_info(path).await {
                Ok(c) if c.kind == expected_type(kind) => Ok(Created::AlreadyExists),
                _ => Err(resp.error(method)),
            },
            _ => Err(resp.error(method)),
        }
    }
}

fn expected_type(kind: ItemKind) -> CollectionType {
    match kind {
        ItemKind::Contacts => CollectionType::AddressBook,
        _ => CollectionType::Calendar,
    }
}
