//! A tenant runtime embedding phantom-fsm: count mentions, print each envelope, stop on Ctrl-C
//! (or after `--seconds N`). Without `SLACK_API_URL` it starts an in-process simulator that
//! sends one envelope a second, so it runs anywhere:
//!
//! ```text
//! cargo run --example embed -- --seconds 5
//! SLACK_API_URL=https://slack.com/api/ SLACK_APP_TOKEN=xapp-... cargo run --example embed
//! ```

use phantom_fsm::runtime::{Runtime, handler_fn};
use phantom_fsm::sim::{SimConfig, SimHandle};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: Option<u64> = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok());
    let (sim, api_url, token) = match std::env::var("SLACK_API_URL") {
        Ok(url) => (None, url, std::env::var("SLACK_APP_TOKEN")?),
        Err(_) => {
            let sim = SimHandle::start(SimConfig::default()).await?;
            let (url, token) = (sim.api_url(), sim.app_token().to_string());
            (Some(sim), url, token)
        }
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
    let handle = runtime.handle();
    let mut state = handle.state();
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
    runtime.run().await?;
    drop(sim);
    Ok(())
}
