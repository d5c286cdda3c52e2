//! Which API a miner speaks: configured (`v2`, `v3`) or detected (`auto`),
//! and on which port.
//!
//! **Ports.** The configuration gives every address a port, 4028 by
//! default. API v3 never listens on 4028 (that is the v2 port, which v3
//! firmware keeps for its reduced v2), so a v3 miner whose address has
//! port 4028 is reached on 4433; any other port is taken as the v3 port
//! as written (port forwarding, the simulator). See [`v3_addr`].
//!
//! **Detection** (`auto`), once per miner, then cached:
//! 1. API v3 first: `get.device.info` `system` on [`v3_addr`], with a
//!    short timeout. Any framed v3 reply (even a refusal code) proves v3.
//! 2. Else API v2: `get_version` on the configured address. Any v2 reply
//!    (even an error) proves v2.
//!
//! Why v3 first: a v3 miner also answers a reduced v2 on 4028, so a
//! v2-first probe (or the firmware-date rule of other clients, which needs
//! a v2 read first) picks v2 for it and loses the v3-only data; and build
//! dates do not tell whether v3 is on (a 2024-11 build may or may not
//! have it). The vendor's own worker probes v3 first, as here. On a v2
//! miner the cost is one refused connection to 4433, once.
//!
//! A v2 answer after an *inconclusive* v3 probe (timeout, reset: not a
//! refused port or a non-v3 reply) is cached only for
//! [`DetectConfig::provisional_ttl`], then v3 is tried again. A detected
//! API is forgotten after [`DetectConfig::redetect_after`] consecutive
//! failed scrapes, so a firmware upgrade is noticed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::api::Api;
use super::streak::{record_outcome, FailureStreak};
use super::v3::{V3Client, DEVICE_INFO};
use super::Client;
use crate::error::{ErrorKind, MinerError};
use crate::protocol::v3::request::device_info_request;
use crate::protocol::v3::{DeviceInfoSection, DEFAULT_PORT as V3_PORT};
use crate::transport::{MinerAddr, DEFAULT_PORT as V2_PORT};

/// The v3 address of a configured address: port 4028 becomes 4433, any
/// other port is kept (see the module doc).
pub fn v3_addr(addr: &MinerAddr) -> MinerAddr {
    if addr.port() == V2_PORT {
        addr.with_port(V3_PORT)
    } else {
        addr.clone()
    }
}

/// Detection settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectConfig {
    /// Bound on the v3 probe (connect and reply): a v2 miner refuses 4433
    /// at once, so this only matters where 4433 is filtered.
    pub probe_timeout: Duration,
    /// Consecutive failed scrapes after which a detected API is forgotten.
    pub redetect_after: u32,
    /// How long a v2 result after an inconclusive v3 probe is kept.
    pub provisional_ttl: Duration,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            probe_timeout: Duration::from_secs(2),
            redetect_after: 3,
            provisional_ttl: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    api: Api,
    failures: FailureStreak,
    /// Set for a provisional result.
    expires: Option<Instant>,
}

/// The per-miner cache of detected APIs. Shared by all scrapes.
#[derive(Debug, Default)]
pub struct ProtocolDetector {
    config: DetectConfig,
    entries: Mutex<HashMap<MinerAddr, Entry>>,
    /// The last API each miner was found to speak, kept after the entry is
    /// forgotten so that a down miner's labels do not change.
    last: Mutex<HashMap<MinerAddr, Api>>,
    detections: AtomicU64,
}

impl ProtocolDetector {
    pub fn new(config: DetectConfig) -> Self {
        ProtocolDetector {
            config,
            ..ProtocolDetector::default()
        }
    }

    /// How many detections (probe sequences) ran.
    pub fn detections(&self) -> u64 {
        self.detections.load(Ordering::Relaxed)
    }

    /// The cached API of `addr`, if detected and still valid.
    pub fn cached(&self, addr: &MinerAddr) -> Option<Api> {
        let mut map = self.entries.lock().ok()?;
        let entry = *map.get(addr)?;
        if entry.expires.is_some_and(|at| Instant::now() >= at) {
            map.remove(addr);
            return None;
        }
        Some(entry.api)
    }

    /// The last API `addr` was found to speak, even if since forgotten.
    pub fn last_known(&self, addr: &MinerAddr) -> Option<Api> {
        self.last.lock().ok()?.get(addr).copied()
    }

    /// The API to scrape `addr` in: `wanted` as configured, or (`None` =
    /// auto) the cached or freshly detected one. Detection is bounded by
    /// `deadline`; when neither API answers, the v2 probe's error.
    pub async fn api(
        &self,
        client: &Client,
        addr: &MinerAddr,
        wanted: Option<Api>,
        deadline: Instant,
    ) -> Result<Api, MinerError> {
        match wanted.or_else(|| self.cached(addr)) {
            Some(api) => Ok(api),
            None => self.detect(client, addr, deadline).await,
        }
    }

    /// Runs the probes (see the module doc) and caches the result.
    pub async fn detect(
        &self,
        client: &Client,
        addr: &MinerAddr,
        deadline: Instant,
    ) -> Result<Api, MinerError> {
        self.detections.fetch_add(1, Ordering::Relaxed);
        let remaining = || deadline.saturating_duration_since(Instant::now());
        let mut probe = *client.config();
        probe.read_retries = 0;
        probe.limits.connect_timeout = probe.limits.connect_timeout.min(self.config.probe_timeout);
        probe.limits.deadline = self.config.probe_timeout.min(remaining());
        let request = device_info_request(Some(DeviceInfoSection::System));
        let v3 = V3Client::new(probe)
            .request(&v3_addr(addr), DEVICE_INFO, &request, false)
            .await;
        let v3_conclusive = match &v3 {
            Ok(_) => return Ok(self.store(addr, Api::V3, None)),
            Err(e) if is_v3_answer(&e.kind) => return Ok(self.store(addr, Api::V3, None)),
            Err(e) => is_clearly_not_v3(&e.kind),
        };
        let mut v2_config = *client.config();
        v2_config.limits.deadline = v2_config.limits.deadline.min(remaining());
        if v2_config.limits.deadline.is_zero() {
            return Err(MinerError::new(
                addr.to_string(),
                "get_version",
                ErrorKind::DeadlineExceeded,
            ));
        }
        match Client::new(v2_config).get_version(addr).await {
            Ok(_) => {}
            Err(e) if is_v2_answer(&e.kind) => {}
            Err(e) => return Err(e),
        }
        let expires = (!v3_conclusive).then(|| Instant::now() + self.config.provisional_ttl);
        Ok(self.store(addr, Api::V2, expires))
    }

    fn store(&self, addr: &MinerAddr, api: Api, expires: Option<Instant>) -> Api {
        tracing::debug!(miner = %addr, api = api.as_str(), provisional = expires.is_some(), "API detected");
        if let Ok(mut map) = self.entries.lock() {
            map.insert(
                addr.clone(),
                Entry {
                    api,
                    failures: FailureStreak::default(),
                    expires,
                },
            );
        }
        if let Ok(mut last) = self.last.lock() {
            last.insert(addr.clone(), api);
        }
        api
    }

    /// Records the outcome of a scrape of an auto-detected miner; after
    /// `redetect_after` failures in a row the cached API is forgotten.
    pub fn record(&self, addr: &MinerAddr, success: bool) {
        if let Ok(mut map) = self.entries.lock() {
            let limit = self.config.redetect_after;
            record_outcome(&mut map, addr, success, limit, |e| &mut e.failures);
        }
    }

    /// Forgets `addr`'s detected API (e.g. after a firmware upgrade).
    pub fn forget(&self, addr: &MinerAddr) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(addr);
        }
    }

    /// Drops the entries of miners no longer configured.
    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|k, _| keep.contains(k));
        }
        if let Ok(mut last) = self.last.lock() {
            last.retain(|k, _| keep.contains(k));
        }
    }

    /// Miners with an entry or a last known API.
    pub fn remembered(&self) -> usize {
        let entries = self.entries.lock().map_or(0, |m| m.len());
        let last = self.last.lock().map_or(0, |m| m.len());
        entries.max(last)
    }
}

/// A v3 reply that refused the request still proves the port speaks v3.
pub(crate) fn is_v3_answer(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Miner { .. } | ErrorKind::PermissionDenied)
}

/// Failures that show nothing v3 listens there: a refused port, or bytes
/// that are not a v3 frame (a v2 server's raw JSON reads as an absurd
/// length, or as a frame without a v3 envelope). A timeout, a reset or a
/// close without reply may be a busy v3 miner: inconclusive.
fn is_clearly_not_v3(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectRefused
            | ErrorKind::ReplyTooLarge { .. }
            | ErrorKind::NotJson(_)
            | ErrorKind::UnexpectedShape(_)
    )
}

/// A v2 error reply still proves the port speaks v2.
fn is_v2_answer(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Miner { .. }
            | ErrorKind::OverMaxConnect
            | ErrorKind::WriteApiDisabled
            | ErrorKind::PermissionDenied
    )
}

#[cfg(test)]
mod tests;
