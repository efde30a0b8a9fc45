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
