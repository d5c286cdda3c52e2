//! Lenient field readers for `#[serde(deserialize_with = ...)]`.
//!
//! Firmware sends the same field as a number on one version and a string on
//! another (`"iin":"13968"`), pads strings, and writes `""` or `"N/A"` for
//! "no value". A field must never fail a whole reply, so every reader here
//! accepts any JSON value and yields `None` for what it cannot use. They
//! read straight from the deserializer, with no intermediate `Value`.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A finite number, from a JSON number or a numeric string.
pub(crate) fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(NumberVisitor)
        .map(|n| n.and_then(Number::to_f64))
}

/// A non-negative integer. Floats with no fraction (`12.0`) are accepted,
/// as firmware sometimes sends counters that way.
pub(crate) fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(NumberVisitor)
        .map(|n| n.and_then(Number::to_u64))
}

/// A non-negative count of seconds, with any fraction dropped: 2026
/// firmware sends `"Elapsed":10658.685546875`.
pub(crate) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(NumberVisitor).map(|n| {
        n.and_then(|n| match n {
            Number::F(f) => whole_float(f.trunc()).and_then(|f| Number::F(f).to_u64()),
            other => other.to_u64(),
        })
    })
}

/// A signed integer (status codes, priorities).
pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(NumberVisitor)
        .map(|n| n.and_then(Number::to_i64))
}

/// A flag: `true`, `1`, `"true"`, `"Y"`, `"yes"`, `"enable"` and their
/// opposites. Anything else is `None`.
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// Text, also from a number or a bool (a MAC or serial sent as a number).
/// Kept as sent, except that an empty string is `None`.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringVisitor)
}

/// Text with surrounding whitespace and single quotes removed: older
/// firmware writes `"Firmware Version":"'20220422.18.REL'"`.
pub(crate) fn unquoted_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(string(d)?.and_then(|s| {
        let t = s.trim().trim_matches('\'').trim();
        (!t.is_empty()).then(|| t.to_string())
    }))
}

/// A number as the JSON parser saw it, before choosing the target type.
#[derive(Debug, Clone, Copy)]
enum Number {
    U(u64),
    I(i64),
    F(f64),
}

impl Number {
    fn to_f64(self) -> Option<f64> {
        let f = match self {
            Number::U(u) => u as f64,
            Number::I(i) => i as f64,
            Number::F(f) => f,
        };
        f.is_finite().then_some(f)
    }

    fn to_u64(self) -> Option<u64> {
        match self {
            Number::U(u) => Some(u),
            Number::I(i) => u64::try_from(i).ok(),
            Number::F(f) => whole_float(f)
                .filter(|f| *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64),
        }
    }

    fn to_i64(self) -> Option<i64> {
        match self {
            Number::U(u) => i64::try_from(u).ok(),
            Number::I(i) => Some(i),
            Number::F(f) => whole_float(f)
                .filter(|f| *f >= i64::MIN as f64 && *f < i64::MAX as f64)
                .map(|f| f as i64),
        }
    }

    /// Parses a numeric string; blank and placeholder texts give `None`.
    fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if let Ok(u) = t.parse::<u64>() {
            return Some(Number::U(u));
        }
        if let Ok(i) = t.parse::<i64>() {
            return Some(Number::I(i));
        }
        // Rust's float parser accepts "inf"/"nan"; to_f64 drops them later.
        t.parse::<f64>().ok().map(Number::F)
    }
}

fn whole_float(f: f64) -> Option<f64> {
    (f.is_finite() && f.fract() == 0.0).then_some(f)
}

/// Consumes a list or object that no reader here can use.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Option<Number>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Number::U(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Number::I(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Number::F(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Number::parse(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a flag")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v != 0))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.is_finite().then_some(v != 0.0))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(parse_flag(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    const TRUE: [&str; 7] = ["true", "y", "yes", "1", "enable", "enabled", "on"];
    const FALSE: [&str; 7] = ["false", "n", "no", "0", "disable", "disabled", "off"];
    let t = text.trim();
    if TRUE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then_some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.is_finite().then(|| v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    struct Probe {
        #[serde(default, deserialize_with = "super::f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "super::u64")]
        u: Option<u64>,
        #[serde(default, deserialize_with = "super::i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "super::seconds")]
        t: Option<u64>,
        #[serde(default, deserialize_with = "super::bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "super::string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "super::unquoted_string")]
        q: Option<String>,
    }

    fn probe(json: &str) -> Probe {
        match serde_json::from_str(json) {
            Ok(p) => p,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn numbers_from_numbers_and_strings() {
        let p = probe(r#"{"f":" 1.5 ","u":"12","i":"-3"}"#);
        assert_eq!((p.f, p.u, p.i), (Some(1.5), Some(12), Some(-3)));
        let p = probe(r#"{"f":7,"u":12.0,"i":-3.0}"#);
        assert_eq!((p.f, p.u, p.i), (Some(7.0), Some(12), Some(-3)));
    }

    #[test]
    fn unusable_numbers_are_none() {
        for v in [
            r#""""#,
            r#""N/A""#,
            r#""nan""#,
            r#""inf""#,
            "null",
            "true",
            "[1]",
            r#"{"a":1}"#,
        ] {
            let p = probe(&format!(r#"{{"f":{v},"u":{v},"i":{v}}}"#));
            assert_eq!((p.f, p.u, p.i), (None, None, None), "{v}");
        }
        let p = probe(r#"{"u":-1,"i":1e30}"#);
        assert_eq!((p.u, p.i), (None, None));
        assert_eq!(probe(r#"{"u":1.5}"#).u, None);
        assert_eq!(probe(r#"{"u":"1e3"}"#).u, Some(1000));
        assert_eq!(probe(r#"{"t":10658.685546875}"#).t, Some(10658));
        assert_eq!(probe(r#"{"t":"7.9"}"#).t, Some(7));
        assert_eq!(probe(r#"{"t":-0.5}"#).t, Some(0));
        assert_eq!(probe(r#"{"t":-3}"#).t, None);
        assert_eq!(probe(r#"{"t":1e300}"#).t, None);
    }

    #[test]
    fn flags() {
        for (v, want) in [
            ("true", Some(true)),
            (r#""Y""#, Some(true)),
            (r#""enable""#, Some(true)),
            ("1", Some(true)),
            (r#"" No ""#, Some(false)),
            (r#""disable""#, Some(false)),
            ("0", Some(false)),
            (r#""maybe""#, None),
            ("null", None),
        ] {
            assert_eq!(probe(&format!(r#"{{"b":{v}}}"#)).b, want, "{v}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(probe(r#"{"s":112233}"#).s.as_deref(), Some("112233"));
        assert_eq!(probe(r#"{"s":""}"#).s, None);
        assert_eq!(probe(r#"{"s":"a\"b"}"#).s.as_deref(), Some("a\"b"));
        assert_eq!(
            probe(r#"{"q":"'20220422.18.REL'"}"#).q.as_deref(),
            Some("20220422.18.REL")
        );
        assert_eq!(probe(r#"{"q":"''"}"#).q, None);
    }
}
