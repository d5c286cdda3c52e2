//! The config file exactly as written: every table denies unknown keys, and
//! every value that is validated later keeps its byte span
//! ([`toml::Spanned`]) so that a semantic error can name its line.
//!
//! Durations, enums and addresses are kept as strings here and parsed in
//! `build`, which gives uniform messages. `password` and `token` are
//! accepted as any value only so that they can be rejected with a helpful
//! message instead of a bare "unknown field".

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Text = Spanned<String>;
pub(crate) type Int = Spanned<i64>;
pub(crate) type Labels = BTreeMap<Text, Text>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub scrape: RawScrape,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub miners: Vec<RawMiner>,
    #[serde(default)]
    pub miner_files: Vec<RawMinerFile>,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub webhook: RawWebhook,
    #[serde(default)]
    pub metrics: super::metrics::RawMetrics,
    #[serde(default)]
    pub discovery: Vec<super::discovery::RawDiscovery>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub listen: Option<Text>,
    pub probe_targets: Option<Text>,
    pub probe_networks: Option<Vec<Text>>,
    pub probe_ports: Option<Vec<Int>>,
    pub reload_endpoint: Option<Text>,
    pub web_config_file: Option<Text>,
    pub miner_files_poll: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub level: Option<Text>,
    pub format: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScrape {
    pub timeout: Option<Text>,
    pub timeout_margin: Option<Text>,
    pub concurrency: Option<Int>,
    pub connect_timeout: Option<Text>,
    pub command_timeout: Option<Text>,
    pub max_reply_bytes: Option<Int>,
    pub info_refresh: Option<Text>,
    pub mode: Option<Text>,
    pub refresh_interval: Option<Text>,
    pub read_retries: Option<Int>,
    pub min_age: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub port: Option<Int>,
    pub protocol: Option<Text>,
    #[serde(default)]
    pub labels: Labels,
    pub password_file: Option<Text>,
    pub password_env: Option<Text>,
    pub password: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMiner {
    pub address: Text,
    pub name: Option<Text>,
    #[serde(default)]
    pub labels: Labels,
    pub protocol: Option<Text>,
    pub password_file: Option<Text>,
    pub password_env: Option<Text>,
    pub password: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMinerFile {
    pub path: Text,
    pub format: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub enabled: Option<Spanned<bool>>,
    pub listen: Option<Text>,
    pub token_file: Option<Text>,
    pub token_env: Option<Text>,
    /// Rejected when present: secrets are never inline.
    pub token: Option<Spanned<toml::Value>>,
    pub token_name: Option<Text>,
    pub allow: Option<Vec<Text>>,
    pub tls_cert_file: Option<Text>,
    pub tls_key_file: Option<Text>,
    pub max_body_bytes: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub enabled: Option<Spanned<bool>>,
    pub dry_run: Option<bool>,
    pub budget: Option<Int>,
    pub budget_window: Option<Text>,
    pub miner_label: Option<Text>,
    pub miner_labels: Option<Spanned<Vec<Text>>>,
    pub action_label: Option<Text>,
    pub default_action: Option<Text>,
    pub power_on_when_resolved: Option<bool>,
    pub dedupe_ttl: Option<Text>,
    pub retries: Option<Int>,
    pub state_file: Option<Text>,
}
