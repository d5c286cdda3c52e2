//! Unit tests of [`super::DiscoveredFleet`]: scans are given as reports,
//! time as instants.

use super::*;
use crate::client::scan::{Found, Identity};
use std::net::SocketAddr;

fn found(ip: [u8; 4], mac: Option<&str>, api: Api) -> Found {
    Found {
        target: SocketAddr::from((ip, 4028)),
        api,
        v2: true,
        v3: api == Api::V3,
        identity: Identity {
            mac: mac.map(str::to_string),
            ..Identity::default()
        },
    }
}

fn report(found: Vec<Found>) -> ScanReport {
    ScanReport {
        found,
        ..ScanReport::default()
    }
}

fn names(fleet: &DiscoveredFleet) -> Vec<(String, String)> {
    fleet
        .targets()
        .iter()
        .map(|t| (t.name.clone(), t.addr.to_string()))
        .collect()
}

const GRACE: Duration = Duration::from_secs(60);

/// A fleet with one configured miner.
fn fleet_with(addr: &str, name: &str, api: ApiChoice) -> DiscoveredFleet {
    let configured = MinerTarget::new(
        addr.parse().expect("addr"),
        Some(name.into()),
        Vec::new(),
        api,
    );
    DiscoveredFleet::new(vec![Arc::new(configured)], MetricGroups::default())
}

#[test]
fn a_moved_miner_keeps_its_name_and_a_configured_one_wins() {
    let fleet = fleet_with("10.0.0.9:4028", "rack-9", ApiChoice::V2);
    let t0 = Instant::now();
    let first = report(vec![
        found([10, 0, 0, 1], Some("AA:00:00:00:00:01"), Api::V2),
        found([10, 0, 0, 2], None, Api::V3),
        found([10, 0, 0, 9], Some("AA:00:00:00:00:09"), Api::V2),
    ]);
    let changes = fleet.apply(0, &first, GRACE, t0);
    assert_eq!(changes.added, ["10.0.0.2:4028", "aa:00:00:00:00:01"]);
    assert_eq!(
        names(&fleet),
        [
            ("rack-9".into(), "10.0.0.9:4028".into()),
            ("10.0.0.2:4028".into(), "10.0.0.2:4028".into()),
            ("aa:00:00:00:00:01".into(), "10.0.0.1:4028".into()),
        ]
    );
    // DHCP: the MAC miner now answers on .2, the MAC-less one is gone.
    let second = report(vec![found(
        [10, 0, 0, 2],
        Some("AA:00:00:00:00:01"),
        Api::V2,
    )]);
    let changes = fleet.apply(0, &second, GRACE, t0 + Duration::from_secs(1));
    assert_eq!(changes.moved, ["aa:00:00:00:00:01"]);
    assert_eq!(changes.removed, ["10.0.0.2:4028"], "its address is taken");
    assert_eq!(
        names(&fleet)[1],
        ("aa:00:00:00:00:01".into(), "10.0.0.2:4028".into())
    );
}

/// A fleet with miner A found by table 0 and miner B by table 1, at
/// `t0`, and B's find (to scan it again).
fn two_tables(t0: Instant) -> (DiscoveredFleet, Found) {
    let fleet = DiscoveredFleet::new(Vec::new(), MetricGroups::default());
    let a = found([10, 0, 0, 1], Some("AA:00:00:00:00:01"), Api::V2);
    let b = found([10, 1, 0, 1], Some("BB:00:00:00:00:01"), Api::V2);
    fleet.apply(0, &report(vec![a]), GRACE, t0);
    fleet.apply(1, &report(vec![b.clone()]), GRACE, t0);
    (fleet, b)
}

#[test]
fn a_missing_miner_leaves_after_the_grace_period_of_its_own_table() {
    let t0 = Instant::now();
    let (fleet, _) = two_tables(t0);
    let empty = report(Vec::new());
    assert!(fleet.apply(0, &empty, GRACE, t0 + GRACE).is_empty());
    let later = t0 + GRACE + Duration::from_secs(1);
    let changes = fleet.apply(0, &empty, GRACE, later);
    assert_eq!(
        changes.removed,
        ["aa:00:00:00:00:01"],
        "table 1's miner stays"
    );
    assert_eq!(fleet.discovered(), 1);
    assert_eq!(fleet.renumber(&[Some(0), None]), ["bb:00:00:00:00:01"]);
    assert!(fleet.targets().is_empty());
}

#[test]
fn a_configured_v3_miner_found_on_4433_is_not_added_twice() {
    let fleet = fleet_with("10.0.0.7", "rack-7", ApiChoice::V3);
    let mut v3_only = found([10, 0, 0, 7], Some("AA:00:00:00:00:07"), Api::V3);
    v3_only.target = SocketAddr::from(([10, 0, 0, 7], 4433));
    v3_only.v2 = false;
    let changes = fleet.apply(0, &report(vec![v3_only]), GRACE, Instant::now());
    assert!(changes.added.is_empty(), "{:?}", changes.added);
    assert_eq!(names(&fleet), [("rack-7".into(), "10.0.0.7:4028".into())]);
}

#[test]
fn removing_the_first_table_drops_its_miners_not_the_second_ones() {
    let t0 = Instant::now();
    let (fleet, b) = two_tables(t0);
    // [A, B] -> [B]: A's miners leave, B's are table 0 now.
    assert_eq!(fleet.renumber(&[None, Some(0)]), ["aa:00:00:00:00:01"]);
    assert_eq!(fleet.discovered(), 1);
    let later = t0 + GRACE + Duration::from_secs(1);
    assert!(fleet
        .apply(0, &report(vec![b]), GRACE, later)
        .removed
        .is_empty());
    assert_eq!(fleet.discovered(), 1);
}

/// A reload that changes `[metrics]` reaches discovered miners at once,
/// and their next scan does not report them moved.
#[test]
fn new_metric_groups_reach_discovered_miners_without_a_scan() {
    let t0 = Instant::now();
    let (fleet, b) = two_tables(t0);
    assert_eq!(fleet.discovered(), 2);
    assert!(fleet
        .targets()
        .iter()
        .all(|t| t.groups == MetricGroups::default()));
    fleet.set_groups(MetricGroups::LARGE_FARM);
    assert!(fleet
        .targets()
        .iter()
        .all(|t| t.groups == MetricGroups::LARGE_FARM));
    let changes = fleet.apply(1, &report(vec![b]), GRACE, t0 + Duration::from_secs(1));
    assert!(changes.is_empty(), "{changes:?}");
    assert!(fleet
        .targets()
        .iter()
        .all(|t| t.groups == MetricGroups::LARGE_FARM));
}

/// A reload that configures a discovered miner's address or name: the
/// configured one stands alone, and the discovered count says so.
#[test]
fn a_miner_configured_later_replaces_the_discovered_one() {
    let t0 = Instant::now();
    let (fleet, _) = two_tables(t0);
    assert_eq!(fleet.discovered(), 2);
    let by_addr = MinerTarget::new(
        "10.0.0.1:4028".parse().expect("addr"),
        Some("rack-1".into()),
        Vec::new(),
        ApiChoice::V2,
    );
    fleet.set_configured(vec![Arc::new(by_addr)]);
    assert_eq!(fleet.discovered(), 1);
    assert_eq!(
        names(&fleet),
        [
            ("rack-1".into(), "10.0.0.1:4028".into()),
            ("bb:00:00:00:00:01".into(), "10.1.0.1:4028".into()),
        ]
    );
}
