//! The five methods against the in-process simulator, through the async wrapper: the intro
//! flow end to end, pagination, revoked tokens and the simulator's reply faults.

use phantom_fsm::onboarding::{
    AuthOutcome, HistoryOutcome, IntroMetadata, PostOutcome, classify_auth, classify_history,
    classify_post,
};
use phantom_fsm::sim::{ApiFault, Hold, SimConfig, SimHandle};
use phantom_fsm::slack::{
    AsyncSlackClient, AuthTest, DmOpened, HistoryPage, HistoryQuery, HttpOptions, Observation,
    PostMessage, Posted, Secret, SlackClient, SlackError,
};
use phantom_fsm::socket::OpenOutcome;
use std::time::Duration;

async fn sim() -> (SimHandle, AsyncSlackClient, Secret, Secret) {
    let config = SimConfig {
        rate: 0.0,
        ..SimConfig::default()
    };
    let sim = SimHandle::start(config).await.expect("simulator starts");
    let client = SlackClient::new(&sim.api_url(), &HttpOptions::default()).unwrap();
    let app = Secret::new(sim.app_token());
    let bot = Secret::new(sim.bot_token());
    (sim, AsyncSlackClient::new(client, 2), app, bot)
}

fn intro(channel: &str, marker: &IntroMetadata, text: &str) -> PostMessage {
    PostMessage {
        channel: channel.into(),
        text: text.into(),
        metadata: Some(marker.to_json()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intro_flow_end_to_end() {
    let (sim, client, app, bot) = sim().await;
    let url = client.open_connection(app).await.unwrap();
    assert!(url.expose().starts_with("ws://"));

    let observed = client.auth_test(bot.clone()).await;
    let auth: AuthTest = observed.reply().unwrap();
    assert_eq!(auth.team_id, sim.config().team_id);
    assert_eq!(
        classify_auth(&observed.call_result()),
        AuthOutcome::Ok {
            team_id: auth.team_id.clone()
        }
    );

    let user = sim.config().human_user_id.clone();
    let dm: DmOpened = client
        .conversations_open(bot.clone(), user.clone())
        .await
        .reply()
        .unwrap();

    let marker = IntroMetadata::new(&user, &auth.team_id);
    let observed = client
        .post_message(bot.clone(), intro(&dm.channel, &marker, "Hello!"))
        .await;
    let posted: Posted = observed.reply().unwrap();
    assert_eq!(
        classify_post(&observed.call_result()),
        PostOutcome::Sent {
            ts: posted.ts.clone()
        }
    );
    let stored = sim.messages(&dm.channel);
    assert_eq!(stored.len(), 1, "{stored:?}");

    let query = HistoryQuery {
        channel: dm.channel.clone(),
        include_all_metadata: true,
        limit: Some(15),
        ..HistoryQuery::default()
    };
    let observed = client.conversations_history(bot, query).await;
    assert_eq!(
        classify_history(&observed.call_result(), &marker),
        HistoryOutcome::Found { ts: posted.ts }
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_follow_the_cursor() {
    let (sim, client, _app, bot) = sim().await;
    let user = sim.config().human_user_id.clone();
    let dm: DmOpened = client
        .conversations_open(bot.clone(), user)
        .await
        .reply()
        .unwrap();
    let mut posted = Vec::new();
    for i in 0..3 {
        let message = PostMessage {
            channel: dm.channel.clone(),
            text: format!("m{i}"),
            metadata: None,
        };
        let p: Posted = client
            .post_message(bot.clone(), message)
            .await
            .reply()
            .unwrap();
        posted.push(p.ts);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let query = HistoryQuery {
            channel: dm.channel.clone(),
            limit: Some(1),
            cursor: cursor.clone(),
            ..HistoryQuery::default()
        };
        let page: HistoryPage = client
            .conversations_history(bot.clone(), query)
            .await
            .reply()
            .unwrap();
        seen.extend(
            page.messages
                .iter()
                .map(|m| m["ts"].as_str().unwrap().to_string()),
        );
        if !page.has_more {
            break;
        }
        cursor = page.next_cursor;
        assert!(cursor.is_some(), "has_more with a cursor");
    }
    seen.sort();
    posted.sort();
    assert_eq!(seen, posted);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_wrong_tokens_are_unrecoverable() {
    let (sim, client, app, bot) = sim().await;
    // The bot token is not an app token.
    let error = client.open_connection(bot.clone()).await.unwrap_err();
    assert!(matches!(
        OpenOutcome::from(&error),
        OpenOutcome::Unrecoverable { .. }
    ));
    sim.revoke_app_token();
    let error = client.open_connection(app).await.unwrap_err();
    assert_eq!(error.code(), Some("token_revoked"));
    assert_eq!(
        OpenOutcome::from(&error),
        OpenOutcome::Unrecoverable {
            code: "token_revoked".into()
        }
    );
    sim.revoke_bot_token();
    let observed = client.auth_test(bot).await;
    assert!(matches!(
        classify_auth(&observed.call_result()),
        AuthOutcome::Unrecoverable { .. }
    ));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_faults_classify_as_slack_would() {
    let (sim, client, app, bot) = sim().await;
    sim.fail_next("apps.connections.open", 1, ApiFault::rate_limited(7))
        .unwrap();
    let error = client.open_connection(app.clone()).await.unwrap_err();
    assert_eq!(
        error,
        SlackError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        OpenOutcome::from(&error),
        OpenOutcome::RateLimited {
            retry_after_ms: Some(7000)
        }
    );
    sim.fail_next("apps.connections.open", 1, ApiFault::status(503))
        .unwrap();
    let error = client.open_connection(app).await.unwrap_err();
    assert_eq!(error, SlackError::Server { status: 503 });
    assert_eq!(OpenOutcome::from(&error), OpenOutcome::Transient);

    let user = sim.config().human_user_id.clone();
    let dm: DmOpened = client
        .conversations_open(bot.clone(), user)
        .await
        .reply()
        .unwrap();
    let message = PostMessage {
        channel: dm.channel.clone(),
        text: "hi".into(),
        metadata: None,
    };
    for fault in [
        ApiFault::ok_without_ts().after_effect(),
        ApiFault::unparseable().after_effect(),
        ApiFault::status(500).after_effect(),
    ] {
        sim.fail_next("chat.postMessage", 1, fault).unwrap();
        let observed = client.post_message(bot.clone(), message.clone()).await;
        assert!(matches!(observed, Observation::Response(_)));
        assert!(observed.reply::<Posted>().is_err(), "no typed post");
        assert!(
            matches!(
                classify_post(&observed.call_result()),
                PostOutcome::Ambiguous { .. }
            ),
            "{observed:?}"
        );
    }
    assert_eq!(sim.messages(&dm.channel).len(), 3, "each post landed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_whose_reply_is_held_past_the_timeout_is_ambiguous_and_found_later() {
    let (sim, client, _app, bot) = sim().await;
    let options = HttpOptions {
        timeout: Duration::from_millis(500),
        ..HttpOptions::default()
    };
    let impatient = SlackClient::new(&sim.api_url(), &options).unwrap();
    let impatient = AsyncSlackClient::new(impatient, 1);
    let user = sim.config().human_user_id.clone();
    let dm: DmOpened = client
        .conversations_open(bot.clone(), user.clone())
        .await
        .reply()
        .unwrap();
    let marker = IntroMetadata::new(&user, &sim.config().team_id);
    sim.hold_next("chat.postMessage", 1, Hold::UntilReleased)
        .unwrap();
    let observed = impatient
        .post_message(bot.clone(), intro(&dm.channel, &marker, "Hello!"))
        .await;
    assert!(
        matches!(observed, Observation::NoResponse(_)),
        "{observed:?}"
    );
    assert!(matches!(
        classify_post(&observed.call_result()),
        PostOutcome::Ambiguous { .. }
    ));
    sim.release_held();
    // The post landed before the reply was held: reconciliation finds it.
    let query = HistoryQuery {
        channel: dm.channel.clone(),
        include_all_metadata: true,
        ..HistoryQuery::default()
    };
    let observed = client.conversations_history(bot, query).await;
    let stored = sim.messages(&dm.channel);
    assert_eq!(
        classify_history(&observed.call_result(), &marker),
        HistoryOutcome::Found {
            ts: stored[0].ts.clone()
        }
    );
    sim.shutdown().await;
}
