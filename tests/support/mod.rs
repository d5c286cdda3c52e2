//! Helpers shared by the integration tests: finding external tools (skip
//! with a loud note, or fail under `CI`), free loopback ports, a tiny
//! HTTP/1.0 client, running a tool with stdin, and starting the exporter in
//! front of simulated miners. `exposition` reads the text format,
//! `prometheus` runs the real Prometheus, `pool_proxy` fakes dead pools,
//! `rich_fleet` builds the fleet of the end-to-end query test. Each test
//! binary uses a subset, hence `dead_code`.
#![allow(dead_code)]

pub mod exposition;
pub mod pool_proxy;
pub mod prometheus;
pub mod rich_fleet;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::collector::{CollectorConfig, MinerTarget};
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::settings::{ScrapeSettings, Settings};
use whatsminer_exporter::sim::{Fleet, FleetConfig};
use whatsminer_exporter::transport::MinerAddr;

/// Largest HTTP answer the test client accepts.
const MAX_HTTP_BYTES: usize = 32 * 1024 * 1024;
/// Connect plus whole exchange, per request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

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

/// `GET url` over HTTP/1.0 (so the answer is never chunked and ends with
/// the connection). Loopback URLs only. Returns (status, body).
pub async fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let (addr, target) = split_url(url)?;
    let request = format!("GET {target} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange(addr, request.into_bytes()).await
}

/// `POST url` with an empty body (e.g. `/-/reload`).
pub async fn http_post(url: &str) -> std::io::Result<(u16, String)> {
    let (addr, target) = split_url(url)?;
    let request = format!(
        "POST {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    exchange(addr, request.into_bytes()).await
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// `http://127.0.0.1:port/path?query` -> (address, `/path?query`).
fn split_url(url: &str) -> std::io::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("not an http:// URL: {url}")))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority
        .parse()
        .map_err(|_| invalid(format!("URL needs an IP:port authority: {url}")))?;
    if !addr.ip().is_loopback() {
        return Err(invalid(format!("refusing a non-loopback URL: {url}")));
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok((addr, path.to_string()))
}

async fn exchange(addr: SocketAddr, request: Vec<u8>) -> std::io::Result<(u16, String)> {
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{addr}"));
    let raw = tokio::time::timeout(HTTP_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(&request).await?;
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take(MAX_HTTP_BYTES as u64 + 1);
        limited.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    })
    .await
    .map_err(|_| timed_out())??;
    if raw.len() > MAX_HTTP_BYTES {
        return Err(invalid(format!("answer from {addr} is too large")));
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid(format!("no HTTP header end in the answer from {addr}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line from {addr}: {head:.80}")))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(invalid(format!("chunked answer to HTTP/1.0 from {addr}")));
    }
    Ok((status, body.to_string()))
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

/// Starts the exporter (live mode, default collector) on 127.0.0.1:0.
/// Recent results are not reused (`min_age` 0): the tests built on it
/// change miners between scrapes a second apart and expect to see it.
pub async fn start_exporter(targets: Vec<Arc<MinerTarget>>) -> Exporter {
    let settings = Settings {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        targets,
        collector: CollectorConfig::default(),
        scrape: ScrapeSettings {
            min_age: Duration::ZERO,
            ..ScrapeSettings::default()
        },
        probe: Default::default(),
        reload: Default::default(),
        web: None,
        admin: None,
    };
    Exporter::start(settings)
        .await
        .unwrap_or_else(|e| panic!("exporter did not start: {e}"))
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
