//! Shared pieces of the runtime's end-to-end tests: an in-process simulator, the real
//! `phantom-fsm run` binary as a child process (its logs captured), scrapes of its HTTP
//! routes, and bounded polling. Nothing here sleeps to wait for something: every wait polls a
//! condition until a deadline.

use phantom_fsm::sim::{SimConfig, SimHandle};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Bound of the waits that have no tighter contract.
pub const WAIT: Duration = Duration::from_secs(15);
/// Pause between two polls of a condition.
const POLL: Duration = Duration::from_millis(25);

/// A simulator with no default traffic.
pub async fn quiet_sim() -> SimHandle {
    sim(SimConfig {
        rate: 0.0,
        ..SimConfig::default()
    })
    .await
}

pub async fn sim(config: SimConfig) -> SimHandle {
    SimHandle::start(config).await.expect("simulator starts")
}

/// Poll `probe` until it returns `Some`, at most `bound`; panics naming `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, bound: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// The value of one exact series (`name{labels}`) in a Prometheus text exposition.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// GET `url`: (status, body).
pub async fn get(url: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut reply = agent.get(&url).call().expect("GET completes");
        let status = reply.status().as_u16();
        (
            status,
            reply.body_mut().read_to_string().unwrap_or_default(),
        )
    })
    .await
    .expect("GET task")
}

/// `phantom-fsm run` as a child process, killed when dropped.
pub struct Proc {
    child: Child,
    pub listen: SocketAddr,
    output: Arc<Mutex<String>>,
}

impl Proc {
    /// Start `phantom-fsm run` against `sim` with `data_dir`, the sim's tokens, a free port
    /// and `extra` arguments; return once it printed its `listen=` line.
    pub async fn run(sim: &SimHandle, data_dir: &Path, extra: &[&str]) -> Proc {
        Proc::run_env(sim, data_dir, extra, &[]).await
    }

    /// [`Proc::run`] with extra environment variables.
    pub async fn run_env(
        sim: &SimHandle,
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let mut args = vec![
            "run".to_string(),
            "--slack-api-url".into(),
            sim.api_url(),
            "--app-token".into(),
            sim.app_token().into(),
            "--bot-token".into(),
            sim.bot_token().into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Proc::spawn_env(&args, env).await
    }

    /// Start the binary with exactly `args` and wait for its `listen=` line.
    pub async fn spawn(args: &[String]) -> Proc {
        Proc::spawn_env(args, &[]).await
    }

    /// [`Proc::spawn`] with extra environment variables.
    pub async fn spawn_env(args: &[String], env: &[(&str, &str)]) -> Proc {
        let (child, output) = start_env(args, env);
        let mut proc = Proc {
            child,
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            output,
        };
        let out = proc.output.clone();
        proc.listen = eventually("the listen= line", WAIT, || {
            let text = out.lock().unwrap().clone();
            async move {
                text.lines()
                    .find_map(|l| l.strip_prefix("listen="))
                    .and_then(|a| a.trim().parse().ok())
            }
        })
        .await;
        proc
    }

    /// Everything it printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = get(format!("http://{}/metrics", self.listen)).await;
        assert_eq!(status, 200);
        body
    }

    pub async fn health(&self) -> Value {
        let (status, body) = get(format!("http://{}/health", self.listen)).await;
        assert_eq!(status, 200);
        serde_json::from_str(&body).expect("/health is JSON")
    }

    pub async fn debug_state(&self) -> String {
        let (status, body) = get(format!("http://{}/debug/state", self.listen)).await;
        assert_eq!(status, 200);
        body
    }

    /// Wait until the series `series` satisfies `ok`, at most `bound`; returns its value.
    pub async fn wait_metric(
        &self,
        series: &str,
        bound: Duration,
        ok: impl Fn(f64) -> bool,
    ) -> f64 {
        eventually(&format!("{series} as expected"), bound, || async {
            metric(&self.metrics().await, series).filter(|v| ok(*v))
        })
        .await
    }

    /// Wait until the socket state gauge says `state`.
    pub async fn wait_state(&self, state: &str, bound: Duration) {
        let series = format!("phantom_slack_socket_state{{state=\"{state}\"}}");
        self.wait_metric(&series, bound, |v| v == 1.0).await;
    }

    /// `kill -9`, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Wait for the exit, at most `bound`.
    pub async fn exit_within(&mut self, bound: Duration) -> ExitStatus {
        let child = &mut self.child;
        eventually("the process exits", bound, || {
            let status = child.try_wait().expect("try_wait");
            async move { status }
        })
        .await
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn the binary with `args` (no token from the environment), capturing its output.
pub fn start(args: &[String]) -> (Child, Arc<Mutex<String>>) {
    start_env(args, &[])
}

/// [`start`] with extra environment variables.
pub fn start_env(args: &[String], env: &[(&str, &str)]) -> (Child, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phantom-fsm"))
        .args(args)
        .env_remove("SLACK_APP_TOKEN")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SLACK_API_URL")
        .env_remove("PHANTOM_DATA_DIR")
        .env_remove("PHANTOM_LISTEN")
        .env_remove("METADATA_BASE_URL")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let output = Arc::new(Mutex::new(String::new()));
    capture(child.stdout.take().expect("stdout"), output.clone());
    capture(child.stderr.take().expect("stderr"), output.clone());
    (child, output)
}

fn capture(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

/// Run the binary with `args` to its exit (bounded): (status, everything it printed).
pub async fn run_to_exit(args: &[String], bound: Duration) -> (ExitStatus, String) {
    let (mut child, output) = start(args);
    let status = eventually("the process exits", bound, || {
        let status = child.try_wait().expect("try_wait");
        async move { status }
    })
    .await;
    // The capture threads end at EOF and drop their clones: then the output is complete.
    eventually("output captured", WAIT, || {
        let done = Arc::strong_count(&output) == 1;
        async move { done.then_some(()) }
    })
    .await;
    let text = output.lock().unwrap().clone();
    (status, text)
}

/// The simulator's record of the ack of envelope `id`, once it has one (bounded by [`WAIT`]).
pub async fn ack_of(sim: &SimHandle, id: &str) -> phantom_fsm::sim::AckRecord {
    sim.wait_until(WAIT, || sim.acks().iter().any(|a| a.envelope_id == id))
        .await
        .expect("acked");
    sim.acks()
        .into_iter()
        .find(|a| a.envelope_id == id)
        .unwrap()
}

/// A runtime spawned on the test's tokio runtime, once its socket is `connected`.
pub struct Spawned {
    pub handle: phantom_fsm::runtime::RuntimeHandle,
    pub telemetry: phantom_fsm::telemetry::Telemetry,
    pub task: tokio::task::JoinHandle<Result<(), phantom_fsm::runtime::RuntimeError>>,
}

/// Spawn `runtime` and wait (bounded by [`WAIT`]) until its socket is `connected`.
pub async fn spawn_connected(runtime: phantom_fsm::runtime::Runtime) -> Spawned {
    let telemetry = runtime.telemetry().clone();
    let handle = runtime.handle();
    let task = tokio::spawn(runtime.run());
    let mut state = handle.state();
    tokio::time::timeout(WAIT, state.wait_for(|s| *s == "connected"))
        .await
        .expect("connected in time")
        .expect("runtime alive");
    Spawned {
        handle,
        telemetry,
        task,
    }
}

/// A throwaway CA and, signed by it, a server certificate (and its key) for `host`.
pub struct TestPki {
    pub ca: rcgen::Certificate,
    pub leaf: rcgen::Certificate,
    pub key: rcgen::KeyPair,
}

/// Generate a [`TestPki`] for `host` (a DNS name or an IP address).
pub fn test_pki(host: &str) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![host.to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    TestPki { ca, leaf, key }
}
