//! API v3 replies: `{"code":0,"when":<unix s>,"msg":<data>,"desc":"<cmd>"}`.
//!
//! `code` 0 is success and `msg` holds the data (an object, or `"ok"` for a
//! write). Any other code is an error whose `msg` is a short text. Replies
//! are never encrypted, not even for writes.

use serde_json::Value;

use crate::error::{truncate_for_log, ErrorKind};

/// Reply codes from the vendor's API document ("code details").
pub mod code {
    /// Success.
    pub const OK: i64 = 0;
    /// Failed: a bad value, an invalid JSON request, or a param the current
    /// state refuses (an idle miner refuses a `pools`-only status).
    pub const FAILED: i64 = -1;
    /// Invalid command, or an invalid param value.
    pub const INVALID_COMMAND: i64 = -2;
    /// Invalid JSON item: in practice a required param is missing.
    pub const INVALID_JSON_ITEM: i64 = -3;
    /// No permission: write switch off, default password still set, or a
    /// token that does not verify (wrong password, stale salt).
    pub const NO_PERMISSION: i64 = -4;
    /// Out of memory (document only; never seen in client code).
    pub const OUT_OF_MEMORY: i64 = -5;
}

/// Longest miner message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 160;

/// One parsed reply envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub code: i64,
    /// The miner's clock when it answered (unix seconds), if sent.
    pub when: Option<i64>,
    /// The data (success) or the error text (failure). `Null` if absent.
    pub msg: Value,
    /// The command this reply answers, if sent.
    pub desc: Option<String>,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.code == code::OK
    }

    /// The data of a successful reply, or the typed error of a failed one.
    pub fn into_msg(self) -> Result<Value, ErrorKind> {
        if self.is_ok() {
            Ok(self.msg)
        } else {
            Err(error_for_code(self.code, &self.msg))
        }
    }
}

/// Parses one frame's payload into a [`Reply`]. Lenient about what does not
/// matter (trailing NULs or whitespace, `code` sent as a numeric string),
/// strict about what does (a JSON object with a `code`).
pub fn parse_reply(payload: &[u8]) -> Result<Reply, ErrorKind> {
    let text = match payload.iter().position(|&b| b == 0) {
        Some(nul) => payload.get(..nul).unwrap_or(payload),
        None => payload,
    };
    let text = trim_ascii(text);
    if text.is_empty() {
        return Err(ErrorKind::EmptyReply);
    }
    let value: Value = serde_json::from_slice(text)
        .map_err(|e| ErrorKind::NotJson(truncate_for_log(&e.to_string(), MAX_MESSAGE_CHARS)))?;
    let Value::Object(mut map) = value else {
        return Err(ErrorKind::UnexpectedShape(
            "v3 reply is not a JSON object".into(),
        ));
    };
    let Some(code) = map.get("code").and_then(as_code) else {
        let hint = if map.contains_key("STATUS") {
            "v2-style reply (STATUS) where a v3 reply was expected"
        } else {
            "v3 reply has no integer code"
        };
        return Err(ErrorKind::UnexpectedShape(hint.into()));
    };
    let when = map.get("when").and_then(as_code);
    let desc = map.get("desc").and_then(Value::as_str).map(str::to_owned);
    let msg = map.remove("msg").unwrap_or(Value::Null);
    Ok(Reply {
        code,
        when,
        msg,
        desc,
    })
}

/// [`parse_reply`] then [`Reply::into_msg`]: the data or the typed error.
pub fn reply_msg(payload: &[u8]) -> Result<Value, ErrorKind> {
    parse_reply(payload)?.into_msg()
}

/// The error for a non-zero code. Every code maps to
/// `ErrorKind::Miner { code, message }` with the miner's text cut short;
/// [`is_no_permission`] recognises the `-4` case. (A dedicated
/// `PermissionDenied` kind is proposed to the lead; until then the code
/// carries the meaning.)
pub fn error_for_code(code: i64, msg: &Value) -> ErrorKind {
    let text = match msg {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let message = if text.trim().is_empty() {
        describe_code(code).to_owned()
    } else {
        truncate_for_log(text.trim(), MAX_MESSAGE_CHARS)
    };
    ErrorKind::Miner {
        code: Some(code),
        message,
    }
}

/// Whether an error is the v3 "no permission" answer (`-4`). On a write,
/// the caller may fetch the salt again and retry once (the salt may have
/// changed); if it persists, writes are off or the password is wrong.
pub fn is_no_permission(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Miner {
            code: Some(code::NO_PERMISSION),
            ..
        }
    )
}

/// A short English name for a code, used when the miner sent no text.
pub fn describe_code(c: i64) -> &'static str {
    match c {
        code::OK => "success",
        code::FAILED => "command failed",
        code::INVALID_COMMAND => "invalid command",
        code::INVALID_JSON_ITEM => "invalid or missing JSON item",
        code::NO_PERMISSION => "no permission",
        code::OUT_OF_MEMORY => "out of memory",
        _ => "unknown reply code",
    }
}

fn as_code(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_gives_msg() {
        let r =
            parse_reply(br#"{"code":0,"when":1692685512,"msg":"ok","desc":"set.miner.service"}"#)
                .unwrap();
        assert!(r.is_ok());
        assert_eq!(r.when, Some(1692685512));
        assert_eq!(r.desc.as_deref(), Some("set.miner.service"));
        assert_eq!(r.into_msg().unwrap(), json!("ok"));
    }

    #[test]
    fn no_permission_is_recognised() {
        let err =
            reply_msg(br#"{"code":-4,"when":1,"msg":"no permission","desc":"set.miner.service"}"#)
                .unwrap_err();
        assert_eq!(
            err,
            ErrorKind::Miner {
                code: Some(-4),
                message: "no permission".into()
            }
        );
        assert!(is_no_permission(&err));
        let other = reply_msg(br#"{"code":-2,"msg":"invalid command"}"#).unwrap_err();
        assert!(!is_no_permission(&other));
    }

    #[test]
    fn empty_error_text_is_described() {
        let err = reply_msg(br#"{"code":-3}"#).unwrap_err();
        assert_eq!(
            err,
            ErrorKind::Miner {
                code: Some(-3),
                message: "invalid or missing JSON item".into()
            }
        );
    }

    #[test]
    fn long_error_text_is_cut() {
        let long = "x".repeat(5000);
        let payload = format!(r#"{{"code":-1,"msg":"{long}"}}"#);
        let ErrorKind::Miner { message, .. } = reply_msg(payload.as_bytes()).unwrap_err() else {
            panic!("expected a miner error");
        };
        assert!(message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn lenient_about_padding_and_string_codes() {
        let r = parse_reply(b" {\"code\":\"0\",\"msg\":{}}\n\0\0garbage").unwrap();
        assert_eq!(r.code, 0);
        assert_eq!(r.msg, json!({}));
        assert_eq!(r.when, None);
    }

    #[test]
    fn malformed_replies_are_typed_errors() {
        assert_eq!(parse_reply(b""), Err(ErrorKind::EmptyReply));
        assert_eq!(parse_reply(b"  \0"), Err(ErrorKind::EmptyReply));
        assert!(matches!(
            parse_reply(b"{\"code\":"),
            Err(ErrorKind::NotJson(_))
        ));
        assert!(matches!(
            parse_reply(b"[1,2]"),
            Err(ErrorKind::UnexpectedShape(_))
        ));
        assert!(matches!(
            parse_reply(br#"{"msg":"ok"}"#),
            Err(ErrorKind::UnexpectedShape(_))
        ));
        assert!(matches!(
            parse_reply(br#"{"code":1.5}"#),
            Err(ErrorKind::UnexpectedShape(_))
        ));
        let v2 = parse_reply(br#"{"STATUS":"E","When":1,"Code":14,"Msg":"invalid cmd"}"#);
        assert!(matches!(v2, Err(ErrorKind::UnexpectedShape(m)) if m.contains("v2")));
    }
}
