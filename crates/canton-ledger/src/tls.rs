//! TLS for the HTTP clients (JSON Ledger API, its websocket, the Registry APIs): rustls with
//! the ring provider, the one tonic's Admin API client already uses. A node with a private CA
//! is trusted through that CA's PEM file only; otherwise the system's roots are.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Makes ring the process's default rustls provider, for code that builds rustls configs
/// without naming a provider (tonic's TLS). reqwest brings aws-lc-rs as its own default, and
/// with two providers compiled in rustls cannot pick one by itself. Idempotent: a provider
/// installed before is kept.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Which certificates a client trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's roots (public CAs, or a private CA installed system-wide).
    #[default]
    System,
    /// Only the CA certificates of this PEM text.
    CaPem(Vec<u8>),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the CA file holds no PEM certificate")]
    NoCertificate,
    #[error("the CA file is not valid PEM: {0}")]
    Pem(String),
    #[error("a CA certificate is not usable: {0}")]
    Certificate(String),
    #[error("the system has no trusted root certificates")]
    NoSystemRoots,
}

impl Trust {
    /// A rustls client config trusting these certificates, for HTTP/1.1.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let roots = match self {
            Trust::System => system_roots()?,
            Trust::CaPem(pem) => ca_roots(pem)?,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Certificate(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // reqwest and tungstenite speak HTTP/1.1 here (the websocket upgrade needs it).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn ca_roots(pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| TlsError::Pem(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(roots)
}

/// The system's roots, read once per process (it reads a few files; every client needs it).
fn system_roots() -> Result<RootCertStore, TlsError> {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        // Unreadable or unparsable system certificates are skipped, as browsers do.
        let found = rustls_native_certs::load_native_certs();
        let _ = roots.add_parsable_certificates(found.certs);
        roots
    });
    if roots.is_empty() {
        return Err(TlsError::NoSystemRoots);
    }
    Ok(roots.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_certificates() {
        assert!(matches!(
            Trust::CaPem(b"not a certificate".to_vec()).client_config(),
            Err(TlsError::NoCertificate)
        ));
        let ca = std::fs::read("tests/tls/ca.pem").unwrap();
        let config = Trust::CaPem(ca).client_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
