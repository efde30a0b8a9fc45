//! Ghost links: Slack keeps a link that ended without a close handshake registered for
//! minutes (in `num_connections`, toward the 10-link cap). The runtime's own closes must leave
//! none, whatever made it change links.

use crate::common::*;
use phantom_fsm::sim::{Event, LinkId, LogFilter, SimConfig, SimHandle, Target};
use std::time::Duration;

/// `num_connections` of every `hello` the simulator sent, by link.
fn hellos(sim: &SimHandle) -> Vec<(LinkId, u32)> {
    sim.log(0, &LogFilter::default())
        .into_iter()
        .filter_map(|r| match r.event {
            Event::LinkOpened {
                link,
                num_connections,
            } => Some((link, num_connections)),
            _ => None,
        })
        .collect()
}

/// The newest registered link that is not a ghost.
fn newest_live(sim: &SimHandle) -> Option<LinkId> {
    sim.links()
        .into_iter()
        .filter(|l| !l.ghost)
        .map(|l| l.id)
        .max()
}

/// Wait until the simulator holds exactly one link, a live one newer than `than`.
async fn replaced(sim: &SimHandle, than: LinkId, step: &str) -> LinkId {
    eventually(
        &format!("{step}: only one link registered, live and newer than {than} (a ghost or an unclosed old link stays registered)"),
        WAIT,
        || {
            let links = sim.links();
            let only = match links.as_slice() {
                [l] if !l.ghost && l.id > than => Some(l.id),
                _ => None,
            };
            async move { only }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handovers_and_every_disconnect_reason_leave_no_ghost() {
    // Slack's ghost time (2 min): a ghost left by any step would still count in every later
    // `hello` of this test.
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    let mut link = newest_live(&sim).expect("a link");
    // (reason, Slack's cut after the disconnect frame): handovers with the cut long after we
    // left, a warning whose cut comes before the handover can finish, Slack's "one link too
    // many", and a reason nobody documented (handled as a refresh).
    let steps = [
        ("refresh_requested", Some(Duration::from_secs(10))),
        ("warning", Some(Duration::from_secs(10))),
        ("warning", Some(Duration::from_millis(50))),
        ("too_many_websockets", None),
        ("server_maintenance", Some(Duration::from_secs(10))),
    ];
    for (reason, cut_after) in steps {
        assert_eq!(sim.disconnect(Target::Link(link), reason, cut_after), 1);
        link = replaced(&sim, link, reason).await;
        proc.wait_state("connected", WAIT).await;
    }
    // `link_disabled` is unrecoverable: the runtime closes its link and stays in `error`.
    assert_eq!(sim.disconnect(Target::Link(link), "link_disabled", None), 1);
    proc.wait_state("error", WAIT).await;
    eventually("the last link closed", WAIT, || {
        let empty = sim.links().is_empty();
        async move { empty.then_some(()) }
    })
    .await;

    let hellos = hellos(&sim);
    assert!(hellos.len() >= 6, "{hellos:?}");
    for (link, n) in &hellos {
        assert!(*n <= 2, "{link} was told num_connections={n}: {hellos:?}");
    }
    for r in sim.log(0, &LogFilter::default()) {
        match r.event {
            Event::LinkClosed { link, cause, .. } => {
                assert!(
                    !cause.leaves_ghost(),
                    "{link} ended without a handshake: {cause:?}"
                )
            }
            Event::LinkFault { link, fault } => {
                assert!(!fault.starts_with("ghost"), "{link}: {fault}")
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abrupt_drop_leaves_one_ghost_until_its_ttl() {
    // Long enough for the reconnect (a backoff of at most 1 s) to meet the ghost, short
    // enough to watch it go.
    let ttl = Duration::from_secs(6);
    let sim = sim(SimConfig {
        rate: 0.0,
        ghost_ttl: ttl,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let proc = Proc::run(&sim, dir.path(), &[]).await;
    proc.wait_state("connected", WAIT).await;
    let first = newest_live(&sim).expect("a link");
    assert_eq!(sim.drop_link(Target::Link(first)), 1);
    let second = eventually("a new live link", WAIT, || {
        let l = newest_live(&sim).filter(|l| *l > first);
        async move { l }
    })
    .await;
    proc.wait_state("connected", WAIT).await;
    // Slack's side kept the dropped link: the new link's hello counts it.
    let told = hellos(&sim);
    assert_eq!(told.last(), Some(&(second, 2)), "{told:?}");
    // Gone after its time, and not before (the reconnect was well within it).
    eventually("the ghost expired", ttl + WAIT, || {
        let ghosts = sim.links().iter().filter(|l| l.ghost).count();
        async move { (ghosts == 0).then_some(()) }
    })
    .await;
    let expired_at = sim
        .log(0, &LogFilter::default())
        .into_iter()
        .find_map(|r| match r.event {
            Event::LinkFault { link, fault } if link == first && fault == "ghost_expired" => {
                Some(r.at_ms)
            }
            _ => None,
        })
        .expect("a ghost_expired record");
    let dropped_at = sim
        .log(0, &LogFilter::default())
        .into_iter()
        .find_map(|r| match r.event {
            Event::LinkClosed { link, .. } if link == first => Some(r.at_ms),
            _ => None,
        })
        .expect("the drop is logged");
    assert!(
        expired_at - dropped_at >= ttl.as_millis() as u64,
        "ghost gone after {} ms",
        expired_at - dropped_at
    );
    // A handover now: the new hello counts only the two live links, the ghost is gone.
    assert_eq!(
        sim.disconnect(
            Target::Link(second),
            "refresh_requested",
            Some(Duration::from_secs(10))
        ),
        1
    );
    let third = replaced(&sim, second, "refresh_requested").await;
    let told = hellos(&sim);
    assert_eq!(told.len(), 3, "{told:?}");
    assert!(told.iter().all(|(_, n)| *n <= 2), "{told:?}");
    assert_eq!(told.last().map(|t| t.0), Some(third));
}
