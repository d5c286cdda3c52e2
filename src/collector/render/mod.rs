//! Renders snapshots as Prometheus exposition text: one family at a time,
//! every miner's samples under it, names and units as in docs/metrics.md.

mod boards;
pub mod families;
mod info_families;
mod pools;
pub mod writer;

use crate::collector::snapshot::MinerSnapshot;
pub use families::unix;
pub use pools::strip_url_credentials;
use std::time::SystemTime;
pub use writer::{ExpositionWriter, MetricType};

/// A value that may be missing, as the typed replies hold numbers.
pub trait Gauge {
    fn gauge(&self) -> Option<f64>;
}

impl Gauge for Option<f64> {
    fn gauge(&self) -> Option<f64> {
        self.filter(|v| v.is_finite())
    }
}
impl Gauge for Option<u64> {
    fn gauge(&self) -> Option<f64> {
        self.map(|v| v as f64)
    }
}
impl Gauge for Option<i64> {
    fn gauge(&self) -> Option<f64> {
        self.map(|v| v as f64)
    }
}
impl Gauge for Option<u32> {
    fn gauge(&self) -> Option<f64> {
        self.map(f64::from)
    }
}
impl Gauge for Option<bool> {
    fn gauge(&self) -> Option<f64> {
        self.map(|b| if b { 1.0 } else { 0.0 })
    }
}

/// Renders the per-miner families of `miners`. `now` dates the data age.
pub fn render_miners(out: &mut ExpositionWriter, miners: &[MinerSnapshot], now: SystemTime) {
    families::write_all(out, miners, now);
}

/// A size hint for the output buffer. A three-board miner with three
/// pools renders ~10 KiB; reserving a little more avoids a grow-and-copy
/// of the whole buffer, and pages never written cost no memory.
pub fn capacity_hint(miners: usize) -> usize {
    4096 + miners * 12 * 1024
}
