//! Address ranges to scan: a CIDR (`10.0.0.0/24`), a dash range
//! (`10.0.0.10-10.0.0.50`, or `10.0.0.10-50` for the last IPv4 octet), or
//! one address. IP literals only: a host name is refused, never looked up.
//!
//! A CIDR of IPv4 skips its network and broadcast addresses (prefixes up to
//! /30), as no host answers there. Ranges are walked lazily, so a large one
//! costs no memory; [`RangeGuard`] refuses one larger than the operator
//! allowed before anything is sent.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The largest scan that even `--allow-large-range` accepts: a /8 of IPv4.
pub const HARD_MAX_ADDRESSES: u128 = 1 << 24;

/// The default size limit of one scan: a /20 (4,096 addresses).
pub const DEFAULT_MAX_PREFIX: u8 = 20;

/// One range as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRange {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Net(IpNet),
    /// First and last address, inclusive, same family, first <= last.
    Span(IpAddr, IpAddr),
}

/// Why a range was refused (never quoting more than the range itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("range `{text}`: {why}")]
pub struct RangeError {
    pub text: String,
    pub why: String,
}

impl FromStr for ScanRange {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let fail = |why: &str| RangeError {
            text: text.chars().take(64).collect(),
            why: why.to_string(),
        };
        let kind = if text.contains('/') {
            let net: IpNet = text
                .parse()
                .map_err(|_| fail("not a CIDR of IP literals (e.g. 10.0.0.0/24)"))?;
            Kind::Net(net.trunc())
        } else if let Some((a, b)) = text.split_once('-') {
            let first: IpAddr = a
                .trim()
                .parse()
                .map_err(|_| fail("start is not an IP literal"))?;
            let last = match (first, b.trim().parse::<IpAddr>()) {
                (_, Ok(last)) => last,
                // `10.0.0.10-50`: the last octet only.
                (IpAddr::V4(v4), Err(_)) => {
                    let octet: u8 = b
                        .trim()
                        .parse()
                        .map_err(|_| fail("end is not an IP literal or a last octet (0-255)"))?;
                    let [a, b, c, _] = v4.octets();
                    IpAddr::from([a, b, c, octet])
                }
                (IpAddr::V6(_), Err(_)) => return Err(fail("end is not an IPv6 literal")),
            };
            if first.is_ipv4() != last.is_ipv4() {
                return Err(fail("start and end are of different IP versions"));
            }
            if to_u128(last) < to_u128(first) {
                return Err(fail("end comes before start"));
            }
            Kind::Span(first, last)
        } else {
            let ip: IpAddr = text.parse().map_err(|_| {
                fail("not an IP literal, CIDR or dash range (host names are not looked up)")
            })?;
            Kind::Span(ip, ip)
        };
        Ok(ScanRange {
            text: text.to_string(),
            kind,
        })
    }
}

impl fmt::Display for ScanRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl ScanRange {
    /// How many addresses the scan visits.
    pub fn len(&self) -> u128 {
        match self.kind {
            Kind::Net(IpNet::V4(net)) if net.prefix_len() <= 30 => {
                (1u128 << (32 - net.prefix_len())) - 2
            }
            Kind::Net(net) => {
                let bits = u32::from(net.max_prefix_len() - net.prefix_len());
                1u128.checked_shl(bits).unwrap_or(u128::MAX)
            }
            // The whole IPv6 space holds one more than u128::MAX.
            Kind::Span(a, b) => (to_u128(b) - to_u128(a)).saturating_add(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses, in order, lazily.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + Send + 'static {
        let (first, count, v4) = match self.kind {
            Kind::Net(IpNet::V4(net)) if net.prefix_len() <= 30 => {
                (to_u128(IpAddr::V4(net.network())) + 1, self.len(), true)
            }
            Kind::Net(net) => (to_u128(net.network()), self.len(), net.addr().is_ipv4()),
            Kind::Span(a, _) => (to_u128(a), self.len(), a.is_ipv4()),
        };
        (0..count).map(move |i| from_u128(first + i, v4))
    }
}

/// The size limit of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeGuard {
    /// Most addresses in all ranges together: those of an IPv4 prefix of
    /// this length (20: 4,096).
    pub max_prefix: u8,
    /// `--allow-large-range`: only [`HARD_MAX_ADDRESSES`] applies.
    pub allow_large: bool,
}

impl Default for RangeGuard {
    fn default() -> Self {
        RangeGuard {
            max_prefix: DEFAULT_MAX_PREFIX,
            allow_large: false,
        }
    }
}

impl RangeGuard {
    /// Most addresses allowed.
    pub fn limit(&self) -> u128 {
        if self.allow_large {
            HARD_MAX_ADDRESSES
        } else {
            (1u128 << (32 - u32::from(self.max_prefix.min(32)))).min(HARD_MAX_ADDRESSES)
        }
    }

    /// The total count of `ranges`, or why it is refused.
    pub fn check(&self, ranges: &[ScanRange]) -> Result<u128, String> {
        let total = ranges
            .iter()
            .fold(0u128, |sum, r| sum.saturating_add(r.len()));
        if total <= self.limit() {
            return Ok(total);
        }
        Err(if self.allow_large {
            format!(
                "{total} addresses to scan: more than {HARD_MAX_ADDRESSES} (a /8), even with --allow-large-range"
            )
        } else {
            format!(
                "{total} addresses to scan: more than a /{} ({}); split the ranges, or pass --allow-large-range (or a larger --max-range-prefix)",
                self.max_prefix,
                self.limit()
            )
        })
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::from((n as u32).to_be_bytes())
    } else {
        IpAddr::from(n.to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        let r: ScanRange = text.parse().expect(text);
        r.addresses().map(|a| a.to_string()).collect()
    }

    #[test]
    fn the_three_forms_and_their_addresses() {
        assert_eq!(all("127.1.0.0/30"), ["127.1.0.1", "127.1.0.2"]);
        assert_eq!(all("127.1.0.7/31"), ["127.1.0.6", "127.1.0.7"]);
        assert_eq!(all("127.1.0.254-127.1.1.1").len(), 4);
        assert_eq!(
            all("127.1.0.10-12"),
            ["127.1.0.10", "127.1.0.11", "127.1.0.12"]
        );
        assert_eq!(all("127.1.0.9"), ["127.1.0.9"]);
        assert_eq!(all("::1"), ["::1"]);
        assert_eq!(all("fd00::/126").len(), 4);
        assert_eq!(all("fd00::1-fd00::3").len(), 3);
        let r: ScanRange = "127.2.0.0/22".parse().expect("cidr");
        assert_eq!(r.len(), 1022);
        assert_eq!(r.addresses().count(), 1022);
    }

    #[test]
    fn names_and_nonsense_are_refused_without_a_lookup() {
        for bad in [
            "localhost",
            "miner-1.farm",
            "10.0.0.300",
            "10.0.0.10-300",
            "10.0.0.10-5",
            "10.0.0.1-::1",
            "10.0.0.0/33",
            "",
            "fd00::1-5",
        ] {
            assert!(bad.parse::<ScanRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_guard_counts_all_ranges_together() {
        let r = |t: &str| t.parse::<ScanRange>().expect(t);
        let guard = RangeGuard::default();
        assert_eq!(guard.check(&[r("127.2.0.0/20")]), Ok(4094));
        assert!(guard.check(&[r("127.2.0.0/19")]).is_err());
        assert!(guard
            .check(&[r("127.2.0.0/20"), r("127.3.0.0/20")])
            .is_err());
        let wide = RangeGuard {
            allow_large: true,
            ..guard
        };
        assert!(wide.check(&[r("127.2.0.0/16")]).is_ok());
        // The whole IPv6 space is refused, not counted as none (no overflow).
        let everything = r("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assert_eq!(everything.len(), u128::MAX);
        assert!(wide.check(&[everything]).is_err());
        assert!(wide.check(&[r("10.0.0.0/7")]).is_err());
        assert!(wide.check(&[r("fd00::/64")]).is_err());
        let msg = guard.check(&[r("127.0.0.0/16")]).unwrap_err();
        assert!(msg.contains("--allow-large-range"), "{msg}");
    }
}
