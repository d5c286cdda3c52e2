//! Checks of the operator kit that need no external tool: the rule tests
//! cover every alert, and ports, paths and secrets agree between
//! docker-compose.yml, exporter.toml, prometheus.yml, alertmanager.yml, the
//! Grafana provisioning and the Dockerfile.

use serde_yaml::Value as Yaml;

use super::{read, yaml};
use std::path::Path;

/// Needs no external tool: reads the rule and rule-test files.
#[test]
fn every_alert_has_a_firing_and_a_quiet_test() {
    let rules = yaml("deploy/prometheus/rules/whatsminer.rules.yml");
    let mut alerts = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let Some(name) = rule["alert"].as_str() else {
                continue;
            };
            let action = rule["labels"]["action"].as_str();
            assert_eq!(
                action == Some("power_off"),
                name == "WhatsminerCriticalTemperature",
                "only WhatsminerCriticalTemperature may carry action=power_off ({name})"
            );
            alerts.push(name.to_owned());
        }
    }
    let required = [
        "WhatsminerDown",
        "WhatsminerTooHot",
        "WhatsminerHashrateLow",
        "WhatsminerFanFailure",
        "WhatsminerPoolDown",
        "WhatsminerPoolRejectRateHigh",
        "WhatsminerRestarting",
        "WhatsminerCriticalTemperature",
    ];
    for name in required {
        assert!(alerts.iter().any(|a| a == name), "alert {name} is missing");
    }
    let tests = yaml("deploy/prometheus/rules/whatsminer.rules.test.yml");
    let cases: Vec<&Yaml> = tests["tests"]
        .as_sequence()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_sequence().into_iter().flatten())
        .collect();
    for alert in &alerts {
        let outcomes: Vec<bool> = cases
            .iter()
            .filter(|c| c["alertname"].as_str() == Some(alert))
            .map(|c| c["exp_alerts"].as_sequence().is_some_and(|a| !a.is_empty()))
            .collect();
        assert!(
            outcomes.contains(&true),
            "{alert}: no test case where it fires"
        );
        assert!(
            outcomes.contains(&false),
            "{alert}: no test case where it stays quiet"
        );
    }
}

fn strings(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// The item of a YAML sequence whose `key` is `value`.
fn find<'a>(sequence: &'a Yaml, key: &str, value: &str) -> &'a Yaml {
    sequence
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|item| item[key].as_str() == Some(value))
        .unwrap_or_else(|| panic!("no item with {key} = {value}"))
}

/// Where docker-compose.yml mounts `secret` in `service`.
fn secret_target(compose: &Yaml, service: &str, secret: &str) -> String {
    find(&compose["services"][service]["secrets"], "source", secret)["target"]
        .as_str()
        .expect("target")
        .to_owned()
}

/// The webhook's state file sits on a named volume (the exporter's root file
/// system is read-only), whose folder the Dockerfile makes for its user.
#[test]
fn webhook_state_is_on_a_writable_volume() {
    let compose = yaml("docker-compose.yml");
    let volumes = strings(&compose["services"]["exporter"]["volumes"]);
    let exporter_toml: toml::Value =
        toml::from_str(&read("deploy/exporter/exporter.toml")).expect("exporter.toml");
    let state_file = exporter_toml["webhook"]["state_file"]
        .as_str()
        .expect("webhook.state_file");
    let state_dir = Path::new(state_file).parent().expect("a folder");
    let volume = volumes
        .iter()
        .find_map(|v| v.strip_suffix(&format!(":{}", state_dir.display())))
        .unwrap_or_else(|| panic!("nothing mounted on {}: {volumes:?}", state_dir.display()));
    let declared = compose["volumes"].as_mapping().expect("top-level volumes");
    assert!(
        declared.contains_key(Yaml::from(volume)),
        "{volume} is not a named volume"
    );
    assert!(read("Dockerfile").contains(&format!(
        "-o 10001 -g 10001 -m 0750 {}",
        state_dir.display()
    )));
}

/// The exporter reads the simulator's miners and the secrets compose mounts for it.
#[test]
fn compose_and_exporter_config_agree() {
    let compose = yaml("docker-compose.yml");
    let services = &compose["services"];
    assert_eq!(
        strings(&services["exporter"]["command"]),
        ["serve", "--config", "/etc/whatsminer/exporter.toml"]
    );
    assert!(strings(&services["exporter"]["volumes"])
        .iter()
        .any(|v| v.starts_with("./deploy/exporter/exporter.toml:/etc/whatsminer/exporter.toml")));
    assert_eq!(
        services["simulator"]["network_mode"].as_str(),
        Some("service:exporter")
    );
    let sim_args = strings(&services["simulator"]["command"]);
    let arg = |flag: &str| -> u16 {
        let at = sim_args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("simulator lacks {flag}"));
        sim_args[at + 1]
            .parse()
            .expect("numeric simulator argument")
    };
    let exporter: toml::Value =
        toml::from_str(&read("deploy/exporter/exporter.toml")).expect("exporter.toml");
    assert_eq!(exporter["server"]["listen"].as_str(), Some("0.0.0.0:9710"));
    assert_eq!(exporter["admin"]["listen"].as_str(), Some("0.0.0.0:9711"));
    let addresses: Vec<&str> = exporter["miners"]
        .as_array()
        .expect("miners")
        .iter()
        .filter_map(|m| m["address"].as_str())
        .collect();
    let expected: Vec<String> = (0..arg("--miners"))
        .map(|i| format!("127.0.0.1:{}", arg("--port") + i))
        .collect();
    assert_eq!(
        addresses, expected,
        "exporter.toml miners must be the simulator's ports"
    );
    let token = secret_target(&compose, "exporter", "admin-token");
    assert_eq!(
        exporter["admin"]["token_file"].as_str(),
        Some(token.as_str())
    );
    let password = secret_target(&compose, "exporter", "whatsminer-password");
    assert_eq!(
        exporter["defaults"]["password_file"].as_str(),
        Some(password.as_str())
    );
    let provider = yaml("deploy/grafana/provisioning/dashboards/whatsminer.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("provider path");
    assert!(strings(&services["grafana"]["volumes"]).contains(&format!("./dashboards:{path}:ro")));
}

/// Prometheus scrapes the exporter's port; Alertmanager calls its admin port with the mounted token.
#[test]
fn prometheus_and_alertmanager_reach_the_exporter() {
    let compose = yaml("docker-compose.yml");
    let alertmanager = yaml("deploy/alertmanager/alertmanager.yml");
    let webhook =
        &find(&alertmanager["receivers"], "name", "whatsminer-power-off")["webhook_configs"][0];
    assert_eq!(
        webhook["url"].as_str(),
        Some("http://exporter:9711/admin/alertmanager")
    );
    assert_eq!(webhook["send_resolved"].as_bool(), Some(true));
    let token = secret_target(&compose, "alertmanager", "admin-token");
    assert_eq!(
        webhook["http_config"]["authorization"]["credentials_file"].as_str(),
        Some(token.as_str())
    );
    let prometheus = yaml("deploy/prometheus/prometheus.yml");
    let jobs = &prometheus["scrape_configs"];
    assert_eq!(
        strings(&find(jobs, "job_name", "whatsminer")["static_configs"][0]["targets"]),
        ["exporter:9710"]
    );
    let probe = find(jobs, "job_name", "whatsminer-probe");
    assert_eq!(probe["metrics_path"].as_str(), Some("/probe"));
    assert_eq!(
        find(&probe["relabel_configs"], "target_label", "__address__")["replacement"].as_str(),
        Some("exporter:9710")
    );
}

#[test]
fn dockerfile_builds_locked_and_runs_unprivileged() {
    let dockerfile = read("Dockerfile");
    for needle in [
        "cargo build --release --locked",
        "FROM debian:bookworm-slim",
        "EXPOSE 9710 9711",
        "HEALTHCHECK",
        "healthcheck\", \"--url\", \"http://127.0.0.1:9710/-/healthy",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks `{needle}`");
    }
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("Dockerfile sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "image runs as root ({user})"
    );
}
