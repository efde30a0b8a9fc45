//! Web API: tokens, tickets, messages and history, and the Web API faults.

use crate::common::*;
use phantom_fsm::sim::{ApiFault, Event, Hold, LogFilter, SimConfig, SimError};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_connections_open_checks_the_token_type() {
    let sim = start_quiet().await;
    let open = |token: Option<&'static str>| {
        let sim = &sim;
        async move {
            api(sim, "apps.connections.open", token, Body::Empty)
                .await
                .json()
        }
    };
    assert_eq!(open(None).await["error"], "not_authed");
    assert_eq!(open(Some("xapp-1-unknown")).await["error"], "invalid_auth");
    let bot_token = sim.bot_token().to_string();
    let wrong = api(&sim, "apps.connections.open", Some(&bot_token), Body::Empty).await;
    assert_eq!(wrong.status, 200, "Slack answers errors with HTTP 200");
    assert_eq!(
        wrong.json(),
        json!({"ok": false, "error": "not_allowed_token_type"})
    );
    let url = open_url(&sim).await;
    let prefix = format!("ws://{}/link/?ticket=", sim.addr());
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.ends_with("&app_id=A0SIMAPP01"), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_methods_refuse_app_tokens_and_unknown_methods() {
    let sim = start_quiet().await;
    let app_token = sim.app_token().to_string();
    let r = api(&sim, "chat.postMessage", Some(&app_token), Body::Empty).await;
    assert_eq!(r.json()["error"], "not_allowed_token_type");
    let who = bot(&sim, "auth.test", &[]).await;
    assert_eq!(who["ok"], true);
    assert_eq!(who["team_id"], "T0SIMTEAM1");
    assert_eq!(who["user_id"], "U0SIMBOT01");
    assert_eq!(who["bot_id"], "B0SIMBOT01");
    let r = api(&sim, "users.nope", Some(sim.bot_token()), Body::Empty).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "unknown_method");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_get_token_revoked() {
    let sim = start_quiet().await;
    sim.revoke_bot_token();
    assert_eq!(bot(&sim, "auth.test", &[]).await["error"], "token_revoked");
    sim.revoke_app_token();
    let r = api(
        &sim,
        "apps.connections.open",
        Some(sim.app_token()),
        Body::Empty,
    )
    .await;
    assert_eq!(r.json()["error"], "token_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticket_is_one_time() {
    let sim = start_quiet().await;
    let url = open_url(&sim).await;
    let (_ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("first use connects");
    let again = tokio_tungstenite::connect_async(url.as_str()).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(resp)) = again else {
        panic!("a used ticket must be refused, got {again:?}");
    };
    assert_eq!(resp.status().as_u16(), 401);
    let made_up = format!("ws://{}/link/?ticket=made-up", sim.addr());
    assert!(tokio_tungstenite::connect_async(made_up).await.is_err());
    let refused = sim.log(
        0,
        &LogFilter {
            kind: Some("control".into()),
            link: None,
        },
    );
    let n = refused
        .iter()
        .filter(|r| matches!(&r.event, Event::Control { action, .. } if action == "ticket_refused"))
        .count();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_metadata_only_with_include_all_metadata() {
    let sim = start_quiet().await;
    let opened = bot(&sim, "conversations.open", &[("users", "U0INSTALL1")]).await;
    let channel = opened["channel"]["id"].as_str().expect("DM id").to_string();
    assert!(channel.starts_with('D'), "{opened}");
    let again = bot(&sim, "conversations.open", &[("users", "U0INSTALL1")]).await;
    assert_eq!(again["channel"]["id"], channel.as_str());
    assert_eq!(again["already_open"], true);

    let metadata = json!({"event_type": "phantom_intro",
                          "event_payload": {"installer": "U0INSTALL1", "team": "T0SIMTEAM1"}});
    let body = json!({"channel": channel, "text": "Hi!", "metadata": metadata});
    let posted = api(
        &sim,
        "chat.postMessage",
        Some(sim.bot_token()),
        Body::Json(body),
    )
    .await;
    let posted = posted.json();
    assert_eq!(posted["ok"], true, "{posted}");
    let ts = posted["ts"].as_str().expect("ts").to_string();
    assert_eq!(posted["channel"], channel.as_str());
    assert_eq!(posted["message"]["ts"], ts.as_str());
    // Form encoding carries metadata as a JSON string.
    let form_meta = json!({"event_type": "other", "event_payload": {}}).to_string();
    let second = bot(
        &sim,
        "chat.postMessage",
        &[
            ("channel", &channel),
            ("text", "second"),
            ("metadata", &form_meta),
        ],
    )
    .await;
    assert_eq!(second["ok"], true, "{second}");

    let plain = bot(&sim, "conversations.history", &[("channel", &channel)]).await;
    let messages = plain["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["ts"], ts.as_str(), "newest first");
    assert!(
        messages.iter().all(|m| m.get("metadata").is_none()),
        "{plain}"
    );

    for flag in ["true", "1"] {
        let full = bot(
            &sim,
            "conversations.history",
            &[
                ("channel", &channel),
                ("include_all_metadata", flag),
                ("limit", "50"),
            ],
        )
        .await;
        assert_eq!(full["messages"][1]["metadata"], metadata, "{full}");
        assert_eq!(full["has_more"], false);
    }
    let stored = sim.messages(&channel);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].metadata.as_ref(), Some(&metadata));
    let missing = bot(&sim, "conversations.history", &[("channel", "C404")]).await;
    assert_eq!(missing["error"], "channel_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_next_k_calls_then_recover() {
    let sim = start_quiet().await;
    sim.fail_next("auth.test", 2, ApiFault::error("invalid_auth"))
        .unwrap();
    assert_eq!(bot(&sim, "auth.test", &[]).await["error"], "invalid_auth");
    assert_eq!(bot(&sim, "auth.test", &[]).await["error"], "invalid_auth");
    assert_eq!(bot(&sim, "auth.test", &[]).await["ok"], true);

    sim.fail_next("apps.connections.open", 1, ApiFault::rate_limited(7))
        .unwrap();
    let r = api(
        &sim,
        "apps.connections.open",
        Some(sim.app_token()),
        Body::Empty,
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.retry_after.as_deref(), Some("7"));
    assert_eq!(r.json(), json!({"ok": false, "error": "ratelimited"}));

    sim.fail_next("conversations.open", 1, ApiFault::status(503))
        .unwrap();
    let r = api(
        &sim,
        "conversations.open",
        Some(sim.bot_token()),
        Body::Form(vec![("users", "U0X1".into())]),
    )
    .await;
    assert_eq!(r.status, 503);
    assert!(r.content_type.starts_with("text/html"), "{r:?}");
    assert_eq!(r.json(), serde_json::Value::Null, "not JSON");

    let calls = sim.log(
        0,
        &LogFilter {
            kind: Some("call".into()),
            link: None,
        },
    );
    let faults = calls
        .iter()
        .filter(|r| matches!(&r.event, Event::Call { fault: Some(_), .. }))
        .count();
    assert_eq!(faults, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_post_faults_store_the_message_when_asked() {
    let sim = start_quiet().await;
    let ch = sim.config().channel_id.clone();
    sim.fail_next("chat.postMessage", 1, ApiFault::ok_without_ts())
        .unwrap();
    let r = bot(
        &sim,
        "chat.postMessage",
        &[("channel", &ch), ("text", "one")],
    )
    .await;
    assert_eq!(r["ok"], true);
    assert!(r.get("ts").is_none(), "{r}");
    assert_eq!(sim.messages(&ch).len(), 1, "accepted, so stored");

    sim.fail_next("chat.postMessage", 1, ApiFault::status(500).after_effect())
        .unwrap();
    let r = api(
        &sim,
        "chat.postMessage",
        Some(sim.bot_token()),
        Body::Form(vec![("channel", ch.clone()), ("text", "two".into())]),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(sim.messages(&ch).len(), 2, "500 after the effect: stored");

    sim.fail_next("chat.postMessage", 1, ApiFault::status(500))
        .unwrap();
    sim.fail_next("chat.postMessage", 1, ApiFault::unparseable())
        .unwrap();
    for _ in 0..2 {
        let r = api(
            &sim,
            "chat.postMessage",
            Some(sim.bot_token()),
            Body::Form(vec![("channel", ch.clone()), ("text", "three".into())]),
        )
        .await;
        assert!(r.json().is_null(), "{r:?}");
    }
    assert_eq!(sim.messages(&ch).len(), 2, "no effect before these faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_post_is_stored_before_its_reply() {
    let sim = start_quiet().await;
    let ch = sim.config().channel_id.clone();
    sim.hold_next("chat.postMessage", 1, Hold::UntilReleased)
        .unwrap();
    let url = format!("{}chat.postMessage", sim.api_url());
    let token = sim.bot_token().to_string();
    let body = Body::Form(vec![("channel", ch.clone()), ("text", "held".into())]);
    let pending = tokio::spawn(post(url, Some(token), body));
    let stored = sim
        .wait_for(WAIT, || sim.messages(&ch).first().map(|m| m.ts.clone()))
        .await
        .expect("stored while the reply is held");
    assert!(!pending.is_finished());
    sim.release_held();
    let reply = pending.await.unwrap().json();
    assert_eq!(reply["ts"], stored.as_str());
    let held = sim.log(
        0,
        &LogFilter {
            kind: Some("call".into()),
            link: None,
        },
    );
    assert!(held.iter().any(|r| matches!(
        r.event,
        Event::Call {
            held_ms: Some(_),
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_times_out_on_a_held_post_leaves_it_stored() {
    let sim = start_quiet().await;
    let ch = sim.config().channel_id.clone();
    sim.hold_next("chat.postMessage", 1, Hold::For(Duration::from_secs(30)))
        .unwrap();
    let url = format!("{}chat.postMessage", sim.api_url());
    let token = sim.bot_token().to_string();
    let form = Body::Form(vec![
        ("channel", ch.clone()),
        ("text", "crash window".into()),
    ]);
    let result = tokio::task::spawn_blocking(move || {
        post_blocking(&url, Some(&token), form, Duration::from_millis(300))
    })
    .await
    .unwrap();
    assert!(result.is_err(), "the client times out");
    assert_eq!(sim.messages(&ch).len(), 1, "Slack kept the post");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_loopback_only() {
    let config = SimConfig {
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        ..quiet()
    };
    let err = phantom_fsm::sim::SimHandle::start(config)
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::NotLoopback(_)), "{err}");
}

#[test]
fn config_debug_redacts_tokens() {
    let text = format!("{:?}", SimConfig::default());
    assert!(!text.contains("xoxb-"), "{text}");
    assert!(!text.contains("xapp-"), "{text}");
}
