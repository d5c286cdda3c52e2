//! The one place a loaded [`Config`] becomes the runtime [`Settings`] the
//! exporter runs on: the sections regrouped by who uses them, defaults that
//! are not the operator's to set filled in, miners turned into scrape
//! targets and into the admin API's directory.

use super::{Config, MinerEntry};
use crate::client::ClientConfig;
use crate::collector::{CollectorConfig, MinerTarget};
use crate::settings::{
    AdminMiner, AdminSettings, LogSettings, MinerFiles, ScrapeSettings, Settings,
};
use crate::transport::Limits;
use std::sync::Arc;
use std::time::Duration;

impl Config {
    /// The runtime settings of this configuration.
    pub fn settings(&self) -> Settings {
        let scrape = &self.scrape;
        let client = ClientConfig {
            limits: Limits {
                connect_timeout: scrape.connect_timeout,
                deadline: scrape.command_timeout,
                max_reply_bytes: scrape.max_reply_bytes,
            },
            read_retries: scrape.read_retries,
            ..ClientConfig::default()
        };
        Settings {
            listen: self.server.listen,
            probe: self.server.probe.clone(),
            reload: self.server.reload,
            web: self.server.web.clone(),
            targets: self.miners.iter().map(target).collect(),
            discovery: self.discovery.clone(),
            admin: self.admin_settings(client),
            collector: CollectorConfig {
                concurrency: scrape.concurrency,
                info_refresh: scrape.info_refresh,
                fetch_info: true,
                probed_kept: crate::collector::probed::PROBED_KEPT,
                client,
            },
            scrape: ScrapeSettings {
                default_timeout: scrape.timeout,
                timeout_margin: scrape.timeout_margin,
                mode: scrape.mode,
                min_age: scrape.min_age,
                groups: self.metrics.base,
            },
            miner_files: MinerFiles {
                paths: self.miner_files.clone(),
                poll: self.server.miner_files_poll,
            },
            log: LogSettings {
                level: self.log.level.clone(),
                json: self.log.format == super::LogFormat::Json,
            },
        }
    }

    /// `None` unless the configuration enables the admin API.
    fn admin_settings(&self, client: ClientConfig) -> Option<AdminSettings> {
        Some(AdminSettings {
            api: self.admin.clone()?,
            body_timeout: Duration::from_secs(10),
            miners: self.miners.iter().map(admin_miner).collect(),
            webhook: self.webhook.clone(),
            client,
            retry_backoff: Duration::from_secs(1),
        })
    }
}

fn target(m: &MinerEntry) -> Arc<MinerTarget> {
    Arc::new(
        MinerTarget::new(m.addr.clone(), m.name.clone(), m.labels.clone(), m.protocol)
            .with_groups(m.groups),
    )
}

/// The admin API knows a miner by its configured name, else `host:port`.
pub fn admin_miner(entry: &MinerEntry) -> AdminMiner {
    AdminMiner {
        name: entry
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| entry.addr.to_string()),
        addr: entry.addr.clone(),
        password: entry.password.clone(),
        protocol: entry.protocol,
    }
}
