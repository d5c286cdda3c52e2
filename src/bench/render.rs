//! In-process figures: how many commands a scrape sends per miner (warm-up
//! versus steady state, counted by the simulated miners themselves), and
//! the `/metrics` render time alone, from snapshots of real simulator
//! replies parsed once and replicated to a large fleet.

use super::{median, BenchError};
use crate::collector::groups::MetricGroups;
use crate::collector::render::{capacity_hint, render_miners, ExpositionWriter};
use crate::collector::{Collector, MinerSnapshot, MinerTarget};
use crate::config::{Config, MinerEntry};
use crate::sim::counters::JOINED;
use crate::sim::{Fleet, FleetConfig};
use crate::transport::MinerAddr;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Distinct miners actually scraped; the render input repeats them.
/// Twelve covers every simulated model and both reply flavours.
const SOURCE_MINERS: usize = 24;

/// Render time of `/metrics` for a pre-filled fleet snapshot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RenderFigures {
    pub miners: usize,
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
    /// CPU time of the rendering thread, median: unlike wall time, not
    /// inflated by other load on the machine.
    pub cpu_median_ms: f64,
    /// CPU time when the output buffer is reused from the previous run:
    /// what the page faults of a fresh buffer cost, by difference.
    pub reused_buffer_cpu_median_ms: f64,
    pub exposition_bytes: usize,
    /// Sample lines (not `#` lines).
    pub series: usize,
}

/// Commands per miner per scrape, as the simulated miners counted them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommandCounts {
    pub miners: usize,
    /// The first scrape also fetches the slow info commands.
    pub warmup_per_miner: f64,
    /// Later scrapes, within the info refresh interval.
    pub scrape_per_miner: f64,
    /// Slow info commands sent during the later scrape (expected 0).
    pub info_commands_on_scrape: u64,
    /// TCP connections per miner in the later scrape (1 where the firmware
    /// joins reads, as the simulator's does by default).
    pub connections_per_miner: f64,
}

/// Render figures with every metric group (the default) and with the
/// large-farm profile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RenderProfiles {
    pub full: RenderFigures,
    pub large_farm: RenderFigures,
}

/// Scrapes a small in-process fleet twice with the exporter's default
/// collector settings, then times rendering `render_miners` snapshots, for
/// the default metric groups and for the large-farm profile.
pub async fn measure(
    render_miners_count: usize,
    runs: usize,
) -> Result<(RenderProfiles, CommandCounts), BenchError> {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(SOURCE_MINERS))
        .await
        .map_err(|e| BenchError::new(format!("in-process fleet: {e}")))?;
    let entries = fleet
        .addrs()
        .into_iter()
        .map(|a| MinerEntry::from_addr(MinerAddr::from_socket_addr(a)))
        .collect();
    // The same collector settings `serve` derives from a default config.
    let settings = Config::default_demo(entries).settings();
    let collector = Arc::new(Collector::new(settings.collector.clone()));
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);

    collector.scrape_fleet(&settings.targets, deadline()).await;
    let warmup = total_commands(&fleet);
    for miner in fleet.miners() {
        miner.reset_command_counts();
    }
    let connections_before = total_connections(&fleet);
    let steady = collector.scrape_fleet(&settings.targets, deadline()).await;
    let after = total_commands(&fleet);
    let connections = total_connections(&fleet) - connections_before;
    let info_commands_on_scrape = fleet
        .miners()
        .iter()
        .flat_map(|m| m.command_counts())
        .filter(|(command, _)| {
            !super::floor::SCRAPE_COMMANDS.contains(&command.as_str()) && command != JOINED
        })
        .map(|(_, n)| n)
        .sum();
    fleet.shutdown().await;
    let down = steady.miners.iter().filter(|m| !m.up()).count();
    if down > 0 {
        return Err(BenchError::new(format!(
            "{down} of {SOURCE_MINERS} in-process miners were down"
        )));
    }
    let counts = CommandCounts {
        miners: SOURCE_MINERS,
        warmup_per_miner: warmup as f64 / SOURCE_MINERS as f64,
        scrape_per_miner: after as f64 / SOURCE_MINERS as f64,
        info_commands_on_scrape,
        connections_per_miner: connections as f64 / SOURCE_MINERS as f64,
    };
    let full = replicate(&steady.miners, render_miners_count, MetricGroups::FULL);
    let large = replicate(
        &steady.miners,
        render_miners_count,
        MetricGroups::LARGE_FARM,
    );
    let profiles = RenderProfiles {
        full: time_render(&full, runs),
        large_farm: time_render(&large, runs),
    };
    Ok((profiles, counts))
}

/// Commands read, a joined read counting as its parts.
fn total_commands(fleet: &Fleet) -> u64 {
    fleet
        .miners()
        .iter()
        .flat_map(|m| m.command_counts())
        .filter(|(command, _)| command != JOINED)
        .map(|(_, n)| n)
        .sum()
}

fn total_connections(fleet: &Fleet) -> u64 {
    fleet.miners().iter().map(|m| m.connection_count()).sum()
}

/// `count` snapshots cycling through `source`, each with its own target
/// (a distinct loopback address, used only as a label) and `groups`.
fn replicate(source: &[MinerSnapshot], count: usize, groups: MetricGroups) -> Vec<MinerSnapshot> {
    (0..count)
        .filter_map(|i| {
            let template = source.get(i % source.len().max(1))?;
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 3, 0, 1)) + i as u32);
            let addr = MinerAddr::from_socket_addr(SocketAddr::new(ip.into(), 4028));
            let mut snapshot = template.clone();
            snapshot.target = Arc::new(MinerTarget::from_addr(addr).with_groups(groups));
            Some(snapshot)
        })
        .collect()
}

/// Times the whole render as `/metrics` does it, buffer allocation
/// included; one untimed warm-up run first.
fn time_render(snapshots: &[MinerSnapshot], runs: usize) -> RenderFigures {
    let mut runs_ms = Vec::with_capacity(runs);
    let mut cpu_ms = Vec::with_capacity(runs);
    let mut reused_cpu_ms = Vec::with_capacity(runs);
    let mut text = String::new();
    for run in 0..=runs {
        let (fresh_wall, fresh_cpu, fresh_text) = render_once(snapshots, None);
        let (_, reused_cpu, reused_text) = render_once(snapshots, Some(text));
        text = reused_text;
        if run > 0 {
            runs_ms.push(fresh_wall);
            cpu_ms.push(fresh_cpu);
            reused_cpu_ms.push(reused_cpu);
        }
        drop(fresh_text);
    }
    RenderFigures {
        miners: snapshots.len(),
        median_ms: median(&runs_ms),
        cpu_median_ms: median(&cpu_ms),
        reused_buffer_cpu_median_ms: median(&reused_cpu_ms),
        runs_ms,
        exposition_bytes: text.len(),
        series: text.lines().filter(|l| !l.starts_with('#')).count(),
    }
}

/// One render as `/metrics` does it (into a fresh buffer) or into a reused
/// one: wall ms, thread CPU ms, the text.
fn render_once(snapshots: &[MinerSnapshot], reuse: Option<String>) -> (f64, f64, String) {
    let cpu_before = super::procs::thread_cpu_time();
    let started = Instant::now();
    let mut out = match reuse {
        Some(buffer) => ExpositionWriter::from_buffer(buffer),
        None => ExpositionWriter::with_capacity(capacity_hint(snapshots.len())),
    };
    render_miners(&mut out, snapshots, SystemTime::now());
    let text = std::hint::black_box(out.finish());
    let wall = started.elapsed();
    let cpu = super::procs::thread_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before))
        .unwrap_or_default();
    (wall.as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_commands_and_renders_every_replica() {
        let (profiles, counts) = measure(60, 2).await.expect("measure");
        let render = profiles.full;
        let large = profiles.large_farm;
        assert!(large.series * 2 < render.series, "{large:?} vs {render:?}");
        assert_eq!(counts.scrape_per_miner, 3.0, "{counts:?}");
        assert_eq!(counts.info_commands_on_scrape, 0);
        assert_eq!(counts.connections_per_miner, 1.0, "joined reads");
        assert!(counts.warmup_per_miner > 3.0, "{counts:?}");
        assert_eq!((render.miners, render.runs_ms.len()), (60, 2));
        assert!(render.series > 60 * 20, "{render:?}");
        assert!(render.exposition_bytes > render.series * 20);
    }
}
