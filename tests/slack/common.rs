//! Local HTTP(S) servers that answer each request as a test script says: a canned reply,
//! silence, or a cut connection. Each connection gets its own thread, which ends when the
//! client goes away, so a hanging reply never outlives the test that needs it.

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A short client timeout for tests that expect one (the servers below answer at once or
/// never, so nothing else depends on it).
pub const SHORT: Duration = Duration::from_millis(400);

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The form-encoded body as pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).expect("form body")
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What to do with a request.
pub enum Action {
    /// Write these bytes, then close.
    Raw(Vec<u8>),
    /// Never answer (hold the connection until the client closes it).
    Hang,
}

/// A complete HTTP/1.1 reply.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Action {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    Action::Raw(format!("{head}\r\n{body}").into_bytes())
}

/// A 200 JSON reply.
pub fn json(body: &str) -> Action {
    reply(200, &[("Content-Type", "application/json")], body)
}

type Handler = Arc<dyn Fn(&Request) -> Action + Send + Sync>;

/// A scripted server on 127.0.0.1.
pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    /// Plain HTTP.
    pub fn start(handler: impl Fn(&Request) -> Action + Send + Sync + 'static) -> TestServer {
        TestServer::spawn(None, Arc::new(handler))
    }

    /// HTTPS with `tls`.
    pub fn start_tls(
        tls: Arc<ServerConfig>,
        handler: impl Fn(&Request) -> Action + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::spawn(Some(tls), Arc::new(handler))
    }

    fn spawn(tls: Option<Arc<ServerConfig>>, handler: Handler) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (reqs, conns) = (requests.clone(), connections.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                conns.fetch_add(1, Ordering::SeqCst);
                let (tls, handler, reqs) = (tls.clone(), handler.clone(), reqs.clone());
                thread::spawn(move || serve(stream, tls, &*handler, &reqs));
            }
        });
        TestServer {
            addr,
            requests,
            connections,
        }
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Requests read so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    handler: &(dyn Fn(&Request) -> Action + Send + Sync),
    requests: &Mutex<Vec<Request>>,
) {
    match tls {
        None => exchange(stream, handler, requests),
        Some(config) => {
            let Ok(conn) = ServerConnection::new(config) else {
                return;
            };
            exchange(StreamOwned::new(conn, stream), handler, requests)
        }
    }
}

fn exchange(
    mut stream: impl Read + Write,
    handler: &(dyn Fn(&Request) -> Action + Send + Sync),
    requests: &Mutex<Vec<Request>>,
) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    requests.lock().unwrap().push(request.clone());
    match handler(&request) {
        Action::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
        }
        Action::Hang => {
            // Read until the client gives up and closes.
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

fn read_request(stream: &mut impl Read) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// A throwaway CA and a `localhost` certificate it signed.
pub struct TestPki {
    pub ca_pem: String,
    pub server: Arc<ServerConfig>,
}

impl TestPki {
    /// `ca_name` is the CA's common name: two CAs with one name differ only in their keys.
    pub fn new(ca_name: &str) -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .expect("leaf params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf cert");
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key der");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
            .expect("server config");
        TestPki {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}
