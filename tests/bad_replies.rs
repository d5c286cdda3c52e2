//! The bad-reply catalogue: every way a miner is known to misbehave, driven
//! through the real collector (`Collector::scrape_fleet` with a deadline)
//! against the simulated fleet on loopback, and for writes through a real
//! `WriteSession`. For each fault the scrape must answer within its deadline,
//! report the faulty miner with the right `whatsminer_up` and exact
//! `whatsminer_down_reason` label (read from the rendered exposition text,
//! as Prometheus would see it), and leave the healthy miners of the same
//! fleet at `up 1`. A panic anywhere fails the test.

mod support;

use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use whatsminer_exporter::client::{ApiChoice, Client, ClientConfig};
use whatsminer_exporter::collector::render::{render_miners, ExpositionWriter};
use whatsminer_exporter::collector::{Collector, CollectorConfig, FleetSnapshot, MinerTarget};
use whatsminer_exporter::protocol::crypto::{encrypt_base64, Credentials, TokenChallenge};
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
use whatsminer_exporter::transport::{Limits, MinerAddr};
use whatsminer_exporter::{ErrorKind, MinerError, Secret};

/// The scrape deadline of every test.
const BUDGET: Duration = Duration::from_secs(3);
/// Room for scheduling on a loaded 2-core machine; a hang blows far past it.
const SLACK: Duration = Duration::from_millis(1500);
const MINERS: usize = 4;
/// The miner that carries the fault; the others stay healthy.
const FAULTY: usize = 1;
/// Distinctive, so that a leak into an error message cannot go unseen.
const PASSWORD: &str = "fleet-pass-93kq";

fn client_config() -> ClientConfig {
    ClientConfig {
        limits: Limits {
            connect_timeout: Duration::from_secs(1),
            deadline: Duration::from_millis(2500),
            max_reply_bytes: 1024 * 1024,
        },
        read_retries: 1,
        retry_backoff: Duration::from_millis(100),
    }
}

fn collector_config() -> CollectorConfig {
    CollectorConfig {
        concurrency: 16,
        info_refresh: Duration::from_secs(600),
        fetch_info: true,
        probed_kept: whatsminer_exporter::collector::probed::PROBED_KEPT,
        client: client_config(),
    }
}

fn targets(addrs: &[SocketAddr]) -> Vec<Arc<MinerTarget>> {
    addrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(*a),
                Some(format!("m{i}")),
                Vec::new(),
                ApiChoice::V2,
            ))
        })
        .collect()
}

/// One fleet scrape and what Prometheus would read from it.
struct Scraped {
    snapshot: FleetSnapshot,
    elapsed: Duration,
    text: String,
}

impl Scraped {
    /// The value of `family{miner="<name>"}`.
    fn value(&self, family: &str, miner: &str) -> Option<f64> {
        let prefix = format!("{family}{{miner=\"{miner}\"}} ");
        let line = self.text.lines().find(|l| l.starts_with(&prefix))?;
        line.get(prefix.len()..)?.parse().ok()
    }

    /// Every `reason` label of `whatsminer_down_reason` for `miner`.
    fn down_reasons(&self, miner: &str) -> Vec<String> {
        let prefix = format!("whatsminer_down_reason{{miner=\"{miner}\",reason=\"");
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect()
    }

    fn assert_in_time(&self) {
        assert!(
            self.elapsed <= BUDGET + SLACK,
            "scrape took {:?}, deadline {BUDGET:?}",
            self.elapsed
        );
    }

    fn assert_healthy_others(&self) {
        for i in (0..MINERS).filter(|&i| i != FAULTY) {
            let name = format!("m{i}");
            assert_eq!(self.value("whatsminer_up", &name), Some(1.0), "{name}");
            assert!(self.down_reasons(&name).is_empty(), "{name}");
        }
    }

    /// The faulty miner is down for exactly `reason`, in time, alone.
    fn assert_down(&self, reason: &str) {
        self.assert_in_time();
        let name = format!("m{FAULTY}");
        assert_eq!(
            self.value("whatsminer_up", &name),
            Some(0.0),
            "{}",
            self.text
        );
        assert_eq!(self.down_reasons(&name), [reason], "{}", self.text);
        let snapshot_reason = self.snapshot.miners[FAULTY]
            .down_error()
            .map(|e| e.reason());
        assert_eq!(snapshot_reason, Some(reason));
        self.assert_healthy_others();
    }

    fn assert_faulty_up(&self) {
        self.assert_in_time();
        let name = format!("m{FAULTY}");
        assert_eq!(
            self.value("whatsminer_up", &name),
            Some(1.0),
            "{}",
            self.text
        );
        assert!(self.down_reasons(&name).is_empty());
        self.assert_healthy_others();
    }
}

async fn start_fleet(fault: Option<Fault>) -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(MINERS);
    cfg.password = Secret::new(PASSWORD);
    cfg.faults = fault.map(|f| vec![(FAULTY, f)]).unwrap_or_default();
    Fleet::start(cfg).await.expect("fleet starts")
}

async fn scrape(addrs: &[SocketAddr]) -> Scraped {
    let collector = Arc::new(Collector::new(collector_config()));
    let started = Instant::now();
    let snapshot = collector
        .scrape_fleet(&targets(addrs), started + BUDGET)
        .await;
    let elapsed = started.elapsed();
    let mut out = ExpositionWriter::with_capacity(64 * 1024);
    render_miners(&mut out, &snapshot.miners, SystemTime::now());
    Scraped {
        snapshot,
        elapsed,
        text: out.finish(),
    }
}

/// Starts a fleet with `fault` on miner 1 and scrapes it once.
async fn scrape_with(fault: Fault) -> (Fleet, Scraped) {
    let fleet = start_fleet(Some(fault)).await;
    let scraped = scrape(&fleet.addrs()).await;
    (fleet, scraped)
}

#[tokio::test]
async fn api_disabled_is_connect_refused() {
    scrape_with(Fault::ApiDisabled)
        .await
        .1
        .assert_down("connect_refused");
}

#[tokio::test]
async fn accept_then_silence_is_a_timeout_within_the_deadline() {
    scrape_with(Fault::NoReply).await.1.assert_down("timeout");
}

#[tokio::test]
async fn reset_mid_reply_is_connection_reset() {
    scrape_with(Fault::Reset)
        .await
        .1
        .assert_down("connection_reset");
}

#[tokio::test]
async fn truncated_json_is_invalid_json() {
    scrape_with(Fault::Truncated)
        .await
        .1
        .assert_down("invalid_json");
}

#[tokio::test]
async fn trailing_nuls_are_still_up() {
    let (_fleet, scraped) = scrape_with(Fault::TrailingNuls).await;
    scraped.assert_faulty_up();
    let miner = &scraped.snapshot.miners[FAULTY];
    assert!(miner.devs.as_ref().is_ok_and(|d| !d.boards.is_empty()));
    assert!(miner.pools.as_ref().is_ok_and(|p| !p.0.is_empty()));
}

#[tokio::test]
async fn oversized_reply_is_cut_at_the_cap() {
    let (_fleet, scraped) = scrape_with(Fault::Oversized(3 * 1024 * 1024)).await;
    scraped.assert_down("reply_too_large");
}

#[tokio::test]
async fn valid_json_of_the_wrong_shape_is_unexpected_shape() {
    scrape_with(Fault::WrongShape)
        .await
        .1
        .assert_down("unexpected_shape");
}

#[tokio::test]
async fn numbers_as_strings_are_read_with_their_values() {
    let (fleet, scraped) = scrape_with(Fault::NumbersAsStrings).await;
    scraped.assert_faulty_up();
    let truth = fleet.miner(FAULTY).expect("miner").readings();
    let miner = &scraped.snapshot.miners[FAULTY];
    let summary = miner.summary.as_ref().expect("summary parsed");
    assert_eq!(
        summary.power_limit.get(),
        Some(f64::from(truth.power_limit_w))
    );
    let mhs = summary.mhs_av.get().expect("MHS av");
    assert!(
        (mhs - truth.hashrate_mhs).abs() <= truth.hashrate_mhs * 0.02,
        "MHS av {mhs} vs {}",
        truth.hashrate_mhs
    );
    let elapsed = summary.elapsed.get().expect("Elapsed");
    assert!(
        (elapsed - truth.btminer_elapsed_secs as f64).abs() <= 10.0,
        "{elapsed}"
    );
    let boards = miner.devs.as_ref().expect("devs parsed");
    assert!(!boards.boards.is_empty());
    assert!(boards
        .boards
        .iter()
        .all(|b| b.mhs_av.get().is_some_and(|v| v > 0.0)));
    let name = format!("m{FAULTY}");
    assert!(scraped.text.contains(&format!(
        "whatsminer_power_limit_watts{{miner=\"{name}\"}} {}",
        truth.power_limit_w
    )));
}

#[tokio::test]
async fn status_e_is_a_miner_error() {
    scrape_with(Fault::StatusError)
        .await
        .1
        .assert_down("miner_error");
}

#[tokio::test]
async fn over_max_connect_is_reported_as_busy() {
    scrape_with(Fault::OverMaxConnect)
        .await
        .1
        .assert_down("over_max_connect");
}

#[tokio::test]
async fn slow_drip_one_byte_per_second_is_cut_at_the_deadline() {
    scrape_with(Fault::SlowDrip).await.1.assert_down("timeout");
}

/// A miner that answers the n-th connection with `replies[n % len]`, for
/// replies the simulator cannot produce. Serves at most 64 connections.
async fn fake_miner(replies: Vec<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        for n in 0..64 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let reply = replies[n % replies.len()].clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                // The request is one small JSON object: one read is enough.
                let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
                let _ = stream.write_all(&reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// Healthy simulated miners plus one fake miner in the faulty slot.
async fn scrape_fake(replies: Vec<Vec<u8>>) -> (Fleet, Scraped) {
    let fleet = start_fleet(None).await;
    let mut addrs = fleet.addrs();
    addrs[FAULTY] = fake_miner(replies).await;
    let scraped = scrape(&addrs).await;
    (fleet, scraped)
}

#[tokio::test]
async fn binary_garbage_and_foreign_protocols_are_invalid_json() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 1) as u8 | 0x80).collect();
    scrape_fake(vec![garbage])
        .await
        .1
        .assert_down("invalid_json");
    let http = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec();
    scrape_fake(vec![http]).await.1.assert_down("invalid_json");
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let mut deep = vec![b'['; 200_000];
    deep.extend(vec![b']'; 200_000]);
    scrape_fake(vec![deep]).await.1.assert_down("invalid_json");
    // Valid JSON, only deep: the envelope reader skips the value without
    // recursing, so this is a reply of the wrong shape.
    let mut objects = b"{\"STATUS\":".repeat(50_000);
    objects.extend(b"\"S\"");
    objects.extend(vec![b'}'; 50_000]);
    scrape_fake(vec![objects])
        .await
        .1
        .assert_down("unexpected_shape");
}

#[tokio::test]
async fn scrape_through_http_metrics_of_a_started_exporter() {
    let mut cfg = FleetConfig::loopback_ephemeral(MINERS);
    cfg.faults = vec![(1, Fault::NoReply), (2, Fault::ApiDisabled)];
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let mut settings = support::exporter_settings(targets(&fleet.addrs()));
    settings.collector = collector_config();
    settings.scrape.default_timeout = Duration::from_secs(30);
    settings.scrape.min_age = whatsminer_exporter::settings::DEFAULT_MIN_AGE;
    let exporter = support::start(settings).await;
    let started = Instant::now();
    // Prometheus's header (3.5 s less the 0.5 s margin) must beat the 30 s default.
    let request =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 3.5\r\n\
         Connection: close\r\n\r\n";
    let response = http_get(exporter.metrics_addr(), request.as_bytes()).await;
    let elapsed = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let scraped = Scraped {
        snapshot: FleetSnapshot::default(),
        elapsed,
        text: response,
    };
    scraped.assert_in_time();
    for (name, up) in [("m0", 1.0), ("m1", 0.0), ("m2", 0.0), ("m3", 1.0)] {
        assert_eq!(scraped.value("whatsminer_up", name), Some(up), "{name}");
    }
    assert_eq!(scraped.down_reasons("m1"), ["timeout"]);
    assert_eq!(scraped.down_reasons("m2"), ["connect_refused"]);
    assert!(scraped
        .text
        .contains("whatsminer_exporter_miner_errors_total{reason=\"timeout\"} 1"));
    exporter.shutdown().await;
}

async fn http_get(addr: SocketAddr, request: &[u8]) -> String {
    let answer = support::http::send_raw(addr, request, BUDGET + SLACK * 2).await;
    assert!(answer.closed, "an answer in time");
    answer.text
}

#[path = "bad_replies/write_path.rs"]
mod write_path;

#[test]
fn every_expected_reason_is_a_documented_label() {
    for reason in [
        "connect_refused",
        "timeout",
        "connection_reset",
        "invalid_json",
        "reply_too_large",
        "unexpected_shape",
        "miner_error",
        "over_max_connect",
        "wrong_password",
        "decrypt_failed",
        "write_api_disabled",
    ] {
        assert!(ErrorKind::ALL_REASONS.contains(&reason), "{reason}");
    }
}
