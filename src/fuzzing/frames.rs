//! Frames exactly as Slack sends them (shapes from Slack's Socket Mode documentation and
//! observed traffic), for the seed corpora.

/// The first frame on every link.
pub const HELLO: &str = r#"{"type":"hello","num_connections":1,"debug_info":{"host":"applink-7fc4fdbb64-4x5xq","build_number":105,"approximate_connection_time":18060},"connection_info":{"app_id":"A05ABCDE123"}}"#;

/// An `events_api` envelope (an `app_mention`).
pub const EVENT: &str = r#"{"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","payload":{"token":"XXYYZZ","team_id":"T0123ABCD","api_app_id":"A05ABCDE123","event":{"type":"app_mention","user":"U0123ABCD","text":"<@U0BOT123> hello","ts":"1767225600.000100","channel":"C0123ABCD","event_ts":"1767225600.000100"},"type":"event_callback","event_id":"Ev06ABCDEF12","event_time":1767225600,"authorizations":[{"team_id":"T0123ABCD","user_id":"U0BOT123","is_bot":true}]},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}"#;

/// Slack's re-delivery of [`EVENT`]: same `event_id`, new envelope, `retry_attempt` 1.
pub const EVENT_RETRY: &str = r#"{"envelope_id":"b1c2d3e4-0000-4d0b-b6aa-3361493e1caf","payload":{"token":"XXYYZZ","team_id":"T0123ABCD","api_app_id":"A05ABCDE123","event":{"type":"app_mention","user":"U0123ABCD","text":"<@U0BOT123> hello","ts":"1767225600.000100","channel":"C0123ABCD","event_ts":"1767225600.000100"},"type":"event_callback","event_id":"Ev06ABCDEF12","event_time":1767225600},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}"#;

/// A slash command.
pub const SLASH: &str = r#"{"envelope_id":"fd3e7c6a-1111-4e2b-9c3d-0a1b2c3d4e5f","payload":{"token":"XXYYZZ","team_id":"T0123ABCD","team_domain":"example","channel_id":"C0123ABCD","user_id":"U0123ABCD","command":"/phantom","text":"status","api_app_id":"A05ABCDE123","response_url":"https://hooks.slack.com/commands/T0123ABCD/1/abc","trigger_id":"1.2.abc"},"type":"slash_commands","accepts_response_payload":true}"#;

/// A block action.
pub const INTERACTIVE: &str = r#"{"envelope_id":"0a9b8c7d-2222-4f3e-8d2c-1b2a3c4d5e6f","payload":{"type":"block_actions","user":{"id":"U0123ABCD","team_id":"T0123ABCD"},"api_app_id":"A05ABCDE123","trigger_id":"3.4.def","actions":[{"action_id":"approve","block_id":"b1","type":"button","value":"yes"}]},"type":"interactive","accepts_response_payload":false}"#;

/// `disconnect` frames, by reason.
pub fn disconnect(reason: &str) -> String {
    format!(
        r#"{{"type":"disconnect","reason":"{reason}","debug_info":{{"host":"applink-7fc4fdbb64-4x5xq"}}}}"#
    )
}
