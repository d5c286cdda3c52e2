//! The addresses `/probe` reached outside the configuration, least
//! recently probed first. Every per-miner cache (slow data, detected API,
//! dialect, deprecated commands, last success, repair counts) fills for a
//! probed address as for a configured one; without a bound, a client
//! probing many addresses (an attacker, or a misconfigured Prometheus job
//! within `probe_networks`) would grow them until the next reload. Past
//! the bound, the least recently probed quarter is forgotten in one pass,
//! so the caches hold at most the configured miners plus the bound.

use super::Collector;
use crate::transport::MinerAddr;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

/// Probed miners outside the configuration whose state is kept, by
/// default. Each costs a few KiB of cached replies at most.
pub const PROBED_KEPT: usize = 1024;

/// The configured addresses and the probed others, in probe order.
#[derive(Debug, Default)]
pub struct ProbedMiners {
    configured: HashSet<MinerAddr>,
    /// Address → its last probe's tick.
    last: HashMap<MinerAddr, u64>,
    /// Tick → address: the oldest first.
    order: BTreeMap<u64, MinerAddr>,
    tick: u64,
}

impl ProbedMiners {
    /// The configuration changed (a reload drops the state of every
    /// miner not configured, probed ones included): start over.
    pub fn configure(&mut self, configured: HashSet<MinerAddr>) {
        self.configured = configured;
        self.last.clear();
        self.order.clear();
    }

    /// Notes a probe of `addr`. When that takes the probed miners past
    /// `limit`, forgets the least recently probed quarter and returns the
    /// addresses whose state to keep (configured and still remembered).
    pub fn probed(&mut self, addr: &MinerAddr, limit: usize) -> Option<HashSet<MinerAddr>> {
        let limit = limit.max(1);
        if self.configured.contains(addr) {
            return None;
        }
        self.tick += 1;
        if let Some(old) = self.last.insert(addr.clone(), self.tick) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, addr.clone());
        if self.last.len() <= limit {
            return None;
        }
        let keep_probed = limit - limit / 4;
        while self.last.len() > keep_probed {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.last.remove(&oldest);
        }
        Some(
            self.configured
                .iter()
                .chain(self.last.keys())
                .cloned()
                .collect(),
        )
    }

    /// Probed miners remembered now.
    pub fn remembered(&self) -> usize {
        self.last.len()
    }
}

impl Collector {
    /// Notes a `/probe` of `addr`; past the bound, forgets the state of the
    /// least recently probed miners outside the configuration.
    pub(super) fn note_probe(&self, addr: &MinerAddr) {
        let limit = self.config().probed_kept;
        let keep = match self.probed.lock() {
            Ok(mut probed) => probed.probed(addr, limit),
            Err(_) => None,
        };
        if let Some(keep) = keep {
            self.retain_addrs(&keep);
        }
    }

    /// Miners with state in the largest per-miner cache (configured ones
    /// and those `/probe` reached), for tests and bounds.
    pub fn remembered_miners(&self) -> usize {
        let map_len = |m: &Mutex<HashMap<_, _>>| m.lock().map_or(0, |m| m.len());
        [
            self.info.remembered(),
            self.detector.remembered(),
            self.backends.remembered(),
            self.deferred.pending(),
            self.health.remembered(),
            map_len(&self.last_success),
            self.repairs.lock().map_or(0, |m| m.len()),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u16) -> MinerAddr {
        MinerAddr::from_socket_addr(std::net::SocketAddr::from(([127, 0, 0, 1], i)))
    }

    #[test]
    fn past_the_bound_the_least_recently_probed_quarter_goes() {
        let mut probed = ProbedMiners::default();
        probed.configure(HashSet::from([addr(1)]));
        // Configured miners never count.
        assert!(probed.probed(&addr(1), 8).is_none());
        for i in 100..108 {
            assert!(probed.probed(&addr(i), 8).is_none());
        }
        // 100 probed again: now the most recent.
        assert!(probed.probed(&addr(100), 8).is_none());
        let keep = probed.probed(&addr(200), 8).expect("past the bound");
        assert_eq!(probed.remembered(), 6);
        assert!(keep.contains(&addr(1)) && keep.contains(&addr(100)) && keep.contains(&addr(200)));
        for gone in [101, 102, 103] {
            assert!(!keep.contains(&addr(gone)), "{gone}");
        }
        assert_eq!(keep.len(), 7);
        // A reload starts over.
        probed.configure(HashSet::from([addr(1), addr(200)]));
        assert_eq!(probed.remembered(), 0);
        assert!(probed.probed(&addr(200), 8).is_none());
        assert_eq!(probed.remembered(), 0);
    }
}
