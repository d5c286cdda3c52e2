//! The exporter's own metrics: build info, process figures, scrape counts
//! and durations, errors by reason, config reloads, and what the admin
//! endpoint and the webhook did. Kept in a `prometheus` registry of its
//! own, rendered after the miners' families.

use prometheus::{
    Encoder, Gauge, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// All self-metrics, registered once at start-up.
#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    pub fleet_scrape_duration: Gauge,
    pub scrapes: IntCounterVec,
    pub fleet_scrapes_started: IntCounter,
    pub shared_scrape_requests: IntCounterVec,
    pub miner_errors: IntCounterVec,
    pub miners: IntGauge,
    pub config_reload_ok: IntGauge,
    pub config_reload_timestamp: Gauge,
    pub config_restart_required: IntGaugeVec,
    pub miner_files_reload_ok: IntGauge,
    pub http_requests: IntCounterVec,
    pub admin_commands: IntCounterVec,
    pub admin_auth_failures: IntCounter,
    pub webhook_alerts: IntCounterVec,
    pub webhook_actions: IntCounterVec,
    pub webhook_budget_remaining: IntGauge,
    pub webhook_state_write_failures: IntCounter,
    pub discovery: DiscoveryMetrics,
}

/// Serve-time discovery, by `[[discovery]]` table (`discovery` = its index).
#[derive(Clone)]
pub struct DiscoveryMetrics {
    pub scans: IntCounterVec,
    pub scan_duration: GaugeVec,
    pub hosts_probed: IntGaugeVec,
    pub hosts_answering: IntGaugeVec,
    pub miners_found: IntGaugeVec,
    pub other_devices: IntGaugeVec,
    pub last_success: GaugeVec,
    /// Discovered miners in the fleet now (all tables).
    pub miners: IntGauge,
}

impl DiscoveryMetrics {
    fn new(registry: &Registry) -> Self {
        let gauge = |name: &str, help: &str| {
            let metric = GaugeVec::new(Opts::new(name, help), &["discovery"])
                .unwrap_or_else(|e| panic!("metric {name}: {e}"));
            register(registry, metric)
        };
        let int_gauge = |name: &str, help: &str| {
            let metric = IntGaugeVec::new(Opts::new(name, help), &["discovery"])
                .unwrap_or_else(|e| panic!("metric {name}: {e}"));
            register(registry, metric)
        };
        DiscoveryMetrics {
            scans: counter_vec(
                registry,
                "whatsminer_exporter_discovery_scans_total",
                "Discovery scans completed.",
                &["discovery"],
            ),
            scan_duration: gauge(
                "whatsminer_exporter_discovery_scan_duration_seconds",
                "Wall time of the last discovery scan.",
            ),
            hosts_probed: int_gauge(
                "whatsminer_exporter_discovery_hosts_probed",
                "Addresses the last discovery scan probed.",
            ),
            hosts_answering: int_gauge(
                "whatsminer_exporter_discovery_hosts_answering",
                "Addresses where something accepted a connection in the last discovery scan.",
            ),
            miners_found: int_gauge(
                "whatsminer_exporter_discovery_miners_found",
                "Whatsminers the last discovery scan found.",
            ),
            other_devices: int_gauge(
                "whatsminer_exporter_discovery_other_devices",
                "Devices that answered the last discovery scan and are not Whatsminers (skipped).",
            ),
            last_success: gauge(
                "whatsminer_exporter_discovery_last_success_timestamp_seconds",
                "When the last discovery scan completed, Unix time.",
            ),
            miners: register(
                registry,
                IntGauge::new(
                    "whatsminer_exporter_discovered_miners",
                    "Miners in the fleet by discovery (not configured).",
                )
                .unwrap_or_else(|e| panic!("{e}")),
            ),
        }
    }

    /// Removes the series of table `table` (a reload removed the table).
    pub fn forget(&self, table: &str) {
        let l = [table];
        let _ = self.scans.remove_label_values(&l);
        for g in [&self.scan_duration, &self.last_success] {
            let _ = g.remove_label_values(&l);
        }
        for g in [
            &self.hosts_probed,
            &self.hosts_answering,
            &self.miners_found,
            &self.other_devices,
        ] {
            let _ = g.remove_label_values(&l);
        }
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry")
    }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(registry, metric)
}

/// Registration fails only on a duplicate or invalid name, a programming
/// error caught by the tests, never by input.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    registry
        .register(Box::new(metric.clone()))
        .unwrap_or_else(|e| panic!("self-metric registration: {e}"));
    metric
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let registry = Registry::new();
        let build = GaugeVec::new(
            Opts::new(
                "whatsminer_exporter_build_info",
                "Exporter build; always 1.",
            ),
            &["version", "revision", "rustc"],
        )
        .unwrap_or_else(|e| panic!("build_info: {e}"));
        build
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("WHATSMINER_GIT_REVISION").unwrap_or("unknown"),
                option_env!("WHATSMINER_RUSTC").unwrap_or("unknown"),
            ])
            .set(1.0);
        register(&registry, build);
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            let _ = registry.register(Box::new(pc));
        }
        let fleet_scrape_duration = register(
            &registry,
            Gauge::new(
                "whatsminer_exporter_fleet_scrape_duration_seconds",
                "Wall time of the last full fleet scrape.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let scrapes = counter_vec(
            &registry,
            "whatsminer_exporter_scrapes_total",
            "Fleet or probe scrapes done (a scrape shared by several requests counts once).",
            &["mode"],
        );
        let fleet_scrapes_started = register(
            &registry,
            IntCounter::new(
                "whatsminer_exporter_fleet_scrapes_started_total",
                "Fleet scrapes started, by /metrics or the background schedule.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let shared_scrape_requests = counter_vec(
            &registry,
            "whatsminer_exporter_shared_scrape_requests_total",
            "Requests served by another request's scrape: joined in flight, or reused within [scrape] min_age.",
            &["handler", "served"],
        );
        for handler in ["/metrics", "/probe"] {
            for served in ["joined", "reused"] {
                shared_scrape_requests.with_label_values(&[handler, served]);
            }
        }
        let miner_errors = counter_vec(
            &registry,
            "whatsminer_exporter_miner_errors_total",
            "Miner scrape failures by reason.",
            &["reason"],
        );
        for reason in crate::error::ErrorKind::ALL_REASONS {
            miner_errors.with_label_values(&[reason]);
        }
        let miners = register(
            &registry,
            IntGauge::new(
                "whatsminer_exporter_miners",
                "Miners in the fleet: configured and discovered.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let config_reload_ok = register(
            &registry,
            IntGauge::new(
                "whatsminer_exporter_config_last_reload_successful",
                "1 if the last config (re)load worked.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let config_reload_timestamp = register(
            &registry,
            Gauge::new(
                "whatsminer_exporter_config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful config load.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let config_restart_required = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "whatsminer_exporter_config_restart_required",
                    "1 for each changed setting that keeps its old value until a restart (set by each successful reload).",
                ),
                &["setting"],
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let miner_files_reload_ok = register(
            &registry,
            IntGauge::new(
                "whatsminer_exporter_miner_files_last_reload_successful",
                "1 if the last read of changed [[miner_files]] worked (0: the previous miner list is kept).",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        miner_files_reload_ok.set(1);
        let http_requests = counter_vec(
            &registry,
            "whatsminer_exporter_http_requests_total",
            "HTTP requests served, by handler and status code.",
            &["handler", "code"],
        );
        let admin_commands = counter_vec(
            &registry,
            "whatsminer_admin_commands_total",
            "Admin commands, by command and result.",
            &["command", "result"],
        );
        let admin_auth_failures = register(
            &registry,
            IntCounter::new(
                "whatsminer_admin_auth_failures_total",
                "Admin requests refused with 401.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let webhook_alerts = counter_vec(
            &registry,
            "whatsminer_webhook_alerts_total",
            "Alerts received by the Alertmanager webhook.",
            &["status"],
        );
        let webhook_actions = counter_vec(
            &registry,
            "whatsminer_webhook_actions_total",
            "Webhook decisions, by action and result.",
            &["action", "result"],
        );
        let webhook_budget_remaining = register(
            &registry,
            IntGauge::new(
                "whatsminer_webhook_budget_remaining",
                "Power-offs still allowed in the current window.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let webhook_state_write_failures = register(
            &registry,
            IntCounter::new(
                "whatsminer_webhook_state_write_failures_total",
                "Failed writes of the webhook's state file ([webhook] state_file).",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let discovery = DiscoveryMetrics::new(&registry);
        Telemetry {
            discovery,
            registry,
            fleet_scrape_duration,
            scrapes,
            fleet_scrapes_started,
            shared_scrape_requests,
            miner_errors,
            miners,
            config_reload_ok,
            config_reload_timestamp,
            config_restart_required,
            miner_files_reload_ok,
            http_requests,
            admin_commands,
            admin_auth_failures,
            webhook_alerts,
            webhook_actions,
            webhook_budget_remaining,
            webhook_state_write_failures,
        }
    }

    /// The registry's families in text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::with_capacity(8 * 1024);
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Counts the failures of a fleet scrape by reason.
    pub fn count_errors<'a>(&self, reasons: impl Iterator<Item = &'a str>) {
        for reason in reasons {
            self.miner_errors.with_label_values(&[reason]).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_build_info_and_preinitialised_reasons() {
        let t = Telemetry::new();
        t.scrapes.with_label_values(&["metrics"]).inc();
        let text = t.render();
        assert!(text.contains("whatsminer_exporter_build_info{"), "{text}");
        assert!(text.contains("whatsminer_exporter_miner_errors_total{reason=\"timeout\"} 0"));
        assert!(text.contains("whatsminer_exporter_scrapes_total{mode=\"metrics\"} 1"));
    }
}
