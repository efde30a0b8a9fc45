//! An envelope's payload, kept as the JSON text Slack sent: the hot path (frame → ack →
//! dispatch) reads only `event_id` and `event.type` from it, once, and a handler parses the
//! rest on demand. Cloning it copies one string, dropping it frees one.

use super::fields::str_of;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// The scalar cases of a visitor that reads objects only: every scalar reads as `$none`.
macro_rules! not_an_object {
    ($none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// An envelope's `payload`, unparsed, with the two members the machine needs read out.
#[derive(Clone)]
pub struct Payload {
    raw: Box<RawValue>,
    event_id: Option<Box<str>>,
    event_type: Option<Box<str>>,
}

impl Payload {
    /// Wrap a raw payload, reading `event_id` and `event.type` (each absent unless a string)
    /// in one pass over its text.
    pub fn new(raw: Box<RawValue>) -> Payload {
        let head = serde_json::from_str::<Head>(raw.get()).unwrap_or_default();
        Payload {
            raw,
            event_id: head.event_id,
            event_type: head.event_type,
        }
    }

    /// `null`: an envelope without a payload.
    pub fn null() -> Payload {
        Payload::from(Value::Null)
    }

    /// The JSON text as Slack sent it.
    pub fn get(&self) -> &str {
        self.raw.get()
    }

    /// The raw JSON value.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// Parse the payload into `T` (a `serde_json::Value`, or a type of the embedder's).
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.raw.get())
    }

    /// The payload as a `Value`; `null` when it does not fit one (nesting past 128 levels or a
    /// number out of `f64`'s range: valid JSON that the hot path does not reject).
    pub fn to_value(&self) -> Value {
        self.parse().unwrap_or(Value::Null)
    }

    /// `payload.event_id`, if a string.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// `payload.event.type`, if a string.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }
}

/// `event_id` and `event.type` of a payload, read in one pass: the `event` object is visited
/// in place (its other members skipped), not captured and scanned again. Anything that is not
/// an object, or a member of the wrong type, reads as absent; a repeated key keeps its last
/// value, as with `Value`.
#[derive(Default)]
struct Head {
    event_id: Option<Box<str>>,
    event_type: Option<Box<str>>,
}

impl<'de> de::Deserialize<'de> for Head {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Head, D::Error> {
        d.deserialize_any(HeadVisitor)
    }
}

struct HeadVisitor;

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = Head;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let mut head = Head::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::EventId => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    head.event_id = str_of(raw).map(|s| s.into());
                }
                Key::Event => head.event_type = map.next_value::<EventType>()?.0,
                // The payload's own `type` (`event_callback`) is not needed.
                Key::Type | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Head, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Head::default())
    }

    not_an_object!(Head::default());
}

/// `event.type`: the `type` member of whatever `event` is, if it is an object.
struct EventType(Option<Box<str>>);

impl<'de> de::Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EventType, D::Error> {
        d.deserialize_any(EventTypeVisitor)
    }
}

struct EventTypeVisitor;

impl<'de> Visitor<'de> for EventTypeVisitor {
    type Value = EventType;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventType, A::Error> {
        let mut ty = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::Type {
                ty = str_of(map.next_value::<&'de RawValue>()?).map(|s| s.into());
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(EventType(ty))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventType, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventType(None))
    }

    not_an_object!(EventType(None));
}

/// The keys the head reads (`type` only inside `event`).
#[derive(PartialEq)]
enum Key {
    EventId,
    Event,
    Type,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "event_id" => Key::EventId,
            "event" => Key::Event,
            "type" => Key::Type,
            _ => Key::Other,
        })
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Payload {
        let raw = RawValue::from_string(value.to_string()).expect("a Value serializes to JSON");
        Payload::new(raw)
    }
}

/// Equal when the JSON values are equal (not the texts: whitespace and key order differ).
impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.get() == other.get() || self.parse::<Value>().ok() == other.parse::<Value>().ok()
    }
}

impl PartialEq<Value> for Payload {
    fn eq(&self, other: &Value) -> bool {
        self.parse::<Value>().is_ok_and(|v| v == *other)
    }
}

impl PartialEq<Payload> for Value {
    fn eq(&self, other: &Payload) -> bool {
        other == self
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.raw.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compares_with_a_value_by_json_both_ways_and_shows_its_text() {
        let p = Payload::new(RawValue::from_string(r#"{ "b": [1, 2], "a": "x" }"#.into()).unwrap());
        let same = json!({"a": "x", "b": [1, 2]});
        let other = json!({"a": "y", "b": [1, 2]});
        // Key order and whitespace do not count; each side's `eq` is checked.
        assert_eq!(p, same);
        assert_eq!(same, p);
        assert_ne!(p, other);
        assert_ne!(other, p);
        assert_eq!(format!("{p:?}"), r#"{ "b": [1, 2], "a": "x" }"#);
    }

    #[test]
    fn reads_the_event_id_and_type_and_keeps_the_text() {
        let text = r#"{ "event_id" : "Ev1", "event": {"type": "app_\u006dention", "text": "hi"}}"#;
        let p = Payload::new(RawValue::from_string(text.into()).unwrap());
        assert_eq!(p.get(), text);
        assert_eq!(p.event_id(), Some("Ev1"));
        assert_eq!(p.event_type(), Some("app_mention"));
        assert_eq!(
            p,
            json!({"event_id": "Ev1", "event": {"type": "app_mention", "text": "hi"}})
        );
        assert_eq!(p, Payload::from(p.to_value()));
        assert_ne!(p, Payload::null());
    }

    #[test]
    fn mistyped_members_read_as_absent() {
        for v in [
            json!({"event_id": 5, "event": {"type": 7}}),
            json!({"event": "app_mention"}),
            json!([1, 2]),
            Value::Null,
        ] {
            let p = Payload::from(v.clone());
            assert_eq!((p.event_id(), p.event_type()), (None, None), "{v}");
            assert_eq!(p.to_value(), v);
        }
    }

    #[test]
    fn only_the_payloads_event_id_and_the_events_type_count() {
        let read = |text: &str| {
            let p = Payload::new(RawValue::from_string(text.into()).unwrap());
            (
                p.event_id().map(String::from),
                p.event_type().map(String::from),
            )
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            read(r#"{"type":"event_callback","event":[1,{"type":"x"}],"event_id":"Ev2"}"#),
            (some("Ev2"), None)
        );
        assert_eq!(
            read(r#"{"event":{"event_id":"x","type":"m"}}"#),
            (None, some("m"))
        );
        assert_eq!(
            read(r#"{"event_id":"a","event":{"type":"m","type":"n"},"event_id":"b"}"#),
            (some("b"), some("n")),
            "a repeated key keeps its last value"
        );
        assert_eq!(read(r#"{"event":7,"event_id":"c"}"#), (some("c"), None));
    }

    #[test]
    fn a_payload_too_deep_for_a_value_is_kept_and_reads_as_null() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let p = Payload::new(RawValue::from_string(deep.clone()).unwrap());
        assert_eq!(p.get(), deep);
        assert_eq!(p.to_value(), Value::Null);
        assert!(p.parse::<Value>().is_err());
    }
}
