//! Load figures: `/probe` requests per second from a bounded pool of
//! keep-alive HTTP clients, and a writeable `power_off` (then `power_on`)
//! over many miners, concurrently and one after another, with a fresh
//! [`SessionPool`] per phase so every figure includes the token fetch.

use super::http::Connection;
use super::procs::cpu_time;
use super::{median, BenchError};
use crate::client::{Api, Backends, Client, SessionPool};
use crate::secret::Secret;
use crate::transport::MinerAddr;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// `/probe` throughput.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeFigures {
    pub clients: usize,
    pub requests: usize,
    /// Answers with status 200 and `probe_success 1`.
    pub ok: usize,
    pub elapsed_ms: f64,
    pub per_second: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
}

/// Sends `total` `/probe` requests from `clients` connections, each for
/// the next miner of `miners` in turn, stopping at `cap`.
pub async fn probe(
    exporter: SocketAddr,
    miners: &[SocketAddr],
    clients: usize,
    total: usize,
    cap: Duration,
) -> Result<ProbeFigures, BenchError> {
    if miners.is_empty() {
        return Err(BenchError::new("no miners to probe"));
    }
    let paths: Arc<Vec<String>> = Arc::new(
        miners
            .iter()
            .map(|m| format!("/probe?target={m}"))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let stop_at = started + cap;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (paths, next) = (Arc::clone(&paths), Arc::clone(&next));
        tasks.spawn(async move {
            let mut conn = Connection::new(exporter);
            let mut latencies = Vec::new();
            let mut ok = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                if i >= total || now >= stop_at {
                    break;
                }
                let path = paths.get(i % paths.len()).map_or("/probe", String::as_str);
                let limit = stop_at.saturating_duration_since(now);
                if let Ok(r) = conn.get(path, &[], 1024 * 1024, limit).await {
                    if r.status == 200 && find_line(&r.body, b"probe_success 1") {
                        ok += 1;
                    }
                }
                latencies.push(now.elapsed().as_secs_f64() * 1e3);
            }
            (ok, latencies)
        });
    }
    let mut ok = 0;
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (n, l) = joined.map_err(|e| BenchError::new(format!("probe client: {e}")))?;
        ok += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(ProbeFigures {
        clients,
        requests: latencies.len(),
        ok,
        elapsed_ms: elapsed * 1e3,
        per_second: latencies.len() as f64 / elapsed.max(1e-9),
        latency_p50_ms: median(&latencies),
        latency_p99_ms: percentile(&latencies, 0.99),
    })
}

fn find_line(body: &[u8], line: &[u8]) -> bool {
    body.split(|&b| b == b'\n').any(|l| l == line)
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// One phase of the power test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PowerPhase {
    pub command: &'static str,
    pub concurrent: bool,
    pub ok: usize,
    pub elapsed_ms: f64,
    /// CPU of this process (the client: md5-crypt, AES) and of the
    /// simulator (the miners' side of the same crypto) during the phase.
    pub client_cpu_ms: f64,
    pub sim_cpu_ms: f64,
}

/// The power test: off and on concurrently, then off and on sequentially.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PowerFigures {
    pub miners: usize,
    pub concurrency: usize,
    pub phases: Vec<PowerPhase>,
}

/// Powers `miners` off and back on, first `concurrency` at a time, then
/// one by one; each phase is capped at `cap`.
pub async fn power(
    miners: &[SocketAddr],
    sim_pid: u32,
    password: &Secret,
    concurrency: usize,
    cap: Duration,
) -> Result<PowerFigures, BenchError> {
    let miners: Arc<Vec<MinerAddr>> = Arc::new(
        miners
            .iter()
            .map(|a| MinerAddr::from_socket_addr(*a))
            .collect(),
    );
    let mut phases = Vec::new();
    for (command, parallel) in [
        ("power_off", concurrency),
        ("power_on", concurrency),
        ("power_off", 1),
        ("power_on", 1),
    ] {
        let pool = Arc::new(SessionPool::new(Client::default()));
        let cpu = || {
            let own = cpu_time(std::process::id()).unwrap_or_default();
            (own, cpu_time(sim_pid).unwrap_or_default())
        };
        let (client_before, sim_before) = cpu();
        let started = Instant::now();
        let phase = run_phase(&pool, password, &miners, command, parallel);
        let ok = tokio::time::timeout(cap, phase)
            .await
            .map_err(|_| BenchError::new(format!("{command} did not finish within {cap:?}")))?;
        let elapsed = started.elapsed();
        let (client_after, sim_after) = cpu();
        phases.push(PowerPhase {
            command,
            concurrent: parallel > 1,
            ok,
            elapsed_ms: elapsed.as_secs_f64() * 1e3,
            client_cpu_ms: client_after.saturating_sub(client_before).as_secs_f64() * 1e3,
            sim_cpu_ms: sim_after.saturating_sub(sim_before).as_secs_f64() * 1e3,
        });
    }
    Ok(PowerFigures {
        miners: miners.len(),
        concurrency,
        phases,
    })
}

async fn run_phase(
    pool: &Arc<SessionPool>,
    password: &Secret,
    miners: &Arc<Vec<MinerAddr>>,
    command: &'static str,
    parallel: usize,
) -> usize {
    let mut params = Map::new();
    if command == "power_off" {
        params.insert("respbefore".into(), Value::from("true"));
    }
    let params = Arc::new(params);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let backends = Backends::default();
    for miner in miners.iter() {
        let session = pool.session(miner, backends.get(Api::V2), password);
        let (params, semaphore) = (Arc::clone(&params), Arc::clone(&semaphore));
        tasks.spawn(async move {
            let Ok(_permit) = semaphore.acquire_owned().await else {
                return false;
            };
            session.exec(command, &params).await.is_ok()
        });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        ok += usize::from(joined.unwrap_or(false));
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Fleet, FleetConfig};

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert!(find_line(b"a 1\nprobe_success 1\n", b"probe_success 1"));
        assert!(!find_line(b"probe_success 10\n", b"probe_success 1"));
    }

    #[tokio::test]
    async fn powers_every_miner_off_and_back_on() {
        let fleet = Fleet::start(FleetConfig::loopback_ephemeral(5))
            .await
            .expect("fleet");
        // The fleet runs in this process: its CPU counts as the "simulator's".
        let figures = power(
            &fleet.addrs(),
            std::process::id(),
            &Secret::new("admin"),
            3,
            Duration::from_secs(60),
        )
        .await
        .expect("power");
        let oks: Vec<usize> = figures.phases.iter().map(|p| p.ok).collect();
        assert_eq!(oks, [5, 5, 5, 5]);
        for miner in fleet.miners() {
            assert!(miner.powered_on());
            assert_eq!(miner.command_count("power_off"), 2);
        }
        fleet.shutdown().await;
    }
}
