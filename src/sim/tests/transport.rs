//! Transport behaviour: idle timeout, request cap, connection limit,
//! concurrency, address ranges and clean shutdown.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{ask, parse, raw, QUICK};
use crate::sim::{Bind, Fault, Fleet, FleetConfig, MinerLimits};

fn limits(idle_ms: u64, max_connections: usize) -> MinerLimits {
    MinerLimits {
        idle_timeout: Duration::from_millis(idle_ms),
        max_connections,
        ..MinerLimits::default()
    }
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.limits = limits(300, 4);
    let fleet = Fleet::start(cfg).await.expect("starts");
    let mut stream = TcpStream::connect(fleet.addrs()[0])
        .await
        .expect("connects");
    let started = Instant::now();
    let mut got = Vec::new();
    let read = timeout(QUICK, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the miner should close a silent connection");
    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(250));
    fleet.shutdown().await;
}

#[tokio::test]
async fn oversized_requests_are_dropped_and_split_requests_are_joined() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(1))
        .await
        .expect("starts");
    let addr = fleet.addrs()[0];
    let mut huge = b"{\"cmd\":\"summary\",\"pad\":\"".to_vec();
    huge.resize(100 * 1024, b'x');
    let reply = raw(addr, &huge).await.unwrap_or_default();
    assert!(
        parse(&reply).is_none(),
        "no reply to a request over the cap"
    );

    // A request that arrives in pieces is answered once complete.
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(br#"{"cmd":"#).await.expect("writes");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(br#""get_version"}"#)
        .await
        .expect("writes");
    let mut got = Vec::new();
    timeout(QUICK, stream.read_to_end(&mut got))
        .await
        .expect("in time")
        .expect("reads");
    assert_eq!(parse(&got).expect("JSON")["Code"], 131);
    fleet.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_limit_get_over_max_connect() {
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.limits = limits(5_000, 1);
    let fleet = Fleet::start(cfg).await.expect("starts");
    let addr = fleet.addrs()[0];
    // Holds the only slot by saying nothing yet.
    let holder = TcpStream::connect(addr).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let busy = ask(addr, r#"{"cmd":"summary"}"#).await;
    assert_eq!(
        (busy["STATUS"].as_str(), busy["Msg"].as_str()),
        (Some("E"), Some("over max connect"))
    );
    drop(holder);
    let mut ok = false;
    for _ in 0..50 {
        let reply = ask(addr, r#"{"cmd":"get_version"}"#).await;
        if reply["Code"] == 131 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "the slot is freed when the holder leaves");
    fleet.shutdown().await;
}

#[tokio::test]
async fn concurrent_clients_are_all_answered() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(3))
        .await
        .expect("starts");
    let mut tasks = Vec::new();
    for addr in fleet.addrs() {
        for cmd in ["summary", "devs", "pools"] {
            let request = format!(r#"{{"cmd":"{cmd}"}}"#);
            tasks.push(tokio::spawn(
                async move { raw(addr, request.as_bytes()).await },
            ));
        }
    }
    for task in tasks {
        let reply = task.await.expect("task").expect("reply");
        assert!(parse(&reply).is_some());
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn loopback_range_gives_each_miner_its_own_address() {
    let cfg = FleetConfig {
        bind: Bind::LoopbackRange {
            base: Ipv4Addr::new(127, 77, 0, 254),
            port: 0,
        },
        ..FleetConfig::loopback_ephemeral(3)
    };
    let fleet = Fleet::start(cfg).await.expect("starts");
    let ips: Vec<String> = fleet.addrs().iter().map(|a| a.ip().to_string()).collect();
    assert_eq!(ips, ["127.77.0.254", "127.77.1.1", "127.77.1.2"]);
    for addr in fleet.addrs() {
        let info = ask(addr, r#"{"cmd":"get_miner_info","info":"ip"}"#).await;
        assert_eq!(info["Msg"]["ip"], addr.ip().to_string());
    }
    fleet.shutdown().await;

    let outside = FleetConfig {
        bind: Bind::LoopbackRange {
            base: Ipv4Addr::new(192, 168, 0, 1),
            port: 0,
        },
        ..FleetConfig::loopback_ephemeral(1)
    };
    assert!(Fleet::start(outside).await.is_err());
    let mut bad_fault = FleetConfig::loopback_ephemeral(1);
    bad_fault.faults = vec![(5, Fault::Reset)];
    assert!(Fleet::start(bad_fault).await.is_err());
}

#[tokio::test]
async fn shutdown_closes_listeners_and_open_connections() {
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .expect("starts");
    let addrs = fleet.addrs();
    let miner = fleet.miner(0).expect("miner");
    miner.set_fault(Some(Fault::NoReply));
    let mut hanging = TcpStream::connect(addrs[0]).await.expect("connects");
    hanging
        .write_all(br#"{"cmd":"summary"}"#)
        .await
        .expect("writes");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    timeout(QUICK, fleet.shutdown())
        .await
        .expect("shutdown in time");
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut got = Vec::new();
    let closed = timeout(QUICK, hanging.read_to_end(&mut got))
        .await
        .expect("closed");
    assert!(
        closed.is_ok() || closed.is_err(),
        "either EOF or reset, but not hanging"
    );
    for addr in addrs {
        let err = TcpStream::connect(addr)
            .await
            .expect_err("no listener after shutdown");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

#[tokio::test]
async fn a_large_fleet_starts_answers_and_stops_quickly() {
    let cfg = FleetConfig {
        bind: Bind::LoopbackRange {
            base: Ipv4Addr::new(127, 78, 0, 1),
            port: 0,
        },
        ..FleetConfig::loopback_ephemeral(5_000)
    };
    let started = Instant::now();
    let fleet = Fleet::start(cfg).await.expect("starts");
    assert_eq!(fleet.len(), 5_000);
    for addr in [fleet.addrs()[0], fleet.addrs()[4_999]] {
        assert_eq!(ask(addr, r#"{"cmd":"get_version"}"#).await["Code"], 131);
    }
    timeout(Duration::from_secs(60), fleet.shutdown())
        .await
        .expect("stops");
    assert!(started.elapsed() < Duration::from_secs(60));
}
