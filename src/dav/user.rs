//! One user's view of the upstream: the shared client plus that user's credentials,
//! and the log-in check.

use url::Url;

use super::bodies;
use super::client::{DavClient, DavRequest, DavResponse};
use super::error::DavError;
use super::href;
use super::login::Credentials;
use super::multistatus::{self, MultiStatus};

/// What the upstream said about a user's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Accepted,
    /// 401 or 403: the phone gets an authentication failure.
    Refused,
}

/// The upstream as seen by one user; every DAV operation hangs off this.
#[derive(Clone, Debug)]
pub struct DavUser {
    pub(crate) client: DavClient,
    pub(crate) creds: Credentials,
}

impl std::fmt::Debug for DavClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DavClient")
            .field("base", &self.settings().base.as_str())
            .finish_non_exhaustive()
    }
}

impl DavClient {
    pub fn user(&self, creds: Credentials) -> DavUser {
        DavUser {
            client: self.clone(),
            creds,
        }
    }
}

impl DavUser {
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    pub fn client(&self) -> &DavClient {
        &self.client
    }

    /// Whether these credentials logged in less than `login_cache_secs` ago, so checking
    /// them again costs the upstream nothing.
    pub fn login_is_remembered(&self) -> bool {
        self.client.login_cache().is_fresh(&self.creds)
    }

    /// Asks the upstream whether it accepts these credentials (one PROPFIND of
    /// `current-user-principal`), unless it did so less than `login_cache_secs` ago.
    pub async fn check_login(&self) -> Result<Login, DavError> {
        let cache = self.client.login_cache();
        if cache.is_fresh(&self.creds) {
            return Ok(Login::Accepted);
        }
        let url = self.client.settings().base.clone();
        let req = DavRequest::new("PROPFIND", url)
            .header("depth", "0")?
            .xml(bodies::propfind(&["D:current-user-principal"]));
        let resp = self.send(req).await?;
        match resp.status.as_u16() {
            401 | 403 => {
                tracing::info!(user = self.creds.user(), "upstream refused log-in");
                Ok(Login::Refused)
            }
            s if (200..300).contains(&s) => {
                cache.remember(&self.creds);
                Ok(Login::Accepted)
            }
            _ => Err(resp.error("PROPFIND")),
        }
    }

    /// Sends a request with this user's credentials. A 401 anywhere also drops a
    /// remembered log-in, so a changed password is noticed at once.
    pub(crate) async fn send(&self, req: DavRequest) -> Result<DavResponse, DavError> {
        let listing = matches!(req.method.as_str(), "PROPFIND" | "REPORT");
        let resp = self.client.send(&self.creds, req).await?;
        if resp.status.as_u16() == 401 {
            self.client.login_cache().forget(&self.creds);
        }
        if listing && resp.status.as_u16() == 404 {
            // A collection vanished: the next discovery must not come from the cache.
            self.client.discoveries().forget(self.creds.user());
        }
        Ok(resp)
    }

    /// The URL of a canonical path on the upstream.
    pub fn url(&self, path: &str) -> Result<Url, DavError> {
        href::to_url(&self.client.settings().base, path)
    }

    /// A PROPFIND whose answer must be a 207.
    pub(crate) async fn propfind(
        &self,
        url: Url,
        depth: &str,
        props: &[&str],
    ) -> Result<MultiStatus, DavError> {
        let req = DavRequest::new("PROPFIND", url)
            .header("depth", depth)?
            .xml(bodies::propfind(props));
        let resp = self.send(req).await?;
        if resp.status.as_u16() != 207 {
            return Err(resp.error("PROPFIND"));
        }
        multistatus::parse(&resp.url, &resp.body)
    }
}
