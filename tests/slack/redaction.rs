//! Tokens and the Socket Mode URL never show in `Debug`, `Display` or errors.

use crate::common::json;
use crate::failures::serving;
use phantom_fsm::slack::{HttpOptions, Observation, Secret, SlackClient, WssUrl};

#[test]
fn secrets_print_their_kind_only() {
    for (value, shown) in [
        ("xapp-1-A0-123-abcdef", "xapp-…(redacted)"),
        ("xoxb-123-456-abcdef", "xoxb-…(redacted)"),
        ("xoxp-1", "xoxp-…(redacted)"),
        ("xapp-", "…(redacted)"),
        ("8f14e45fceea167a5a36dedd4bea2543", "…(redacted)"),
    ] {
        let secret = Secret::new(value);
        assert_eq!(format!("{secret:?}"), shown);
        assert_eq!(format!("{secret}"), shown);
        assert_eq!(format!("{:?}", Some(&secret)), format!("Some({shown})"));
    }
}

#[test]
fn the_socket_url_prints_its_host_only() {
    let url = WssUrl::parse("wss://wss-primary.slack.com/link/?ticket=T-123&app_id=A1").unwrap();
    for printed in [format!("{url:?}"), url.to_string()] {
        assert_eq!(printed, "wss://wss-primary.slack.com/…(redacted)");
    }
    let local = WssUrl::parse("ws://127.0.0.1:4000/link/?ticket=T-9").unwrap();
    assert_eq!(format!("{local:?}"), "ws://127.0.0.1:4000/…(redacted)");
    for bad in ["wss://", "wss:///x", "https://slack.com/", "ticket"] {
        assert!(WssUrl::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn observations_and_clients_never_print_reply_bodies_or_tokens() {
    let (_server, client) =
        serving(|| json(r#"{"ok":true,"url":"wss://h/link/?ticket=SECRET-TICKET"}"#));
    let token = Secret::new("xapp-1-TOKEN-VALUE");
    let observed = client.call("apps.connections.open", &token, &[]);
    assert!(matches!(observed, Observation::Response(_)));
    let url = client.open_connection(&token).unwrap();
    let printed = format!("{observed:?} {client:?} {url:?} {url} {token:?}");
    for secret in ["SECRET-TICKET", "TOKEN-VALUE"] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[test]
fn errors_never_carry_the_token() {
    let client = SlackClient::new("http://127.0.0.1:1/api/", &HttpOptions::default()).unwrap();
    let token = Secret::new("xapp-1-TOKEN-VALUE");
    let error = client.open_connection(&token).unwrap_err();
    let printed = format!("{error} {error:?}");
    assert!(!printed.contains("TOKEN-VALUE"), "{printed}");
}
