//! Static checks of the operator kit: dashboards/, deploy/, docker-compose.yml
//! and the Dockerfile.
//!
//! Runs the dashboard checker and generator check (python3), `promtool check
//! config` / `check rules` / `test rules`, `amtool check-config` and routing
//! tests, and parses every dashboard PromQL with promtool; deploy_files.rs
//! cross-checks ports, paths and secrets between the deploy files. A missing
//! tool fails the test when `CI` is set and is skipped with a loud note
//! otherwise (install: `apt-get install -y prometheus prometheus-alertmanager python3`).

use std::path::Path;
use std::process::Command;

use serde_yaml::Value as Yaml;

mod support;
use support::{repo, tool};

// Tool-free checks of the deploy files (tests/kit_static/ is not a test target of its own).
#[path = "kit_static/deploy_files.rs"]
mod deploy_files;

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    serde_yaml::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative}: invalid YAML: {e}"))
}

/// Runs `program args` in the repository: Ok(output) if it exits with 0, Err(output) otherwise.
fn run(program: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn must_pass(program: &Path, args: &[&str]) -> String {
    run(program, args)
        .unwrap_or_else(|out| panic!("`{} {}` failed:\n{out}", program.display(), args.join(" ")))
}

#[test]
fn dashboards_pass_the_structural_check() {
    if let Some(python) = tool("python3", "dashboards_pass_the_structural_check") {
        let out = must_pass(&python, &["tools/kit/check_dashboards.py"]);
        assert!(
            out.contains("ok: 3 dashboards"),
            "unexpected checker output:\n{out}"
        );
    }
}

#[test]
fn dashboard_check_rejects_broken_dashboards() {
    let Some(python) = tool("python3", "dashboard_check_rejects_broken_dashboards") else {
        return;
    };
    let mut board: serde_json::Value =
        serde_json::from_str(&read("dashboards/whatsminer-fleet.json"))
            .expect("fleet dashboard is JSON");
    let panels = board["panels"].as_array_mut().expect("panels");
    panels[1]["targets"][0]["expr"] = "sum(whatsminer_bogus_total{miner=~\"$nope\"})".into();
    panels[2]["id"] = panels[1]["id"].clone();
    panels[3]["targets"][0]
        .as_object_mut()
        .expect("target")
        .remove("datasource");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("broken.json");
    std::fs::write(&file, board.to_string()).expect("write");
    let file = file.to_string_lossy().into_owned();
    let out = run(
        &python,
        &["tools/kit/check_dashboards.py", "--rules", "--", &file],
    )
    .expect_err("the checker must reject a broken dashboard");
    for problem in [
        "undefined variable $nope",
        "whatsminer_bogus_total",
        "duplicate panel id",
        "datasource uid",
    ] {
        assert!(
            out.contains(problem),
            "checker did not report `{problem}`:\n{out}"
        );
    }
}

#[test]
fn dashboards_are_generated_from_dashgen() {
    if let Some(python) = tool("python3", "dashboards_are_generated_from_dashgen") {
        must_pass(&python, &["tools/kit/gen_dashboards.py", "--check"]);
    }
}

/// Wraps every dashboard and rule expression in a recording rule for `promtool check rules`.
#[test]
fn every_dashboard_expression_is_valid_promql() {
    let test = "every_dashboard_expression_is_valid_promql";
    let (Some(python), Some(promtool)) = (tool("python3", test), tool("promtool", test)) else {
        return;
    };
    let lines = must_pass(&python, &["tools/kit/extract_promql.py"]);
    let mut rules = Vec::new();
    for (index, line) in lines.lines().enumerate() {
        let item: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let expr = item["expr"].as_str().expect("expr");
        assert!(
            !expr.contains('$'),
            "unsubstituted variable in {}: {expr}",
            item["source"]
        );
        let mut rule = serde_yaml::Mapping::new();
        rule.insert("record".into(), format!("kit:expr_{index}").into());
        rule.insert("expr".into(), expr.into());
        rules.push(Yaml::Mapping(rule));
    }
    assert!(
        rules.len() > 100,
        "only {} expressions extracted",
        rules.len()
    );
    let mut group = serde_yaml::Mapping::new();
    group.insert("name".into(), "dashboards".into());
    group.insert("rules".into(), Yaml::Sequence(rules));
    let mut file = serde_yaml::Mapping::new();
    file.insert("groups".into(), Yaml::Sequence(vec![Yaml::Mapping(group)]));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dashboards.rules.yml");
    std::fs::write(&path, serde_yaml::to_string(&file).expect("YAML")).expect("write");
    must_pass(&promtool, &["check", "rules", &path.to_string_lossy()]);
}

#[test]
fn prometheus_config_is_valid() {
    if let Some(promtool) = tool("promtool", "prometheus_config_is_valid") {
        must_pass(
            &promtool,
            &["check", "config", "deploy/prometheus/prometheus.yml"],
        );
    }
}

/// The commented sharding example, uncommented, must be a valid configuration too.
#[test]
fn sharding_example_is_valid_once_uncommented() {
    let Some(promtool) = tool("promtool", "sharding_example_is_valid_once_uncommented") else {
        return;
    };
    let mut inside = false;
    let mut found = 0;
    let config: Vec<String> = read("deploy/prometheus/prometheus.yml")
        .lines()
        .filter_map(|line| match line.trim() {
            "# >>> sharding example" => {
                inside = true;
                None
            }
            "# <<< sharding example" => {
                inside = false;
                None
            }
            _ if inside => {
                found += 1;
                Some(format!(
                    "  {}",
                    line.strip_prefix("  # ")
                        .expect("example lines start with `  # `")
                ))
            }
            _ => Some(line.to_owned()),
        })
        .collect();
    assert!(found > 10, "sharding example markers not found");
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["rules", "targets"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    for file in ["rules/whatsminer.rules.yml", "targets/whatsminer-probe.yml"] {
        std::fs::copy(
            repo().join("deploy/prometheus").join(file),
            dir.path().join(file),
        )
        .expect("copy");
    }
    let path = dir.path().join("prometheus.yml");
    std::fs::write(&path, config.join("\n")).expect("write");
    let out = must_pass(&promtool, &["check", "config", &path.to_string_lossy()]);
    assert!(out.contains("SUCCESS"), "{out}");
    let parsed: Yaml = serde_yaml::from_str(&config.join("\n")).expect("YAML");
    let jobs: Vec<&str> = parsed["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .filter_map(|job| job["job_name"].as_str())
        .collect();
    assert!(
        jobs.contains(&"whatsminer-probe-sharded"),
        "example job missing: {jobs:?}"
    );
}

#[test]
fn alerting_rules_are_valid() {
    if let Some(promtool) = tool("promtool", "alerting_rules_are_valid") {
        must_pass(
            &promtool,
            &[
                "check",
                "rules",
                "deploy/prometheus/rules/whatsminer.rules.yml",
            ],
        );
    }
}

#[test]
fn alerting_rule_unit_tests_pass() {
    if let Some(promtool) = tool("promtool", "alerting_rule_unit_tests_pass") {
        must_pass(
            &promtool,
            &[
                "test",
                "rules",
                "deploy/prometheus/rules/whatsminer.rules.test.yml",
            ],
        );
    }
}

#[test]
fn alertmanager_config_is_valid() {
    if let Some(amtool) = tool("amtool", "alertmanager_config_is_valid") {
        must_pass(
            &amtool,
            &["check-config", "deploy/alertmanager/alertmanager.yml"],
        );
    }
}

/// `amtool config routes test`: Ok when the labels reach exactly `receivers`.
fn route(amtool: &Path, receivers: &str, labels: &[&str]) -> Result<String, String> {
    let config = "--config.file=deploy/alertmanager/alertmanager.yml";
    let verify = format!("--verify.receivers={receivers}");
    let args: Vec<&str> = ["config", "routes", "test", config, &verify]
        .into_iter()
        .chain(labels.iter().copied())
        .collect();
    run(amtool, &args)
}

#[test]
fn power_off_alerts_route_to_the_exporter_webhook() {
    let Some(amtool) = tool("amtool", "power_off_alerts_route_to_the_exporter_webhook") else {
        return;
    };
    let critical = [
        "alertname=WhatsminerCriticalTemperature",
        "action=power_off",
        "miner=sim-01",
    ];
    let warning = ["alertname=WhatsminerTooHot", "miner=sim-01"];
    route(&amtool, "whatsminer-power-off,default", &critical).unwrap_or_else(|out| panic!("{out}"));
    route(&amtool, "default", &warning).unwrap_or_else(|out| panic!("{out}"));
    // The routing check itself can fail.
    route(&amtool, "whatsminer-power-off", &warning)
        .expect_err("a warning alert must not reach the webhook");
}
