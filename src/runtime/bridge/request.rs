//! Each envelope as the HTTP request Slack would have sent for it (its Events API / slash
//! command / interactivity delivery), before signing.

use super::super::Delivery;
use serde_json::Value;

/// `Content-Type` of `events_api` requests.
pub const JSON: &str = "application/json";
/// `Content-Type` of slash-command and interactive requests.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// One request to forward: its body, content type and extra headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// [`JSON`] or [`FORM`].
    pub content_type: &'static str,
    /// The exact bytes signed and sent.
    pub body: String,
    /// `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` of a re-delivered event.
    pub headers: Vec<(&'static str, String)>,
}

/// The request for `delivery`, or `None` for an envelope type Slack has no HTTP form for.
pub fn to_request(delivery: &Delivery) -> Option<Forward> {
    let payload = delivery.payload();
    match delivery.envelope_type() {
        "events_api" => {
            let mut headers = Vec::new();
            if delivery.retry_attempt() > 0 {
                headers.push(("X-Slack-Retry-Num", delivery.retry_attempt().to_string()));
                let reason = delivery.retry_reason().unwrap_or("unknown");
                headers.push(("X-Slack-Retry-Reason", reason.to_string()));
            }
            Some(Forward {
                content_type: JSON,
                body: payload.get().to_string(),
                headers,
            })
        }
        "slash_commands" => {
            let fields = payload.parse::<serde_json::Map<String, Value>>().ok()?;
            // Slack's command fields are strings; anything else goes as its JSON text.
            let pairs: Vec<(&str, String)> = fields
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k.as_str(), s.clone()),
                    other => (k.as_str(), other.to_string()),
                })
                .collect();
            Some(Forward {
                content_type: FORM,
                body: serde_urlencoded::to_string(pairs).ok()?,
                headers: Vec::new(),
            })
        }
        "interactive" => Some(Forward {
            content_type: FORM,
            body: serde_urlencoded::to_string([("payload", payload.get())]).ok()?,
            headers: Vec::new(),
        }),
        _ => None,
    }
}

/// What a 200 response's body becomes in the ack: JSON as is, a slash command's text as
/// `{"text": body}`, an empty body as none (`null`: the ack goes out bare at once).
pub fn to_ack_payload(envelope_type: &str, body: &str) -> Value {
    let body = body.trim();
    if body.is_empty() {
        return Value::Null;
    }
    match serde_json::from_str::<Value>(body) {
        Ok(json @ Value::Object(_)) => json,
        _ if envelope_type == "slash_commands" => serde_json::json!({ "text": body }),
        // Not JSON where JSON is the only answer Slack takes: nothing to add.
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_become_payloads() {
        assert_eq!(to_ack_payload("slash_commands", ""), Value::Null);
        assert_eq!(
            to_ack_payload("slash_commands", "hello"),
            json!({"text": "hello"})
        );
        assert_eq!(
            to_ack_payload(
                "slash_commands",
                r#"{"text":"a","response_type":"in_channel"}"#
            ),
            json!({"text": "a", "response_type": "in_channel"})
        );
        assert_eq!(
            to_ack_payload("interactive", r#"{"options":[]}"#),
            json!({"options": []})
        );
        assert_eq!(to_ack_payload("interactive", "ok"), Value::Null);
    }
}
