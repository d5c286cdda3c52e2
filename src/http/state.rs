//! Shared state of the HTTP side: the collector, the current targets and
//! settings (swapped atomically on reload, so a scrape in flight keeps the
//! list it started with), the last background snapshot, the scrapes that
//! requests share ([`super::share`]), and readiness.

use super::share::Share;
use crate::collector::{Collector, FleetSnapshot, MinerSnapshot, MinerTarget};
use crate::http::server::BoxFuture;
use crate::settings::diff::ReloadReport;
use crate::settings::{ProbePolicy, ReloadAccess, ScrapeMode, ScrapeSettings};
use crate::telemetry::Telemetry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// The fleet scrape's key: the target list it scrapes, by identity (a
/// reload makes a new list, whose requests do not share the old one's).
#[derive(Clone)]
pub struct FleetKey(pub Arc<Vec<Arc<MinerTarget>>>);

impl PartialEq for FleetKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for FleetKey {}

impl std::hash::Hash for FleetKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The key holds the Arc, so its address is not reused meanwhile.
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

/// A `/probe` scrape's key: the whole target (address, name, labels,
/// protocol), so probes of one address with another `protocol` or after a
/// relabelling reload do not share.
#[derive(Clone, PartialEq, Eq)]
pub struct ProbeKey(pub Arc<MinerTarget>);

impl std::hash::Hash for ProbeKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.addr.hash(state);
    }
}

/// Re-reads the configuration and applies it; says what it changed.
pub type ReloadFn = Arc<dyn Fn() -> BoxFuture<Result<ReloadReport, String>> + Send + Sync>;

pub struct AppState {
    pub collector: Arc<Collector>,
    pub telemetry: Telemetry,
    targets: RwLock<Arc<Vec<Arc<MinerTarget>>>>,
    settings: RwLock<ScrapeSettings>,
    probe_policy: RwLock<Arc<ProbePolicy>>,
    reload_access: RwLock<ReloadAccess>,
    snapshot: RwLock<Option<Arc<FleetSnapshot>>>,
    /// Fleet scrapes that `/metrics` requests share.
    pub(crate) fleet_share: Arc<Share<FleetKey, Arc<FleetSnapshot>>>,
    /// Miner scrapes that `/probe` requests share.
    pub(crate) probe_share: Arc<Share<ProbeKey, Arc<MinerSnapshot>>>,
    reloader: RwLock<Option<ReloadFn>>,
    /// Serialises reloads: SIGHUP and POST may race.
    reload_lock: tokio::sync::Mutex<()>,
    ready: AtomicBool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        collector: Arc<Collector>,
        telemetry: Telemetry,
        targets: Vec<Arc<MinerTarget>>,
        settings: ScrapeSettings,
    ) -> Arc<Self> {
        let state = Arc::new(AppState {
            collector,
            telemetry,
            targets: RwLock::new(Arc::new(Vec::new())),
            settings: RwLock::new(settings),
            probe_policy: RwLock::new(Arc::default()),
            reload_access: RwLock::new(ReloadAccess::default()),
            snapshot: RwLock::new(None),
            fleet_share: Arc::default(),
            probe_share: Arc::default(),
            reloader: RwLock::new(None),
            reload_lock: tokio::sync::Mutex::new(()),
            ready: AtomicBool::new(matches!(settings.mode, ScrapeMode::Live)),
        });
        state.set_targets(targets);
        state.mark_config_loaded();
        state
    }

    pub fn targets(&self) -> Arc<Vec<Arc<MinerTarget>>> {
        self.targets.read().map(|t| t.clone()).unwrap_or_default()
    }

    /// Replaces the target list; scrapes already running keep the old one.
    pub fn set_targets(&self, targets: Vec<Arc<MinerTarget>>) {
        self.collector.retain(&targets);
        self.telemetry.miners.set(targets.len() as i64);
        if let Ok(mut t) = self.targets.write() {
            *t = Arc::new(targets);
        }
    }

    pub fn settings(&self) -> ScrapeSettings {
        self.settings.read().map(|s| *s).unwrap_or_default()
    }

    pub fn set_settings(&self, settings: ScrapeSettings) {
        if let Ok(mut s) = self.settings.write() {
            *s = settings;
        }
    }

    /// Which `/probe` targets are served.
    pub fn probe_policy(&self) -> Arc<ProbePolicy> {
        self.probe_policy
            .read()
            .map(|p| Arc::clone(&p))
            .unwrap_or_default()
    }

    pub fn set_probe_policy(&self, policy: ProbePolicy) {
        if let Ok(mut p) = self.probe_policy.write() {
            *p = Arc::new(policy);
        }
    }

    /// Who may `POST /-/reload`.
    pub fn reload_access(&self) -> ReloadAccess {
        self.reload_access.read().map(|a| *a).unwrap_or_default()
    }

    pub fn set_reload_access(&self, access: ReloadAccess) {
        if let Ok(mut a) = self.reload_access.write() {
            *a = access;
        }
    }

    pub fn set_reloader(&self, reloader: ReloadFn) {
        if let Ok(mut r) = self.reloader.write() {
            *r = Some(reloader);
        }
    }

    /// Whether there is a configuration file to reload (not so in the demo
    /// or when the exporter is used as a library).
    pub fn can_reload(&self) -> bool {
        self.reloader.read().is_ok_and(|r| r.is_some())
    }

    /// Held while settings are loaded and applied: reloads and the reads
    /// of changed miner files run one at a time, so an older read never
    /// lands after a newer one.
    pub async fn reload_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reload_lock.lock().await
    }

    /// Runs the configured reload; the gauges say whether it worked and
    /// which changed settings wait for a restart.
    pub async fn reload(&self) -> Result<ReloadReport, String> {
        let _one_at_a_time = self.reload_guard().await;
        let reloader = self.reloader.read().ok().and_then(|r| r.clone());
        let Some(reloader) = reloader else {
            return Err("no configuration file to reload".into());
        };
        let result = reloader().await;
        match &result {
            Ok(report) => {
                self.mark_config_loaded();
                let restart_required = &self.telemetry.config_restart_required;
                restart_required.reset();
                for setting in &report.restart {
                    restart_required.with_label_values(&[setting]).set(1);
                }
                let applied = report.applied.join(", ");
                if report.restart.is_empty() {
                    tracing::info!(miners = report.miners, %applied, "configuration reloaded");
                } else {
                    tracing::warn!(
                        miners = report.miners, %applied, restart_required = %report.restart.join(", "),
                        "configuration reloaded; changed settings that need a restart keep their old value"
                    );
                }
            }
            Err(e) => {
                self.telemetry.config_reload_ok.set(0);
                tracing::error!(error = %e, "configuration reload failed; keeping the previous one");
            }
        }
        result
    }

    fn mark_config_loaded(&self) {
        self.telemetry.config_reload_ok.set(1);
        let now = crate::collector::render::unix(SystemTime::now());
        self.telemetry.config_reload_timestamp.set(now);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn latest_snapshot(&self) -> Option<Arc<FleetSnapshot>> {
        self.snapshot.read().ok().and_then(|s| s.clone())
    }

    pub fn store_snapshot(&self, snapshot: Arc<FleetSnapshot>) {
        if let Ok(mut s) = self.snapshot.write() {
            *s = Some(snapshot);
        }
        self.ready.store(true, Ordering::Relaxed);
    }

    /// Records a fleet scrape in the self-metrics.
    pub fn account(&self, snapshot: &FleetSnapshot, mode: &str) {
        self.telemetry.scrapes.with_label_values(&[mode]).inc();
        self.telemetry
            .fleet_scrape_duration
            .set(snapshot.duration.as_secs_f64());
        self.telemetry.count_errors(
            snapshot
                .miners
                .iter()
                .filter_map(|m| m.down_error())
                .map(|e| e.reason()),
        );
    }

    /// After a write changed the miner at `addr`: its slow data is fetched
    /// again, and no request is served a result from before the change
    /// (every fleet result, that miner's probes).
    pub fn miner_changed(&self, addr: &crate::transport::MinerAddr) {
        self.collector.invalidate_info(addr);
        self.fleet_share.forget(|_| true);
        self.probe_share.forget(|key| key.0.addr == *addr);
    }

    /// Counts a `/metrics` or `/probe` request served by a shared scrape.
    pub(crate) fn count_shared(&self, handler: &str, served: super::share::Served) {
        if let Some(label) = served.label() {
            self.telemetry
                .shared_scrape_requests
                .with_label_values(&[handler, label])
                .inc();
        }
    }

    /// In background mode, scrapes the fleet every interval until shutdown.
    pub fn spawn_background(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let settings = state.settings();
                let ScrapeMode::Background { interval } = settings.mode else {
                    // Live mode (maybe after a reload): check again later.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = shutdown.changed() => return,
                    }
                };
                let started = tokio::time::Instant::now();
                let deadline = started + settings.default_timeout.min(interval);
                let targets = state.targets();
                state.telemetry.fleet_scrapes_started.inc();
                let snapshot = state.collector.scrape_fleet(&targets, deadline).await;
                state.account(&snapshot, "background");
                state.store_snapshot(Arc::new(snapshot));
                tokio::select! {
                    _ = tokio::time::sleep_until(started + interval) => {},
                    _ = shutdown.changed() => return,
                }
            }
        })
    }
}
