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
    /// Where and by what names the configured miners are known (kept with
    /// `configured`): a discovered miner there is the configured one.
    configured_addrs: HashSet<MinerAddr>,
    configured_names: HashSet<String>,
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
        let fleet = DiscoveredFleet {
            inner: Mutex::new(Inner {
                groups,
                ..Inner::default()
            }),
        };
        fleet.set_configured(configured);
        fleet
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

    /// Replaces the configured miners (a reload); a discovered miner that
    /// a configured one now covers leaves.
    pub fn set_configured(&self, configured: Vec<Arc<MinerTarget>>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        inner.configured_addrs = configured_addrs(&configured);
        inner.configured_names = configured.iter().map(|t| t.name.clone()).collect();
        inner.configured = configured;
        let (addrs, names) = (&inner.configured_addrs, &inner.configured_names);
        inner
            .found
            .retain(|_, e| !addrs.contains(&e.target.addr) && !names.contains(&e.target.name));
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
        let mut claimed: HashMap<MinerAddr, String> = HashMap::new();
        for found in &report.found {
            let addr = MinerAddr::from_socket_addr(found.target);
            let name = found.name();
            if inner.configured_addrs.contains(&addr)
                || name
                    .as_deref()
                    .is_some_and(|n| inner.configured_names.contains(n))
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
        let mut found: Vec<Arc<MinerTarget>> =
            inner.found.values().map(|e| e.target.clone()).collect();
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
mod tests;
