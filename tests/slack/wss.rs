//! The TLS configuration this module builds also serves the runtime's `wss://` links: handed
//! to tokio-tungstenite as `Connector::Rustls`, with no process-wide crypto provider.

use crate::common::TestPki;
use futures_util::StreamExt;
use phantom_fsm::slack::client_config_from_pem;
use rustls::{ServerConnection, StreamOwned};
use std::net::TcpListener;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_config_opens_a_wss_link() {
    let pki = TestPki::new("phantom-fsm wss CA");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_config = pki.server.clone();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let tls = StreamOwned::new(ServerConnection::new(server_config).unwrap(), tcp);
        let mut ws = tungstenite::accept(tls).unwrap();
        ws.send(Message::text(r#"{"type":"hello"}"#)).unwrap();
        // Wait for the client's close, so the frame is not cut off.
        while ws.read().is_ok() {}
    });
    let config = client_config_from_pem(pki.ca_pem.as_bytes()).unwrap();
    let url = format!("wss://localhost:{port}/link/?ticket=t");
    let (mut ws, _) =
        connect_async_tls_with_config(url, None, false, Some(Connector::Rustls(config)))
            .await
            .expect("wss handshake with our config");
    let frame = ws.next().await.expect("a frame").expect("read");
    assert_eq!(frame, Message::text(r#"{"type":"hello"}"#));
    ws.close(None).await.unwrap();
    drop(ws);
    server.join().unwrap();
}
