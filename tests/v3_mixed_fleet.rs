//! A mixed fleet (API v2 and API v3 miners) scraped by the collector:
//! the same metric families for both APIs (minus the documented v3 gaps),
//! values equal to the simulator's, auto-detection that picks right and
//! caches (counted on the simulated miners), and writes through
//! `V3Session`/`WriteSession` that change the simulated state.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use whatsminer_exporter::client::{Api, ApiChoice, Backends, Client, ClientConfig, V3Session};
use whatsminer_exporter::collector::render::{render_miners, ExpositionWriter};
use whatsminer_exporter::collector::{Collector, CollectorConfig, MinerSnapshot, MinerTarget};
use whatsminer_exporter::sim::{Fault, Flavour, Fleet, FleetConfig, Model};
use whatsminer_exporter::transport::MinerAddr;
use whatsminer_exporter::{ErrorKind, Secret};

/// Families a classic v2 miner has and a v3 miner cannot: API v3 has no
/// share counters, no hardware-error counts, no target hash rate and no
/// "hash stable" flag (docs/firmware-support.md).
const V3_ABSENT: &[&str] = &[
    "whatsminer_board_hardware_errors_total",
    "whatsminer_board_shares_accepted_total",
    "whatsminer_board_shares_rejected_total",
    "whatsminer_hash_stable",
    "whatsminer_pool_difficulty_accepted_total",
    "whatsminer_pool_shares_accepted_total",
    "whatsminer_pool_shares_rejected_total",
    "whatsminer_pool_shares_stale_total",
    "whatsminer_shares_accepted_total",
    "whatsminer_shares_rejected_total",
    "whatsminer_target_hashrate_hashes_per_second",
];

/// Miners 0 and 1 speak v2 (classic replies), 2 and 3 speak v3.
async fn mixed_fleet() -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(4);
    cfg.flavour = Some(Flavour::Classic);
    cfg.models = vec![Model::M30S, Model::M50S, Model::M60S, Model::M30SPlusPlus];
    cfg.v3_miners = vec![2, 3];
    Fleet::start(cfg).await.expect("fleet starts")
}

/// The address an operator would configure: the v3 port for v3 miners.
fn api_addr(fleet: &Fleet, index: usize) -> SocketAddr {
    let miner = fleet.miner(index).expect("miner");
    miner.v3_addr().unwrap_or_else(|| miner.addr())
}

fn target(addr: SocketAddr, index: usize, protocol: ApiChoice) -> Arc<MinerTarget> {
    Arc::new(MinerTarget::new(
        MinerAddr::from_socket_addr(addr),
        Some(format!("m{index}")),
        Vec::new(),
        protocol,
    ))
}

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(20)
}

/// One miner's samples: family name → (labels, value).
fn samples(snapshot: &MinerSnapshot) -> BTreeMap<String, Vec<(String, f64)>> {
    let mut out = ExpositionWriter::with_capacity(16 * 1024);
    render_miners(&mut out, std::slice::from_ref(snapshot), SystemTime::now());
    let text = out.finish();
    let mut families: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let value: f64 = value.parse().expect("numeric value");
        families
            .entry(name.to_owned())
            .or_default()
            .push((labels.to_owned(), value));
    }
    families
}

fn value(families: &BTreeMap<String, Vec<(String, f64)>>, name: &str, label: &str) -> f64 {
    families
        .get(name)
        .and_then(|s| s.iter().find(|(l, _)| l.contains(label)))
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {name} sample with {label}"))
}

fn names(families: &BTreeMap<String, Vec<(String, f64)>>) -> BTreeSet<String> {
    families
        .keys()
        // Present only on miners that carry an error code (seeded).
        .filter(|n| n.as_str() != "whatsminer_error_code_info")
        .cloned()
        .collect()
}

fn near(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs().max(1.0)
}

#[tokio::test]
async fn v2_and_v3_miners_give_the_same_families_and_the_simulated_values() {
    let fleet = mixed_fleet().await;
    let protocols = [ApiChoice::V2, ApiChoice::V2, ApiChoice::V3, ApiChoice::V3];
    let targets: Vec<_> = (0..4)
        .map(|i| target(api_addr(&fleet, i), i, protocols[i]))
        .collect();
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    let scrape = collector.scrape_fleet(&targets, deadline()).await;
    let per_miner: Vec<_> = scrape.miners.iter().map(samples).collect();
    for (i, m) in scrape.miners.iter().enumerate() {
        assert!(m.up(), "miner {i} down: {:?}", m.down_error());
        let want = if i < 2 { Api::V2 } else { Api::V3 };
        assert_eq!(m.api, want, "miner {i}");
        let info = &per_miner[i]["whatsminer_miner_info"][0].0;
        let label = format!("protocol=\"{}\"", want.as_str());
        assert!(info.contains(&label), "{info}");
    }

    let v2 = names(&per_miner[0]);
    assert_eq!(v2, names(&per_miner[1]), "both v2 miners alike");
    for v3_index in [2, 3] {
        let v3 = names(&per_miner[v3_index]);
        let extra: Vec<_> = v3.difference(&v2).collect();
        assert!(extra.is_empty(), "v3-only families: {extra:?}");
        let missing: Vec<&str> = v2.difference(&v3).map(String::as_str).collect();
        assert_eq!(missing, V3_ABSENT, "families v3 lacks");
    }

    for (i, families) in per_miner.iter().enumerate() {
        let sim = fleet.miner(i).expect("miner").readings();
        let hashrate = value(
            families,
            "whatsminer_hashrate_hashes_per_second",
            "window=\"avg\"",
        );
        assert!(
            near(hashrate, sim.hashrate_mhs * 1e6, 0.02),
            "miner {i}: {hashrate} H/s vs {} MH/s",
            sim.hashrate_mhs
        );
        assert!(
            hashrate > 50e12,
            "a real miner's rate in H/s, got {hashrate}"
        );
        let temp = value(families, "whatsminer_temperature_celsius", "");
        assert!(
            (temp - sim.temperature_c).abs() < 3.0,
            "miner {i}: {temp} C"
        );
        let power = value(families, "whatsminer_power_watts", "");
        assert!(near(power, sim.power_w, 0.05), "miner {i}: {power} W");
        let limit = value(families, "whatsminer_power_limit_watts", "");
        assert_eq!(limit, f64::from(sim.power_limit_w));
        let mining = value(families, "whatsminer_mining", "");
        assert_eq!(mining, 1.0);
        let fan = value(families, "whatsminer_fan_speed_rpm", "fan=\"in\"");
        assert!(
            near(fan, f64::from(sim.fan_in_rpm), 0.1),
            "miner {i}: fan {fan}"
        );
        let info = &families["whatsminer_miner_info"][0].0;
        assert!(info.contains(&format!("mac=\"{}\"", sim.mac)), "{info}");
        assert!(
            info.contains(&format!("model=\"{}\"", sim.model.type_string())),
            "{info}"
        );
        let volts = value(families, "whatsminer_psu_input_voltage_volts", "");
        assert!(near(volts, 225.0, 0.01), "miner {i}: {volts} V");
        let boards = &families["whatsminer_board_temperature_celsius"];
        assert_eq!(boards.len(), 3, "miner {i}");
        assert!(families["whatsminer_pool_up"].len() >= 3);
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn auto_detection_picks_each_api_once_and_detects_again_after_failures() {
    let fleet = mixed_fleet().await;
    let targets: Vec<_> = (0..4)
        .map(|i| target(api_addr(&fleet, i), i, ApiChoice::Auto))
        .collect();
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    for _ in 0..3 {
        let scrape = collector.scrape_fleet(&targets, deadline()).await;
        let got: Vec<_> = scrape.miners.iter().map(|m| (m.up(), m.api)).collect();
        assert_eq!(
            got,
            [
                (true, Api::V2),
                (true, Api::V2),
                (true, Api::V3),
                (true, Api::V3)
            ]
        );
    }
    assert_eq!(
        collector.detector().detections(),
        4,
        "one detection per miner"
    );
    let apis: Vec<_> = targets.iter().map(|t| collector.api_for(t)).collect();
    assert_eq!(
        apis,
        [Some(Api::V2), Some(Api::V2), Some(Api::V3), Some(Api::V3)]
    );
    for i in [0, 1] {
        let m = fleet.miner(i).expect("miner");
        // The v3 probe reached the v2 port once (as bytes it cannot parse).
        assert_eq!(m.command_count("unknown"), 1, "miner {i}");
        assert_eq!(m.command_count("summary"), 3);
        assert_eq!(m.command_count("get.device.info"), 0);
    }
    for i in [2, 3] {
        let m = fleet.miner(i).expect("miner");
        // Detection is the only get.device.info not paired with a
        // get.miner.setting (the slow path sends both).
        let probes = m.command_count("get.device.info") - m.command_count("get.miner.setting");
        assert_eq!(probes, 1, "miner {i}: {:?}", m.command_counts());
        assert_eq!(m.command_count("get.miner.status"), 3);
        assert_eq!(m.command_count("summary"), 0, "nothing on v2");
    }

    // Three failed scrapes forget the API; the next scrape detects again.
    let v3_miner = fleet.miner(3).expect("miner");
    v3_miner.set_fault(Some(Fault::ApiDisabled));
    let v3_port = v3_miner.v3_addr().expect("v3");
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(v3_port).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the v3 listener closes");
    for _ in 0..3 {
        let scrape = collector.scrape_fleet(&targets, deadline()).await;
        assert!(!scrape.miners[3].up());
        assert_eq!(scrape.miners[3].api, Api::V3, "the label stays while down");
    }
    assert_eq!(collector.detector().detections(), 4);
    v3_miner.set_fault(None);
    let mut up = false;
    for _ in 0..50 {
        let scrape = collector.scrape_fleet(&targets, deadline()).await;
        if scrape.miners[3].up() {
            assert_eq!(scrape.miners[3].api, Api::V3);
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the miner came back");
    assert!(collector.detector().detections() >= 5, "detected again");
    assert_eq!(collector.detector().cached(&targets[3].addr), Some(Api::V3));
    fleet.shutdown().await;
}

fn quick_client() -> Client {
    let mut config = ClientConfig::default();
    config.limits.deadline = Duration::from_secs(2);
    Client::new(config)
}

#[tokio::test]
async fn v3_session_powers_off_and_on_and_refetches_the_salt_once() {
    let fleet = mixed_fleet().await;
    let miner = fleet.miner(2).expect("v3 miner");
    let addr = MinerAddr::from_socket_addr(miner.v3_addr().expect("v3"));
    let client = quick_client();
    let session = V3Session::new(client.v3(), addr.clone(), Secret::new("admin"));
    let reply = session.power_off().await.expect("power off");
    assert_eq!(reply["msg"], "ok");
    assert!(!miner.powered_on(), "the simulated miner stopped");
    assert_eq!(session.salt_fetches(), 1);

    // The collector sees it stopped once its slow data is refreshed.
    let collector = Arc::new(Collector::new(CollectorConfig::default()));
    let t = target(miner.v3_addr().expect("v3"), 2, ApiChoice::V3);
    collector.invalidate_info(&t.addr);
    let snap = collector.scrape_miner(t, deadline()).await;
    assert!(snap.up());
    assert_eq!(value(&samples(&snap), "whatsminer_mining", ""), 0.0);

    // A new salt: the cached one is refused once, fetched again, accepted.
    miner.rotate_v3_salt();
    session
        .power_on()
        .await
        .expect("power on after a salt change");
    assert!(miner.powered_on());
    assert_eq!(session.salt_fetches(), 2);
    assert_eq!(
        miner.command_count("set.miner.service"),
        3,
        "stop, refused start, start"
    );

    // Writes switched off: -4 even with a fresh salt, reported as such.
    miner.set_fault(Some(Fault::WriteDisabled));
    let err = session.power_off().await.expect_err("refused");
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    assert_eq!(err.reason(), "permission_denied");
    assert!(miner.powered_on());
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_write_that_times_out_is_not_sent_again() {
    let fleet = mixed_fleet().await;
    let miner = fleet.miner(3).expect("v3 miner");
    let addr = MinerAddr::from_socket_addr(miner.v3_addr().expect("v3"));
    let session = V3Session::new(quick_client().v3(), addr, Secret::new("admin"));
    session
        .led_auto()
        .await
        .expect("salt cached by a first write");
    miner.set_fault(Some(Fault::NoReply));
    let err = session.power_off().await.expect_err("no reply");
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(miner.command_count("set.miner.service"), 1, "sent once");
    miner.set_fault(None);
    fleet.shutdown().await;
}

#[tokio::test]
async fn any_session_drives_both_apis_with_v2_command_names() {
    let fleet = mixed_fleet().await;
    let client = quick_client();
    let mut params = Map::new();
    params.insert("respbefore".into(), json!("true"));
    for (index, api) in [(0, Api::V2), (2, Api::V3)] {
        let miner = fleet.miner(index).expect("miner");
        let addr = MinerAddr::from_socket_addr(api_addr(&fleet, index));
        let session = Backends::default()
            .get(api)
            .session(&client, &addr, Secret::new("admin"));
        assert_eq!(session.api(), api);
        session.exec("power_off", &params).await.expect("power off");
        assert!(!miner.powered_on(), "miner {index}");
        session
            .exec("set_low_power", &Map::new())
            .await
            .expect("low power");
        assert_eq!(miner.readings().power_mode.name(), "Low");
    }
    let v3 = Backends::default().get(Api::V3).session(
        &client,
        &MinerAddr::from_socket_addr(api_addr(&fleet, 3)),
        Secret::new("admin"),
    );
    let err = v3
        .exec("update_pwd", &Map::new())
        .await
        .expect_err("no v3 equivalent");
    assert!(matches!(err.kind, ErrorKind::Other(_)));
    let pools: Map<String, Value> = [
        ("pool1", "stratum+tcp://v3-pool:3333"),
        ("worker1", "farm.m3"),
        ("passwd1", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), json!(v)))
    .collect();
    v3.exec("update_pools", &pools).await.expect("pools");
    let urls: Vec<String> = fleet
        .miner(3)
        .expect("miner")
        .readings()
        .pools
        .iter()
        .map(|p| p.url.clone())
        .collect();
    assert_eq!(urls, ["stratum+tcp://v3-pool:3333"]);
    fleet.shutdown().await;
}
