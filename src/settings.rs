//! The exporter's runtime settings: what the HTTP side and the exporter run
//! on, already validated. The config file is turned into these in one place
//! (`config::resolve`, [`crate::config::Config::settings`]); `http` and
//! [`crate::exporter`] read only these types, never the config's, so a new
//! config form (a flag, a web form) needs no change past this module.

pub mod diff;

use crate::client::{ApiChoice, ClientConfig};
use crate::collector::groups::MetricGroups;
use crate::collector::{CollectorConfig, MinerTarget};
use crate::secret::Secret;
use crate::transport::MinerAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use web::WebConfig;

pub mod web;

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
    /// The `[[miner_files]]` watched for changes.
    pub miner_files: MinerFiles,
    /// `[log]`: set up by the program that runs the exporter (`serve`);
    /// here so that a reload sees its changes.
    pub log: LogSettings,
    /// `[[discovery]]`: ranges scanned for miners that join the fleet.
    pub discovery: Vec<DiscoverySettings>,
}

/// The target lists a reload reads (`[[miner_files]]`), checked for
/// changes every `poll` (zero: never) and read again without a reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinerFiles {
    pub paths: Vec<PathBuf>,
    pub poll: Duration,
}

/// `[log]`, as the program that sets up logging reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// A tracing filter (`info`, `whatsminer_exporter=debug`), checked.
    pub level: String,
    /// Flat JSON lines instead of text.
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".to_string(),
            json: false,
        }
    }
}

/// One `[[discovery]]` scan, run every `interval` while serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Already checked against the range guard.
    pub ranges: Vec<crate::client::scan::ScanRange>,
    pub scan: crate::client::scan::ScanOptions,
    pub interval: Duration,
    /// How long a discovered miner may be missing from the scans before it
    /// leaves the fleet.
    pub grace_period: Duration,
}

/// How `/metrics` gets its data (`[scrape] mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeMode {
    /// Every `/metrics` request scrapes the fleet.
    Live,
    /// A background task scrapes every `interval`; `/metrics` serves the
    /// last complete snapshot.
    Background { interval: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeSettings {
    /// Deadline when Prometheus sends no scrape-timeout header.
    pub default_timeout: Duration,
    /// Subtracted from Prometheus's timeout so the answer arrives in time.
    pub timeout_margin: Duration,
    pub mode: ScrapeMode,
    /// A fleet (or `/probe`) result younger than this is served again
    /// instead of scraping the miners again; zero turns reuse off.
    pub min_age: Duration,
    /// Metric groups of a `/probe` target that is not a configured miner
    /// (`[metrics]` without its overrides).
    pub groups: MetricGroups,
}

/// `[scrape] min_age` by default: an HA pair of Prometheus servers whose
/// scrapes of the exporter fall within it costs the miners one scrape.
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(5);

impl Default for ScrapeSettings {
    fn default() -> Self {
        ScrapeSettings {
            default_timeout: Duration::from_secs(10),
            timeout_margin: Duration::from_millis(500),
            mode: ScrapeMode::Live,
            min_age: DEFAULT_MIN_AGE,
            groups: MetricGroups::default(),
        }
    }
}

/// Who may `POST /-/reload` (`[server] reload_endpoint`). Anyone who can
/// scrape may otherwise reload (the metrics listener's basic auth, when a
/// web config file sets it, serves scrapers, not operators), so by default
/// only clients on the same host may make the exporter re-read its
/// configuration, the way Prometheus keeps its lifecycle API off unless
/// asked. A reverse proxy on the same host relays every client from
/// loopback, so a relayed request (`Forwarded`, `X-Forwarded-For` or
/// `X-Real-IP` header) is not a loopback client. SIGHUP works in every
/// case.
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
    /// Whether a client at `peer` may trigger a reload; `relayed`: the
    /// request names a proxy's client (so `peer` is the proxy).
    pub fn allows(self, peer: std::net::IpAddr, relayed: bool) -> bool {
        match self {
            ReloadAccess::Any => true,
            ReloadAccess::Off => false,
            ReloadAccess::Loopback => !relayed && peer.to_canonical().is_loopback(),
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
    crate::transport::DEFAULT_PORT,
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

/// How the admin listener runs: its `[admin]` section, the miners it may
/// command and the `[webhook]`.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    pub api: AdminApi,
    /// A client slower than this to send its body gets 408.
    pub body_timeout: Duration,
    pub miners: Vec<AdminMiner>,
    pub webhook: WebhookSettings,
    /// How miners are reached (timeouts, reply limit).
    pub client: ClientConfig,
    /// Pause before the first webhook retry; doubled on each next one.
    pub retry_backoff: Duration,
}

/// The `[admin]` section: where the admin API listens and who may send what.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminApi {
    pub listen: SocketAddr,
    /// The bearer token clients must send.
    pub token: Secret,
    /// Who holds the token, for the audit log.
    pub token_name: String,
    /// Commands the admin API may send, each `[a-z_]+`.
    pub allow: Vec<String>,
    /// PEM certificate chain and key: the admin API is then HTTPS only.
    pub tls: Option<TlsFiles>,
    pub max_body_bytes: usize,
}

/// The admin API's certificate chain and key, PEM files reloaded when they
/// change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// A miner as the admin API knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminMiner {
    /// The `miner` label value: the configured name, else `host:port`.
    pub name: String,
    pub addr: MinerAddr,
    /// The admin password (the miner's own, else `[defaults]`).
    pub password: Option<Secret>,
    pub protocol: ApiChoice,
}

/// The Alertmanager webhook (`[webhook]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
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

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
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
