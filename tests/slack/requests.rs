//! What the client writes: methods, paths, the Bearer token, form encoding.

use crate::common::{TestServer, json};
use crate::failures::{bot, client};
use phantom_fsm::slack::{
    ConfigError, HistoryQuery, HttpOptions, PostMessage, Secret, SlackClient, SlackError,
};
use serde_json::json as value;

#[test]
fn post_message_is_form_encoded_with_metadata_as_a_json_string() {
    let server = TestServer::start(|_| json(r#"{"ok":true,"channel":"D1","ts":"1.000100"}"#));
    let client = client(&server.http_url("/api"));
    let metadata = value!({"event_type": "phantom_intro", "event_payload": {"installer": "U1"}});
    let message = PostMessage {
        channel: "D1".into(),
        text: "hello & welcome".into(),
        metadata: Some(metadata.clone()),
    };
    let posted = client.post_message(&bot(), &message).reply();
    assert_eq!(
        posted,
        Ok(phantom_fsm::slack::Posted {
            channel: "D1".into(),
            ts: "1.000100".into()
        })
    );
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/chat.postMessage");
    assert_eq!(
        request.header("authorization"),
        Some("Bearer xoxb-1-test-token")
    );
    assert!(
        request
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.form_value("text").as_deref(),
        Some("hello & welcome")
    );
    let sent: serde_json::Value =
        serde_json::from_str(&request.form_value("metadata").unwrap()).unwrap();
    assert_eq!(sent, metadata);
    assert_eq!(
        request.form_value("token"),
        None,
        "the token is not in the body"
    );
}

#[test]
fn history_sends_every_argument() {
    let server = TestServer::start(|_| {
        json(
            r#"{"ok":true,"messages":[{"ts":"2.0"}],"has_more":true,"response_metadata":{"next_cursor":"c2"}}"#,
        )
    });
    let client = client(&server.http_url("/api/"));
    let query = HistoryQuery {
        channel: "D1".into(),
        include_all_metadata: true,
        oldest: Some("1700000000.000000".into()),
        limit: Some(15),
        cursor: Some("c1".into()),
    };
    let page: phantom_fsm::slack::HistoryPage = client
        .conversations_history(&bot(), &query)
        .reply()
        .unwrap();
    assert!(page.has_more);
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    assert_eq!(page.messages.len(), 1);
    let request = &server.requests()[0];
    assert_eq!(request.path, "/api/conversations.history");
    let form = request.form();
    for (k, v) in [
        ("channel", "D1"),
        ("include_all_metadata", "true"),
        ("oldest", "1700000000.000000"),
        ("limit", "15"),
        ("cursor", "c1"),
    ] {
        assert!(
            form.contains(&(k.to_string(), v.to_string())),
            "{k} in {form:?}"
        );
    }
}

#[test]
fn the_last_page_has_no_cursor() {
    let server = TestServer::start(|_| {
        json(r#"{"ok":true,"messages":[],"has_more":false,"response_metadata":{"next_cursor":""}}"#)
    });
    let client = client(&server.http_url("/api"));
    let page: phantom_fsm::slack::HistoryPage = client
        .conversations_history(&bot(), &HistoryQuery::default())
        .reply()
        .unwrap();
    assert_eq!((page.has_more, page.next_cursor), (false, None));
}

#[test]
fn conversations_open_names_the_user() {
    let server = TestServer::start(|_| json(r#"{"ok":true,"channel":{"id":"D9"}}"#));
    let client = client(&server.http_url("/api"));
    let opened: phantom_fsm::slack::DmOpened =
        client.conversations_open(&bot(), "U42").reply().unwrap();
    assert_eq!(opened.channel, "D9");
    let request = &server.requests()[0];
    assert_eq!(request.path, "/api/conversations.open");
    assert_eq!(request.form_value("users").as_deref(), Some("U42"));
}

#[test]
fn open_connection_posts_with_the_app_token() {
    let server =
        TestServer::start(|_| json(r#"{"ok":true,"url":"wss://example.test/link/?ticket=t1"}"#));
    let client = client(&server.http_url("/api"));
    let url = client
        .open_connection(&Secret::new("xapp-1-A1-abc"))
        .unwrap();
    assert_eq!(url.expose(), "wss://example.test/link/?ticket=t1");
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/apps.connections.open")
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer xapp-1-A1-abc")
    );
}

#[test]
fn open_connection_refuses_a_url_that_is_not_a_websocket() {
    let server =
        TestServer::start(|_| json(r#"{"ok":true,"url":"https://example.test/?ticket=t1"}"#));
    let client = client(&server.http_url("/api"));
    let error = client.open_connection(&Secret::new("xapp-1")).unwrap_err();
    assert!(matches!(error, SlackError::Malformed { .. }), "{error}");
    assert!(!error.to_string().contains("ticket"), "{error}");
}

#[test]
fn base_urls_with_and_without_the_slash_agree() {
    let options = HttpOptions::default();
    for base in [
        "http://127.0.0.1:9/api",
        "http://127.0.0.1:9/api/",
        "http://127.0.0.1:9/api//",
    ] {
        let client = SlackClient::new(base, &options).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/api/");
    }
    assert_eq!(
        SlackClient::new(
            phantom_fsm::slack::DEFAULT_BASE_URL,
            &HttpOptions {
                tls: Some(
                    phantom_fsm::slack::client_config_with_roots(rustls::RootCertStore::empty())
                        .unwrap()
                ),
                ..HttpOptions::default()
            }
        )
        .unwrap()
        .base_url(),
        "https://slack.com/api/"
    );
}

#[test]
fn bad_base_urls_are_refused() {
    for base in [
        "slack.com/api",
        "ftp://slack.com/api/",
        "https:///api",
        "http://h/api?x=1",
        "",
    ] {
        let result = SlackClient::new(base, &HttpOptions::default());
        assert!(
            matches!(result, Err(ConfigError::InvalidBaseUrl { .. })),
            "{base}: {result:?}"
        );
    }
}
