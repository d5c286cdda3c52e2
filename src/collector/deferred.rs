//! Slow-data refreshes put off by a scrape that is running out of time.
//!
//! A fleet scrape fetches a due miner's slow commands inline only during the
//! first half of its time budget. Past that point it notes the miner here
//! and answers with what is cached (nothing, on the very first scrape).
//! Once the scrape has answered, the noted miners are refreshed in the
//! background, a few at a time, under the same miner gates and fleet-wide
//! semaphore as the scrapes.
//!
//! Why: the first scrape after a start sends 9 commands per miner instead of
//! 3. At 5,000 miners that took about 10 s here, Prometheus's usual timeout,
//! and the miners reached last would have been reported down for want of
//! time, on every restart of the exporter.

use super::Collector;
use crate::client::Api;
use crate::collector::target::MinerTarget;
use crate::protocol::repair;
use crate::transport::MinerAddr;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A miner whose slow data is due, and the API it was scraped in.
pub type Pending = (Arc<MinerTarget>, Api);

/// The miners waiting for a background refresh (at most one entry per
/// miner, so bounded by the fleet size), and whether a run is going.
#[derive(Debug, Default)]
pub struct DeferredInfo {
    pending: Mutex<HashMap<MinerAddr, Pending>>,
    running: AtomicBool,
    refreshed: AtomicU64,
}

impl DeferredInfo {
    /// Notes `target` for the next background run.
    pub fn note(&self, target: &Arc<MinerTarget>, api: Api) {
        if let Ok(mut map) = self.pending.lock() {
            map.insert(target.addr.clone(), (Arc::clone(target), api));
        }
    }

    /// Miners waiting for a background refresh.
    pub fn pending(&self) -> usize {
        self.pending.lock().map_or(0, |m| m.len())
    }

    /// Background refreshes done since start.
    pub fn refreshed(&self) -> u64 {
        self.refreshed.load(Ordering::Relaxed)
    }

    /// Drops miners no longer configured.
    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut map) = self.pending.lock() {
            map.retain(|k, _| keep.contains(k));
        }
    }

    /// Starts a run: the pending miners, unless there are none or a run is
    /// already going (its successor picks up what was noted meanwhile).
    /// A `Some` must be followed by [`DeferredInfo::finish`].
    pub fn start(&self) -> Option<Vec<Pending>> {
        if self.pending() == 0 || self.running.swap(true, Ordering::AcqRel) {
            return None;
        }
        let batch: Vec<Pending> = match self.pending.lock() {
            Ok(mut map) => map.drain().map(|(_, p)| p).collect(),
            Err(_) => Vec::new(),
        };
        Some(batch)
    }

    /// Counts one refresh of a run.
    pub fn count_refresh(&self) {
        self.refreshed.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends a run started by [`DeferredInfo::start`].
    pub fn finish(&self) {
        self.running.store(false, Ordering::Release);
    }
}

/// Refreshes, in the background, the slow data that scrapes put off: a
/// quarter of the scrape concurrency at a time, each under a permit of the
/// fleet semaphore, so scrapes keep most of the slots. At most one run at a
/// time; a no-op when nothing is pending.
pub(super) fn spawn_refresh(collector: &Arc<Collector>, semaphore: Arc<Semaphore>) {
    let Some(batch) = collector.deferred.start() else {
        return;
    };
    tracing::debug!(
        miners = batch.len(),
        "refreshing put-off slow data in the background"
    );
    let this = Arc::clone(collector);
    tokio::spawn(async move {
        let config = this.config();
        let client = this.client();
        // Three rounds of two commands (v2), each within the command deadline.
        let per_miner = client.config().limits.deadline * 4;
        let in_flight = (config.concurrency / 4).max(1);
        let mut set = tokio::task::JoinSet::new();
        for (target, api) in batch {
            while set.len() >= in_flight {
                set.join_next().await;
            }
            let (this, client, semaphore) = (Arc::clone(&this), client.clone(), semaphore.clone());
            let interval = config.info_refresh;
            set.spawn(async move {
                // Gate and slot, as a scrape takes them (see `gate`).
                let waited_until = Instant::now() + per_miner;
                let Some(_visit) = this.admit(&target.addr, &semaphore, waited_until).await else {
                    return;
                };
                let deadline = Instant::now() + per_miner;
                let backend = this.backends.get(api);
                let refresh = this
                    .info
                    .get_or_refresh(&client, &target, backend, deadline, interval);
                repair::counted(this.repair_counts(&target.addr), refresh).await;
                this.deferred.count_refresh();
            });
        }
        while set.join_next().await.is_some() {}
        this.deferred.finish();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ApiChoice;

    fn target(port: u16) -> Arc<MinerTarget> {
        let addr = MinerAddr::from_socket_addr(([127, 0, 0, 1], port).into());
        Arc::new(MinerTarget::new(addr, None, Vec::new(), ApiChoice::V2))
    }

    #[test]
    fn one_run_at_a_time_and_one_entry_per_miner() {
        let deferred = DeferredInfo::default();
        assert!(deferred.start().is_none(), "nothing pending");
        let (a, b) = (target(4028), target(4029));
        deferred.note(&a, Api::V2);
        deferred.note(&a, Api::V2);
        deferred.note(&b, Api::V2);
        assert_eq!(deferred.pending(), 2);
        let batch = deferred.start().expect("a run starts");
        assert_eq!(batch.len(), 2);
        deferred.note(&a, Api::V2);
        assert!(deferred.start().is_none(), "a run is going");
        deferred.finish();
        assert_eq!(deferred.start().map(|b| b.len()), Some(1), "the next run");
        deferred.finish();
        deferred.note(&b, Api::V2);
        deferred.retain(&HashSet::from([a.addr.clone()]));
        assert!(deferred.start().is_none(), "b was dropped");
    }
}
