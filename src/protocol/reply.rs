//! Classification of a plain (unencrypted or already decrypted) v2 reply:
//! is it JSON, did the miner say success or error, where does the data sit,
//! and is it an encrypted envelope that must be opened first.
//!
//! Firmware differs in three ways this module absorbs:
//! - `STATUS` is a list of one object on cgminer-style success replies, but a
//!   plain string (`"S"`/`"E"`) on `get_*` replies, on every error, and on the
//!   wrapped replies of API 2.0.5+ firmware.
//! - The data of a command is the first element of a list (`SUMMARY`) or the
//!   `Msg` object, depending on firmware.
//! - Some builds emit invalid JSON (a `\'` escape, a trailing comma, ...).
//!   [`parse_json`] repairs the known defects with
//!   [`crate::protocol::repair`], and only when a strict parse has failed,
//!   so valid replies pay nothing for it.
//!
//! This is the slower `serde_json::Value` path. The typed parsers in
//! `crate::client::types` read summary/devs/pools straight from the bytes
//! and come here only for odd shapes and errors.

use serde_json::{Map, Value};

use crate::error::{truncate_for_log, ErrorKind};
use crate::protocol::{codes, repair};
use crate::transport::clean_reply;

/// Longest miner message kept in an error (characters).
const MAX_MESSAGE_CHARS: usize = 120;

/// Parses a reply (bytes already cut at the first NUL and trimmed) into a
/// JSON value. Replies with a known firmware defect are repaired (and the
/// repair counted, see [`repair::counted`]). The error names the kind and position of the fault, never the
/// reply's content.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ErrorKind> {
    let bytes = clean_reply(bytes);
    if bytes.is_empty() {
        return Err(ErrorKind::NotJson("empty reply".into()));
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(first) => {
            let Some((fixed, made)) = repair::repair(bytes) else {
                return Err(not_json(&first));
            };
            // A repair that still does not parse reports the original fault.
            let value = serde_json::from_slice(&fixed).map_err(|_| not_json(&first))?;
            repair::note(made);
            Ok(value)
        }
    }
}

/// A snippet-free description of a serde_json error: its category and
/// position only (serde's own message can quote the offending input).
pub(crate) fn json_error_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected type or value",
        Category::Eof => "reply ends early (cut off?)",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn not_json(e: &serde_json::Error) -> ErrorKind {
    ErrorKind::NotJson(json_error_reason(e))
}

/// What the `STATUS` letter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusLetter {
    /// `S` success, `I` info, `W` warning: the reply carries data.
    Success,
    /// `E` error, `F` fatal.
    Error,
    Unknown,
}

pub(crate) fn status_letter(text: &str) -> StatusLetter {
    match text.trim() {
        "S" | "s" | "I" | "i" | "W" | "w" => StatusLetter::Success,
        "E" | "e" | "F" | "f" => StatusLetter::Error,
        _ => StatusLetter::Unknown,
    }
}

/// Checks the `STATUS` of a parsed reply. `Ok(())` for success (`S`, `I`,
/// `W`), the matching [`ErrorKind`] for an error reply, `UnexpectedShape`
/// when the reply is not an object or has no usable `STATUS`.
///
/// An encrypted envelope `{"enc":"..."}` has no `STATUS`: check
/// [`encrypted_payload`] first.
pub fn check_status(v: &Value) -> Result<(), ErrorKind> {
    let Some(obj) = v.as_object() else {
        return Err(ErrorKind::UnexpectedShape(
            "reply is not a JSON object".into(),
        ));
    };
    let (letter, holder) = match obj.get("STATUS") {
        Some(Value::String(s)) => (s.as_str(), obj),
        Some(Value::Array(list)) => match list.first() {
            Some(Value::Object(entry)) => match entry.get("STATUS") {
                Some(Value::String(s)) => (s.as_str(), entry),
                _ => return Err(shape("STATUS entry has no status letter")),
            },
            _ => return Err(shape("STATUS list is empty or not of objects")),
        },
        Some(Value::Object(entry)) => match entry.get("STATUS") {
            Some(Value::String(s)) => (s.as_str(), entry),
            _ => return Err(shape("STATUS object has no status letter")),
        },
        Some(_) => return Err(shape("STATUS is neither a string nor a list")),
        None => return Err(shape("reply has no STATUS field")),
    };
    match status_letter(letter) {
        StatusLetter::Success => Ok(()),
        StatusLetter::Error => {
            let code = holder.get("Code").and_then(value_as_code);
            let message = holder.get("Msg").and_then(Value::as_str).unwrap_or("");
            Err(classify_error(code, message))
        }
        StatusLetter::Unknown => Err(shape("unknown STATUS letter")),
    }
}

fn shape(reason: &str) -> ErrorKind {
    ErrorKind::UnexpectedShape(reason.into())
}

/// A status code sent as a number or as a numeric string.
fn value_as_code(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Maps an error reply's code and message to an [`ErrorKind`].
///
/// Code 136 wins over the text: a public capture of a `get_token` refusal
/// reads `{"STATUS":"E","Code":136,"Msg":"over max connect"}`, which is the
/// token limit (back off), not a busy miner (retry soon). Without code 136,
/// "over max connect" means the connection slots are full.
pub fn classify_error(code: Option<i64>, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    if code == Some(codes::TOKEN_OVER_MAX) {
        return ErrorKind::TokenLimit;
    }
    if lower.contains(codes::OVER_MAX_CONNECT_MSG) {
        return ErrorKind::OverMaxConnect;
    }
    if code == Some(codes::TOKEN_INVALID)
        || lower.contains("token error")
        || lower.contains("invalid token")
        || lower.contains("check token")
    {
        return ErrorKind::InvalidToken;
    }
    // The text alone is specific enough; the code seen with it varies.
    if lower.contains(codes::ENC_JSON_LOAD_ERR_MSG) {
        return ErrorKind::WrongPassword;
    }
    if lower.contains("access write cmd") {
        return ErrorKind::WriteApiDisabled;
    }
    ErrorKind::Miner {
        code,
        message: truncate_for_log(message, MAX_MESSAGE_CHARS),
    }
}

/// Whether the miner said it no longer has the command (2026 firmware
/// answers `devdetails` with code 132 "This command is deprecated."):
/// "not available here", not a failure.
pub fn is_deprecated(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Miner { message, .. }
        if message.to_ascii_lowercase().contains(codes::DEPRECATED_MSG))
}

/// The data object of a command, accepting both firmware forms: the first
/// element of the list under `list_key` (e.g. `"SUMMARY"`) or the `Msg`
/// object. `None` when neither is there (for example on an error reply).
pub fn data_object<'a>(v: &'a Value, list_key: &str) -> Option<&'a Map<String, Value>> {
    let obj = v.as_object()?;
    if let Some(Value::Array(list)) = obj.get(list_key) {
        if let Some(Value::Object(first)) = list.first() {
            return Some(first);
        }
    }
    obj.get("Msg").and_then(Value::as_object)
}

/// The list of a multi-entry command (`DEVS`, `POOLS`, `DEVDETAILS`): at the
/// top level under `list_key`, inside a `Msg` object under `list_key`, or a
/// `Msg` that is itself a list.
pub fn data_list<'a>(v: &'a Value, list_key: &str) -> Option<&'a Vec<Value>> {
    let obj = v.as_object()?;
    if let Some(Value::Array(list)) = obj.get(list_key) {
        return Some(list);
    }
    match obj.get("Msg") {
        Some(Value::Object(msg)) => msg.get(list_key).and_then(Value::as_array),
        Some(Value::Array(list)) => Some(list),
        _ => None,
    }
}

/// The base64 ciphertext of an encrypted reply `{"enc":"<base64>"}`, or
/// `None` for a plain reply. (Requests carry `"enc":1`, a number, so a
/// string is what tells a reply apart.)
pub fn encrypted_payload(v: &Value) -> Option<&str> {
    v.as_object()?.get("enc")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status_of(text: &str) -> Result<(), ErrorKind> {
        check_status(&parse_json(text.as_bytes())?)
    }

    #[test]
    fn parse_json_reports_position_not_content() {
        let err = parse_json(b"{\"secret-ish\": tru").unwrap_err();
        let ErrorKind::NotJson(reason) = &err else {
            panic!("{err:?}")
        };
        assert!(!reason.contains("secret-ish"), "{reason}");
        assert!(reason.contains("column"), "{reason}");
        assert_eq!(
            parse_json(b" \0 ").unwrap_err(),
            ErrorKind::NotJson("empty reply".into())
        );
    }

    #[test]
    fn trailing_commas_and_non_finite_numbers_are_repaired() {
        // The first form was observed on fw 20220422.18.REL get_miner_info.
        let v = parse_json(br#"{"Msg":{"ledstat":"auto",},"Description":""}"#).unwrap();
        assert_eq!(v["Msg"]["ledstat"], "auto");
        let v = parse_json(br#"{"a":nan,"b":-inf,"c":[1,2, ],"d":"nan,}"}"#).unwrap();
        assert_eq!(v, json!({"a":null,"b":null,"c":[1,2],"d":"nan,}"}));
    }

    #[test]
    fn success_forms() {
        assert_eq!(
            status_of(r#"{"STATUS":[{"STATUS":"S","Msg":"Summary"}]}"#),
            Ok(())
        );
        assert_eq!(status_of(r#"{"STATUS":"S","Code":131,"Msg":{}}"#), Ok(()));
        assert_eq!(
            status_of(r#"{"STATUS":[{"STATUS":"I","Msg":"x"}]}"#),
            Ok(())
        );
    }

    #[test]
    fn shape_errors() {
        for text in [
            "[1,2]",
            "{}",
            r#"{"STATUS":[]}"#,
            r#"{"STATUS":5}"#,
            r#"{"STATUS":"Q"}"#,
        ] {
            let err = status_of(text).unwrap_err();
            assert!(
                matches!(err, ErrorKind::UnexpectedShape(_)),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn error_replies_map_to_kinds() {
        let cases = [
            (
                r#"{"STATUS":"E","Code":136,"Msg":"over max connect"}"#,
                ErrorKind::TokenLimit,
            ),
            (
                r#"{"STATUS":"E","Msg":"Over Max Connect"}"#,
                ErrorKind::OverMaxConnect,
            ),
            (
                r#"{"STATUS":"E","Code":135,"Msg":"check token err"}"#,
                ErrorKind::InvalidToken,
            ),
            (
                r#"{"STATUS":"E","Code":"135","Msg":""}"#,
                ErrorKind::InvalidToken,
            ),
            (
                r#"{"STATUS":"E","Code":14,"Msg":"invalid token"}"#,
                ErrorKind::InvalidToken,
            ),
            (
                r#"{"STATUS":"E","Code":23,"Msg":"enc json load err"}"#,
                ErrorKind::WrongPassword,
            ),
            (
                r#"{"STATUS":"E","Code":45,"Msg":"can't access write cmd"}"#,
                ErrorKind::WriteApiDisabled,
            ),
            (
                r#"{"STATUS":[{"STATUS":"E","Code":14,"Msg":"invalid cmd"}]}"#,
                ErrorKind::Miner {
                    code: Some(14),
                    message: "invalid cmd".into(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(status_of(text), Err(want), "{text}");
        }
    }

    #[test]
    fn miner_message_is_truncated() {
        let long = "x".repeat(1000);
        let Err(ErrorKind::Miner {
            code: None,
            message,
        }) = check_status(&json!({"STATUS":"E","Msg":long}))
        else {
            panic!("expected a miner error")
        };
        assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn data_object_accepts_both_forms() {
        let list = json!({"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"Elapsed":1}]});
        let wrapped = json!({"STATUS":"S","Msg":{"Elapsed":2}});
        let error = json!({"STATUS":"E","Msg":"no"});
        assert_eq!(data_object(&list, "SUMMARY").unwrap()["Elapsed"], 1);
        assert_eq!(data_object(&wrapped, "SUMMARY").unwrap()["Elapsed"], 2);
        assert!(data_object(&error, "SUMMARY").is_none());
        assert!(data_object(&json!({"SUMMARY":[]}), "SUMMARY").is_none());
    }

    #[test]
    fn data_list_forms() {
        let top = json!({"DEVS":[{"Slot":0},{"Slot":1}]});
        let nested = json!({"Msg":{"DEVS":[{"Slot":0}]}});
        let bare = json!({"Msg":[{"Slot":0}]});
        assert_eq!(data_list(&top, "DEVS").map(Vec::len), Some(2));
        assert_eq!(data_list(&nested, "DEVS").map(Vec::len), Some(1));
        assert_eq!(data_list(&bare, "DEVS").map(Vec::len), Some(1));
        assert!(data_list(&json!({"Msg":"x"}), "DEVS").is_none());
    }

    #[test]
    fn encrypted_envelope_is_detected() {
        assert_eq!(encrypted_payload(&json!({"enc":"QUJD"})), Some("QUJD"));
        assert_eq!(encrypted_payload(&json!({"enc":1,"data":"x"})), None);
        assert_eq!(encrypted_payload(&json!({"STATUS":"S"})), None);
    }
}
