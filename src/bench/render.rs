//! In-process figures: how many commands a scrape sends per miner (warm-up
//! versus steady state, counted by the simulated miners themselves), and
//! the `/metrics` render time alone, from snapshots of real simulator
//! replies parsed once and replicated to a large fleet.

use super::{median, BenchError};
use crate::collector::render::{capacity_hint, render_miners, ExpositionWriter};
use crate::collector::{Collector, MinerSnapshot, MinerTarget};
use crate::config::{Config, MinerEntry};
use crate::exporter::Settings;
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
}

/// Scrapes a small in-process fleet twice with the exporter's default
/// collector settings, then times rendering `render_miners` snapshots.
pub async fn measure(
    render_miners_count: usize,
    runs: usize,
) -> Result<(RenderFigures, CommandCounts), BenchError> {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(SOURCE_MINERS))
        .await
        .map_err(|e| BenchError::new(format!("in-process fleet: {e}")))?;
    let entries = fleet
        .addrs()
        .into_iter()
        .map(|a| MinerEntry::from_addr(MinerAddr::from_socket_addr(a)))
        .collect();
    // The same collector settings `serve` derives from a default config.
    let settings = Settings::from_config(&Config::default_demo(entries));
    let collector = Arc::new(Collector::new(settings.collector.clone()));
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(60);

    collector.scrape_fleet(&settings.targets, deadline()).await;
    let warmup = total_commands(&fleet);
    for miner in fleet.miners() {
        miner.reset_command_counts();
    }
    let steady = collector.scrape_fleet(&settings.targets, deadline()).await;
    let after = total_commands(&fleet);
    let info_commands_on_scrape = fleet
        .miners()
        .iter()
        .flat_map(|m| m.command_counts())
        .filter(|(command, _)| !super::floor::SCRAPE_COMMANDS.contains(&command.as_str()))
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
    };
    let snapshots = replicate(&steady.miners, render_miners_count);
    Ok((time_render(&snapshots, runs), counts))
}

fn total_commands(fleet: &Fleet) -> u64 {
    fleet
        .miners()
        .iter()
        .flat_map(|m| m.command_counts().into_values())
        .sum()
}

/// `count` snapshots cycling through `source`, each with its own target
/// (a distinct loopback address, used only as a label).
fn replicate(source: &[MinerSnapshot], count: usize) -> Vec<MinerSnapshot> {
    (0..count)
        .filter_map(|i| {
            let template = source.get(i % source.len().max(1))?;
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 3, 0, 1)) + i as u32);
            let addr = MinerAddr::from_socket_addr(SocketAddr::new(ip.into(), 4028));
            let mut snapshot = template.clone();
            snapshot.target = Arc::new(MinerTarget::from_addr(addr));
            Some(snapshot)
        })
        .collect()
}

/// Times the whole render as `/metrics` does it, buffer allocation
/// included; one untimed warm-up run first.
fn time_render(snapshots: &[MinerSnapshot], runs: usize) -> RenderFigures {
    let mut runs_ms = Vec::with_capacity(runs);
    let mut exposition_bytes = 0;
    let mut series = 0;
    for run in 0..=runs {
        let started = Instant::now();
        let mut out = ExpositionWriter::with_capacity(capacity_hint(snapshots.len()));
        render_miners(&mut out, snapshots, SystemTime::now());
        let text = std::hint::black_box(out.finish());
        let elapsed = started.elapsed();
        if run > 0 {
            runs_ms.push(elapsed.as_secs_f64() * 1e3);
        }
        exposition_bytes = text.len();
        series = text.lines().filter(|l| !l.starts_with('#')).count();
    }
    RenderFigures {
        miners: snapshots.len(),
        median_ms: median(&runs_ms),
        runs_ms,
        exposition_bytes,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_commands_and_renders_every_replica() {
        let (render, counts) = measure(60, 2).await.expect("measure");
        assert_eq!(counts.scrape_per_miner, 3.0, "{counts:?}");
        assert_eq!(counts.info_commands_on_scrape, 0);
        assert!(counts.warmup_per_miner > 3.0, "{counts:?}");
        assert_eq!((render.miners, render.runs_ms.len()), (60, 2));
        assert!(render.series > 60 * 20, "{render:?}");
        assert!(render.exposition_bytes > render.series * 20);
    }
}
