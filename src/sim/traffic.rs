//! Realistic envelopes: `events_api` event callbacks (`app_mention`, `message`),
//! `slash_commands` and `interactive` (`block_actions`, `block_suggestion`,
//! `view_submission`) payloads shaped like Slack's, with unique envelope ids and `event_id`s.
//!
//! Pure: ids come from a seeded RNG plus a counter (unique by construction), times are
//! arguments.

use crate::socket::wire::{Envelope, EnvelopeKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Which envelopes to generate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficKind {
    /// `events_api`, alternating `app_mention` and `message` events.
    #[default]
    EventsApi,
    /// `slash_commands`.
    SlashCommands,
    /// `interactive` (`block_actions`; `accepts_response_payload: false`).
    Interactive,
    /// `interactive` `block_suggestion` (an external select asks for options; the ack must
    /// carry `options` or `option_groups`).
    BlockSuggestion,
    /// `interactive` `view_submission` (a modal was submitted; the ack may carry a
    /// `response_action`).
    ViewSubmission,
    /// Rotate through `events_api`, `slash_commands` and `interactive` (`block_actions`).
    Mixed,
}

/// The workspace the simulated events come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Workspace {
    pub(crate) team_id: String,
    pub(crate) app_id: String,
    pub(crate) bot_user_id: String,
    pub(crate) channel_id: String,
    pub(crate) human_user_id: String,
}

/// Makes envelopes. One per simulator.
#[derive(Debug)]
pub(crate) struct EnvelopeFactory {
    rng: fastrand::Rng,
    counter: u64,
    workspace: Workspace,
}

impl EnvelopeFactory {
    pub(crate) fn new(seed: u64, workspace: Workspace) -> Self {
        EnvelopeFactory {
            rng: fastrand::Rng::with_seed(seed),
            counter: 0,
            workspace,
        }
    }

    /// A fresh envelope of `kind` (`Mixed` picks by the counter), stamped `unix_ms`.
    pub(crate) fn make(&mut self, kind: TrafficKind, unix_ms: u64) -> Envelope {
        self.counter += 1;
        let n = self.counter;
        let kind = match kind {
            TrafficKind::Mixed => [
                TrafficKind::EventsApi,
                TrafficKind::SlashCommands,
                TrafficKind::Interactive,
            ][(n % 3) as usize],
            k => k,
        };
        let (wire_kind, payload, accepts) = match kind {
            TrafficKind::SlashCommands => (
                EnvelopeKind::SlashCommands,
                self.slash_command(n, unix_ms),
                true,
            ),
            TrafficKind::Interactive => (
                EnvelopeKind::Interactive,
                self.block_actions(n, unix_ms),
                false,
            ),
            TrafficKind::BlockSuggestion => {
                (EnvelopeKind::Interactive, self.block_suggestion(n), true)
            }
            TrafficKind::ViewSubmission => (
                EnvelopeKind::Interactive,
                self.view_submission(n, unix_ms),
                true,
            ),
            _ => (
                EnvelopeKind::EventsApi,
                self.event_callback(n, unix_ms),
                false,
            ),
        };
        Envelope {
            envelope_id: self.uuid(),
            kind: wire_kind,
            payload: payload.into(),
            accepts_response_payload: accepts,
            retry_attempt: 0,
            retry_reason: None,
        }
    }

    /// The same delivery again: `retry_attempt + 1`, `retry_reason`, the same payload (so
    /// the same `event_id`), under the same envelope id when `keep_id`, else a new one.
    pub(crate) fn redelivery(
        &mut self,
        previous: &Envelope,
        reason: &str,
        keep_id: bool,
    ) -> Envelope {
        let envelope_id = if keep_id {
            previous.envelope_id.clone()
        } else {
            self.uuid()
        };
        Envelope {
            envelope_id,
            retry_attempt: previous.retry_attempt + 1,
            retry_reason: Some(reason.into()),
            ..previous.clone()
        }
    }

    /// A UUID-v4-shaped id, as Slack's envelope ids are.
    fn uuid(&mut self) -> String {
        let a = self.rng.u64(..);
        let b = self.rng.u64(..);
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-{}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            ["8", "9", "a", "b"][self.rng.usize(..4)],
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn alnum(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        (0..len)
            .map(|_| CHARS[self.rng.usize(..CHARS.len())] as char)
            .collect()
    }

    fn event_callback(&mut self, n: u64, unix_ms: u64) -> Value {
        let event_id = format!("Ev{:06}{}", n, self.alnum(5));
        let w = &self.workspace;
        let ts = slack_ts(unix_ms, n);
        let (event_type, text) = if n % 2 == 1 {
            ("app_mention", format!("<@{}> hello #{n}", w.bot_user_id))
        } else {
            ("message", format!("simulated message #{n}"))
        };
        let mut event = json!({
            "type": event_type,
            "user": w.human_user_id,
            "text": text,
            "ts": ts,
            "team": w.team_id,
            "channel": w.channel_id,
            "event_ts": ts,
        });
        if event_type == "message" {
            event["channel_type"] = json!("channel");
        }
        json!({
            "token": "sim-verification-token",
            "team_id": w.team_id,
            "api_app_id": w.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": unix_ms / 1000,
            "authorizations": [{
                "enterprise_id": null,
                "team_id": w.team_id,
                "user_id": w.bot_user_id,
                "is_bot": true,
                "is_enterprise_install": false,
            }],
            "is_ext_shared_channel": false,
            "event_context": format!("4-{event_type}-{}-{}", w.team_id, w.channel_id),
        })
    }

    fn slash_command(&mut self, n: u64, unix_ms: u64) -> Value {
        let trigger = self.trigger_id(unix_ms);
        let w = &self.workspace;
        json!({
            "token": "sim-verification-token",
            "team_id": w.team_id,
            "team_domain": "sim",
            "channel_id": w.channel_id,
            "channel_name": "general",
            "user_id": w.human_user_id,
            "user_name": "sim.user",
            "command": "/phantom",
            "text": format!("status {n}"),
            "api_app_id": w.app_id,
            "is_enterprise_install": "false",
            "response_url": format!("https://hooks.slack.com/commands/{}/{n}/sim", w.team_id),
            "trigger_id": trigger,
        })
    }

    fn block_actions(&mut self, n: u64, unix_ms: u64) -> Value {
        let trigger = self.trigger_id(unix_ms);
        let action_ts = slack_ts(unix_ms, n);
        let w = &self.workspace;
        json!({
            "type": "block_actions",
            "user": {"id": w.human_user_id, "username": "sim.user", "name": "sim.user",
                     "team_id": w.team_id},
            "api_app_id": w.app_id,
            "token": "sim-verification-token",
            "container": {"type": "message", "message_ts": action_ts,
                          "channel_id": w.channel_id, "is_ephemeral": false},
            "trigger_id": trigger,
            "team": {"id": w.team_id, "domain": "sim"},
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": {"id": w.channel_id, "name": "general"},
            "response_url": format!("https://hooks.slack.com/actions/{}/{n}/sim", w.team_id),
            "actions": [{
                "action_id": "approve",
                "block_id": "sim-block",
                "text": {"type": "plain_text", "text": "Approve", "emoji": true},
                "value": format!("item-{n}"),
                "type": "button",
                "action_ts": action_ts,
            }],
        })
    }

    fn block_suggestion(&mut self, n: u64) -> Value {
        let w = &self.workspace;
        json!({
            "type": "block_suggestion",
            "user": {"id": w.human_user_id, "username": "sim.user", "name": "sim.user",
                     "team_id": w.team_id},
            "container": {"type": "view", "view_id": format!("V{n:010}")},
            "api_app_id": w.app_id,
            "token": "sim-verification-token",
            "action_id": "pick_item",
            "block_id": "sim-select",
            "value": format!("item {n}"),
            "team": {"id": w.team_id, "domain": "sim"},
            "enterprise": null,
            "is_enterprise_install": false,
        })
    }

    fn view_submission(&mut self, n: u64, unix_ms: u64) -> Value {
        let trigger = self.trigger_id(unix_ms);
        let w = &self.workspace;
        json!({
            "type": "view_submission",
            "team": {"id": w.team_id, "domain": "sim"},
            "user": {"id": w.human_user_id, "username": "sim.user", "name": "sim.user",
                     "team_id": w.team_id},
            "api_app_id": w.app_id,
            "token": "sim-verification-token",
            "trigger_id": trigger,
            "view": {
                "id": format!("V{n:010}"),
                "team_id": w.team_id,
                "type": "modal",
                "callback_id": "sim_modal",
                "private_metadata": "",
                "state": {"values": {"sim-input": {"answer": {
                    "type": "plain_text_input", "value": format!("answer {n}")}}}},
                "hash": format!("{}.{n}", unix_ms / 1000),
                "app_id": w.app_id,
            },
            "response_urls": [],
            "is_enterprise_install": false,
            "enterprise": null,
        })
    }

    fn trigger_id(&mut self, unix_ms: u64) -> String {
        let hex = format!("{:032x}", self.rng.u128(..));
        format!("{}.{}.{hex}", unix_ms, self.rng.u32(1_000_000..10_000_000))
    }
}

/// A Slack message timestamp `"<secs>.<6 digits>"`; `n` keeps it unique within a millisecond.
pub(crate) fn slack_ts(unix_ms: u64, n: u64) -> String {
    format!("{}.{:03}{:03}", unix_ms / 1000, unix_ms % 1000, n % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::wire::{DEFAULT_MAX_FRAME_BYTES, ServerFrame, decode_text};
    use std::collections::HashSet;

    fn factory() -> EnvelopeFactory {
        EnvelopeFactory::new(
            7,
            Workspace {
                team_id: "T1".into(),
                app_id: "A1".into(),
                bot_user_id: "UBOT".into(),
                channel_id: "C1".into(),
                human_user_id: "UHUMAN".into(),
            },
        )
    }

    #[test]
    fn events_are_unique_and_decode_as_envelopes() {
        let mut f = factory();
        let mut ids = HashSet::new();
        let mut event_ids = HashSet::new();
        for _ in 0..500 {
            let env = f.make(TrafficKind::EventsApi, 1_700_000_000_123);
            assert!(ids.insert(env.envelope_id.clone()));
            let ev = env.payload.event_id().unwrap().to_string();
            assert!(ev.starts_with("Ev"));
            assert!(event_ids.insert(ev));
            for text in [env.to_json().to_string(), env.to_text()] {
                let ServerFrame::Envelope(back) =
                    decode_text(&text, DEFAULT_MAX_FRAME_BYTES).unwrap()
                else {
                    panic!("not an envelope: {text}");
                };
                assert_eq!(back, env);
            }
        }
    }

    #[test]
    fn event_callback_has_slack_shape() {
        let env = factory().make(TrafficKind::EventsApi, 1_700_000_000_123);
        let p = &env.payload.to_value();
        assert_eq!(p["type"], "event_callback");
        assert_eq!(p["team_id"], "T1");
        assert_eq!(p["api_app_id"], "A1");
        assert_eq!(p["event"]["type"], "app_mention");
        assert_eq!(p["event"]["ts"], p["event"]["event_ts"]);
        assert_eq!(p["event_time"], 1_700_000_000);
        let json = env.to_json();
        assert_eq!(json["retry_attempt"], 0);
        assert_eq!(json["retry_reason"], "");
    }

    #[test]
    fn mixed_rotates_and_commands_have_no_retry_fields() {
        let mut f = factory();
        let kinds: Vec<_> = (0..3)
            .map(|_| f.make(TrafficKind::Mixed, 0).kind.as_str().to_string())
            .collect();
        assert_eq!(kinds, ["slash_commands", "interactive", "events_api"]);
        let cmd = f.make(TrafficKind::SlashCommands, 0).to_json();
        assert!(cmd.get("retry_attempt").is_none(), "{cmd}");
        assert_eq!(cmd["payload"]["command"], "/phantom");
        assert_eq!(cmd["accepts_response_payload"], true);
        let act = f.make(TrafficKind::Interactive, 0).to_json();
        assert_eq!(act["payload"]["type"], "block_actions");
        assert_eq!(act["accepts_response_payload"], false);
        let sug = f.make(TrafficKind::BlockSuggestion, 0).to_json();
        assert_eq!(sug["type"], "interactive");
        assert_eq!(sug["payload"]["type"], "block_suggestion");
        assert_eq!(sug["accepts_response_payload"], true);
        let sub = f.make(TrafficKind::ViewSubmission, 0).to_json();
        assert_eq!(sub["payload"]["type"], "view_submission");
        assert_eq!(sub["accepts_response_payload"], true);
    }

    #[test]
    fn redelivery_keeps_event_and_bumps_attempt() {
        let mut f = factory();
        let first = f.make(TrafficKind::EventsApi, 0);
        let again = f.redelivery(&first, "timeout", false);
        assert_ne!(again.envelope_id, first.envelope_id);
        let same = f.redelivery(&again, "timeout", true);
        assert_eq!(same.envelope_id, again.envelope_id);
        assert_eq!(same.retry_attempt, 2);
        assert_eq!(again.payload, first.payload);
        assert_eq!(again.retry_attempt, 1);
        assert_eq!(again.retry_reason.as_deref(), Some("timeout"));
    }
}
