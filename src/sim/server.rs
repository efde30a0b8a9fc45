//! The axum server: `/api/{method}`, `/link/` (WebSocket), `/_sim/` (control), and the
//! background task that expires unacked envelopes and delivers events again.

use super::listener::{ResetSwitch, SimListener};
use super::state::Shared;
use super::{SimConfig, SimError, SimTls, control, socket, web_api};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;
use tokio_rustls::TlsAcceptor;

/// Largest request body the Web API and control API read.
const MAX_BODY: usize = 1 << 20;

/// Bind (loopback only), then serve in the background.
pub(crate) async fn start(
    config: SimConfig,
) -> Result<(Arc<Shared>, Vec<JoinHandle<()>>), SimError> {
    let addr = config.listen;
    if !addr.ip().is_loopback() {
        return Err(SimError::NotLoopback(addr));
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let tls = config.tls.as_ref().map(acceptor).transpose()?;
    let shared = Arc::new(Shared::new(config, local));
    let app = router(Arc::clone(&shared));
    let mut stop = shared.shutdown.subscribe();
    let server = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<ResetSwitch>();
        let serving = axum::serve(SimListener { tcp: listener, tls }, app).with_graceful_shutdown(
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        );
        let _ = serving.await;
    });
    let redeliveries = tokio::spawn(redeliver(Arc::clone(&shared)));
    Ok((shared, vec![server, redeliveries]))
}

/// A TLS acceptor for the certificate and key (the ring provider, as the rest of the crate).
fn acceptor(tls: &SimTls) -> Result<TlsAcceptor, SimError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| SimError::Tls(format!("{what}: {e}"));
    let certs = CertificateDer::pem_slice_iter(tls.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", &e))?;
    if certs.is_empty() {
        return Err(SimError::Tls("no certificate in the PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| bad("private key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("protocol versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("certificate and key", &e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{method}", get(web_api::handle).post(web_api::handle))
        .route("/link", get(socket::upgrade))
        .route("/link/", get(socket::upgrade))
        .nest("/_sim", control::router())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// Expire envelopes at their ack deadline and send the retries Slack would make, when due.
async fn redeliver(shared: Arc<Shared>) {
    let mut stop = shared.shutdown.subscribe();
    loop {
        let next = shared.with(|s| s.deliveries.next_wakeup());
        let at = next.map(|d| shared.instant(d));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = shared.deliveries_changed.notified() => continue,
            _ = async { match at { Some(at) => sleep_until(at).await, None => std::future::pending().await } } => {}
        }
        shared.with(|s| s.run_due());
    }
}
