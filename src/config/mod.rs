//! The exporter's configuration: one TOML file (see `docs/configuration.md`)
//! loaded and validated up front, so that every mistake is reported at
//! start-up with its file, line and field instead of surfacing later as a
//! failed scrape.
//!
//! The file is read into raw, span-keeping structs (`raw`), then checked and
//! turned into the typed [`Config`] (`build` and `admin` for the service settings,
//! `miners` for the miner list, `targets` for bulk target files). Secrets are
//! never written inline: passwords and tokens come from files or
//! environment variables and are read at load time into [`Secret`]s.

mod admin;
mod build;
pub(crate) mod discovery;
mod error;
mod metrics;
mod miners;
mod raw;
mod resolve;
mod targets;
mod values;
pub mod web;

#[cfg(test)]
mod tests;

use crate::client::ApiChoice;
use crate::settings::web::WebConfig;
use crate::settings::{
    AdminApi, ProbePolicy, ReloadAccess, ScrapeMode, TlsFiles, WebhookSettings, DEFAULT_MIN_AGE,
    DEFAULT_PROBE_PORTS,
};
pub use crate::transport::MinerAddr;
pub use error::{ConfigError, ConfigErrorKind, Place};
pub use metrics::{MetricsConfig, Override as MetricsOverride};
pub use resolve::admin_miner;

/// The tracing filter of a `[log] level` or `--log-level` value, checked
/// as the config file's value is.
pub fn log_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    build::log_filter(filter)
}

/// A duration given on the command line: a number of seconds (`4`, `0.5`)
/// or written as in the configuration file (`"4s"`, `"500ms"`, `"1m"`);
/// more than zero, at most an hour.
pub fn cli_duration(text: &str) -> Result<Duration, String> {
    let duration = match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Duration::from_secs_f64(s),
        Ok(_) => return Err("must be between 0 and 3600 seconds".into()),
        Err(_) => values::parse_duration(text)?,
    };
    if duration.is_zero() || duration > Duration::from_secs(3600) {
        return Err("must be more than zero and at most 1h".into());
    }
    Ok(duration)
}

use crate::secret::Secret;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Port of the metrics endpoint when `[server] listen` names none.
pub const DEFAULT_LISTEN_PORT: u16 = 9710;
/// Port of the admin endpoint when `[admin] listen` names none.
pub const DEFAULT_ADMIN_PORT: u16 = 9711;
/// Largest config or target file read, so a wrong path (a device, a log)
/// fails fast instead of filling memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// How often `[[miner_files]]` are checked for changes by default.
pub const DEFAULT_MINER_FILES_POLL: Duration = Duration::from_secs(5);

/// Background scrapes' period when `[scrape] refresh_interval` names none.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The whole, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub log: LogConfig,
    pub scrape: ScrapeConfig,
    /// Every miner from `[[miners]]` and `[[miner_files]]`, in file order,
    /// with `[defaults]` applied.
    pub miners: Vec<MinerEntry>,
    /// `None` unless `[admin] enabled = true`.
    pub admin: Option<AdminApi>,
    pub webhook: WebhookSettings,
    /// `[metrics]`: the metric groups; each miner's are in its entry.
    pub metrics: MetricsConfig,
    /// The `[[miner_files]]` lists, resolved from the config's folder.
    pub miner_files: Vec<PathBuf>,
    /// `[[discovery]]`: ranges scanned while serving.
    pub discovery: Vec<crate::settings::DiscoverySettings>,
    /// The file the configuration came from.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub probe: ProbePolicy,
    pub reload: ReloadAccess,
    /// How often the `[[miner_files]]` are checked for changes; zero: never
    /// (read at start and reload only).
    pub miner_files_poll: Duration,
    /// `[server] web_config_file` (or `--web.config.file`): TLS, basic
    /// auth and headers of the metrics listener; `None`: plain HTTP.
    pub web: Option<WebConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A `tracing` filter directive, e.g. `info` or `whatsminer_exporter=debug`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeConfig {
    /// Deadline when Prometheus sends no `X-Prometheus-Scrape-Timeout-Seconds`.
    pub timeout: Duration,
    /// Subtracted from Prometheus's header value; always `< timeout`.
    pub timeout_margin: Duration,
    /// Miners in flight at once, `1..=65536`.
    pub concurrency: usize,
    pub connect_timeout: Duration,
    /// Per command, capped by the scrape deadline.
    pub command_timeout: Duration,
    /// Reply size cap, 1 KiB .. 64 MiB.
    pub max_reply_bytes: usize,
    /// How often the slow commands (devdetails, get_version, get_psu,
    /// get_error_code, status) are refreshed.
    pub info_refresh: Duration,
    /// Live, or background with its `refresh_interval`.
    pub mode: ScrapeMode,
    /// Extra tries of a failed read command, within the deadline.
    pub read_retries: u32,
    /// A fleet or probe result younger than this is served again; zero
    /// turns reuse off.
    pub min_age: Duration,
}

/// One miner to scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct MinerEntry {
    pub addr: MinerAddr,
    /// The `miner` label; `None` means the collector uses `host:port`.
    pub name: Option<String>,
    /// Extra labels, `[defaults] labels` merged with the miner's own (the
    /// miner's win), sorted by name. A label set to `""` is removed.
    pub labels: Vec<(String, String)>,
    pub protocol: ApiChoice,
    /// The admin password for writeable commands, if any was configured.
    pub password: Option<Secret>,
    /// The metric groups of this miner (`[metrics]` and its overrides).
    pub groups: crate::collector::groups::MetricGroups,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_LISTEN_PORT),
            probe: ProbePolicy::default(),
            reload: ReloadAccess::default(),
            web: None,
            miner_files_poll: DEFAULT_MINER_FILES_POLL,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}

impl Default for ScrapeConfig {
    fn default() -> Self {
        ScrapeConfig {
            timeout: Duration::from_secs(10),
            timeout_margin: Duration::from_millis(500),
            concurrency: 256,
            connect_timeout: Duration::from_secs(3),
            command_timeout: Duration::from_secs(8),
            max_reply_bytes: 1024 * 1024,
            info_refresh: Duration::from_secs(600),
            mode: ScrapeMode::Live,
            read_retries: 1,
            min_age: DEFAULT_MIN_AGE,
        }
    }
}

/// The admin API's allow-list when the config gives none.
pub const DEFAULT_ADMIN_ALLOW: &[&str] = &["power_off", "power_on", "restart_btminer", "set_led"];

impl Config {
    /// Defaults for the demo mode: the given miners, metrics on
    /// `127.0.0.1:9710` (a demo has no reason to listen on every interface),
    /// no admin API.
    pub fn default_demo(miners: Vec<MinerEntry>) -> Config {
        Config {
            server: ServerConfig {
                listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_LISTEN_PORT),
                ..ServerConfig::default()
            },
            log: LogConfig::default(),
            scrape: ScrapeConfig::default(),
            miners,
            admin: None,
            webhook: WebhookSettings::default(),
            metrics: MetricsConfig::default(),
            miner_files: Vec::new(),
            discovery: Vec::new(),
            source: PathBuf::from("<demo>"),
        }
    }
}

impl MinerEntry {
    /// A miner with no name, no labels, protocol v2 and no password.
    pub fn from_addr(addr: MinerAddr) -> Self {
        MinerEntry {
            addr,
            name: None,
            labels: Vec::new(),
            protocol: ApiChoice::default(),
            password: None,
            groups: Default::default(),
        }
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read_text_file(path).map_err(|kind| ConfigError::new(Place::file(path), kind))?;
    from_str(&text, path)
}

/// Parses and validates config text. `source` names the file in errors and
/// anchors relative paths (target lists, secret files) at its folder.
pub fn from_str(text: &str, source: &Path) -> Result<Config, ConfigError> {
    let locator = error::Locator::new(source, text);
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| locator.toml_error(&e))?;
    let base_dir = source.parent().unwrap_or(Path::new("")).to_path_buf();
    let ctx = build::Ctx {
        loc: &locator,
        base_dir: &base_dir,
    };
    let server = build::server(&ctx, &raw.server)?;
    let log = build::log(&ctx, &raw.log)?;
    let scrape = build::scrape(&ctx, &raw.scrape)?;
    let admin = admin::admin(&ctx, &raw.admin)?;
    let webhook = admin::webhook(&ctx, &raw.webhook, admin.as_ref())?;
    let mut miners = miners::build(&ctx, &raw)?;
    let metrics = metrics::build(&ctx, &raw.metrics)?;
    let discovery = discovery::build(&ctx, &raw.discovery)?;
    metrics.assign(&mut miners);
    Ok(Config {
        server,
        log,
        scrape,
        miners,
        admin,
        webhook,
        metrics,
        miner_files: raw.miner_files.iter().map(|f| ctx.path(&f.path)).collect(),
        discovery,
        source: source.to_path_buf(),
    })
}

/// Reads a config or target file: UTF-8 text of bounded size.
pub(crate) fn read_text_file(path: &Path) -> Result<String, ConfigErrorKind> {
    crate::files::read_text(path, MAX_CONFIG_FILE_BYTES).map_err(|e| ConfigErrorKind::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}
