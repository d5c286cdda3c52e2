//! Soak: many scrapes of a big simulated fleet with a mix of faulty miners,
//! through the HTTP `/metrics` of a started exporter, checking that memory
//! and file descriptors stay flat. Opt-in (`#[ignore]`): run it with
//! `scripts/soak`, which passes `--ignored --nocapture` and the knobs below.
//!
//! Knobs (environment): `SOAK_SCRAPES` (10000), `SOAK_MINUTES` (45, a hard
//! stop whichever comes first), `SOAK_MINERS` (200), `SOAK_PARALLEL` (4
//! scrapes in flight, like several Prometheus servers), `SOAK_REPORT` (a
//! file to write the figures to).
//!
//! Figures are for the whole test process, simulator included: a leak on
//! either side shows. Both measurements are taken with no scrape in flight
//! and after a pause that lets the simulator's lingering connections close.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::client::ClientConfig;
use whatsminer_exporter::collector::{CollectorConfig, MinerTarget};
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig, MinerLimits};
use whatsminer_exporter::transport::{Limits, MinerAddr};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The faults handed out, in turn, to the faulty miners, with the reason
/// each must show (`None`: the miner must still be up).
fn fault_mix() -> Vec<(Fault, Option<&'static str>)> {
    vec![
        (Fault::ApiDisabled, Some("connect_refused")),
        (Fault::NoReply, Some("timeout")),
        (Fault::Reset, Some("connection_reset")),
        (Fault::Truncated, Some("invalid_json")),
        (Fault::TrailingNuls, None),
        (Fault::Oversized(256 * 1024), Some("reply_too_large")),
        (Fault::WrongShape, Some("unexpected_shape")),
        (Fault::NumbersAsStrings, None),
        (Fault::StatusError, Some("miner_error")),
        (Fault::OverMaxConnect, Some("over_max_connect")),
        (Fault::SlowDrip, Some("timeout")),
    ]
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes the allocator has handed out and not got back (glibc: in-use
/// chunks of every arena plus mmapped blocks): the live heap, without what
/// the allocator keeps cached for reuse. A leak grows this; allocator
/// retention grows only RSS. `None` off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn live_heap_kib() -> Option<u64> {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    Some(((info.uordblks + info.hblkhd) / 1024) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn live_heap_kib() -> Option<u64> {
    None
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// One `/metrics` scrape: its duration and the `whatsminer_up` values by miner.
async fn scrape(addr: SocketAddr) -> (Duration, BTreeMap<String, (bool, String)>) {
    let started = Instant::now();
    let reply = support::http::get(addr, "/metrics").await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200, "{:.200}", reply.body);
    let text = reply.body;
    let mut miners = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("whatsminer_up{miner=\"") {
            let (name, value) = rest.split_once("\"} ").unwrap_or(("", ""));
            miners
                .entry(name.to_string())
                .or_insert((false, String::new()))
                .0 = value == "1";
        } else if let Some(rest) = line.strip_prefix("whatsminer_down_reason{miner=\"") {
            let (name, rest) = rest.split_once("\",reason=\"").unwrap_or(("", ""));
            let reason = rest.split('"').next().unwrap_or("").to_string();
            miners
                .entry(name.to_string())
                .or_insert((false, String::new()))
                .1 = reason;
        }
    }
    (elapsed, miners)
}

/// Waits for in-flight scrapes to end and the simulator's lingering
/// connections to close, then measures.
async fn settle_and_measure() -> (u64, usize, Option<u64>) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    (vm_rss_kib(), open_fds(), live_heap_kib())
}

#[test]
#[ignore = "soak: minutes long; run scripts/soak"]
fn soak_fleet_scrapes_keep_memory_and_descriptors_flat() {
    // As the binary does at start (a no-op if MALLOC_* tunables are set).
    let tuned = whatsminer_exporter::memory::tune_allocator();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(soak(tuned));
}

async fn soak(allocator_tuned: bool) {
    let scrapes = knob("SOAK_SCRAPES", 10_000);
    let budget = Duration::from_secs(knob("SOAK_MINUTES", 45) * 60);
    let miners = knob("SOAK_MINERS", 200) as usize;
    let parallel = knob("SOAK_PARALLEL", 4).max(1);
    let warmup = (scrapes / 10).clamp(50, 500);

    let mix = fault_mix();
    let faulty = miners / 20;
    let mut cfg = FleetConfig::loopback_ephemeral(miners);
    cfg.limits = MinerLimits {
        no_reply_hold: Duration::from_secs(1),
        ..MinerLimits::default()
    };
    // Spread the faulty miners over the fleet: every 20th miner.
    let mut expected: BTreeMap<String, Option<&'static str>> = BTreeMap::new();
    for k in 0..faulty {
        let index = k * 20 + 7;
        let (fault, reason) = mix[k % mix.len()].clone();
        cfg.faults.push((index, fault));
        expected.insert(format!("m{index:03}"), reason);
    }
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let targets = fleet
        .addrs()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = Some(format!("m{i:03}"));
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(*a),
                name,
                Vec::new(),
                ApiChoice::V2,
            ))
        })
        .collect();
    let mut settings = support::exporter_settings(targets);
    settings.collector = CollectorConfig {
        concurrency: 64,
        info_refresh: Duration::from_secs(120),
        fetch_info: true,
        probed_kept: whatsminer_exporter::collector::probed::PROBED_KEPT,
        client: ClientConfig {
            limits: Limits {
                connect_timeout: Duration::from_millis(500),
                deadline: Duration::from_millis(700),
                max_reply_bytes: 128 * 1024,
            },
            read_retries: 1,
            retry_backoff: Duration::from_millis(20),
        },
    };
    settings.scrape.default_timeout = Duration::from_secs(3);
    // Each round must reach the miners (min_age 0, as set).
    let exporter = support::start(settings).await;
    let addr = exporter.metrics_addr();

    let started = Instant::now();
    let mut done = 0u64;
    let mut durations = Vec::with_capacity(scrapes as usize);
    let mut healthy_up = 0u64;
    let mut healthy_seen = 0u64;
    let mut wrong_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut warm: Option<(u64, usize, Option<u64>, u64)> = None;
    // (scrapes done, RSS KiB, live heap KiB) every 30 s, unsettled: the
    // trend tells a plateau from a leak.
    let mut series: Vec<(u64, u64, Option<u64>)> = Vec::new();
    let mut next_sample = Duration::from_secs(30);
    while done < scrapes && started.elapsed() < budget {
        let batch = parallel.min(scrapes - done);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..batch {
            set.spawn(scrape(addr));
        }
        while let Some(joined) = set.join_next().await {
            let (took, seen) = joined.expect("scrape task");
            durations.push(took);
            for (name, (up, reason)) in &seen {
                match expected.get(name) {
                    None => {
                        healthy_seen += 1;
                        healthy_up += u64::from(*up);
                    }
                    Some(want) => {
                        let ok = match want {
                            None => *up,
                            Some(r) => !up && reason == r,
                        };
                        if !ok {
                            *wrong_reason.entry(format!("{name}:{reason}")).or_default() += 1;
                        }
                    }
                }
            }
            assert_eq!(seen.len(), miners, "every miner in every scrape");
        }
        done += batch;
        if started.elapsed() >= next_sample {
            next_sample += Duration::from_secs(30);
            series.push((done, vm_rss_kib(), live_heap_kib()));
            eprintln!(
                "soak: {done} scrapes, {:.0} s, RSS {} KiB, live heap {:?} KiB, {} fds",
                started.elapsed().as_secs_f64(),
                vm_rss_kib(),
                live_heap_kib(),
                open_fds()
            );
        }
        if warm.is_none() && done >= warmup {
            let (rss, fds, heap) = settle_and_measure().await;
            warm = Some((rss, fds, heap, done));
        }
    }
    let (rss_end, fds_end, heap_end) = settle_and_measure().await;
    let (rss_warm, fds_warm, heap_warm, warm_at) = warm.expect("the soak got past its warm-up");
    let heap = match (heap_warm, heap_end) {
        (Some(w), Some(e)) => format!(
            "{w} KiB after warm-up, {e} KiB at the end ({:+.1}%)",
            (e as f64 / w.max(1) as f64 - 1.0) * 100.0
        ),
        _ => "not measured (glibc only)".into(),
    };
    durations.sort();
    let pct = |p: f64| durations[((durations.len() - 1) as f64 * p) as usize];
    let report = format!(
        "soak: {done} scrapes of {miners} miners ({faulty} faulty, {parallel} in flight) in {:.0} s\n\
         allocator tuned (src/memory.rs): {allocator_tuned}\n\
         scrape duration: p50 {:?}, p99 {:?}, max {:?}\n\
         RSS: {rss_warm} KiB after warm-up ({warm_at} scrapes), {rss_end} KiB at the end ({:+.1}%)\n\
         live heap: {heap}\n\
         open fds: {fds_warm} after warm-up, {fds_end} at the end\n\
         healthy miners up: {healthy_up}/{healthy_seen}; faulty miners with a wrong state: {wrong_reason:?}\n\
         (scrapes done, RSS KiB, live heap KiB), unsettled: {series:?}\n",
        started.elapsed().as_secs_f64(),
        pct(0.5),
        pct(0.99),
        durations.last().copied().unwrap_or_default(),
        (rss_end as f64 / rss_warm as f64 - 1.0) * 100.0,
    );
    println!("{report}");
    if let Ok(path) = std::env::var("SOAK_REPORT") {
        std::fs::write(path, &report).expect("write report");
    }
    assert!(
        rss_end as f64 <= rss_warm as f64 * 1.10,
        "RSS grew: {report}"
    );
    assert!(fds_end <= fds_warm + 4, "descriptors grew: {report}");
    // Healthy miners may rarely miss a deadline on a loaded machine.
    assert!(healthy_up as f64 >= healthy_seen as f64 * 0.99, "{report}");
    let wrong: u64 = wrong_reason.values().sum();
    assert!(
        wrong as f64 <= (done * faulty as u64) as f64 * 0.01,
        "{report}"
    );
    exporter.shutdown().await;
    fleet.shutdown().await;
}
