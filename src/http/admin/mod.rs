//! The admin listener: writeable commands for people and for Alertmanager,
//! on an address of its own (so it can be firewalled apart from `/metrics`)
//! and always behind a bearer token.
//!
//! Routes (every one, unknown paths included, answers 401 without a valid
//! token, before anything else is looked at):
//! - `POST /admin/miners/{miner}/commands/{command}[?dry_run=true]` with a
//!   JSON object of parameters: runs an allow-listed command on a configured
//!   miner (`commands`).
//! - `POST /admin/alertmanager`: Alertmanager's webhook, which turns firing
//!   alerts into commands under the guards of `guards` (`webhook`).
//!
//! Every action leaves one line in the audit log (`audit`).

mod audit;
mod auth;
mod commands;
pub mod guard_state;
pub mod guards;
mod miners;
pub mod payload;
mod routes;
mod webhook;

pub use audit::redacted as redacted_params;
pub use miners::{Directory, ExecError};

use crate::client::{Client, ClientConfig};
use crate::http::server::{respond, text, Body, Router};
use crate::http::AppState;
use crate::settings::{AdminMiner, AdminSettings};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use routes::{handler_name, parse_route, Route};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The admin API's shared state. What a reload may change (the policy,
/// the miners, their sessions, the webhook's settings) sits behind locks,
/// read once per request.
pub struct AdminState {
    app: Arc<AppState>,
    policy: RwLock<Arc<Policy>>,
    directory: RwLock<Arc<Directory>>,
    sessions: RwLock<Arc<miners::Sessions>>,
    /// Once created, kept for the process's life (its budget and marks
    /// outlive a reload that turns the webhook off and on again).
    webhook: RwLock<Option<Arc<webhook::Webhook>>>,
    auth_log: auth::LogLimiter,
}

/// Who may send what, from `[admin]`.
#[derive(Debug, Clone)]
struct Policy {
    /// `false` after a reload turned `[admin] enabled` off: every request
    /// gets 404, as nothing would answer had it been off at start.
    enabled: bool,
    token: auth::TokenCheck,
    token_name: String,
    allow: Vec<String>,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// The miner client of the sessions (a change makes new sessions).
    client: ClientConfig,
}

impl Policy {
    fn new(settings: &AdminSettings) -> Policy {
        Policy {
            enabled: true,
            token: auth::TokenCheck::new(&settings.api.token),
            token_name: settings.api.token_name.clone(),
            allow: settings.api.allow.clone(),
            max_body_bytes: settings.api.max_body_bytes,
            body_timeout: settings.body_timeout,
            client: settings.client,
        }
    }

    fn is_allowed(&self, command: &str) -> bool {
        self.allow.iter().any(|c| c == command)
    }
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("policy", &self.policy())
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// Fails when the webhook's state file exists but cannot be read.
    pub fn new(app: Arc<AppState>, settings: &AdminSettings) -> std::io::Result<Arc<AdminState>> {
        let webhook = settings
            .webhook
            .enabled
            .then(|| new_webhook(&app, settings))
            .transpose()?;
        let sessions = miners::Sessions::new(
            Client::new(settings.client),
            app.collector.backends().clone(),
        );
        let state = Arc::new(AdminState {
            app,
            policy: RwLock::new(Arc::new(Policy::new(settings))),
            directory: RwLock::new(Arc::new(Directory::new(settings.miners.clone()))),
            sessions: RwLock::new(Arc::new(sessions)),
            webhook: RwLock::new(webhook.map(Arc::new)),
            auth_log: auth::LogLimiter::new(Duration::from_secs(1)),
        });
        if let Some(w) = state.webhook_memory() {
            // Marks restored for miners no longer configured are dropped.
            w.retain(&state.directory());
        }
        state.refresh_budget_gauge();
        Ok(state)
    }

    /// Applies reloaded settings; `None` turns the API off (every request
    /// gets 404, queued webhook actions are not sent). Fails, changing
    /// nothing, when a webhook turned on cannot read its state file.
    pub fn reconfigure(&self, settings: Option<&AdminSettings>) -> std::io::Result<()> {
        let Some(settings) = settings else {
            let mut off = Policy::clone(&self.policy());
            off.enabled = false;
            self.set_policy(off);
            return Ok(());
        };
        let existing = self.webhook_memory();
        let created = match (&existing, settings.webhook.enabled) {
            (None, true) => Some(Arc::new(new_webhook(&self.app, settings)?)),
            _ => None,
        };
        let policy = Policy::new(settings);
        if policy.client != self.policy().client {
            let sessions = miners::Sessions::new(
                Client::new(settings.client),
                self.app.collector.backends().clone(),
            );
            if let Ok(mut s) = self.sessions.write() {
                *s = Arc::new(sessions);
            }
        }
        match (existing, created) {
            (Some(w), _) => w.reconfigure(settings.webhook.clone(), settings.retry_backoff),
            (None, Some(w)) => {
                if let Ok(mut slot) = self.webhook.write() {
                    *slot = Some(w);
                }
            }
            (None, None) => {}
        }
        self.set_policy(policy);
        self.set_miners(settings.miners.clone());
        self.refresh_budget_gauge();
        Ok(())
    }

    fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_policy(&self, policy: Policy) {
        match self.policy.write() {
            Ok(mut p) => *p = Arc::new(policy),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
        }
    }

    /// Whether the API answers (not turned off by a reload).
    pub fn is_enabled(&self) -> bool {
        self.policy().enabled
    }

    fn sessions(&self) -> Arc<miners::Sessions> {
        match self.sessions.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The webhook if it takes alerts now: the API is on and so is
    /// `[webhook] enabled`.
    fn webhook(&self) -> Option<Arc<webhook::Webhook>> {
        self.webhook_memory()
            .filter(|w| w.settings().enabled && self.is_enabled())
    }

    /// The webhook's memory (budget, power marks), even while it is off.
    fn webhook_memory(&self) -> Option<Arc<webhook::Webhook>> {
        self.webhook.read().ok().and_then(|w| w.clone())
    }

    /// The API a miner's writes go through: as configured, or for `auto`
    /// the one the collector detected.
    fn api_for(&self, miner: &AdminMiner) -> Result<crate::client::Api, ExecError> {
        miner
            .protocol
            .fixed()
            .or_else(|| self.app.collector.detector().last_known(&miner.addr))
            .ok_or(ExecError::UnsupportedProtocol)
    }

    /// The configured miners now.
    pub fn directory(&self) -> Arc<Directory> {
        self.directory.read().map(|d| d.clone()).unwrap_or_default()
    }

    /// Replaces the miner list (on reload); sessions and power marks of
    /// miners no longer configured are dropped.
    pub fn set_miners(&self, miners: Vec<AdminMiner>) {
        let directory = Arc::new(Directory::new(miners));
        self.sessions().retain(&directory);
        if let Some(w) = self.webhook_memory() {
            w.retain(&directory);
        }
        if let Ok(mut d) = self.directory.write() {
            *d = directory;
        }
    }

    /// Sets `whatsminer_webhook_budget_remaining` for the window ending now.
    pub fn refresh_budget_gauge(&self) {
        if let Some(w) = self.webhook_memory() {
            let remaining = w.budget_remaining(Instant::now());
            self.app
                .telemetry
                .webhook_budget_remaining
                .set(i64::from(remaining));
        }
    }

    /// Keeps the budget gauge true while no alert arrives (slots free up
    /// as the window slides), until shutdown.
    pub fn spawn_gauge_refresh(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                state.refresh_budget_gauge();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {},
                    _ = shutdown.changed() => return,
                }
            }
        })
    }

    fn is_allowed(&self, command: &str) -> bool {
        self.policy().is_allowed(command)
    }

    /// A bounded `command` label value: allow-listed or known writeable
    /// commands keep their name, anything else is `other`.
    fn command_label<'a>(&self, command: &'a str) -> &'a str {
        if self.is_allowed(command) || commands::KNOWN_WRITE_COMMANDS.contains(&command) {
            command
        } else {
            "other"
        }
    }
}

/// The webhook of `settings`, its state file read.
fn new_webhook(app: &AppState, settings: &AdminSettings) -> std::io::Result<webhook::Webhook> {
    webhook::Webhook::new(
        settings.webhook.clone(),
        settings.retry_backoff,
        app.telemetry.webhook_state_write_failures.clone(),
    )
    .map_err(|e| std::io::Error::new(e.kind(), format!("[webhook] state_file: {e}")))
}

/// The router of the admin listener.
pub fn router(state: Arc<AdminState>) -> Router {
    Arc::new(move |req: Request<Incoming>, peer| {
        let state = state.clone();
        Box::pin(async move {
            let handler = handler_name(req.uri().path());
            let resp = handle(&state, req, peer).await;
            state
                .app
                .telemetry
                .http_requests
                .with_label_values(&[handler, resp.status().as_str()])
                .inc();
            resp
        })
    })
}

async fn handle(
    state: &Arc<AdminState>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let policy = state.policy();
    if !policy.enabled {
        // Turned off by a reload: as if nothing listened (the listener
        // is bound at start only). No keep-alive: nothing more to say.
        let mut resp = text(StatusCode::NOT_FOUND, "the admin API is disabled\n");
        resp.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    if let Err(failure) = policy.token.verify(req.headers()) {
        state.app.telemetry.admin_auth_failures.inc();
        if let Some(suppressed) = state.auth_log.allow(Instant::now()) {
            tracing::warn!(
                target: "audit", peer = %peer, reason = failure.as_str(),
                path = %crate::error::truncate_for_log(req.uri().path(), 128),
                suppressed_since_last = suppressed, result = "unauthorized",
                "admin request refused: bad or missing bearer token"
            );
        }
        let mut resp = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"whatsminer-admin\""),
        );
        // No keep-alive without a token: an unauthenticated client must
        // not keep one of the listener's slots after its answer.
        resp.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    let route = parse_route(req.uri().path());
    let is_post = req.method() == Method::POST;
    match route {
        Route::Command { miner, command } if is_post => {
            let dry_run = match commands::dry_run_query(req.uri().query()) {
                Ok(d) => d,
                Err(message) => {
                    return json_error(StatusCode::BAD_REQUEST, "bad_request", &message)
                }
            };
            let call = commands::Call {
                miner_key: miner,
                command,
                dry_run,
                peer,
            };
            commands::run(state, req.into_body(), call).await
        }
        Route::Alertmanager if is_post && state.webhook().is_some() => {
            let dry_run = match commands::dry_run_query(req.uri().query()) {
                Ok(d) => d,
                Err(message) => {
                    return json_error(StatusCode::BAD_REQUEST, "bad_request", &message)
                }
            };
            webhook::handle(state, req.into_body(), peer, dry_run).await
        }
        Route::Command { .. } => text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n"),
        Route::Alertmanager if state.webhook().is_some() => {
            text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n")
        }
        Route::BadPath => json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "invalid miner in path",
        ),
        Route::Alertmanager | Route::Unknown => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// A JSON response.
fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", value.to_string())
}

fn json_error(status: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "result": "refused", "reason": reason, "error": message }),
    )
}
