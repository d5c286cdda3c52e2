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
mod error;
mod miners;
mod raw;
mod targets;
mod values;
pub mod web;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_targets;
#[cfg(test)]
mod tests_web;

use crate::client::ApiChoice;
pub use crate::transport::MinerAddr;
pub use error::{ConfigError, ConfigErrorKind, Place};

/// The tracing filter of a `[log] level` or `--log-level` value, checked
/// as the config file's value is.
pub fn log_filter(filter: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    build::log_filter(filter)
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
    pub admin: Option<AdminConfig>,
    pub webhook: WebhookConfig,
    /// The file the configuration came from.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub probe: ProbePolicy,
    pub reload: ReloadAccess,
    /// `[server] web_config_file` (or `--web.config.file`): TLS, basic
    /// auth and headers of the metrics listener; `None`: plain HTTP.
    pub web: Option<web::WebConfig>,
}

/// Who may `POST /-/reload` (`[server] reload_endpoint`). The metrics
/// listener has no authentication, so by default only clients on the same
/// host may make the exporter re-read its configuration, the way Prometheus
/// keeps its lifecycle API off unless asked. SIGHUP works in every case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReloadAccess {
    /// Loopback clients only (127.0.0.0/8, ::1, and v4-mapped loopback).
    #[default]
    Loopback,
    /// Any client that reaches the port (blackbox_exporter's behaviour).
    Any,
    /// Nobody: reload by SIGHUP only.
    Off,
}

impl ReloadAccess {
    /// Whether a client at `peer` may trigger a reload.
    pub fn allows(self, peer: std::net::IpAddr) -> bool {
        match self {
            ReloadAccess::Any => true,
            ReloadAccess::Off => false,
            ReloadAccess::Loopback => peer.to_canonical().is_loopback(),
        }
    }

    /// The config value, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadAccess::Loopback => "loopback",
            ReloadAccess::Any => "any",
            ReloadAccess::Off => "off",
        }
    }
}

/// Which `/probe` targets are served (`[server] probe_targets`,
/// `probe_networks`, `probe_ports`). By default any, as blackbox_exporter
/// does; since `/probe` opens a TCP connection wherever it is told, an
/// exporter whose port others can reach should allow only its configured
/// miners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePolicy {
    /// Only configured miners (and addresses in `networks`).
    pub configured_only: bool,
    /// With `configured_only`: IP addresses in these networks too...
    pub networks: Vec<ipnet::IpNet>,
    /// ...on these ports only (the miner APIs' by default), so `/probe`
    /// cannot scan the other ports of those networks.
    pub network_ports: Vec<u16>,
}

/// The ports a `probe_networks` address may be probed on by default: the
/// miner APIs (v2, v3).
pub const DEFAULT_PROBE_PORTS: [u16; 2] = [
    crate::protocol::codes::DEFAULT_PORT,
    crate::protocol::v3::DEFAULT_PORT,
];

impl Default for ProbePolicy {
    fn default() -> Self {
        ProbePolicy {
            configured_only: false,
            networks: Vec::new(),
            network_ports: DEFAULT_PROBE_PORTS.to_vec(),
        }
    }
}

impl ProbePolicy {
    /// Whether a target that is not a configured miner may be probed.
    pub fn allows_unconfigured(&self, addr: &MinerAddr) -> bool {
        if !self.configured_only {
            return true;
        }
        self.network_ports.contains(&addr.port())
            && addr
                .literal_ip()
                .is_some_and(|ip| self.networks.iter().any(|net| net.contains(&ip)))
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScrapeMode {
    /// Each Prometheus scrape queries the miners.
    #[default]
    Live,
    /// A background loop queries the miners every `refresh_interval`;
    /// scrapes serve the latest snapshot.
    Background,
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
    pub mode: ScrapeMode,
    /// Background mode only.
    pub refresh_interval: Duration,
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// The bearer token clients must send.
    pub token: Secret,
    /// Who holds the token, for the audit log.
    pub token_name: String,
    /// Commands the admin API may send, each `[a-z_]+`.
    pub allow: Vec<String>,
    pub tls: Option<TlsConfig>,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Effective: always `false` when the admin API is disabled.
    pub enabled: bool,
    pub dry_run: bool,
    /// Most power-offs per `budget_window`.
    pub budget: u32,
    pub budget_window: Duration,
    /// Alert labels tried in order to find the miner.
    pub miner_labels: Vec<String>,
    /// Label (or annotation) naming the command to send.
    pub action_label: String,
    /// Command when the alert names none; always in the admin allow-list.
    pub default_action: String,
    pub power_on_when_resolved: bool,
    /// How long a handled alert is remembered, to ignore re-sends.
    pub dedupe_ttl: Duration,
    pub retries: u32,
    /// Where the budget and the webhook's own power-offs are kept across
    /// restarts; `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_LISTEN_PORT),
            probe: ProbePolicy::default(),
            reload: ReloadAccess::default(),
            web: None,
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

/// `[scrape] min_age` by default: an HA pair of Prometheus servers whose
/// scrapes of the exporter fall within it costs the miners one scrape.
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(5);

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
            refresh_interval: Duration::from_secs(30),
            read_retries: 1,
            min_age: DEFAULT_MIN_AGE,
        }
    }
}

/// The admin API's allow-list when the config gives none.
pub const DEFAULT_ADMIN_ALLOW: &[&str] = &["power_off", "power_on", "restart_btminer", "set_led"];

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            enabled: false,
            dry_run: false,
            budget: 5,
            budget_window: Duration::from_secs(600),
            miner_labels: vec!["miner".to_string(), "instance".to_string()],
            action_label: "action".to_string(),
            default_action: "power_off".to_string(),
            power_on_when_resolved: false,
            dedupe_ttl: Duration::from_secs(3600),
            retries: 3,
            state_file: None,
        }
    }
}

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
            webhook: WebhookConfig::default(),
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
    let miners = miners::build(&ctx, &raw)?;
    Ok(Config {
        server,
        log,
        scrape,
        miners,
        admin,
        webhook,
        source: source.to_path_buf(),
    })
}

/// Why [`read_capped`] failed.
#[derive(Debug)]
pub(crate) enum CappedReadError {
    Io(std::io::Error),
    /// The file holds more than the cap.
    TooLarge,
}

/// Reads a whole file of at most `cap` bytes. The cap bounds the read
/// itself, so a file that grows after any size check still cannot make the
/// exporter load more than `cap` (+1) bytes. Shared by every file an
/// operator points the exporter at: config, TLS PEM files, webhook state.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, CappedReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(CappedReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(CappedReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(CappedReadError::TooLarge);
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of bounded size.
pub(crate) fn read_text_file(path: &Path) -> Result<String, ConfigErrorKind> {
    let read_error = |reason: String| ConfigErrorKind::Read {
        path: path.display().to_string(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?;
    if !metadata.is_file() {
        return Err(read_error("not a regular file".to_string()));
    }
    let bytes = read_capped(path, MAX_CONFIG_FILE_BYTES).map_err(|e| match e {
        CappedReadError::Io(e) => read_error(e.to_string()),
        CappedReadError::TooLarge => {
            read_error(format!("larger than {MAX_CONFIG_FILE_BYTES} bytes"))
        }
    })?;
    // The words std's read_to_string uses for the same failure.
    String::from_utf8(bytes).map_err(|_| read_error("stream did not contain valid UTF-8".into()))
}
