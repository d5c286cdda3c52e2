//! The typed error of every miner interaction: which miner, which command,
//! and what went wrong. Each kind maps to a short, stable `reason` label that
//! the exporter puts on `whatsminer_up`'s companion metrics, so an operator
//! can tell "miner unplugged" from "API disabled" from "wrong password".
//!
//! Errors never carry secrets: the password, derived keys and tokens are
//! not fields of any variant, and miner messages are cut to a short length.

use std::fmt;

/// What went wrong talking to a miner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid miner address: {0}")]
    InvalidAddress(String),
    #[error("connection refused (miner offline or its API is disabled)")]
    ConnectRefused,
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("no complete reply before the deadline")]
    Timeout,
    #[error("connection reset after {received} bytes")]
    ConnectionReset { received: usize },
    #[error("connection closed without a reply (API disabled or miner busy)")]
    EmptyReply,
    #[error("I/O error: {0}")]
    Io(String),
    #[error("reply larger than the {limit}-byte limit")]
    ReplyTooLarge { limit: usize },
    #[error("reply is not valid JSON: {0}")]
    NotJson(String),
    #[error("reply has an unexpected shape: {0}")]
    UnexpectedShape(String),
    #[error("miner is at its connection limit (over max connect)")]
    OverMaxConnect,
    #[error("the miner's write API is disabled")]
    WriteApiDisabled,
    #[error("miner rejected the token (code 135)")]
    InvalidToken,
    #[error("too many tokens for this client (code 136)")]
    TokenLimit,
    #[error("miner could not decrypt the command: wrong admin password?")]
    WrongPassword,
    #[error("could not decrypt the miner's reply: {0}")]
    Decrypt(String),
    #[error("miner answered error{}: {message}", code_text(*.code))]
    Miner { code: Option<i64>, message: String },
    #[error("permission denied by the miner (write API off, default password or bad token)")]
    PermissionDenied,
    #[error("scrape deadline reached before the miner's turn (raise concurrency or the timeout)")]
    DeadlineExceeded,
    #[error("{0}")]
    Other(String),
}

/// ` 14` for a code, nothing without one (never Rust's `Some(14)`).
fn code_text(code: Option<i64>) -> String {
    code.map(|c| format!(" {c}")).unwrap_or_default()
}

impl ErrorKind {
    /// A short snake_case label for metrics (`reason`) and logs. Stable: the
    /// dashboards and alert rules match on these.
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorKind::InvalidAddress(_) => "invalid_address",
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ConnectionReset { .. } => "connection_reset",
            ErrorKind::EmptyReply => "empty_reply",
            ErrorKind::Io(_) => "io",
            ErrorKind::ReplyTooLarge { .. } => "reply_too_large",
            ErrorKind::NotJson(_) => "invalid_json",
            ErrorKind::UnexpectedShape(_) => "unexpected_shape",
            ErrorKind::OverMaxConnect => "over_max_connect",
            ErrorKind::WriteApiDisabled => "write_api_disabled",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::TokenLimit => "token_limit",
            ErrorKind::WrongPassword => "wrong_password",
            ErrorKind::Decrypt(_) => "decrypt_failed",
            ErrorKind::Miner { .. } => "miner_error",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::DeadlineExceeded => "deadline_exceeded",
            ErrorKind::Other(_) => "other",
        }
    }

    /// Every reason label, for pre-initialising counters and for docs.
    pub const ALL_REASONS: &'static [&'static str] = &[
        "invalid_address",
        "connect_refused",
        "connect_timeout",
        "timeout",
        "connection_reset",
        "empty_reply",
        "io",
        "reply_too_large",
        "invalid_json",
        "unexpected_shape",
        "over_max_connect",
        "write_api_disabled",
        "invalid_token",
        "token_limit",
        "wrong_password",
        "decrypt_failed",
        "miner_error",
        "permission_denied",
        "deadline_exceeded",
        "other",
    ];

    /// Whether trying again soon may succeed (busy miner, flaky link). A
    /// caller that retries must still respect its own deadline.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorKind::OverMaxConnect
                | ErrorKind::ConnectionReset { .. }
                | ErrorKind::EmptyReply
                | ErrorKind::InvalidToken
        )
    }
}

/// An error from one command on one miner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerError {
    /// The miner's address (`host:port`) as configured.
    pub miner: String,
    /// The command name, e.g. `summary` or `power_off`.
    pub command: String,
    pub kind: ErrorKind,
}

impl MinerError {
    pub fn new(miner: impl Into<String>, command: impl Into<String>, kind: ErrorKind) -> Self {
        MinerError {
            miner: miner.into(),
            command: command.into(),
            kind,
        }
    }

    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

impl fmt::Display for MinerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "miner {} command {}: {}",
            self.miner, self.command, self.kind
        )
    }
}

impl std::error::Error for MinerError {}

/// Cuts text that came from the network to a length that is safe to log.
pub(crate) fn truncate_for_log(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_miner_command_and_cause() {
        let e = MinerError::new("127.0.0.1:4028", "summary", ErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "miner 127.0.0.1:4028 command summary: no complete reply before the deadline"
        );
        assert_eq!(e.reason(), "timeout");
    }

    #[test]
    fn miner_error_codes_are_plain_numbers() {
        let with = ErrorKind::Miner {
            code: Some(14),
            message: "invalid cmd".into(),
        };
        assert_eq!(with.to_string(), "miner answered error 14: invalid cmd");
        let without = ErrorKind::Miner {
            code: None,
            message: "odd".into(),
        };
        assert_eq!(without.to_string(), "miner answered error: odd");
    }

    #[test]
    fn every_reason_is_listed() {
        let kinds = [
            ErrorKind::InvalidAddress(String::new()),
            ErrorKind::ConnectRefused,
            ErrorKind::ConnectTimeout,
            ErrorKind::Timeout,
            ErrorKind::ConnectionReset { received: 0 },
            ErrorKind::EmptyReply,
            ErrorKind::Io(String::new()),
            ErrorKind::ReplyTooLarge { limit: 1 },
            ErrorKind::NotJson(String::new()),
            ErrorKind::UnexpectedShape(String::new()),
            ErrorKind::OverMaxConnect,
            ErrorKind::WriteApiDisabled,
            ErrorKind::InvalidToken,
            ErrorKind::TokenLimit,
            ErrorKind::WrongPassword,
            ErrorKind::Decrypt(String::new()),
            ErrorKind::Miner {
                code: None,
                message: String::new(),
            },
            ErrorKind::PermissionDenied,
            ErrorKind::DeadlineExceeded,
            ErrorKind::Other(String::new()),
        ];
        assert_eq!(kinds.len(), ErrorKind::ALL_REASONS.len());
        for k in kinds {
            assert!(
                ErrorKind::ALL_REASONS.contains(&k.reason()),
                "{}",
                k.reason()
            );
        }
    }

    #[test]
    fn truncate_is_char_safe() {
        assert_eq!(truncate_for_log("ééé", 2), "éé…");
        assert_eq!(truncate_for_log("ab", 2), "ab");
    }
}
