//! Scrapes that share, over HTTP against simulated miners (loopback): many
//! `/metrics` requests cost the miners one fleet scrape, `/probe` requests
//! for one target share one exchange, a result is reused only within
//! `[scrape] min_age`, and the data age shown stays honest. Connections are
//! counted by the simulated miners themselves.

mod support;

use std::time::Duration;
use support::exposition::{find, parse, value};
use support::{http_get, target};
use whatsminer_exporter::config::Config;
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::sim::{Fleet, FleetConfig};

const MINERS: usize = 5;

async fn exporter(fleet: &Fleet, min_age: Duration) -> Exporter {
    let mut s = Config::default_demo(Vec::new()).settings();
    s.listen = "127.0.0.1:0".parse().expect("loopback address");
    s.targets = fleet
        .addrs()
        .iter()
        .enumerate()
        .map(|(i, a)| target(*a, &support::sim_name(i)))
        .collect();
    s.scrape.min_age = min_age;
    Exporter::start(s).await.expect("exporter starts")
}

fn connections(fleet: &Fleet) -> u64 {
    fleet.miners().iter().map(|m| m.connection_count()).sum()
}

async fn get(url: &str) -> String {
    let (status, body) = http_get(url).await.expect("exporter answers");
    assert_eq!(status, 200, "{url}: {body}");
    body
}

fn counter(body: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let samples = parse(body).expect("valid exposition");
    value(&samples, name, labels).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_metrics_requests_cost_the_miners_one_scrape() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(MINERS))
        .await
        .expect("fleet starts");
    // One scrape by a fresh exporter (slow data included, as below).
    let single = exporter(&fleet, Duration::ZERO).await;
    get(&single.metrics_url()).await;
    let one_scrape = connections(&fleet);
    single.shutdown().await;
    assert!(one_scrape >= 3 * MINERS as u64, "{one_scrape}");

    let shared = exporter(&fleet, Duration::from_secs(600)).await;
    let url = shared.metrics_url();
    let before = connections(&fleet);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = url.clone();
        requests.spawn(async move { get(&url).await });
    }
    let mut bodies = Vec::new();
    while let Some(body) = requests.join_next().await {
        bodies.push(body.expect("request task"));
    }
    let twenty = connections(&fleet) - before;
    assert!(
        twenty as f64 <= 1.1 * one_scrape as f64,
        "20 requests made {twenty} miner connections, one scrape {one_scrape}"
    );
    for body in &bodies {
        for i in 0..MINERS {
            let up = counter(body, "whatsminer_up", &[("miner", &support::sim_name(i))]);
            assert_eq!(up, 1.0, "sim {i} up in every answer");
        }
    }

    // The 21st request (reused too) shows the counts of all 21.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = get(&url).await;
    assert_eq!(connections(&fleet) - before, twenty, "no new connections");
    let started = counter(
        &body,
        "whatsminer_exporter_fleet_scrapes_started_total",
        &[],
    );
    assert_eq!(started, 1.0);
    let name = "whatsminer_exporter_shared_scrape_requests_total";
    let joined = counter(
        &body,
        name,
        &[("handler", "/metrics"), ("served", "joined")],
    );
    let reused = counter(
        &body,
        name,
        &[("handler", "/metrics"), ("served", "reused")],
    );
    assert_eq!(joined + reused, 20.0, "joined {joined}, reused {reused}");
    assert_eq!(
        counter(
            &body,
            "whatsminer_exporter_scrapes_total",
            &[("mode", "metrics")]
        ),
        1.0,
        "a shared scrape counts once"
    );
    // The age shown is the data's, not the request's.
    let samples = parse(&body).expect("valid exposition");
    let ages = find(&samples, "whatsminer_data_age_seconds", &[]);
    assert_eq!(ages.len(), MINERS);
    for age in ages {
        assert!(age.value >= 1.0, "data age {} after 1.1 s", age.value);
    }
    shared.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_after_min_age_scrapes_again() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(MINERS))
        .await
        .expect("fleet starts");
    let min_age = Duration::from_millis(300);
    let exporter = exporter(&fleet, min_age).await;
    let url = exporter.metrics_url();
    get(&url).await;
    let after_first = connections(&fleet);
    let summaries: u64 = fleet
        .miners()
        .iter()
        .map(|m| m.command_count("summary"))
        .sum();
    tokio::time::sleep(min_age * 2).await;
    let body = get(&url).await;
    assert!(connections(&fleet) > after_first);
    let summaries_now: u64 = fleet
        .miners()
        .iter()
        .map(|m| m.command_count("summary"))
        .sum();
    assert_eq!(
        summaries_now,
        summaries + MINERS as u64,
        "every miner read again"
    );
    let started = counter(
        &body,
        "whatsminer_exporter_fleet_scrapes_started_total",
        &[],
    );
    assert_eq!(started, 2.0);
    exporter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_of_one_target_share_one_exchange() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .expect("fleet starts");
    let exporter = exporter(&fleet, Duration::from_secs(600)).await;
    let [first, second] = [0, 1].map(|i| fleet.miner(i).expect("miner"));
    let probe = |addr: std::net::SocketAddr| {
        format!("http://{}/probe?target={addr}", exporter.metrics_addr())
    };
    // One probe of the second miner: what one probe costs.
    get(&probe(second.addr())).await;
    let one_probe = second.connection_count();
    assert!(one_probe >= 3, "{one_probe}");

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let url = probe(first.addr());
        requests.spawn(async move { get(&url).await });
    }
    while let Some(body) = requests.join_next().await {
        let body = body.expect("request task");
        assert_eq!(counter(&body, "probe_success", &[]), 1.0);
    }
    assert_eq!(
        first.connection_count(),
        one_probe,
        "ten probes, one exchange"
    );
    assert_eq!(
        second.connection_count(),
        one_probe,
        "the other miner untouched"
    );
    let body = get(&exporter.metrics_url()).await;
    let name = "whatsminer_exporter_shared_scrape_requests_total";
    let joined = counter(&body, name, &[("handler", "/probe"), ("served", "joined")]);
    let reused = counter(&body, name, &[("handler", "/probe"), ("served", "reused")]);
    assert_eq!(joined + reused, 9.0, "joined {joined}, reused {reused}");
    exporter.shutdown().await;
}
