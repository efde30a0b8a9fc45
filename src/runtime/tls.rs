//! The rustls client configuration of `wss://` links: the `ring` provider chosen explicitly
//! (no process-global provider is installed, so two runtimes, or an embedder with its own
//! choice, never collide) and the Mozilla roots from `webpki-roots`.

use std::sync::Arc;

/// A client configuration for `wss://` with the `ring` provider and the webpki roots.
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_without_a_process_default_provider() {
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        let _config = super::client_config().expect("ring supports the safe defaults");
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    }
}
