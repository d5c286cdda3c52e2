//! Pool families (`pools`), labelled by pool index, URL (credentials
//! stripped) and worker.

use std::borrow::Cow;

use super::families::ok;
use super::writer::{ExpositionWriter, MetricType, MetricType::*};
use super::Gauge;
use crate::collector::compact::CompactPool;
use crate::collector::groups::Group;
use crate::collector::snapshot::MinerSnapshot;

/// Removes a `user:password@` part from a pool URL: pool passwords must
/// not become label values. Borrowed when there is none (nearly always:
/// this runs for every pool of every scrape).
pub fn strip_url_credentials(url: &str) -> Cow<'_, str> {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{scheme}{}", &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// Writes one pool family: `value` per pool of every miner; no header
/// when no pool has a value.
fn pool_family(
    out: &mut ExpositionWriter,
    miners: &[MinerSnapshot],
    name: &'static str,
    kind: MetricType,
    help: &str,
    value: impl Fn(&CompactPool) -> Option<f64>,
) {
    let mut header_written = false;
    for m in miners {
        if !out.groups_for(m.target.groups).has(Group::Pools) {
            continue;
        }
        let Ok(pools) = &m.pools else { continue };
        for pool in pools.0.iter() {
            if let Some(v) = value(pool) {
                if !header_written {
                    out.family(name, kind, help);
                    header_written = true;
                }
                out.sample_prepared(m.target.label_string(), &pool.labels, v);
            }
        }
    }
}

/// Name, type, help, and the value of one pool.
type PoolFamily = (
    &'static str,
    MetricType,
    &'static str,
    fn(&CompactPool) -> Option<f64>,
);

pub fn write_pools(out: &mut ExpositionWriter, miners: &[MinerSnapshot]) {
    // Skip the label strings when no miner shows its pools.
    if !miners
        .iter()
        .any(|m| out.groups_for(m.target.groups).has(Group::Pools))
    {
        return;
    }
    let families: [PoolFamily; 9] = [
        (
            "whatsminer_pool_up",
            Gauge,
            "1 if the pool's status is Alive.",
            |p| p.alive.map(ok),
        ),
        (
            "whatsminer_pool_stratum_active",
            Gauge,
            "1 if this pool is the active stratum connection.",
            |p| p.stratum_active.gauge(),
        ),
        (
            "whatsminer_pool_priority",
            Gauge,
            "Pool priority (0 is first).",
            |p| p.priority.gauge(),
        ),
        (
            "whatsminer_pool_shares_accepted_total",
            Counter,
            "Shares accepted by the pool.",
            |p| p.accepted.gauge(),
        ),
        (
            "whatsminer_pool_shares_rejected_total",
            Counter,
            "Shares rejected by the pool.",
            |p| p.rejected.gauge(),
        ),
        (
            "whatsminer_pool_shares_stale_total",
            Counter,
            "Stale shares.",
            |p| p.stale.gauge(),
        ),
        (
            "whatsminer_pool_difficulty_accepted_total",
            Counter,
            "Sum of difficulty of accepted shares.",
            |p| p.difficulty_accepted.gauge(),
        ),
        (
            "whatsminer_pool_stratum_difficulty",
            Gauge,
            "Current stratum difficulty.",
            |p| p.stratum_difficulty.gauge(),
        ),
        (
            "whatsminer_pool_last_share_timestamp_seconds",
            Gauge,
            "Unix time of the last share sent to this pool.",
            |p| p.last_share_time.gauge().filter(|t| *t > 0.0),
        ),
    ];
    for (name, kind, help, value) in families {
        pool_family(out, miners, name, kind, help, value);
    }
}

#[cfg(test)]
mod tests {
    use super::strip_url_credentials as strip;

    #[test]
    fn strips_credentials_only() {
        assert_eq!(
            strip("stratum+tcp://user:pass@pool.example:3333"),
            "stratum+tcp://pool.example:3333"
        );
        assert_eq!(
            strip("stratum+tcp://pool.example:3333"),
            "stratum+tcp://pool.example:3333"
        );
        assert_eq!(strip("u:p@host:1"), "host:1");
        assert_eq!(
            strip("stratum+tcp://pool/path@x"),
            "stratum+tcp://pool/path@x"
        );
        assert_eq!(strip(""), "");
        assert_eq!(strip("ü://ä:ö@é"), "ü://é");
    }
}
