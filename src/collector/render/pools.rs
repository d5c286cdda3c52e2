//! Pool families (`pools`), labelled by pool index, URL (credentials
//! stripped) and worker.

use super::families::{family, ok};
use super::writer::{ExpositionWriter, MetricType::*};
use super::Gauge;
use crate::client::types::Pool;
use crate::collector::snapshot::MinerSnapshot;

/// Removes a `user:password@` part from a pool URL: pool passwords must
/// not become label values.
pub fn strip_url_credentials(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn each_pool(m: &MinerSnapshot, mut f: impl FnMut(&[(&str, &str)], &Pool)) {
    if let Ok(pools) = &m.pools {
        for (i, pool) in pools.0.iter().enumerate() {
            let mut buf = itoa::Buffer::new();
            let index = buf.format(pool.pool.unwrap_or(i as u64)).to_string();
            let url = strip_url_credentials(pool.url.as_deref().unwrap_or(""));
            let user = pool.user.as_deref().unwrap_or("");
            f(&[("pool", &index), ("url", &url), ("user", user)], pool);
        }
    }
}

pub fn write_pools(out: &mut ExpositionWriter, miners: &[MinerSnapshot]) {
    family(
        out,
        miners,
        "whatsminer_pool_up",
        Gauge,
        "1 if the pool's status is Alive.",
        |m, e| each_pool(m, |l, p| e(l, p.alive().map(ok))),
    );
    family(
        out,
        miners,
        "whatsminer_pool_stratum_active",
        Gauge,
        "1 if this pool is the active stratum connection.",
        |m, e| each_pool(m, |l, p| e(l, p.stratum_active.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_priority",
        Gauge,
        "Pool priority (0 is first).",
        |m, e| each_pool(m, |l, p| e(l, p.priority.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_shares_accepted_total",
        Counter,
        "Shares accepted by the pool.",
        |m, e| each_pool(m, |l, p| e(l, p.accepted.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_shares_rejected_total",
        Counter,
        "Shares rejected by the pool.",
        |m, e| each_pool(m, |l, p| e(l, p.rejected.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_shares_stale_total",
        Counter,
        "Stale shares.",
        |m, e| each_pool(m, |l, p| e(l, p.stale.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_difficulty_accepted_total",
        Counter,
        "Sum of difficulty of accepted shares.",
        |m, e| each_pool(m, |l, p| e(l, p.difficulty_accepted.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_stratum_difficulty",
        Gauge,
        "Current stratum difficulty.",
        |m, e| each_pool(m, |l, p| e(l, p.stratum_difficulty.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_pool_last_share_timestamp_seconds",
        Gauge,
        "Unix time of the last share sent to this pool.",
        |m, e| {
            each_pool(m, |l, p| {
                e(l, p.last_share_time.gauge().filter(|t| *t > 0.0))
            })
        },
    );
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
