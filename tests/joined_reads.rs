//! Joined reads against simulated miners (loopback): a fleet mixing miners
//! that join `summary+devs+pools` and miners that refuse is scraped right,
//! with one connection per miner-scrape where joins work and three where
//! they do not (counted by the simulated miners), and a miner that stops
//! joining after a firmware change falls back within one scrape.

use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use whatsminer_exporter::client::backend::v2::dialect::Joins;
use whatsminer_exporter::client::{ApiChoice, Client};
use whatsminer_exporter::collector::compact::CompactPools;
use whatsminer_exporter::collector::{Collector, CollectorConfig, FleetSnapshot, MinerTarget};
use whatsminer_exporter::sim::{Fleet, FleetConfig, MinerHandle};
use whatsminer_exporter::transport::MinerAddr;

fn targets(fleet: &Fleet) -> Vec<Arc<MinerTarget>> {
    fleet
        .addrs()
        .into_iter()
        .map(|a| {
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(a),
                None,
                Vec::new(),
                ApiChoice::V2,
            ))
        })
        .collect()
}

async fn scrape(collector: &Arc<Collector>, targets: &[Arc<MinerTarget>]) -> FleetSnapshot {
    let deadline = Instant::now() + Duration::from_secs(20);
    collector.scrape_fleet(targets, deadline).await
}

fn connections(miners: &[MinerHandle]) -> Vec<u64> {
    miners.iter().map(MinerHandle::connection_count).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_fleet_is_read_in_one_exchange_where_joins_work_and_three_elsewhere() {
    let mut cfg = FleetConfig::loopback_ephemeral(4);
    cfg.joins = vec![(1, false), (3, false)];
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let targets = targets(&fleet);
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    // The first scrape learns who joins and fetches the slow data.
    let first = scrape(&collector, &targets).await;
    assert!(
        first.miners.iter().all(|m| m.up()),
        "all up on the first scrape"
    );

    let before = connections(fleet.miners());
    let snapshot = scrape(&collector, &targets).await;
    let after = connections(fleet.miners());
    let made: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(made, vec![1, 3, 1, 3], "connections per miner-scrape");

    // Each miner's values are what it serves to a plain read.
    let client = Client::default();
    for (i, m) in snapshot.miners.iter().enumerate() {
        let joins = if i % 2 == 0 { Joins::Yes } else { Joins::No };
        assert_eq!(m.dialect.map(|d| d.joins), Some(joins), "miner {i}");
        let summary = m.summary.as_ref().expect("summary");
        let devs = m.devs.as_ref().expect("devs");
        let pools = m.pools.as_ref().expect("pools");
        let addr = &m.target.addr;
        let served = client.summary(addr).await.expect("plain summary");
        assert_eq!(summary.mac.as_deref(), served.mac.as_deref(), "miner {i}");
        assert_eq!(summary.power_limit, served.power_limit.into(), "miner {i}");
        assert_eq!(summary.factory_ghs, served.factory_ghs.into(), "miner {i}");
        let served_devs = client.devs(addr).await.expect("plain devs");
        assert_eq!(devs.boards.len(), served_devs.0.len(), "miner {i}");
        // The pool labels (index, URL, user), as the exporter renders them.
        let served_pools = client.pools(addr).await.expect("plain pools");
        let labels = |p: &CompactPools| p.0.iter().map(|p| p.labels.clone()).collect::<Vec<_>>();
        assert_eq!(
            labels(pools),
            labels(&CompactPools::new(&served_pools)),
            "miner {i}"
        );
        assert!(!pools.0.is_empty());
    }
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_that_stops_joining_after_a_restart_falls_back_within_one_scrape() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .expect("fleet starts");
    let miner = fleet.miner(0).expect("miner");
    let targets = targets(&fleet);
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    let joined = scrape(&collector, &targets).await;
    let m = &joined.miners[0];
    assert!(m.up());
    assert_eq!(m.dialect.map(|d| d.joins), Some(Joins::Yes));

    // New firmware without joined reads: the miner restarts.
    miner.reflash(None, false);
    let fallen_back = scrape(&collector, &targets).await;
    let m = &fallen_back.miners[0];
    assert!(m.up(), "{:?}", m.summary);
    assert!(m.devs.is_ok() && m.pools.is_ok());
    assert_eq!(m.dialect.map(|d| d.joins), Some(Joins::No));

    let before = miner.connection_count();
    let apart = scrape(&collector, &targets).await;
    assert!(apart.miners[0].up());
    assert_eq!(
        miner.connection_count() - before,
        3,
        "read apart from now on"
    );
    fleet.shutdown().await;
}
