//! The fleet of the end-to-end query test, built so that every dashboard
//! panel and alert expression has something to show: a down miner, hot
//! ones, stopped ones, a ramping one, a restarting one, broken pools, a
//! stalled exporter address and a failed configuration reload.

use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Map;
use whatsminer_exporter::client::Client;
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::http::state::ReloadFn;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig, MinerHandle};
use whatsminer_exporter::transport::MinerAddr;
use whatsminer_exporter::Secret;

use super::pool_proxy::PoolProxy;
use super::{http_get, sim_name, start_exporter, target};

/// Miner roles of the rich fleet (indices into the fleet).
pub mod role {
    pub const PROBED: [usize; 2] = [0, 1];
    /// API off: down, with a reason.
    pub const API_DISABLED: usize = 2;
    pub const NUMBERS_AS_STRINGS: usize = 3;
    /// Overheating and kept running: too hot, critical, fan outlier.
    pub const HOT: usize = 4;
    /// Overheated before the first scrape and switched itself off: not
    /// mining, cooling, with an overheat error code.
    pub const SELF_STOPPED: usize = 5;
    /// Powered off after the first scrape: fans and boards stop while the
    /// (slowly refreshed) status still says mining.
    pub const STOPPED_LATE: usize = 6;
    /// Powered off and on again right before the queries: hashrate ramping.
    pub const RAMPING: usize = 7;
    /// btminer restarted three times.
    pub const RESTARTED: usize = 8;
    /// Behind the pool proxy: all pools dead, a fifth of shares rejected.
    pub const BAD_POOLS: usize = 9;
    pub const COUNT: usize = 10;
}

/// The exporter failing a configuration reload, as a broken file would.
pub async fn fail_a_reload(exporter: &Exporter) {
    let broken: ReloadFn =
        Arc::new(|| Box::pin(async { Err("test: broken configuration".to_string()) }));
    exporter.state.set_reloader(broken);
    assert!(
        exporter.state.reload().await.is_err(),
        "the reload must fail"
    );
}

pub async fn restart_btminer(miner: &MinerHandle) {
    let session = Client::default().v2_session(
        MinerAddr::from_socket_addr(miner.addr()),
        Secret::new("admin"),
    );
    session
        .exec("restart_btminer", &Map::new())
        .await
        .unwrap_or_else(|e| panic!("restart_btminer: {e}"));
}

/// The fleet of the query test, its exporter (first scrape done) and the
/// helpers that must live as long as the test.
pub struct RichFleet {
    pub fleet: Fleet,
    pub exporter: Exporter,
    _proxy: PoolProxy,
    /// Bound and never accepted from: scrapes of it time out.
    pub stalled: StdListener,
}

pub async fn rich_fleet() -> RichFleet {
    let mut config = FleetConfig::loopback_ephemeral(role::COUNT);
    let hot = Fault::Overheat {
        rate_c_per_sec: 0.25,
        shutdown_at_c: 160.0,
    };
    config.faults = vec![
        (role::API_DISABLED, Fault::ApiDisabled),
        (role::NUMBERS_AS_STRINGS, Fault::NumbersAsStrings),
        (role::HOT, hot),
        (role::SELF_STOPPED, Fault::overheat()),
    ];
    let fleet = Fleet::start(config).await.expect("fleet starts");
    let miner = |index: usize| fleet.miner(index).expect("miner of the fleet");
    // +40 °C on the hot miner; the self-stopped one crosses its 90 °C limit.
    miner(role::HOT).advance_clock(Duration::from_secs(160));
    miner(role::SELF_STOPPED).advance_clock(Duration::from_secs(200));
    assert!(
        !miner(role::SELF_STOPPED).powered_on(),
        "overheat must stop the miner"
    );
    // Running for over 30 minutes, so a low hashrate is not excused as a restart.
    miner(role::RAMPING).advance_clock(Duration::from_secs(3600));

    let proxy = PoolProxy::start(miner(role::BAD_POOLS).addr())
        .await
        .expect("proxy");
    let targets = fleet
        .addrs()
        .into_iter()
        .enumerate()
        .map(|(i, addr)| {
            target(
                if i == role::BAD_POOLS {
                    proxy.addr
                } else {
                    addr
                },
                &sim_name(i),
            )
        })
        .collect();
    let exporter = start_exporter(targets).await;
    // The first scrape caches the slowly refreshed status (mining) of every miner.
    let (status, body) = http_get(&exporter.metrics_url())
        .await
        .expect("GET /metrics");
    assert_eq!(status, 200, "{body}");
    miner(role::STOPPED_LATE).set_powered(false);
    fail_a_reload(&exporter).await;
    let stalled = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    RichFleet {
        fleet,
        exporter,
        _proxy: proxy,
        stalled,
    }
}
