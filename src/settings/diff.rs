//! What a reload changes: old and new [`Settings`] compared field by field
//! in one place, each changed setting named as the config file names it
//! and sorted into "applied on reload" or "needs a restart".
//!
//! Every struct is destructured without `..`, so a new field does not
//! compile until it is given a name and a side here (and in the table of
//! docs/configuration.md, which a test holds to [`SETTINGS`]).

use super::{
    AdminApi, AdminSettings, LogSettings, ScrapeSettings, Settings, WebConfig, WebhookSettings,
};
use crate::client::ClientConfig;
use crate::collector::CollectorConfig;
use crate::transport::Limits;

/// Whether a running exporter can take a changed setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Applied by a reload (SIGHUP, `POST /-/reload`).
    Reload,
    /// Kept as it was at start until the exporter restarts.
    Restart,
}

/// Every setting a reload compares, with its side. Settings marked
/// `Reload` with a condition in [`changes`] (`admin.enabled`,
/// `server.web_config_file`) are listed by their usual side; docs say when.
pub const SETTINGS: &[(&str, Effect)] = &[
    ("server.listen", Effect::Restart),
    ("server.probe_targets", Effect::Reload),
    ("server.probe_networks", Effect::Reload),
    ("server.probe_ports", Effect::Reload),
    ("server.reload_endpoint", Effect::Reload),
    ("server.web_config_file", Effect::Restart),
    ("server.miner_files_poll", Effect::Reload),
    ("log.level", Effect::Reload),
    ("log.format", Effect::Restart),
    ("scrape.timeout", Effect::Reload),
    ("scrape.timeout_margin", Effect::Reload),
    ("scrape.concurrency", Effect::Reload),
    ("scrape.connect_timeout", Effect::Reload),
    ("scrape.command_timeout", Effect::Reload),
    ("scrape.max_reply_bytes", Effect::Reload),
    ("scrape.read_retries", Effect::Reload),
    ("scrape.info_refresh", Effect::Reload),
    ("scrape.mode", Effect::Reload),
    ("scrape.min_age", Effect::Reload),
    ("metrics", Effect::Reload),
    ("miners", Effect::Reload),
    ("discovery", Effect::Reload),
    ("admin.enabled", Effect::Reload),
    ("admin.listen", Effect::Restart),
    ("admin.token", Effect::Reload),
    ("admin.token_name", Effect::Reload),
    ("admin.allow", Effect::Reload),
    ("admin.tls_cert_file", Effect::Restart),
    ("admin.max_body_bytes", Effect::Reload),
    ("webhook.enabled", Effect::Reload),
    ("webhook.dry_run", Effect::Reload),
    ("webhook.budget", Effect::Reload),
    ("webhook.budget_window", Effect::Reload),
    ("webhook.miner_labels", Effect::Reload),
    ("webhook.action_label", Effect::Reload),
    ("webhook.default_action", Effect::Reload),
    ("webhook.power_on_when_resolved", Effect::Reload),
    ("webhook.dedupe_ttl", Effect::Reload),
    ("webhook.retries", Effect::Reload),
    ("webhook.state_file", Effect::Reload),
];

/// The settings that differ between two [`Settings`], by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed settings a reload applies.
    pub applied: Vec<&'static str>,
    /// Changed settings that keep their old value until a restart.
    pub restart: Vec<&'static str>,
}

impl Changes {
    fn note(&mut self, name: &'static str, changed: bool, effect: Effect) {
        debug_assert!(
            SETTINGS.iter().any(|(n, _)| *n == name),
            "{name} is not in SETTINGS"
        );
        let list = match effect {
            Effect::Reload => &mut self.applied,
            Effect::Restart => &mut self.restart,
        };
        if changed && !list.contains(&name) {
            list.push(name);
        }
    }

    /// Every changed setting, whichever its side.
    pub fn all(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.applied.iter().chain(&self.restart).copied()
    }
}

/// What changes from `old` to `new`, for an exporter that runs `old`.
pub fn changes(old: &Settings, new: &Settings) -> Changes {
    use Effect::{Reload, Restart};
    let mut c = Changes::default();
    let Settings {
        listen,
        targets,
        collector,
        scrape,
        probe,
        reload,
        web,
        admin,
        miner_files,
        log,
        discovery,
    } = new;
    c.note("server.listen", *listen != old.listen, Restart);
    c.note("miners", *targets != old.targets, Reload);
    collector_changes(&mut c, &old.collector, collector);
    scrape_changes(&mut c, &old.scrape, scrape);
    let crate::settings::ProbePolicy {
        configured_only,
        networks,
        network_ports,
    } = probe;
    let p = &old.probe;
    c.note(
        "server.probe_targets",
        *configured_only != p.configured_only,
        Reload,
    );
    c.note("server.probe_networks", *networks != p.networks, Reload);
    c.note(
        "server.probe_ports",
        *network_ports != p.network_ports,
        Reload,
    );
    c.note("server.reload_endpoint", *reload != old.reload, Reload);
    web_changes(&mut c, old.web.as_ref(), web.as_ref());
    match (&old.admin, admin) {
        // The admin listener is bound at start only.
        (None, Some(_)) => c.note("admin.enabled", true, Restart),
        // Disabling answers 404 on the listener that stays bound.
        (Some(_), None) => c.note("admin.enabled", true, Reload),
        (Some(old), Some(new)) => admin_changes(&mut c, old, new),
        (None, None) => {}
    }
    let super::MinerFiles { paths, poll } = miner_files;
    c.note("miners", *paths != old.miner_files.paths, Reload);
    c.note(
        "server.miner_files_poll",
        *poll != old.miner_files.poll,
        Reload,
    );
    let LogSettings { level, json } = log;
    c.note("log.level", *level != old.log.level, Reload);
    c.note("log.format", *json != old.log.json, Restart);
    c.note("discovery", *discovery != old.discovery, Reload);
    c
}

fn collector_changes(c: &mut Changes, old: &CollectorConfig, new: &CollectorConfig) {
    let CollectorConfig {
        concurrency,
        info_refresh,
        fetch_info,
        client,
        // A constant (`collector::probed::PROBED_KEPT`), no config key.
        probed_kept: _,
    } = new;
    c.note(
        "scrape.concurrency",
        *concurrency != old.concurrency,
        Effect::Reload,
    );
    c.note(
        "scrape.info_refresh",
        *info_refresh != old.info_refresh || *fetch_info != old.fetch_info,
        Effect::Reload,
    );
    client_changes(c, &old.client, client);
}

/// The miner client's settings come from `[scrape]` (the collector's and
/// the admin API's writes).
fn client_changes(c: &mut Changes, old: &ClientConfig, new: &ClientConfig) {
    let effect = Effect::Reload;
    let ClientConfig {
        limits,
        read_retries,
        retry_backoff,
    } = new;
    let Limits {
        connect_timeout,
        deadline,
        max_reply_bytes,
    } = limits;
    let o = &old.limits;
    c.note(
        "scrape.connect_timeout",
        *connect_timeout != o.connect_timeout,
        effect,
    );
    c.note("scrape.command_timeout", *deadline != o.deadline, effect);
    c.note(
        "scrape.max_reply_bytes",
        *max_reply_bytes != o.max_reply_bytes,
        effect,
    );
    c.note(
        "scrape.read_retries",
        *read_retries != old.read_retries || *retry_backoff != old.retry_backoff,
        effect,
    );
}

fn scrape_changes(c: &mut Changes, old: &ScrapeSettings, new: &ScrapeSettings) {
    let ScrapeSettings {
        default_timeout,
        timeout_margin,
        mode,
        min_age,
        groups,
    } = new;
    c.note(
        "scrape.timeout",
        *default_timeout != old.default_timeout,
        Effect::Reload,
    );
    c.note(
        "scrape.timeout_margin",
        *timeout_margin != old.timeout_margin,
        Effect::Reload,
    );
    c.note("scrape.mode", *mode != old.mode, Effect::Reload);
    c.note("scrape.min_age", *min_age != old.min_age, Effect::Reload);
    c.note("metrics", *groups != old.groups, Effect::Reload);
}

/// The metrics listener's web config file re-reads itself when its content
/// changes (TLS certificate and key files included); another file, or
/// turning it on or off, needs a restart, as do its TLS parameters.
fn web_changes(c: &mut Changes, old: Option<&WebConfig>, new: Option<&WebConfig>) {
    let name = "server.web_config_file";
    match (old, new) {
        (None, None) => {}
        (Some(old), Some(new)) if old.source == new.source => {
            let WebConfig {
                source: _,
                loader: _,
                tls,
                users,
                auth_excluded_paths,
                headers,
                rate_limit,
            } = new;
            c.note(name, *tls != old.tls, Effect::Restart);
            let rest = *users != old.users
                || *auth_excluded_paths != old.auth_excluded_paths
                || *headers != old.headers
                || *rate_limit != old.rate_limit;
            c.note(name, rest, Effect::Reload);
        }
        _ => c.note(name, true, Effect::Restart),
    }
}

fn admin_changes(c: &mut Changes, old: &AdminSettings, new: &AdminSettings) {
    use Effect::{Reload, Restart};
    let AdminSettings {
        api,
        body_timeout,
        miners,
        webhook,
        client,
        retry_backoff,
    } = new;
    let AdminApi {
        listen,
        token,
        token_name,
        allow,
        tls,
        max_body_bytes,
    } = api;
    let o = &old.api;
    c.note("admin.listen", *listen != o.listen, Restart);
    c.note("admin.token", *token != o.token, Reload);
    c.note("admin.token_name", *token_name != o.token_name, Reload);
    c.note("admin.allow", *allow != o.allow, Reload);
    c.note("admin.tls_cert_file", *tls != o.tls, Restart);
    c.note(
        "admin.max_body_bytes",
        *max_body_bytes != o.max_body_bytes || *body_timeout != old.body_timeout,
        Reload,
    );
    c.note("miners", *miners != old.miners, Reload);
    client_changes(c, &old.client, client);
    webhook_changes(c, &old.webhook, webhook);
    c.note(
        "webhook.retries",
        *retry_backoff != old.retry_backoff,
        Reload,
    );
}

fn webhook_changes(c: &mut Changes, old: &WebhookSettings, new: &WebhookSettings) {
    use Effect::Reload;
    let WebhookSettings {
        enabled,
        dry_run,
        budget,
        budget_window,
        miner_labels,
        action_label,
        default_action,
        power_on_when_resolved,
        dedupe_ttl,
        retries,
        state_file,
    } = new;
    c.note("webhook.enabled", *enabled != old.enabled, Reload);
    c.note("webhook.dry_run", *dry_run != old.dry_run, Reload);
    c.note("webhook.budget", *budget != old.budget, Reload);
    c.note(
        "webhook.budget_window",
        *budget_window != old.budget_window,
        Reload,
    );
    c.note(
        "webhook.miner_labels",
        *miner_labels != old.miner_labels,
        Reload,
    );
    c.note(
        "webhook.action_label",
        *action_label != old.action_label,
        Reload,
    );
    c.note(
        "webhook.default_action",
        *default_action != old.default_action,
        Reload,
    );
    c.note(
        "webhook.power_on_when_resolved",
        *power_on_when_resolved != old.power_on_when_resolved,
        Reload,
    );
    c.note("webhook.dedupe_ttl", *dedupe_ttl != old.dedupe_ttl, Reload);
    c.note("webhook.retries", *retries != old.retries, Reload);
    c.note("webhook.state_file", *state_file != old.state_file, Reload);
}

/// What a successful reload did, for its log line, the
/// `whatsminer_exporter_config_restart_required` gauge and the
/// `POST /-/reload` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Miners configured now.
    pub miners: usize,
    /// Settings changed since the last reload and now in effect.
    pub applied: Vec<&'static str>,
    /// Settings that differ from what the exporter started with and keep
    /// their old value until a restart.
    pub restart: Vec<&'static str>,
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "configuration reloaded: {} miners", self.miners)?;
        if !self.applied.is_empty() {
            writeln!(f, "applied: {}", self.applied.join(", "))?;
        }
        if !self.restart.is_empty() {
            writeln!(f, "needs a restart: {}", self.restart.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
