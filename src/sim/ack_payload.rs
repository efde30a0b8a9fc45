//! What an ack's `payload` must look like, by the envelope it acks. Pure.
//!
//! Slack reads the ack's `payload` only for envelopes with `accepts_response_payload: true`,
//! and then only in the shapes it documents: `options` or `option_groups` for a
//! `block_suggestion` (without them the user's menu stays empty), a `response_action` for a
//! `view_submission` (`errors` with an `errors` object, `update` / `push` with a `view`,
//! `clear`), and a message (`text` or `blocks`) for a slash command. A payload in another
//! shape is silently ignored by Slack, which is exactly the bug this check makes visible.
//! An empty payload (`{}`, as Node's client sends) or none is a plain ack.

use crate::socket::wire::{Envelope, EnvelopeKind};
use serde_json::Value;

/// What an envelope accepts in its ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// `accepts_response_payload: false`: a non-empty payload is a mistake.
    NoPayload,
    /// A slash command: nothing, or a message (`text` / `blocks`).
    SlashCommand,
    /// `block_suggestion`: `options` or `option_groups` are required.
    BlockSuggestion,
    /// `view_submission`: nothing (the modal closes), or a `response_action`.
    ViewSubmission,
    /// Another interaction that accepts a payload: any object.
    AnyObject,
}

impl Expect {
    /// What `envelope` accepts.
    pub(crate) fn of(envelope: &Envelope) -> Expect {
        if !envelope.accepts_response_payload {
            return Expect::NoPayload;
        }
        match envelope.kind {
            EnvelopeKind::SlashCommands => Expect::SlashCommand,
            EnvelopeKind::Interactive => match envelope.payload.to_value()["type"].as_str() {
                Some("block_suggestion") => Expect::BlockSuggestion,
                Some("view_submission") => Expect::ViewSubmission,
                _ => Expect::AnyObject,
            },
            _ => Expect::AnyObject,
        }
    }
}

/// Check an ack's `payload` (`None`: the ack had none). `Err` says what is wrong.
pub(crate) fn check(expect: Expect, payload: Option<&Value>) -> Result<(), String> {
    let empty = payload.is_none_or(|p| p.is_null() || p.as_object().is_some_and(|o| o.is_empty()));
    if let Some(p) = payload
        && !p.is_object()
        && !p.is_null()
    {
        return Err(format!("payload must be a JSON object, not {p}"));
    }
    let p = payload.unwrap_or(&Value::Null);
    match expect {
        Expect::NoPayload if !empty => {
            Err("payload on an envelope with accepts_response_payload: false".into())
        }
        Expect::BlockSuggestion => check_options(p),
        Expect::ViewSubmission if !empty => check_response_action(p),
        Expect::SlashCommand if !empty => check_message(p),
        _ => Ok(()),
    }
}

fn check_options(p: &Value) -> Result<(), String> {
    match (p.get("options"), p.get("option_groups")) {
        (Some(Value::Array(_)), None) | (None, Some(Value::Array(_))) => Ok(()),
        (Some(_), Some(_)) => Err("block_suggestion: options and option_groups both set".into()),
        _ => Err("block_suggestion: an options or option_groups array is required".into()),
    }
}

fn check_response_action(p: &Value) -> Result<(), String> {
    match p.get("response_action").and_then(Value::as_str) {
        Some("clear") => Ok(()),
        Some("errors") if p.get("errors").is_some_and(Value::is_object) => Ok(()),
        Some("errors") => {
            Err("view_submission: response_action errors needs an errors object".into())
        }
        Some("update" | "push") if p.get("view").is_some_and(Value::is_object) => Ok(()),
        Some(a @ ("update" | "push")) => Err(format!(
            "view_submission: response_action {a} needs a view object"
        )),
        Some(other) => Err(format!(
            "view_submission: unknown response_action {other:?}"
        )),
        None => Err("view_submission: a non-empty payload needs a response_action".into()),
    }
}

fn check_message(p: &Value) -> Result<(), String> {
    let text = p.get("text").is_some_and(Value::is_string);
    let blocks = p.get("blocks").is_some_and(Value::is_array);
    if text || blocks {
        Ok(())
    } else {
        Err("slash command: a payload must be a message with text or blocks".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(e: Expect, p: Value) -> bool {
        check(e, Some(&p)).is_ok()
    }

    #[test]
    fn plain_acks_are_always_fine_except_for_block_suggestion() {
        for e in [
            Expect::NoPayload,
            Expect::SlashCommand,
            Expect::ViewSubmission,
            Expect::AnyObject,
        ] {
            assert!(check(e, None).is_ok(), "{e:?}");
            assert!(ok(e, json!({})), "{e:?}");
        }
        assert!(check(Expect::BlockSuggestion, None).is_err());
        assert!(!ok(Expect::BlockSuggestion, json!({})));
    }

    #[test]
    fn shapes_are_checked() {
        assert!(ok(Expect::BlockSuggestion, json!({"options": []})));
        assert!(ok(Expect::BlockSuggestion, json!({"option_groups": []})));
        assert!(!ok(Expect::BlockSuggestion, json!({"options": "x"})));
        assert!(ok(
            Expect::ViewSubmission,
            json!({"response_action": "clear"})
        ));
        assert!(ok(
            Expect::ViewSubmission,
            json!({"response_action": "errors", "errors": {"b": "bad"}})
        ));
        assert!(!ok(
            Expect::ViewSubmission,
            json!({"response_action": "errors"})
        ));
        assert!(!ok(Expect::ViewSubmission, json!({"errors": {}})));
        assert!(ok(Expect::SlashCommand, json!({"text": "hi"})));
        assert!(!ok(Expect::SlashCommand, json!({"txt": "hi"})));
        assert!(!ok(Expect::NoPayload, json!({"text": "hi"})));
        assert!(!ok(Expect::AnyObject, json!("text")));
    }
}
