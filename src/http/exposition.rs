//! `/metrics` and `/probe`: scrape (or take the background snapshot),
//! render, answer. The deadline comes from Prometheus's
//! `X-Prometheus-Scrape-Timeout-Seconds` header less a margin.

use super::server::{respond, respond_stream, text, Body};
use super::share::Served;
use super::state::{AppState, FleetKey, ProbeKey};
use crate::client::ApiChoice;
use crate::collector::groups::GroupRequest;
use crate::collector::render::{capacity_hint, render_miners, ExpositionWriter, MetricType};
use crate::collector::MinerTarget;
use crate::settings::ScrapeMode;
use crate::transport::MinerAddr;
use hyper::{HeaderMap, Response, StatusCode};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Fleets larger than this are streamed (about 10 KiB of text per miner).
const STREAM_ABOVE_MINERS: usize = 50;
/// A chunk (with the writer's 4 KiB of slack) stays below the allocator's
/// mmap threshold: it then comes from the heap, whose pages the chunk
/// before it left resident, instead of being mapped and zero-filled page
/// by page each time (65 page faults per chunk, 200 chunks per scrape of
/// 5,000 miners). `memory::release_free_memory` returns them after the
/// answer.
const STREAM_CHUNK_BYTES: usize = crate::memory::MMAP_THRESHOLD_BYTES as usize - 16 * 1024;
/// How long a streamed chunk may wait for a client that stopped reading.
const CLIENT_STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The scrape deadline from the request headers and settings.
pub fn scrape_budget(headers: &HeaderMap, default_timeout: Duration, margin: Duration) -> Duration {
    let from_header = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    let budget = match from_header {
        Some(t) => t.saturating_sub(margin),
        None => default_timeout,
    };
    // Never zero: a tiny budget still reports every miner as down in time.
    budget.max(Duration::from_millis(100))
}

/// The whole fleet; `request` is the query's choice of metric groups.
pub async fn metrics(
    state: &Arc<AppState>,
    request: Option<GroupRequest>,
    headers: &HeaderMap,
) -> Response<Body> {
    let settings = state.settings();
    let snapshot = match (settings.mode, state.latest_snapshot()) {
        (ScrapeMode::Background { .. }, Some(snapshot)) => snapshot,
        _ => {
            let budget = scrape_budget(headers, settings.default_timeout, settings.timeout_margin);
            let key = FleetKey(state.targets());
            let scrape = {
                let state = Arc::clone(state);
                let targets = Arc::clone(&key.0);
                move |deadline| async move {
                    state.telemetry.fleet_scrapes_started.inc();
                    let snapshot = Arc::new(state.collector.scrape_fleet(&targets, deadline).await);
                    state.account(&snapshot, "metrics");
                    if matches!(state.settings().mode, ScrapeMode::Background { .. }) {
                        state.store_snapshot(snapshot.clone());
                    }
                    snapshot
                }
            };
            let shared = state
                .fleet_share
                .get(key, budget, settings.min_age, scrape)
                .await;
            let Some((snapshot, served)) = shared else {
                return text(StatusCode::INTERNAL_SERVER_ERROR, "fleet scrape failed\n");
            };
            state.count_shared("/metrics", served);
            snapshot
        }
    };
    if snapshot.miners.len() <= STREAM_ABOVE_MINERS {
        let mut out = ExpositionWriter::with_capacity(capacity_hint(snapshot.miners.len()));
        out.choose_groups(request);
        render_miners(&mut out, &snapshot.miners, SystemTime::now());
        out.append_raw(&state.telemetry.render());
        return respond(StatusCode::OK, CONTENT_TYPE, out.finish());
    }
    // A large fleet's text runs to tens of megabytes: render it on a
    // blocking thread in chunks that flow to the client as they are made,
    // with a few chunks of buffer, instead of building it whole.
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    let self_metrics = state.telemetry.render();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let sink_tx = tx.clone();
        let mut stalled = false;
        let sink = Box::new(move |chunk: String| {
            // A client that stops reading must not hold this thread for
            // ever: give each chunk a bounded wait, then drop the rest (the
            // client sees a cut answer, which Prometheus reports as failed).
            if stalled {
                return;
            }
            let send =
                tokio::time::timeout(CLIENT_STALL_LIMIT, sink_tx.send(bytes::Bytes::from(chunk)));
            if !matches!(runtime.block_on(send), Ok(Ok(()))) {
                stalled = true;
            }
        });
        let mut out = ExpositionWriter::streaming(STREAM_CHUNK_BYTES, sink);
        out.choose_groups(request);
        render_miners(&mut out, &snapshot.miners, SystemTime::now());
        out.append_raw(&self_metrics);
        let _ = out.finish();
        // In live mode this was the last reference to the fleet's data.
        drop(snapshot);
        let _ = crate::memory::release_free_memory();
    });
    respond_stream(StatusCode::OK, CONTENT_TYPE, rx)
}

/// What `/probe?target=` names: a configured miner by its name (no
/// lookup) or address (keeping its name and labels), else an IP address
/// the probe policy allows. A host name is looked up only when the
/// configuration lists it as a miner's address; any other is refused
/// (never a DNS query for what a client typed).
fn probe_target(
    state: &AppState,
    text_param: &str,
    protocol: Option<ApiChoice>,
) -> Result<Arc<MinerTarget>, (StatusCode, String)> {
    let targets = state.targets();
    if let Some(named) = targets.iter().find(|t| t.name == text_param) {
        return Ok(Arc::clone(named));
    }
    let addr: MinerAddr = text_param
        .parse()
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad target: {e}\n")))?;
    if let Some(configured) = targets.iter().find(|t| t.addr == addr) {
        return Ok(Arc::clone(configured));
    }
    if !state.probe_policy().allows_unconfigured(&addr) {
        return Err((
            StatusCode::FORBIDDEN,
            "target is not a configured miner (server.probe_targets = \"configured\")\n".into(),
        ));
    }
    if addr.literal_ip().is_none() {
        return Err((
            StatusCode::BAD_REQUEST,
            "target is neither an IP address nor a configured miner's name or address \
             (host names are looked up only for configured miners)\n"
                .into(),
        ));
    }
    Ok(Arc::new(
        MinerTarget::new(addr, None, Vec::new(), protocol.unwrap_or_default())
            .with_groups(state.settings().groups),
    ))
}

/// One miner, blackbox style; `request` is the query's choice of metric
/// groups (read from the same query by the caller).
pub async fn probe(
    state: &Arc<AppState>,
    query: Option<&str>,
    request: Option<GroupRequest>,
    headers: &HeaderMap,
) -> Response<Body> {
    let mut target_param = None;
    let mut protocol = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match k.as_ref() {
            "target" => &mut target_param,
            "protocol" => &mut protocol,
            // Others (blackbox's `module`, say) are ignored, as before.
            _ => continue,
        };
        if slot.is_some() {
            // `target=a&target=b`: which one was meant?
            return text(
                StatusCode::BAD_REQUEST,
                format!("query parameter {k} given more than once\n"),
            );
        }
        *slot = Some(v.into_owned());
    }
    let Some(target_text) = target_param.filter(|t| !t.is_empty()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "missing target parameter: /probe?target=ip[:port] or a configured miner's name\n",
        );
    };
    let protocol = match protocol.as_deref() {
        None | Some("") => None,
        Some(word) => match word.parse::<ApiChoice>() {
            Ok(choice) => Some(choice),
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        },
    };
    let target = match probe_target(state, &target_text, protocol) {
        Ok(target) => target,
        Err((status, why)) => return text(status, why),
    };
    let settings = state.settings();
    let started = tokio::time::Instant::now();
    let budget = scrape_budget(headers, settings.default_timeout, settings.timeout_margin);
    let scrape = {
        let state = Arc::clone(state);
        let target = Arc::clone(&target);
        move |deadline| async move {
            let snapshot = state.collector.scrape_miner(target, deadline).await;
            state.telemetry.scrapes.with_label_values(&["probe"]).inc();
            if let Some(e) = snapshot.down_error() {
                state.telemetry.count_errors(std::iter::once(e.reason()));
            }
            Arc::new(snapshot)
        }
    };
    let shared = state
        .probe_share
        .get(ProbeKey(target), budget, settings.min_age, scrape)
        .await;
    let Some((snapshot, served)) = shared else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "probe failed\n");
    };
    state.count_shared("/probe", served);
    // A shared probe reports the exchange's own duration, not the wait.
    let elapsed = match served {
        Served::Scraped => started.elapsed(),
        Served::Joined | Served::Reused => snapshot.duration,
    };
    let mut out = ExpositionWriter::with_capacity(capacity_hint(1));
    out.family(
        "probe_success",
        MetricType::Gauge,
        "1 if the miner answered summary.",
    );
    out.sample("", &[], if snapshot.up() { 1.0 } else { 0.0 });
    out.family(
        "probe_duration_seconds",
        MetricType::Gauge,
        "How long the probe took.",
    );
    out.sample("", &[], elapsed.as_secs_f64());
    out.choose_groups(request);
    render_miners(
        &mut out,
        std::slice::from_ref(&*snapshot),
        SystemTime::now(),
    );
    respond(StatusCode::OK, CONTENT_TYPE, out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_uses_header_less_margin_with_a_floor() {
        let mut h = HeaderMap::new();
        let d = Duration::from_secs(10);
        let m = Duration::from_millis(500);
        assert_eq!(scrape_budget(&h, d, m), d);
        h.insert("x-prometheus-scrape-timeout-seconds", "4".parse().unwrap());
        assert_eq!(scrape_budget(&h, d, m), Duration::from_millis(3500));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "0.2".parse().unwrap(),
        );
        assert_eq!(scrape_budget(&h, d, m), Duration::from_millis(100));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "garbage".parse().unwrap(),
        );
        assert_eq!(scrape_budget(&h, d, m), d);
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "NaN".parse().unwrap(),
        );
        assert_eq!(scrape_budget(&h, d, m), d);
    }
}
