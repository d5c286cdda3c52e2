//! Every fault, observed from a raw TCP client.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{ask, fleet, numeric, parse, raw, write, QUICK};
use crate::sim::{Fault, Fleet, FleetConfig};

const SUMMARY: &str = r#"{"cmd":"summary"}"#;

/// Sends `request` and collects what arrives within `wait` (the read
/// error, if any, is returned beside the bytes).
async fn collect_for(
    addr: std::net::SocketAddr,
    request: &str,
    wait: Duration,
) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return (got, None),
            Ok(Ok(0)) => return (got, None),
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return (got, Some(e.kind())),
        }
    }
}

#[tokio::test]
async fn slow_delays_and_no_reply_stays_silent() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    miner.set_fault(Some(Fault::Slow(Duration::from_millis(400))));
    let started = Instant::now();
    assert_eq!(ask(addr, r#"{"cmd":"get_version"}"#).await["Code"], 131);
    assert!(started.elapsed() >= Duration::from_millis(400));

    miner.set_fault(Some(Fault::NoReply));
    let (got, err) = collect_for(addr, SUMMARY, Duration::from_millis(700)).await;
    assert!(
        got.is_empty() && err.is_none(),
        "NoReply answered {} bytes",
        got.len()
    );
    miner.set_fault(None);
    assert_eq!(ask(addr, r#"{"cmd":"get_version"}"#).await["Code"], 131);
    fleet.shutdown().await;
}

#[tokio::test]
async fn reset_truncated_and_trailing_nuls() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    let full = raw(addr, SUMMARY.as_bytes()).await.expect("reply");

    miner.set_fault(Some(Fault::Reset));
    let (got, err) = collect_for(addr, SUMMARY, QUICK).await;
    assert!(parse(&got).is_none(), "a reset reply must not be complete");
    assert!(got.len() < full.len());
    assert_eq!(
        err,
        Some(std::io::ErrorKind::ConnectionReset),
        "got {} bytes",
        got.len()
    );

    miner.set_fault(Some(Fault::Truncated));
    let got = raw(addr, SUMMARY.as_bytes())
        .await
        .expect("closed normally");
    assert!(!got.is_empty() && got.len() < full.len());
    assert!(serde_json::from_slice::<serde_json::Value>(&got).is_err());

    miner.set_fault(Some(Fault::TrailingNuls));
    let got = raw(addr, SUMMARY.as_bytes()).await.expect("reply");
    assert!(got.ends_with(crate::sim::server::TRAILING_JUNK));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&got).is_err(),
        "strict parse fails"
    );
    assert!(parse(&got).is_some(), "cut at NUL and trimmed, it parses");
    fleet.shutdown().await;
}

#[tokio::test]
async fn oversized_slow_drip_and_over_max_connect() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    miner.set_fault(Some(Fault::Oversized(3 * 1024 * 1024)));
    let got = raw(addr, SUMMARY.as_bytes()).await.expect("reply");
    assert_eq!(got.len(), 3 * 1024 * 1024);
    miner.set_fault(Some(Fault::Oversized(10)));
    assert_eq!(
        raw(addr, SUMMARY.as_bytes()).await.expect("reply").len(),
        10
    );

    miner.set_fault(Some(Fault::SlowDrip));
    let (got, _) = collect_for(addr, SUMMARY, Duration::from_millis(2500)).await;
    assert!((1..=4).contains(&got.len()), "dripped {} bytes", got.len());

    miner.set_fault(Some(Fault::OverMaxConnect));
    let reply = ask(addr, SUMMARY).await;
    assert_eq!(reply["STATUS"], "E");
    assert_eq!(reply["Msg"], "over max connect");
    assert!(reply["When"].is_u64() && reply["Code"].is_i64());
    fleet.shutdown().await;
}

#[tokio::test]
async fn api_disabled_refuses_connections_until_re_enabled() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    miner.set_fault(Some(Fault::ApiDisabled));
    let mut refused = false;
    for _ in 0..100 {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(refused, "the listener should close");
    miner.set_fault(None);
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(reply) = raw(addr, br#"{"cmd":"get_version"}"#).await {
            answered = parse(&reply).is_some_and(|v| v["Code"] == 131);
            if answered {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "the same address should answer again");
    fleet.shutdown().await;
}

#[tokio::test]
async fn api_disabled_from_the_start_never_accepts() {
    let mut cfg = FleetConfig::loopback_ephemeral(2);
    cfg.faults = vec![(1, Fault::ApiDisabled)];
    let fleet = Fleet::start(cfg).await.expect("starts");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = TcpStream::connect(fleet.addrs()[1])
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(
        ask(fleet.addrs()[0], SUMMARY).await["STATUS"][0]["STATUS"],
        "S"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn content_faults_over_tcp() {
    let fleet = fleet(1, Some(crate::sim::Flavour::Classic)).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    miner.set_fault(Some(Fault::WrongShape));
    let a = ask(addr, SUMMARY).await;
    let b = ask(addr, SUMMARY).await;
    let shapes = [json!([1, 2, 3]), json!({"foo": 1})];
    assert!(shapes.contains(&a) && shapes.contains(&b) && a != b);

    miner.set_fault(Some(Fault::NumbersAsStrings));
    let s = ask(addr, SUMMARY).await;
    let summary = &s["SUMMARY"][0];
    assert!(summary["MHS av"].is_string() && numeric(&summary["MHS av"]));
    assert!(summary["Fan Speed In"].is_string());

    miner.set_fault(Some(Fault::StatusError));
    let e = ask(addr, SUMMARY).await;
    assert_eq!(
        (e["STATUS"].as_str(), e["Code"].as_i64()),
        (Some("E"), Some(14))
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn overheat_climbs_then_the_miner_switches_itself_off() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    let addr = miner.addr();
    let cool = miner.readings().hottest_board_c;
    miner.set_fault(Some(Fault::Overheat {
        rate_c_per_sec: 0.5,
        shutdown_at_c: 95.0,
    }));
    miner.advance_clock(Duration::from_secs(20));
    let warm = miner.readings();
    assert!(
        warm.powered_on && warm.hottest_board_c > cool + 5.0,
        "{cool} -> {}",
        warm.hottest_board_c
    );
    miner.advance_clock(Duration::from_secs(200));
    assert!(!miner.powered_on(), "switched off at the threshold");
    let status = ask(addr, r#"{"cmd":"status"}"#).await;
    assert_eq!(status["Msg"]["btmineroff"], "true");
    let errors = ask(addr, r#"{"cmd":"get_error_code"}"#).await;
    let codes: Vec<String> = errors["Msg"]["error_code"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e.as_object()?.keys().next().cloned())
        .collect();
    assert!(codes.iter().any(|c| c.starts_with("35")), "{codes:?}");
    miner.advance_clock(Duration::from_secs(1800));
    assert!(
        miner.readings().hottest_board_c < 50.0,
        "cooled down while off"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn overheat_stops_when_something_powers_the_miner_off() {
    let fleet = fleet(1, None).await;
    let miner = fleet.miner(0).expect("miner");
    miner.set_fault(Some(Fault::Overheat {
        rate_c_per_sec: 0.5,
        shutdown_at_c: 120.0,
    }));
    miner.advance_clock(Duration::from_secs(10));
    assert_eq!(
        write(miner.addr(), "admin", json!({"cmd":"power_off"})).await["Code"],
        131
    );
    let at_off = miner.readings().hottest_board_c;
    miner.advance_clock(Duration::from_secs(60));
    let later = miner.readings();
    assert!(!later.powered_on && later.hottest_board_c < at_off);
    assert!(
        later.error_codes.iter().all(|c| !(350..353).contains(c)),
        "not an overheat shutdown"
    );
    let _ = timeout(QUICK, fleet.shutdown()).await;
}
