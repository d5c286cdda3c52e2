//! Typed replies of the v2 read commands, parsed leniently.
//!
//! Every field is an `Option`: a field the firmware leaves out, sends empty
//! or sends as an unusable value is `None`, never an error, and unknown
//! fields are ignored. Numbers are accepted as JSON numbers or as strings.
//! Both firmware forms are accepted for every command: cgminer-style
//! (`"STATUS":[{...}]` with the data in a `SUMMARY`/`DEVS`/`POOLS` list) and
//! the wrapped form of API 2.0.5+ (`"STATUS":"S"` with the data in `Msg`).
//!
//! Speed matters here: the exporter parses summary, devs and pools of
//! thousands of miners per scrape. [`FromReply::from_reply`] deserializes
//! straight from the bytes into the typed structs, skipping unused keys
//! without building them. Only a reply that this fast path cannot read (odd
//! shape, invalid JSON that needs repair) goes through `serde_json::Value`.
//! Measured on the M30SVE20 captures in `tests/fixtures/v2` (release build,
//! the ignored `micro_benchmark` test, one core of a shared 2-core VM):
//! summary ≈ 3.5 µs, 3-board devs ≈ 6.5 µs, 3-pool pools ≈ 8-10 µs, so
//! ≈ 20 µs per miner for all three (≈ 30 µs with the box under load).
//! Merely scanning the same JSON takes ≈ 6 µs.

mod boards;
mod envelope;
mod error_codes;
mod info;
mod lenient;
mod pools;
mod summary;
mod units;

#[cfg(test)]
mod tests;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

pub use boards::{Board, Devs, Edevs};
pub use error_codes::{ErrorCode, ErrorCodes};
pub use info::{firmware_date, DevDetail, DevDetails, MinerInfo, MinerStatus, Psu, Version};
pub use pools::{Pool, Pools};
pub use summary::Summary;
pub use units::BoardHashUnit;

use crate::error::ErrorKind;
use crate::protocol::reply;
use envelope::{parse_envelope, FirstObject, ObjectList};

/// A typed reply of one read command.
pub trait FromReply: Sized {
    /// Command name, e.g. `"summary"`.
    const COMMAND: &'static str;

    /// Parses a complete plain reply (bytes cut at the first NUL and
    /// trimmed; doing so again is harmless): checks `STATUS`, maps error
    /// replies to their [`ErrorKind`], and accepts both firmware forms.
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind>;
}

impl FromReply for Summary {
    const COMMAND: &'static str = "summary";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_single(bytes, Some("SUMMARY"))
    }
}

impl FromReply for Devs {
    const COMMAND: &'static str = "devs";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_list(bytes, "DEVS").map(Devs)
    }
}

impl FromReply for Edevs {
    const COMMAND: &'static str = "edevs";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_list(bytes, "DEVS").map(Edevs)
    }
}

impl FromReply for Pools {
    const COMMAND: &'static str = "pools";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_list(bytes, "POOLS").map(Pools)
    }
}

impl FromReply for DevDetails {
    const COMMAND: &'static str = "devdetails";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_list(bytes, "DEVDETAILS").map(DevDetails)
    }
}

impl FromReply for Version {
    const COMMAND: &'static str = "get_version";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_single(bytes, None)
    }
}

impl FromReply for Psu {
    const COMMAND: &'static str = "get_psu";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_single(bytes, None)
    }
}

impl FromReply for MinerStatus {
    const COMMAND: &'static str = "status";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_single(bytes, None)
    }
}

impl FromReply for MinerInfo {
    const COMMAND: &'static str = "get_miner_info";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        parse_single(bytes, None)
    }
}

impl FromReply for ErrorCodes {
    const COMMAND: &'static str = "get_error_code";
    fn from_reply(bytes: &[u8]) -> Result<Self, ErrorKind> {
        let v = reply::parse_json(bytes)?;
        reply::check_status(&v)?;
        v.get("Msg")
            .and_then(Value::as_object)
            .and_then(ErrorCodes::from_msg)
            .ok_or_else(|| ErrorKind::UnexpectedShape("no error_code list in Msg".into()))
    }
}

/// A command whose data is one object: the first element of the list under
/// `list_key`, or the `Msg` object.
fn parse_single<T: DeserializeOwned>(
    bytes: &[u8],
    list_key: Option<&'static str>,
) -> Result<T, ErrorKind> {
    let bytes = crate::transport::clean_reply(bytes);
    let Ok(envelope) = parse_envelope::<FirstObject<T>, T>(bytes, list_key) else {
        return parse_single_slow(bytes, list_key);
    };
    match envelope.into_checked()? {
        (Some(FirstObject(Some(data))), _) | (_, Some(data)) => Ok(data),
        _ => Err(no_data(list_key)),
    }
}

fn parse_single_slow<T: DeserializeOwned>(
    bytes: &[u8],
    list_key: Option<&'static str>,
) -> Result<T, ErrorKind> {
    let v = reply::parse_json(bytes)?;
    reply::check_status(&v)?;
    let data = match list_key {
        Some(key) => reply::data_object(&v, key),
        None => v.get("Msg").and_then(Value::as_object),
    }
    .ok_or_else(|| no_data(list_key))?;
    T::deserialize(data).map_err(|e| ErrorKind::UnexpectedShape(reply::json_error_reason(&e)))
}

/// A command whose data is a list of objects under `list_key` (an empty
/// list is valid: a miner may report no boards).
fn parse_list<T: DeserializeOwned>(
    bytes: &[u8],
    list_key: &'static str,
) -> Result<Vec<T>, ErrorKind> {
    let bytes = crate::transport::clean_reply(bytes);
    let Ok(envelope) = parse_envelope::<ObjectList<T>, IgnoredAny>(bytes, Some(list_key)) else {
        return parse_list_slow(bytes, list_key);
    };
    match envelope.into_checked()? {
        (Some(ObjectList(Some(items))), _) => Ok(items),
        // The list may sit inside `Msg`; the slow path looks there.
        _ => parse_list_slow(bytes, list_key),
    }
}

fn parse_list_slow<T: DeserializeOwned>(
    bytes: &[u8],
    list_key: &'static str,
) -> Result<Vec<T>, ErrorKind> {
    let v = reply::parse_json(bytes)?;
    reply::check_status(&v)?;
    let items = reply::data_list(&v, list_key).ok_or_else(|| no_data(Some(list_key)))?;
    Ok(items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|obj| T::deserialize(obj).ok())
        .collect())
}

fn no_data(list_key: Option<&str>) -> ErrorKind {
    ErrorKind::UnexpectedShape(match list_key {
        Some(key) => format!("success reply without a {key} list or Msg data"),
        None => "success reply without a Msg object".into(),
    })
}
