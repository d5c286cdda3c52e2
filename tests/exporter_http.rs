//! The exporter over HTTP against a simulated fleet: the deadline holds
//! with faulty miners, `/probe` serves one target, a config reload adds
//! and removes miners without a restart, and a large fleet's page arrives
//! whole through the streamed path.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::collector::MinerTarget;
use whatsminer_exporter::config::Config;
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::settings::Settings;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
use whatsminer_exporter::transport::MinerAddr;

/// One request with the shared test client; returns status and body.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let reply = support::http::request(addr, method, path, headers, b"").await;
    (reply.status, reply.body)
}

fn sample(body: &str, name: &str, miner: &str) -> Option<f64> {
    let prefix = format!("{name}{{miner=\"{miner}\"");
    body.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn settings(addrs: &[std::net::SocketAddr]) -> Settings {
    let mut s = Config::default_demo(Vec::new()).settings();
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.targets = addrs
        .iter()
        .map(|a| {
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(*a),
                None,
                Vec::new(),
                ApiChoice::V2,
            ))
        })
        .collect();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_miners_are_down_and_the_deadline_holds() {
    let mut cfg = FleetConfig::loopback_ephemeral(8);
    cfg.faults = vec![
        (1, Fault::NoReply),
        (3, Fault::SlowDrip),
        (5, Fault::ApiDisabled),
        (6, Fault::Truncated),
    ];
    let fleet = Fleet::start(cfg).await.unwrap();
    let exporter = Exporter::start(settings(&fleet.addrs())).await.unwrap();
    let started = Instant::now();
    // Prometheus says 2 s; with the 0.5 s margin we must answer in ~1.5 s.
    let (status, body) = http(
        exporter.metrics_addr(),
        "GET",
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    // Without the header's deadline the silent and dripping miners would
    // hold the scrape for their 8 s command timeout; with it the answer
    // comes at ~1.5 s. The bound sits between the two, far from both, so
    // a loaded machine cannot fail it; the figure is printed.
    eprintln!("scrape with a 2 s Prometheus timeout answered after {took:?}");
    assert!(took < Duration::from_secs(5), "scrape took {took:?}");
    for (i, a) in fleet.addrs().iter().enumerate() {
        let up = sample(&body, "whatsminer_up", &a.to_string());
        let faulty = [1, 3, 5, 6].contains(&i);
        assert_eq!(up, Some(if faulty { 0.0 } else { 1.0 }), "miner {i}");
    }
    let reason = |i: usize| {
        format!(
            "whatsminer_down_reason{{miner=\"{}\",reason=",
            fleet.addrs()[i]
        )
    };
    assert!(
        body.contains(&format!("{}\"timeout\"}} 1", reason(1))),
        "{body}"
    );
    assert!(body.contains(&format!("{}\"timeout\"}} 1", reason(3))));
    assert!(body.contains(&format!("{}\"connect_refused\"}} 1", reason(5))));
    assert!(body.contains(&format!("{}\"invalid_json\"}} 1", reason(6))));
    assert!(body.contains("whatsminer_exporter_miner_errors_total{reason=\"timeout\"} 2"));
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_serves_one_target_blackbox_style() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .unwrap();
    // The exporter knows no miners: /probe works for any target.
    let exporter = Exporter::start(settings(&[])).await.unwrap();
    let target = fleet.addrs()[1];
    let (status, body) = http(
        exporter.metrics_addr(),
        "GET",
        &format!("/probe?target={target}"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("probe_success 1"), "{body}");
    assert!(body.contains(&format!("whatsminer_up{{miner=\"{target}\"}} 1")));
    assert!(
        !body.contains(&fleet.addrs()[0].to_string()),
        "only the probed miner"
    );
    let sim = fleet.miner(1).unwrap().readings();
    let hs = sample(
        &body,
        "whatsminer_board_temperature_celsius",
        &target.to_string(),
    );
    assert!(hs.is_some());
    let rate = body
        .lines()
        .find(|l| {
            l.starts_with("whatsminer_hashrate_hashes_per_second") && l.contains("window=\"avg\"")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap();
    assert!(
        (rate / 1e6 - sim.hashrate_mhs).abs() < sim.hashrate_mhs * 0.1,
        "{rate} vs {}",
        sim.hashrate_mhs
    );
    let (status, _) = http(exporter.metrics_addr(), "GET", "/probe", &[]).await;
    assert_eq!(status, 400);
    let (status, _) = http(
        exporter.metrics_addr(),
        "GET",
        "/probe?target=not%20an%20address",
        &[],
    )
    .await;
    assert_eq!(status, 400);
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_and_removes_miners() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(3))
        .await
        .unwrap();
    let a = fleet.addrs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    let write = |names: &[(usize, &str)]| {
        let mut text = String::from("[server]\nlisten = \"127.0.0.1:0\"\n");
        for (i, name) in names {
            text.push_str(&format!(
                "[[miners]]\naddress = \"{}\"\nname = \"{name}\"\n",
                a[*i]
            ));
        }
        std::fs::write(&path, text).unwrap();
    };
    write(&[(0, "m0"), (1, "m1")]);
    let config = whatsminer_exporter::config::load(&path).unwrap();
    let mut exporter = Exporter::start(config.settings()).await.unwrap();
    let reload_path = path.clone();
    exporter.reload_from(
        move || {
            whatsminer_exporter::config::load(&reload_path)
                .map(|c| c.settings())
                .map_err(|e| e.to_string())
        },
        None,
    );
    let (_, body) = http(exporter.metrics_addr(), "GET", "/metrics", &[]).await;
    assert!(
        sample(&body, "whatsminer_up", "m0").is_some()
            && sample(&body, "whatsminer_up", "m1").is_some()
    );
    assert!(sample(&body, "whatsminer_up", "m2").is_none());

    write(&[(1, "m1"), (2, "m2")]);
    let (status, _) = http(exporter.metrics_addr(), "POST", "/-/reload", &[]).await;
    assert_eq!(status, 200);
    let (_, body) = http(exporter.metrics_addr(), "GET", "/metrics", &[]).await;
    assert!(sample(&body, "whatsminer_up", "m0").is_none(), "removed");
    assert_eq!(sample(&body, "whatsminer_up", "m2"), Some(1.0), "added");
    assert!(body.contains("whatsminer_exporter_miners 2"));

    // A broken file keeps the old config and says so.
    std::fs::write(&path, "[[miners]]\naddress = \"10.0.0.300\"\n").unwrap();
    let (status, text) = http(exporter.metrics_addr(), "POST", "/-/reload", &[]).await;
    assert_eq!(status, 500);
    assert!(text.contains("exporter.toml:2"), "{text}");
    let (_, body) = http(exporter.metrics_addr(), "GET", "/metrics", &[]).await;
    assert_eq!(sample(&body, "whatsminer_up", "m2"), Some(1.0));
    assert!(body.contains("whatsminer_exporter_config_last_reload_successful 0"));
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_endpoint_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\nreload_endpoint = \"off\"\n[[miners]]\naddress = \"127.0.0.1:9\"\nname = \"m0\"\n",
    )
    .unwrap();
    let config = whatsminer_exporter::config::load(&path).unwrap();
    let exporter = Exporter::start(config.settings()).await.unwrap();
    let reloads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reloads.clone();
    exporter.state.set_reloader(Arc::new(move || {
        let counter = counter.clone();
        Box::pin(async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Default::default())
        })
    }));
    let (status, text) = http(exporter.metrics_addr(), "POST", "/-/reload", &[]).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("SIGHUP"), "{text}");
    // The switch guards the endpoint only: a reload by signal still runs.
    exporter.state.reload().await.unwrap();
    assert_eq!(reloads.load(std::sync::atomic::Ordering::SeqCst), 1);
    // From loopback, the default lets it through.
    exporter
        .state
        .set_reload_access(whatsminer_exporter::settings::ReloadAccess::default());
    let (status, text) = http(exporter.metrics_addr(), "POST", "/-/reload", &[]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(reloads.load(std::sync::atomic::Ordering::SeqCst), 2);
    // A reverse proxy on this host relays every client from loopback: a
    // relayed request is refused, whichever header names the client.
    for header in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Real-IP", "203.0.113.9"),
        ("x-forwarded-for", "127.0.0.1"),
    ] {
        let (status, text) = http(exporter.metrics_addr(), "POST", "/-/reload", &[header]).await;
        assert_eq!(status, 403, "{header:?}: {text}");
        assert!(text.contains("proxy") && text.contains("SIGHUP"), "{text}");
    }
    assert_eq!(reloads.load(std::sync::atomic::Ordering::SeqCst), 2);
    // `any` serves relayed requests: the operator chose to.
    exporter
        .state
        .set_reload_access(whatsminer_exporter::settings::ReloadAccess::Any);
    let relayed = ("X-Forwarded-For", "203.0.113.9");
    let (status, text) = http(exporter.metrics_addr(), "POST", "/-/reload", &[relayed]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(reloads.load(std::sync::atomic::Ordering::SeqCst), 3);
    exporter.shutdown().await;
}

/// Above 50 miners the page is streamed in chunks of about 240 KiB: 120
/// miners make about five. Every miner's series and the self-metrics
/// after them arrive, in valid exposition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fleet_page_is_streamed_whole() {
    const MINERS: usize = 120;
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(MINERS))
        .await
        .unwrap();
    let exporter = Exporter::start(settings(&fleet.addrs())).await.unwrap();
    let (status, body) = http(exporter.metrics_addr(), "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(body.len() > 4 * 240 * 1024, "{} bytes", body.len());
    let samples = support::exposition::parse(&body).expect("valid exposition");
    let up = support::exposition::find(&samples, "whatsminer_up", &[]);
    assert_eq!(up.len(), MINERS);
    assert!(up.iter().all(|s| s.value == 1.0));
    let scrapes = support::exposition::find(&samples, "whatsminer_exporter_scrapes_total", &[]);
    assert!(
        !scrapes.is_empty(),
        "self-metrics come last, after every chunk"
    );
    exporter.shutdown().await;
    fleet.shutdown().await;
}
