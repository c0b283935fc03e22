//! TLS on the listener (rustls with the ring provider), loaded once at start from the
//! `[tls]` files.
//!
//! rustls speaks TLS 1.2 and 1.3 only; phones limited to SSL 3.0 or TLS 1.0 need plain
//! HTTP or a legacy terminator in front (docs/tls-legacy-phones.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::TlsConfig;

/// Why the certificate or key could not be used; each names its configuration key.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("`{key}`: cannot read {path}: {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{key}`: {path} is not valid PEM: {message}")]
    Pem {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("`tls.cert_file`: {path} holds no CERTIFICATE block")]
    NoCertificate { path: PathBuf },
    #[error("`tls.key_file`: {path} holds no private key (PKCS#8, PKCS#1 or SEC1 PEM block)")]
    NoKey { path: PathBuf },
    #[error("`tls.key_file`: {path} does not fit the certificate in {cert}: {message}")]
    Rejected {
        path: PathBuf,
        cert: PathBuf,
        message: String,
    },
}

/// A loaded server certificate and key, ready to accept TLS connections.
#[derive(Clone)]
pub struct TlsSettings {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsSettings {
    // The key material stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsSettings { .. }")
    }
}

impl TlsSettings {
    /// `None` when `[tls]` names no files; the loaded certificate and key otherwise.
    pub fn from_config(tls: &TlsConfig) -> Result<Option<TlsSettings>, TlsError> {
        if !tls.enabled() {
            return Ok(None);
        }
        TlsSettings::from_files(&tls.cert_file, &tls.key_file).map(Some)
    }

    /// Reads a PEM certificate chain and its private key.
    pub fn from_files(cert_file: &Path, key_file: &Path) -> Result<TlsSettings, TlsError> {
        let cert_pem = read("tls.cert_file", cert_file)?;
        let key_pem = read("tls.key_file", key_file)?;
        let pem_error = |key, path: &Path, e: pem::Error| TlsError::Pem {
            key,
            path: path.to_owned(),
            message: e.to_string(),
        };
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_error("tls.cert_file", cert_file, e))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate {
                path: cert_file.to_owned(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsError::NoKey {
                path: key_file.to_owned(),
            },
            e => pem_error("tls.key_file", key_file, e),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let rejected = |e: rustls::Error| TlsError::Rejected {
            path: key_file.to_owned(),
            cert: cert_file.to_owned(),
            message: e.to_string(),
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rejected)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(rejected)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsSettings {
            config: Arc::new(config),
        })
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        key,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn missing_and_malformed_files_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = TlsSettings::from_files(&missing, &missing).unwrap_err();
        assert!(err.to_string().contains("`tls.cert_file`"), "{err}");

        let empty_cert = write(dir.path(), "cert.pem", "no pem here\n");
        let err = TlsSettings::from_files(&empty_cert, &missing).unwrap_err();
        assert!(err.to_string().contains("`tls.key_file`"), "{err}");

        let broken = write(
            dir.path(),
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
        );
        let err = TlsSettings::from_files(&broken, &empty_cert).unwrap_err();
        assert!(
            matches!(
                err,
                TlsError::Pem {
                    key: "tls.cert_file",
                    ..
                }
            ),
            "{err}"
        );

        let err = TlsSettings::from_files(&empty_cert, &empty_cert).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    }

    #[test]
    fn unset_files_mean_plain_http() {
        assert!(TlsSettings::from_config(&TlsConfig::default())
            .unwrap()
            .is_none());
    }
}
