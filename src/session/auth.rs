//! Log-in: the credential schemes (basic checked against the upstream, MD5 against the
//! app password in the vault), the policy, allow and deny lists, and nonces.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use crate::dav::{Credentials, DavClient, Login};
use crate::store::{Store, VaultKey};
use crate::syncml::auth::{self, AUTH_BASIC, AUTH_MD5};
use crate::syncml::model::{Chal, Data, Meta, SyncHdr};
use crate::syncml::Version;

/// Which credential scheme phones must use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    Any,
    Basic,
    Md5,
}

impl AuthPolicy {
    pub fn from_config(s: &str) -> AuthPolicy {
        match s {
            "basic" => AuthPolicy::Basic,
            "md5" => AuthPolicy::Md5,
            _ => AuthPolicy::Any,
        }
    }

    fn accepts(self, scheme: &str) -> bool {
        match self {
            AuthPolicy::Any => scheme == AUTH_BASIC || scheme == AUTH_MD5,
            AuthPolicy::Basic => scheme == AUTH_BASIC,
            AuthPolicy::Md5 => scheme == AUTH_MD5,
        }
    }

    /// The scheme a challenge asks for.
    pub fn challenge_scheme(self) -> &'static str {
        match self {
            AuthPolicy::Md5 => AUTH_MD5,
            _ => AUTH_BASIC,
        }
    }
}

/// Allow and deny lists of accounts (`alice`, `alice@example.org`) and domains
/// (`*@example.org`), compared without regard to case.
#[derive(Debug, Clone, Default)]
pub struct AccessList {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

fn pattern_matches(pattern: &str, user: &str) -> bool {
    let p = pattern.trim().to_lowercase();
    let u = user.trim().to_lowercase();
    match p.strip_prefix('*') {
        Some(suffix) => u.ends_with(suffix),
        None => p == u,
    }
}

impl AccessList {
    pub fn permits(&self, user: &str) -> bool {
        if self.deny.iter().any(|p| pattern_matches(p, user)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|p| pattern_matches(p, user))
    }
}

/// The result of checking a message's credentials.
#[derive(Debug)]
pub enum AuthOutcome {
    /// Logged in; `password` is the DAV credential for the session.
    Accepted { user: String, password: String },
    /// No credentials (407).
    Missing,
    /// Wrong credentials or scheme (401).
    Refused { reason: &'static str },
    /// A valid account the access lists refuse (403).
    Forbidden { user: String },
    /// The upstream could not be asked (503).
    Unavailable,
}

/// Checks credentials; holds what that needs.
pub struct Authenticator {
    pub policy: AuthPolicy,
    pub access: AccessList,
    pub vault: Option<VaultKey>,
}

/// A fresh nonce: 12 random printable bytes.
pub fn new_nonce() -> String {
    let mut raw = [0u8; 9];
    rand::thread_rng().fill_bytes(&mut raw);
    B64.encode(raw)
}

/// The challenge for `scheme`, with `nonce` (its raw text) for MD5.
pub fn challenge(scheme: &str, nonce: &str) -> Chal {
    let mut meta = Meta {
        content_type: Some(scheme.to_owned()),
        format: Some("b64".into()),
        ..Meta::default()
    };
    if scheme == AUTH_MD5 {
        meta.next_nonce = Some(auth::encode_nonce(nonce.as_bytes()));
    }
    Chal { meta }
}

fn cred_text(data: &Data) -> Option<String> {
    match data {
        Data::Text(t) => Some(t.trim().to_owned()),
        // WBXML clients may send the raw 16-byte digest.
        Data::Binary(b) => Some(B64.encode(b)),
        _ => None,
    }
}

impl Authenticator {
    /// Checks the header's credentials. `nonce` is the one the device was last given.
    pub async fn check(
        &self,
        header: &SyncHdr,
        nonce: Option<&str>,
        store: &Store,
        dav: &DavClient,
    ) -> AuthOutcome {
        let Some(cred) = &header.cred else {
            return AuthOutcome::Missing;
        };
        let scheme = cred.auth_type().to_owned();
        if !self.policy.accepts(&scheme) {
            return AuthOutcome::Refused {
                reason: "credential scheme not allowed",
            };
        }
        let Some(data) = cred_text(&cred.data) else {
            return AuthOutcome::Refused {
                reason: "unreadable credentials",
            };
        };
        let (user, password) = if scheme == AUTH_BASIC {
            match auth::basic_decode(&data) {
                Ok(up) => up,
                Err(_) => {
                    return AuthOutcome::Refused {
                        reason: "malformed basic credentials",
                    }
                }
            }
        } else {
            let Some(user) = header.source.loc_name.clone().filter(|u| !u.is_empty()) else {
                return AuthOutcome::Refused {
                    reason: "MD5 credentials without a user name in Source/LocName",
                };
            };
            let Some(vault) = &self.vault else {
                tracing::error!(%user, "MD5 log-in refused: no vault key is configured (auth.vault_key_file or auth.vault_key)");
                return AuthOutcome::Refused {
                    reason: "no vault key configured",
                };
            };
            let password = match store.credential(vault, &user) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    tracing::warn!(%user, "MD5 log-in refused: no app password stored (syncml-bridge users set-password)");
                    return AuthOutcome::Refused {
                        reason: "no stored app password",
                    };
                }
                Err(e) => {
                    tracing::error!(%user, error = %e, "MD5 log-in refused: the vault cannot open the stored password");
                    return AuthOutcome::Refused {
                        reason: "vault error",
                    };
                }
            };
            let v10 = header.version() == Some(Version::V1_0);
            let mut nonces: Vec<&[u8]> = vec![b""];
            if let Some(n) = nonce {
                nonces.insert(0, n.as_bytes());
            }
            let ok = nonces.iter().any(|n| {
                let expected = if v10 {
                    auth::md5_v10(&user, &password, n)
                } else {
                    auth::md5_v11(&user, &password, n)
                };
                auth::constant_time_eq(expected.as_bytes(), data.as_bytes())
            });
            if !ok {
                return AuthOutcome::Refused {
                    reason: "MD5 digest does not match",
                };
            }
            (user, password)
        };
        if !self.access.permits(&user) {
            return AuthOutcome::Forbidden { user };
        }
        match dav
            .user(Credentials::new(&user, &password))
            .check_login()
            .await
        {
            Ok(Login::Accepted) => AuthOutcome::Accepted { user, password },
            Ok(Login::Refused) => AuthOutcome::Refused {
                reason: "upstream refused the credentials",
            },
            Err(e) => {
                tracing::warn!(%user, error = %e, "upstream log-in check failed");
                AuthOutcome::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lists_match_accounts_and_domains() {
        let a = AccessList {
            allow: vec!["*@example.org".into(), "bob".into()],
            deny: vec!["eve@example.org".into()],
        };
        assert!(a.permits("Alice@Example.org"));
        assert!(a.permits("bob"));
        assert!(!a.permits("eve@example.org"));
        assert!(!a.permits("mallory@other.net"));
        assert!(AccessList::default().permits("anyone"));
    }

    #[test]
    fn policy_accepts_only_its_schemes() {
        assert!(AuthPolicy::Any.accepts(AUTH_MD5));
        assert!(AuthPolicy::Any.accepts(AUTH_BASIC));
        assert!(!AuthPolicy::Basic.accepts(AUTH_MD5));
        assert!(!AuthPolicy::Md5.accepts(AUTH_BASIC));
        assert!(!AuthPolicy::Any.accepts("syncml:auth-MAC"));
    }

    #[test]
    fn md5_challenge_carries_the_nonce_base64() {
        let c = challenge(AUTH_MD5, "abc");
        assert_eq!(c.meta.next_nonce.as_deref(), Some("YWJj"));
        assert!(challenge(AUTH_BASIC, "abc").meta.next_nonce.is_none());
    }
}
