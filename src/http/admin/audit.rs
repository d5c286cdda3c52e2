//! The audit trail: one structured log line (tracing target `audit`) per
//! admin action, whether it ran, was refused or was only simulated. Secrets
//! never reach it: parameters whose names look like a password or a token
//! are dropped, URLs lose their `user:password@` part, and long values are
//! cut.

use serde_json::{Map, Value};
use std::net::SocketAddr;

/// Parameter names containing any of these are left out of the log.
const SECRET_MARKERS: &[&str] = &["passwd", "password", "pwd", "token", "secret"];
/// Longest parameter value written to the log, in characters.
const MAX_LOGGED_VALUE: usize = 128;

/// Where an action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /admin/miners/{miner}/commands/{command}`.
    Api,
    /// `POST /admin/alertmanager`.
    Alertmanager,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Alertmanager => "alertmanager",
        }
    }
}

/// Everything one audit line says.
#[derive(Debug)]
pub struct AuditRecord<'a> {
    pub source: Source,
    /// The name of the token that authorised the request.
    pub token_name: &'a str,
    pub peer: SocketAddr,
    /// The miner's name, or what the caller asked for when unknown.
    pub miner: &'a str,
    pub address: Option<String>,
    pub command: &'a str,
    pub params: &'a Map<String, Value>,
    /// `ok`, `error`, `refused`, `dry_run`, or a webhook result.
    pub result: &'a str,
    /// Why, when not `ok`.
    pub reason: Option<&'a str>,
    /// The alert's fingerprint, for webhook actions.
    pub alert: Option<&'a str>,
    /// Tries made (0 when nothing was sent).
    pub attempts: u32,
}

/// Writes the audit line. Every value from the request is a string field
/// (never `%` Display): text logs quote and escape it, JSON logs escape it
/// (see `cli::logging`).
pub fn record(r: &AuditRecord<'_>) {
    let params = redacted(r.command, r.params);
    let address = r.address.as_deref().unwrap_or("");
    let reason = r.reason.unwrap_or("");
    let alert = r.alert.unwrap_or("");
    let miner = crate::error::truncate_for_log(r.miner, 256);
    if matches!(r.result, "ok" | "dry_run") {
        tracing::info!(
            target: "audit",
            source = r.source.as_str(), token_name = r.token_name, peer = %r.peer,
            miner = miner.as_str(), address, command = r.command, params = params.as_str(),
            result = r.result, reason, alert, attempts = r.attempts,
            "admin action"
        );
    } else {
        tracing::warn!(
            target: "audit",
            source = r.source.as_str(), token_name = r.token_name, peer = %r.peer,
            miner = miner.as_str(), address, command = r.command, params = params.as_str(),
            result = r.result, reason, alert, attempts = r.attempts,
            "admin action"
        );
    }
}

/// The parameters as compact JSON, without secret-looking keys. A command
/// whose own name looks secret (`update_pwd`, whose `old` and `new` are
/// passwords) keeps none.
pub fn redacted(command: &str, params: &Map<String, Value>) -> String {
    let all_secret = is_secret_name(command);
    let kept: Map<String, Value> = params
        .iter()
        .filter(|(k, _)| !all_secret && !is_secret_name(k))
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => {
                    // Pool URLs may carry `user:password@`; strip it before
                    // cutting, which could drop the `@` and keep the password.
                    let s = if s.contains("://") {
                        crate::collector::render::strip_url_credentials(s).into_owned()
                    } else {
                        s.clone()
                    };
                    Value::String(crate::error::truncate_for_log(&s, MAX_LOGGED_VALUE))
                }
                other => other.clone(),
            };
            (crate::error::truncate_for_log(k, 64), v)
        })
        .collect();
    Value::Object(kept).to_string()
}

fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| lower.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_secret_looking_parameters() {
        let params: Map<String, Value> = serde_json::from_str(
            r#"{"pool1":"stratum+tcp://p:3333","passwd1":"x1","new_PASSWORD":"x2",
                "old_pwd":"x3","Token":"x4","client_secret":"x5","percent":"90"}"#,
        )
        .expect("json");
        let text = redacted("update_pools", &params);
        assert_eq!(text, r#"{"percent":"90","pool1":"stratum+tcp://p:3333"}"#);
        for secret in ["x1", "x2", "x3", "x4", "x5"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn drops_passwords_inside_urls() {
        let long_user = "u".repeat(200);
        let params: Map<String, Value> = serde_json::from_str(&format!(
            r#"{{"pool1":"stratum+tcp://w1:s3cr3t@pool:3333","pool2":"stratum+tcp://{long_user}:s3cr3t@p:1"}}"#
        ))
        .expect("json");
        let text = redacted("update_pools", &params);
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("stratum+tcp://pool:3333"), "{text}");
    }

    #[test]
    fn cuts_long_values() {
        let mut params = Map::new();
        params.insert("note".into(), Value::from("y".repeat(1000)));
        assert!(redacted("set_led", &params).len() < 200);
    }

    #[test]
    fn password_commands_log_no_parameters() {
        let params: Map<String, Value> =
            serde_json::from_str(r#"{"old":"hunter2","new":"hunter3"}"#).expect("json");
        assert_eq!(redacted("update_pwd", &params), "{}");
    }
}
