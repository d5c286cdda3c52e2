//! Fleet discovery: scan address ranges for Whatsminers, with bounded
//! concurrency, short timeouts and a rate bound, sending read-only commands
//! only ([`identify`] says which and how a Whatsminer is told from other
//! devices). Used by the `discover` command and by serve-time discovery
//! (`collector::discovery`).
//!
//! Port 4433 is probed as API v3, every other port as API v2. A miner that
//! answers on both is one miner: its target is its v2 address on 4028
//! (the exporter reaches v3 on 4433 from there), its protocol `v3`.

mod identify;
mod pace;
mod range;

pub use identify::Identity;
pub use range::{RangeError, RangeGuard, ScanRange, DEFAULT_MAX_PREFIX};

use identify::PortOutcome;
use pace::Pacer;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::{Api, Client, ClientConfig};
use crate::protocol::v3::DEFAULT_PORT as V3_PORT;
use crate::transport::{Limits, DEFAULT_PORT as V2_PORT};

/// How to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Ports probed on every address (4433: API v3; others: API v2).
    pub ports: Vec<u16>,
    /// Addresses probed at once.
    pub concurrency: usize,
    /// Bound on each connect, and on each reply after it (an exchange takes
    /// at most twice this).
    pub timeout: Duration,
    /// Most new connections per second (0: no bound).
    pub rate: u32,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            ports: vec![V2_PORT, V3_PORT],
            concurrency: 64,
            timeout: Duration::from_secs(2),
            rate: 500,
        }
    }
}

/// A Whatsminer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where the exporter should read it (see the module doc).
    pub target: SocketAddr,
    /// The API the exporter should speak: v3 when it answered v3.
    pub api: Api,
    /// Whether it answered API v2 and API v3.
    pub v2: bool,
    pub v3: bool,
    pub identity: Identity,
}

impl Found {
    /// The name discovery gives a miner: its MAC address in lower case, so
    /// that its series keep their `miner` label when its address changes.
    pub fn name(&self) -> Option<String> {
        self.identity.mac.as_ref().map(|m| m.to_ascii_lowercase())
    }
}

/// A device that answered and is not taken for a Whatsminer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub addr: SocketAddr,
    pub reason: String,
}

/// What a scan found, sorted by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub ranges: Vec<String>,
    /// Addresses visited.
    pub addresses: u64,
    /// Addresses where some port accepted a connection.
    pub answering: u64,
    pub found: Vec<Found>,
    pub skipped: Vec<Skipped>,
}

/// Addresses done so far, for a progress display.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn done(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Scans `ranges` (already checked by a [`RangeGuard`]).
pub async fn scan(ranges: &[ScanRange], options: &ScanOptions, progress: &Progress) -> ScanReport {
    let client = Client::new(ClientConfig {
        limits: Limits {
            // The deadline past the connect bound, so that an address where
            // nothing answers the SYN reads as a connect timeout (nothing
            // there), not as a device that accepted and kept quiet.
            connect_timeout: options.timeout,
            deadline: options.timeout.saturating_mul(2),
            // Identity replies are small; a flood is not a miner.
            max_reply_bytes: 256 * 1024,
        },
        read_retries: 0,
        retry_backoff: Duration::ZERO,
    });
    let pacer = Arc::new(Pacer::new(options.rate));
    let ports: Arc<[u16]> = options.ports.clone().into();
    let mut report = ScanReport {
        ranges: ranges.iter().map(ToString::to_string).collect(),
        ..ScanReport::default()
    };
    let mut tasks = JoinSet::new();
    let addresses = ranges.iter().flat_map(ScanRange::addresses);
    for ip in addresses {
        while tasks.len() >= options.concurrency.max(1) {
            if let Some(Ok(host)) = tasks.join_next().await {
                report.add(host);
            }
        }
        let (client, pacer, ports, progress) = (
            client.clone(),
            pacer.clone(),
            ports.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            let host = probe_host(&client, &pacer, ip, &ports).await;
            progress.0.fetch_add(1, Ordering::Relaxed);
            host
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(host) = joined {
            report.add(host);
        }
    }
    report.found.sort_by_key(|f| f.target);
    report.skipped.sort_by_key(|s| s.addr);
    report
}

/// One address: every port, then one verdict.
struct Host {
    found: Option<Found>,
    skipped: Vec<Skipped>,
    answering: bool,
}

impl ScanReport {
    fn add(&mut self, host: Host) {
        self.addresses += 1;
        self.answering += u64::from(host.answering);
        match host.found {
            Some(found) => self.found.push(found),
            None => self.skipped.extend(host.skipped),
        }
    }
}

async fn probe_host(client: &Client, pacer: &Pacer, ip: IpAddr, ports: &[u16]) -> Host {
    let mut host = Host {
        found: None,
        skipped: Vec::new(),
        answering: false,
    };
    let mut v2: Option<(SocketAddr, Identity)> = None;
    let mut v3: Option<(SocketAddr, Identity)> = None;
    for &port in ports {
        let addr = SocketAddr::new(ip, port);
        let outcome = if port == V3_PORT {
            identify::probe_v3(client, pacer, addr).await
        } else {
            identify::probe_v2(client, pacer, addr).await
        };
        match outcome {
            PortOutcome::Silent => {}
            PortOutcome::Whatsminer(id) => {
                host.answering = true;
                let slot = if port == V3_PORT { &mut v3 } else { &mut v2 };
                if slot.is_none() {
                    *slot = Some((addr, id));
                }
            }
            PortOutcome::Other(reason) => {
                host.answering = true;
                host.skipped.push(Skipped { addr, reason });
            }
        }
    }
    let (target, api, mut identity) = match (&v2, &v3) {
        (Some((a2, _)), Some((_, id3))) if a2.port() == V2_PORT => (*a2, Api::V3, id3.clone()),
        (_, Some((a3, id3))) => (*a3, Api::V3, id3.clone()),
        (Some((a2, id2)), None) => (*a2, Api::V2, id2.clone()),
        (None, None) => return host,
    };
    if let Some((_, id2)) = &v2 {
        identity.merge(id2);
    }
    host.found = Some(Found {
        target,
        api,
        v2: v2.is_some(),
        v3: v3.is_some(),
        identity,
    });
    host
}
