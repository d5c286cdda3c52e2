//! What the collector keeps of the miners' replies: only what the renderer
//! writes, in compact collector-side types. The typed replies of
//! [`crate::client::types`] hold every field the firmware sends (a `Board`
//! is 520 bytes, a `Summary` 640, a `Pool` 488, plus their strings).
//!
//! - [`fast`]: the per-scrape replies a snapshot keeps. Every snapshot of a
//!   fleet is alive while its page is rendered (in background mode, or
//!   within `[scrape] min_age`, the previous fleet's too), which set the
//!   exporter's peak memory at 5,000 miners.
//! - [`slow`]: the slow data the info cache keeps for each miner between
//!   its refreshes (the `_info`, run-state, error-code and PSU families).
//!
//! Values stay exactly as rendered before: a [`Reading`] is the `f64` the
//! renderer wrote (`u64` counters converted as the renderer converted
//! them), and `NaN` where the reply had none or a non-finite one, which the
//! renderer skips as it skipped `None`. Labels are kept as the firmware
//! sent them, unescaped, where the writer escapes them.

pub mod fast;
pub mod slow;

pub use fast::{CompactBoard, CompactBoards, CompactPool, CompactPools, CompactSummary};
pub use slow::CompactSlow;

use super::render::Gauge;
use crate::client::types::{BoardHashUnit, Devs, Pools, Summary};
use crate::error::MinerError;

/// A figure as rendered, `NaN` when absent: 8 bytes where `Option<f64>`
/// takes 16.
#[derive(Debug, Clone, Copy)]
pub struct Reading(f64);

impl Reading {
    pub const NONE: Reading = Reading(f64::NAN);

    /// The value, if the miner sent a finite one.
    pub fn get(self) -> Option<f64> {
        self.0.is_finite().then_some(self.0)
    }
}

impl PartialEq for Reading {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Gauge for Reading {
    fn gauge(&self) -> Option<f64> {
        self.get()
    }
}

impl From<Option<f64>> for Reading {
    fn from(v: Option<f64>) -> Self {
        v.gauge().map_or(Reading::NONE, Reading)
    }
}

impl From<Option<u64>> for Reading {
    fn from(v: Option<u64>) -> Self {
        Reading::from(v.gauge())
    }
}

impl From<Option<i64>> for Reading {
    fn from(v: Option<i64>) -> Self {
        Reading::from(v.gauge())
    }
}

/// The compact form of one scrape's replies. The collector drops the typed
/// replies here, as soon as the figures the renderer writes are taken.
pub fn replies(
    summary: Result<Summary, MinerError>,
    devs: Result<Devs, MinerError>,
    pools: Result<Pools, MinerError>,
) -> (
    Result<CompactSummary, MinerError>,
    Result<CompactBoards, MinerError>,
    Result<CompactPools, MinerError>,
) {
    let unit = devs
        .as_ref()
        .ok()
        .map(|d| BoardHashUnit::detect(&d.0, summary.as_ref().ok()));
    let boards = devs.as_ref().ok().map(|d| d.0.as_slice());
    let pool_list = pools.as_ref().ok().map(|p| p.0.as_slice());
    let compact_summary = summary.map(|s| CompactSummary::new(&s, boards, pool_list));
    let compact_devs = devs.map(|d| CompactBoards::new(&d, unit.unwrap_or_default()));
    let compact_pools = pools.map(|p| CompactPools::new(&p));
    (compact_summary, compact_devs, compact_pools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_renders_what_the_option_rendered() {
        let cases = [
            None,
            Some(0.0),
            Some(-1.5),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ];
        for v in cases {
            assert_eq!(Reading::from(v).gauge(), v.gauge(), "{v:?}");
        }
        for v in [None, Some(0u64), Some(u64::MAX), Some(1 << 53 | 1)] {
            assert_eq!(Reading::from(v).gauge(), v.gauge(), "{v:?}");
        }
        for v in [None, Some(i64::MIN), Some(-3i64)] {
            assert_eq!(Reading::from(v).gauge(), v.gauge(), "{v:?}");
        }
        assert_eq!(Reading::NONE, Reading::from(Some(f64::NAN)));
    }
}
