//! Log-in: the credential schemes (basic checked against the upstream, MD5 against the
//! app password in the vault), the policy, allow and deny lists, and nonces.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use super::throttle::LoginThrottle;
use crate::dav::{Credentials, Login};
use crate::engine::UpstreamSource;
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
    /// Logged in; `password` is the DAV credential for the session, `nonce` the MD5
    /// nonce the digest was made over (spent now).
    Accepted {
        user: String,
        password: String,
        nonce: Option<String>,
    },
    /// No credentials (407).
    Missing,
    /// An MD5 digest while the bridge has issued the device no nonce to make it over:
    /// answered with a challenge, and not a failed guess.
    NeedsNonce,
    /// Wrong credentials or scheme (401).
    Refused {
        user: Option<String>,
        reason: &'static str,
    },
    /// The user had too many failed log-ins and its few checks this minute are used up.
    Throttled { user: String },
    /// A valid account the access lists refuse (403).
    Forbidden { user: String },
    /// The upstream could not be asked (503).
    Unavailable,
}

/// A message whose credentials logged in.
pub struct LoggedIn {
    pub user: String,
    pub password: String,
    /// The MD5 nonce the digest was made over (spent now).
    pub nonce: Option<String>,
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

/// The MD5 digest `user` makes with `password` over `nonce`, in the header's version.
fn md5_digest(header: &SyncHdr, user: &str, password: &str, nonce: &str) -> String {
    if header.version() == Some(Version::V1_0) {
        auth::md5_v10(user, password, nonce.as_bytes())
    } else {
        auth::md5_v11(user, password, nonce.as_bytes())
    }
}

/// The nonce among `nonces` the header's MD5 digest was made over, if any.
fn md5_nonce<'a>(
    header: &SyncHdr,
    data: &str,
    user: &str,
    password: &str,
    nonces: &'a [String],
) -> Option<&'a String> {
    nonces.iter().find(|n| {
        let expected = md5_digest(header, user, password, n);
        auth::constant_time_eq(expected.as_bytes(), data.as_bytes())
    })
}

impl Authenticator {
    /// The scheme to challenge a failed log-in with. A client that tried MD5 is asked for
    /// MD5 again, never talked down to Basic; Basic is offered when the policy allows it
    /// and the client used Basic itself, or sent nothing while MD5 cannot work (no vault).
    pub fn challenge_scheme(&self, sent: Option<&str>) -> &'static str {
        let md5_possible = self.policy == AuthPolicy::Md5
            || (self.policy == AuthPolicy::Any && self.vault.is_some());
        match sent {
            Some(AUTH_BASIC) if self.policy.accepts(AUTH_BASIC) => AUTH_BASIC,
            Some(AUTH_MD5) if self.policy.accepts(AUTH_MD5) => AUTH_MD5,
            _ if md5_possible || !self.policy.accepts(AUTH_BASIC) => AUTH_MD5,
            _ => AUTH_BASIC,
        }
    }

    /// Whether the header's credentials are those `user` logged in with: `password` for
    /// Basic, a digest over one of `nonces` for MD5. Local only, no upstream request.
    pub fn proves(&self, header: &SyncHdr, user: &str, password: &str, nonces: &[String]) -> bool {
        let Some(cred) = &header.cred else {
            return false;
        };
        let Some(data) = cred_text(&cred.data) else {
            return false;
        };
        match cred.auth_type() {
            AUTH_BASIC => auth::basic_decode(&data).is_ok_and(|(u, p)| {
                u == user && auth::constant_time_eq(p.as_bytes(), password.as_bytes())
            }),
            AUTH_MD5 => {
                header.source.loc_name.as_deref() == Some(user)
                    && md5_nonce(header, &data, user, password, nonces).is_some()
            }
            _ => false,
        }
    }

    /// Checks the header's credentials. `nonces` are the ones the bridge issued the
    /// device and it may answer; a digest over any other nonce is refused.
    pub async fn check(
        &self,
        header: &SyncHdr,
        nonces: &[String],
        throttle: &LoginThrottle,
        store: &Store,
        upstream: &dyn UpstreamSource,
    ) -> AuthOutcome {
        let Some(cred) = &header.cred else {
            return AuthOutcome::Missing;
        };
        let scheme = cred.auth_type().to_owned();
        let refused = |user: Option<&str>, reason| AuthOutcome::Refused {
            user: user.map(str::to_owned),
            reason,
        };
        if !self.policy.accepts(&scheme) {
            return refused(None, "credential scheme not allowed");
        }
        let Some(data) = cred_text(&cred.data) else {
            return refused(None, "unreadable credentials");
        };
        let (user, password, nonce) = if scheme == AUTH_BASIC {
            let Ok((user, password)) = auth::basic_decode(&data) else {
                return refused(None, "malformed basic credentials");
            };
            // A remembered log-in costs the upstream nothing and is exempt from the
            // throttle, so an attack on the account does not lock its phones out.
            let remembered = upstream.login_is_remembered(&Credentials::new(&user, &password));
            if !remembered && !throttle.user_check_allowed(&user) {
                return AuthOutcome::Throttled { user };
            }
            (user, password, None)
        } else {
            let Some(user) = header.source.loc_name.clone().filter(|u| !u.is_empty()) else {
                return refused(
                    None,
                    "MD5 credentials without a user name in Source/LocName",
                );
            };
            if nonces.is_empty() {
                return AuthOutcome::NeedsNonce;
            }
            if !throttle.user_check_allowed(&user) {
                return AuthOutcome::Throttled { user };
            }
            let Some(vault) = &self.vault else {
                tracing::error!(%user, "MD5 log-in refused: no vault key is configured (auth.vault_key_file or auth.vault_key)");
                return refused(Some(&user), "no vault key configured");
            };
            let password = match store.credential(vault, &user) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    tracing::warn!(%user, "MD5 log-in refused: no app password stored (syncml-bridge users set-password)");
                    return refused(Some(&user), "no stored app password");
                }
                Err(e) => {
                    tracing::error!(%user, error = %e, "MD5 log-in refused: the vault cannot open the stored password");
                    return refused(Some(&user), "vault error");
                }
            };
            let Some(nonce) = md5_nonce(header, &data, &user, &password, nonces).cloned() else {
                return refused(Some(&user), "MD5 digest does not match an issued nonce");
            };
            (user, password, Some(nonce))
        };
        if !self.access.permits(&user) {
            return AuthOutcome::Forbidden { user };
        }
        match upstream
            .check_login(&Credentials::new(&user, &password))
            .await
        {
            Ok(Login::Accepted) => AuthOutcome::Accepted {
                user,
                password,
                nonce,
            },
            Ok(Login::Refused) => refused(Some(&user), "upstream refused the credentials"),
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

    fn authenticator(policy: AuthPolicy, vault: bool) -> Authenticator {
        Authenticator {
            policy,
            access: AccessList::default(),
            vault: vault.then(|| VaultKey::from_text(&"11".repeat(32)).unwrap()),
        }
    }

    #[test]
    fn a_failed_md5_log_in_is_never_talked_down_to_basic() {
        let any = authenticator(AuthPolicy::Any, true);
        assert_eq!(any.challenge_scheme(Some(AUTH_MD5)), AUTH_MD5);
        assert_eq!(any.challenge_scheme(None), AUTH_MD5);
        assert_eq!(any.challenge_scheme(Some(AUTH_BASIC)), AUTH_BASIC);
        assert_eq!(any.challenge_scheme(Some("syncml:auth-MAC")), AUTH_MD5);
        let md5 = authenticator(AuthPolicy::Md5, true);
        assert_eq!(md5.challenge_scheme(Some(AUTH_BASIC)), AUTH_MD5);
        let basic = authenticator(AuthPolicy::Basic, true);
        assert_eq!(basic.challenge_scheme(Some(AUTH_MD5)), AUTH_BASIC);
        // Without a vault MD5 cannot succeed: a client that sent nothing is asked for
        // Basic, but one that tried MD5 is still not talked down.
        let no_vault = authenticator(AuthPolicy::Any, false);
        assert_eq!(no_vault.challenge_scheme(None), AUTH_BASIC);
        assert_eq!(no_vault.challenge_scheme(Some(AUTH_MD5)), AUTH_MD5);
    }

    #[test]
    fn md5_challenge_carries_the_nonce_base64() {
        let c = challenge(AUTH_MD5, "abc");
        assert_eq!(c.meta.next_nonce.as_deref(), Some("YWJj"));
        assert!(challenge(AUTH_BASIC, "abc").meta.next_nonce.is_none());
    }
}
