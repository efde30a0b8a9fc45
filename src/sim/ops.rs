//! The scripted actions, shared by [`SimHandle`](super::SimHandle) and the `/_sim/` control
//! API. Each one is logged as a `control` record.

use super::auth::TokenKind;
use super::faults::{ApiFault, Hold, MAX_HOLD, Malformed};
use super::log::Event;
use super::socket::MAX_RATE;
use super::state::{LinkCmd, Shared, State, Target, unix_ms};
use super::traffic::TrafficKind;
use super::{AckRecord, MAX_PUSH, RefreshStyle, SimError};
use std::sync::Arc;
use std::time::Duration;

impl Shared {
    pub(crate) fn set_rate(&self, rate: f64) -> Result<(), SimError> {
        check_rate(rate)?;
        self.rate.send_replace(rate);
        self.control("rate", format!("{rate} envelopes/s per link"));
        Ok(())
    }

    pub(crate) fn push_now(&self, count: u32, kind: TrafficKind, target: Target) -> Vec<String> {
        self.with(|s| {
            control(s, "push", format!("{count} {kind:?} now to {target:?}"));
            (0..count).map(|_| push_one(s, kind, target)).collect()
        })
    }

    pub(crate) fn push_at_rate(
        self: &Arc<Self>,
        count: u32,
        rate: f64,
        kind: TrafficKind,
        target: Target,
    ) -> Result<(), SimError> {
        if count > MAX_PUSH {
            return Err(SimError::InvalidArgument(format!("count over {MAX_PUSH}")));
        }
        check_rate(rate)?;
        if rate == 0.0 {
            self.push_now(count, kind, target);
            return Ok(());
        }
        self.control(
            "push",
            format!("{count} {kind:?} at {rate}/s to {target:?}"),
        );
        let shared = Arc::clone(self);
        let mut stop = self.shutdown.subscribe();
        tokio::spawn(async move {
            let period = Duration::from_secs_f64(1.0 / rate);
            let mut next = tokio::time::Instant::now();
            for _ in 0..count {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep_until(next) => {}
                }
                shared.with(|s| push_one(s, kind, target));
                next += period;
            }
        });
        Ok(())
    }

    pub(crate) fn disconnect(
        &self,
        target: Target,
        reason: &str,
        cut_after: Option<Duration>,
    ) -> usize {
        let reason = reason.to_string();
        self.command(
            target,
            "disconnect",
            format!("{reason}, cut after {cut_after:?}"),
            || LinkCmd::Disconnect {
                reason: reason.clone(),
                cut_after,
            },
        )
    }

    pub(crate) fn drop_link(&self, target: Target) -> usize {
        self.command(target, "drop", String::new(), || LinkCmd::Drop)
    }

    pub(crate) fn reset_link(&self, target: Target) -> usize {
        self.command(target, "reset", "TCP RST".into(), || LinkCmd::Reset)
    }

    pub(crate) fn refresh(
        &self,
        target: Target,
        style: RefreshStyle,
        cut_after: Option<Duration>,
    ) -> usize {
        let cut_after = Some(cut_after.unwrap_or(self.config.disconnect_cut_after));
        let reason = match style {
            RefreshStyle::Warning => "warning",
            RefreshStyle::RefreshRequested => "refresh_requested",
            RefreshStyle::Reset => {
                return self.command(
                    target,
                    "refresh",
                    "reset (TCP RST, no close frame)".into(),
                    || LinkCmd::Reset,
                );
            }
        };
        self.disconnect(target, reason, cut_after)
    }

    pub(crate) fn post_human_messages(
        &self,
        channel: &str,
        count: u32,
        user: Option<&str>,
    ) -> Result<Vec<String>, SimError> {
        if count > MAX_PUSH {
            return Err(SimError::InvalidArgument(format!("count over {MAX_PUSH}")));
        }
        let fallback = self.config.human_user_id.clone();
        self.with(|s| {
            let user = user
                .map(str::to_string)
                .or_else(|| s.store.dm_member(channel))
                .unwrap_or(fallback);
            let mut ts = Vec::new();
            for n in 0..count {
                let text = format!("human message {}", n + 1);
                let m = s
                    .store
                    .post_as_person(unix_ms(), channel, &user, &text)
                    .map_err(|code| SimError::InvalidArgument(code.to_string()))?;
                ts.push(m.ts);
            }
            control(
                s,
                "human_messages",
                format!("{count} from {user} in {channel}"),
            );
            Ok(ts)
        })
    }

    pub(crate) fn silence(&self, target: Target, limit: Option<Duration>) -> usize {
        let limit = limit.unwrap_or(self.config.silence_limit).min(MAX_HOLD);
        self.command(target, "silence", format!("for {limit:?}"), || {
            LinkCmd::Silence(limit)
        })
    }

    pub(crate) fn ignore_close(&self, target: Target) -> usize {
        self.command(target, "ignore_close", String::new(), || {
            LinkCmd::IgnoreClose
        })
    }

    pub(crate) fn send_malformed(&self, target: Target, kind: Malformed) -> usize {
        self.command(target, "malformed", kind.as_str().into(), || {
            LinkCmd::Malformed(kind)
        })
    }

    pub(crate) fn fail_next(
        &self,
        method: &str,
        count: u32,
        fault: ApiFault,
    ) -> Result<(), SimError> {
        let detail = format!("next {count} {method}: {}", fault.label());
        self.with(|s| {
            s.faults
                .fail_next(method, count, fault)
                .map_err(|_| SimError::InvalidArgument(format!("too many rules for {method}")))?;
            control(s, "fail", detail);
            Ok(())
        })
    }

    pub(crate) fn hold_next(&self, method: &str, count: u32, hold: Hold) -> Result<(), SimError> {
        if let Hold::For(d) = hold
            && d > MAX_HOLD
        {
            return Err(SimError::InvalidArgument(format!("hold over {MAX_HOLD:?}")));
        }
        self.with(|s| {
            s.faults
                .hold_next(method, count, hold)
                .map_err(|_| SimError::InvalidArgument(format!("too many rules for {method}")))?;
            control(
                s,
                "hold",
                format!("next {count} {method} replies: {hold:?}"),
            );
            Ok(())
        })
    }

    pub(crate) fn release_held(&self) {
        self.release.send_modify(|n| *n += 1);
        self.control("release", "held replies released".into());
    }

    pub(crate) fn clear_faults(&self) {
        self.with(|s| {
            s.faults.clear();
            control(s, "clear_faults", String::new());
        });
    }

    pub(crate) fn revoke(&self, kind: TokenKind) {
        self.with(|s| {
            s.tokens.revoke(kind);
            control(s, "revoke", format!("{kind:?} token"));
        });
    }

    pub(crate) fn acks(&self) -> Vec<AckRecord> {
        let filter = super::LogFilter {
            kind: Some("ack".into()),
            link: None,
        };
        self.with(|s| s.log.query(0, usize::MAX, &filter))
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Ack {
                    link,
                    envelope_id,
                    latency_us,
                    outcome,
                    payload,
                    payload_error,
                    ..
                } => Some(AckRecord {
                    link,
                    envelope_id,
                    latency_us,
                    outcome,
                    payload,
                    payload_error,
                }),
                _ => None,
            })
            .collect()
    }

    fn command(
        &self,
        target: Target,
        action: &str,
        detail: String,
        make: impl Fn() -> LinkCmd,
    ) -> usize {
        self.with(|s| {
            let n = s.command(target, make);
            control(s, action, format!("{detail} -> {n} link(s) of {target:?}"));
            n
        })
    }

    fn control(&self, action: &str, detail: String) {
        self.with(|s| control(s, action, detail));
    }
}

fn control(s: &mut State, action: &str, detail: String) {
    s.log(Event::Control {
        action: action.into(),
        detail,
    });
}

fn push_one(s: &mut State, kind: TrafficKind, target: Target) -> String {
    let envelope = s.make_envelope(kind);
    let id = envelope.envelope_id.clone();
    s.dispatch(envelope, target, None);
    id
}

fn check_rate(rate: f64) -> Result<(), SimError> {
    if rate.is_finite() && (0.0..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(SimError::InvalidArgument(format!(
            "rate must be within 0..={MAX_RATE}"
        )))
    }
}
