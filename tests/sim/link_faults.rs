//! Link faults: disconnect with a cut, abrupt drop, total silence, an unanswered close,
//! malformed frames, Slack's periodic refresh.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use phantom_fsm::engine::FrameRejectReason;
use phantom_fsm::sim::{CloseCause, Event, LogFilter, Malformed, SimConfig, Target, TrafficKind};
use phantom_fsm::socket::{DEFAULT_MAX_FRAME_BYTES, decode_binary, decode_text};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn close_cause(sim: &phantom_fsm::sim::SimHandle) -> CloseCause {
    let filter = LogFilter {
        kind: Some("link_closed".into()),
        link: None,
    };
    let record = sim
        .wait_for(WAIT, || sim.log(0, &filter).pop())
        .await
        .unwrap();
    match record.event {
        Event::LinkClosed { cause, .. } => cause,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_is_followed_by_the_cut() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    let n = sim.disconnect(Target::All, "warning", Some(Duration::from_secs(2)));
    assert_eq!(n, 1);
    let frame = next_text(&mut ws).await;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "warning");
    assert_eq!(frame["debug_info"]["host"], "applink-1");
    // Acks still count while the link waits for its cut.
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    assert_eq!(next_text(&mut ws).await["envelope_id"], id.as_str());
    ack(&mut ws, &id).await;
    let rest = read_until_end(&mut ws).await;
    assert!(
        rest.iter().any(|m| matches!(m, Message::Close(_))),
        "{rest:?}"
    );
    assert_eq!(close_cause(&sim).await, CloseCause::Cut);
    assert_eq!(sim.acks().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_reason_goes_through() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    sim.disconnect(Target::Newest, "socket_mode_upgrade_in_progress", None);
    let frame = next_text(&mut ws).await;
    assert_eq!(frame["reason"], "socket_mode_upgrade_in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_link_ends_without_a_close_frame() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(sim.drop_link(Target::All), 1);
    let rest = read_until_end(&mut ws).await;
    assert!(
        !rest.iter().any(|m| matches!(m, Message::Close(_))),
        "{rest:?}"
    );
    assert_eq!(close_cause(&sim).await, CloseCause::Dropped);
}

/// How the link ended for the client: the error of its first failed read (`None`: a clean
/// end of stream).
async fn end_of(ws: &mut Ws) -> Option<tokio_tungstenite::tungstenite::Error> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the link ends")
        {
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Some(e),
            None => return None,
        }
    }
}

fn is_tcp_reset(e: &Option<tokio_tungstenite::tungstenite::Error>) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    matches!(e, Some(Error::Io(io)) if io.kind() == std::io::ErrorKind::ConnectionReset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_ends_with_a_tcp_reset_where_a_drop_ends_with_a_fin() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(sim.reset_link(Target::All), 1);
    let end = end_of(&mut ws).await;
    assert!(is_tcp_reset(&end), "{end:?}");
    assert_eq!(close_cause(&sim).await, CloseCause::Reset);
    // It stays registered, as a link that ended without a close handshake does.
    assert!(sim.links().iter().all(|l| l.ghost), "{:?}", sim.links());

    // The same through the control API; a drop, by contrast, is an orderly end of stream.
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    let reply = control(&sim, "reset", serde_json::json!({"link": 1})).await;
    assert_eq!(reply.json()["links"], 1);
    let end = end_of(&mut ws).await;
    assert!(is_tcp_reset(&end), "{end:?}");
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(sim.drop_link(Target::Newest), 1);
    let end = end_of(&mut ws).await;
    assert!(!is_tcp_reset(&end), "a drop is not a reset: {end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silenced_link_sends_nothing_and_answers_no_ping() {
    let sim = start(SimConfig {
        ping_interval: Duration::from_millis(50),
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(
        sim.silence(Target::All, Some(Duration::from_millis(800))),
        1
    );
    sim.wait_until(WAIT, || sim.links().iter().any(|l| l.silenced))
        .await
        .unwrap();
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    let rest = read_until_end(&mut ws).await;
    let answered = rest
        .iter()
        .any(|m| matches!(m, Message::Pong(p) if &p[..] == b"are you there"));
    assert!(!answered, "{rest:?}");
    assert!(
        !rest.iter().any(|m| matches!(m, Message::Text(_))),
        "no envelope on a silenced link: {rest:?}"
    );
    assert_eq!(close_cause(&sim).await, CloseCause::SilenceEnded);
    let lost = sim.log(0, &LogFilter::default()).into_iter().any(|r| {
        matches!(&r.event, Event::FrameSent { envelope_id: Some(e), lost: true, .. } if *e == id)
    });
    assert!(
        lost,
        "the envelope was lost on the silenced link: {:#?}",
        sim.log(0, &LogFilter::default())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_close_is_never_answered() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    assert_eq!(sim.ignore_close(Target::All), 1);
    let armed = LogFilter {
        kind: Some("link_fault".into()),
        link: None,
    };
    sim.wait_until(WAIT, || !sim.log(0, &armed).is_empty())
        .await
        .unwrap();
    ws.close(None).await.unwrap();
    let ignored = LogFilter {
        kind: Some("client_frame".into()),
        link: None,
    };
    sim.wait_until(WAIT, || {
        sim.log(0, &ignored).iter().any(
            |r| matches!(&r.event, Event::ClientFrame { what, .. } if what == "close (ignored)"),
        )
    })
    .await
    .unwrap();
    sim.drop_link(Target::All);
    let rest = read_until_end(&mut ws).await;
    assert!(
        !rest.iter().any(|m| matches!(m, Message::Close(_))),
        "{rest:?}"
    );
    assert_eq!(close_cause(&sim).await, CloseCause::CloseIgnored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_what_they_say() {
    let sim = start_quiet().await;
    let (mut ws, _) = connect(&sim).await;
    let cases = [
        (Malformed::InvalidJson, FrameRejectReason::InvalidJson),
        (Malformed::UnknownType, FrameRejectReason::UnknownType),
        (Malformed::Oversize, FrameRejectReason::Oversize),
        (
            Malformed::MissingEnvelopeId,
            FrameRejectReason::MissingEnvelopeId,
        ),
    ];
    for (kind, reason) in cases {
        assert_eq!(sim.send_malformed(Target::All, kind), 1);
        let Some(Message::Text(t)) = next_frame(&mut ws).await else {
            panic!("{kind:?}: expected a text frame");
        };
        assert_eq!(
            decode_text(t.as_str(), DEFAULT_MAX_FRAME_BYTES),
            Err(reason),
            "{kind:?}"
        );
    }
    sim.send_malformed(Target::All, Malformed::Binary);
    let Some(Message::Binary(b)) = next_frame(&mut ws).await else {
        panic!("expected a binary frame");
    };
    assert_eq!(decode_binary(&b), Err(FrameRejectReason::Binary));
    // The link is still usable afterwards.
    let id = sim.push_now(1, TrafficKind::EventsApi, Target::All)[0].clone();
    assert_eq!(next_text(&mut ws).await["envelope_id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_refreshed_like_slack_does() {
    let sim = start(SimConfig {
        refresh_after: Some(Duration::from_millis(100)),
        disconnect_cut_after: Duration::from_millis(100),
        ..quiet()
    })
    .await;
    let (mut ws, _) = connect(&sim).await;
    let frame = next_text(&mut ws).await;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "warning");
    let rest = read_until_end(&mut ws).await;
    assert!(
        rest.iter().any(|m| matches!(m, Message::Close(_))),
        "{rest:?}"
    );
    assert_eq!(close_cause(&sim).await, CloseCause::Cut);
}
