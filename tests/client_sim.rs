//! The client against the simulated fleet on loopback: every read-only
//! command, the writeable token flow (power off/on, renewal before expiry,
//! the invalid-token retry, single-flight token fetches), and each error
//! class the issue names.

use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use whatsminer_exporter::client::{
    Api, Backends, Client, ClientConfig, ManualClock, SessionPool, V2Session,
};
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
use whatsminer_exporter::transport::{Limits, MinerAddr};
use whatsminer_exporter::{ErrorKind, Secret};

fn addr(fleet: &Fleet, i: usize) -> MinerAddr {
    MinerAddr::from_socket_addr(fleet.addrs()[i])
}

fn fast_client(deadline_ms: u64) -> Client {
    Client::new(ClientConfig {
        limits: Limits {
            connect_timeout: Duration::from_millis(deadline_ms),
            deadline: Duration::from_millis(deadline_ms),
            max_reply_bytes: 1024 * 1024,
        },
        read_retries: 1,
        retry_backoff: Duration::from_millis(50),
    })
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[tokio::test]
async fn every_read_only_command_parses() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(4))
        .await
        .unwrap();
    let client = Client::default();
    for i in 0..fleet.len() {
        let a = addr(&fleet, i);
        let sim = fleet.miner(i).unwrap().readings();
        let s = client.summary(&a).await.unwrap();
        let mhs = s.mhs_av.expect("MHS av");
        // Values drift between the snapshot and the reply; 10% is plenty.
        assert!(
            (mhs - sim.hashrate_mhs).abs() <= sim.hashrate_mhs * 0.1,
            "{mhs} vs {}",
            sim.hashrate_mhs
        );
        assert!(s.temperature.is_some() && s.power.is_some() && s.elapsed.is_some());
        let devs = client.devs(&a).await.unwrap();
        assert_eq!(devs.0.len(), 3, "three hashboards");
        assert!(devs.0.iter().all(|b| b.alive() == Some(true)));
        assert_eq!(client.edevs(&a).await.unwrap().0.len(), 3);
        let pools = client.pools(&a).await.unwrap();
        assert_eq!(pools.0.len(), 3);
        assert!(pools.0[0]
            .url
            .as_deref()
            .unwrap_or("")
            .starts_with("stratum"));
        assert!(client.devdetails(&a).await.unwrap().model().is_some());
        let v = client.get_version(&a).await.unwrap();
        assert_eq!(
            v.fw_ver.as_deref(),
            Some(sim.firmware_version.trim_matches('\''))
        );
        assert!(client.get_psu(&a).await.unwrap().input_volts().is_some());
        assert_eq!(client.status(&a).await.unwrap().btmineroff, Some(false));
        let info = client.get_miner_info(&a).await.unwrap();
        assert_eq!(info.mac.as_deref(), Some(sim.mac.as_str()));
        client.get_error_code(&a).await.unwrap();
        // Any other command as raw JSON.
        let raw = client
            .command(&a, "get_version", &Map::new())
            .await
            .unwrap();
        assert!(raw.get("Msg").is_some());
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn long_replies_parse_whole() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .unwrap();
    let a = addr(&fleet, 0);
    let raw = Client::default()
        .raw(&a, "pools", &Map::new())
        .await
        .unwrap();
    let devs = Client::default()
        .raw(&a, "devs", &Map::new())
        .await
        .unwrap();
    // The seed Python client stops reading at 4,000 bytes; we must not.
    assert!(
        raw.len() + devs.len() > 4000,
        "{} + {}",
        raw.len(),
        devs.len()
    );
    assert_eq!(Client::default().pools(&a).await.unwrap().0.len(), 3);
    fleet.shutdown().await;
}

#[tokio::test]
async fn power_off_and_on_round_trip() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .unwrap();
    let handle = fleet.miner(0).unwrap();
    let client = Client::default();
    let session = client.v2_session(addr(&fleet, 0), Secret::new("admin"));
    let reply = session
        .exec("power_off", &params(&[("respbefore", "true")]))
        .await
        .unwrap();
    assert_eq!(reply["STATUS"], "S", "{reply}");
    assert!(!handle.powered_on());
    let s = client.summary(&addr(&fleet, 0)).await.unwrap();
    assert_eq!(s.mhs_av.unwrap_or(-1.0), 0.0);
    assert_eq!(
        client.status(&addr(&fleet, 0)).await.unwrap().btmineroff,
        Some(true)
    );
    session.exec("power_on", &Map::new()).await.unwrap();
    assert!(handle.powered_on());
    // One token served both commands.
    assert_eq!(handle.command_count("get_token"), 1);
    assert_eq!(session.token_fetches(), 1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn token_is_renewed_before_the_30_minute_expiry() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .unwrap();
    let handle = fleet.miner(0).unwrap();
    let clock = Arc::new(ManualClock::default());
    let session = V2Session::new(
        Client::default(),
        addr(&fleet, 0),
        Secret::new("admin"),
        clock.clone(),
    );
    session
        .exec("set_led", &params(&[("param", "auto")]))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(20 * 60));
    session
        .exec("set_led", &params(&[("param", "auto")]))
        .await
        .unwrap();
    assert_eq!(session.token_fetches(), 1, "still fresh at 20 minutes");
    clock.advance(Duration::from_secs(9 * 60));
    // 29 minutes: inside the renewal margin, so a new token first; the
    // miner never sees a token about to die.
    session
        .exec("set_led", &params(&[("param", "auto")]))
        .await
        .unwrap();
    assert_eq!(session.token_fetches(), 2);
    assert_eq!(handle.command_count("get_token"), 2);
    fleet.shutdown().await;
}

#[tokio::test]
async fn invalid_token_is_renewed_once_and_retried() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .unwrap();
    let handle = fleet.miner(0).unwrap();
    let session = Client::default().v2_session(addr(&fleet, 0), Secret::new("admin"));
    session.exec("power_on", &Map::new()).await.unwrap();
    // The miner forgets or expires our token (its clock jumps 31 minutes).
    handle.advance_clock(Duration::from_secs(31 * 60));
    session
        .exec("power_off", &params(&[("respbefore", "true")]))
        .await
        .unwrap();
    assert!(!handle.powered_on());
    assert_eq!(
        session.token_fetches(),
        2,
        "one renewal after the 135 answer"
    );
    handle.expire_tokens();
    session.exec("power_on", &Map::new()).await.unwrap();
    assert!(handle.powered_on());
    assert_eq!(session.token_fetches(), 3);
    fleet.shutdown().await;
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .unwrap();
    let pool = Arc::new(SessionPool::new(Client::default()));
    let backends = Arc::new(Backends::default());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let pool = pool.clone();
        let a = addr(&fleet, i % 2);
        let backends = backends.clone();
        tasks.push(tokio::spawn(async move {
            pool.session(&a, backends.get(Api::V2), &Secret::new("admin"))
                .exec("set_led", &params(&[("param", "auto")]))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for i in 0..2 {
        assert_eq!(
            fleet.miner(i).unwrap().command_count("get_token"),
            1,
            "miner {i}"
        );
    }
    fleet.shutdown().await;
}

/// Runs `summary` against a miner with `fault` and returns the error kind.
async fn read_error(fault: Fault, deadline_ms: u64) -> (ErrorKind, Duration) {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.faults = vec![(0, fault)];
    let fleet = Fleet::start(cfg).await.unwrap();
    let started = Instant::now();
    let err = fast_client(deadline_ms)
        .summary(&addr(&fleet, 0))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.command, "summary");
    assert_eq!(err.miner, fleet.addrs()[0].to_string());
    fleet.shutdown().await;
    (err.kind, took)
}

#[tokio::test]
async fn read_error_classes_are_typed() {
    assert_eq!(
        read_error(Fault::ApiDisabled, 2000).await.0,
        ErrorKind::ConnectRefused
    );
    let (kind, took) = read_error(Fault::NoReply, 500).await;
    assert_eq!(kind, ErrorKind::Timeout);
    // A miner that never answers costs its deadline, not more.
    assert!(
        took >= Duration::from_millis(480) && took < Duration::from_millis(3000),
        "{took:?}"
    );
    assert!(matches!(
        read_error(Fault::Oversized(2 << 20), 5000).await.0,
        ErrorKind::ReplyTooLarge { .. }
    ));
    assert!(matches!(
        read_error(Fault::Truncated, 2000).await.0,
        ErrorKind::NotJson(_)
    ));
    assert!(matches!(
        read_error(Fault::WrongShape, 2000).await.0,
        ErrorKind::UnexpectedShape(_)
    ));
    assert!(matches!(
        read_error(Fault::StatusError, 2000).await.0,
        ErrorKind::Miner { .. }
    ));
    assert_eq!(
        read_error(Fault::OverMaxConnect, 2000).await.0,
        ErrorKind::OverMaxConnect
    );
    assert!(matches!(
        read_error(Fault::Reset, 2000).await.0,
        ErrorKind::ConnectionReset { .. }
    ));
}

#[tokio::test]
async fn trailing_nuls_and_string_numbers_still_parse() {
    for fault in [Fault::TrailingNuls, Fault::NumbersAsStrings] {
        let mut cfg = FleetConfig::loopback_ephemeral(1);
        cfg.faults = vec![(0, fault.clone())];
        let fleet = Fleet::start(cfg).await.unwrap();
        let s = Client::default().summary(&addr(&fleet, 0)).await.unwrap();
        assert!(s.mhs_av.unwrap_or(0.0) > 0.0, "{fault:?}");
        fleet.shutdown().await;
    }
}

async fn write_error(fault: Fault) -> ErrorKind {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.faults = vec![(0, fault)];
    let fleet = Fleet::start(cfg).await.unwrap();
    let session = Client::default().v2_session(addr(&fleet, 0), Secret::new("admin"));
    let err = session
        .exec("power_off", &params(&[("respbefore", "true")]))
        .await
        .unwrap_err();
    assert!(fleet.miner(0).unwrap().powered_on() || matches!(err.kind, ErrorKind::Decrypt(_)));
    fleet.shutdown().await;
    err.kind
}

#[tokio::test]
async fn write_error_classes_are_typed() {
    assert_eq!(
        write_error(Fault::WrongPassword).await,
        ErrorKind::WrongPassword
    );
    assert_eq!(
        write_error(Fault::WriteDisabled).await,
        ErrorKind::WriteApiDisabled
    );
    assert!(matches!(
        write_error(Fault::GarbledEncrypted).await,
        ErrorKind::Decrypt(_)
    ));
    assert!(matches!(
        write_error(Fault::WrongKeyEncrypted).await,
        ErrorKind::Decrypt(_)
    ));
}

#[tokio::test]
async fn errors_never_show_the_password_or_sign() {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.faults = vec![(0, Fault::WrongPassword)];
    let fleet = Fleet::start(cfg).await.unwrap();
    let session = Client::default().v2_session(addr(&fleet, 0), Secret::new("s3cr3t-Pa55"));
    let err = session.exec("power_off", &Map::new()).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), format!("{session:?}")] {
        assert!(!text.contains("s3cr3t-Pa55"), "{text}");
    }
    fleet.shutdown().await;
}
