//! The benchmark's report: the figures (serialised as JSON) and their
//! rendering as a plain-text table or Markdown, with each figure checked
//! against its target.

use super::load::{PowerFigures, ProbeFigures};
use super::peer::PeerFigures;
use super::procs::Machine;
use super::render::{CommandCounts, RenderFigures, RenderProfiles};
use serde::Serialize;

/// Targets from the issue, judged at every fleet size.
pub const TARGET_WALL_RATIO: f64 = 1.2;
pub const TARGET_CPU_US_PER_MINER: f64 = 50.0;
pub const TARGET_PEAK_RSS_MIB: f64 = 64.0;
pub const TARGET_RENDER_MS: f64 = 50.0;
/// Exporter / one-exchange floor, wall and CPU (issue 17).
pub const TARGET_ONE_EXCHANGE_RATIO: f64 = 1.15;

/// Every measured value of one quantity, and their median.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    pub runs: Vec<f64>,
    pub median: f64,
}

impl Series {
    pub fn new(runs: Vec<f64>) -> Series {
        Series {
            median: super::median(&runs),
            runs,
        }
    }
}

/// Figures for one fleet size.
#[derive(Debug, Clone, Serialize)]
pub struct FleetFigures {
    pub miners: usize,
    /// The fewest miners `up` in a measured scrape (should be all).
    pub up_miners_min: usize,
    pub exposition_bytes: usize,
    /// The first scrape, which also fetches the slow info commands.
    pub exporter_warmup_wall_ms: f64,
    pub exporter_warmup_cpu_ms: f64,
    pub exporter_wall_ms: Series,
    pub exporter_cpu_ms: Series,
    /// Median exporter CPU per scrape divided by the miners.
    pub exporter_cpu_us_per_miner: f64,
    /// (exporter CPU - floor CPU) per miner, medians: the exporter's own
    /// work beyond the unavoidable TCP exchanges.
    pub exporter_cpu_over_floor_us_per_miner: f64,
    pub exporter_peak_rss_mib: f64,
    /// Resident memory between scrapes, after the measured runs.
    pub exporter_idle_rss_mib: f64,
    pub floor_wall_ms: Series,
    pub floor_cpu_ms: Series,
    /// The fewest successful exchanges in a floor run (should be 3N).
    pub floor_ok_exchanges_min: usize,
    /// Simulator CPU during each exporter scrape and each floor run: it
    /// shares the cores, and should cost the same in both.
    pub sim_cpu_ms: Series,
    pub sim_cpu_floor_ms: Series,
    /// exporter / floor, pair by pair.
    pub wall_ratio: Series,
    pub cpu_ratio: Series,
    /// pyasic on the same fleet (`--pyasic`).
    pub peer: Option<PeerFigures>,
    /// The one-exchange floor (joined reads) of the same rounds.
    pub one_exchange: OneExchangeFigures,
}

/// The one-exchange floor: one joined read per miner.
#[derive(Debug, Clone, Serialize)]
pub struct OneExchangeFigures {
    pub wall_ms: Series,
    pub cpu_ms: Series,
    pub cpu_us_per_miner: f64,
    /// The fewest successful exchanges in a run (should be N).
    pub ok_exchanges_min: usize,
    pub sim_cpu_ms: Series,
    /// exporter / one-exchange floor, round by round.
    pub wall_ratio: Series,
    pub cpu_ratio: Series,
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    /// The command line that reproduces these figures.
    pub command: String,
    pub runs: usize,
    pub concurrency: usize,
    pub commands: CommandCounts,
    pub render: RenderProfiles,
    pub fleets: Vec<FleetFigures>,
    pub probe: Option<ProbeFigures>,
    pub power: Option<PowerFigures>,
}

fn mark(ok: bool) -> &'static str {
    if ok {
        ""
    } else {
        " !"
    }
}

const HEADER: [&str; 16] = [
    "miners",
    "up",
    "scrape ms",
    "floor ms",
    "wall ratio",
    "1-ex floor ms",
    "wall/1-ex",
    "CPU ms",
    "µs/miner",
    "over floor",
    "floor CPU ms",
    "CPU ratio",
    "1-ex CPU ms",
    "CPU/1-ex",
    "peak RSS MiB",
    "exposition KiB",
];

fn rows(report: &Report) -> Vec<Vec<String>> {
    report
        .fleets
        .iter()
        .map(|f| {
            vec![
                f.miners.to_string(),
                format!("{}{}", f.up_miners_min, mark(f.up_miners_min == f.miners)),
                format!("{:.1}", f.exporter_wall_ms.median),
                format!("{:.1}", f.floor_wall_ms.median),
                format!(
                    "{:.2}{}",
                    f.wall_ratio.median,
                    mark(f.wall_ratio.median <= TARGET_WALL_RATIO)
                ),
                format!("{:.1}", f.one_exchange.wall_ms.median),
                format!(
                    "{:.2}{}",
                    f.one_exchange.wall_ratio.median,
                    mark(f.one_exchange.wall_ratio.median <= TARGET_ONE_EXCHANGE_RATIO)
                ),
                format!("{:.1}", f.exporter_cpu_ms.median),
                format!(
                    "{:.1}{}",
                    f.exporter_cpu_us_per_miner,
                    mark(f.exporter_cpu_us_per_miner <= TARGET_CPU_US_PER_MINER)
                ),
                format!("{:.1}", f.exporter_cpu_over_floor_us_per_miner),
                format!("{:.1}", f.floor_cpu_ms.median),
                format!("{:.2}", f.cpu_ratio.median),
                format!("{:.1}", f.one_exchange.cpu_ms.median),
                format!(
                    "{:.2}{}",
                    f.one_exchange.cpu_ratio.median,
                    mark(f.one_exchange.cpu_ratio.median <= TARGET_ONE_EXCHANGE_RATIO)
                ),
                format!(
                    "{:.1}{}",
                    f.exporter_peak_rss_mib,
                    mark(f.exporter_peak_rss_mib <= TARGET_PEAK_RSS_MIB)
                ),
                format!("{:.0}", f.exposition_bytes as f64 / 1024.0),
            ]
        })
        .collect()
}

fn render_line(profile: &str, r: &RenderFigures) -> String {
    format!(
        "render of {} miners{profile}: median {:.1} ms{} wall, {:.1} ms CPU ({:.1} ms CPU into a reused buffer; {} series, {:.1} per miner, {:.1} MiB)",
        r.miners,
        r.median_ms,
        mark(r.median_ms <= TARGET_RENDER_MS),
        r.cpu_median_ms,
        r.reused_buffer_cpu_median_ms,
        r.series,
        r.series as f64 / r.miners.max(1) as f64,
        r.exposition_bytes as f64 / 1048576.0
    )
}

fn extra_lines(report: &Report) -> Vec<String> {
    let c = &report.commands;
    let mut lines = vec![
        render_line("", &report.render.full),
        render_line(" (large_farm profile)", &report.render.large_farm),
        format!(
            "commands per miner: warm-up scrape {:.1}, later scrapes {:.1} in {:.1} connections (info commands on later scrapes: {})",
            c.warmup_per_miner, c.scrape_per_miner, c.connections_per_miner, c.info_commands_on_scrape
        ),
    ];
    for f in &report.fleets {
        lines.push(format!(
            "{} miners: warm-up scrape {:.0} ms ({:.0} ms CPU); simulator CPU {:.0} ms per scrape, {:.0} ms per floor run, {:.0} ms per one-exchange floor run; one-exchange floor {:.1} µs CPU per miner ({} of {} exchanges ok); exporter RSS between scrapes {:.1} MiB",
            f.miners,
            f.exporter_warmup_wall_ms,
            f.exporter_warmup_cpu_ms,
            f.sim_cpu_ms.median,
            f.sim_cpu_floor_ms.median,
            f.one_exchange.sim_cpu_ms.median,
            f.one_exchange.cpu_us_per_miner,
            f.one_exchange.ok_exchanges_min,
            f.miners,
            f.exporter_idle_rss_mib
        ));
    }
    for (f, p) in report
        .fleets
        .iter()
        .filter_map(|f| Some((f, f.peer.as_ref()?)))
    {
        let ratio = |us: f64| us / f.exporter_cpu_us_per_miner.max(1e-9);
        lines.push(format!(
            "{} miners, peer pyasic {}: joined reads {:.0} µs CPU per miner-scrape ({:.1}× the exporter; \
             {:.0} ms wall), separate reads {:.0} µs ({:.1}×; {:.0} ms wall); fewest miners read \
             {} joined, {} separate; simulator CPU {:.0} ms over the peer run; pyasic joined is \
             {:.1}× the one-exchange floor (no client making the same exchange can be further ahead)",
            f.miners,
            p.pyasic,
            p.joined.cpu_us_per_miner,
            ratio(p.joined.cpu_us_per_miner),
            p.joined.wall_ms.median,
            p.separate.cpu_us_per_miner,
            ratio(p.separate.cpu_us_per_miner),
            p.separate.wall_ms.median,
            p.joined.ok_min,
            p.separate.ok_min,
            p.sim_cpu_ms,
            p.joined.cpu_us_per_miner / f.one_exchange.cpu_us_per_miner.max(1e-9)
        ));
    }
    if let Some(p) = &report.probe {
        lines.push(format!(
            "/probe: {:.0} req/s with {} clients ({} of {} ok, p50 {:.1} ms, p99 {:.1} ms)",
            p.per_second, p.clients, p.ok, p.requests, p.latency_p50_ms, p.latency_p99_ms
        ));
    }
    if let Some(p) = &report.power {
        for phase in &p.phases {
            lines.push(format!(
                "{} over {} miners, {}: {:.0} ms ({} ok; CPU {:.0} ms client, {:.0} ms simulator)",
                phase.command,
                p.miners,
                if phase.concurrent {
                    format!("{} at a time", p.concurrency)
                } else {
                    "sequential".to_string()
                },
                phase.elapsed_ms,
                phase.ok,
                phase.client_cpu_ms,
                phase.sim_cpu_ms
            ));
        }
    }
    lines
}

fn machine_line(report: &Report) -> String {
    let m = &report.machine;
    format!(
        "machine: {} × {}, Linux {}, {} build; median of {} runs after 1 warm-up; concurrency {}",
        m.nproc, m.cpu_model, m.kernel, m.build, report.runs, report.concurrency
    )
}

/// A plain-text table for the terminal; `!` marks a missed target.
pub fn table(report: &Report) -> String {
    let rows = rows(report);
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([HEADER[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = vec![machine_line(report), String::new(), line(HEADER.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.push(String::new());
    out.extend(extra_lines(report));
    out.push(format!(
        "floor: three exchanges per miner; 1-ex: one joined read per miner\n\
         µs/miner: exporter CPU per miner-scrape; over floor: the same less the floor's CPU\n\
         targets: wall ratio ≤ {TARGET_WALL_RATIO}, wall/1-ex and CPU/1-ex ≤ {TARGET_ONE_EXCHANGE_RATIO}, \
         ≤ {TARGET_CPU_US_PER_MINER} µs CPU per miner-scrape, \
         peak RSS ≤ {TARGET_PEAK_RSS_MIB} MiB, render ≤ {TARGET_RENDER_MS} ms; ! = missed"
    ));
    out.join("\n") + "\n"
}

/// The same as Markdown, ready for BENCHMARKS.md.
pub fn markdown(report: &Report) -> String {
    let mut out = vec![
        format!("`{}`", report.command),
        String::new(),
        machine_line(report),
        String::new(),
        format!("| {} |", HEADER.join(" | ")),
        format!("|{}", "---:|".repeat(HEADER.len())),
    ];
    out.extend(
        rows(report)
            .iter()
            .map(|r| format!("| {} |", r.join(" | "))),
    );
    out.push(String::new());
    out.extend(extra_lines(report).into_iter().map(|l| format!("- {l}")));
    out.join("\n") + "\n"
}
