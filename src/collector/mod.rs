//! The collector: a concurrent, deadline-bound scrape of many miners into
//! snapshots. Per miner, `summary`, `devs` and `pools` run at once; across
//! the fleet a semaphore bounds how many miners are in flight, so 5,000
//! miners never exhaust file descriptors. A miner that misses the deadline
//! is reported down with a reason; it never delays the whole answer.
//!
//! Every read of a miner, `/probe`'s included, first enters that miner's
//! gate (one visit per miner at a time, see [`gate`]) and then takes a slot
//! of the fleet-wide semaphore.
//!
//! Slow-changing data (`devdetails`, `get_version`, `get_psu`,
//! `get_error_code`, `status`, `get_miner_info`) is cached per miner and
//! refreshed rarely, with jitter so a big fleet does not refresh all at once.
//! A fleet scrape fetches it inline only in the first half of its budget;
//! later, it is put off to a background refresh ([`deferred`]).
//!
//! Each miner is scraped in the API its target names, or (`auto`) the one
//! the [`ProtocolDetector`] found. API v3 miners give the same typed data
//! (one `get.miner.status` round trip for summary, boards and pools;
//! `get.device.info` for the slow data), so they produce the same metric
//! names; `MinerSnapshot::protocol` says which API was spoken.

pub mod compact;
pub mod deferred;
pub mod discovery;
pub mod gate;
pub mod groups;
pub mod health;
pub mod info_cache;
pub mod probed;
pub mod render;
pub mod snapshot;
pub mod target;

pub use snapshot::{FleetSnapshot, MinerSnapshot};
pub use target::MinerTarget;

use crate::client::backend::FastReads;
use crate::client::{Api, Backends, Client, ClientConfig, ProtocolDetector};
use crate::error::{ErrorKind, MinerError};
use crate::protocol::repair::{self, RepairCounts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How the collector scrapes.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Miners scraped at once across the fleet.
    pub concurrency: usize,
    /// How often the slow commands are refreshed (jittered ±25%).
    pub info_refresh: Duration,
    /// Whether to fetch the slow commands at all.
    pub fetch_info: bool,
    /// Miners outside the configuration whose state `/probe` keeps (see
    /// [`probed`]).
    pub probed_kept: usize,
    pub client: ClientConfig,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            concurrency: 256,
            info_refresh: Duration::from_secs(600),
            fetch_info: true,
            probed_kept: probed::PROBED_KEPT,
            client: ClientConfig::default(),
        }
    }
}

/// Scrapes miners. Shared by every request; caches slow data per miner.
#[derive(Debug)]
pub struct Collector {
    client: RwLock<Client>,
    semaphore: RwLock<Arc<Semaphore>>,
    config: RwLock<CollectorConfig>,
    info: info_cache::InfoCache,
    last_success: Mutex<std::collections::HashMap<crate::transport::MinerAddr, SystemTime>>,
    detector: ProtocolDetector,
    backends: Arc<Backends>,
    deferred: deferred::DeferredInfo,
    gates: gate::MinerGates,
    /// Firmware JSON defects repaired per miner (see [`repair`]).
    repairs: Mutex<HashMap<crate::transport::MinerAddr, Arc<RepairCounts>>>,
    health: health::MinerHealth,
    probed: Mutex<probed::ProbedMiners>,
}

impl Collector {
    pub fn new(config: CollectorConfig) -> Self {
        Collector {
            client: RwLock::new(Client::new(config.client)),
            semaphore: RwLock::new(Arc::new(Semaphore::new(config.concurrency.max(1)))),
            info: info_cache::InfoCache::default(),
            config: RwLock::new(config),
            last_success: Mutex::default(),
            detector: ProtocolDetector::default(),
            backends: Arc::default(),
            deferred: deferred::DeferredInfo::default(),
            gates: gate::MinerGates::default(),
            repairs: Mutex::default(),
            health: health::MinerHealth::default(),
            probed: Mutex::default(),
        }
    }

    /// The repair counts of `addr`, created on first use.
    fn repair_counts(&self, addr: &crate::transport::MinerAddr) -> Arc<RepairCounts> {
        match self.repairs.lock() {
            Ok(mut map) => map.entry(addr.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// The repair counts of `addr` if any reply of it was parsed before.
    fn known_repair_counts(&self, addr: &crate::transport::MinerAddr) -> Option<Arc<RepairCounts>> {
        self.repairs.lock().ok()?.get(addr).cloned()
    }

    /// Slow-data refreshes put off to the background (see [`deferred`]).
    pub fn deferred_info(&self) -> &deferred::DeferredInfo {
        &self.deferred
    }

    /// The per-miner cache of detected APIs (`protocol = "auto"` targets).
    pub fn detector(&self) -> &ProtocolDetector {
        &self.detector
    }

    /// The backend of each API, with its per-miner state (shared with the
    /// admin endpoint, so that writes and scrapes learn the same).
    pub fn backends(&self) -> &Arc<Backends> {
        &self.backends
    }

    /// The API to use for `target`'s writes: as configured, or for `auto`
    /// the one last detected (`None` before the first successful
    /// detection: scrape the miner first, or call
    /// [`ProtocolDetector::detect`]).
    pub fn api_for(&self, target: &MinerTarget) -> Option<Api> {
        target
            .protocol
            .fixed()
            .or_else(|| self.detector.last_known(&target.addr))
    }

    /// Applies a new configuration (on reload); caches are kept.
    pub fn reconfigure(&self, config: CollectorConfig) {
        if let Ok(mut c) = self.client.write() {
            *c = Client::new(config.client);
        }
        if let Ok(mut s) = self.semaphore.write() {
            *s = Arc::new(Semaphore::new(config.concurrency.max(1)));
        }
        if let Ok(mut c) = self.config.write() {
            *c = config;
        }
    }

    pub fn config(&self) -> CollectorConfig {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Forgets a miner's slow data so the next scrape refetches it (after
    /// an admin command changed the miner).
    pub fn invalidate_info(&self, addr: &crate::transport::MinerAddr) {
        self.info.invalidate(addr);
    }

    /// Drops cached data of miners no longer configured.
    pub fn retain(&self, targets: &[Arc<MinerTarget>]) {
        let keep: std::collections::HashSet<_> = targets.iter().map(|t| t.addr.clone()).collect();
        if let Ok(mut probed) = self.probed.lock() {
            probed.configure(keep.clone());
        }
        self.retain_addrs(&keep);
    }

    /// Drops the cached data of miners not in `keep`.
    fn retain_addrs(&self, keep: &std::collections::HashSet<crate::transport::MinerAddr>) {
        self.info.retain(keep);
        self.detector.retain(keep);
        self.backends.retain(keep);
        self.deferred.retain(keep);
        self.health.retain(keep);
        if let Ok(mut m) = self.last_success.lock() {
            m.retain(|k, _| keep.contains(k));
        }
        if let Ok(mut m) = self.repairs.lock() {
            m.retain(|k, _| keep.contains(k));
        }
    }

    fn client(&self) -> Client {
        self.client.read().map(|c| c.clone()).unwrap_or_default()
    }

    fn semaphore(&self) -> Arc<Semaphore> {
        self.semaphore
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|_| Arc::new(Semaphore::new(1)))
    }

    /// Enters `addr`'s gate, then takes a fleet slot (in that order, see
    /// [`gate`]); `None` when `deadline` passes first.
    async fn admit(
        &self,
        addr: &crate::transport::MinerAddr,
        semaphore: &Arc<Semaphore>,
        deadline: Instant,
    ) -> Option<(gate::Visit<'_>, tokio::sync::OwnedSemaphorePermit)> {
        let admitted = tokio::time::timeout_at(deadline, async {
            let visit = self.gates.enter(addr).await;
            let permit = semaphore.clone().acquire_owned().await.ok()?;
            Some((visit, permit))
        });
        admitted.await.ok().flatten()
    }

    /// Miner gates held or waited for now (see [`gate`]).
    pub fn gates_in_use(&self) -> usize {
        self.gates.len()
    }

    /// Scrapes every target concurrently; returns one snapshot per target,
    /// in target order, by `deadline` at the latest.
    pub async fn scrape_fleet(
        self: &Arc<Self>,
        targets: &[Arc<MinerTarget>],
        deadline: Instant,
    ) -> FleetSnapshot {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let semaphore = self.semaphore();
        // A fixed pool of workers pulls miners off a shared counter: only
        // `concurrency` scrape futures exist at once, so memory is bounded
        // by concurrency, not by fleet size. The semaphore still bounds the
        // total when several scrapes (Prometheus HA pairs, /probe) overlap.
        let workers = self.config().concurrency.clamp(1, targets.len().max(1));
        // Past half of the budget, a due info refresh waits for the background.
        let inline_info_until = started + deadline.saturating_duration_since(started) / 2;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let shared_targets: Arc<[Arc<MinerTarget>]> = targets.into();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let this = Arc::clone(self);
            let targets = Arc::clone(&shared_targets);
            let next = Arc::clone(&next);
            let semaphore = Arc::clone(&semaphore);
            tasks.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(target) = targets.get(index).cloned() else {
                        break;
                    };
                    let admitted = this.admit(&target.addr, &semaphore, deadline).await;
                    let snapshot = match admitted {
                        Some(_visit) => {
                            this.scrape_one(target, deadline, Some(inline_info_until))
                                .await
                        }
                        None => this.failed_snapshot(
                            target,
                            ErrorKind::DeadlineExceeded,
                            Duration::ZERO,
                        ),
                    };
                    done.push((index, snapshot));
                }
                done
            });
        }
        let mut slots: Vec<Option<MinerSnapshot>> = vec![None; targets.len()];
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => {
                    for (index, snapshot) in done {
                        if let Some(slot) = slots.get_mut(index) {
                            *slot = Some(snapshot);
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "miner scrape worker failed"),
            }
        }
        let miners: Vec<MinerSnapshot> = slots
            .into_iter()
            .zip(targets)
            .map(|(slot, target)| {
                slot.unwrap_or_else(|| {
                    self.failed_snapshot(
                        Arc::clone(target),
                        ErrorKind::Other("scrape task failed".into()),
                        Duration::ZERO,
                    )
                })
            })
            .collect();
        let duration = started.elapsed();
        self.health.observe(&miners, duration);
        deferred::spawn_refresh(self, semaphore);
        FleetSnapshot {
            miners,
            started_at: Some(started_at),
            duration,
        }
    }

    /// Scrapes one miner (`/probe`), never past `deadline`, under its gate
    /// and a fleet slot like a fleet scrape; due slow data is fetched
    /// inline.
    pub async fn scrape_miner(&self, target: Arc<MinerTarget>, deadline: Instant) -> MinerSnapshot {
        self.note_probe(&target.addr);
        let semaphore = self.semaphore();
        match self.admit(&target.addr, &semaphore, deadline).await {
            Some(_visit) => self.scrape_one(target, deadline, None).await,
            None => self.failed_snapshot(target, ErrorKind::DeadlineExceeded, Duration::ZERO),
        }
    }

    /// Scrapes one miner. Due slow data is fetched inline until
    /// `inline_info_until` (always, if `None`), later put off to the
    /// background and the cached data used.
    async fn scrape_one(
        &self,
        target: Arc<MinerTarget>,
        deadline: Instant,
        inline_info_until: Option<Instant>,
    ) -> MinerSnapshot {
        let started = Instant::now();
        let mut client = self.client();
        let mut config = *client.config();
        let remaining = deadline.saturating_duration_since(started);
        if remaining.is_zero() {
            return self.failed_snapshot(target, ErrorKind::DeadlineExceeded, Duration::ZERO);
        }
        config.limits.deadline = config.limits.deadline.min(remaining);
        client = Client::new(config);
        let addr = &target.addr;
        let wanted = target.protocol.fixed();
        let api = match self.detector.api(&client, addr, wanted, deadline).await {
            Ok(api) => api,
            Err(e) => {
                tracing::debug!(miner = %target.name, reason = e.reason(), error = %e, "API not detected");
                let api = self.detector.last_known(addr).unwrap_or(Api::V2);
                return self.failed_snapshot_with(target, e, started.elapsed(), api);
            }
        };
        let backend = self.backends.get(api);
        let repairs = self.repair_counts(addr);
        let FastReads {
            mut summary,
            devs,
            pools,
        } = repair::counted(repairs.clone(), backend.fast(&client, addr)).await;
        if wanted.is_none() {
            self.detector.record(addr, summary.is_ok());
        }
        let now = SystemTime::now();
        let last_success = self.note_success(addr, summary.is_ok(), now);
        if let Ok(s) = &summary {
            self.info.observe_elapsed(addr, s.elapsed.map(|e| e as f64));
        }
        let config = self.config();
        let put_off = inline_info_until.is_some_and(|until| Instant::now() >= until);
        let info = if !config.fetch_info || summary.is_err() {
            self.info.cached(addr)
        } else if put_off && self.info.is_due(addr, api, config.info_refresh) {
            self.deferred.note(&target, api);
            self.info.cached(addr)
        } else {
            let refresh =
                self.info
                    .get_or_refresh(&client, &target, backend, deadline, config.info_refresh);
            repair::counted(repairs.clone(), refresh).await
        };
        if let (Ok(s), Some(i)) = (&mut summary, &info) {
            backend.complete(s, i.error_code_count());
        }
        if let Err(e) = &summary {
            // Changes are logged once by `health`; this is per scrape.
            tracing::trace!(miner = %target.name, reason = e.reason(), error = %e, "miner down");
        }
        let dialect = backend.dialect(addr);
        let (summary, devs, pools) = compact::replies(summary, devs, pools);
        MinerSnapshot {
            target,
            scraped_at: SystemTime::now(),
            duration: started.elapsed(),
            summary,
            devs,
            pools,
            info,
            last_success,
            api,
            dialect,
            repairs: Some(repairs),
        }
    }

    fn note_success(
        &self,
        addr: &crate::transport::MinerAddr,
        ok: bool,
        now: SystemTime,
    ) -> Option<SystemTime> {
        let mut map = self.last_success.lock().ok()?;
        if ok {
            map.insert(addr.clone(), now);
            Some(now)
        } else {
            map.get(addr).copied()
        }
    }

    fn failed_snapshot(
        &self,
        target: Arc<MinerTarget>,
        kind: ErrorKind,
        duration: Duration,
    ) -> MinerSnapshot {
        let err = MinerError::new(target.addr.to_string(), "summary", kind);
        let api = self.api_for(&target).unwrap_or(Api::V2);
        self.failed_snapshot_with(target, err, duration, api)
    }

    fn failed_snapshot_with(
        &self,
        target: Arc<MinerTarget>,
        err: MinerError,
        duration: Duration,
        api: Api,
    ) -> MinerSnapshot {
        let last_success = self
            .last_success
            .lock()
            .ok()
            .and_then(|m| m.get(&target.addr).copied());
        let dialect = self.backends.get(api).dialect(&target.addr);
        MinerSnapshot {
            info: self.info.cached(&target.addr),
            scraped_at: SystemTime::now(),
            duration,
            summary: Err(err.clone()),
            devs: Err(MinerError {
                command: "devs".into(),
                ..err.clone()
            }),
            pools: Err(MinerError {
                command: "pools".into(),
                ..err
            }),
            last_success,
            repairs: self.known_repair_counts(&target.addr),
            target,
            api,
            dialect,
        }
    }
}
