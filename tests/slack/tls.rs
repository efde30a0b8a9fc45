//! HTTPS with a throwaway CA: trusted explicitly, trusted through `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` (in a child process, since the variables are process-wide), and refused with
//! a clear, not-sent error when the CA is not trusted.

use crate::common::{TestPki, TestServer, json};
use phantom_fsm::slack::{
    HttpOptions, Observation, Secret, SlackClient, SlackError, TransportError,
    client_config_from_pem, client_config_with_roots, platform_client_config,
};
use std::process::Command;
use std::time::Duration;

/// Set in the child process: the URL to call with the platform configuration.
const CHILD_URL: &str = "PHANTOM_SLACK_TLS_CHILD_URL";

fn https_server(pki: &TestPki) -> TestServer {
    TestServer::start_tls(pki.server.clone(), |_| {
        json(r#"{"ok":true,"team_id":"T1","user_id":"U1"}"#)
    })
}

fn options(tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        tls,
    }
}

#[test]
fn a_trusted_ca_works_over_https() {
    let pki = TestPki::new("phantom-fsm test CA");
    let server = https_server(&pki);
    let tls = client_config_from_pem(pki.ca_pem.as_bytes()).unwrap();
    let client = SlackClient::new(&server.https_url("/api"), &options(Some(tls))).unwrap();
    let auth: phantom_fsm::slack::AuthTest =
        client.auth_test(&Secret::new("xoxb-1")).reply().unwrap();
    assert_eq!(auth.team_id, "T1");
    assert_eq!(server.requests()[0].path, "/api/auth.test");
}

#[test]
fn an_untrusted_ca_is_not_sent_and_names_the_certificate_problem() {
    let pki = TestPki::new("phantom-fsm test CA");
    let other = TestPki::new("some other CA");
    let server = https_server(&pki);
    let tls = client_config_from_pem(other.ca_pem.as_bytes()).unwrap();
    let client = SlackClient::new(&server.https_url("/api/"), &options(Some(tls))).unwrap();
    let observed = client.auth_test(&Secret::new("xoxb-1"));
    let Observation::NotSent(TransportError::Tls(message)) = &observed else {
        panic!("{observed:?}")
    };
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "{message}"
    );
    assert!(server.requests().is_empty(), "no request was read");
    let error = client.open_connection(&Secret::new("xapp-1")).unwrap_err();
    assert!(
        matches!(error, SlackError::NotSent(TransportError::Tls(_))),
        "{error}"
    );
    assert!(
        error.to_string().contains("TLS handshake failed"),
        "{error}"
    );
}

#[test]
fn an_empty_trust_store_refuses_every_server() {
    let pki = TestPki::new("phantom-fsm test CA");
    let server = https_server(&pki);
    let tls = client_config_with_roots(rustls::RootCertStore::empty()).unwrap();
    let client = SlackClient::new(&server.https_url("/api"), &options(Some(tls))).unwrap();
    assert!(matches!(
        client.auth_test(&Secret::new("xoxb-1")),
        Observation::NotSent(TransportError::Tls(_))
    ));
}

#[test]
fn bad_pem_is_refused() {
    assert!(client_config_from_pem(b"not a certificate").is_err());
}

/// Runs `child_uses_the_platform_trust_store` in a child process with `env` set.
fn run_child(url: &str, env: (&str, &std::path::Path)) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tls::child_uses_the_platform_trust_store",
            "--ignored",
            "--test-threads=1",
        ])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env(env.0, env.1)
        .env(CHILD_URL, url)
        .output()
        .expect("child test runs")
}

#[test]
fn ssl_cert_file_and_ssl_cert_dir_are_honoured() {
    let pki = TestPki::new("phantom-fsm test CA");
    let server = https_server(&pki);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corporate-ca.pem");
    std::fs::write(&file, &pki.ca_pem).unwrap();
    for env in [
        ("SSL_CERT_FILE", file.as_path()),
        ("SSL_CERT_DIR", dir.path()),
    ] {
        let out = run_child(&server.https_url("/api"), env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{}: {stdout}\n{}",
            env.0,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(server.requests().len(), 2);
}

#[test]
#[ignore = "run in a child process by ssl_cert_file_and_ssl_cert_dir_are_honoured"]
fn child_uses_the_platform_trust_store() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    // The default options load the platform store, which the parent pointed at its CA.
    platform_client_config().expect("roots from the environment");
    let client = SlackClient::new(&url, &HttpOptions::default()).unwrap();
    let observed = client.auth_test(&Secret::new("xoxb-1"));
    assert!(
        matches!(&observed, Observation::Response(r) if r.status == 200),
        "{observed:?}"
    );
}
