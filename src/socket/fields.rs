//! Lenient, borrowing reads of a JSON object's top-level members, for the hot path: one pass
//! over the text that captures the members a frame decoder asks for as raw slices of the input
//! and skips every other member without building it (no `Value`, no allocation but the list).
//!
//! Each member is then read on its own and a member of the wrong type reads as absent, as with
//! `Value::get(..).and_then(Value::as_str)`. A key repeated in one object keeps its last value
//! (as `Value` does). Syntax is checked over the whole text; numbers are not range-checked and
//! nesting depth is not limited inside skipped or captured members (both are checked when a
//! captured member is parsed).

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The captured members of one object, by the position of their key in the wanted list.
pub(crate) struct Fields<'a, const N: usize> {
    values: [Option<&'a RawValue>; N],
}

impl<'a, const N: usize> Fields<'a, N> {
    /// Read `text` as one JSON object, capturing the members named in `wanted`. `None` when
    /// `text` is not a syntactically valid JSON object.
    pub(crate) fn read(text: &'a str, wanted: &'static [&'static str; N]) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = de.deserialize_map(FieldsVisitor { wanted }).ok()?;
        de.end().ok()?;
        Some(fields)
    }

    /// The raw value of `wanted[i]`, if present.
    pub(crate) fn raw(&self, i: usize) -> Option<&'a RawValue> {
        self.values[i]
    }

    /// `wanted[i]` as a string (borrowed unless it has escapes); absent if not a string.
    pub(crate) fn str(&self, i: usize) -> Option<Cow<'a, str>> {
        self.values[i].and_then(str_of)
    }

    /// `wanted[i]` as an unsigned integer; absent if not one (a float or a negative is absent,
    /// as with `Value::as_u64`).
    pub(crate) fn u64(&self, i: usize) -> Option<u64> {
        self.values[i].and_then(|raw| serde_json::from_str::<u64>(raw.get()).ok())
    }

    /// `wanted[i]` as a boolean; absent if not one.
    pub(crate) fn bool(&self, i: usize) -> Option<bool> {
        self.values[i].and_then(|raw| serde_json::from_str::<bool>(raw.get()).ok())
    }
}

/// A raw JSON value as a string, borrowed when it has no escapes; `None` if not a string.
pub(crate) fn str_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(text) {
        Ok(s) => Some(Cow::Borrowed(s)),
        // Escapes cannot be borrowed: unescape into a String.
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

struct FieldsVisitor<const N: usize> {
    wanted: &'static [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for FieldsVisitor<N> {
    type Value = Fields<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = [None; N];
        while let Some(key) = map.next_key_seed(KeySeed {
            wanted: self.wanted,
        })? {
            match key {
                Some(i) => values[i] = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Fields { values })
    }
}

/// Finds a key's position in the wanted list (escaped keys are compared unescaped).
struct KeySeed<const N: usize> {
    wanted: &'static [&'static str; N],
}

impl<'de, const N: usize> de::DeserializeSeed<'de> for KeySeed<N> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for KeySeed<N> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.wanted.iter().position(|w| *w == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn captures_wanted_members_leniently_and_keeps_the_last_duplicate() {
        let f = Fields::read(
            r#"{"a":"x\u0041","b":7,"z":[1,{"q":2}],"c":true,"b":8}"#,
            &WANTED,
        )
        .unwrap();
        assert_eq!(f.str(0).as_deref(), Some("xA"));
        assert_eq!(f.u64(1), Some(8));
        assert_eq!(f.bool(2), Some(true));
        assert_eq!(f.str(1), None, "a number is not a string");
        assert_eq!(f.u64(0), None, "a string is not a number");
        assert!(matches!(f.str(0), Some(Cow::Owned(_))));
        let escaped_key = Fields::read(r#"{"\u0061":"y"}"#, &WANTED).unwrap();
        assert!(matches!(escaped_key.str(0), Some(Cow::Borrowed("y"))));
        let borrowed = Fields::read(r#"{"a":"y"}"#, &WANTED).unwrap();
        assert!(matches!(borrowed.str(0), Some(Cow::Borrowed("y"))));
    }

    #[test]
    fn rejects_what_is_not_one_valid_object() {
        for text in [
            "",
            "[1]",
            "\"a\"",
            "{\"a\":1",
            "{\"a\":1} x",
            "{\"z\":[1,}",
            "{\"a\":tru}",
        ] {
            assert!(Fields::read(text, &WANTED).is_none(), "{text}");
        }
        assert_eq!(
            Fields::read(r#"{"a":-1,"b":1.5,"c":"t"}"#, &WANTED).map(|f| (
                f.u64(0),
                f.u64(1),
                f.bool(2)
            )),
            Some((None, None, None))
        );
    }
}
