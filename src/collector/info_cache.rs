//! The per-miner cache of slowly changing data. A miner's entry is
//! refreshed when it is missing, older than the refresh interval (with a
//! per-miner jitter so a large fleet spreads its refreshes), invalidated by
//! an admin command, or when the miner restarted (its `Elapsed` went down).
//!
//! A v2 miner answers six slow commands; a v3 miner answers
//! `get.device.info` and `get.miner.setting`, mapped onto the same structs
//! (see `client::v3::convert`). When a miner's API changes (detected
//! again after a firmware upgrade), its old entry is replaced, not merged.
//!
//! An entry keeps only what the page renders ([`CompactSlow`]), built once
//! per refresh: the backend's `SlowData` is dropped as soon as it is read.

use crate::client::{Api, Backend, Client};
use crate::collector::compact::CompactSlow;
use crate::collector::target::MinerTarget;
use crate::transport::MinerAddr;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Default)]
struct Entry {
    info: Option<Arc<CompactSlow>>,
    refreshed: Option<Instant>,
    stale: bool,
    last_elapsed: Option<f64>,
    /// The API the cached info was read with.
    api: Option<Api>,
}

#[derive(Debug, Default)]
pub struct InfoCache {
    entries: Mutex<HashMap<MinerAddr, Entry>>,
}

impl InfoCache {
    /// Miners with an entry.
    pub fn remembered(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.len())
    }

    pub fn cached(&self, addr: &MinerAddr) -> Option<Arc<CompactSlow>> {
        self.entries
            .lock()
            .ok()?
            .get(addr)
            .and_then(|e| e.info.clone())
    }

    pub fn invalidate(&self, addr: &MinerAddr) {
        if let Ok(mut map) = self.entries.lock() {
            map.entry(addr.clone()).or_default().stale = true;
        }
    }

    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|k, _| keep.contains(k));
        }
    }

    /// Marks the entry stale when the mining process restarted.
    pub fn observe_elapsed(&self, addr: &MinerAddr, elapsed: Option<f64>) {
        let Some(now) = elapsed else { return };
        if let Ok(mut map) = self.entries.lock() {
            let entry = map.entry(addr.clone()).or_default();
            if matches!(entry.last_elapsed, Some(before) if now < before) {
                entry.stale = true;
            }
            entry.last_elapsed = Some(now);
        }
    }

    /// Whether `addr`'s entry needs a refresh: missing, stale, read over
    /// another API, or older than its jittered interval.
    pub fn is_due(&self, addr: &MinerAddr, api: Api, interval: Duration) -> bool {
        let Ok(map) = self.entries.lock() else {
            return false;
        };
        match map.get(addr) {
            None => true,
            Some(e) if e.stale || e.info.is_none() || e.api != Some(api) => true,
            Some(e) => e
                .refreshed
                .is_none_or(|at| at.elapsed() >= jittered(addr, interval)),
        }
    }

    /// The cached info, refreshed first (through `backend`) if due and
    /// time allows.
    pub async fn get_or_refresh(
        &self,
        client: &Client,
        target: &MinerTarget,
        backend: &dyn Backend,
        deadline: Instant,
        interval: Duration,
    ) -> Option<Arc<CompactSlow>> {
        let api = backend.api();
        if !self.is_due(&target.addr, api, interval) {
            return self.cached(&target.addr);
        }
        let client = bounded(client, deadline);
        let fresh = CompactSlow::new(&backend.slow(&client, &target.addr).await);
        // Keep the old values of commands that failed this time; data read
        // over the other API is not kept.
        let same_api = self.cached_api(&target.addr) == Some(api);
        let merged = Arc::new(match self.cached(&target.addr) {
            Some(old) if same_api => fresh.or_keep(&old),
            _ => fresh,
        });
        if let Ok(mut map) = self.entries.lock() {
            let entry = map.entry(target.addr.clone()).or_default();
            entry.info = Some(merged.clone());
            entry.refreshed = Some(Instant::now());
            entry.stale = false;
            entry.api = Some(api);
        }
        Some(merged)
    }

    fn cached_api(&self, addr: &MinerAddr) -> Option<Api> {
        self.entries.lock().ok()?.get(addr).and_then(|e| e.api)
    }
}

/// Per-miner jitter of ±25% so refreshes spread over time.
fn jittered(addr: &MinerAddr, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    addr.hash(&mut h);
    let fraction = (h.finish() % 1000) as f64 / 1000.0; // 0..1
    interval.mul_f64(0.75 + fraction * 0.5)
}

/// A client whose per-command deadline ends by `deadline`.
fn bounded(client: &Client, deadline: Instant) -> Client {
    let mut config = *client.config();
    config.limits.deadline = config
        .limits
        .deadline
        .min(deadline.saturating_duration_since(Instant::now()));
    Client::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_quarter() {
        for port in 1..200u16 {
            let addr: MinerAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let j = jittered(&addr, Duration::from_secs(600));
            assert!(
                j >= Duration::from_secs(450) && j <= Duration::from_secs(750),
                "{j:?}"
            );
        }
    }

    #[test]
    fn a_change_of_api_makes_the_entry_due() {
        let cache = InfoCache::default();
        let addr: MinerAddr = "127.0.0.1:3".parse().unwrap();
        assert!(cache.is_due(&addr, Api::V2, Duration::from_secs(600)));
        cache.entries.lock().unwrap().insert(
            addr.clone(),
            Entry {
                info: Some(Arc::new(CompactSlow::default())),
                refreshed: Some(Instant::now()),
                api: Some(Api::V2),
                ..Entry::default()
            },
        );
        assert!(!cache.is_due(&addr, Api::V2, Duration::from_secs(600)));
        assert!(cache.is_due(&addr, Api::V3, Duration::from_secs(600)));
    }

    #[test]
    fn restart_marks_stale() {
        let cache = InfoCache::default();
        let addr: MinerAddr = "127.0.0.1:1".parse().unwrap();
        cache.observe_elapsed(&addr, Some(100.0));
        assert!(!cache.entries.lock().unwrap()[&addr].stale);
        cache.observe_elapsed(&addr, Some(5.0));
        assert!(cache.entries.lock().unwrap()[&addr].stale);
    }
}
