//! Metric groups on the wire: each miner's page holds its configured
//! groups and windows, and `/metrics` and `/probe` take `collect[]`,
//! `exclude[]`, `hashrate_windows` and `profile` in the query; a bad name
//! gets 400. The page stays valid text format either way (parsed here;
//! promtool runs in tests/promtool_metrics.rs).

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use support::exposition::{parse, Sample};
use support::{http_get, sim_fleet, start_exporter};
use whatsminer_exporter::collector::groups::MetricGroups;
use whatsminer_exporter::collector::MinerTarget;

/// Families and window labels of `miner`'s samples.
fn families_of(samples: &[Sample], miner: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mine: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.label("miner") == Some(miner))
        .collect();
    let names = mine.iter().map(|s| s.name.clone()).collect();
    let windows = mine
        .iter()
        .filter(|s| s.name == "whatsminer_hashrate_hashes_per_second")
        .filter_map(|s| s.label("window").map(str::to_string))
        .collect();
    (names, windows)
}

fn any_with(names: &BTreeSet<String>, prefix: &str) -> bool {
    names.iter().any(|n| n.starts_with(prefix))
}

async fn page(url: &str) -> Vec<Sample> {
    let (status, body) = http_get(url).await.expect("GET");
    assert_eq!(status, 200, "{url}: {body:.300}");
    parse(&body).unwrap_or_else(|e| panic!("{url}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_miner_gets_its_groups_and_a_query_chooses_again() {
    let (fleet, names, mut targets) = sim_fleet(2).await;
    // sim-01 runs the large-farm profile, sim-00 everything.
    let large = Arc::unwrap_or_clone(targets.pop().expect("two"));
    targets.push(Arc::new(large.with_groups(MetricGroups::LARGE_FARM)));
    let exporter = start_exporter(targets).await;
    let base = format!("http://{}", exporter.metrics_addr());

    let samples = page(&format!("{base}/metrics")).await;
    let (full, full_windows) = families_of(&samples, &names[0]);
    let (small, small_windows) = families_of(&samples, &names[1]);
    for prefix in ["whatsminer_board_", "whatsminer_pool_"] {
        assert!(any_with(&full, prefix), "full profile lacks {prefix}*");
        assert!(
            !any_with(&small, prefix),
            "large_farm profile has {prefix}*"
        );
    }
    for core in [
        "whatsminer_up",
        "whatsminer_power_watts",
        "whatsminer_miner_info",
        "whatsminer_chip_temperature_celsius",
    ] {
        assert!(small.contains(core), "large_farm lacks {core}");
    }
    assert_eq!(full_windows.len(), 6, "{full_windows:?}");
    assert_eq!(small_windows, BTreeSet::from(["15m".into(), "1m".into()]));
    assert!(small.len() < full.len());

    // The query narrows or widens every miner's page.
    let samples = page(&format!(
        "{base}/metrics?exclude[]=boards&hashrate_windows=avg"
    ))
    .await;
    let (full, windows) = families_of(&samples, &names[0]);
    assert!(!any_with(&full, "whatsminer_board_") && any_with(&full, "whatsminer_pool_"));
    assert_eq!(windows, BTreeSet::from(["avg".into()]));
    let samples = page(&format!("{base}/metrics?profile=full&collect[]=boards")).await;
    let (small, _) = families_of(&samples, &names[1]);
    assert!(any_with(&small, "whatsminer_board_") && !any_with(&small, "whatsminer_pool_"));

    // /probe: the configured miner's groups, or the query's.
    let target = fleet.addrs()[0];
    let samples = page(&format!("{base}/probe?target={target}&profile=large_farm")).await;
    let (probed, _) = families_of(&samples, &names[0]);
    assert!(probed.contains("whatsminer_up") && !any_with(&probed, "whatsminer_board_"));
    let samples = page(&format!("{base}/probe?target={target}")).await;
    assert!(any_with(
        &families_of(&samples, &names[0]).0,
        "whatsminer_board_"
    ));

    for bad in [
        "/metrics?collect[]=chips",
        "/metrics?hashrate_windows=2h",
        "/metrics?collect[]=pools&exclude[]=psu",
        "/probe?target=127.0.0.1:1&profile=huge",
    ] {
        let (status, body) = http_get(&format!("{base}{bad}")).await.expect("GET");
        assert_eq!(status, 400, "{bad}: {body}");
    }
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[test]
fn with_groups_keeps_the_identity() {
    let t = MinerTarget::from_addr("127.0.0.1:4028".parse().expect("addr"));
    let g = t.clone().with_groups(MetricGroups::LARGE_FARM);
    assert_eq!(
        (g.name.as_str(), g.label_string()),
        (t.name.as_str(), t.label_string())
    );
}
