//! The running exporter: listeners, background refresh, reload and
//! shutdown, assembled from resolved [`Settings`]. `serve`, `demo` and the
//! integration tests all start the exporter through [`Exporter::start`].

use crate::collector::{Collector, CollectorConfig, MinerTarget};
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
}

/// A started exporter. Dropping it without [`Exporter::shutdown`] leaves
/// its tasks running until the runtime ends.
pub struct Exporter {
    pub state: Arc<AppState>,
    metrics_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Exporter {
    /// Binds the listeners and starts serving.
    pub async fn start(settings: Settings) -> std::io::Result<Exporter> {
        let telemetry = Telemetry::new();
        let collector = Arc::new(Collector::new(settings.collector.clone()));
        let state = AppState::new(
            collector,
            telemetry,
            settings.targets.clone(),
            settings.scrape,
        );
        let listener = TcpListener::bind(settings.listen).await?;
        let metrics_addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(server::serve(
                listener,
                http::metrics_router(state.clone()),
                shutdown_rx.clone(),
                server::ServerLimits::default(),
            )),
            state.spawn_background(shutdown_rx),
        ];
        tracing::info!(listen = %metrics_addr, miners = settings.targets.len(), "exporter listening");
        Ok(Exporter {
            state,
            metrics_addr,
            shutdown,
            tasks,
        })
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics_addr)
    }

    /// Applies reloaded settings. Listen addresses need a restart.
    pub fn apply(&self, settings: Settings) {
        apply_to_state(&self.state, settings);
    }

    /// Stops accepting, lets in-flight requests finish, stops the tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Swaps in new targets and scrape settings without dropping scrapes.
pub fn apply_to_state(state: &AppState, settings: Settings) {
    state.collector.reconfigure(settings.collector);
    state.set_settings(settings.scrape);
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
            targets,
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
            },
        }
    }
}
