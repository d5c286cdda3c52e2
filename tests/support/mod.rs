//! Helpers shared by the integration tests: finding external tools (skip
//! with a loud note, or fail under `CI`), free loopback ports, running a
//! tool with stdin, and starting the exporter in front of simulated miners.
//! `admin` starts an exporter with the admin API on (and finds leaked
//! secrets), `http` is the one HTTP test client, `exposition` reads the text format,
//! `prometheus` runs the real Prometheus, `pool_proxy` fakes dead pools,
//! `rich_fleet` builds the fleet of the end-to-end query test. Each test
//! binary uses a subset, hence `dead_code`.
#![allow(dead_code)]

pub mod admin;
pub mod exposition;
pub mod http;
pub mod pool_proxy;
pub mod prometheus;
pub mod rich_fleet;

#[allow(unused_imports)] // Each test binary uses a subset.
pub use http::{http_get, http_post};

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::collector::{CollectorConfig, MinerTarget};
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::settings::{ScrapeSettings, Settings};
use whatsminer_exporter::sim::{Fleet, FleetConfig};
use whatsminer_exporter::transport::MinerAddr;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `name` from PATH. When missing: panics under CI, else prints a SKIP
/// note (to the real stderr: libtest hides the output of passing tests)
/// and returns None.
pub fn tool(name: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !in_ci(),
            "{test}: `{name}` is not installed, and CI requires it"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n**************** SKIP {test}: `{name}` not found on PATH ****************\n\
             **** install it (scripts/install-test-deps: prometheus, prometheus-alertmanager, python3) ****\n"
        );
    }
    found
}

/// A loopback port that was free a moment ago (bind :0, read, release).
/// Whoever binds it next may race another process: retry on failure.
pub fn free_port() -> u16 {
    StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// What a program printed and how it ended.
#[derive(Debug)]
pub struct ToolRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` in the repository with `stdin` piped in.
pub fn run_tool(program: &Path, args: &[&str], stdin: &[u8]) -> ToolRun {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    // Written from a thread so that a tool printing a lot while we still
    // write cannot deadlock us.
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let _ = writer.join();
    ToolRun {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A configured miner named `name` at `addr`.
pub fn target(addr: SocketAddr, name: &str) -> Arc<MinerTarget> {
    Arc::new(MinerTarget::new(
        MinerAddr::from_socket_addr(addr),
        Some(name.to_string()),
        Vec::new(),
        ApiChoice::V2,
    ))
}

/// Settings for a test exporter: `targets`, `/metrics` on 127.0.0.1:0,
/// live mode and the default collector, no admin API. Recent results are
/// not reused (`min_age` 0): tests change miners between scrapes a second
/// apart and expect to see it. Tests change the fields they care about,
/// then [`start`].
pub fn exporter_settings(targets: Vec<Arc<MinerTarget>>) -> Settings {
    Settings {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        targets,
        collector: CollectorConfig::default(),
        scrape: ScrapeSettings {
            min_age: std::time::Duration::ZERO,
            ..ScrapeSettings::default()
        },
        probe: Default::default(),
        reload: Default::default(),
        web: None,
        admin: None,
        miner_files: Default::default(),
        log: Default::default(),
        discovery: Vec::new(),
    }
}

/// Starts the exporter; a test exporter that does not start is a failure.
pub async fn start(settings: Settings) -> Exporter {
    Exporter::start(settings)
        .await
        .unwrap_or_else(|e| panic!("exporter did not start: {e}"))
}

/// Starts the exporter with [`exporter_settings`].
pub async fn start_exporter(targets: Vec<Arc<MinerTarget>>) -> Exporter {
    start(exporter_settings(targets)).await
}

/// A simulated fleet of `n` loopback miners, their names (`sim-NN`) and
/// their targets under those names.
pub async fn sim_fleet(n: usize) -> (Fleet, Vec<String>, Vec<Arc<MinerTarget>>) {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(n))
        .await
        .expect("fleet starts");
    let names: Vec<String> = (0..fleet.len()).map(sim_name).collect();
    let targets = fleet
        .addrs()
        .into_iter()
        .zip(&names)
        .map(|(a, n)| target(a, n))
        .collect();
    (fleet, names, targets)
}

/// The usual name of simulated miner `index`.
pub fn sim_name(index: usize) -> String {
    format!("sim-{index:02}")
}

/// A fleet of `n` miners counting up from `base` (a 127.18.x.y address:
/// discovery tests own 127.18.0.0/16), port 4028, API v3 on 4433, with
/// `seed` (the same seed and index give the same MAC) and `personas`.
pub async fn fleet_at(
    base: [u8; 4],
    n: usize,
    seed: u64,
    personas: &[(usize, whatsminer_exporter::sim::Persona)],
) -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(n);
    cfg.bind = whatsminer_exporter::sim::Bind::LoopbackRange {
        base: Ipv4Addr::from(base),
        port: 4028,
    };
    cfg.v3_port = 4433;
    cfg.seed = seed;
    cfg.personas = personas.to_vec();
    Fleet::start(cfg).await.expect("fleet binds on 127.18/16")
}
