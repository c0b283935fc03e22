//! Creating a missing collection with the right type: an address book (extended
//! MKCOL, RFC 5689) or a calendar for one component (MKCALENDAR, RFC 4791).

use super::bodies;
use super::client::DavRequest;
use super::discovery::ItemKind;
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
            // RFC 4918: MKCOL on an existing resource is 405.
            405 => Ok(Created::AlreadyExists),
            _ => Err(resp.error(method)),
        }
    }
}
