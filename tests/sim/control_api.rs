//! The `/_sim/` control API, as scripts use it.

use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_drives_traffic_and_faults() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;

    let pushed = control(&sim, "push", json!({"count": 2, "kind": "slash_commands"})).await;
    assert_eq!(pushed.status, 200, "{pushed:?}");
    let ids = pushed.json()["envelope_ids"].as_array().unwrap().clone();
    for id in &ids {
        let env = next_text(&mut ws).await;
        assert_eq!(&env["envelope_id"], id);
        assert_eq!(env["payload"]["command"], "/phantom");
        ack(&mut ws, id.as_str().unwrap()).await;
    }
    sim.wait_until(WAIT, || sim.acks().len() == 2)
        .await
        .unwrap();
    let log = get(format!("{}log?kind=ack&link=1", sim.control_url()))
        .await
        .json();
    assert_eq!(log["records"].as_array().unwrap().len(), 2, "{log}");
    assert_eq!(log["records"][0]["outcome"], "on_time");
    assert!(log["records"][0]["latency_us"].is_u64());

    let fail =
        json!({"method": "auth.test", "count": 1, "reply": "rate_limited", "retry_after": 2});
    assert_eq!(control(&sim, "fail", fail).await.status, 200);
    let limited = api(&sim, "auth.test", Some(sim.bot_token()), Body::Empty).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.retry_after.as_deref(), Some("2"));

    let cut = json!({"reason": "refresh_requested", "link": 1, "cut_after_ms": 100});
    assert_eq!(control(&sim, "disconnect", cut).await.json()["links"], 1);
    assert_eq!(next_text(&mut ws).await["reason"], "refresh_requested");

    let state = get(format!("{}state", sim.control_url())).await.json();
    assert_eq!(state["ok"], true);
    assert_eq!(state["api_url"], sim.api_url());

    let bad = control(&sim, "malformed", json!({"kind": "nonsense"})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["ok"], false);
    let bad_link = control(&sim, "drop", json!({"link": [1]})).await;
    assert_eq!(bad_link.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_holds_and_releases_posts() {
    let sim = start_quiet().await;
    let ch = sim.config().channel_id.clone();
    assert_eq!(control(&sim, "hold", json!({})).await.status, 200);
    let url = format!("{}chat.postMessage", sim.api_url());
    let form = Body::Form(vec![("channel", ch.clone()), ("text", "x".into())]);
    let pending = tokio::spawn(post(url, Some(sim.bot_token().to_string()), form));
    sim.wait_until(WAIT, || sim.messages(&ch).len() == 1)
        .await
        .unwrap();
    let messages = get(format!("{}messages?channel={ch}", sim.control_url()))
        .await
        .json();
    assert_eq!(messages["messages"][0]["text"], "x");
    assert_eq!(control(&sim, "release", json!({})).await.status, 200);
    assert_eq!(pending.await.unwrap().json()["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_refreshes_adds_people_and_loses_replies() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    let r = control(
        &sim,
        "refresh",
        json!({"style": "refresh_requested", "cut_after_ms": 50}),
    )
    .await;
    assert_eq!(r.json()["links"], 1, "{r:?}");
    assert_eq!(next_text(&mut ws).await["reason"], "refresh_requested");
    let bad = control(&sim, "refresh", json!({"style": "sideways"})).await;
    assert_eq!(bad.status, 400);

    let ch = sim.config().channel_id.clone();
    let people = control(&sim, "human_messages", json!({"channel": ch, "count": 2})).await;
    assert_eq!(
        people.json()["ts"].as_array().unwrap().len(),
        2,
        "{people:?}"
    );
    assert_eq!(sim.messages(&ch)[0].user, sim.config().human_user_id);
    let missing = control(&sim, "human_messages", json!({"channel": "C404"})).await;
    assert_eq!(missing.status, 400);

    let lost = json!({"method": "auth.test", "reply": "lost", "after_effect": true});
    assert_eq!(control(&sim, "fail", lost).await.status, 200);
    let url = format!("{}auth.test", sim.api_url());
    let token = sim.bot_token().to_string();
    let reply =
        tokio::task::spawn_blocking(move || post_blocking(&url, Some(&token), Body::Empty, WAIT))
            .await
            .unwrap();
    assert!(reply.is_err(), "{reply:?}");
}
