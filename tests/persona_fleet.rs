//! A simulated fleet with one miner of each firmware persona (`sim::persona`:
//! cgminer 4.9.2 on the M20S build that sends `\'`, btminer 2021 and 2022,
//! 2025–2026 firmware with Slot boards in TH/s, API v3), scraped through the
//! exporter's `/metrics`: every miner `whatsminer_up 1`, with the values the
//! simulator served. It needs what issue 16 asks of the client: reads that
//! work with the `command` key, repair of the `\'` escape, board hash rates
//! in the firmware's own unit.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use support::exposition::{find, parse, value, Sample};
use whatsminer_exporter::client::ApiChoice;
use whatsminer_exporter::collector::MinerTarget;
use whatsminer_exporter::sim::{Fleet, FleetConfig, MinerReadings, Model, Persona};
use whatsminer_exporter::transport::MinerAddr;

const PERSONAS: [(Persona, Model); 5] = [
    (Persona::Cgminer492, Model::M20S),
    (Persona::Btminer2021, Model::M30S),
    (Persona::Btminer2022, Model::M30SPlus),
    (Persona::Firmware2025, Model::M60),
    (Persona::V3, Model::M60S),
];

async fn persona_fleet() -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(PERSONAS.len());
    cfg.models = PERSONAS.iter().map(|(_, m)| *m).collect();
    cfg.personas = PERSONAS.iter().map(|(p, _)| *p).enumerate().collect();
    Fleet::start(cfg).await.expect("fleet starts")
}

fn name(persona: Persona) -> String {
    format!("p-{persona}")
}

fn near(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs().max(1.0)
}

fn one(samples: &[Sample], family: &str, miner: &str, extra: &[(&str, &str)]) -> f64 {
    let mut wanted = vec![("miner", miner)];
    wanted.extend_from_slice(extra);
    value(samples, family, &wanted).unwrap_or_else(|e| panic!("{miner}: {family}: {e}"))
}

/// The miner's values at the scrape against its own snapshot.
fn check_miner(samples: &[Sample], persona: Persona, sim: &MinerReadings) {
    let miner = name(persona);
    let m = miner.as_str();
    let hashrate = one(
        samples,
        "whatsminer_hashrate_hashes_per_second",
        m,
        &[("window", "avg")],
    );
    assert!(
        near(hashrate, sim.hashrate_mhs * 1e6, 0.02),
        "{m}: {hashrate} H/s, the simulator {} MH/s",
        sim.hashrate_mhs
    );
    // The unit check: the boards add up to the miner (TH/s boards on 2025).
    let boards = find(
        samples,
        "whatsminer_board_hashrate_hashes_per_second",
        &[("miner", m), ("window", "avg")],
    );
    assert_eq!(boards.len(), 3, "{m}: {boards:?}");
    let board_sum: f64 = boards.iter().map(|s| s.value).sum();
    assert!(
        near(board_sum, hashrate, 0.02),
        "{m}: boards {board_sum} vs {hashrate}"
    );
    let power = one(samples, "whatsminer_power_watts", m, &[]);
    assert!(
        near(power, sim.power_w, 0.05),
        "{m}: {power} W vs {}",
        sim.power_w
    );
    let fan = one(samples, "whatsminer_fan_speed_rpm", m, &[("fan", "in")]);
    assert!(near(fan, f64::from(sim.fan_in_rpm), 0.1), "{m}: fan {fan}");
    let pools = find(samples, "whatsminer_pool_up", &[("miner", m)]);
    assert_eq!(pools.len(), sim.pools.len(), "{m}: {pools:?}");
    let info = find(samples, "whatsminer_miner_info", &[("miner", m)]);
    let info = info.first().unwrap_or_else(|| panic!("{m}: no miner_info"));
    assert_eq!(info.label("mac"), Some(sim.mac.as_str()), "{m}: {info:?}");
    // Every v2 persona reads `command` (cgminer 4.9.2 reads nothing else).
    let key = if persona == Persona::V3 {
        None
    } else {
        Some("command")
    };
    assert_eq!(
        info.label("request_key").filter(|k| !k.is_empty()),
        key,
        "{m}: {info:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_miner_of_each_persona_is_up_with_the_values_it_served() {
    let fleet = persona_fleet().await;
    let targets: Vec<Arc<MinerTarget>> = PERSONAS
        .iter()
        .enumerate()
        .map(|(i, (persona, _))| {
            let miner = fleet.miner(i).expect("miner");
            let (addr, api) = match miner.v3_addr() {
                Some(v3) => (v3, ApiChoice::V3),
                None => (miner.addr(), ApiChoice::Auto),
            };
            Arc::new(MinerTarget::new(
                MinerAddr::from_socket_addr(addr),
                Some(name(*persona)),
                Vec::new(),
                api,
            ))
        })
        .collect();
    let exporter = support::start_exporter(targets).await;
    let url = exporter.metrics_url();
    // Twice: the first scrape also learns each miner's dialect.
    let mut samples = Vec::new();
    for _ in 0..2 {
        let (status, body) = support::http_get(&url).await.expect("/metrics answers");
        assert_eq!(status, 200, "{body}");
        samples = parse(&body).expect("exposition parses");
    }
    let mut down = BTreeMap::new();
    for (persona, _) in PERSONAS {
        let miner = name(persona);
        if one(&samples, "whatsminer_up", &miner, &[]) != 1.0 {
            let reasons: Vec<_> = find(&samples, "whatsminer_down_reason", &[("miner", &miner)])
                .iter()
                .filter_map(|s| s.label("reason").map(str::to_string))
                .collect();
            down.insert(miner, reasons);
        }
    }
    assert!(down.is_empty(), "miners down: {down:?}");
    for (i, (persona, _)) in PERSONAS.iter().enumerate() {
        let sim = fleet.miner(i).expect("miner").readings();
        check_miner(&samples, *persona, &sim);
    }
    exporter.shutdown().await;
    fleet.shutdown().await;
}
