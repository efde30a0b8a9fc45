//! `wss://` links: the runtime opens them with the rustls configuration it was given (the
//! `ring` provider, nothing installed process-wide), acks over TLS, and closes cleanly.

use crate::common::*;
use phantom_fsm::runtime::{ConnectionOpener, Delivery, HandlerError, Runtime, handler_fn};
use phantom_fsm::socket::OpenOutcome;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{self, Message};

/// A throwaway CA (PEM) and a server configuration for `localhost` signed by it.
fn pki() -> (String, Arc<ServerConfig>) {
    let pki = test_pki("localhost");
    let der = rustls::pki_types::PrivateKeyDer::try_from(pki.key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.der().clone(), pki.ca.der().clone()], der)
        .unwrap();
    (pki.ca.pem(), Arc::new(server))
}

/// Hands out one fixed `wss://` URL.
struct Fixed(String);

impl ConnectionOpener for Fixed {
    fn open_connection(&self) -> OpenOutcome {
        OpenOutcome::Url(self.0.as_str().into())
    }
}

/// One TLS WebSocket peer: `hello`, one envelope, then every text frame it reads until the
/// client closes. Every wait is bounded.
fn serve_one(listener: TcpListener, config: Arc<ServerConfig>) -> Vec<String> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    let tcp = loop {
        match listener.accept() {
            Ok((tcp, _)) => break tcp,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("no client within {WAIT:?}: {e}"),
        }
    };
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
    let mut ws = tungstenite::accept(tls).unwrap();
    ws.send(Message::text(r#"{"type":"hello","num_connections":1}"#))
        .unwrap();
    let envelope = r#"{"envelope_id":"e1","type":"events_api","accepts_response_payload":false,
        "payload":{"event_id":"Ev1","event":{"type":"app_mention","text":"hi"}}}"#;
    ws.send(Message::text(envelope)).unwrap();
    let mut texts = Vec::new();
    while let Ok(frame) = ws.read() {
        if let Message::Text(t) = frame {
            texts.push(t.to_string());
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_link_with_the_given_tls_config_acks_and_closes() {
    let (ca_pem, server_config) = pki();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve_one(listener, server_config));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::builder()
        .connection_opener(Fixed(format!("wss://localhost:{port}/link/?ticket=t")))
        .tls_config(phantom_fsm::slack::client_config_from_pem(ca_pem.as_bytes()).unwrap())
        .data_dir(dir.path().join("data"))
        .handler(handler_fn(move |d: Delivery| {
            log.lock().unwrap().push(d.envelope_id().to_string());
            async { Ok::<(), HandlerError>(()) }
        }))
        .build()
        .unwrap();
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let handle = runtime.handle();
    let mut state = handle.state();
    let task = tokio::spawn(runtime.run());
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "connected"))
        .await
        .unwrap()
        .unwrap();
    eventually("the envelope dispatched", WAIT, || {
        let n = seen.lock().unwrap().len();
        async move { (n == 1).then_some(()) }
    })
    .await;
    handle.shutdown();
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let texts = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert_eq!(texts, [r#"{"envelope_id":"e1"}"#]);
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "nothing installed process-wide"
    );
}
