//! Miner addresses as operators write them: `10.0.0.5`, `10.0.0.5:4028`,
//! `[fe80::1]:4028`, `miner-17.farm.lan`. A bare host gets the API's default
//! port. Literal IPs are resolved at parse time so that the hot scrape path
//! never touches the resolver.

use crate::error::ErrorKind;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// API v2's TCP port: the port of a bare host.
pub const DEFAULT_PORT: u16 = 4028;

/// A miner's `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MinerAddr {
    host: String,
    port: u16,
    literal: Option<SocketAddr>,
}

impl MinerAddr {
    pub fn from_socket_addr(addr: SocketAddr) -> Self {
        MinerAddr {
            host: addr.ip().to_string(),
            port: addr.port(),
            literal: Some(addr),
        }
    }

    /// Parses with a given default port for addresses that name none.
    pub fn parse_with_default_port(text: &str, default_port: u16) -> Result<Self, ErrorKind> {
        let text = text.trim();
        let invalid = || ErrorKind::InvalidAddress(crate::error::truncate_for_log(text, 80));
        if text.is_empty() {
            return Err(invalid());
        }
        if let Ok(sa) = text.parse::<SocketAddr>() {
            // Port 0 is "any port" to bind, never a miner to connect to.
            if sa.port() == 0 {
                return Err(invalid());
            }
            return Ok(Self::from_socket_addr(sa));
        }
        if let Ok(ip) = text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(Self::from_socket_addr(SocketAddr::new(ip, default_port)));
        }
        let (host, port) = match text.rsplit_once(':') {
            // Digits only: `u16::from_str` would also take `+4028`.
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (h, p.parse::<u16>().map_err(|_| invalid())?)
            }
            Some(_) => return Err(invalid()),
            None => (text, default_port),
        };
        // An IP in a form the std parser refused (a port with leading zeros)
        // is still an IP: keep it literal, so equal addresses compare equal.
        if let Ok(ip) = host.parse::<IpAddr>() {
            if port == 0 {
                return Err(invalid());
            }
            return Ok(Self::from_socket_addr(SocketAddr::new(ip, port)));
        }
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        // `10.0.0.300` would pass as a host name, but a name made only of
        // digits and dots is always a mistyped IPv4 address (no top-level
        // domain is numeric): an error, never a DNS query.
        let numeric = host.chars().all(|c| c.is_ascii_digit() || c == '.');
        if !host_ok || numeric || port == 0 {
            return Err(invalid());
        }
        Ok(MinerAddr {
            host: host.to_string(),
            port,
            literal: None,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The IP address when the address is written as one (not a host name).
    pub fn literal_ip(&self) -> Option<std::net::IpAddr> {
        self.literal.map(|sa| sa.ip())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The same host on another port (used to try API v3 on 4433).
    pub fn with_port(&self, port: u16) -> Self {
        MinerAddr {
            host: self.host.clone(),
            port,
            literal: self.literal.map(|sa| SocketAddr::new(sa.ip(), port)),
        }
    }

    /// The socket address, resolving a host name if needed (first answer).
    pub async fn resolve(&self) -> Result<SocketAddr, ErrorKind> {
        if let Some(sa) = self.literal {
            return Ok(sa);
        }
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| ErrorKind::InvalidAddress(format!("{}: {}", self.host, e.kind())))?;
        addrs
            .next()
            .ok_or_else(|| ErrorKind::InvalidAddress(format!("{}: no address", self.host)))
    }

    /// [`MinerAddr::resolve`] within `timeout`: a broken resolver can hang,
    /// so the lookup is bounded like a connect (`ConnectTimeout`).
    pub async fn resolve_within(
        &self,
        timeout: std::time::Duration,
    ) -> Result<SocketAddr, ErrorKind> {
        match tokio::time::timeout(timeout, self.resolve()).await {
            Ok(resolved) => resolved,
            Err(_) => Err(ErrorKind::ConnectTimeout),
        }
    }
}

impl FromStr for MinerAddr {
    type Err = ErrorKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_with_default_port(s, DEFAULT_PORT)
    }
}

impl fmt::Display for MinerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.literal {
            Some(sa) => write!(f, "{sa}"),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_operators_write() {
        let a: MinerAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(a.to_string(), "10.0.0.5:4028");
        let a: MinerAddr = "127.1.0.9:14028".parse().unwrap();
        assert_eq!(a.port(), 14028);
        let a: MinerAddr = "[::1]:4028".parse().unwrap();
        assert_eq!(a.to_string(), "[::1]:4028");
        let a: MinerAddr = "::1".parse().unwrap();
        assert_eq!(a.to_string(), "[::1]:4028");
        let a: MinerAddr = "[fe80::1]".parse().unwrap();
        assert_eq!(a.port(), 4028);
        let a: MinerAddr = "miner-17.farm.lan".parse().unwrap();
        assert_eq!(a.to_string(), "miner-17.farm.lan:4028");
        assert_eq!(a.with_port(4433).to_string(), "miner-17.farm.lan:4433");
    }

    #[test]
    fn a_mistyped_ip_is_an_error_never_a_host_name() {
        for typo in [
            "10.0.0.300",
            "10.0.0.300:4028",
            "10.0.0",
            "010.0.0.1",
            "4028",
            "1.2.3.4.5",
        ] {
            assert!(typo.parse::<MinerAddr>().is_err(), "{typo}");
        }
        assert!("rack-10.farm".parse::<MinerAddr>().is_ok());
    }

    #[test]
    fn one_address_written_two_ways_is_one_address() {
        // Found by the miner_addr fuzz target: `+04433` made an IP a name.
        let a: MinerAddr = "2.1.0.9:04433".parse().unwrap();
        let b: MinerAddr = "2.1.0.9:4433".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string().parse::<MinerAddr>().unwrap(), a);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            " ",
            "host:",
            "host:99999",
            "host:0",
            "127.0.0.1:0",
            "[::1]:0",
            "10.0.0.5:+4028",
            "miner:+4028",
            "miner:-1",
            "a b",
            "http://x",
            "x:y:z",
            "🙂",
        ] {
            assert!(
                bad.parse::<MinerAddr>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[tokio::test]
    async fn resolves_localhost() {
        let a: MinerAddr = "localhost:4028".parse().unwrap();
        let sa = a.resolve().await.unwrap();
        assert!(sa.ip().is_loopback());
    }
}
