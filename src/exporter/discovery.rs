//! The serve-time discovery task: runs each `[[discovery]]` scan on its
//! interval, merges what it found into the fleet
//! ([`DiscoveredFleet`]) and swaps the targets in without a restart, while
//! scrapes go on. A reload hands it new tables: a new or changed table is
//! scanned at once, the miners of a removed table leave.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::scan::{self, Progress};
use crate::collector::discovery::DiscoveredFleet;
use crate::collector::groups::MetricGroups;
use crate::collector::MinerTarget;
use crate::http::AppState;
use crate::settings::DiscoverySettings;

/// What a reload needs to reach the discovery task.
#[derive(Debug, Clone)]
pub struct DiscoveryHandle {
    fleet: Arc<DiscoveredFleet>,
    tables: Arc<watch::Sender<Vec<DiscoverySettings>>>,
}

impl DiscoveryHandle {
    /// Takes new configured miners (a watched list changed); returns the
    /// whole fleet to serve now.
    pub fn set_configured(&self, configured: Vec<Arc<MinerTarget>>) -> Vec<Arc<MinerTarget>> {
        self.fleet.set_configured(configured);
        self.fleet.targets()
    }

    /// Takes reloaded configured miners, tables and base metric groups
    /// (given to the discovered miners at once); returns the whole fleet
    /// to serve now.
    pub fn reload(
        &self,
        configured: Vec<Arc<MinerTarget>>,
        tables: Vec<DiscoverySettings>,
        groups: MetricGroups,
    ) -> Vec<Arc<MinerTarget>> {
        self.fleet.set_configured(configured);
        self.fleet.set_groups(groups);
        self.tables.send_if_modified(|current| {
            let changed = *current != tables;
            *current = tables;
            changed
        });
        self.fleet.targets()
    }
}

/// Starts the task (idle while no table is configured).
pub fn spawn(
    state: Arc<AppState>,
    configured: Vec<Arc<MinerTarget>>,
    tables: Vec<DiscoverySettings>,
    groups: MetricGroups,
    shutdown: watch::Receiver<bool>,
) -> (DiscoveryHandle, JoinHandle<()>) {
    let fleet = Arc::new(DiscoveredFleet::new(configured, groups));
    let (tx, rx) = watch::channel(tables);
    let handle = DiscoveryHandle {
        fleet: fleet.clone(),
        tables: Arc::new(tx),
    };
    (handle, tokio::spawn(run(state, fleet, rx, shutdown)))
}

async fn run(
    state: Arc<AppState>,
    fleet: Arc<DiscoveredFleet>,
    mut tables: watch::Receiver<Vec<DiscoverySettings>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut current: Vec<DiscoverySettings> = Vec::new();
    let mut due: Vec<Instant> = Vec::new();
    loop {
        let now = Instant::now();
        {
            let new = &*tables.borrow_and_update();
            if *new != current {
                let moves = table_moves(&current, new);
                let dropped = fleet.renumber(&moves);
                // A table that kept its place and its content keeps its
                // schedule; a moved or edited one scans now.
                due = new
                    .iter()
                    .enumerate()
                    .map(|(i, table)| match (current.get(i), due.get(i)) {
                        (Some(old), Some(at)) if old == table => *at,
                        _ => now,
                    })
                    .collect();
                for gone in new.len()..current.len() {
                    state.telemetry.discovery.forget(&gone.to_string());
                }
                current.clone_from(new);
                state
                    .telemetry
                    .discovery
                    .miners
                    .set(fleet.discovered() as i64);
                if !dropped.is_empty() {
                    tracing::info!(miners = ?dropped, "discovery: miners of a removed [[discovery]] table leave");
                    publish(&state, &fleet);
                }
            }
        }
        for (i, table) in current.iter().enumerate() {
            if Instant::now() < due[i] {
                continue;
            }
            let started = Instant::now();
            let progress = Progress::default();
            let report = tokio::select! {
                report = scan::scan(&table.ranges, &table.scan, &progress) => report,
                _ = shutdown.changed() => return,
            };
            let took = started.elapsed();
            let changes = fleet.apply(i, &report, table.grace_period, Instant::now());
            record(&state, i, &report, took, fleet.discovered());
            if !changes.is_empty() {
                tracing::info!(
                    discovery = i,
                    added = ?changes.added,
                    moved = ?changes.moved,
                    removed = ?changes.removed,
                    "discovery changed the fleet"
                );
                publish(&state, &fleet);
            }
            tracing::debug!(
                discovery = i,
                addresses = report.addresses,
                found = report.found.len(),
                skipped = report.skipped.len(),
                seconds = took.as_secs_f64(),
                "discovery scan done"
            );
            due[i] = Instant::now() + table.interval;
        }
        let next = due.iter().min().copied();
        tokio::select! {
            _ = shutdown.changed() => return,
            changed = tables.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = sleep_until(next) => {}
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Where each old table went in the new list: an equal table wherever it
/// now stands, else an edited table at the same place, else `None` (gone).
fn table_moves(old: &[DiscoverySettings], new: &[DiscoverySettings]) -> Vec<Option<usize>> {
    let mut taken = vec![false; new.len()];
    let mut moves: Vec<Option<usize>> = old
        .iter()
        .map(|t| {
            let at = (0..new.len()).find(|&i| !taken[i] && new[i] == *t)?;
            taken[at] = true;
            Some(at)
        })
        .collect();
    for (i, m) in moves.iter_mut().enumerate() {
        if m.is_none() && i < new.len() && !taken[i] {
            taken[i] = true;
            *m = Some(i);
        }
    }
    moves
}

fn publish(state: &AppState, fleet: &DiscoveredFleet) {
    state.set_targets(fleet.targets());
}

fn record(
    state: &AppState,
    table: usize,
    report: &scan::ScanReport,
    took: std::time::Duration,
    discovered: usize,
) {
    let t = &state.telemetry.discovery;
    let label = table.to_string();
    let l = [label.as_str()];
    t.scans.with_label_values(&l).inc();
    t.scan_duration
        .with_label_values(&l)
        .set(took.as_secs_f64());
    t.hosts_probed
        .with_label_values(&l)
        .set(report.addresses as i64);
    t.hosts_answering
        .with_label_values(&l)
        .set(report.answering as i64);
    t.miners_found
        .with_label_values(&l)
        .set(report.found.len() as i64);
    t.other_devices
        .with_label_values(&l)
        .set(report.skipped.len() as i64);
    let now = crate::collector::render::unix(std::time::SystemTime::now());
    t.last_success.with_label_values(&l).set(now);
    t.miners.set(discovered as i64);
}

#[cfg(test)]
mod tests {
    use super::table_moves;
    use crate::client::scan::ScanOptions;
    use crate::settings::DiscoverySettings;
    use std::time::Duration;

    fn table(range: &str) -> DiscoverySettings {
        DiscoverySettings {
            ranges: vec![range.parse().expect("range")],
            scan: ScanOptions::default(),
            interval: Duration::from_secs(600),
            grace_period: Duration::from_secs(3600),
        }
    }

    #[test]
    fn tables_are_followed_by_content_not_by_place() {
        let (a, b, c) = (
            table("127.1.0.0/24"),
            table("127.2.0.0/24"),
            table("127.3.0.0/24"),
        );
        // [A, B] -> [B]: A is gone, B moved to 0.
        assert_eq!(
            table_moves(&[a.clone(), b.clone()], std::slice::from_ref(&b)),
            [None, Some(0)]
        );
        // [A, B] -> [C, B]: A edited in place into C, B stays.
        assert_eq!(
            table_moves(&[a.clone(), b.clone()], &[c, b.clone()]),
            [Some(0), Some(1)]
        );
        // [A, B] -> [B, A]: swapped.
        assert_eq!(
            table_moves(&[a.clone(), b.clone()], &[b, a]),
            [Some(1), Some(0)]
        );
    }
}
