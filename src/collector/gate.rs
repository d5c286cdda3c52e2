//! One visit per miner at a time. Every read of a miner (a fleet scrape's,
//! a `/probe`'s, a put-off slow-data refresh) enters the miner's gate
//! first, then takes a slot of the fleet-wide semaphore: overlapping
//! scrapes, Prometheus HA pairs and any number of parallel `/probe`s queue
//! up instead of opening more connections. A visit opens at most
//! [`MAX_CONNECTIONS_PER_MINER`] connections at once.
//!
//! Why: firmware answers "over max connect" beyond a few connections (the
//! simulator's default allows 8), and issue 19 saw 150 parallel `/probe`s
//! make 450 simultaneous connections to one miner.
//!
//! Order: gate, then fleet slot, everywhere. A holder of a fleet slot then
//! never waits for a gate, so the two cannot deadlock, and requests queued
//! on one miner do not hold slots the rest of the fleet needs.

use crate::transport::MinerAddr;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most connections one visit opens to its miner at once: v2's
/// `summary`, `devs` and `pools` run together; the slow commands go two at
/// a time, v3 and API detection one at a time.
pub const MAX_CONNECTIONS_PER_MINER: usize = 3;

/// Above this many gates, idle ones (no visit, nobody waiting) are
/// dropped on the next entry, so addresses probed once do not pile up.
const PRUNE_ABOVE: usize = 4096;

/// The gates of the miners being visited (or waited for).
#[derive(Debug, Default)]
pub struct MinerGates {
    open: Mutex<HashMap<MinerAddr, Arc<Semaphore>>>,
}

/// A visit in progress: the miner's gate is held until it is dropped.
#[derive(Debug)]
pub struct Visit<'a> {
    gates: &'a MinerGates,
    addr: MinerAddr,
    permit: Option<OwnedSemaphorePermit>,
}

impl MinerGates {
    /// Waits for `addr`'s gate (cancel by dropping the future).
    pub async fn enter(&self, addr: &MinerAddr) -> Visit<'_> {
        let gate = match self.open.lock() {
            Ok(mut open) => {
                if open.len() > PRUNE_ABOVE {
                    open.retain(|_, gate| Arc::strong_count(gate) > 1);
                }
                open.entry(addr.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(1)))
                    .clone()
            }
            // A poisoned map: a gate of its own still bounds this visit.
            Err(_) => Arc::new(Semaphore::new(1)),
        };
        // The semaphore is never closed, so this only fails if it were.
        let permit = gate.acquire_owned().await.ok();
        Visit {
            gates: self,
            addr: addr.clone(),
            permit,
        }
    }

    /// Gates in the map (visited or waited for, plus idle ones not yet
    /// pruned).
    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Visit<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Ok(mut open) = self.gates.open.lock() {
            // Only the map holds it: no visit, nobody waiting.
            if open
                .get(&self.addr)
                .is_some_and(|gate| Arc::strong_count(gate) == 1)
            {
                open.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(port: u16) -> MinerAddr {
        MinerAddr::from_socket_addr(([127, 0, 0, 1], port).into())
    }

    #[tokio::test]
    async fn one_visit_per_miner_and_no_gate_left_behind() {
        let gates = MinerGates::default();
        let first = gates.enter(&addr(1)).await;
        // Another miner is not held up.
        let other = gates.enter(&addr(2)).await;
        let second = tokio::time::timeout(Duration::from_millis(50), gates.enter(&addr(1))).await;
        assert!(
            second.is_err(),
            "a second visit entered while the first ran"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), gates.enter(&addr(1))).await;
        assert!(second.is_ok(), "the gate was not released");
        drop(second);
        drop(other);
        assert!(gates.is_empty(), "{} gates left", gates.len());
    }
}
