//! The outer shape of a v2 reply, read in one pass straight from the bytes.
//!
//! Firmware puts a command's data in one of two places: the first element of
//! a list (`"SUMMARY":[{...}]`, cgminer style) or the `Msg` object (API
//! 2.0.5+ and every `get_*` command). `STATUS` is a list of one object or a
//! plain letter. [`Envelope`] reads `STATUS`, `Code`, `Msg` and the one list
//! key of the command, and skips every other key without building it.
//! That is the hot path of a scrape; odd shapes fall back to the
//! `serde_json::Value` helpers in `crate::protocol::reply`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::lenient;
use crate::error::ErrorKind;
use crate::protocol::reply::{self, StatusLetter};

/// The `visit_*` methods for numbers, bools and null, all giving `$value`:
/// the readers here skip such values instead of failing the reply.
macro_rules! non_str_scalars {
    ($value:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// One reply: `L` is the type read from the command's list key, `M` the type
/// read from a `Msg` object.
pub(crate) struct Envelope<L, M> {
    status: Option<Status>,
    code: Option<i64>,
    msg: Option<MsgField<M>>,
    list: Option<L>,
}

impl<L, M> Envelope<L, M> {
    /// Success: `Ok` with what was read under the list key and from a `Msg`
    /// object (either may be absent). Error reply: the classified
    /// [`ErrorKind`]. No usable `STATUS`: `UnexpectedShape`.
    pub(crate) fn into_checked(self) -> Result<(Option<L>, Option<M>), ErrorKind> {
        let Some(status) = self.status else {
            return Err(ErrorKind::UnexpectedShape(
                "reply has no STATUS field".into(),
            ));
        };
        let (letter, code, text) = match status {
            Status::Flat(letter) => {
                let text = match &self.msg {
                    Some(MsgField::Text(t)) => t.as_str(),
                    _ => "",
                };
                (letter, self.code, text.to_string())
            }
            Status::Entry(entry) => (
                entry
                    .letter
                    .as_deref()
                    .map_or(StatusLetter::Unknown, reply::status_letter),
                entry.code,
                entry.msg.unwrap_or_default(),
            ),
            Status::Unusable => (StatusLetter::Unknown, None, String::new()),
        };
        match letter {
            StatusLetter::Success => {
                let data = match self.msg {
                    Some(MsgField::Data(m)) => Some(m),
                    _ => None,
                };
                Ok((self.list, data))
            }
            StatusLetter::Error => Err(reply::classify_error(code, &text)),
            StatusLetter::Unknown => Err(ErrorKind::UnexpectedShape(
                "unknown or missing STATUS letter".into(),
            )),
        }
    }
}

/// Parses an [`Envelope`] whose list sits under `list_key` (or nowhere).
pub(crate) fn parse_envelope<'de, L, M>(
    bytes: &'de [u8],
    list_key: Option<&'static str>,
) -> Result<Envelope<L, M>, serde_json::Error>
where
    L: Deserialize<'de>,
    M: Deserialize<'de>,
{
    // One UTF-8 check of the whole reply, then the `str` reader, which does
    // not check each string again as the slice reader does: the same
    // result for the same bytes, less work per reply (a reply that is not
    // UTF-8 goes through the slice reader as before).
    match std::str::from_utf8(bytes) {
        Ok(text) => read_envelope(serde_json::Deserializer::from_str(text), list_key),
        Err(_) => read_envelope(serde_json::Deserializer::from_slice(bytes), list_key),
    }
}

fn read_envelope<'de, R, L, M>(
    mut de: serde_json::Deserializer<R>,
    list_key: Option<&'static str>,
) -> Result<Envelope<L, M>, serde_json::Error>
where
    R: serde_json::de::Read<'de>,
    L: Deserialize<'de>,
    M: Deserialize<'de>,
{
    let envelope = EnvelopeSeed::<L, M> {
        list_key,
        marker: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(envelope)
}

struct EnvelopeSeed<L, M> {
    list_key: Option<&'static str>,
    marker: PhantomData<fn() -> (L, M)>,
}

impl<'de, L: Deserialize<'de>, M: Deserialize<'de>> DeserializeSeed<'de> for EnvelopeSeed<L, M> {
    type Value = Envelope<L, M>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, L: Deserialize<'de>, M: Deserialize<'de>> Visitor<'de> for EnvelopeSeed<L, M> {
    type Value = Envelope<L, M>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a reply object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Envelope {
            status: None,
            code: None,
            msg: None,
            list: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed(self.list_key))? {
            match key {
                Key::Status => out.status = Some(map.next_value()?),
                Key::Code => out.code = map.next_value::<LenientI64>()?.0,
                Key::Msg => out.msg = Some(map.next_value()?),
                Key::List => out.list = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

enum Key {
    Status,
    Code,
    Msg,
    List,
    Other,
}

/// Reads a key without allocating and tells which field it names.
struct KeySeed(Option<&'static str>);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "STATUS" => Key::Status,
            "Code" => Key::Code,
            "Msg" => Key::Msg,
            _ if self.0 == Some(v) => Key::List,
            _ => Key::Other,
        })
    }
}

struct LenientI64(Option<i64>);

impl<'de> Deserialize<'de> for LenientI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::i64(d).map(LenientI64)
    }
}

/// `STATUS` as a letter, or as the first object of a list.
enum Status {
    Flat(StatusLetter),
    Entry(StatusEntry),
    Unusable,
}

#[derive(Deserialize, Default)]
struct StatusEntry {
    #[serde(rename = "STATUS", default, deserialize_with = "lenient::string")]
    letter: Option<String>,
    #[serde(rename = "Code", default, deserialize_with = "lenient::i64")]
    code: Option<i64>,
    #[serde(rename = "Msg", default, deserialize_with = "lenient::string")]
    msg: Option<String>,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = Status;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a STATUS letter or list")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Status, E> {
        Ok(Status::Flat(reply::status_letter(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Status, A::Error> {
        let first = seq.next_element::<ObjectElement<StatusEntry>>()?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(match first {
            Some(ObjectElement(Some(entry))) => Status::Entry(entry),
            _ => Status::Unusable,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Status, A::Error> {
        StatusEntry::deserialize(MapAccessDeserializer::new(map)).map(Status::Entry)
    }
    non_str_scalars!(Status::Unusable);
}

/// `Msg`: the data object on success, a text on errors, or something else.
pub(crate) enum MsgField<M> {
    Data(M),
    Text(String),
    Other,
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for MsgField<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MsgVisitor(PhantomData))
    }
}

struct MsgVisitor<M>(PhantomData<fn() -> M>);

impl<'de, M: Deserialize<'de>> Visitor<'de> for MsgVisitor<M> {
    type Value = MsgField<M>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Msg object or text")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        M::deserialize(MapAccessDeserializer::new(map)).map(MsgField::Data)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MsgField::Text(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MsgField::Other)
    }
    non_str_scalars!(MsgField::Other);
}

/// Reads an object as `T`; any other JSON value is skipped and gives `None`.
struct ObjectOr<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOr<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    non_str_scalars!(None);
}

/// The first object of a list (`"SUMMARY":[{...}]`); the rest is skipped. A
/// bare object is accepted too. Anything else gives `None`.
pub(crate) struct FirstObject<T>(pub(crate) Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstVisitor(PhantomData))
            .map(FirstObject)
    }
}

struct FirstVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element::<ObjectElement<T>>()?.and_then(|e| e.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectOr::<T>(PhantomData).visit_map(map)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    non_str_scalars!(None);
}

/// A list of objects (`"DEVS":[...]`); elements that are not objects are
/// dropped. A value that is not a list gives `None`.
pub(crate) struct ObjectList<T>(pub(crate) Option<Vec<T>>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData)).map(ObjectList)
    }
}

struct ListVisitor<T>(PhantomData<fn() -> T>);

/// Bounds the up-front allocation; the list still grows to its real length.
const MAX_PREALLOCATED: usize = 16;

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(MAX_PREALLOCATED));
        while seq.next_element_seed(PushObject(&mut out))?.is_some() {}
        Ok(Some(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    non_str_scalars!(None);
}

/// Reads one list element and pushes it if it is an object (other values
/// are skipped). Pushing from inside the visitor moves each element once:
/// wrapping it in `Option`s on the way out copied every `Board` (520 bytes)
/// three more times, measurable in a scrape's profile.
struct PushObject<'a, T>(&'a mut Vec<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PushObject<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PushObject<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0
            .push(T::deserialize(MapAccessDeserializer::new(map))?);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    non_str_scalars!(());
}

struct ObjectElement<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectElement<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectOr::<T>(PhantomData))
            .map(ObjectElement)
    }
}
