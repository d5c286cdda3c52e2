//! The running exporter: listeners (metrics, and the optional admin API),
//! background refresh, reload and shutdown, assembled from resolved
//! [`Settings`]. `serve`, `demo` and the integration tests all start the
//! exporter through [`Exporter::start`].

use crate::collector::Collector;
use crate::http::admin::AdminState;
use crate::http::{self, server, AppState};
use crate::settings::Settings;
use crate::telemetry::Telemetry;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
