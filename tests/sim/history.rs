//! `conversations.history` as Slack serves it to a non-Marketplace app: 15 a page, opaque
//! cursors, people's messages among the bot's, metadata only on request, an optional
//! per-channel rate limit; and Web API replies that never come.

use crate::common::*;
use phantom_fsm::sim::{ApiFault, Event, Hold, LogFilter, SimConfig};
use serde_json::{Value, json};
use std::time::Duration;

async fn dm(sim: &phantom_fsm::sim::SimHandle) -> String {
    let open = bot(sim, "conversations.open", &[("users", "U0INSTALL1")]).await;
    open["channel"]["id"].as_str().unwrap().to_string()
}

fn texts(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_15_at_a_time_with_people_interleaved() {
    let sim = start_quiet().await;
    let channel = dm(&sim).await;
    let meta = r#"{"event_type":"phantom_intro","event_payload":{"generation":1}}"#;
    for n in 0..11 {
        let posted = bot(
            &sim,
            "chat.postMessage",
            &[
                ("channel", &channel),
                ("text", &format!("bot {n}")),
                ("metadata", meta),
            ],
        )
        .await;
        assert_eq!(posted["ok"], true, "{posted}");
        let r = control(
            &sim,
            "human_messages",
            json!({"channel": channel, "count": 1}),
        )
        .await;
        assert_eq!(r.json()["ts"].as_array().unwrap().len(), 1, "{r:?}");
    }
    let args = [("channel", channel.as_str()), ("limit", "100")];
    let first = bot(&sim, "conversations.history", &args).await;
    assert_eq!(first["messages"].as_array().unwrap().len(), 15, "capped");
    assert_eq!(first["has_more"], true);
    assert_eq!(
        texts(&first)[..3],
        ["human message 1", "bot 10", "human message 1"]
    );
    let person = &first["messages"][0];
    assert_eq!(person["user"], "U0INSTALL1", "the DM's other member");
    assert!(person.get("bot_id").is_none());
    assert!(
        first["messages"][1].get("metadata").is_none(),
        "not asked for"
    );
    let cursor = first["response_metadata"]["next_cursor"].as_str().unwrap();
    let second = bot(
        &sim,
        "conversations.history",
        &[
            ("channel", &channel),
            ("limit", "100"),
            ("cursor", cursor),
            ("include_all_metadata", "true"),
        ],
    )
    .await;
    assert_eq!(second["messages"].as_array().unwrap().len(), 7);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["response_metadata"]["next_cursor"], "");
    let with_meta = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m.get("bot_id").is_some());
    assert_eq!(
        with_meta.unwrap()["metadata"]["event_type"],
        "phantom_intro"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_cap_is_configurable() {
    let sim = start(SimConfig {
        history_page_limit: 2,
        ..quiet()
    })
    .await;
    let channel = dm(&sim).await;
    sim.post_human_messages(&channel, 3, None).unwrap();
    let page = bot(&sim, "conversations.history", &[("channel", &channel)]).await;
    assert_eq!(texts(&page), ["human message 3", "human message 2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_rate_limited_per_channel_with_retry_after() {
    let sim = start(SimConfig {
        history_min_interval: Some(Duration::from_millis(1500)),
        ..quiet()
    })
    .await;
    let channel = dm(&sim).await;
    let form = |c: &str| Body::Form(vec![("channel", c.to_string())]);
    let call = |c: String| {
        let token = sim.bot_token().to_string();
        let url = format!("{}conversations.history", sim.api_url());
        async move { post(url, Some(token), form(&c)).await }
    };
    assert_eq!(call(channel.clone()).await.status, 200);
    let limited = call(channel.clone()).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("2"));
    assert_eq!(limited.json()["error"], "ratelimited");
    let other = call(sim.config().channel_id.clone()).await;
    assert_eq!(other.status, 200, "per channel");
    // Poll (bounded) until the window has passed.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if call(channel.clone()).await.status == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still limited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_stores_the_post_but_the_client_hears_nothing() {
    let sim = start_quiet().await;
    let channel = dm(&sim).await;
    sim.fail_next("chat.postMessage", 1, ApiFault::lost())
        .unwrap();
    let url = format!("{}chat.postMessage", sim.api_url());
    let token = sim.bot_token().to_string();
    let ch = channel.clone();
    let result = tokio::task::spawn_blocking(move || {
        let form = Body::Form(vec![("channel", ch), ("text", "intro".into())]);
        post_blocking(&url, Some(&token), form, WAIT)
    })
    .await
    .unwrap();
    assert!(result.is_err(), "no reply: {result:?}");
    assert_eq!(sim.messages(&channel).len(), 1, "but it was stored");
    let call = sim
        .log(
            0,
            &LogFilter {
                kind: Some("call".into()),
                link: None,
            },
        )
        .pop()
        .unwrap();
    assert!(
        matches!(call.event, Event::Call { http_status: 0, ref method, .. } if method == "chat.postMessage"),
        "{call:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_method_can_be_held() {
    let sim = start_quiet().await;
    sim.hold_next("auth.test", 1, Hold::UntilReleased).unwrap();
    let url = format!("{}auth.test", sim.api_url());
    let pending = tokio::spawn(post(url, Some(sim.bot_token().to_string()), Body::Empty));
    sim.wait_until(WAIT, || {
        sim.log(0, &LogFilter::default()).iter().any(
            |r| matches!(&r.event, Event::Control { action, detail } if action == "hold" && detail.starts_with("auth.test reply held")),
        )
    })
    .await
    .unwrap();
    assert!(!pending.is_finished());
    sim.release_held();
    assert_eq!(pending.await.unwrap().json()["ok"], true);
}
