//! Miners' up/down state in the log: one `info` line when a configured
//! miner goes down (with the reason) and one when it comes back, never a
//! line per scrape; plus a `debug` summary of each fleet scrape. Only
//! fleet scrapes count (a `/probe` of some address changes nothing), so
//! the map is bounded by the configured fleet and pruned on reload.

use super::snapshot::MinerSnapshot;
use crate::transport::MinerAddr;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the log last said about one miner.
#[derive(Debug, Clone, Copy)]
enum Seen {
    Up,
    /// Down since, for this reason.
    Down(Instant, &'static str),
}

/// The last logged state of each configured miner.
#[derive(Debug, Default)]
pub struct MinerHealth {
    seen: Mutex<HashMap<MinerAddr, Seen>>,
}

/// One miner's change, if any, to log.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    WentDown(&'static str),
    /// After this long down, for this (last) reason.
    CameBack(Duration, &'static str),
}

impl MinerHealth {
    /// Notes a fleet scrape's results; logs each change and a summary.
    pub fn observe(&self, miners: &[MinerSnapshot], took: Duration) {
        let now = Instant::now();
        let mut up = 0usize;
        for m in miners {
            let reason = m.down_error().map(|e| e.reason());
            if reason.is_none() {
                up += 1;
            }
            match self.note(&m.target.addr, reason, now) {
                Some(Change::WentDown(reason)) => {
                    let error = m.down_error().map(|e| e.to_string()).unwrap_or_default();
                    tracing::info!(miner = m.target.name.as_str(), address = %m.target.addr, reason, error = error.as_str(), "miner down");
                }
                Some(Change::CameBack(after, was)) => {
                    tracing::info!(miner = m.target.name.as_str(), address = %m.target.addr, down_seconds = after.as_secs(), was, "miner back up");
                }
                None => {}
            }
        }
        tracing::debug!(
            miners = miners.len(),
            up,
            down = miners.len() - up,
            seconds = took.as_secs_f64(),
            "fleet scraped"
        );
    }

    /// Records `addr`'s state; says what changed. A miner first seen down
    /// counts as gone down; first seen up says nothing; a down miner whose
    /// reason changes stays down (no new line; the "back up" line names the
    /// last reason).
    fn note(&self, addr: &MinerAddr, down: Option<&'static str>, now: Instant) -> Option<Change> {
        let mut seen = self.seen.lock().ok()?;
        let before = seen.get(addr).copied();
        match (before, down) {
            (None | Some(Seen::Up), None) => {
                seen.insert(addr.clone(), Seen::Up);
                None
            }
            (Some(Seen::Down(since, was)), None) => {
                seen.insert(addr.clone(), Seen::Up);
                Some(Change::CameBack(now.saturating_duration_since(since), was))
            }
            (None | Some(Seen::Up), Some(reason)) => {
                seen.insert(addr.clone(), Seen::Down(now, reason));
                Some(Change::WentDown(reason))
            }
            (Some(Seen::Down(since, _)), Some(reason)) => {
                // Still down: keep the start, remember the latest reason.
                seen.insert(addr.clone(), Seen::Down(since, reason));
                None
            }
        }
    }

    /// Forgets miners no longer configured.
    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.retain(|addr, _| keep.contains(addr));
        }
    }

    /// Miners with a logged state.
    pub fn remembered(&self) -> usize {
        self.seen.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_change_per_transition_never_one_per_scrape() {
        let health = MinerHealth::default();
        let a = MinerAddr::from_socket_addr(([127, 0, 0, 1], 4028).into());
        let t0 = Instant::now();
        assert_eq!(health.note(&a, None, t0), None, "first seen up: quiet");
        assert_eq!(health.note(&a, None, t0), None);
        assert_eq!(
            health.note(&a, Some("timeout"), t0),
            Some(Change::WentDown("timeout"))
        );
        assert_eq!(health.note(&a, Some("timeout"), t0), None, "still down");
        assert_eq!(health.note(&a, Some("connect_refused"), t0), None);
        let later = t0 + Duration::from_secs(90);
        assert_eq!(
            health.note(&a, None, later),
            Some(Change::CameBack(Duration::from_secs(90), "connect_refused"))
        );
        assert_eq!(health.note(&a, None, later), None);
        let b = MinerAddr::from_socket_addr(([127, 0, 0, 2], 4028).into());
        assert_eq!(
            health.note(&b, Some("timeout"), t0),
            Some(Change::WentDown("timeout")),
            "first seen down: said"
        );
        health.retain(&HashSet::from([a.clone()]));
        assert_eq!(health.seen.lock().map(|s| s.len()).unwrap_or(0), 1);
    }
}
