//! End to end with the real Prometheus: a simulated fleet, the exporter in
//! front of it, and Prometheus scraping `/metrics` and `/probe` with the
//! deployed relabelling (deploy/prometheus/prometheus.yml, 1 s intervals).
//!
//! * `prometheus_scrapes_every_simulated_miner`: every miner shows up with
//!   `whatsminer_up` and its hashrate, every probe target with `probe_success`.
//! * `every_dashboard_and_rule_expression_returns_data`: with the alerting
//!   rules loaded and a fleet that exercises them (see `rich_fleet`), every
//!   dashboard and rule expression (tools/kit/extract_promql.py) is valid
//!   and returns data, apart from the short, justified `ALLOWED_EMPTY` list.
//! * `dashboards_and_rules_hold_with_the_large_farm_profile`: with the
//!   reduced metric groups, every expression still runs without error and
//!   every rule evaluates; the switched-off families are absent.
//!
//! Skipped with a loud note when prometheus or python3 is missing (fails
//! under `CI`).

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::prometheus::{config_from_deploy, PrometheusProcess, ScrapeSetup};
use support::rich_fleet::{restart_btminer, rich_fleet, role};
use support::{http_get, run_tool, sim_fleet, sim_name, start_exporter, target, tool};
use whatsminer_exporter::collector::groups::MetricGroups;

/// Bound on waiting for Prometheus to have scraped what we look for.
const SCRAPE_WAIT: Duration = Duration::from_secs(60);
/// Bound on the query phase: empty queries are asked again until then.
const QUERY_WAIT: Duration = Duration::from_secs(45);

/// Expressions that may stay empty, and why. Keep this list short.
const ALLOWED_EMPTY: &[(&str, &str)] = &[
    (
        "whatsminer.rules.yml#WhatsminerDataStale",
        "needs data older than 5 minutes while the miner is up: longer than this test; \
         covered by whatsminer.rules.test.yml",
    ),
    (
        "whatsminer.rules.yml#WhatsminerWebhookBudgetExhausted",
        "needs power-offs decided by the Alertmanager webhook, which Exporter::start does not run; \
         covered by whatsminer.rules.test.yml",
    ),
    (
        "whatsminer.rules.yml#WhatsminerWebhookActionFailed",
        "needs a failed webhook action (no webhook here); covered by whatsminer.rules.test.yml",
    ),
    (
        "whatsminer.rules.yml#WhatsminerWebhookStateNotSaved",
        "needs a failed write of the webhook's state file (no webhook here); \
         covered by whatsminer.rules.test.yml",
    ),
];

/// Polls `check` every 500 ms until it returns Ok or `limit` passes; the
/// last Err explains the failure.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(()) => return Ok(()),
            Err(e) if started.elapsed() >= limit => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Every name of `wanted` among the `miner` labels of `expr`'s result.
async fn expect_miners(
    prom: &PrometheusProcess,
    expr: &str,
    wanted: &[String],
) -> Result<(), String> {
    let found = prom.miners_in(expr).await?;
    let missing: Vec<&String> = wanted.iter().filter(|m| !found.contains(m)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`{expr}`: no series yet for {missing:?} (found {found:?})"
        ))
    }
}

/// Prometheus with the deployed configuration adapted to `setup`.
async fn start_prometheus(binary: &Path, setup: &ScrapeSetup<'_>) -> PrometheusProcess {
    let config = config_from_deploy(setup).unwrap_or_else(|e| panic!("{e}"));
    PrometheusProcess::start(binary, &config, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}\nconfig:\n{config}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_every_simulated_miner() {
    let Some(binary) = tool("prometheus", "prometheus_scrapes_every_simulated_miner") else {
        return;
    };
    let (fleet, names, targets) = sim_fleet(8).await;
    let exporter = start_exporter(targets).await;
    let probed = [fleet.addrs()[0], fleet.addrs()[7]];
    let setup = ScrapeSetup {
        exporter: exporter.metrics_addr(),
        probe_targets: &probed,
        stalled_exporter: None,
        rules: false,
    };
    let prom = start_prometheus(&binary, &setup).await;
    let fleet_job = r#"{job="whatsminer"}"#;
    let scraped = eventually(SCRAPE_WAIT, || async {
        expect_miners(&prom, &format!("whatsminer_up{fleet_job} == 1"), &names).await?;
        let hashrate = format!("whatsminer_hashrate_hashes_per_second{fleet_job} > 0");
        expect_miners(&prom, &hashrate, &names).await?;
        // The exporter answered Prometheus on /metrics and both /probe targets.
        let scrapes_up = prom.query(r#"up{job=~"whatsminer.*"} == 1"#).await?.len();
        if scrapes_up != 1 + probed.len() {
            let want = 1 + probed.len();
            return Err(format!(
                "{scrapes_up} successful scrape targets, want {want}"
            ));
        }
        for addr in probed {
            // The deployed relabelling: the miner address becomes the instance.
            let probe = format!(
                r#"probe_success{{job="whatsminer-probe", instance="{addr}", rack="r1"}} == 1"#
            );
            if prom.query(&probe).await?.is_empty() {
                return Err(format!("no `{probe}` yet"));
            }
        }
        Ok(())
    })
    .await;
    if let Err(e) = scraped {
        panic!("{e}\nPrometheus log:\n{}", prom.log_text());
    }
    // The probe job shows the miner under its configured name, via the exporter.
    let probed_names = prom
        .miners_in(r#"whatsminer_hashrate_hashes_per_second{job="whatsminer-probe"}"#)
        .await
        .expect("query");
    assert_eq!(probed_names, vec![sim_name(0), sim_name(7)]);
    drop(prom);
    exporter.shutdown().await;
    fleet.shutdown().await;
}

/// One expression to check, and what Prometheus said.
struct Check {
    source: String,
    expr: String,
    outcome: Result<usize, String>,
}

fn extracted_expressions(python: &Path) -> Vec<Check> {
    let run = run_tool(python, &["tools/kit/extract_promql.py"], b"");
    assert!(
        run.success,
        "extract_promql.py failed:\n{}{}",
        run.stdout, run.stderr
    );
    run.stdout
        .lines()
        .map(|line| {
            let item: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            Check {
                source: item["source"].as_str().unwrap_or("?").to_string(),
                expr: item["expr"].as_str().unwrap_or("").to_string(),
                outcome: Ok(0),
            }
        })
        .collect()
}

fn allowed_empty(source: &str) -> bool {
    ALLOWED_EMPTY
        .iter()
        .any(|(suffix, _)| source.ends_with(suffix))
}

/// Queries every check until it has data (or fails for good) or time runs out.
async fn run_checks(prom: &PrometheusProcess, checks: &mut [Check]) {
    let started = Instant::now();
    loop {
        let mut pending = 0;
        for check in checks.iter_mut().filter(|c| matches!(c.outcome, Ok(0))) {
            check.outcome = prom.query(&check.expr).await.map(|r| r.len());
            pending += usize::from(matches!(check.outcome, Ok(0)) && !allowed_empty(&check.source));
        }
        if pending == 0 || started.elapsed() >= QUERY_WAIT {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn failure_table(checks: &[Check]) -> String {
    let mut rows = Vec::new();
    for check in checks {
        let verdict = match &check.outcome {
            Ok(0) if allowed_empty(&check.source) => continue,
            Ok(0) => "EMPTY".to_string(),
            Ok(_) => continue,
            Err(e) => format!("ERROR {e}"),
        };
        let expr = check.expr.split_whitespace().collect::<Vec<_>>().join(" ");
        rows.push(format!(
            "{:<70} | {verdict}\n{:>70}   {expr:.300}",
            check.source, ""
        ));
    }
    rows.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_rule_expression_returns_data() {
    let test = "every_dashboard_and_rule_expression_returns_data";
    let (Some(python), Some(binary)) = (tool("python3", test), tool("prometheus", test)) else {
        return;
    };
    let rich = rich_fleet().await;
    let probed: Vec<SocketAddr> = role::PROBED
        .iter()
        .map(|&i| rich.fleet.addrs()[i])
        .collect();
    let setup = ScrapeSetup {
        exporter: rich.exporter.metrics_addr(),
        probe_targets: &probed,
        stalled_exporter: Some(rich.stalled.local_addr().expect("address")),
        rules: true,
    };
    let prom = start_prometheus(&binary, &setup).await;
    let names: Vec<String> = (0..role::COUNT).map(sim_name).collect();
    let scraped = eventually(SCRAPE_WAIT, || {
        expect_miners(&prom, r#"whatsminer_up{job="whatsminer"}"#, &names)
    })
    .await;
    if let Err(e) = scraped {
        panic!("{e}\nPrometheus log:\n{}", prom.log_text());
    }
    // Three btminer restarts, each seen by at least one scrape (1 s interval).
    let restarted = rich.fleet.miner(role::RESTARTED).expect("miner");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        restart_btminer(&restarted).await;
    }
    assert_eq!(restarted.command_count("restart_btminer"), 3);
    // The hashrate ramps up for a minute after hashing restarts.
    let ramping = rich.fleet.miner(role::RAMPING).expect("miner");
    ramping.set_powered(false);
    ramping.set_powered(true);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut checks = extracted_expressions(&python);
    assert!(
        checks.len() > 100,
        "only {} expressions extracted",
        checks.len()
    );
    assert!(
        checks
            .iter()
            .any(|c| c.source.contains("rules.yml#WhatsminerDown")),
        "no rule expressions extracted"
    );
    for (suffix, _) in ALLOWED_EMPTY {
        assert!(
            checks.iter().any(|c| c.source.ends_with(suffix)),
            "ALLOWED_EMPTY names {suffix}, which no longer exists: remove it"
        );
    }
    run_checks(&prom, &mut checks).await;
    let with_data = checks
        .iter()
        .filter(|c| matches!(c.outcome, Ok(n) if n > 0))
        .count();
    let failures = failure_table(&checks);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("{with_data}/{} expressions returned data\n", checks.len()).as_bytes(),
    );
    assert!(
        failures.is_empty(),
        "{} of {} expressions failed (invalid, or empty on a fleet built to fill them):\n{failures}",
        failures.lines().count() / 2,
        checks.len()
    );
    check_rules_loaded(&prom, &checks).await;
    drop(prom);
    rich.exporter.shutdown().await;
    rich.fleet.shutdown().await;
}

/// Every deployed rule (one per rule expression among `checks`) is loaded
/// and evaluates without error; the down miner's alert is pending or firing.
/// Asked again (bounded by `SCRAPE_WAIT`) until the rule group has been
/// evaluated on the scraped data: Prometheus evaluates rules on its own 1 s
/// tick, so the first answer can predate the scrape that saw the dead miner.
async fn check_rules_loaded(prom: &PrometheusProcess, checks: &[Check]) {
    let expected = checks
        .iter()
        .filter(|c| c.source.contains(".rules.yml#"))
        .count();
    let outcome = eventually(SCRAPE_WAIT, || async {
        let (status, body) = http_get(&format!("{}/api/v1/rules", prom.url))
            .await
            .map_err(|e| format!("GET rules: {e}"))?;
        if status != 200 {
            return Err(format!("GET rules: {status} {body}"));
        }
        let reply: Value = serde_json::from_str(&body).map_err(|e| format!("JSON: {e}"))?;
        let rules: Vec<&Value> = reply["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        if rules.len() != expected {
            return Err(format!(
                "rules loaded: {} of {expected}: {body:.500}",
                rules.len()
            ));
        }
        let unhealthy: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{}: {} {}", r["name"], r["health"], r["lastError"]))
            .collect();
        if !unhealthy.is_empty() {
            return Err(format!("rules failing to evaluate: {unhealthy:#?}"));
        }
        let down = rules
            .iter()
            .find(|r| r["name"] == "WhatsminerDown")
            .ok_or("no WhatsminerDown rule")?;
        if down["state"] == "pending" || down["state"] == "firing" {
            Ok(())
        } else {
            Err(format!("WhatsminerDown is {}", down["state"]))
        }
    })
    .await;
    if let Err(e) = outcome {
        panic!("{e}\nPrometheus log:\n{}", prom.log_text());
    }
}

/// The large-farm profile (no board or pool series; the 1m and 15m
/// windows): every dashboard and rule expression still runs
/// without error (a panel over a group that is off shows no data), every
/// rule evaluates, the core panels have data, and the groups that are off
/// have no series at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_rules_hold_with_the_large_farm_profile() {
    let test = "dashboards_and_rules_hold_with_the_large_farm_profile";
    let (Some(python), Some(binary)) = (tool("python3", test), tool("prometheus", test)) else {
        return;
    };
    let (fleet, mut names, targets) = sim_fleet(4).await;
    let mut targets: Vec<_> = targets
        .into_iter()
        .map(|t| Arc::new(Arc::unwrap_or_clone(t).with_groups(MetricGroups::LARGE_FARM)))
        .collect();
    // One miner that is down, so that WhatsminerDown has something to say.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    names.push("dead".into());
    targets.push(Arc::new(
        Arc::unwrap_or_clone(target(dead_addr, "dead")).with_groups(MetricGroups::LARGE_FARM),
    ));
    let exporter = start_exporter(targets).await;
    let setup = ScrapeSetup {
        exporter: exporter.metrics_addr(),
        probe_targets: &[],
        stalled_exporter: None,
        rules: true,
    };
    let prom = start_prometheus(&binary, &setup).await;
    let core = r#"whatsminer_hashrate_hashes_per_second{window="15m"} > 0"#;
    let scraped = eventually(SCRAPE_WAIT, || async {
        expect_miners(&prom, r#"whatsminer_up{job="whatsminer"}"#, &names).await?;
        expect_miners(&prom, core, &names[..4]).await
    })
    .await;
    if let Err(e) = scraped {
        panic!("{e}\nPrometheus log:\n{}", prom.log_text());
    }
    let off = r#"{__name__=~"whatsminer_(board|pool)_.+"}"#;
    assert_eq!(prom.query(off).await.expect("query").len(), 0, "{off}");
    let windows = r#"whatsminer_hashrate_hashes_per_second{window!~"1m|15m"}"#;
    assert_eq!(prom.query(windows).await.expect("query").len(), 0);
    let mut checks = extracted_expressions(&python);
    for check in &mut checks {
        check.outcome = prom.query(&check.expr).await.map(|r| r.len());
    }
    let errors: Vec<String> = checks
        .iter()
        .filter_map(|c| {
            c.outcome
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", c.source))
        })
        .collect();
    assert!(
        errors.is_empty(),
        "expressions failing:\n{}",
        errors.join("\n")
    );
    check_rules_loaded(&prom, &checks).await;
    drop(prom);
    exporter.shutdown().await;
    fleet.shutdown().await;
}
