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
mod webhook;

pub use audit::redacted as redacted_params;
pub use miners::{Directory, ExecError};

use crate::client::Client;
use crate::http::server::{respond, text, Body, Router};
use crate::http::AppState;
use crate::settings::{AdminMiner, AdminSettings};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The admin API's shared state.
pub struct AdminState {
    app: Arc<AppState>,
    token: auth::TokenCheck,
    token_name: String,
    allow: Vec<String>,
    max_body_bytes: usize,
    body_timeout: Duration,
    directory: RwLock<Arc<Directory>>,
    sessions: miners::Sessions,
    webhook: Option<webhook::Webhook>,
    auth_log: auth::LogLimiter,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("token_name", &self.token_name)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// Fails when the webhook's state file exists but cannot be read.
    pub fn new(app: Arc<AppState>, settings: &AdminSettings) -> std::io::Result<Arc<AdminState>> {
        let webhook = settings
            .webhook
            .enabled
            .then(|| {
                webhook::Webhook::new(
                    settings.webhook.clone(),
                    settings.retry_backoff,
                    app.telemetry.webhook_state_write_failures.clone(),
                )
            })
            .transpose()
            .map_err(|e| std::io::Error::new(e.kind(), format!("[webhook] state_file: {e}")))?;
        let sessions = miners::Sessions::new(
            Client::new(settings.client),
            app.collector.backends().clone(),
        );
        let state = Arc::new(AdminState {
            app,
            token: auth::TokenCheck::new(&settings.api.token),
            token_name: settings.api.token_name.clone(),
            allow: settings.api.allow.clone(),
            max_body_bytes: settings.api.max_body_bytes,
            body_timeout: settings.body_timeout,
            directory: RwLock::new(Arc::new(Directory::new(settings.miners.clone()))),
            sessions,
            webhook,
            auth_log: auth::LogLimiter::new(Duration::from_secs(1)),
        });
        if let Some(w) = &state.webhook {
            // Marks restored for miners no longer configured are dropped.
            w.retain(&state.directory());
        }
        state.refresh_budget_gauge();
        Ok(state)
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
        self.sessions.retain(&directory);
        if let Some(w) = &self.webhook {
            w.retain(&directory);
        }
        if let Ok(mut d) = self.directory.write() {
            *d = directory;
        }
    }

    /// Sets `whatsminer_webhook_budget_remaining` for the window ending now.
    pub fn refresh_budget_gauge(&self) {
        if let Some(w) = &self.webhook {
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
        self.allow.iter().any(|c| c == command)
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

fn handler_name(path: &str) -> &'static str {
    match parse_route(path) {
        Route::Command { .. } => "/admin/miners/commands",
        Route::Alertmanager => "/admin/alertmanager",
        Route::BadPath | Route::Unknown => "admin_other",
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Command {
        miner: String,
        command: String,
    },
    Alertmanager,
    /// A command path whose miner segment is not valid percent-encoded UTF-8.
    BadPath,
    Unknown,
}

fn parse_route(path: &str) -> Route {
    if path == "/admin/alertmanager" {
        return Route::Alertmanager;
    }
    let mut parts = path.split('/');
    let shape = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    match shape {
        (
            Some(""),
            Some("admin"),
            Some("miners"),
            Some(miner),
            Some("commands"),
            Some(command),
            None,
        ) if !miner.is_empty() && !command.is_empty() => match percent_decode(miner) {
            Some(miner) => Route::Command {
                miner,
                command: command.to_string(),
            },
            None => Route::BadPath,
        },
        _ => Route::Unknown,
    }
}

/// Decodes `%XX` escapes of a path segment; `None` on a broken escape or
/// invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn handle(
    state: &Arc<AdminState>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    if let Err(failure) = state.token.verify(req.headers()) {
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
        Route::Alertmanager if is_post && state.webhook.is_some() => {
            let dry_run = match commands::dry_run_query(req.uri().query()) {
                Ok(d) => d,
                Err(message) => {
                    return json_error(StatusCode::BAD_REQUEST, "bad_request", &message)
                }
            };
            webhook::handle(state, req.into_body(), peer, dry_run).await
        }
        Route::Command { .. } => text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n"),
        Route::Alertmanager if state.webhook.is_some() => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("/admin/alertmanager"), Route::Alertmanager);
        assert_eq!(
            parse_route("/admin/miners/rack%201%2Fa/commands/power_off"),
            Route::Command {
                miner: "rack 1/a".into(),
                command: "power_off".into()
            }
        );
        for unknown in [
            "/",
            "/admin",
            "/admin/miners//commands/power_off",
            "/admin/miners/m/commands/",
            "/admin/miners/m/commands/power_off/x",
            "/admin/alertmanager/",
            "/metrics",
        ] {
            assert_eq!(parse_route(unknown), Route::Unknown, "{unknown}");
        }
        assert_eq!(parse_route("/admin/miners/%zz/commands/x"), Route::BadPath);
        assert_eq!(parse_route("/admin/miners/%ff/commands/x"), Route::BadPath);
        assert_eq!(parse_route("/admin/miners/%4/commands/x"), Route::BadPath);
    }
}
