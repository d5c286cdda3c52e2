//! The `pools` reply: one entry per configured pool (up to three), with
//! its share counters. Difficulties are share difficulties; times are Unix
//! seconds.

use serde::Deserialize;

use super::lenient;

/// One pool of a `pools` reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Pool {
    /// Pool index as the firmware numbers it (1-based on the captures seen).
    #[serde(rename = "POOL", default, deserialize_with = "lenient::u64")]
    pub pool: Option<u64>,
    #[serde(rename = "URL", default, deserialize_with = "lenient::string")]
    pub url: Option<String>,
    /// `"Alive"`, `"Dead"`, ...; see [`Pool::alive`].
    #[serde(rename = "Status", default, deserialize_with = "lenient::string")]
    pub status: Option<String>,
    /// 0 is the first choice.
    #[serde(rename = "Priority", default, deserialize_with = "lenient::i64")]
    pub priority: Option<i64>,
    #[serde(rename = "Quota", default, deserialize_with = "lenient::i64")]
    pub quota: Option<i64>,
    /// Worker name (`account.worker`).
    #[serde(rename = "User", default, deserialize_with = "lenient::string")]
    pub user: Option<String>,
    #[serde(rename = "Getworks", default, deserialize_with = "lenient::u64")]
    pub getworks: Option<u64>,
    #[serde(rename = "Works", default, deserialize_with = "lenient::u64")]
    pub works: Option<u64>,
    #[serde(rename = "Accepted", default, deserialize_with = "lenient::u64")]
    pub accepted: Option<u64>,
    #[serde(rename = "Rejected", default, deserialize_with = "lenient::u64")]
    pub rejected: Option<u64>,
    #[serde(rename = "Stale", default, deserialize_with = "lenient::u64")]
    pub stale: Option<u64>,
    #[serde(rename = "Discarded", default, deserialize_with = "lenient::u64")]
    pub discarded: Option<u64>,
    #[serde(rename = "Get Failures", default, deserialize_with = "lenient::u64")]
    pub get_failures: Option<u64>,
    #[serde(rename = "Remote Failures", default, deserialize_with = "lenient::u64")]
    pub remote_failures: Option<u64>,
    #[serde(rename = "Bad Work", default, deserialize_with = "lenient::u64")]
    pub bad_work: Option<u64>,
    /// Unix time of the last share; 0 when none yet.
    #[serde(rename = "Last Share Time", default, deserialize_with = "lenient::u64")]
    pub last_share_time: Option<u64>,
    #[serde(rename = "Diff1 Shares", default, deserialize_with = "lenient::u64")]
    pub diff1_shares: Option<u64>,
    #[serde(
        rename = "Difficulty Accepted",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub difficulty_accepted: Option<f64>,
    #[serde(
        rename = "Difficulty Rejected",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub difficulty_rejected: Option<f64>,
    #[serde(
        rename = "Difficulty Stale",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub difficulty_stale: Option<f64>,
    #[serde(
        rename = "Last Share Difficulty",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub last_share_difficulty: Option<f64>,
    #[serde(rename = "Best Share", default, deserialize_with = "lenient::f64")]
    pub best_share: Option<f64>,
    /// Percent.
    #[serde(rename = "Pool Rejected%", default, deserialize_with = "lenient::f64")]
    pub pool_rejected_pct: Option<f64>,
    /// Percent.
    #[serde(rename = "Pool Stale%", default, deserialize_with = "lenient::f64")]
    pub pool_stale_pct: Option<f64>,
    /// `true` or `1` on the wire.
    #[serde(rename = "Has Stratum", default, deserialize_with = "lenient::bool")]
    pub has_stratum: Option<bool>,
    /// Whether the miner is mining on this pool now.
    #[serde(rename = "Stratum Active", default, deserialize_with = "lenient::bool")]
    pub stratum_active: Option<bool>,
    /// Host the stratum connection went to (may differ from `URL`).
    #[serde(rename = "Stratum URL", default, deserialize_with = "lenient::string")]
    pub stratum_url: Option<String>,
    #[serde(
        rename = "Stratum Difficulty",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub stratum_difficulty: Option<f64>,
    #[serde(
        rename = "Current Block Height",
        default,
        deserialize_with = "lenient::u64"
    )]
    pub current_block_height: Option<u64>,
    #[serde(
        rename = "Current Block Version",
        default,
        deserialize_with = "lenient::u64"
    )]
    pub current_block_version: Option<u64>,
}

impl Pool {
    /// `Some(true)` when the firmware reports the pool `Alive`.
    pub fn alive(&self) -> Option<bool> {
        self.status
            .as_deref()
            .map(|s| s.trim().eq_ignore_ascii_case("alive"))
    }
}

/// The `pools` reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pools(pub Vec<Pool>);
