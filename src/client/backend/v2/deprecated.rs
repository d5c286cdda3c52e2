//! Commands a miner's firmware dropped. 2026 firmware answers `devdetails`
//! with code 132 "This command is deprecated.": that is "not available on
//! this firmware", not a failure, so it gets no error series and is not
//! asked again every refresh; it is asked again after a while, since a
//! firmware change may bring it back.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use crate::error::MinerError;
use crate::protocol::reply;
use crate::transport::MinerAddr;

/// Slow refreshes a deprecated command sits out before it is tried again:
/// 24 × the 10-minute default ≈ 4 h.
const SKIPS: u32 = 24;

/// Per miner, the commands its firmware called deprecated, with the
/// refreshes left to skip them.
#[derive(Debug, Default)]
pub struct Deprecated(Mutex<HashMap<MinerAddr, HashMap<&'static str, u32>>>);

impl Deprecated {
    /// Drops the state of miners no longer configured.
    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|addr, _| keep.contains(addr));
        }
    }

    /// Miners with a deprecated command.
    pub fn remembered(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    /// Runs `read` unless `command` is deprecated on `miner`. `None`: not
    /// sent, or the firmware said it is deprecated.
    pub async fn unless<T>(
        &self,
        miner: &MinerAddr,
        command: &'static str,
        read: impl Future<Output = Result<T, MinerError>>,
    ) -> Option<Result<T, MinerError>> {
        if self.skip(miner, command) {
            return None;
        }
        let result = read.await;
        if matches!(&result, Err(e) if reply::is_deprecated(&e.kind)) {
            tracing::debug!(miner = %miner, command, "deprecated on this firmware; not asked again for a while");
            if let Ok(mut map) = self.0.lock() {
                map.entry(miner.clone()).or_default().insert(command, SKIPS);
            }
            return None;
        }
        Some(result)
    }

    /// Whether to skip `command` this time (counts the skip down).
    fn skip(&self, miner: &MinerAddr, command: &'static str) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return false;
        };
        let Some(commands) = map.get_mut(miner) else {
            return false;
        };
        let Some(left) = commands.get_mut(command) else {
            return false;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            commands.remove(command);
            return false;
        }
        true
    }
}
