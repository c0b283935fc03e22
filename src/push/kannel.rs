//! Kannel's smsbox `sendsms` HTTP interface (push.md §5): one GET per SMS with the
//! UDH and the binary user data percent-encoded, 8-bit coding.

use std::time::Duration;

use percent_encoding::{percent_encode, NON_ALPHANUMERIC};

use super::wap::Sms;
use super::PushError;
use crate::config::KannelConfig;

/// A configured Kannel `sendsms-user`.
#[derive(Clone)]
pub struct Kannel {
    client: reqwest::Client,
    /// The sendsms URL without query (safe to show: no credentials).
    url: String,
    username: String,
    password: String,
    from: String,
    smsc: String,
}

impl std::fmt::Debug for Kannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kannel")
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

const NAME: &str = "kannel";

impl Kannel {
    pub fn new(config: &KannelConfig, timeout: Duration) -> Result<Self, PushError> {
        Ok(Kannel {
            client: super::webhook::http_client(timeout)?,
            url: config.url.clone(),
            username: config.username.clone(),
            password: config.password.expose().to_owned(),
            from: config.from.clone(),
            smsc: config.smsc.clone(),
        })
    }

    /// The query string of one SMS (holds the password: never log it).
    pub fn query(&self, to: &str, sms: &Sms) -> String {
        let enc = |b: &[u8]| percent_encode(b, NON_ALPHANUMERIC).to_string();
        let mut q = format!(
            "username={}&password={}&to={}&coding=1&udh={}&text={}",
            enc(self.username.as_bytes()),
            enc(self.password.as_bytes()),
            enc(to.as_bytes()),
            enc(&sms.udh),
            enc(&sms.data),
        );
        for (name, value) in [("from", &self.from), ("smsc", &self.smsc)] {
            if !value.is_empty() {
                q.push_str(&format!("&{name}={}", enc(value.as_bytes())));
            }
        }
        q
    }

    /// Hands every part to Kannel; stops at the first refusal.
    pub async fn send(&self, to: &str, parts: &[Sms]) -> Result<(), PushError> {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        for (i, sms) in parts.iter().enumerate() {
            let url = format!("{}{separator}{}", self.url, self.query(to, sms));
            let response = self.client.get(&url).send().await.map_err(|e| {
                PushError::GatewayUnreachable {
                    gateway: NAME,
                    url: self.url.clone(),
                    // The error's own URL carries the password.
                    source: e.without_url(),
                }
            })?;
            let status = response.status();
            // Kannel answers 202 "0: Accepted for delivery" (or 200 on older versions).
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(PushError::GatewayRefused {
                    gateway: NAME,
                    url: self.url.clone(),
                    part: i + 1,
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                });
            }
            tracing::debug!(to, part = i + 1, of = parts.len(), "SMS accepted by Kannel");
        }
        Ok(())
    }
}
