//! The peer in the benchmark (`bench --pyasic`): pyasic, the most used
//! Python miner library, scrapes the same simulated fleet right after the
//! exporter's and the floor's runs on it, in its joined-read path
//! (`multicommand("summary","devs","pools")`, one exchange per miner) and
//! in separate reads (three), through `tools/pyasic_peer.py`. Its CPU per
//! miner-scrape is its own process's CPU during the measured scrapes.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::report::Series;
use super::scale::{Context, Running};
use super::BenchError;
use crate::bench::procs::cpu_time;

/// How long the peer may take per fleet, on top of its own time limit.
const PEER_TIME_LIMIT_SECS: u64 = 300;

/// One of pyasic's data paths.
#[derive(Debug, Clone, Serialize)]
pub struct PeerMode {
    pub wall_ms: Series,
    pub cpu_ms: Series,
    /// Median CPU per scrape divided by the miners.
    pub cpu_us_per_miner: f64,
    /// The fewest miners read completely in a measured scrape.
    pub ok_min: usize,
}

/// pyasic on one fleet size.
#[derive(Debug, Clone, Serialize)]
pub struct PeerFigures {
    pub pyasic: String,
    pub joined: PeerMode,
    pub separate: PeerMode,
    /// Simulator CPU over the whole peer run (warm-ups included).
    pub sim_cpu_ms: f64,
}

/// The script, from the source tree this binary was built in, or from the
/// working directory.
fn script() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/pyasic_peer.py");
    if built.exists() {
        built
    } else {
        PathBuf::from("tools/pyasic_peer.py")
    }
}

fn mode(value: &Value, miners: usize) -> Result<PeerMode, BenchError> {
    let list = |key: &str| -> Vec<f64> {
        value[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let cpu_ms = Series::new(list("cpu_ms"));
    if cpu_ms.runs.is_empty() {
        return Err(BenchError::new(format!("pyasic measured nothing: {value}")));
    }
    let ok_min = list("ok").into_iter().fold(f64::INFINITY, f64::min);
    Ok(PeerMode {
        wall_ms: Series::new(list("wall_ms")),
        cpu_us_per_miner: cpu_ms.median * 1e3 / miners.max(1) as f64,
        cpu_ms,
        ok_min: if ok_min.is_finite() {
            ok_min as usize
        } else {
            0
        },
    })
}

/// Runs pyasic on the running fleet, `ctx.runs` measured scrapes per path.
pub async fn run(ctx: &Context, fleet: &Running) -> Result<PeerFigures, BenchError> {
    let n = fleet.miners.len();
    let targets = ctx.dir.join(format!("peer-targets-{n}.txt"));
    let lines: String = fleet.miners.iter().map(|a| format!("{a}\n")).collect();
    std::fs::write(&targets, lines).map_err(|e| BenchError::io(&targets, e))?;
    let sim_before = cpu_time(fleet.sim.pid()).unwrap_or_default();
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script())
        .arg("--targets")
        .arg(&targets)
        .args(["--scrapes", &ctx.runs.to_string()])
        .args(["--concurrency", &ctx.concurrency.to_string()])
        .args(["--time-limit", &PEER_TIME_LIMIT_SECS.to_string()])
        .kill_on_drop(true);
    let limit = Duration::from_secs(2 * PEER_TIME_LIMIT_SECS);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| BenchError::new("pyasic did not finish in time"))?
        .map_err(|e| BenchError::new(format!("running python3: {e}")))?;
    let sim_cpu = cpu_time(fleet.sim.pid())
        .unwrap_or_default()
        .saturating_sub(sim_before);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        return Err(BenchError::new(format!(
            "pyasic failed (scripts/install-test-deps installs it): {tail}"
        )));
    }
    let value: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| BenchError::new(format!("pyasic's report is not JSON: {e}")))?;
    Ok(PeerFigures {
        pyasic: value["pyasic"].as_str().unwrap_or("?").to_string(),
        joined: mode(&value["joined"], n)?,
        separate: mode(&value["separate"], n)?,
        sim_cpu_ms: sim_cpu.as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_is_read_from_the_scripts_json() {
        let value = serde_json::json!({
            "cpu_ms": [900.0, 1000.0, 1100.0], "wall_ms": [1.0, 2.0, 3.0], "ok": [1000, 998, 1000]
        });
        let m = mode(&value, 1000).expect("figures");
        assert_eq!((m.cpu_us_per_miner, m.ok_min), (1000.0, 998));
        assert!(mode(&serde_json::json!({"cpu_ms": []}), 10).is_err());
        assert!(script().ends_with("tools/pyasic_peer.py"));
    }
}
