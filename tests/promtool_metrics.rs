//! The exporter's `/metrics` and `/probe` output against a simulated fleet:
//! `promtool check metrics` must accept it without a single warning, and
//! the families of docs/metrics.md must carry the simulator's values.
//!
//! Fleet: ten miners over every model (both reply flavours, chosen by
//! firmware), miner 3 with its API disabled, miner 5 sending numbers as
//! strings. Skipped with a loud note when promtool is missing (fails
//! under `CI`).

mod support;

use std::time::Duration;

use support::exposition::{self, find, value, Sample};
use support::{http_get, run_tool, sim_name, start_exporter, target, tool};
use whatsminer_exporter::sim::{Fault, Flavour, Fleet, FleetConfig, MinerReadings};

const MINERS: usize = 10;
const API_DISABLED: usize = 3;
const NUMBERS_AS_STRINGS: usize = 5;
/// Values drift between the snapshot and the scrape: a few percent at most.
const DRIFT: f64 = 0.03;

/// Runs promtool on an exposition and returns its complaints, if any.
fn promtool_problems(promtool: &std::path::Path, text: &str) -> Option<String> {
    let run = run_tool(promtool, &["check", "metrics"], text.as_bytes());
    let output = format!("{}{}", run.stdout, run.stderr);
    (!run.success || !output.trim().is_empty()).then(|| format!("exit {:?}:\n{output}", run.code))
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= DRIFT * expected.abs().max(1.0)
}

fn check_miner(samples: &[Sample], name: &str, sim: &MinerReadings, problems: &mut Vec<String>) {
    let miner = [("miner", name)];
    let mut expect = |what: &str, ok: Result<bool, String>| match ok {
        Ok(true) => {}
        Ok(false) => problems.push(format!("{name}: {what}")),
        Err(e) => problems.push(format!("{name}: {what}: {e}")),
    };
    expect(
        "up",
        value(samples, "whatsminer_up", &miner).map(|v| v == 1.0),
    );
    let avg = [("miner", name), ("window", "avg")];
    let hashrate = value(samples, "whatsminer_hashrate_hashes_per_second", &avg);
    expect(
        &format!(
            "hashrate ≈ {} MH/s × 1e6 (got {hashrate:?})",
            sim.hashrate_mhs
        ),
        hashrate.map(|v| close(v, sim.hashrate_mhs * 1e6)),
    );
    let temperature = value(samples, "whatsminer_temperature_celsius", &miner);
    expect(
        &format!("temperature ≈ {} (got {temperature:?})", sim.temperature_c),
        temperature.map(|v| (v - sim.temperature_c).abs() < 3.0),
    );
    let power = value(samples, "whatsminer_power_watts", &miner);
    expect(
        &format!("power ≈ {} W (got {power:?})", sim.power_w),
        power.map(|v| close(v, sim.power_w)),
    );
    let fan = [("miner", name), ("fan", "in")];
    let fan_in = value(samples, "whatsminer_fan_speed_rpm", &fan);
    expect(
        &format!("fan in ≈ {} rpm (got {fan_in:?})", sim.fan_in_rpm),
        fan_in.map(|v| (v - f64::from(sim.fan_in_rpm)).abs() < 400.0),
    );
    let limit = value(samples, "whatsminer_power_limit_watts", &miner);
    expect(
        &format!("power limit {} (got {limit:?})", sim.power_limit_w),
        limit.map(|v| v == f64::from(sim.power_limit_w)),
    );
    let boards = find(samples, "whatsminer_board_alive", &miner);
    expect(
        &format!("3 alive boards, got {boards:?}"),
        Ok(boards.len() == 3 && boards.iter().all(|b| b.value == 1.0)),
    );
    let pools = find(samples, "whatsminer_pool_up", &miner);
    let urls_match = pools.iter().all(|p| {
        sim.pools.iter().any(|c| {
            Some(c.url.as_str()) == p.label("url") && Some(c.user.as_str()) == p.label("user")
        })
    });
    expect(
        &format!("3 pools with the sim's url/user, got {pools:?}"),
        Ok(pools.len() == 3 && urls_match),
    );
    let info = find(samples, "whatsminer_miner_info", &miner);
    let model_ok = info.len() == 1
        && info.iter().all(|i| {
            i.label("model") == Some(sim.model.type_string().as_str())
                && i.label("firmware") == Some(sim.firmware_version)
                && i.label("mac") == Some(sim.mac.as_str())
        });
    expect(
        &format!("miner_info with model {}: {info:?}", sim.model),
        Ok(model_ok),
    );
    expect(
        "mining",
        value(samples, "whatsminer_mining", &miner).map(|v| v == 1.0),
    );
    let elapsed = value(samples, "whatsminer_mining_elapsed_seconds", &miner);
    expect(
        &format!("elapsed ≈ {} s (got {elapsed:?})", sim.btminer_elapsed_secs),
        elapsed.map(|v| (v - sim.btminer_elapsed_secs as f64).abs() < 30.0),
    );
    for command in ["summary", "devs", "pools"] {
        let wanted = [("miner", name), ("command", command)];
        expect(
            &format!("command_success {command}"),
            value(samples, "whatsminer_command_success", &wanted).map(|v| v == 1.0),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposition_passes_promtool_and_matches_the_simulator() {
    let Some(promtool) = tool(
        "promtool",
        "exposition_passes_promtool_and_matches_the_simulator",
    ) else {
        return;
    };
    let mut config = FleetConfig::loopback_ephemeral(MINERS);
    config.faults = vec![
        (API_DISABLED, Fault::ApiDisabled),
        (NUMBERS_AS_STRINGS, Fault::NumbersAsStrings),
    ];
    let fleet = Fleet::start(config).await.expect("fleet starts");
    let targets = fleet
        .addrs()
        .into_iter()
        .enumerate()
        .map(|(i, addr)| target(addr, &sim_name(i)))
        .collect();
    let exporter = start_exporter(targets).await;
    let flavours: Vec<Flavour> = fleet
        .miners()
        .iter()
        .map(|m| m.readings().flavour)
        .collect();
    assert!(
        flavours.contains(&Flavour::Classic) && flavours.contains(&Flavour::Wrapped),
        "the fleet must mix both reply flavours: {flavours:?}"
    );

    let (status, body) = http_get(&exporter.metrics_url())
        .await
        .expect("GET /metrics");
    assert_eq!(status, 200, "{body}");
    if let Some(problems) = promtool_problems(&promtool, &body) {
        panic!("promtool check metrics rejects /metrics: {problems}");
    }
    let samples = exposition::parse(&body).expect("parsable exposition");
    let mut problems = Vec::new();
    for miner in fleet.miners() {
        let name = sim_name(miner.index());
        if miner.index() == API_DISABLED {
            continue;
        }
        check_miner(&samples, &name, &miner.readings(), &mut problems);
    }
    let down = sim_name(API_DISABLED);
    let down_labels = [("miner", down.as_str())];
    assert_eq!(value(&samples, "whatsminer_up", &down_labels), Ok(0.0));
    let reasons = find(&samples, "whatsminer_down_reason", &down_labels);
    assert!(
        matches!(reasons.as_slice(), [r] if r.label("reason") == Some("connect_refused") && r.value == 1.0),
        "down reason of the API-disabled miner: {reasons:?}"
    );
    assert!(
        find(
            &samples,
            "whatsminer_hashrate_hashes_per_second",
            &down_labels
        )
        .is_empty(),
        "a down miner has no hashrate"
    );
    let up_count = find(&samples, "whatsminer_up", &[]).len();
    assert_eq!(up_count, MINERS, "one whatsminer_up per configured miner");
    assert_eq!(
        value(&samples, "whatsminer_exporter_miners", &[]),
        Ok(MINERS as f64)
    );
    assert_eq!(
        value(&samples, "whatsminer_exporter_build_info", &[]),
        Ok(1.0)
    );
    assert!(
        problems.is_empty(),
        "/metrics differs from the simulator:\n{}",
        problems.join("\n")
    );

    // /probe: one healthy miner (wrapped flavour if there is one), and the down one.
    let healthy = flavours
        .iter()
        .position(|f| *f == Flavour::Wrapped)
        .unwrap_or(0);
    for (index, success) in [(healthy, 1.0), (API_DISABLED, 0.0)] {
        let addr = fleet.addrs()[index];
        let url = format!("http://{}/probe?target={addr}", exporter.metrics_addr());
        let (status, body) = http_get(&url).await.expect("GET /probe");
        assert_eq!(status, 200, "{body}");
        if let Some(problems) = promtool_problems(&promtool, &body) {
            panic!("promtool check metrics rejects /probe?target={addr}: {problems}");
        }
        let samples = exposition::parse(&body).expect("parsable probe output");
        assert_eq!(value(&samples, "probe_success", &[]), Ok(success), "{body}");
        assert!(value(&samples, "probe_duration_seconds", &[]).is_ok_and(|d| d >= 0.0));
        let name = sim_name(index);
        assert_eq!(
            value(&samples, "whatsminer_up", &[("miner", name.as_str())]),
            Ok(success),
            "a configured miner keeps its name when probed"
        );
        if success == 1.0 {
            let mut problems = Vec::new();
            check_miner(
                &samples,
                &name,
                &fleet.miners()[index].readings(),
                &mut problems,
            );
            assert!(
                problems.is_empty(),
                "/probe differs:\n{}",
                problems.join("\n")
            );
        }
    }

    // promtool itself must be able to fail here: a broken exposition is reported.
    let broken = format!("{body}\nwhatsminer_up{{miner=\"x\"}} not-a-number\n");
    assert!(
        promtool_problems(&promtool, &broken).is_some(),
        "promtool accepted a broken exposition"
    );
    let _ = tokio::time::timeout(Duration::from_secs(10), exporter.shutdown()).await;
    fleet.shutdown().await;
}
