//! The per-scrape replies (`summary`, `devs`, `pools`) as a snapshot
//! keeps them. Figures the renderer derived from several replies
//! (temperature from the boards, shares from the pools, the boards'
//! hash-rate unit, the pool labels) are derived once, here.

use super::Reading;
use crate::client::types::{Board, BoardHashUnit, Devs, Pool, Pools, Summary};
use crate::collector::render::writer::base_labels;

/// The rendered part of a `summary` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactSummary {
    pub mhs_av: Reading,
    pub mhs_5s: Reading,
    pub mhs_1m: Reading,
    pub mhs_5m: Reading,
    pub mhs_15m: Reading,
    pub hs_rt: Reading,
    pub target_mhs: Reading,
    pub factory_ghs: Reading,
    /// `Temperature`, else the hottest board.
    pub temperature: Reading,
    pub env_temp: Reading,
    pub chip_temp_min: Reading,
    pub chip_temp_max: Reading,
    pub chip_temp_avg: Reading,
    pub fan_speed_in: Reading,
    pub fan_speed_out: Reading,
    pub power_fanspeed: Reading,
    pub power: Reading,
    pub power_limit: Reading,
    pub power_rate: Reading,
    pub freq_avg: Reading,
    pub target_freq: Reading,
    pub uptime: Reading,
    pub elapsed: Reading,
    /// `Accepted`, else the sum over the pools.
    pub accepted: Reading,
    /// `Rejected`, else the sum over the pools.
    pub rejected: Reading,
    pub error_code_count: Reading,
    pub hash_stable: Option<bool>,
    pub mac: Option<Box<str>>,
}

impl CompactSummary {
    /// `boards` and `pools` fill what the 2026 summary leaves out.
    pub fn new(s: &Summary, boards: Option<&[Board]>, pools: Option<&[Pool]>) -> Self {
        CompactSummary {
            mhs_av: s.mhs_av.into(),
            mhs_5s: s.mhs_5s.into(),
            mhs_1m: s.mhs_1m.into(),
            mhs_5m: s.mhs_5m.into(),
            mhs_15m: s.mhs_15m.into(),
            hs_rt: s.hs_rt.into(),
            target_mhs: s.target_mhs.into(),
            factory_ghs: s.factory_ghs.into(),
            temperature: s.temperature_or_boards(boards).into(),
            env_temp: s.env_temp.into(),
            chip_temp_min: s.chip_temp_min.into(),
            chip_temp_max: s.chip_temp_max.into(),
            chip_temp_avg: s.chip_temp_avg.into(),
            fan_speed_in: s.fan_speed_in.into(),
            fan_speed_out: s.fan_speed_out.into(),
            power_fanspeed: s.power_fanspeed.into(),
            power: s.power.into(),
            power_limit: s.power_limit.into(),
            power_rate: s.power_rate.into(),
            freq_avg: s.freq_avg.into(),
            target_freq: s.target_freq.into(),
            uptime: s.uptime.into(),
            elapsed: s.elapsed.into(),
            accepted: s.accepted_or_pools(pools).into(),
            rejected: s.rejected_or_pools(pools).into(),
            error_code_count: s.error_code_count.into(),
            hash_stable: s.hash_stable,
            mac: s.mac.as_deref().map(Box::from),
        }
    }
}

/// The rendered part of one hashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactBoard {
    /// The `board` label: `Slot`, else `ASC`, else `ID`, else the position.
    pub index: u64,
    pub alive: Option<bool>,
    pub mhs_av: Reading,
    pub mhs_5s: Reading,
    pub mhs_1m: Reading,
    pub mhs_15m: Reading,
    pub temperature: Reading,
    pub chip_temp_min: Reading,
    pub chip_temp_max: Reading,
    pub chip_temp_avg: Reading,
    pub chip_frequency: Reading,
    pub effective_chips: Reading,
    pub hardware_errors: Reading,
    pub accepted: Reading,
    pub rejected: Reading,
}

impl CompactBoard {
    fn new(position: usize, b: &Board) -> Self {
        CompactBoard {
            index: b.index().unwrap_or(position as u64),
            alive: b.alive(),
            mhs_av: b.mhs_av.into(),
            mhs_5s: b.mhs_5s.into(),
            mhs_1m: b.mhs_1m.into(),
            mhs_15m: b.mhs_15m.into(),
            temperature: b.temperature.into(),
            chip_temp_min: b.chip_temp_min.into(),
            chip_temp_max: b.chip_temp_max.into(),
            chip_temp_avg: b.chip_temp_avg.into(),
            chip_frequency: b.chip_frequency.into(),
            effective_chips: b.effective_chips.into(),
            hardware_errors: b.hardware_errors.into(),
            accepted: b.accepted.into(),
            rejected: b.rejected.into(),
        }
    }
}

/// Every hashboard, with the unit their hash rates are in.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactBoards {
    pub boards: Box<[CompactBoard]>,
    /// Hashes per second in the boards' hash-rate unit (MH/s or TH/s,
    /// judged against the summary).
    pub hash_scale: f64,
}

impl CompactBoards {
    /// `unit`: see [`BoardHashUnit::detect`].
    pub fn new(devs: &Devs, unit: BoardHashUnit) -> Self {
        CompactBoards {
            boards: devs
                .0
                .iter()
                .enumerate()
                .map(|(i, b)| CompactBoard::new(i, b))
                .collect(),
            hash_scale: unit.scale(),
        }
    }
}

/// The rendered part of one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactPool {
    /// `pool="N",url="…",user="…"`, escaped, the URL without credentials.
    pub labels: Box<str>,
    pub alive: Option<bool>,
    pub stratum_active: Option<bool>,
    pub priority: Reading,
    pub accepted: Reading,
    pub rejected: Reading,
    pub stale: Reading,
    pub difficulty_accepted: Reading,
    pub stratum_difficulty: Reading,
    pub last_share_time: Reading,
}

impl CompactPool {
    fn new(position: usize, p: &Pool) -> Self {
        let mut buf = itoa::Buffer::new();
        let index = buf.format(p.pool.unwrap_or(position as u64));
        let url = crate::collector::render::strip_url_credentials(p.url.as_deref().unwrap_or(""));
        let user = p.user.as_deref().unwrap_or("");
        let labels = base_labels(&[("pool", index), ("url", &url), ("user", user)]);
        CompactPool {
            labels: labels.into_boxed_str(),
            alive: p.alive(),
            stratum_active: p.stratum_active,
            priority: p.priority.into(),
            accepted: p.accepted.into(),
            rejected: p.rejected.into(),
            stale: p.stale.into(),
            difficulty_accepted: p.difficulty_accepted.into(),
            stratum_difficulty: p.stratum_difficulty.into(),
            last_share_time: p.last_share_time.into(),
        }
    }
}

/// Every pool.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactPools(pub Box<[CompactPool]>);

impl CompactPools {
    pub fn new(pools: &Pools) -> Self {
        CompactPools(
            pools
                .0
                .iter()
                .enumerate()
                .map(|(i, p)| CompactPool::new(i, p))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn compact_types_are_a_fraction_of_the_typed_replies() {
        let sizes = [
            ("Summary", size_of::<Summary>(), size_of::<CompactSummary>()),
            ("Board", size_of::<Board>(), size_of::<CompactBoard>()),
            ("Pool", size_of::<Pool>(), size_of::<CompactPool>()),
        ];
        for (name, typed, compact) in sizes {
            println!("{name}: {typed} bytes typed, {compact} compact");
        }
        assert!(size_of::<Reading>() == 8);
        assert!(size_of::<CompactSummary>() <= 240);
        assert!(size_of::<CompactBoard>() <= 120);
        assert!(size_of::<CompactPool>() <= 80);
    }
}
