//! Lenient decoding of Slack's frames; typed rejections; never a panic.

use phantom_fsm::engine::FrameRejectReason;
use phantom_fsm::socket::*;

#[test]
fn decodes_a_real_hello() {
    let text = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"applink-7","build_number":58,"approximate_connection_time":18060},"connection_info":{"app_id":"A0123"}}"#;
    let ServerFrame::Hello(h) = decode_text(text, DEFAULT_MAX_FRAME_BYTES).unwrap() else {
        panic!()
    };
    assert_eq!(h.num_connections, Some(2));
    assert_eq!(h.host.as_deref(), Some("applink-7"));
    assert_eq!(h.approximate_connection_time, Some(18060));
    assert_eq!(h.app_id.as_deref(), Some("A0123"));
}

#[test]
fn decodes_disconnects_with_an_open_set_of_reasons() {
    for (reason, expected) in [
        ("warning", DisconnectReason::Warning),
        ("refresh_requested", DisconnectReason::RefreshRequested),
        ("link_disabled", DisconnectReason::LinkDisabled),
        ("too_many_websockets", DisconnectReason::TooManyWebsockets),
        ("brand_new", DisconnectReason::Other("brand_new".into())),
    ] {
        let text =
            format!(r#"{{"type":"disconnect","reason":"{reason}","debug_info":{{"host":"h"}}}}"#);
        let frame = decode_text(&text, DEFAULT_MAX_FRAME_BYTES).unwrap();
        assert_eq!(
            frame,
            ServerFrame::Disconnect(Disconnect {
                reason: expected,
                host: Some("h".into())
            })
        );
    }
}

#[test]
fn mistyped_and_unknown_fields_take_defaults() {
    let text = r#"{"envelope_id":"e1","type":"slash_commands","payload":{"command":"/x"},"accepts_response_payload":"yes","retry_attempt":-3,"retry_reason":7,"surprise":[1,2]}"#;
    let ServerFrame::Envelope(e) = decode_text(text, DEFAULT_MAX_FRAME_BYTES).unwrap() else {
        panic!()
    };
    assert_eq!(e.kind, EnvelopeKind::SlashCommands);
    assert!(!e.accepts_response_payload);
    assert_eq!(e.retry_attempt, 0);
    assert_eq!(e.retry_reason, None);
    assert_eq!(e.event_type_label(), "slash_commands");
    assert_eq!(e.dedupe_key(), "env:e1");
}

#[test]
fn an_unknown_envelope_type_with_an_id_is_still_acked() {
    let text = r#"{"envelope_id":"e2","type":"workflow_step","payload":{}}"#;
    let ServerFrame::Envelope(e) = decode_text(text, DEFAULT_MAX_FRAME_BYTES).unwrap() else {
        panic!()
    };
    assert_eq!(e.kind, EnvelopeKind::Other("workflow_step".into()));
    assert_eq!(e.kind.label(), "other");
}

#[test]
fn event_type_labels_are_bounded() {
    let mk = |ty: &str| {
        let text = format!(
            r#"{{"envelope_id":"e","type":"events_api","payload":{{"event_id":"Ev1","event":{{"type":"{ty}"}}}}}}"#
        );
        match decode_text(&text, DEFAULT_MAX_FRAME_BYTES).unwrap() {
            ServerFrame::Envelope(e) => e,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(mk("app_mention").event_type_label(), "app_mention");
    assert_eq!(mk("made_up_event_9").event_type_label(), "other");
    assert_eq!(mk("message").dedupe_key(), "ev:Ev1");
    // One label set: the envelope and the telemetry agree on every value (`pin_added` was
    // `other` for one and itself for the other).
    for name in phantom_fsm::telemetry::EVENT_TYPES {
        assert_eq!(mk(name).event_type_label(), name);
        assert_eq!(phantom_fsm::telemetry::event_type_label(name), name);
    }
    assert_eq!(mk("pin_added").event_type_label(), "pin_added");
}

#[test]
fn rejections_are_typed() {
    let cases: [(&str, FrameRejectReason); 5] = [
        ("", FrameRejectReason::InvalidJson),
        ("[1,2]", FrameRejectReason::InvalidJson),
        (
            r#"{"type":"interactive"}"#,
            FrameRejectReason::MissingEnvelopeId,
        ),
        (
            r#"{"type":"events_api","envelope_id":""}"#,
            FrameRejectReason::MissingEnvelopeId,
        ),
        (r#"{"no_type":true}"#, FrameRejectReason::UnknownType),
    ];
    for (text, reason) in cases {
        assert_eq!(
            decode_text(text, DEFAULT_MAX_FRAME_BYTES),
            Err(reason),
            "{text}"
        );
    }
    assert_eq!(
        decode_text(r#"{"type":"hello"}"#, 5),
        Err(FrameRejectReason::Oversize)
    );
    assert_eq!(decode_binary(b"\x00\x01"), Err(FrameRejectReason::Binary));
    let deep = "[".repeat(100_000);
    assert_eq!(
        decode_text(&deep, usize::MAX),
        Err(FrameRejectReason::InvalidJson)
    );
}

#[test]
fn server_frames_round_trip_through_their_encoders() {
    let hello = Hello {
        num_connections: Some(1),
        host: Some("h".into()),
        build_number: Some(3),
        approximate_connection_time: Some(18060),
        app_id: Some("A1".into()),
    };
    let text = hello.to_json().to_string();
    assert_eq!(
        decode_text(&text, DEFAULT_MAX_FRAME_BYTES),
        Ok(ServerFrame::Hello(hello))
    );
    assert_eq!(encode_ack("e1"), r#"{"envelope_id":"e1"}"#);
    // An id is escaped, never spliced in raw.
    let odd = "a\"b\\c\u{1}é";
    let ack: serde_json::Value = serde_json::from_str(&encode_ack(odd)).unwrap();
    assert_eq!(ack, serde_json::json!({ "envelope_id": odd }));
}

#[test]
fn an_ack_carries_a_payload_and_a_null_answer_is_a_bare_ack() {
    let text = AckPayload(serde_json::json!({"text": "hi"}));
    assert_eq!(
        encode_ack_with("e1", Some(&text)),
        r#"{"envelope_id":"e1","payload":{"text":"hi"}}"#
    );
    let none = AckPayload(serde_json::Value::Null);
    assert_eq!(
        encode_ack_with("e1", Some(&none)),
        r#"{"envelope_id":"e1"}"#
    );
}

#[test]
fn open_failures_are_classified_as_design_section_3_says() {
    use phantom_fsm::socket::{OpenOutcome, UNRECOVERABLE_OPEN_CODES};
    for code in UNRECOVERABLE_OPEN_CODES {
        assert_eq!(
            OpenOutcome::from_failure(Some(200), Some(code), None),
            OpenOutcome::Unrecoverable {
                code: code.to_string()
            }
        );
    }
    assert_eq!(
        OpenOutcome::from_failure(Some(429), None, Some(30_000)),
        OpenOutcome::RateLimited {
            retry_after_ms: Some(30_000)
        }
    );
    for code in [
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "something_new",
    ] {
        assert_eq!(
            OpenOutcome::from_failure(Some(200), Some(code), None),
            OpenOutcome::Transient
        );
    }
    assert_eq!(
        OpenOutcome::from_failure(Some(503), None, None),
        OpenOutcome::Transient
    );
    assert_eq!(
        OpenOutcome::from_failure(None, None, None),
        OpenOutcome::Transient
    );
}

/// The limit is inclusive: a frame of exactly `max_bytes` is decoded, one byte more is not
/// (Slack's 1 MiB frames at the limit must not be lost).
#[test]
fn a_frame_of_exactly_the_limit_is_accepted() {
    let hello = r#"{"type":"hello"}"#;
    assert!(matches!(
        decode_text(hello, hello.len()),
        Ok(ServerFrame::Hello(_))
    ));
    assert_eq!(
        decode_text(hello, hello.len() - 1),
        Err(FrameRejectReason::Oversize)
    );
}

/// An empty `event_id` is no id: the envelope dedupes by its envelope id, so two different
/// events that both carry `""` are not taken for one.
#[test]
fn an_empty_event_id_dedupes_by_envelope_id() {
    let envelope = |id: &str| Envelope {
        envelope_id: id.into(),
        kind: EnvelopeKind::EventsApi,
        payload: serde_json::json!({"event_id": "", "event": {"type": "message"}}).into(),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: None,
    };
    assert_eq!(envelope("a").dedupe_key(), "env:a");
    assert_ne!(envelope("a").dedupe_key(), envelope("b").dedupe_key());
}

#[test]
fn a_link_id_is_shown_as_it_appears_in_logs() {
    // Log lines and the inspector name links this way; a change is a visible contract change.
    assert_eq!(LinkId(7).to_string(), "link#7");
}
