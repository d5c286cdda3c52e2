//! Our own HTTP endpoints under abuse: malformed and oversized requests to
//! `/probe`, `/-/reload`, unknown paths, bad methods, oversized headers,
//! request-line garbage, slow and idle clients, many connections. Every
//! answer must be a 4xx (never a 5xx, never a dropped request where a reply
//! is due), and the server must stay healthy afterwards. Raw TCP is used
//! throughout, so the bytes on the wire are exactly the abusive ones.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::http::{send_raw, RawAnswer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};
use whatsminer_exporter::client::ClientConfig;
use whatsminer_exporter::collector::{CollectorConfig, MinerTarget};
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::settings::Settings;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
use whatsminer_exporter::transport::{Limits, MinerAddr};

/// How long any well-formed exchange with an idle exporter may take.
const QUICK: Duration = Duration::from_secs(5);

/// Quick timeouts, so abuse never waits on a miner.
fn settings(targets: Vec<Arc<MinerTarget>>) -> Settings {
    let mut settings = support::exporter_settings(targets);
    settings.collector = CollectorConfig {
        concurrency: 8,
        info_refresh: Duration::from_secs(600),
        fetch_info: false,
        probed_kept: whatsminer_exporter::collector::probed::PROBED_KEPT,
        client: ClientConfig {
            limits: Limits {
                connect_timeout: Duration::from_millis(500),
                deadline: Duration::from_secs(1),
                max_reply_bytes: 1024 * 1024,
            },
            read_retries: 0,
            retry_backoff: Duration::from_millis(50),
        },
    };
    settings.scrape.default_timeout = Duration::from_secs(3);
    settings.scrape.min_age = whatsminer_exporter::settings::DEFAULT_MIN_AGE;
    settings
}

async fn exporter() -> Exporter {
    Exporter::start(settings(Vec::new()))
        .await
        .expect("exporter starts")
}

async fn get(addr: SocketAddr, target: &str) -> RawAnswer {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    send_raw(addr, request.as_bytes(), QUICK).await
}

async fn assert_healthy(addr: SocketAddr) {
    let answer = get(addr, "/-/healthy").await;
    assert_eq!(answer.status, Some(200), "not healthy: {}", answer.text);
}

#[tokio::test]
async fn probe_rejects_bad_targets_and_protocols_with_400() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    let huge = "a".repeat(8000);
    let cases = [
        "/probe".to_string(),
        "/probe?".to_string(),
        "/probe?target=".to_string(),
        "/probe?target=%20%20".to_string(),
        "/probe?target=a%20b".to_string(),
        "/probe?target=127.0.0.1:99999".to_string(),
        "/probe?target=127.0.0.1:0".to_string(),
        "/probe?target=[::1]:0".to_string(),
        "/probe?target=http://127.0.0.1:4028/".to_string(),
        "/probe?target=%ZZ".to_string(),
        "/probe?target=%FF%FE%00".to_string(),
        "/probe?target=%F0%9F%99%82".to_string(),
        "/probe?target=x:y:z".to_string(),
        "/probe?target=127.0.0.1%0D%0AX-Injected:%20yes".to_string(),
        format!("/probe?target={huge}"),
        "/probe?target=127.0.0.1:1&protocol=v9".to_string(),
        "/probe?target=127.0.0.1:1&protocol=%FF".to_string(),
        "/probe?target=127.0.0.1:1&protocol=V2%00".to_string(),
        "/probe?tArGeT=127.0.0.1:1".to_string(),
        "/probe?target=127.0.0.1:1&target=127.0.0.2:1".to_string(),
        "/probe?target=127.0.0.1:1&protocol=v2&protocol=v3".to_string(),
    ];
    for case in &cases {
        let answer = get(addr, case).await;
        assert_eq!(answer.status, Some(400), "{case}: {}", answer.text);
        let head = answer.text.split("\r\n\r\n").next().unwrap_or("");
        assert!(
            !head.to_ascii_lowercase().contains("x-injected"),
            "header injection: {}",
            answer.text
        );
        // A body that quotes the target is never sniffed as HTML.
        assert!(
            head.to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "{case}: {head}"
        );
        // The error may name the target, but cut short.
        assert!(
            answer.text.len() < 1024,
            "{case}: {} bytes",
            answer.text.len()
        );
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn probe_of_a_closed_loopback_port_is_a_200_saying_down() {
    let exporter = exporter().await;
    let answer = get(exporter.metrics_addr(), "/probe?target=127.0.0.1:1").await;
    assert_eq!(answer.status, Some(200), "{}", answer.text);
    assert!(
        answer.text.contains("\nprobe_success 0\n"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("reason=\"connect_refused\""));
    exporter.shutdown().await;
}

#[tokio::test]
async fn probe_can_be_limited_to_configured_miners_and_networks() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .expect("fleet");
    let miner = fleet.addrs()[0];
    // A listener that is not configured: a refused probe must not touch it.
    let bystander = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bystander_addr = bystander.local_addr().expect("addr");
    // One inside an allowed network, on a port that is no miner API's.
    let scanned = tokio::net::TcpListener::bind("127.0.2.10:0")
        .await
        .expect("bind");
    let scanned_addr = scanned.local_addr().expect("addr");
    let mut s = settings(vec![Arc::new(MinerTarget::new(
        MinerAddr::from_socket_addr(miner),
        Some("m0".into()),
        Vec::new(),
        Default::default(),
    ))]);
    s.probe = whatsminer_exporter::settings::ProbePolicy {
        configured_only: true,
        networks: vec!["127.0.2.0/24".parse().expect("net")],
        ..Default::default()
    };
    let exporter = Exporter::start(s).await.expect("exporter starts");
    let addr = exporter.metrics_addr();

    let answer = get(addr, &format!("/probe?target={miner}")).await;
    assert_eq!(answer.status, Some(200), "{}", answer.text);
    assert!(
        answer.text.contains("\nprobe_success 1\n"),
        "{}",
        answer.text
    );
    // Inside an allowed network, on a miner API port: probed (and down:
    // nothing listens there).
    let answer = get(addr, "/probe?target=127.0.2.9:4028").await;
    assert_eq!(answer.status, Some(200), "{}", answer.text);
    assert!(
        answer.text.contains("\nprobe_success 0\n"),
        "{}",
        answer.text
    );
    for target in [
        bystander_addr.to_string(),
        "localhost:4028".to_string(),
        format!("127.0.0.1:{}", miner.port() ^ 1),
        scanned_addr.to_string(),
    ] {
        let answer = get(addr, &format!("/probe?target={target}")).await;
        assert_eq!(answer.status, Some(403), "{target}: {}", answer.text);
        assert!(
            answer.text.contains("not a configured miner"),
            "{}",
            answer.text
        );
    }
    let touched = timeout(Duration::from_millis(300), bystander.accept()).await;
    assert!(
        touched.is_err(),
        "a refused probe connected to the bystander"
    );
    let touched = timeout(Duration::from_millis(300), scanned.accept()).await;
    assert!(
        touched.is_err(),
        "a probe_networks address was probed on a port that is no miner API's"
    );
    let metrics = get(addr, "/metrics").await;
    assert!(
        metrics
            .text
            .contains("whatsminer_exporter_http_requests_total{code=\"403\",handler=\"/probe\"} 4"),
        "{}",
        metrics.text
    );
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_bad_methods_are_404_and_405() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    for path in [
        "/nope",
        "/metrics/",
        "/metrics/../../etc/passwd",
        "//metrics",
        "/%00",
    ] {
        assert_eq!(get(addr, path).await.status, Some(404), "{path}");
    }
    let long_path = format!("/{}", "x".repeat(30_000));
    assert_eq!(get(addr, &long_path).await.status, Some(404));
    for (method, path) in [
        ("DELETE", "/metrics"),
        ("POST", "/metrics"),
        ("PUT", "/probe"),
        ("TRACE", "/-/healthy"),
        ("BREW", "/metrics"),
        ("GET", "/-/reload"),
        ("DELETE", "/-/reload"),
    ] {
        let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = send_raw(addr, request.as_bytes(), QUICK).await;
        assert_eq!(answer.status, Some(405), "{method} {path}: {}", answer.text);
    }
    for request in [
        &b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://evil.example/metrics?x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let answer = send_raw(addr, request, QUICK).await;
        assert!(
            answer.is_client_error() || answer.status == Some(200),
            "{}: {}",
            String::from_utf8_lossy(request),
            answer.text
        );
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn request_line_garbage_and_smuggling_shapes_are_400() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    let binary: Vec<u8> = (0..2048u32).map(|i| (i * 31 + 7) as u8).collect();
    let cases: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/1.1\r\nNoColonHere\r\n\r\n".to_vec(),
        b"GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n".to_vec(),
        b"GET /me trics HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde"
            .to_vec(),
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            .to_vec(),
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, x\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        binary,
    ];
    for request in &cases {
        let answer = send_raw(addr, request, QUICK).await;
        // A parse error is answered 400; binary noise may get no answer at
        // all, which is fine. Never a 5xx.
        let acceptable = answer.is_client_error() || answer.status.is_none();
        assert!(
            acceptable,
            "{:?}: {}",
            String::from_utf8_lossy(request),
            answer.text
        );
        if request.starts_with(b"GARBAGE") || request.starts_with(b"GET /metrics HTTP/9") {
            assert_eq!(answer.status, Some(400), "{}", answer.text);
        }
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn oversized_headers_are_refused_with_431() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    // The buffer cap is 64 KiB, but hyper enforces it loosely (up to about
    // 128 KiB get through; see docs/reliability.md), so test well above.
    let one_huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let huge_uri = format!(
        "GET /probe?target={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    for (what, request) in [
        ("one huge", one_huge),
        ("many", many),
        ("huge uri", huge_uri),
    ] {
        let answer = send_raw(addr, request.as_bytes(), QUICK).await;
        assert_eq!(answer.status, Some(431), "{what}: {}", answer.text);
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn declared_huge_bodies_are_not_waited_for() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    for request in [
        &b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc"[..],
        b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc",
        b"POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nabc",
    ] {
        let started = Instant::now();
        let answer = send_raw(addr, request, QUICK).await;
        // The routes never read a body: they answer at once. /-/reload has
        // no configuration file to reload here.
        assert!(
            answer.status == Some(200) || answer.is_client_error(),
            "{}",
            answer.text
        );
        assert!(started.elapsed() < QUICK, "waited for the body");
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn silly_scrape_timeout_headers_cannot_hold_a_scrape() {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.faults = vec![(0, Fault::NoReply)];
    let fleet = Fleet::start(cfg).await.expect("fleet");
    let target = Arc::new(MinerTarget::from_addr(MinerAddr::from_socket_addr(
        fleet.addrs()[0],
    )));
    let exporter = Exporter::start(settings(vec![target]))
        .await
        .expect("exporter starts");
    let addr = exporter.metrics_addr();
    for value in ["1e308", "99999999", "-1", "NaN", "inf", "0", "", "\u{7f}"] {
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: {value}\r\n\
             Connection: close\r\n\r\n"
        );
        let started = Instant::now();
        let answer = send_raw(addr, request.as_bytes(), QUICK * 2).await;
        assert!(
            answer.status == Some(200) || answer.is_client_error(),
            "{value:?}: {}",
            answer.text
        );
        // The per-command deadline (1 s) bounds the scrape whatever the header says.
        assert!(started.elapsed() < QUICK, "{value:?} held the scrape");
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[path = "endpoint_abuse/connections.rs"]
mod connections;
