//! The one place a TLS client configuration is built, for HTTPS here and for the runtime's
//! `wss://` connector (tokio-tungstenite's `Connector::Rustls` takes the same
//! `Arc<ClientConfig>`).
//!
//! Roots come from the platform trust store through `rustls-native-certs`, which honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` (when either is set, only those are read), so a corporate
//! CA works. The crypto provider is `ring`, passed explicitly: nothing is installed
//! process-wide, so an embedder's own choice of provider is left alone.

use super::error::TlsSetupError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;

/// A client configuration trusting the platform's roots (or `SSL_CERT_FILE` / `SSL_CERT_DIR`).
///
/// Fails only when no root at all could be loaded; certificates that do not parse are skipped.
///
/// The runtime's WebSocket links use the same configuration:
///
/// ```no_run
/// # async fn link() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = phantom_fsm::slack::platform_client_config()?;
/// let connector = tokio_tungstenite::Connector::Rustls(tls);
/// let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
///     "wss://wss-primary.slack.com/link/?ticket=...", None, false, Some(connector),
/// ).await?;
/// # drop(ws); Ok(()) }
/// ```
pub fn platform_client_config() -> Result<Arc<ClientConfig>, TlsSetupError> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let detail = match loaded.errors.first() {
            Some(e) => e.to_string(),
            None => "the store is empty".to_string(),
        };
        return Err(TlsSetupError::NoRoots { detail });
    }
    client_config_with_roots(roots)
}

/// A client configuration trusting exactly the certificates in `pem` (one or more
/// `-----BEGIN CERTIFICATE-----` blocks): for a private CA, and for tests.
pub fn client_config_from_pem(pem: &[u8]) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| TlsSetupError::InvalidPem(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TlsSetupError::InvalidPem(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TlsSetupError::InvalidPem("no certificate found".into()));
    }
    client_config_with_roots(roots)
}

/// A client configuration trusting `roots`, with the `ring` provider and rustls' safe default
/// protocol versions (TLS 1.2 and 1.3), no client certificate, no ALPN (HTTP/1.1 and WebSocket
/// both work over it).
pub fn client_config_with_roots(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
