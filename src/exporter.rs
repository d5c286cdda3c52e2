//! The running exporter: listeners (metrics, and the optional admin API),
//! background refresh, reload and shutdown, assembled from resolved
//! [`Settings`]. `serve`, `demo` and the integration tests all start the
//! exporter through [`Exporter::start`].

mod discovery;
mod file_watch;

use crate::collector::Collector;
use crate::http::admin::AdminState;
use crate::http::{self, server, AppState};
use crate::settings::diff::{self, ReloadReport};
use crate::settings::Settings;
use crate::telemetry::Telemetry;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A started exporter. Dropping it without [`Exporter::shutdown`] leaves
/// its tasks running until the runtime ends.
pub struct Exporter {
    pub state: Arc<AppState>,
    metrics_addr: SocketAddr,
    admin: Option<(SocketAddr, Arc<AdminState>)>,
    running: Arc<Running>,
    discovery: discovery::DiscoveryHandle,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The settings the exporter started with (what restart-only settings
/// still are) and the ones the last reload applied.
#[derive(Debug)]
struct Running {
    started: Settings,
    current: Mutex<Settings>,
}

/// Sets the log filter of a running process (`serve` has one; a library
/// user may have none).
pub type LogControl = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

impl Exporter {
    /// Binds the listeners and starts serving. Fails before serving
    /// anything if a listener cannot be bound or the admin API's TLS
    /// certificate or key does not load (never a silent fall back to plain
    /// HTTP).
    pub async fn start(settings: Settings) -> std::io::Result<Exporter> {
        let running = Arc::new(Running {
            started: settings.clone(),
            current: Mutex::new(settings.clone()),
        });
        let admin_tls = match settings.admin.as_ref().and_then(|a| a.api.tls.as_ref()) {
            Some(tls) => Some(
                http::tls::acceptor(tls)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("[admin] TLS: {e}")))?,
            ),
            None => None,
        };
        let metrics_tls = match settings.web.as_ref().and_then(|w| w.tls.as_ref()) {
            Some(tls) => Some(http::web::tls::acceptor(tls).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("web config TLS: {e}"),
                )
            })?),
            None => None,
        };
        let web_guard = settings.web.clone().map(http::web::WebGuard::new);
        let telemetry = Telemetry::new();
        let collector = Arc::new(Collector::new(settings.collector.clone()));
        let state = AppState::new(
            collector,
            telemetry,
            settings.targets.clone(),
            settings.scrape,
        );
        state.set_probe_policy(settings.probe.clone());
        state.set_reload_access(settings.reload);
        let listener = TcpListener::bind(settings.listen).await?;
        let metrics_addr = listener.local_addr()?;
        let admin_listener = match &settings.admin {
            Some(admin) => {
                let l = TcpListener::bind(admin.api.listen).await?;
                let addr = l.local_addr()?;
                Some((l, addr, AdminState::new(state.clone(), admin)?))
            }
            None => None,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(server::serve(
                listener,
                http::metrics_router(state.clone(), web_guard),
                shutdown_rx.clone(),
                server::ServerLimits::default(),
                metrics_tls.clone(),
            )),
            state.spawn_background(shutdown_rx.clone()),
        ];
        let (discovery, discovery_task) = discovery::spawn(
            state.clone(),
            settings.targets.clone(),
            settings.discovery.clone(),
            settings.scrape.groups,
            shutdown_rx.clone(),
        );
        tasks.push(discovery_task);
        let web = settings.web.as_ref();
        tracing::info!(
            listen = %metrics_addr,
            miners = settings.targets.len(),
            tls = metrics_tls.is_some(),
            basic_auth = web.is_some_and(|w| !w.users.is_empty()),
            "exporter listening"
        );
        let admin = admin_listener.map(|(listener, addr, admin_state)| {
            tasks.push(tokio::spawn(server::serve(
                listener,
                http::admin::router(admin_state.clone()),
                shutdown_rx.clone(),
                server::ServerLimits {
                    max_connections: 64,
                    ..server::ServerLimits::default()
                },
                admin_tls.clone(),
            )));
            tasks.push(admin_state.spawn_gauge_refresh(shutdown_rx.clone()));
            let webhook = settings.admin.as_ref().is_some_and(|a| a.webhook.enabled);
            let tls = admin_tls.is_some();
            tracing::info!(listen = %addr, webhook, tls, "admin API listening");
            (addr, admin_state)
        });
        Ok(Exporter {
            state,
            metrics_addr,
            admin,
            running,
            discovery,
            shutdown,
            tasks,
        })
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// The `/metrics` URL (http: callers that set up TLS build their own).
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics_addr)
    }

    /// Where the admin API listens, if it is on.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(addr, _)| *addr)
    }

    /// The admin API's state, if it is on.
    pub fn admin_state(&self) -> Option<Arc<AdminState>> {
        self.admin.as_ref().map(|(_, s)| s.clone())
    }

    /// Applies reloaded settings: what a running exporter can take at
    /// once, the rest reported by name (see [`ReloadReport`]).
    pub fn apply(&self, settings: Settings) -> Result<ReloadReport, String> {
        self.applier(None).apply(settings)
    }

    /// A handle that applies reloaded settings, for a reload closure;
    /// `log` sets the log filter, if the process has one that can change.
    pub fn applier(&self, log: Option<LogControl>) -> Applier {
        Applier {
            state: self.state.clone(),
            admin: self.admin_state(),
            running: self.running.clone(),
            log,
            discovery: self.discovery.clone(),
        }
    }

    /// Reloads (SIGHUP, `POST /-/reload`) by calling `load` (off the
    /// runtime threads: it reads files) and applying its settings; reads
    /// the miner list again when a `[[miner_files]]` list changes.
    pub fn reload_from<F>(&mut self, load: F, log: Option<LogControl>)
    where
        F: Fn() -> Result<Settings, String> + Send + Sync + 'static,
    {
        let applier = self.applier(log);
        let load: file_watch::Loader = Arc::new(load);
        self.tasks.push(file_watch::spawn(
            applier.clone(),
            load.clone(),
            self.shutdown.subscribe(),
        ));
        self.state.set_reloader(Arc::new(move || {
            let applier = applier.clone();
            let load = load.clone();
            Box::pin(async move {
                let settings = tokio::task::spawn_blocking(move || load())
                    .await
                    .map_err(|e| format!("reload task failed: {e}"))??;
                applier.apply(settings)
            })
        }));
    }

    /// Stops accepting, lets in-flight requests finish, stops the tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Applies reloaded settings to a running exporter. What it cannot take
/// (listen addresses, the admin listener when it was off at start, TLS
/// files, the log format) is named in the report, compared with what it
/// started with ([`diff::changes`]).
#[derive(Clone)]
pub struct Applier {
    state: Arc<AppState>,
    admin: Option<Arc<AdminState>>,
    running: Arc<Running>,
    log: Option<LogControl>,
    discovery: discovery::DiscoveryHandle,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier").finish_non_exhaustive()
    }
}

impl Applier {
    /// Applies `settings` whole, or (when the admin webhook turned on
    /// cannot read its state file) changes nothing and fails.
    pub fn apply(&self, mut settings: Settings) -> Result<ReloadReport, String> {
        let mut current = self
            .running
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut restart = diff::changes(&self.running.started, &settings).restart;
        let changed = diff::changes(&current, &settings);
        if let Some(admin) = &self.admin {
            admin
                .reconfigure(settings.admin.as_ref())
                .map_err(|e| e.to_string())?;
        }
        if changed.applied.contains(&"log.level") {
            let set = match &self.log {
                Some(set) => set(&settings.log.level),
                None => Err("no log filter to change".to_string()),
            };
            if let Err(e) = set {
                tracing::warn!(error = %e, "[log] level not changed");
                restart.push("log.level");
                // Tried again on the next reload.
                settings.log.level = current.log.level.clone();
            }
        }
        // Discovered miners stay; `[[discovery]]` changes apply at once.
        // `current` keeps the configured miners only, as loaded.
        let fleet = self.discovery.reload(
            settings.targets.clone(),
            settings.discovery.clone(),
            settings.scrape.groups,
        );
        let report = ReloadReport {
            miners: fleet.len(),
            applied: changed.all().filter(|n| !restart.contains(n)).collect(),
            restart,
        };
        let mut applied = settings.clone();
        applied.targets = fleet;
        apply_to_state(&self.state, applied);
        *current = settings;
        Ok(report)
    }

    /// Applies only the miner list of `settings` (scrape targets, the
    /// admin API's miners, the lists' paths); returns how many miners.
    pub fn apply_miners(&self, settings: Settings) -> usize {
        let mut current = self
            .running
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Discovered miners stay beside the re-read lists.
        let fleet = self.discovery.set_configured(settings.targets.clone());
        let miners = fleet.len();
        self.state.set_targets(fleet);
        let admin_miners = settings.admin.map(|a| a.miners);
        if let (Some(admin), Some(list)) = (&self.admin, &admin_miners) {
            admin.set_miners(list.clone());
        }
        current.targets = settings.targets;
        if let (Some(now), Some(list)) = (current.admin.as_mut(), admin_miners) {
            now.miners = list;
        }
        current.miner_files.paths = settings.miner_files.paths;
        miners
    }

    /// The miner files of the running settings.
    fn miner_files(&self) -> crate::settings::MinerFiles {
        self.running
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .miner_files
            .clone()
    }
}

/// Swaps in new targets and scrape settings without dropping scrapes.
pub fn apply_to_state(state: &AppState, settings: Settings) {
    state.collector.reconfigure(settings.collector);
    state.set_settings(settings.scrape);
    state.set_probe_policy(settings.probe);
    state.set_reload_access(settings.reload);
    state.set_targets(settings.targets);
}
