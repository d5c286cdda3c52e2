//! The running exporter: listeners (metrics, and the optional admin API),
//! background refresh, reload and shutdown, assembled from resolved
//! [`Settings`]. `serve`, `demo` and the integration tests all start the
//! exporter through [`Exporter::start`].

use crate::collector::{Collector, CollectorConfig, MinerTarget};
use crate::config::web::WebConfig;
use crate::config::{ProbePolicy, ReloadAccess};
use crate::http::admin::{AdminSettings, AdminState};
use crate::http::{self, server, AppState, ScrapeSettings};
use crate::telemetry::Telemetry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything the exporter needs, already validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `/metrics` and `/probe` listen.
    pub listen: SocketAddr,
    pub targets: Vec<Arc<MinerTarget>>,
    pub collector: CollectorConfig,
    pub scrape: ScrapeSettings,
    /// Which `/probe` targets are served.
    pub probe: ProbePolicy,
    /// Who may `POST /-/reload`.
    pub reload: ReloadAccess,
    /// TLS, basic auth and headers of the metrics listener (web config
    /// file); `None`: plain HTTP, open.
    pub web: Option<WebConfig>,
    /// The admin API (and its webhook); `None` keeps it off.
    pub admin: Option<AdminSettings>,
}

/// A started exporter. Dropping it without [`Exporter::shutdown`] leaves
/// its tasks running until the runtime ends.
pub struct Exporter {
    pub state: Arc<AppState>,
    metrics_addr: SocketAddr,
    admin: Option<(SocketAddr, Arc<AdminState>)>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Exporter {
    /// Binds the listeners and starts serving. Fails before serving
    /// anything if a listener cannot be bound or the admin API's TLS
    /// certificate or key does not load (never a silent fall back to plain
    /// HTTP).
    pub async fn start(settings: Settings) -> std::io::Result<Exporter> {
        let admin_tls = match settings.admin.as_ref().and_then(|a| a.tls.as_ref()) {
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
                let l = TcpListener::bind(admin.listen).await?;
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

    /// Applies reloaded settings. Listen addresses need a restart.
    pub fn apply(&self, settings: Settings) {
        self.applier().apply(settings);
    }

    /// A handle that applies reloaded settings, for a reload closure.
    pub fn applier(&self) -> Applier {
        Applier {
            state: self.state.clone(),
            admin: self.admin_state(),
        }
    }

    /// Stops accepting, lets in-flight requests finish, stops the tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Applies reloaded settings to a running exporter: targets and scrape
/// settings, and the admin API's miner list (names, addresses, passwords).
/// Listen addresses, the admin token, the allow list and the webhook
/// settings need a restart.
#[derive(Debug, Clone)]
pub struct Applier {
    state: Arc<AppState>,
    admin: Option<Arc<AdminState>>,
}

impl Applier {
    pub fn apply(&self, mut settings: Settings) {
        if let (Some(admin), Some(new)) = (&self.admin, settings.admin.take()) {
            admin.set_miners(new.miners);
        }
        apply_to_state(&self.state, settings);
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

impl Settings {
    /// Resolves a loaded configuration into runtime settings.
    pub fn from_config(config: &crate::config::Config) -> Settings {
        use crate::client::ClientConfig;
        use crate::transport::Limits;
        let scrape = &config.scrape;
        let targets = config
            .miners
            .iter()
            .map(|m| {
                Arc::new(MinerTarget::new(
                    m.addr.clone(),
                    m.name.clone(),
                    m.labels.clone(),
                    m.protocol,
                ))
            })
            .collect();
        let client = ClientConfig {
            limits: Limits {
                connect_timeout: scrape.connect_timeout,
                deadline: scrape.command_timeout,
                max_reply_bytes: scrape.max_reply_bytes,
            },
            read_retries: scrape.read_retries,
            ..ClientConfig::default()
        };
        let mode = match scrape.mode {
            crate::config::ScrapeMode::Live => http::ScrapeMode::Live,
            crate::config::ScrapeMode::Background => http::ScrapeMode::Background {
                interval: scrape.refresh_interval,
            },
        };
        Settings {
            listen: config.server.listen,
            probe: config.server.probe.clone(),
            reload: config.server.reload,
            web: config.server.web.clone(),
            targets,
            admin: AdminSettings::from_config(config, client),
            collector: CollectorConfig {
                concurrency: scrape.concurrency,
                info_refresh: scrape.info_refresh,
                fetch_info: true,
                client,
            },
            scrape: ScrapeSettings {
                default_timeout: scrape.timeout,
                timeout_margin: scrape.timeout_margin,
                mode,
                min_age: scrape.min_age,
            },
        }
    }
}
