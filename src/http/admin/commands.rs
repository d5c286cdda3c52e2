//! `POST /admin/miners/{miner}/commands/{command}`: one allow-listed
//! writeable command on one configured miner, with the parameters of the
//! JSON body (each value sent to the miner as a string). The answer is the
//! miner's decrypted reply. `?dry_run=true` checks everything but sends
//! nothing.

use super::audit::{self, AuditRecord, Source};
use super::{json, json_error, AdminState};
use crate::http::server::{read_body, Body};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use serde_json::{Map, Value};
use std::net::SocketAddr;

/// The writeable commands of API v2 (see the protocol notes), used to keep
/// the `command` metric label bounded.
pub const KNOWN_WRITE_COMMANDS: &[&str] = crate::protocol::codes::WRITE_COMMANDS;

/// Most parameters one command may carry.
const MAX_PARAMS: usize = 32;

/// One request to the command route.
#[derive(Debug)]
pub struct Call {
    pub miner_key: String,
    pub command: String,
    pub dry_run: bool,
    pub peer: SocketAddr,
}

/// Reads `?dry_run=...`; any other query parameter is refused, so that a
/// misspelt `dry_run` never turns into a real command.
pub fn dry_run_query(query: Option<&str>) -> Result<bool, String> {
    let mut dry_run = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == "dry_run" && dry_run.is_some() {
            // `dry_run=true&dry_run=false`: which one was meant?
            return Err("dry_run given more than once".into());
        }
        match (key.as_ref(), value.as_ref()) {
            ("dry_run", "" | "1" | "true") => dry_run = Some(true),
            ("dry_run", "0" | "false") => dry_run = Some(false),
            ("dry_run", _) => return Err("dry_run must be true or false".into()),
            (other, _) => {
                return Err(format!(
                    "unknown query parameter {:?}",
                    crate::error::truncate_for_log(other, 32)
                ))
            }
        }
    }
    Ok(dry_run.unwrap_or(false))
}

/// The body's parameters as strings. An empty body means none.
pub fn parse_params(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("body must be a JSON object of parameters".into());
    };
    if object.len() > MAX_PARAMS {
        return Err(format!("at most {MAX_PARAMS} parameters"));
    }
    let mut params = Map::with_capacity(object.len());
    for (key, value) in object {
        let key_ok = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok {
            return Err(format!(
                "parameter name {:?} is not [A-Za-z0-9_]{{1,64}}",
                crate::error::truncate_for_log(&key, 32)
            ));
        }
        if key == "cmd" || key == "token" {
            return Err(format!("parameter {key:?} is reserved by the protocol"));
        }
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(format!(
                    "parameter {key:?} must be a string, number or bool"
                ))
            }
        };
        params.insert(key, Value::String(text));
    }
    Ok(params)
}

/// Handles an authenticated request to the command route.
pub async fn run(state: &AdminState, body: Incoming, call: Call) -> Response<Body> {
    let no_params = Map::new();
    let refuse = |status, reason: &str, message: &str, miner: Option<&super::AdminMiner>| {
        finish(state, &call, miner, &no_params, "refused", Some(reason), 0);
        json_error(status, reason, message)
    };
    if !state.is_allowed(&call.command) {
        let message = format!(
            "command {:?} is not in the admin allow list",
            crate::error::truncate_for_log(&call.command, 64)
        );
        return refuse(StatusCode::FORBIDDEN, "not_allowed", &message, None);
    }
    let directory = state.directory();
    let Some(miner) = directory.find(&call.miner_key) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "unknown_miner",
            "no such miner in the configuration",
            None,
        );
    };
    let policy = state.policy();
    let bytes = match read_body(body, policy.max_body_bytes, policy.body_timeout).await {
        Ok(b) => b,
        Err(resp) => {
            finish(
                state,
                &call,
                Some(miner),
                &no_params,
                "refused",
                Some("bad_body"),
                0,
            );
            return resp;
        }
    };
    let params = match parse_params(&bytes) {
        Ok(p) => p,
        Err(message) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_parameters",
                &message,
                Some(miner),
            );
        }
    };
    // Without a password, or an API to speak, nothing can be sent.
    let api = if miner.password.as_ref().is_none_or(|p| p.is_empty()) {
        Err(super::ExecError::NoPassword)
    } else {
        state.api_for(miner)
    };
    let api = match api {
        Ok(api) => api,
        Err(e) => {
            finish(
                state,
                &call,
                Some(miner),
                &params,
                "refused",
                Some(e.reason()),
                0,
            );
            return json_error(StatusCode::CONFLICT, e.reason(), &e.message());
        }
    };
    let summary = serde_json::json!({
        "miner": miner.name,
        "address": miner.addr.to_string(),
        "command": call.command,
    });
    if call.dry_run {
        finish(state, &call, Some(miner), &params, "dry_run", None, 0);
        let mut body = summary;
        body["result"] = "dry_run".into();
        body["params"] =
            serde_json::from_str(&audit::redacted(&call.command, &params)).unwrap_or_default();
        return json(StatusCode::OK, &body);
    }
    match state
        .sessions()
        .exec(miner, api, &call.command, &params)
        .await
    {
        Ok(reply) => {
            state.app.miner_changed(&miner.addr);
            if call.command == "power_on" {
                if let Some(w) = state.webhook_memory() {
                    w.forget_power_off(&miner.addr);
                }
            }
            finish(state, &call, Some(miner), &params, "ok", None, 1);
            let mut body = summary;
            body["result"] = "ok".into();
            body["reply"] = reply;
            json(StatusCode::OK, &body)
        }
        Err(e) => {
            finish(
                state,
                &call,
                Some(miner),
                &params,
                "error",
                Some(e.reason()),
                1,
            );
            let status = match &e {
                super::ExecError::Miner(m) if is_timeout(&m.kind) => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            let mut body = summary;
            body["result"] = "error".into();
            body["reason"] = e.reason().into();
            body["error"] = e.message().into();
            json(status, &body)
        }
    }
}

fn is_timeout(kind: &crate::error::ErrorKind) -> bool {
    use crate::error::ErrorKind as K;
    matches!(kind, K::Timeout | K::ConnectTimeout | K::DeadlineExceeded)
}

/// Counts the action and writes its audit line.
fn finish(
    state: &AdminState,
    call: &Call,
    miner: Option<&super::AdminMiner>,
    params: &Map<String, Value>,
    result: &str,
    reason: Option<&str>,
    attempts: u32,
) {
    state
        .app
        .telemetry
        .admin_commands
        .with_label_values(&[state.command_label(&call.command), result])
        .inc();
    audit::record(&AuditRecord {
        source: Source::Api,
        token_name: &state.policy().token_name,
        peer: call.peer,
        miner: miner.map_or(call.miner_key.as_str(), |m| m.name.as_str()),
        address: miner.map(|m| m.addr.to_string()),
        command: &crate::error::truncate_for_log(&call.command, 64),
        params,
        result,
        reason,
        alert: None,
        attempts,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_become_strings() {
        let p = parse_params(br#"{"percent": 90, "respbefore": true, "mode": "low", "x": 1.5}"#)
            .expect("valid");
        assert_eq!(p["percent"], "90");
        assert_eq!(p["respbefore"], "true");
        assert_eq!(p["mode"], "low");
        assert_eq!(p["x"], "1.5");
        assert!(parse_params(b"").expect("empty").is_empty());
        assert!(parse_params(b" \n").expect("blank").is_empty());
    }

    #[test]
    fn bad_params_are_refused() {
        let cases: [&[u8]; 10] = [
            b"null",
            b"[]",
            b"\"x\"",
            b"{\"a\":null}",
            b"{\"a\":[1]}",
            b"{\"a\":{}}",
            b"{\"cmd\":\"factory_reset\"}",
            b"{\"token\":\"x\"}",
            b"{\"a b\":\"x\"}",
            b"{\"a\":",
        ];
        for case in cases {
            assert!(
                parse_params(case).is_err(),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        let many: String = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(parse_params(many.as_bytes()).is_err());
    }

    #[test]
    fn dry_run_query_is_strict() {
        assert_eq!(dry_run_query(None), Ok(false));
        assert_eq!(dry_run_query(Some("dry_run=true")), Ok(true));
        assert_eq!(dry_run_query(Some("dry_run")), Ok(true));
        assert_eq!(dry_run_query(Some("dry_run=0")), Ok(false));
        assert!(dry_run_query(Some("dryrun=1")).is_err());
        assert!(dry_run_query(Some("dry_run=maybe")).is_err());
        assert!(dry_run_query(Some("dry_run=true&dry_run=false")).is_err());
        assert!(dry_run_query(Some("dry_run=true&dry_run=true")).is_err());
    }
}
