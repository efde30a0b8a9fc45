//! Bad configuration: one line naming the flag, exit status 2, nothing written.

use crate::common::*;
use std::time::Duration;

async fn refused(args: &[&str], flag: &str, data: &std::path::Path) {
    let mut all: Vec<String> = vec![
        "run".into(),
        "--data-dir".into(),
        data.display().to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let (status, out) = run_to_exit(&all, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(2), "{args:?}: {out}");
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {out}");
    assert!(
        lines[0].starts_with(&format!("phantom-fsm: {flag}")),
        "{out}"
    );
    assert!(!out.contains("secretpart"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_exits_2_naming_the_flag_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = "xapp-1-A1-1-secretpart";
    let bot = "xoxb-1-2-secretpart";
    refused(&["--bot-token", bot], "--app-token", &data).await;
    refused(&["--app-token", app], "--bot-token", &data).await;
    refused(
        &["--app-token", bot, "--bot-token", bot],
        "--app-token",
        &data,
    )
    .await;
    refused(
        &["--app-token", app, "--bot-token", app],
        "--bot-token",
        &data,
    )
    .await;
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().to_string();
    let args = ["--app-token", app, "--bot-token", bot, "--listen", &port];
    refused(&args, "--listen", &data).await;
    assert!(!data.exists(), "nothing was written");
    // A data dir below a regular file cannot be created.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let unreachable = file.join("data");
    let args = [
        "--app-token",
        app,
        "--bot-token",
        bot,
        "--listen",
        "127.0.0.1:0",
    ];
    refused(&args, "--data-dir", &unreachable).await;
}

/// A metadata gateway on 127.0.0.1 that knows `secrets` (name → value) and answers 404
/// otherwise; returns its base URL and the names asked for.
async fn gateway(
    secrets: Vec<(&'static str, String)>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let name = path.trim_start_matches("/secrets/").to_string();
            log.lock().unwrap().push(name.clone());
            let reply = match secrets.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{v}",
                    v.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    (base, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tokens_come_from_the_metadata_gateway() {
    let sim = quiet_sim().await;
    let tokens = vec![
        ("slack_app_token", sim.app_token().to_string()),
        ("slack_bot_token", sim.bot_token().to_string()),
    ];
    let (base, asked) = gateway(tokens).await;
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "run",
        "--slack-api-url",
        &sim.api_url(),
        "--metadata-base-url",
        &base,
        "--data-dir",
        &dir.path().join("data").display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let proc = Proc::spawn(&args).await;
    proc.wait_state("connected", WAIT).await;
    assert_eq!(
        *asked.lock().unwrap(),
        ["slack_app_token", "slack_bot_token"]
    );
    assert!(!proc.output().contains(sim.app_token()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_gateway_does_not_know_is_a_missing_token() {
    let (base, _) = gateway(vec![("slack_bot_token", "xoxb-1-2-secretpart".into())]).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    refused(&["--metadata-base-url", &base], "--app-token", &data).await;
    assert!(!data.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_url_needs_a_signing_secret_and_an_http_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = "xapp-1-A1-1-secretpart";
    let bot = "xoxb-1-2-secretpart";
    let base = [
        "--app-token",
        app,
        "--bot-token",
        bot,
        "--listen",
        "127.0.0.1:0",
    ];
    let url = "http://127.0.0.1:9/slack/events";
    let mut args = base.to_vec();
    args.extend(["--forward-url", url]);
    refused(&args, "--signing-secret", &data).await;
    let mut args = base.to_vec();
    args.extend(["--forward-url", "ftp://x", "--signing-secret", "secretpart"]);
    refused(&args, "--forward-url", &data).await;
    assert!(!data.exists(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_forward_url_signs_with_the_gateways_secret_and_answers_inside_the_ack() {
    use crate::bridge::{App, SECRET, serve};
    use phantom_fsm::sim::{Target, TrafficKind};
    let sim = quiet_sim().await;
    let app = App {
        delay: Duration::ZERO,
        seen: Default::default(),
    };
    let url = serve(app.clone()).await;
    let secrets = vec![
        ("slack_app_token", sim.app_token().to_string()),
        ("slack_bot_token", sim.bot_token().to_string()),
        ("slack_gateway_signing_secret", SECRET.to_string()),
    ];
    let (base, asked) = gateway(secrets).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let extra = ["--metadata-base-url", &base, "--forward-url", &url];
    let proc = Proc::run(&sim, &data, &extra).await;
    proc.wait_state("connected", WAIT).await;
    assert!(
        asked
            .lock()
            .unwrap()
            .contains(&"slack_gateway_signing_secret".to_string())
    );
    let ids = sim.push_now(1, TrafficKind::SlashCommands, Target::All);
    sim.wait_until(WAIT, || sim.acks().iter().any(|a| a.envelope_id == ids[0]))
        .await
        .expect("acked");
    let ack = sim
        .acks()
        .into_iter()
        .find(|a| a.envelope_id == ids[0])
        .unwrap();
    assert_eq!(ack.payload, Some(serde_json::json!({"text": "pong"})));
    let seen = app.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signed);
    if std::env::var_os("PHANTOM_SHOW_FORWARDED").is_some() {
        let mut headers: Vec<_> = seen[0].headers.iter().collect();
        headers.sort();
        eprintln!("forwarded request headers: {headers:?}");
    }
    let metrics = proc.metrics().await;
    assert_eq!(
        metric(&metrics, r#"phantom_bridge_requests_total{outcome="ok"}"#),
        Some(1.0)
    );
    assert!(!proc.output().contains(SECRET));
}
