//! The v2 request key against simulated firmware personas: the exporter
//! reads with `command` by default, so a cgminer-4.9.2 miner (which answers
//! `cmd` with Code 24, as the 2020 M30S capture does) is up like the others,
//! and `whatsminer_miner_info` says which key each v2 miner was read with.
//! The learning itself (Code 24, "invalid command") is tested against a
//! one-key loopback miner in `src/client/backend/v2/tests.rs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use whatsminer_exporter::client::{ApiChoice, Client, RequestKey};
use whatsminer_exporter::collector::render::{render_miners, ExpositionWriter};
use whatsminer_exporter::collector::{Collector, CollectorConfig, MinerTarget};
use whatsminer_exporter::sim::{Fleet, FleetConfig, Persona};
use whatsminer_exporter::transport::MinerAddr;
use whatsminer_exporter::ErrorKind;

const PERSONAS: [Persona; 4] = [
    Persona::Cgminer492,
    Persona::Btminer2021,
    Persona::Firmware2025,
    Persona::V3,
];

#[tokio::test]
async fn every_persona_is_read_and_says_its_request_key() {
    let mut cfg = FleetConfig::loopback_ephemeral(PERSONAS.len());
    cfg.personas = PERSONAS.iter().copied().enumerate().collect();
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let targets: Vec<_> = (0..PERSONAS.len())
        .map(|i| {
            let miner = fleet.miner(i).expect("miner");
            let addr = miner.v3_addr().unwrap_or_else(|| miner.addr());
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(addr),
                Some(format!("m{i}")),
                Vec::new(),
                ApiChoice::Auto,
            ))
        })
        .collect();
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let scrape = collector.scrape_fleet(&targets, deadline).await;
    let mut out = ExpositionWriter::with_capacity(64 * 1024);
    render_miners(&mut out, &scrape.miners, SystemTime::now());
    let text = out.finish();
    for (i, m) in scrape.miners.iter().enumerate() {
        assert!(m.up(), "{:?} down: {:?}", PERSONAS[i], m.down_error());
        let info = text
            .lines()
            .find(|l| l.starts_with("whatsminer_miner_info{") && l.contains(&format!("\"m{i}\"")))
            .unwrap_or_else(|| panic!("no info line for m{i}:\n{text}"));
        if PERSONAS[i] == Persona::V3 {
            assert!(info.contains("protocol=\"v3\""), "{info}");
            assert!(!info.contains("request_key=\"c"), "{info}");
        } else {
            assert!(info.contains("protocol=\"v2\""), "{info}");
            assert!(info.contains("request_key=\"command\""), "{info}");
        }
    }
    // The cgminer miner's summary is the simulated one (no Code 24 read).
    let summary = scrape.miners[0].summary.as_ref().expect("summary");
    let served = fleet.miner(0).expect("miner").readings();
    let mhs = summary.mhs_av.get().expect("MHS av");
    assert!(
        (mhs - served.hashrate_mhs).abs() <= served.hashrate_mhs * 0.1,
        "{mhs} vs {}",
        served.hashrate_mhs
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn cgminer_firmware_refuses_the_cmd_key_with_code_24() {
    // Why the default changed: the same read with `cmd` fails on this
    // firmware, as on the real 2020 M30S.
    let mut cfg = FleetConfig::loopback_ephemeral(1);
    cfg.personas = vec![(0, Persona::Cgminer492)];
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    let addr = MinerAddr::from_socket_addr(fleet.miner(0).expect("miner").addr());
    let client = Client::default();
    assert!(
        client.summary(&addr).await.is_ok(),
        "command is the default"
    );
    let err = client
        .with_request_key(RequestKey::Cmd)
        .summary(&addr)
        .await
        .expect_err("cmd refused");
    assert!(
        matches!(err.kind, ErrorKind::Miner { code: Some(24), .. }),
        "{err:?}"
    );
    fleet.shutdown().await;
}
