//! The fleet as serve-time discovery grows it: the configured miners plus
//! the Whatsminers that `[[discovery]]` scans found (`client::scan`).
//!
//! A discovered miner is known by its MAC address, which is also its
//! `miner` label, so a miner that DHCP moves to another address keeps its
//! series: the next scan finds the same MAC elsewhere and its target's
//! address changes, its name does not. A miner that tells no MAC is known by
//! its address. A miner missing from its scan for longer than the grace
//! period leaves the fleet; one whose address another miner now answers on
//! leaves at once (it is certainly not there, and its series must not show
//! the other miner). A configured miner always wins: a discovered miner at
//! a configured address, or with a configured name, is not added.
//!
//! Discovered miners are written with the fleet's base metric groups
//! (`[metrics]`), held here: a reload that changes them reaches every
//! discovered miner at once ([`DiscoveredFleet::set_groups`]), not at its
//! table's next scan (which logged every miner as moved).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::groups::MetricGroups;
use super::MinerTarget;
use crate::client::scan::ScanReport;
use crate::client::{Api, ApiChoice};
use crate::transport::MinerAddr;

/// What one scan changed, by miner name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    /// A new address or API for a known miner.
    pub moved: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.moved.is_empty() && self.removed.is_empty()
    }
}

#[derive(Debug)]
struct Entry {
    target: Arc<MinerTarget>,
    /// The `[[discovery]]` table whose scans find it.
    block: usize,
    last_seen: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    configured: Vec<Arc<MinerTarget>>,
    found: HashMap<String, Entry>,
    /// The metric groups of every discovered miner.
    groups: MetricGroups,
}

/// Configured and discovered miners, merged.
#[derive(Debug, Default)]
pub struct DiscoveredFleet {
    inner: Mutex<Inner>,
}

impl DiscoveredFleet {
    pub fn new(configured: Vec<Arc<MinerTarget>>, groups: MetricGroups) -> Self {
        DiscoveredFleet {
            inner: Mutex::new(Inner {
                configured,
                found: HashMap::new(),
                groups,
            }),
        }
    }

    /// Gives every discovered miner `groups` (a reload changed `[metrics]`).
    pub fn set_groups(&self, groups: MetricGroups) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.groups == groups {
            return;
        }
        inner.groups = groups;
        for entry in inner.found.values_mut() {
            entry.target = Arc::new((*entry.target).clone().with_groups(groups));
        }
    }

    /// Replaces the configured miners (a reload).
    pub fn set_configured(&self, configured: Vec<Arc<MinerTarget>>) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.configured = configured;
        }
    }

    /// Merges one scan of table `block` in (see the module doc).
    pub fn apply(
        &self,
        block: usize,
        report: &ScanReport,
        grace: Duration,
        now: Instant,
    ) -> Changes {
        let mut changes = Changes::default();
        let Ok(mut inner) = self.inner.lock() else {
            return changes;
        };
        let inner = &mut *inner;
        let groups = inner.groups;
        let configured_addrs = configured_addrs(&inner.configured);
        let configured_names: HashSet<&str> =
            inner.configured.iter().map(|t| t.name.as_str()).collect();
        let mut claimed: HashMap<MinerAddr, String> = HashMap::new();
        for found in &report.found {
            let addr = MinerAddr::from_socket_addr(found.target);
            let name = found.name();
            if configured_addrs.contains(&addr)
                || name
                    .as_deref()
                    .is_some_and(|n| configured_names.contains(n))
            {
                continue;
            }
            let key = name.clone().unwrap_or_else(|| addr.to_string());
            let protocol = match found.api {
                Api::V2 => ApiChoice::V2,
                Api::V3 => ApiChoice::V3,
            };
            let target = || {
                Arc::new(
                    MinerTarget::new(addr.clone(), name.clone(), Vec::new(), protocol)
                        .with_groups(groups),
                )
            };
            claimed.insert(addr.clone(), key.clone());
            match inner.found.get_mut(&key) {
                Some(entry) => {
                    entry.last_seen = now;
                    entry.block = block;
                    let t = &entry.target;
                    if t.addr != addr || t.protocol != protocol {
                        entry.target = target();
                        changes.moved.push(key);
                    }
                }
                None => {
                    inner.found.insert(
                        key.clone(),
                        Entry {
                            target: target(),
                            block,
                            last_seen: now,
                        },
                    );
                    changes.added.push(key);
                }
            }
        }
        inner.found.retain(|key, entry| {
            let taken = claimed
                .get(&entry.target.addr)
                .is_some_and(|owner| owner != key);
            let missing = entry.block == block && now.duration_since(entry.last_seen) > grace;
            if taken || missing {
                changes.removed.push(key.clone());
            }
            !(taken || missing)
        });
        changes.added.sort();
        changes.moved.sort();
        changes.removed.sort();
        changes
    }

    /// Moves each table's miners to the table's new position after a reload
    /// (`moves[old]`), and drops those of a table that is gone (`None`).
    pub fn renumber(&self, moves: &[Option<usize>]) -> Vec<String> {
        let mut removed = Vec::new();
        if let Ok(mut inner) = self.inner.lock() {
            inner.found.retain(
                |key, entry| match moves.get(entry.block).copied().flatten() {
                    Some(new) => {
                        entry.block = new;
                        true
                    }
                    None => {
                        removed.push(key.clone());
                        false
                    }
                },
            );
        }
        removed.sort();
        removed
    }

    /// The configured miners, then the discovered ones by name.
    pub fn targets(&self) -> Vec<Arc<MinerTarget>> {
        let Ok(inner) = self.inner.lock() else {
            return Vec::new();
        };
        let configured_addrs = configured_addrs(&inner.configured);
        let configured_names: HashSet<&str> =
            inner.configured.iter().map(|t| t.name.as_str()).collect();
        let mut found: Vec<Arc<MinerTarget>> = inner
            .found
            .values()
            .filter(|e| {
                !configured_addrs.contains(&e.target.addr)
                    && !configured_names.contains(e.target.name.as_str())
            })
            .map(|e| e.target.clone())
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let mut all = inner.configured.clone();
        all.extend(found);
        all
    }

    /// Discovered miners in the fleet now.
    pub fn discovered(&self) -> usize {
        self.inner.lock().map(|i| i.found.len()).unwrap_or(0)
    }
}

/// Where the configured miners answer: each configured address, and the
/// v3 address a miner configured on 4028 is reached at, so that a miner
/// found on 4433 (v3 only) is known as the configured one, not added twice.
fn configured_addrs(configured: &[Arc<MinerTarget>]) -> HashSet<MinerAddr> {
    configured
        .iter()
        .flat_map(|t| [t.addr.clone(), crate::client::detect::v3_addr(&t.addr)])
        .collect()
}

#[cfg(test)]
mod tests {
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
}
