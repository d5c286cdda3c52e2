//! What the client learns about a miner (its API under `auto`, its v2
//! dialect) is forgotten after a few failed scrapes in a row: the miner
//! may have been reflashed or replaced and speak differently now. One
//! counter and one rule for both.

use crate::transport::MinerAddr;
use std::collections::HashMap;

/// Failed scrapes in a row of one miner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureStreak(u32);

impl FailureStreak {
    /// Counts a scrape's outcome; true once `limit` (at least 1) failures
    /// came in a row.
    pub fn record(&mut self, success: bool, limit: u32) -> bool {
        if success {
            self.0 = 0;
            return false;
        }
        self.0 = self.0.saturating_add(1);
        self.0 >= limit.max(1)
    }
}

/// Records a scrape's outcome in `miner`'s entry (its streak given by
/// `streak`) and removes the entry after `limit` failures in a row. A miner
/// without an entry has nothing to forget.
pub fn record_outcome<V>(
    entries: &mut HashMap<MinerAddr, V>,
    miner: &MinerAddr,
    success: bool,
    limit: u32,
    streak: impl FnOnce(&mut V) -> &mut FailureStreak,
) {
    let forget = entries
        .get_mut(miner)
        .is_some_and(|entry| streak(entry).record(success, limit));
    if forget {
        entries.remove(miner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_resets_the_streak() {
        let mut s = FailureStreak::default();
        assert!(!s.record(false, 3));
        assert!(!s.record(false, 3));
        assert!(!s.record(true, 3));
        assert!(!s.record(false, 3));
        assert!(!s.record(false, 3));
        assert!(s.record(false, 3));
    }

    #[test]
    fn a_limit_of_zero_forgets_at_the_first_failure() {
        assert!(FailureStreak::default().record(false, 0));
    }

    #[test]
    fn the_entry_goes_after_the_limit() {
        let miner: MinerAddr = "127.0.0.1:4028".parse().unwrap();
        let mut map = HashMap::from([(miner.clone(), FailureStreak::default())]);
        record_outcome(&mut map, &miner, false, 2, |s| s);
        assert!(map.contains_key(&miner));
        record_outcome(&mut map, &miner, false, 2, |s| s);
        assert!(!map.contains_key(&miner));
        record_outcome(&mut map, &miner, false, 2, |s| s);
        assert!(map.is_empty());
    }
}
