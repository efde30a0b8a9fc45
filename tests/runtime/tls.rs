//! TLS end to end: the simulator serves `https://` and `wss://` with a certificate from a CA
//! made here; `phantom-fsm run` trusts it through `SSL_CERT_FILE`, and refuses a simulator
//! whose certificate its trust store does not vouch for.

use crate::common::*;
use phantom_fsm::sim::{SimConfig, SimHandle, SimTls, Target, TrafficKind};
use std::path::Path;

/// A throwaway CA (PEM) and, signed by it, a server identity for IP `127.0.0.1`.
fn pki() -> (String, SimTls) {
    let pki = test_pki("127.0.0.1");
    let tls = SimTls {
        cert_chain_pem: pki.leaf.pem(),
        key_pem: pki.key.serialize_pem(),
    };
    (pki.ca.pem(), tls)
}

async fn tls_sim(tls: SimTls) -> SimHandle {
    sim(SimConfig {
        rate: 0.0,
        tls: Some(tls),
        ..SimConfig::default()
    })
    .await
}

/// `phantom-fsm run` against `sim`, trusting only the CA in `ca_pem`.
async fn run_trusting(sim: &SimHandle, dir: &Path, ca_pem: &str) -> Proc {
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let no_dir = dir.join("no-certs");
    std::fs::create_dir_all(&no_dir).unwrap();
    let env = [
        ("SSL_CERT_FILE", ca_file.to_str().unwrap()),
        ("SSL_CERT_DIR", no_dir.to_str().unwrap()),
    ];
    Proc::run_env(sim, &dir.join("data"), &[], &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_connects_over_https_and_wss_to_a_simulator_its_ca_file_trusts() {
    let (ca_pem, tls) = pki();
    let sim = tls_sim(tls).await;
    assert!(
        sim.api_url().starts_with("https://127.0.0.1:"),
        "{}",
        sim.api_url()
    );
    let dir = tempfile::tempdir().unwrap();
    let proc = run_trusting(&sim, dir.path(), &ca_pem).await;
    proc.wait_state("connected", WAIT).await;
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    let ack = ack_of(&sim, &id).await;
    assert_eq!(ack.outcome, phantom_fsm::sim::AckOutcome::OnTime);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_a_simulator_certificate_from_another_ca_and_says_so() {
    let (_, tls) = pki();
    let (other_ca, _) = pki();
    let sim = tls_sim(tls).await;
    let dir = tempfile::tempdir().unwrap();
    let proc = run_trusting(&sim, dir.path(), &other_ca).await;
    let line = eventually("a log line naming the certificate", WAIT, || {
        let out = proc.output();
        async move {
            out.lines()
                .find(|l| l.to_lowercase().contains("certificate"))
                .map(str::to_string)
        }
    })
    .await;
    assert!(line.contains("apps.connections.open"), "{line}");
    // It keeps trying (a TLS failure is not a verdict on the token) and never connects.
    let reconnects = "phantom_slack_socket_reconnects_total";
    proc.wait_metric(reconnects, WAIT, |v| v >= 1.0).await;
    let connected = r#"phantom_slack_socket_state{state="connected"}"#;
    assert_eq!(metric(&proc.metrics().await, connected), Some(0.0));
    assert!(sim.links().is_empty());
    assert!(
        sim.log(0, &Default::default()).is_empty(),
        "no request got through the handshake"
    );
    let out = proc.output();
    for secret in [sim.app_token(), sim.bot_token()] {
        assert!(!out.contains(secret), "a token was printed");
    }
    assert!(
        !out.contains(&format!("127.0.0.1:{}", sim.addr().port())),
        "the URL was printed: {out}"
    );
}
