//! What one scrape learned about a miner. Snapshots are plain data: the
//! renderer turns them into metric families, and background mode keeps the
//! last complete set to serve from.

use crate::client::{Api, Dialect};
use crate::collector::compact::{CompactBoards, CompactPools, CompactSlow, CompactSummary};
use crate::collector::target::MinerTarget;
use crate::error::MinerError;
use crate::protocol::repair::RepairCounts;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The result of one scrape of one miner.
#[derive(Debug, Clone)]
pub struct MinerSnapshot {
    pub target: Arc<MinerTarget>,
    /// When the scrape finished.
    pub scraped_at: SystemTime,
    pub duration: Duration,
    /// `up` is whether this succeeded. The replies are kept compact: only
    /// what the renderer writes ([`crate::collector::compact`]).
    pub summary: Result<CompactSummary, MinerError>,
    pub devs: Result<CompactBoards, MinerError>,
    pub pools: Result<CompactPools, MinerError>,
    /// Slowly refreshed data (model, firmware, PSU, error codes, run
    /// state), possibly from an earlier scrape, as the info cache keeps it.
    pub info: Option<Arc<CompactSlow>>,
    /// The last time `summary` succeeded, this scrape or before.
    pub last_success: Option<SystemTime>,
    /// The API actually spoken (the info metric's `protocol` label).
    pub api: Api,
    /// How the miner's requests were sent, for APIs with dialects (v2).
    pub dialect: Option<Dialect>,
    /// Replies of this miner repaired so far, by kind (`None` before any
    /// reply was parsed).
    pub repairs: Option<Arc<RepairCounts>>,
}

impl MinerSnapshot {
    pub fn up(&self) -> bool {
        self.summary.is_ok()
    }

    /// The failure that makes the miner down, if it is.
    pub fn down_error(&self) -> Option<&MinerError> {
        self.summary.as_ref().err()
    }
}

/// A whole fleet's scrape.
#[derive(Debug, Clone, Default)]
pub struct FleetSnapshot {
    pub miners: Vec<MinerSnapshot>,
    pub started_at: Option<SystemTime>,
    pub duration: Duration,
}
