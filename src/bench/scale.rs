//! One fleet size: a simulator process and an exporter process (both this
//! same binary), then exporter scrapes and runs of both floors in
//! alternation, each round giving a wall and a CPU ratio to each floor.

use super::floor::{self, Floor};
use super::http::Connection;
use super::procs::{cpu_time, peak_rss, rss, wait_for, ChildGuard};
use super::report::{FleetFigures, OneExchangeFigures, Series};
use super::BenchError;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Largest `/metrics` body accepted (a 5,000-miner exposition is ~20 MiB).
const MAX_EXPOSITION: usize = 1024 * 1024 * 1024;
/// The scrape timeout sent as Prometheus would, far above what a healthy
/// loopback fleet needs, so that no miner is cut off by the deadline.
const SCRAPE_TIMEOUT_SECS: &str = "120";
const SCRAPE_LIMIT: Duration = Duration::from_secs(180);

/// What the processes need: this binary, a work folder, the password file.
#[derive(Debug, Clone)]
pub struct Context {
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub password_file: PathBuf,
    pub concurrency: usize,
    pub runs: usize,
    /// Every simulated miner answers in the classic (list) form.
    pub classic_fleet: bool,
}

/// A simulated fleet and an exporter scraping it, each its own process.
#[derive(Debug)]
pub struct Running {
    pub sim: ChildGuard,
    pub exporter: ChildGuard,
    pub exporter_addr: SocketAddr,
    pub miners: Arc<Vec<SocketAddr>>,
}

/// Starts the simulator with `n` miners on ephemeral loopback ports, waits
/// for its targets file, then starts an exporter on it and waits until it
/// answers.
pub async fn start(ctx: &Context, n: usize) -> Result<Running, BenchError> {
    let dir = ctx.dir.join(format!("fleet-{n}"));
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
    let targets = dir.join("targets.txt");
    let flavour: &[&str] = if ctx.classic_fleet {
        &["--flavour", "classic"]
    } else {
        &[]
    };
    let sim_args = [
        "simulate",
        "--miners",
        &n.to_string(),
        "--ports",
        "--port",
        "0",
        "--targets-file",
        &path_arg(&targets),
        "--password-file",
        &path_arg(&ctx.password_file),
    ]
    .map(String::from);
    let sim_args: Vec<String> = sim_args
        .into_iter()
        .chain(flavour.iter().map(|s| s.to_string()))
        .collect();
    let mut sim = ChildGuard::spawn("simulator", &ctx.exe, &sim_args, dir.join("simulator.log"))?;
    let limit = Duration::from_secs(60) + Duration::from_millis(10 * n as u64);
    let miners = wait_for(&mut sim, "simulated fleet", limit, || async {
        let text = std::fs::read_to_string(&targets).ok()?;
        let addrs: Vec<SocketAddr> = text.lines().filter_map(|l| l.parse().ok()).collect();
        (addrs.len() == n).then_some(addrs)
    })
    .await?;

    let exporter_addr = free_loopback_port()?;
    let config = dir.join("exporter.toml");
    std::fs::write(
        &config,
        exporter_config(exporter_addr, ctx.concurrency, &targets),
    )
    .map_err(|e| BenchError::io(&config, e))?;
    let exporter_args = ["serve", "--config", &path_arg(&config)].map(String::from);
    let mut exporter = ChildGuard::spawn(
        "exporter",
        &ctx.exe,
        &exporter_args,
        dir.join("exporter.log"),
    )?;
    wait_for(
        &mut exporter,
        "exporter",
        Duration::from_secs(30),
        || async {
            let mut conn = Connection::new(exporter_addr);
            let r = conn
                .get("/-/healthy", &[], 4096, Duration::from_secs(2))
                .await;
            matches!(r, Ok(r) if r.status == 200).then_some(())
        },
    )
    .await?;
    Ok(Running {
        sim,
        exporter,
        exporter_addr,
        miners: Arc::new(miners),
    })
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The exporter's config: defaults everywhere (live mode, info refresh,
/// retries, timeouts) except the listen address, the concurrency under
/// test, a log level that keeps the log quiet, and `min_age = 0`: every
/// measured `/metrics` must be a scrape of its own, not a recent result
/// served again (the floor runs between scrapes take less than 5 s).
fn exporter_config(listen: SocketAddr, concurrency: usize, targets: &Path) -> String {
    let path = toml::Value::String(path_arg(targets));
    format!(
        "[server]\nlisten = \"{listen}\"\n\n[log]\nlevel = \"warn\"\n\n\
         [scrape]\nconcurrency = {concurrency}\nmin_age = \"0s\"\n\n[[miner_files]]\npath = {path}\n"
    )
}

/// A loopback port that was free a moment ago.
fn free_loopback_port() -> Result<SocketAddr, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::new(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map_err(|e| BenchError::new(format!("finding a free port: {e}")))
}

struct Scrape {
    wall: Duration,
    cpu: Duration,
    sim_cpu: Duration,
    bytes: usize,
    up: usize,
}

fn cpu_of(child: &ChildGuard) -> Result<Duration, BenchError> {
    cpu_time(child.pid()).ok_or_else(|| BenchError::new("cannot read CPU time from /proc"))
}

/// One full `/metrics` scrape through the exporter process.
async fn scrape(fleet: &mut Running) -> Result<Scrape, BenchError> {
    let (cpu0, sim0) = (cpu_of(&fleet.exporter)?, cpu_of(&fleet.sim)?);
    let started = Instant::now();
    let mut conn = Connection::new(fleet.exporter_addr);
    let headers = [("X-Prometheus-Scrape-Timeout-Seconds", SCRAPE_TIMEOUT_SECS)];
    let response = conn
        .get("/metrics", &headers, MAX_EXPOSITION, SCRAPE_LIMIT)
        .await;
    let wall = started.elapsed();
    drop(conn);
    let response = match response {
        Ok(r) if r.status == 200 => r,
        Ok(r) => return Err(BenchError::new(format!("/metrics answered {}", r.status))),
        Err(e) => {
            fleet.exporter.check_alive()?;
            return Err(BenchError::new(format!("/metrics: {e}")));
        }
    };
    // Let the exporter finish writing and freeing before reading its CPU.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let up = response
        .body
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"whatsminer_up{") && l.ends_with(b"} 1"))
        .count();
    Ok(Scrape {
        wall,
        cpu: cpu_of(&fleet.exporter)?.saturating_sub(cpu0),
        sim_cpu: cpu_of(&fleet.sim)?.saturating_sub(sim0),
        bytes: response.body.len(),
        up,
    })
}

/// One floor run from this process: the run, its own CPU time, and the
/// simulator's.
async fn floor_run(
    fleet: &Running,
    concurrency: usize,
    which: Floor,
) -> Result<(floor::FloorRun, Duration, Duration), BenchError> {
    let me = std::process::id();
    let own = || cpu_time(me).ok_or_else(|| BenchError::new("cannot read own CPU time"));
    let (before, sim_before) = (own()?, cpu_of(&fleet.sim)?);
    let run = floor::run(&fleet.miners, concurrency, SCRAPE_LIMIT, which).await;
    let (after, sim_after) = (own()?, cpu_of(&fleet.sim)?);
    Ok((
        run,
        after.saturating_sub(before),
        sim_after.saturating_sub(sim_before),
    ))
}

fn mib(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / 1048576.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A warm-up round, then `runs` rounds of exporter scrape, three-exchange
/// floor run and one-exchange floor run.
pub async fn measure(ctx: &Context, fleet: &mut Running) -> Result<FleetFigures, BenchError> {
    let n = fleet.miners.len();
    let warmup = scrape(fleet).await?;
    floor_run(fleet, ctx.concurrency, Floor::ThreeExchanges).await?;
    floor_run(fleet, ctx.concurrency, Floor::OneExchange).await?;
    let mut one = OneExchangeSeries {
        ok_min: n,
        ..OneExchangeSeries::default()
    };
    let mut e_wall = Vec::new();
    let mut e_cpu = Vec::new();
    let mut sim_cpu = Vec::new();
    let mut sim_cpu_floor = Vec::new();
    let mut f_wall = Vec::new();
    let mut f_cpu = Vec::new();
    let mut wall_ratio = Vec::new();
    let mut cpu_ratio = Vec::new();
    let mut up_min = n;
    let mut ok_min = 3 * n;
    let mut bytes = warmup.bytes;
    for _ in 0..ctx.runs {
        let s = scrape(fleet).await?;
        let (f, f_cpu_time, f_sim_cpu) =
            floor_run(fleet, ctx.concurrency, Floor::ThreeExchanges).await?;
        let (j, j_cpu_time, j_sim_cpu) =
            floor_run(fleet, ctx.concurrency, Floor::OneExchange).await?;
        one.ok_min = one.ok_min.min(j.ok);
        one.wall.push(ms(j.wall));
        one.cpu.push(ms(j_cpu_time));
        one.sim_cpu.push(ms(j_sim_cpu));
        one.wall_ratio.push(ms(s.wall) / ms(j.wall).max(1e-6));
        one.cpu_ratio.push(ms(s.cpu) / ms(j_cpu_time).max(1e-6));
        up_min = up_min.min(s.up);
        ok_min = ok_min.min(f.ok);
        bytes = s.bytes;
        e_wall.push(ms(s.wall));
        e_cpu.push(ms(s.cpu));
        sim_cpu.push(ms(s.sim_cpu));
        sim_cpu_floor.push(ms(f_sim_cpu));
        f_wall.push(ms(f.wall));
        f_cpu.push(ms(f_cpu_time));
        wall_ratio.push(ms(s.wall) / ms(f.wall).max(1e-6));
        cpu_ratio.push(ms(s.cpu) / ms(f_cpu_time).max(1e-6));
    }
    let exporter_cpu_ms = Series::new(e_cpu);
    let floor_cpu_ms = Series::new(f_cpu);
    let per_miner = |ms: f64| ms * 1e3 / n.max(1) as f64;
    Ok(FleetFigures {
        miners: n,
        up_miners_min: up_min,
        exposition_bytes: bytes,
        exporter_warmup_wall_ms: ms(warmup.wall),
        exporter_warmup_cpu_ms: ms(warmup.cpu),
        exporter_cpu_us_per_miner: per_miner(exporter_cpu_ms.median),
        exporter_cpu_over_floor_us_per_miner: per_miner(
            exporter_cpu_ms.median - floor_cpu_ms.median,
        ),
        exporter_wall_ms: Series::new(e_wall),
        exporter_cpu_ms,
        exporter_peak_rss_mib: mib(peak_rss(fleet.exporter.pid())),
        exporter_idle_rss_mib: mib(rss(fleet.exporter.pid())),
        floor_wall_ms: Series::new(f_wall),
        floor_cpu_ms,
        floor_ok_exchanges_min: ok_min,
        sim_cpu_ms: Series::new(sim_cpu),
        sim_cpu_floor_ms: Series::new(sim_cpu_floor),
        wall_ratio: Series::new(wall_ratio),
        cpu_ratio: Series::new(cpu_ratio),
        peer: None,
        one_exchange: one.figures(n),
    })
}

/// The one-exchange floor's runs, gathered round by round.
#[derive(Default)]
struct OneExchangeSeries {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    sim_cpu: Vec<f64>,
    wall_ratio: Vec<f64>,
    cpu_ratio: Vec<f64>,
    ok_min: usize,
}

impl OneExchangeSeries {
    fn figures(self, n: usize) -> OneExchangeFigures {
        let ok_min = if self.wall.is_empty() { 0 } else { self.ok_min };
        let cpu = Series::new(self.cpu);
        OneExchangeFigures {
            cpu_us_per_miner: cpu.median * 1e3 / n.max(1) as f64,
            wall_ms: Series::new(self.wall),
            cpu_ms: cpu,
            ok_exchanges_min: ok_min,
            sim_cpu_ms: Series::new(self.sim_cpu),
            wall_ratio: Series::new(self.wall_ratio),
            cpu_ratio: Series::new(self.cpu_ratio),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_valid_and_keeps_the_defaults() {
        let dir = std::env::temp_dir().join(format!("wm-bench-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let targets = dir.join("targets \"q\".txt");
        std::fs::write(&targets, "127.0.0.1:4028\n127.0.0.1:4029\n").unwrap();
        let text = exporter_config("127.0.0.1:9999".parse().unwrap(), 77, &targets);
        let config = crate::config::from_str(&text, &dir.join("x.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
        let config = config.expect("valid config");
        assert_eq!(config.miners.len(), 2);
        assert_eq!(config.scrape.concurrency, 77);
        let defaults = crate::config::ScrapeConfig::default();
        assert_eq!(config.scrape.info_refresh, defaults.info_refresh);
        assert_eq!(config.scrape.mode, defaults.mode);
        assert_eq!(config.scrape.min_age, std::time::Duration::ZERO);
    }
}
