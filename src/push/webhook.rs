//! A generic HTTP SMS gateway: the request is built from URL and body templates
//! with placeholders for the number, the UDH and the user data in several encodings.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use percent_encoding::{percent_encode, NON_ALPHANUMERIC};

use super::wap::Sms;
use super::PushError;
use crate::config::WebhookConfig;

const NAME: &str = "webhook";

pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, PushError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|source| PushError::HttpClient { source })
}

#[derive(Debug, Clone)]
pub struct Webhook {
    client: reqwest::Client,
    config: WebhookConfig,
}

impl Webhook {
    pub fn new(config: &WebhookConfig, timeout: Duration) -> Result<Self, PushError> {
        Ok(Webhook {
            client: http_client(timeout)?,
            config: config.clone(),
        })
    }

    pub async fn send(&self, to: &str, parts: &[Sms]) -> Result<(), PushError> {
        for (i, sms) in parts.iter().enumerate() {
            let url = render(&self.config.url, to, sms)?;
            let request = if self.config.method == "GET" {
                self.client.get(&url)
            } else {
                self.client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, &self.config.content_type)
                    .body(render(&self.config.body, to, sms)?)
            };
            let shown = self.config.url.clone();
            let response = request
                .send()
                .await
                .map_err(|e| PushError::GatewayUnreachable {
                    gateway: NAME,
                    url: shown.clone(),
                    source: e.without_url(),
                })?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(PushError::GatewayRefused {
                    gateway: NAME,
                    url: shown,
                    part: i + 1,
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                });
            }
        }
        Ok(())
    }
}

/// Replaces every `${placeholder}` of `template`; an unknown one is an error. A bare
/// `{` stays as it is, so JSON bodies need no escaping.
pub fn render(template: &str, to: &str, sms: &Sms) -> Result<String, PushError> {
    let message: Vec<u8> = [sms.udh.as_slice(), sms.data.as_slice()].concat();
    let url = |b: &[u8]| percent_encode(b, NON_ALPHANUMERIC).to_string();
    let mut out = String::with_capacity(template.len() + 2 * message.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| PushError::Template {
            what: format!("`${{` without `}}` in `{template}`"),
        })?;
        let value = match &after[..end] {
            "to" => to.to_owned(),
            "to_url" => url(to.as_bytes()),
            "udh_hex" => hex_upper(&sms.udh),
            "data_hex" => hex_upper(&sms.data),
            "message_hex" => hex_upper(&message),
            "udh_url" => url(&sms.udh),
            "data_url" => url(&sms.data),
            "udh_base64" => B64.encode(&sms.udh),
            "data_base64" => B64.encode(&sms.data),
            "message_base64" => B64.encode(&message),
            other => {
                return Err(PushError::Template {
                    what: format!("unknown placeholder `${{{other}}}`"),
                })
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms() -> Sms {
        Sms {
            udh: vec![0x06, 0x05, 0x04, 0x0B, 0x84, 0xC0, 0x02],
            data: vec![0x01, 0x06, b'a'],
        }
    }

    #[test]
    fn placeholders_are_encoded_for_their_place() {
        let out = render(
            "{\"to\":\"${to}\",\"m\":\"${message_hex}\",\"d\":\"${data_base64}\"} ${to_url}&${udh_url}",
            "+4917",
            &sms(),
        )
        .unwrap();
        assert_eq!(
            out,
            "{\"to\":\"+4917\",\"m\":\"0605040B84C002010661\",\"d\":\"AQZh\"} %2B4917&%06%05%04%0B%84%C0%02"
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let err = render("${nope}", "1", &sms()).unwrap_err();
        assert!(err.to_string().contains("${nope}"), "{err}");
        assert!(render("${to", "1", &sms()).is_err());
    }
}
