//! slack-morphism's Socket Mode client on one link, acking every `events_api` envelope on
//! receipt (a push-events callback that does nothing: the library acks when it returns).
//! Driven by `bench measure` through `SLACK_API_URL` / `SLACK_APP_TOKEN`; prints nothing.

use slack_morphism::prelude::*;
use std::sync::Arc;

async fn on_push(
    _event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let api = std::env::var("SLACK_API_URL")?;
    // The library's own connector is HTTPS-only; the simulator speaks plain HTTP on loopback.
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let connector = SlackClientHyperConnector::with_connector(https)
        .with_slack_api_url(api.trim_end_matches('/'));
    let client = Arc::new(SlackClient::new(connector));
    let callbacks = SlackSocketModeListenerCallbacks::new().with_push_events(on_push);
    let environment = Arc::new(SlackClientEventsListenerEnvironment::new(client));
    let config = SlackClientSocketModeConfig::new().with_max_connections_count(1);
    let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
    let token = SlackApiToken::new(std::env::var("SLACK_APP_TOKEN")?.into());
    listener.listen_for(&token).await?;
    listener.serve().await;
    Ok(())
}
