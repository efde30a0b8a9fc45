//! A tenant runtime embedding phantom-fsm: print each envelope and each socket state, stop on
//! Ctrl-C (or after `--seconds N`). Without `SLACK_API_URL` it starts an in-process simulator
//! that sends an envelope a second, so it runs anywhere:
//!
//! ```text
//! cargo run --example embed -- --seconds 5
//! SLACK_API_URL=https://slack.com/api/ SLACK_APP_TOKEN=xapp-... cargo run --example embed
//! ```

use phantom_fsm::runtime::{Runtime, handler_fn};
use phantom_fsm::sim::SimHandle;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1));
    let seconds: Option<u64> = seconds.and_then(|s| s.parse().ok());
    let sim = match std::env::var("SLACK_API_URL") {
        Ok(_) => None,
        Err(_) => Some(SimHandle::start(Default::default()).await?),
    };
    let (api_url, token) = match &sim {
        Some(sim) => (sim.api_url(), sim.app_token().to_string()),
        None => (
            std::env::var("SLACK_API_URL")?,
            std::env::var("SLACK_APP_TOKEN")?,
        ),
    };
    let data = tempfile::tempdir()?;
    let runtime = Runtime::builder()
        .api_url(api_url)
        .app_token(token)
        .data_dir(data.path())
        .handler(handler_fn(|d| async move {
            println!(
                "{} {} {:?}",
                d.envelope_type(),
                d.envelope_id(),
                d.event_type()
            );
            Ok(())
        }))
        .build()?;
    let (handle, mut state) = (runtime.handle(), runtime.handle().state());
    tokio::spawn(async move {
        while state.changed().await.is_ok() {
            println!("socket: {}", *state.borrow());
        }
    });
    tokio::spawn(async move {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => drop(tokio::signal::ctrl_c().await),
        }
        handle.shutdown();
    });
    Ok(runtime.run().await?)
}
