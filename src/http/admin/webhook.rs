//! `POST /admin/alertmanager[?dry_run=true]`: turns Alertmanager
//! notifications into commands. Checks that need no network (dedupe,
//! miner, allow list, power marks, the budget) run while Alertmanager
//! waits, so the answer's `decision` is what will happen (`queued`,
//! `dry_run`, `budget_exceeded`, …); the rest (the miner's status, the
//! command and its retries) runs in a spawned task, so the answer comes
//! back at once. `?dry_run=true` makes one notification a dry run (to try a
//! route); it can never undo `[webhook] dry_run = true`.
//!
//! Retries happen only when the command certainly did not run (connection
//! refused, busy miner, rejected token, failure while fetching the token):
//! a command that timed out after it was sent may have acted, and is never
//! sent again.

mod memory;

pub use memory::Webhook;

use super::audit::{self, AuditRecord, Source};
use super::guards::{Claim, PowerMark};
use super::payload::{Alert, AlertStatus, Notification};
use super::{json, json_error, AdminMiner, AdminState, Directory, ExecError};
use crate::http::server::{read_body, Body};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use serde_json::{json, Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the webhook's own record of a power-off is trusted without
/// asking the miner (firmware answers `power_off` before acting, so its
/// status may lag for a moment).
const TRUST_OWN_POWER_OFF: Duration = Duration::from_secs(120);
/// Longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One alert's action, carried from the decision to the task.
struct Job {
    alert_id: String,
    dedupe_key: String,
    status: AlertStatus,
    action: String,
    /// The miner's name, or the label value when no miner matched.
    miner_name: String,
    miner: Option<AdminMiner>,
    peer: SocketAddr,
    /// Only say what would be done (config or `?dry_run=true`).
    dry_run: bool,
    /// Whether a budget slot was taken for this action.
    budget_taken: bool,
}

/// Handles an authenticated notification.
pub async fn handle(
    state: &Arc<AdminState>,
    body: Incoming,
    peer: SocketAddr,
    dry_run: bool,
) -> Response<Body> {
    let Some(webhook) = state.webhook() else {
        return json_error(StatusCode::NOT_FOUND, "disabled", "the webhook is disabled");
    };
    let policy = state.policy();
    let bytes = match read_body(body, policy.max_body_bytes, policy.body_timeout).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let notification = match Notification::parse(&bytes) {
        Ok(n) => n,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, "invalid_payload", &e.to_string()),
    };
    if notification.truncated_alerts > 0 {
        tracing::warn!(
            truncated = notification.truncated_alerts,
            "Alertmanager left alerts out of a notification (set max_alerts: 0 on the receiver)"
        );
    }
    let directory = state.directory();
    let decisions: Vec<Value> = notification
        .alerts
        .iter()
        .map(|alert| decide(state, &webhook, &directory, alert, peer, dry_run))
        .collect();
    state.refresh_budget_gauge();
    json(
        StatusCode::OK,
        &json!({ "status": "accepted", "alerts": decisions }),
    )
}

/// The checks that need no network; spawns the action when they pass.
/// Returns the alert's line of the response.
fn decide(
    state: &Arc<AdminState>,
    webhook: &Webhook,
    directory: &Directory,
    alert: &Alert,
    peer: SocketAddr,
    dry_run: bool,
) -> Value {
    let cfg = webhook.settings();
    state
        .app
        .telemetry
        .webhook_alerts
        .with_label_values(&[alert.status.as_str()])
        .inc();
    let firing_action = alert
        .label_or_annotation(&cfg.action_label)
        .unwrap_or(&cfg.default_action);
    let action = match alert.status {
        AlertStatus::Firing => firing_action,
        AlertStatus::Resolved if cfg.power_on_when_resolved && firing_action == "power_off" => {
            "power_on"
        }
        AlertStatus::Resolved => {
            tracing::debug!(alert = %alert.short_id(), "resolved alert: nothing to do");
            return json!({ "alert": alert.short_id(), "status": "resolved", "decision": "ignored" });
        }
    };
    let requested = alert.first_label(&cfg.miner_labels).map(|(_, v)| v);
    let mut job = Job {
        alert_id: alert.short_id(),
        dedupe_key: alert.dedupe_key(),
        status: alert.status,
        action: crate::error::truncate_for_log(action, 64),
        miner_name: requested.map_or_else(String::new, |v| crate::error::truncate_for_log(v, 256)),
        miner: None,
        peer,
        dry_run: dry_run || cfg.dry_run,
        budget_taken: false,
    };
    let now = Instant::now();
    if !webhook.guards().dedupe.first_seen(&job.dedupe_key, now) {
        return finish(state, &job, "duplicate", None, 0);
    }
    let Some(miner) = requested.and_then(|key| directory.find(key)) else {
        let reason = if requested.is_some() {
            "not_configured"
        } else {
            "no_miner_label"
        };
        return finish(state, &job, "unknown_miner", Some(reason), 0);
    };
    job.miner_name = miner.name.clone();
    job.miner = Some(miner.clone());
    if !state.is_allowed(&job.action) {
        return finish(state, &job, "refused", Some("not_allowed"), 0);
    }
    if miner.password.as_ref().is_none_or(|p| p.is_empty()) {
        return finish(
            state,
            &job,
            "refused",
            Some(ExecError::NoPassword.reason()),
            0,
        );
    }
    let api = match state.api_for(miner) {
        Ok(api) => api,
        Err(e) => return finish(state, &job, "refused", Some(e.reason()), 0),
    };
    let claim = {
        let mut guards = webhook.guards();
        if job.action == "power_off" {
            match guards.marks.claim(&miner.addr, now, TRUST_OWN_POWER_OFF) {
                Claim::AlreadyOff => None,
                Claim::Granted { previous } => Some(Some(previous)),
            }
        } else if job.status == AlertStatus::Resolved
            && !guards.marks.is_off_by_webhook(&miner.addr)
        {
            // Power on only what the webhook itself powered off.
            drop(guards);
            return finish(
                state,
                &job,
                "skipped",
                Some("not_powered_off_by_webhook"),
                0,
            );
        } else {
            Some(None)
        }
    };
    let Some(claim) = claim else {
        return finish(
            state,
            &job,
            "already_off",
            Some("powered_off_by_webhook"),
            0,
        );
    };
    // The budget is taken here, so that the answer says what will happen.
    if !job.dry_run && job.action != "power_on" {
        if !webhook.take_budget() {
            if let Some(previous) = claim {
                webhook.guards().marks.release(&miner.addr, previous);
            }
            // A later re-send may act once the window has room again.
            webhook.guards().dedupe.forget(&job.dedupe_key);
            return finish(state, &job, "budget_exceeded", None, 0);
        }
        job.budget_taken = true;
    }
    let response = json!({
        "alert": job.alert_id, "status": job.status.as_str(), "miner": job.miner_name,
        "action": job.action, "decision": if job.dry_run { "dry_run" } else { "queued" },
    });
    tokio::spawn(act(state.clone(), job, miner.clone(), api, claim));
    response
}

/// The part that talks to the miner. `claim` is `Some(previous mark)` for
/// a power-off that holds the miner's claim.
async fn act(
    state: Arc<AdminState>,
    job: Job,
    miner: AdminMiner,
    api: crate::client::Api,
    claim: Option<Option<PowerMark>>,
) {
    let Some(webhook) = state.webhook_memory() else {
        return;
    };
    let webhook = &webhook;
    let _slot = webhook.slots.clone().acquire_owned().await;
    let release = || {
        if let Some(previous) = claim {
            webhook.guards().marks.release(&miner.addr, previous);
        }
    };
    if claim.is_some() {
        // A miner that is already off (by anyone) is not hit again. If
        // the status cannot be read, try the command anyway.
        match state.sessions().status(&miner, api).await {
            Ok(status) if status.btmineroff == Some(true) => {
                release();
                if job.budget_taken {
                    webhook.give_back_budget();
                    state.refresh_budget_gauge();
                }
                finish(&state, &job, "already_off", Some("status_btmineroff"), 0);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::info!(miner = %miner.name, error = %e, "status unreadable before power_off; trying anyway")
            }
        }
    }
    if job.dry_run {
        release();
        finish(&state, &job, "dry_run", None, 0);
        return;
    }
    if let Some(reason) = stopped_by_reload(&state, webhook, &job.action) {
        release();
        if job.budget_taken {
            webhook.give_back_budget();
            state.refresh_budget_gauge();
        }
        finish(&state, &job, "refused", Some(reason), 0);
        return;
    }
    let mut params = Map::new();
    if job.action == "power_off" {
        params.insert("respbefore".into(), Value::from("true"));
    }
    let (result, attempts) =
        exec_with_retries(&state, webhook, &miner, api, &job.action, &params).await;
    match result {
        Ok(_) => {
            {
                let mut guards = webhook.guards();
                let marked = match job.action.as_str() {
                    "power_off" => {
                        guards.marks.mark_off(&miner.addr, Instant::now());
                        true
                    }
                    "power_on" => guards.marks.clear(&miner.addr),
                    _ => false,
                };
                if marked {
                    webhook.persist(&mut guards);
                }
            }
            state.app.miner_changed(&miner.addr);
            finish(&state, &job, "ok", None, attempts);
        }
        Err(e) => {
            release();
            // Alertmanager's next re-send may try again, but only a write
            // that surely never ran: one whose outcome is unknown (sent, then
            // timed out) stays remembered, so a re-send cannot repeat it.
            if e.certainly_not_run() {
                webhook.guards().dedupe.forget(&job.dedupe_key);
            }
            finish(&state, &job, "error", Some(e.reason()), attempts);
        }
    }
}

/// Why an action decided before a reload must not be sent after it: the
/// webhook or the API turned off, `dry_run` turned on, or the action taken
/// off the allow list. An emergency stop also stops what is queued.
fn stopped_by_reload(state: &AdminState, webhook: &Webhook, action: &str) -> Option<&'static str> {
    if state.webhook().is_none() {
        Some("webhook_disabled")
    } else if webhook.settings().dry_run {
        Some("dry_run")
    } else if !state.is_allowed(action) {
        Some("not_allowed")
    } else {
        None
    }
}

async fn exec_with_retries(
    state: &AdminState,
    webhook: &Webhook,
    miner: &AdminMiner,
    api: crate::client::Api,
    action: &str,
    params: &Map<String, Value>,
) -> (Result<Value, ExecError>, u32) {
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match state.sessions().exec(miner, api, action, params).await {
            Err(e)
                if attempt <= webhook.settings().retries
                    && e.certainly_not_run()
                    && stopped_by_reload(state, webhook, action).is_none() =>
            {
                let pause = webhook
                    .retry_backoff()
                    .saturating_mul(1 << (attempt - 1).min(6))
                    .min(MAX_BACKOFF);
                tracing::info!(
                    miner = %miner.name, action, attempt, reason = e.reason(),
                    pause_ms = pause.as_millis() as u64, "webhook action failed before reaching the miner; retrying"
                );
                tokio::time::sleep(pause).await;
            }
            other => return (other, attempt),
        }
    }
}

/// Counts the decision, writes its audit line, returns its response line.
fn finish(
    state: &AdminState,
    job: &Job,
    result: &str,
    reason: Option<&str>,
    attempts: u32,
) -> Value {
    state
        .app
        .telemetry
        .webhook_actions
        .with_label_values(&[state.command_label(&job.action), result])
        .inc();
    let params = if job.action == "power_off" {
        [("respbefore".to_string(), Value::from("true"))]
            .into_iter()
            .collect()
    } else {
        Map::new()
    };
    audit::record(&AuditRecord {
        source: Source::Alertmanager,
        token_name: &state.policy().token_name,
        peer: job.peer,
        miner: &job.miner_name,
        address: job.miner.as_ref().map(|m| m.addr.to_string()),
        command: &job.action,
        params: &params,
        result,
        reason,
        alert: Some(&job.alert_id),
        attempts,
    });
    json!({
        "alert": job.alert_id, "status": job.status.as_str(), "miner": job.miner_name,
        "action": job.action, "decision": result, "reason": reason,
    })
}
