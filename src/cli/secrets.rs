//! Tokens from the metadata gateway: `GET {base}/secrets/{name}` (body = the raw value; 404 =
//! unknown name), for a frozen allowlist of names; any other name is refused before a request
//! is made.

use phantom_fsm::runtime::Secret;
use std::time::Duration;

/// The app-level token's name.
pub(crate) const APP_TOKEN: &str = "slack_app_token";
/// The bot token's name.
pub(crate) const BOT_TOKEN: &str = "slack_bot_token";
/// Every name that may be asked for.
const ALLOWED: [&str; 3] = [BOT_TOKEN, APP_TOKEN, "slack_gateway_signing_secret"];

/// The secret `name`, `None` when the gateway does not know it. Errors never contain the value.
pub(crate) fn fetch(base: &str, name: &str) -> Result<Option<Secret>, String> {
    if !ALLOWED.contains(&name) {
        return Err(format!("{name:?} is not an allowed secret name"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let url = format!("{}/secrets/{name}", base.trim_end_matches('/'));
    let mut reply = agent
        .get(&url)
        .call()
        .map_err(|e| format!("reading {name}: {e}"))?;
    match reply.status().as_u16() {
        200 => {
            let value = reply
                .body_mut()
                .read_to_string()
                .map_err(|e| format!("reading {name}: {e}"))?;
            Ok(Some(Secret::new(value.trim())).filter(|s| !s.expose().is_empty()))
        }
        404 => Ok(None),
        status => Err(format!("reading {name}: HTTP {status}")),
    }
}
