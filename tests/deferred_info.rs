//! The first scrape of a fleet whose slow data would not fit the scrape
//! budget. Every simulated miner answers each command after 100 ms, and
//! one miner is scraped at a time: the fast path costs 100 ms a miner, the
//! first fetch of the slow data 300 ms more. Fetching it inline for all 14
//! miners would take 5.6 s, past the 4 s budget, and the last miners would
//! be reported down. The collector fetches it inline only in the first half
//! of the budget and puts the rest off to a background refresh: every miner
//! is up, the late ones without slow data on that first scrape, and with it
//! on the next, each miner's slow commands sent exactly once.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::client::ClientConfig;
use whatsminer_exporter::collector::{Collector, CollectorConfig, MinerTarget};
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
use whatsminer_exporter::transport::{Limits, MinerAddr};

const MINERS: usize = 14;
const BUDGET: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_scrape_puts_off_slow_data_and_keeps_every_miner_up() {
    let mut cfg = FleetConfig::loopback_ephemeral(MINERS);
    cfg.faults = (0..MINERS)
        .map(|i| (i, Fault::Slow(Duration::from_millis(100))))
        .collect();
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let collector = Arc::new(Collector::new(CollectorConfig {
        concurrency: 1,
        info_refresh: Duration::from_secs(600),
        fetch_info: true,
        probed_kept: whatsminer_exporter::collector::probed::PROBED_KEPT,
        client: ClientConfig {
            limits: Limits {
                connect_timeout: Duration::from_secs(1),
                deadline: Duration::from_secs(2),
                max_reply_bytes: 1024 * 1024,
            },
            read_retries: 0,
            retry_backoff: Duration::from_millis(50),
        },
    }));
    let targets: Vec<_> = fleet
        .addrs()
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(*a),
                Some(format!("m{i:02}")),
                Vec::new(),
                ApiChoice::V2,
            ))
        })
        .collect();

    let first = collector
        .scrape_fleet(&targets, Instant::now() + BUDGET)
        .await;
    let down: Vec<_> = first
        .miners
        .iter()
        .filter(|m| m.summary.is_err())
        .map(|m| {
            (
                m.target.name.clone(),
                m.summary.as_ref().err().map(|e| e.reason()),
            )
        })
        .collect();
    assert!(down.is_empty(), "down on the first scrape: {down:?}");
    let with_info = first.miners.iter().filter(|m| m.info.is_some()).count();
    assert!(
        (1..MINERS).contains(&with_info),
        "some miners fetched slow data inline, the rest put it off: {with_info}"
    );
    // Inline ones come first: the order is the scrape order.
    assert!(first.miners[..with_info].iter().all(|m| m.info.is_some()));

    // The background refresh: bounded wait for the put-off miners.
    let deferred = collector.deferred_info();
    let put_off = (MINERS - with_info) as u64;
    let waited = Instant::now();
    while deferred.refreshed() < put_off && waited.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(deferred.refreshed(), put_off, "background refreshes");
    assert_eq!(deferred.pending(), 0);

    let second = collector
        .scrape_fleet(&targets, Instant::now() + BUDGET)
        .await;
    for miner in &second.miners {
        assert!(miner.summary.is_ok(), "{} up", miner.target.name);
        let info = miner.info.as_ref().expect("slow data on the second scrape");
        assert!(info.version.is_some(), "{}: version", miner.target.name);
    }
    for (i, miner) in fleet.miners().iter().enumerate() {
        assert_eq!(
            miner.command_count("get_version"),
            1,
            "miner {i}: slow data fetched once"
        );
        assert_eq!(miner.command_count("summary"), 2, "miner {i}: two scrapes");
    }
    fleet.shutdown().await;
}
