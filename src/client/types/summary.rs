//! The `summary` reply: whole-miner hash rate, shares, temperatures, fans
//! and power.
//!
//! Units as the firmware sends them: hash rates `MHS *` and `HS RT` in MH/s,
//! `Factory GHS` in GH/s, temperatures in °C, fan speeds in rpm, power in W,
//! `Power Rate` in J/TH (W per TH/s), frequencies in MHz, times in seconds.
//! Every field is optional: firmware versions differ, and the wrapped form of
//! API 2.0.5+ has no `MHS 5s`, `MHS 5m` or `Target MHS`; 2026 firmware also
//! drops `Temperature`, `Accepted` and `Rejected`, which
//! [`Summary::temperature_or_boards`] and [`Summary::accepted_or_pools`]
//! take from the boards and pools instead.

use serde::Deserialize;

use super::{lenient, Board, Pool};

/// Data of a `summary` reply (the `SUMMARY` list's first element or `Msg`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Seconds since the mining process (btminer) started (a float on
    /// 2026 firmware; the fraction is dropped).
    #[serde(rename = "Elapsed", default, deserialize_with = "lenient::seconds")]
    pub elapsed: Option<u64>,
    /// Seconds since the control board booted.
    #[serde(rename = "Uptime", default, deserialize_with = "lenient::u64")]
    pub uptime: Option<u64>,
    /// Average hash rate since btminer started, MH/s.
    #[serde(rename = "MHS av", default, deserialize_with = "lenient::f64")]
    pub mhs_av: Option<f64>,
    #[serde(rename = "MHS 5s", default, deserialize_with = "lenient::f64")]
    pub mhs_5s: Option<f64>,
    #[serde(rename = "MHS 1m", default, deserialize_with = "lenient::f64")]
    pub mhs_1m: Option<f64>,
    #[serde(rename = "MHS 5m", default, deserialize_with = "lenient::f64")]
    pub mhs_5m: Option<f64>,
    #[serde(rename = "MHS 15m", default, deserialize_with = "lenient::f64")]
    pub mhs_15m: Option<f64>,
    /// Real-time hash rate, MH/s.
    #[serde(rename = "HS RT", default, deserialize_with = "lenient::f64")]
    pub hs_rt: Option<f64>,
    /// Nominal hash rate, GH/s (note: not MH/s).
    #[serde(rename = "Factory GHS", default, deserialize_with = "lenient::f64")]
    pub factory_ghs: Option<f64>,
    /// Hash rate the firmware aims for, MH/s.
    #[serde(rename = "Target MHS", default, deserialize_with = "lenient::f64")]
    pub target_mhs: Option<f64>,
    /// Total work since start, MH.
    #[serde(rename = "Total MH", default, deserialize_with = "lenient::f64")]
    pub total_mh: Option<f64>,
    #[serde(rename = "Accepted", default, deserialize_with = "lenient::u64")]
    pub accepted: Option<u64>,
    #[serde(rename = "Rejected", default, deserialize_with = "lenient::u64")]
    pub rejected: Option<u64>,
    #[serde(rename = "Stale", default, deserialize_with = "lenient::u64")]
    pub stale: Option<u64>,
    #[serde(rename = "Hardware Errors", default, deserialize_with = "lenient::u64")]
    pub hardware_errors: Option<u64>,
    /// Percent.
    #[serde(rename = "Pool Rejected%", default, deserialize_with = "lenient::f64")]
    pub pool_rejected_pct: Option<f64>,
    /// Percent.
    #[serde(rename = "Pool Stale%", default, deserialize_with = "lenient::f64")]
    pub pool_stale_pct: Option<f64>,
    /// Board temperature, °C.
    #[serde(rename = "Temperature", default, deserialize_with = "lenient::f64")]
    pub temperature: Option<f64>,
    /// Intake air temperature, °C.
    #[serde(rename = "Env Temp", default, deserialize_with = "lenient::f64")]
    pub env_temp: Option<f64>,
    #[serde(rename = "Chip Temp Min", default, deserialize_with = "lenient::f64")]
    pub chip_temp_min: Option<f64>,
    #[serde(rename = "Chip Temp Max", default, deserialize_with = "lenient::f64")]
    pub chip_temp_max: Option<f64>,
    #[serde(rename = "Chip Temp Avg", default, deserialize_with = "lenient::f64")]
    pub chip_temp_avg: Option<f64>,
    /// Average chip frequency, MHz.
    #[serde(rename = "freq_avg", default, deserialize_with = "lenient::f64")]
    pub freq_avg: Option<f64>,
    /// Target chip frequency, MHz.
    #[serde(rename = "Target Freq", default, deserialize_with = "lenient::f64")]
    pub target_freq: Option<f64>,
    /// rpm.
    #[serde(rename = "Fan Speed In", default, deserialize_with = "lenient::f64")]
    pub fan_speed_in: Option<f64>,
    /// rpm.
    #[serde(rename = "Fan Speed Out", default, deserialize_with = "lenient::f64")]
    pub fan_speed_out: Option<f64>,
    /// Power supply fan, rpm.
    #[serde(rename = "Power Fanspeed", default, deserialize_with = "lenient::f64")]
    pub power_fanspeed: Option<f64>,
    /// Input power, W.
    #[serde(rename = "Power", default, deserialize_with = "lenient::f64")]
    pub power: Option<f64>,
    /// Real-time input power, W (older firmware only).
    #[serde(rename = "Power_RT", default, deserialize_with = "lenient::f64")]
    pub power_rt: Option<f64>,
    /// Efficiency, J/TH.
    #[serde(rename = "Power Rate", default, deserialize_with = "lenient::f64")]
    pub power_rate: Option<f64>,
    /// Configured power limit, W.
    #[serde(rename = "Power Limit", default, deserialize_with = "lenient::f64")]
    pub power_limit: Option<f64>,
    /// `Low`, `Normal` or `High`.
    #[serde(rename = "Power Mode", default, deserialize_with = "lenient::string")]
    pub power_mode: Option<String>,
    #[serde(rename = "Hash Stable", default, deserialize_with = "lenient::bool")]
    pub hash_stable: Option<bool>,
    #[serde(
        rename = "Hash Stable Cost Seconds",
        default,
        deserialize_with = "lenient::u64"
    )]
    pub hash_stable_cost_seconds: Option<u64>,
    /// Percent.
    #[serde(rename = "Hash Deviation%", default, deserialize_with = "lenient::f64")]
    pub hash_deviation_pct: Option<f64>,
    #[serde(
        rename = "Upfreq Complete",
        default,
        deserialize_with = "lenient::bool"
    )]
    pub upfreq_complete: Option<bool>,
    #[serde(
        rename = "Error Code Count",
        default,
        deserialize_with = "lenient::u64"
    )]
    pub error_code_count: Option<u64>,
    #[serde(rename = "Security Mode", default, deserialize_with = "lenient::i64")]
    pub security_mode: Option<i64>,
    /// `"enable"`/`"disable"` on the wire.
    #[serde(
        rename = "Btminer Fast Boot",
        default,
        deserialize_with = "lenient::bool"
    )]
    pub btminer_fast_boot: Option<bool>,
    #[serde(rename = "Liquid Cooling", default, deserialize_with = "lenient::bool")]
    pub liquid_cooling: Option<bool>,
    #[serde(rename = "MAC", default, deserialize_with = "lenient::string")]
    pub mac: Option<String>,
    /// Without the single quotes older firmware puts around it.
    #[serde(
        rename = "Firmware Version",
        default,
        deserialize_with = "lenient::unquoted_string"
    )]
    pub firmware_version: Option<String>,
}

impl Summary {
    /// The miner temperature: `Temperature`, else the hottest board. On
    /// every capture that has both, `Temperature` equals the hottest board
    /// (tests/fixtures/v2); the 2026 summary drops the field, the boards
    /// keep theirs.
    pub fn temperature_or_boards(&self, boards: Option<&[Board]>) -> Option<f64> {
        self.temperature.or_else(|| {
            boards?
                .iter()
                .filter_map(|b| b.temperature.filter(|t| t.is_finite()))
                .reduce(f64::max)
        })
    }

    /// Accepted shares: `Accepted`, else the sum over the pools (equal on
    /// every capture that has both; the 2026 summary drops the field).
    pub fn accepted_or_pools(&self, pools: Option<&[Pool]>) -> Option<u64> {
        self.accepted.or_else(|| sum_pools(pools?, |p| p.accepted))
    }

    /// Rejected shares: `Rejected`, else the sum over the pools.
    pub fn rejected_or_pools(&self, pools: Option<&[Pool]>) -> Option<u64> {
        self.rejected.or_else(|| sum_pools(pools?, |p| p.rejected))
    }
}

/// `None` when no pool has the field.
fn sum_pools(pools: &[Pool], field: fn(&Pool) -> Option<u64>) -> Option<u64> {
    pools
        .iter()
        .filter_map(field)
        .fold(None, |acc, n| Some(acc.unwrap_or(0u64).saturating_add(n)))
}
