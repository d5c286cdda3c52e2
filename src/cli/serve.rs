//! `serve`: load the config, start the exporter, reload on SIGHUP or
//! `POST /-/reload`, shut down gracefully on SIGTERM or Ctrl-C.

use crate::config::{self, Config};
use crate::exporter::Exporter;
use crate::process::exit;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The TOML configuration file.
    #[arg(long, short = 'c', default_value = "exporter.toml")]
    pub config: PathBuf,
    /// Override `[server] listen` (default 0.0.0.0:9710).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Override `[server] web_config_file`: TLS, basic auth and headers of
    /// the metrics listener, in the Prometheus exporter-toolkit format.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Override `[scrape] timeout` (used without a Prometheus header):
    /// seconds (`4`) or as in the config (`4s`, `500ms`).
    #[arg(long, value_parser = config::cli_duration)]
    pub timeout: Option<Duration>,
    /// Override `[scrape] concurrency`.
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Override `[log] level` (a tracing filter such as `debug`).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Override `[log] format`: text or json.
    #[arg(long, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

impl ServeArgs {
    /// Loads the config file and applies the command-line overrides
    /// (`check-config` loads it the same way).
    pub(super) fn load(&self) -> Result<Config, String> {
        let mut config = config::load(&self.config).map_err(|e| e.to_string())?;
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        if let Some(path) = &self.web_config_file {
            let web = config::web::load_web(path).map_err(|e| e.to_string())?;
            config.server.web = Some(web);
        }
        if let Some(t) = self.timeout {
            config.scrape.timeout = t;
        }
        if let Some(c) = self.concurrency {
            if c == 0 || c > 65536 {
                return Err("--concurrency must be between 1 and 65536".into());
            }
            config.scrape.concurrency = c;
        }
        if let Some(level) = &self.log_level {
            config::log_filter(level).map_err(|e| format!("--log-level: {e}"))?;
            config.log.level = level.clone();
        }
        if let Some(format) = &self.log_format {
            config.log.format = if format == "json" {
                config::LogFormat::Json
            } else {
                config::LogFormat::Text
            };
        }
        Ok(config)
    }
}

pub async fn serve(args: ServeArgs) -> u8 {
    let config = match args.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    super::init_logging(
        &config.log.level,
        config.log.format == config::LogFormat::Json,
    );
    let mut exporter = match Exporter::start(config.settings()).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, listen = %config.server.listen, "cannot start the exporter");
            return exit::FAILURE;
        }
    };
    let reload_args = args.clone();
    exporter.reload_from(
        move || reload_args.load().map(|config| config.settings()),
        Some(Arc::new(super::logging::set_level)),
    );
    wait_for_signals(&exporter).await;
    tracing::info!("shutting down");
    exporter.shutdown().await;
    exit::OK
}

/// Reloads on SIGHUP; returns on SIGTERM or Ctrl-C.
async fn wait_for_signals(exporter: &Exporter) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut hup), Ok(mut term)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => { let _ = exporter.state.reload().await; }
                _ = term.recv() => return,
                _ = tokio::signal::ctrl_c() => return,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
