//! The metadata gateway: allowlisted names only, 404 = unknown, the body is the value.

use crate::common::{TestServer, reply};
use phantom_fsm::slack::{GatewayError, HttpOptions, MetadataGateway, SecretName};

fn gateway(server: &TestServer, path: &str) -> MetadataGateway {
    MetadataGateway::new(&server.http_url(path), &HttpOptions::default()).unwrap()
}

#[test]
fn an_allowed_name_is_fetched_and_trimmed() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/meta/secrets/slack_app_token" => reply(200, &[], "xapp-1-from-gateway\n"),
        _ => reply(404, &[], "not found"),
    });
    for base in ["/meta", "/meta/"] {
        let secret = gateway(&server, base)
            .fetch(SecretName::SlackAppToken)
            .unwrap();
        assert_eq!(secret.expose(), "xapp-1-from-gateway");
    }
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"));
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));
}

#[test]
fn a_404_is_an_unknown_name_and_other_statuses_are_reported() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/secrets/slack_bot_token" => reply(404, &[], ""),
        "/secrets/slack_app_token" => reply(200, &[], "  \n"),
        _ => reply(503, &[], ""),
    });
    let gateway = gateway(&server, "");
    assert_eq!(
        gateway.fetch(SecretName::SlackBotToken),
        Err(GatewayError::Unknown {
            name: SecretName::SlackBotToken
        })
    );
    assert_eq!(
        gateway.fetch(SecretName::SlackAppToken),
        Err(GatewayError::Empty {
            name: SecretName::SlackAppToken
        })
    );
    assert_eq!(
        gateway.fetch(SecretName::SlackGatewaySigningSecret),
        Err(GatewayError::Status {
            name: SecretName::SlackGatewaySigningSecret,
            status: 503
        })
    );
}

#[test]
fn a_name_off_the_allowlist_is_refused_before_any_request() {
    let server = TestServer::start(|_| reply(200, &[], "value"));
    let gateway = gateway(&server, "");
    for name in ["aws_secret", "slack_bot_token/../x", "SLACK_BOT_TOKEN", ""] {
        assert!(
            matches!(
                gateway.fetch_named(name),
                Err(GatewayError::NotAllowed { .. })
            ),
            "{name}"
        );
    }
    // A later allowed fetch is the first connection and the first request the server saw
    // (connections are accepted in order, so an earlier one would have been counted first).
    assert_eq!(
        gateway
            .fetch_named("slack_gateway_signing_secret")
            .unwrap()
            .expose(),
        "value"
    );
    assert_eq!(server.connections(), 1);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/secrets/slack_gateway_signing_secret"]);
}

#[test]
fn the_allowlist_is_exactly_three_names() {
    let names: Vec<&str> = SecretName::ALL.iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "slack_bot_token",
            "slack_app_token",
            "slack_gateway_signing_secret"
        ]
    );
    for name in SecretName::ALL {
        assert_eq!(name.as_str().parse::<SecretName>(), Ok(name));
    }
}

#[test]
fn gateway_errors_never_show_the_value() {
    let server = TestServer::start(|_| reply(200, &[], "xoxb-very-secret"));
    let secret = gateway(&server, "")
        .fetch(SecretName::SlackBotToken)
        .unwrap();
    assert!(!format!("{secret:?} {secret}").contains("very-secret"));
}
