//! `phantom-fsm sim` tells a client which tokens it accepts, right after `api_url=`.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The first `n` lines the simulator prints, each within [`WAIT`]. Every later line is read
/// too, until the process ends (a closed pipe would stop the simulator).
fn start_lines(
    child: &mut std::process::Child,
    n: usize,
) -> Result<Vec<String>, std::sync::mpsc::RecvTimeoutError> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (0..n).map(|_| rx.recv_timeout(WAIT)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_the_tokens_it_accepts_after_api_url() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phantom-fsm"))
        .args([
            "sim",
            "--rate",
            "0",
            "--app-token",
            "xapp-1-TEST-1-custom",
            "--bot-token",
            "xoxb-custom-sim",
            "--retry-scale",
            "0.01",
            "--ghost-ttl",
            "5",
            "--history-page-limit",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("phantom-fsm sim starts");
    let Ok(lines) = start_lines(&mut child, 4) else {
        let _ = child.kill();
        panic!("no start lines");
    };
    let api_url = lines[0]
        .strip_prefix("api_url=")
        .expect("first line")
        .to_string();
    assert!(lines[1].starts_with("control_url="), "{lines:?}");
    assert_eq!(
        lines[2],
        "app_token=xapp-1-TEST-1-custom bot_token=xoxb-custom-sim"
    );
    assert!(lines[3].contains("retry_scale=0.01"), "{lines:?}");
    assert!(lines[3].contains("history_page_limit=3"), "{lines:?}");
    let reply = post(
        format!("{api_url}auth.test"),
        Some("xoxb-custom-sim".into()),
        Body::Empty,
    )
    .await;
    let refused = post(
        format!("{api_url}auth.test"),
        Some(phantom_fsm::sim::DEFAULT_BOT_TOKEN.into()),
        Body::Empty,
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(reply.json()["ok"], true, "{reply:?}");
    assert_eq!(refused.json()["error"], "invalid_auth");
}

#[test]
fn the_cli_serves_tls_with_a_certificate_and_refuses_a_bad_key() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path, bad_path) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("bad.pem"),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(&bad_path, "not a key").unwrap();
    let sim = |key: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_phantom-fsm"))
            .args(["sim", "--rate", "0", "--tls-cert"])
            .arg(&cert_path)
            .arg("--tls-key")
            .arg(key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("phantom-fsm sim starts")
    };
    let mut child = sim(&key_path);
    let lines = start_lines(&mut child, 2);
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.expect("start lines");
    assert!(
        lines[0].starts_with("api_url=https://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("control_url=https://127.0.0.1:"),
        "{lines:?}"
    );

    // A key that is not one: refused at start, naming TLS.
    let mut child = sim(&bad_path);
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a bad key did not stop the simulator within {WAIT:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(!status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") && err.contains("private key"), "{err}");
}
