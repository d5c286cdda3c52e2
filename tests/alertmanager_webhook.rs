//! The Alertmanager webhook against the simulated fleet: every guard
//! (dry run, budget, dedupe, already off, resolve → power on), miner and
//! action lookup, retries only when the command surely did not run, and
//! malformed payloads.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::admin::{sample, Harness, Setup};
use whatsminer_exporter::sim::Fault;

/// Generous: a webhook action is one or two loopback round trips.
const WAIT: Duration = Duration::from_secs(15);

fn alert(status: &str, fingerprint: &str, labels: Value) -> Value {
    json!({
        "status": status,
        "labels": labels,
        "annotations": {"summary": "test"},
        "startsAt": "2024-05-01T10:00:00Z",
        "endsAt": if status == "resolved" { "2024-05-01T10:05:00Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    })
}

fn notification(alerts: Vec<Value>) -> String {
    let status = if alerts.iter().any(|a| a["status"] == "firing") {
        "firing"
    } else {
        "resolved"
    };
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"Hot\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "power-off", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager", "alerts": alerts,
    })
    .to_string()
}

fn hot(miner: &str, fingerprint: &str) -> Value {
    alert(
        "firing",
        fingerprint,
        json!({"alertname": "Hot", "miner": miner, "action": "power_off"}),
    )
}

async fn send(h: &Harness, body: &str) -> Value {
    let r = h.post("/admin/alertmanager", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn decisions(reply: &Value) -> Vec<String> {
    reply["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["decision"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_firing_alert_powers_its_miner_off_and_nothing_else() {
    let h = Harness::start("wh-basic", Setup::new(3)).await;
    let started = std::time::Instant::now();
    let reply = send(&h, &notification(vec![hot("sim-1", "fp1")])).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answers at once"
    );
    assert_eq!(decisions(&reply), ["queued"]);
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    assert!(!h.miner(1).powered_on());
    assert!(h.miner(0).powered_on() && h.miner(2).powered_on());
    assert_eq!(h.miner(1).command_count("power_off"), 1);
    assert_eq!(
        h.miner(0).command_count("power_off") + h.miner(2).command_count("power_off"),
        0
    );
    let metrics = h.metrics().await;
    assert_eq!(
        sample(&metrics, "whatsminer_mining", "miner=\"sim-1\""),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "whatsminer_webhook_alerts_total",
            "status=\"firing\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, "whatsminer_webhook_budget_remaining", ""),
        Some(4.0)
    );
    let audit = h.audit();
    let line = audit
        .iter()
        .find(|l| l["result"] == "ok")
        .expect("audit line");
    assert_eq!(line["source"], "alertmanager");
    assert_eq!(line["miner"], "sim-1");
    assert_eq!(line["alert"], "fp1");
    assert_eq!(line["params"], r#"{"respbefore":"true"}"#);
    assert_eq!(line["attempts"], 1);
}

#[tokio::test]
async fn dry_run_counts_and_logs_but_sends_nothing() {
    let mut setup = Setup::new(2);
    setup.webhook = "dry_run = true".into();
    let h = Harness::start("wh-dry", setup).await;
    send(
        &h,
        &notification(vec![hot("sim-0", "a"), hot("sim-1", "b")]),
    )
    .await;
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "dry_run") == 2).await
    );
    assert!(h.miner(0).powered_on() && h.miner(1).powered_on());
    assert_eq!(
        h.miner(0).command_count("power_off") + h.miner(1).command_count("power_off"),
        0
    );
    assert_eq!(
        h.audit()
            .iter()
            .filter(|l| l["result"] == "dry_run")
            .count(),
        2
    );
    assert_eq!(
        h.exporter.state.telemetry.webhook_budget_remaining.get(),
        5,
        "dry runs use no budget"
    );
}

#[tokio::test]
async fn dry_run_in_the_url_is_honoured_and_never_ambiguous() {
    let h = Harness::start("wh-dry-url", Setup::new(1)).await;
    let body = notification(vec![hot("sim-0", "u1")]);
    let r = h.post("/admin/alertmanager?dry_run=true", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(decisions(&r.json()), ["dry_run"]);
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "dry_run") == 1).await
    );
    for query in [
        "dry_run=true&dry_run=false",
        "dry_run=false&dry_run=true",
        "dry_run=maybe",
        "x=1",
    ] {
        let r = h.post(&format!("/admin/alertmanager?{query}"), &body).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
    }
    assert!(h.miner(0).powered_on());
    assert_eq!(h.miner(0).command_count("power_off"), 0);
    assert_eq!(
        h.exporter.state.telemetry.webhook_budget_remaining.get(),
        5,
        "a dry run uses no budget"
    );
}

#[tokio::test]
async fn the_budget_caps_power_offs_per_window() {
    let mut setup = Setup::new(5);
    setup.webhook = "budget = 2\nbudget_window = \"1h\"".into();
    let h = Harness::start("wh-budget", setup).await;
    let alerts = (0..4)
        .map(|i| hot(&format!("sim-{i}"), &format!("fp{i}")))
        .collect();
    // The answer says what will happen: never "queued" for an alert that
    // is then refused over budget.
    assert_eq!(
        decisions(&send(&h, &notification(alerts)).await),
        ["queued", "queued", "budget_exceeded", "budget_exceeded"]
    );
    let settled = || {
        h.webhook_actions("power_off", "ok") + h.webhook_actions("power_off", "budget_exceeded")
            == 4
    };
    assert!(support::admin::wait_for(WAIT, settled).await);
    assert_eq!(h.webhook_actions("power_off", "ok"), 2);
    assert_eq!(h.webhook_actions("power_off", "budget_exceeded"), 2);
    let off = h.fleet.miners().iter().filter(|m| !m.powered_on()).count();
    assert_eq!(off, 2);
    assert!(h.miner(4).powered_on());
    assert_eq!(h.exporter.state.telemetry.webhook_budget_remaining.get(), 0);
    // A re-send of a refused alert is not a duplicate, but still over budget.
    let refused: Vec<usize> = (0..4).filter(|&i| h.miner(i).powered_on()).collect();
    let again = hot(&format!("sim-{}", refused[0]), &format!("fp{}", refused[0]));
    assert_eq!(
        decisions(&send(&h, &notification(vec![again])).await),
        ["budget_exceeded"]
    );
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "budget_exceeded")
            == 3)
        .await
    );
    let total: u64 = h
        .fleet
        .miners()
        .iter()
        .map(|m| m.command_count("power_off"))
        .sum();
    assert_eq!(total, 2);
}

#[tokio::test]
async fn repeats_act_once_and_a_powered_off_miner_is_not_hit_again() {
    let h = Harness::start("wh-dedupe", Setup::new(2)).await;
    let payload = notification(vec![hot("sim-0", "same")]);
    send(&h, &payload).await;
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    let reply = send(&h, &payload).await;
    assert_eq!(decisions(&reply), ["duplicate"]);
    assert_eq!(h.webhook_actions("power_off", "duplicate"), 1);
    // Another alert (other fingerprint) for the same miner: our own record.
    let reply = send(&h, &notification(vec![hot("sim-0", "other")])).await;
    assert_eq!(decisions(&reply), ["already_off"]);
    assert_eq!(h.miner(0).command_count("power_off"), 1);
    // Two alerts for one miner in one notification: one acts.
    let reply = send(
        &h,
        &notification(vec![hot("sim-1", "x1"), hot("sim-1", "x2")]),
    )
    .await;
    assert_eq!(decisions(&reply), ["queued", "already_off"]);
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 2).await);
    assert_eq!(h.miner(1).command_count("power_off"), 1);
}

#[tokio::test]
async fn a_miner_found_off_by_its_status_is_left_alone() {
    let h = Harness::start("wh-off", Setup::new(1)).await;
    h.miner(0).set_powered(false);
    let reply = send(&h, &notification(vec![hot("sim-0", "off")])).await;
    assert_eq!(decisions(&reply), ["queued"]);
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "already_off") == 1).await
    );
    assert_eq!(h.miner(0).command_count("power_off"), 0);
    assert_eq!(h.miner(0).command_count("status"), 1);
    assert_eq!(h.exporter.state.telemetry.webhook_budget_remaining.get(), 5);
}

#[tokio::test]
async fn resolved_alerts_power_on_only_when_enabled_and_only_our_miners() {
    let mut setup = Setup::new(3);
    setup.webhook = "power_on_when_resolved = true".into();
    let h = Harness::start("wh-resolve", setup).await;
    send(&h, &notification(vec![hot("sim-0", "r0")])).await;
    assert!(support::admin::wait_for(WAIT, || !h.miner(0).powered_on()).await);
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    let resolved = alert(
        "resolved",
        "r0",
        json!({"alertname": "Hot", "miner": "sim-0", "action": "power_off"}),
    );
    let reply = send(&h, &notification(vec![resolved.clone()])).await;
    assert_eq!(decisions(&reply), ["queued"]);
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_on", "ok") == 1).await);
    assert!(h.miner(0).powered_on());
    assert_eq!(
        send(&h, &notification(vec![resolved])).await["alerts"][0]["decision"],
        "duplicate"
    );
    // A miner someone else powered off stays off.
    h.miner(1).set_powered(false);
    let other = alert(
        "resolved",
        "r1",
        json!({"miner": "sim-1", "action": "power_off"}),
    );
    assert_eq!(
        decisions(&send(&h, &notification(vec![other])).await),
        ["skipped"]
    );
    assert!(!h.miner(1).powered_on());
    assert_eq!(h.miner(1).command_count("power_on"), 0);

    // Off by default: a resolved alert does nothing.
    let h2 = Harness::start("wh-resolve-off", Setup::new(1)).await;
    send(&h2, &notification(vec![hot("sim-0", "q")])).await;
    assert!(support::admin::wait_for(WAIT, || h2.webhook_actions("power_off", "ok") == 1).await);
    let resolved = alert(
        "resolved",
        "q",
        json!({"miner": "sim-0", "action": "power_off"}),
    );
    assert_eq!(
        decisions(&send(&h2, &notification(vec![resolved])).await),
        ["ignored"]
    );
    assert!(!h2.miner(0).powered_on());
    assert_eq!(h2.miner(0).command_count("power_on"), 0);
    let alerts = &h2.exporter.state.telemetry.webhook_alerts;
    assert_eq!(alerts.with_label_values(&["resolved"]).get(), 1);
}

#[tokio::test]
async fn miners_and_actions_come_from_labels_with_fallbacks() {
    let h = Harness::start("wh-labels", Setup::new(3)).await;
    let by_instance = alert(
        "firing",
        "i",
        json!({"instance": h.miner(2).addr().to_string()}),
    );
    let unknown = hot("sim-9", "u");
    let no_label = alert("firing", "n", json!({"alertname": "Hot"}));
    let not_allowed = alert(
        "firing",
        "f",
        json!({"miner": "sim-0", "action": "factory_reset"}),
    );
    let by_annotation = json!({
        "status": "firing", "labels": {"miner": "sim-1"}, "annotations": {"action": "restart_btminer"},
        "startsAt": "2024-05-01T10:00:00Z", "fingerprint": "restart",
    });
    let reply = send(
        &h,
        &notification(vec![
            by_instance,
            unknown,
            no_label,
            not_allowed,
            by_annotation,
        ]),
    )
    .await;
    assert_eq!(
        decisions(&reply),
        [
            "queued",
            "unknown_miner",
            "unknown_miner",
            "refused",
            "queued"
        ]
    );
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("restart_btminer", "ok") == 1).await
    );
    assert!(!h.miner(2).powered_on(), "default action is power_off");
    assert!(h.miner(0).powered_on());
    assert_eq!(h.miner(0).command_count("factory_reset"), 0);
    assert_eq!(h.miner(1).command_count("restart_btminer"), 1);
    assert_eq!(h.webhook_actions("power_off", "unknown_miner"), 2);
    assert_eq!(h.webhook_actions("factory_reset", "refused"), 1);
}

#[tokio::test]
async fn retries_only_what_surely_did_not_run() {
    let mut setup = Setup::new(2);
    setup.faults = vec![(0, Fault::ApiDisabled)];
    setup.webhook = "retries = 2".into();
    setup.scrape = "connect_timeout = \"1s\"\ncommand_timeout = \"1s\"".into();
    let h = Harness::start("wh-retry", setup).await;
    // Connection refused: tried 1 + 2 times, then an error; a re-send acts again.
    let payload = notification(vec![hot("sim-0", "down")]);
    send(&h, &payload).await;
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "error") == 1).await);
    let line = h
        .audit()
        .into_iter()
        .find(|l| l["result"] == "error")
        .expect("audit");
    assert_eq!(line["attempts"], 3);
    assert_eq!(line["reason"], "connect_refused");
    h.miner(0).set_fault(None);
    assert_eq!(
        decisions(&send(&h, &payload).await),
        ["queued"],
        "failures are not remembered"
    );
    assert!(support::admin::wait_for(WAIT, || !h.miner(0).powered_on()).await);

    // A command that timed out after it was sent is never sent again.
    assert_eq!(
        h.command("sim-1", "set_led", r#"{"param":"auto"}"#)
            .await
            .status,
        200
    );
    h.miner(1)
        .set_fault(Some(Fault::Slow(Duration::from_secs(3))));
    let slow = notification(vec![hot("sim-1", "slow")]);
    send(&h, &slow).await;
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "error") == 2).await);
    // Its outcome is unknown, so Alertmanager's re-send is a duplicate:
    // the write is not sent a second time.
    assert_eq!(decisions(&send(&h, &slow).await), ["duplicate"]);
    let lines = h.audit();
    let line = lines
        .iter()
        .rev()
        .find(|l| l["result"] == "error")
        .expect("audit");
    assert_eq!(line["reason"], "timeout");
    assert_eq!(line["attempts"], 1);
    assert!(h.miner(1).command_count("power_off") <= 1);
    assert_eq!(
        h.miner(1).command_count("get_token"),
        1,
        "token reused, no refetch"
    );
}

#[tokio::test]
async fn malformed_payloads_are_400_and_never_act() {
    let mut setup = Setup::new(1);
    setup.admin = "max_body_bytes = 2048".into();
    let h = Harness::start("wh-bad", setup).await;
    let cases = [
        String::new(),
        "not json".into(),
        "[]".into(),
        "{}".into(),
        r#"{"version":"3","status":"firing","alerts":[]}"#.into(),
        r#"{"version":"4","status":"firing"}"#.into(),
        r#"{"version":"4","status":"firing","alerts":[{"status":"burning","labels":{"miner":"sim-0"}}]}"#.into(),
        r#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"miner":0}}]}"#.into(),
        r#"{"version":"4","status":"firing","alerts":"#.into(),
    ];
    for body in &cases {
        let r = h.post("/admin/alertmanager", body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    let big = notification((0..40).map(|i| hot("sim-0", &format!("big{i}"))).collect());
    assert!(big.len() > 2048);
    assert_eq!(h.post("/admin/alertmanager", &big).await.status, 413);
    assert_eq!(h.fleet_commands(), 0);
    assert!(h.miner(0).powered_on());
    let alerts = &h.exporter.state.telemetry.webhook_alerts;
    assert_eq!(alerts.with_label_values(&["firing"]).get(), 0);
}

#[tokio::test]
async fn the_budget_and_our_power_offs_survive_a_restart() {
    let mut setup = Setup::new(3);
    setup.webhook = "budget = 1\nbudget_window = \"1h\"\npower_on_when_resolved = true\n\
                     state_file = \"webhook-state.json\""
        .into();
    let h = Harness::start("wh-restart", setup).await;
    send(&h, &notification(vec![hot("sim-0", "s0")])).await;
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    assert!(!h.miner(0).powered_on());

    let h = h.restart().await;
    assert_eq!(
        h.exporter.state.telemetry.webhook_budget_remaining.get(),
        0,
        "the power-off before the restart still counts"
    );
    send(&h, &notification(vec![hot("sim-1", "s1")])).await;
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "budget_exceeded")
            == 1)
        .await
    );
    assert!(h.miner(1).powered_on());
    assert_eq!(h.miner(1).command_count("power_off"), 0);
    // The new process still knows sim-0 is its own power-off.
    let resolved = alert(
        "resolved",
        "s0",
        json!({"alertname": "Hot", "miner": "sim-0", "action": "power_off"}),
    );
    assert_eq!(
        decisions(&send(&h, &notification(vec![resolved])).await),
        ["queued"]
    );
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_on", "ok") == 1).await);
    assert!(h.miner(0).powered_on());

    // A state file that cannot be read stops the start.
    let path = h.dir.path().join("webhook-state.json");
    let Harness {
        exporter, settings, ..
    } = h;
    exporter.shutdown().await;
    std::fs::write(&path, "{\"version\": 1, \"budget_taken_unix_ms\": [").unwrap();
    let err = whatsminer_exporter::exporter::Exporter::start(settings)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("[webhook] state_file: ")
            && err.to_string().contains("not a webhook state file"),
        "{err}"
    );
}
