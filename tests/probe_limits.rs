//! `/probe` under the same limits as `/metrics`: however many requests
//! arrive for one miner, it sees at most one visit (and so
//! `MAX_CONNECTIONS_PER_MINER` connections) at a time, counted by the
//! simulated miner itself. And however many addresses it reaches, the
//! per-miner caches it fills stay bounded.

mod support;

use support::{exporter_settings, http_get, start, start_exporter, target};
use whatsminer_exporter::collector::gate::MAX_CONNECTIONS_PER_MINER;
use whatsminer_exporter::sim::{Fleet, FleetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_probes_of_one_miner_stay_under_the_per_miner_cap() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .expect("fleet");
    let addrs = fleet.addrs();
    let exporter = start_exporter(vec![target(addrs[0], "m0"), target(addrs[1], "m1")]).await;
    let probe = format!(
        "http://{}/probe?target={}",
        exporter.metrics_addr(),
        addrs[0]
    );
    let metrics = exporter.metrics_url();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..150 {
        let url = if i % 25 == 0 {
            metrics.clone()
        } else {
            probe.clone()
        };
        requests.spawn(async move { http_get(&url).await });
    }
    let mut answered = 0;
    while let Some(joined) = requests.join_next().await {
        let (status, body) = joined.expect("request task").expect("answer");
        assert_eq!(status, 200, "{body}");
        answered += 1;
    }
    assert_eq!(answered, 150);
    let peak = fleet.miner(0).expect("miner").peak_connections();
    eprintln!("150 parallel /probe and /metrics: at most {peak} connections to the miner at once");
    assert!(peak >= 1, "the miner was never reached");
    assert!(
        peak <= MAX_CONNECTIONS_PER_MINER,
        "{peak} connections at once, cap {MAX_CONNECTIONS_PER_MINER}"
    );
    assert_eq!(
        exporter.state.collector.gates_in_use(),
        0,
        "gates left behind"
    );
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn probe_takes_ip_literals_and_configured_names_never_typed_host_names() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .expect("fleet");
    let exporter = start_exporter(vec![target(fleet.addrs()[0], "rack 1/m0")]).await;
    let probe = |target: &str| format!("http://{}/probe?target={target}", exporter.metrics_addr());
    // A configured name maps to its miner, labels and all.
    let (status, body) = http_get(&probe("rack%201%2Fm0")).await.expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\nprobe_success 1\n"), "{body}");
    assert!(body.contains("miner=\"rack 1/m0\""), "{body}");
    // A mistyped IP, or a host name the config does not list: 400 at once
    // (no DNS query is made for either).
    for typed in [
        "10.0.0.300",
        "10.0.0.300:4028",
        "localhost:4028",
        "miner-9.farm.invalid",
    ] {
        let (status, body) = http_get(&probe(typed)).await.expect("answer");
        assert_eq!(status, 400, "{typed}: {body}");
    }
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn probes_of_many_addresses_keep_the_per_miner_caches_bounded() {
    const KEPT: usize = 8;
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(3 * KEPT + 1))
        .await
        .expect("fleet");
    let addrs = fleet.addrs();
    let mut settings = exporter_settings(vec![target(addrs[0], "configured")]);
    settings.collector.probed_kept = KEPT;
    let exporter = start(settings).await;
    let collector = &exporter.state.collector;
    let (status, body) = http_get(&exporter.metrics_url()).await.expect("answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(collector.remembered_miners(), 1, "the configured miner");
    let mut peak = 0;
    // Each probed miner answers, so every cache fills for it (slow data,
    // dialect, last success, repair counts); the first is probed again
    // between the others, so it stays among the most recent.
    for (i, addr) in addrs.iter().enumerate().skip(1) {
        for probed in [*addr, addrs[1]] {
            let url = format!("http://{}/probe?target={probed}", exporter.metrics_addr());
            let (status, body) = http_get(&url).await.expect("answer");
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("\nprobe_success 1\n"), "{i}: {body}");
        }
        let remembered = collector.remembered_miners();
        assert!(
            remembered <= 1 + KEPT,
            "{remembered} miners after {i} probed"
        );
        peak = peak.max(remembered);
    }
    eprintln!(
        "{} distinct addresses probed, at most {peak} miners remembered (bound {KEPT} + 1 configured)",
        addrs.len() - 1
    );
    assert_eq!(peak, 1 + KEPT, "the caches never filled up to the bound");
    exporter.shutdown().await;
    fleet.shutdown().await;
}
