//! `bench`: a reproducible fleet-scale benchmark of the exporter against
//! the floor. For each fleet size it runs a simulator and an exporter as
//! separate processes of this binary on loopback, then alternates full
//! `/metrics` scrapes with a bare TCP client making the same exchanges
//! (the floor) and reports wall time, CPU time, peak memory and their
//! ratios. It also times rendering alone (in-process), counts the commands
//! per miner-scrape, loads `/probe`, and powers miners off and on.
//!
//! Layout: `procs` (child processes, `/proc`), `http` (a minimal client),
//! `floor`, `scale` (one fleet size), `render`, `load` (`/probe`, power),
//! `peer` (pyasic on the same fleet, with `--pyasic`), `report` (table,
//! Markdown, JSON). Everything is bounded in count and
//! time, and every child is killed when the benchmark ends, even on error
//! or Ctrl-C.

mod floor;
mod http;
mod load;
mod peer;
pub mod procs;
mod render;
pub mod report;
mod scale;

pub use report::Report;

use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;

/// A benchmark failure, worded for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(String);

impl BenchError {
    pub fn new(message: impl Into<String>) -> Self {
        BenchError(message.into())
    }

    fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        BenchError(format!("{}: {e}", path.display()))
    }
}

/// Options of `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Fleet sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    pub miners: Vec<usize>,
    /// Measured scrape/floor pairs per fleet size (after one warm-up pair).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Miners in flight at once, for the exporter and the floor alike.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Miners in the in-process render benchmark.
    #[arg(long, default_value_t = 5000)]
    pub render_miners: usize,
    /// Concurrent HTTP clients loading `/probe`.
    #[arg(long, default_value_t = 32)]
    pub probe_clients: usize,
    /// `/probe` requests in total (capped at 60 s).
    #[arg(long, default_value_t = 5000)]
    pub probe_requests: usize,
    /// Miners powered off and on (the first of the largest fleet).
    #[arg(long, default_value_t = 1000)]
    pub power_miners: usize,
    /// Also run the peer, pyasic (Python, from scripts/install-test-deps),
    /// on each fleet: its joined and separate reads, `--runs` scrapes each.
    /// The fleets then answer in the classic (list) form only.
    #[arg(long)]
    pub pyasic: bool,
    /// A CI smoke run: 50 miners, 2 runs, small render/probe/power sets.
    #[arg(long)]
    pub quick: bool,
    /// Also write the report as JSON to this file (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the report as Markdown to this file (`-` for stdout).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl BenchArgs {
    /// Applies `--quick` and checks every bound.
    fn resolve(mut self) -> Result<BenchArgs, BenchError> {
        if self.quick {
            self.miners = vec![50];
            self.runs = 2;
            self.render_miners = 500;
            self.probe_requests = 200;
            self.power_miners = 50;
        }
        let in_range = |v: usize, lo: usize, hi: usize, what: &str| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(BenchError::new(format!("{what} must be {lo}..={hi}")))
            }
        };
        if self.miners.is_empty() || self.miners.len() > 8 {
            return Err(BenchError::new("--miners takes 1 to 8 fleet sizes"));
        }
        for &n in &self.miners {
            in_range(n, 1, 20_000, "each --miners size")?;
        }
        in_range(self.runs, 1, 50, "--runs")?;
        in_range(self.concurrency, 1, 4096, "--concurrency")?;
        in_range(self.render_miners, 1, 50_000, "--render-miners")?;
        in_range(self.probe_clients, 1, 256, "--probe-clients")?;
        in_range(self.probe_requests, 1, 100_000, "--probe-requests")?;
        in_range(self.power_miners, 0, 5_000, "--power-miners")?;
        Ok(self)
    }

    /// The command line that reproduces a run with these options.
    fn command_line(&self) -> String {
        if self.quick {
            return "whatsminer-exporter bench --quick".into();
        }
        let sizes: Vec<String> = self.miners.iter().map(ToString::to_string).collect();
        format!(
            "whatsminer-exporter bench --miners {} --runs {} --concurrency {} --render-miners {} \
             --probe-clients {} --probe-requests {} --power-miners {}{}",
            sizes.join(","),
            self.runs,
            self.concurrency,
            self.render_miners,
            self.probe_clients,
            self.probe_requests,
            self.power_miners,
            if self.pyasic { " --pyasic" } else { "" }
        )
    }
}

/// The median; the mean of the middle two for an even count; 0 if empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A work folder removed when dropped (after the children are gone).
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<WorkDir, BenchError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("whatsminer-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the whole benchmark. Children are spawned from the calling task,
/// so run it on the thread that lives as long as the benchmark (the
/// parent-death signal follows the spawning thread).
pub async fn run_bench(args: &BenchArgs) -> Result<Report, BenchError> {
    let nofile = crate::process::raise_nofile_limit();
    let machine = procs::Machine::describe(nofile);
    if procs::cpu_time(std::process::id()).is_none() {
        return Err(BenchError::new(
            "the benchmark needs Linux /proc for CPU times",
        ));
    }
    let exe = std::env::current_exe()
        .map_err(|e| BenchError::new(format!("finding this program: {e}")))?;
    let work = WorkDir::create()?;
    let password = Secret::new("bench-admin");
    let password_file = work.0.join("password");
    std::fs::write(&password_file, password.expose())
        .map_err(|e| BenchError::io(&password_file, e))?;

    eprintln!("render: {} miners, in process", args.render_miners);
    let (render, commands) = render::measure(args.render_miners, args.runs.max(5)).await?;
    let ctx = scale::Context {
        exe,
        dir: work.0.clone(),
        password_file,
        concurrency: args.concurrency,
        runs: args.runs,
        // pyasic's joined read cannot read a Msg-wrapped summary part (a
        // TypeError in its reply check): with the peer, every miner
        // answers in the list form so that pyasic reads all of them.
        classic_fleet: args.pyasic,
    };
    let mut fleets = Vec::new();
    let (mut probe, mut power) = (None, None);
    let largest = args.miners.iter().copied().max().unwrap_or(0);
    let mut last_is_done = false;
    for &n in &args.miners {
        eprintln!("fleet of {n}: starting the simulator and the exporter");
        let mut running = scale::start(&ctx, n).await?;
        eprintln!("fleet of {n}: measuring");
        let mut figures = scale::measure(&ctx, &mut running).await?;
        if args.pyasic {
            eprintln!("fleet of {n}: pyasic, joined and separate reads");
            figures.peer = Some(peer::run(&ctx, &running).await?);
        }
        fleets.push(figures);
        if n == largest && !last_is_done {
            last_is_done = true;
            eprintln!("fleet of {n}: /probe load");
            probe = Some(
                load::probe(
                    running.exporter_addr,
                    &running.miners,
                    args.probe_clients,
                    args.probe_requests,
                    Duration::from_secs(60),
                )
                .await?,
            );
            if args.power_miners > 0 {
                let count = args.power_miners.min(n);
                eprintln!("fleet of {n}: power off/on over {count} miners");
                let miners = running.miners.get(..count).unwrap_or_default();
                power = Some(
                    load::power(
                        miners,
                        running.sim.pid(),
                        &password,
                        ctx.concurrency,
                        Duration::from_secs(300),
                    )
                    .await?,
                );
            }
        }
        // The guards kill both processes here, before the next size.
        drop(running);
    }
    Ok(Report {
        machine,
        command: args.command_line(),
        runs: args.runs,
        concurrency: args.concurrency,
        commands,
        render,
        fleets,
        probe,
        power,
    })
}

fn write_output(path: &std::path::Path, text: &str) -> Result<(), BenchError> {
    if path.as_os_str() == "-" {
        print!("{text}");
        Ok(())
    } else {
        std::fs::write(path, text).map_err(|e| BenchError::io(path, e))
    }
}

/// The `bench` subcommand: runs, prints the table, writes JSON/Markdown.
/// Ctrl-C stops it and still kills the child processes.
pub async fn run(args: BenchArgs) -> u8 {
    use crate::process::exit;
    let args = match args.resolve() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; figures mean little (use cargo build --release)");
    }
    let result = tokio::select! {
        r = run_bench(&args) => r,
        _ = tokio::signal::ctrl_c() => Err(BenchError::new("interrupted")),
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILURE;
        }
    };
    print!("{}", report::table(&report));
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j + "\n",
        Err(e) => {
            eprintln!("error: serialising the report: {e}");
            return exit::FAILURE;
        }
    };
    let outputs = [
        (args.json.as_ref(), json),
        (args.markdown.as_ref(), report::markdown(&report)),
    ];
    for (path, text) in outputs {
        let Some(path) = path else { continue };
        if let Err(e) = write_output(path, &text) {
            eprintln!("error: {e}");
            return exit::FAILURE;
        }
    }
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
