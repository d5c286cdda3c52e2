//! The HTTP layer: hyper routes for `/metrics` (the whole fleet), `/probe`
//! (one miner, blackbox_exporter style), health, readiness, reload and a
//! landing page. The admin endpoint has its own listener (see `admin`).

pub mod admin;
mod exposition;
pub mod server;
pub mod share;
pub mod state;
pub mod tls;
pub mod web;
mod write_timeout;

pub use state::AppState;

use crate::collector::groups::GroupRequest;
use crate::settings::ReloadAccess;
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Method, Request, Response, StatusCode};
use server::{text, Body, Router};
use std::net::SocketAddr;
use std::sync::Arc;

/// The router of the metrics listener. With a web config, basic auth and
/// the rate limit are checked before routing (a refused request never
/// reaches a miner) and its headers are added to every answer.
pub fn metrics_router(state: Arc<AppState>, web: Option<Arc<web::WebGuard>>) -> Router {
    Arc::new(move |req: Request<Incoming>, peer: SocketAddr| {
        let state = state.clone();
        let web = web.clone();
        Box::pin(async move {
            let handler = handler_name(req.uri().path());
            let admitted = match &web {
                Some(guard) => guard.admit(req.uri().path(), req.headers()).await,
                None => Ok(()),
            };
            let mut resp = match admitted {
                Ok(()) => route(state.clone(), req, peer).await,
                Err(refused) => refused,
            };
            if let Some(guard) = &web {
                guard.decorate(&mut resp);
            }
            state
                .telemetry
                .http_requests
                .with_label_values(&[handler, resp.status().as_str()])
                .inc();
            resp
        })
    })
}

/// A bounded set of handler labels, so unknown paths can't blow up the
/// metric's cardinality.
fn handler_name(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/metrics" => "/metrics",
        "/probe" => "/probe",
        "/-/healthy" => "/-/healthy",
        "/-/ready" => "/-/ready",
        "/-/reload" => "/-/reload",
        _ => "other",
    }
}

async fn route(state: Arc<AppState>, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET | &Method::HEAD, "/metrics" | "/probe") => {
            // Both take the same choice of metric groups in the query.
            let query = req.uri().query();
            let groups = match GroupRequest::from_query(query) {
                Ok(groups) => groups,
                Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
            };
            if path == "/metrics" {
                exposition::metrics(&state, groups, req.headers()).await
            } else {
                exposition::probe(&state, query, groups, req.headers()).await
            }
        }
        (&Method::GET | &Method::HEAD, "/-/healthy") => text(StatusCode::OK, "Healthy\n"),
        (&Method::GET | &Method::HEAD, "/-/ready") => {
            if state.is_ready() {
                text(StatusCode::OK, "Ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "Not ready\n")
            }
        }
        (&Method::POST | &Method::PUT, "/-/reload") => reload(&state, peer, req.headers()).await,
        (&Method::GET | &Method::HEAD, "/") => {
            server::respond(StatusCode::OK, "text/html; charset=utf-8", landing_page())
        }
        (_, "/metrics" | "/probe" | "/-/healthy" | "/-/ready" | "/-/reload" | "/") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn reload(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Response<Body> {
    let access = state.reload_access();
    if !access.allows(peer.ip(), relayed(headers)) {
        return reload_refused(access, peer);
    }
    if !state.can_reload() {
        // Nothing to reload is the caller's mistake, not a server failure.
        return text(
            StatusCode::NOT_FOUND,
            "no configuration file to reload (not started with serve --config)\n",
        );
    }
    match state.reload().await {
        Ok(report) => text(StatusCode::OK, report.to_string()),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reload failed: {e}\n"),
        ),
    }
}

/// Whether a proxy relayed the request: it then came from the proxy's
/// host, not necessarily from the client's.
fn relayed(headers: &HeaderMap) -> bool {
    ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// 403 with what to do instead; the refusal is logged, since a reload
/// attempt from elsewhere is worth an operator's attention.
fn reload_refused(access: ReloadAccess, peer: SocketAddr) -> Response<Body> {
    tracing::warn!(%peer, reload_endpoint = access.as_str(), "POST /-/reload refused");
    let why = match access {
        ReloadAccess::Off => "the reload endpoint is off",
        _ => "the reload endpoint only serves loopback clients, never through a proxy (Forwarded, X-Forwarded-For or X-Real-IP)",
    };
    text(
        StatusCode::FORBIDDEN,
        format!(
            "{why} ([server] reload_endpoint = \"{}\"); send SIGHUP to the exporter instead\n",
            access.as_str()
        ),
    )
}

fn landing_page() -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Whatsminer Exporter</title></head>\
         <body><h1>Whatsminer Exporter</h1><p>Version {}</p><ul>\
         <li><a href=\"/metrics\">/metrics</a>: the configured fleet</li>\
         <li><a href=\"/probe?target=127.0.0.1:4028\">/probe?target=host[:port]</a>: one miner (blackbox style)</li>\
         <li><a href=\"/-/healthy\">/-/healthy</a>, <a href=\"/-/ready\">/-/ready</a>; POST /-/reload</li>\
         </ul></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}
