//! The `get_error_code` reply: the miner's active error codes.
//!
//! Firmware writes the `Msg.error_code` list in several forms, all accepted:
//! - objects `{"<code>":"<time>"}`, optionally with `"reason":"<text>"`;
//! - a flat list alternating code and time, `["329","2022-01-17 11:28:11"]`
//!   (seen on 2022 firmware);
//! - bare codes, `[2350]`;
//! - one object of codes, `{"532":"<time>", ...}`.
//!
//! Not on the hot path, so this reads a `serde_json::Value`.

use serde_json::{Map, Value};

/// At most this many codes are kept from one reply.
const MAX_CODES: usize = 256;

/// One active error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorCode {
    /// The code as the firmware writes it, e.g. `"531"`.
    pub code: String,
    /// When it was raised, as the firmware writes it (`"2025-03-12 14:52:35"`).
    pub time: Option<String>,
    /// The firmware's explanation, when it sends one.
    pub reason: Option<String>,
}

impl ErrorCode {
    /// The code as a number, when it is one.
    pub fn number(&self) -> Option<u32> {
        self.code.trim().parse().ok()
    }
}

/// The `get_error_code` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorCodes(pub Vec<ErrorCode>);

impl ErrorCodes {
    /// Reads the error list from a `Msg` object (`error_code`, or
    /// `error-code` as API v3 names it). `None` when there is no list.
    pub(crate) fn from_msg(msg: &Map<String, Value>) -> Option<ErrorCodes> {
        let list = msg.get("error_code").or_else(|| msg.get("error-code"))?;
        let mut out = Vec::new();
        match list {
            Value::Array(items) => {
                for item in items {
                    read_item(item, &mut out);
                    if out.len() >= MAX_CODES {
                        break;
                    }
                }
            }
            Value::Object(codes) => read_object(codes, &mut out),
            _ => return None,
        }
        out.truncate(MAX_CODES);
        Some(ErrorCodes(out))
    }
}

fn read_item(item: &Value, out: &mut Vec<ErrorCode>) {
    match item {
        Value::Object(obj) => read_object(obj, out),
        Value::Number(n) => out.push(ErrorCode {
            code: n.to_string(),
            ..ErrorCode::default()
        }),
        Value::String(s) if looks_like_code(s) => out.push(ErrorCode {
            code: s.trim().to_string(),
            ..ErrorCode::default()
        }),
        // In the flat form a time follows its code.
        Value::String(s) => {
            if let Some(last) = out.last_mut().filter(|e| e.time.is_none()) {
                last.time = Some(s.clone());
            }
        }
        _ => {}
    }
}

fn read_object(obj: &Map<String, Value>, out: &mut Vec<ErrorCode>) {
    let reason = obj.get("reason").and_then(text);
    for (key, value) in obj {
        if key == "reason" || out.len() >= MAX_CODES {
            continue;
        }
        out.push(ErrorCode {
            code: key.trim().to_string(),
            time: text(value),
            reason: reason.clone(),
        });
    }
}

fn looks_like_code(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
