//! A reload that tells the truth (issue 19): safety settings (`[webhook]`,
//! `[admin]` enabled, allow list, token) take effect on `POST /-/reload`
//! at once, counted on what reaches the simulated miners; a setting that
//! needs a restart is named in the answer, the log and
//! `whatsminer_exporter_config_restart_required`; a failed reload quotes no
//! file content.

mod support;

use serde_json::json;
use std::time::Duration;
use support::admin::{sample, Harness, Setup};

/// Generous: a webhook action is one or two loopback round trips.
const WAIT: Duration = Duration::from_secs(15);

fn hot(miner: &str, fingerprint: &str) -> String {
    json!({
        "version": "4", "status": "firing", "receiver": "power-off", "groupKey": "{}",
        "alerts": [{
            "status": "firing", "fingerprint": fingerprint,
            "labels": {"alertname": "Hot", "miner": miner, "action": "power_off"},
            "annotations": {}, "startsAt": "2024-05-01T10:00:00Z",
        }],
    })
    .to_string()
}

/// The decision of the only alert in a webhook answer.
async fn alert_decision(h: &Harness, miner: &str, fingerprint: &str) -> (u16, String) {
    let r = h
        .post("/admin/alertmanager", &hot(miner, fingerprint))
        .await;
    let answer: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    let decision = answer["alerts"][0]["decision"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (r.status, decision)
}

fn power_offs(h: &Harness) -> u64 {
    (0..h.fleet.miners().len())
        .map(|i| h.miner(i).command_count("power_off"))
        .sum()
}

#[tokio::test]
async fn dry_run_on_reload_stops_the_next_power_off() {
    let h = Harness::start("reload-dry", Setup::new(2)).await;
    let text = h
        .config_text
        .replace("[webhook]\n", "[webhook]\ndry_run = true\n");
    let r = h.reload_with(&text).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("applied: webhook.dry_run"), "{}", r.body);
    assert_eq!(
        alert_decision(&h, "sim-0", "a").await,
        (200, "dry_run".into())
    );
    assert!(
        support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "dry_run") == 1).await
    );
    assert_eq!(power_offs(&h), 0, "nothing reaches a miner");
    assert!(h.miner(0).powered_on());

    // Back to live: the next alert acts, so the test above can fail.
    let r = h.reload_with(&h.config_text).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        alert_decision(&h, "sim-1", "b").await,
        (200, "queued".into())
    );
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    assert_eq!(h.miner(1).command_count("power_off"), 1);
    assert_eq!(h.miner(0).command_count("power_off"), 0);
}

#[tokio::test]
async fn budget_and_webhook_switch_apply_on_reload() {
    let h = Harness::start("reload-budget", Setup::new(3)).await;
    let one = h
        .config_text
        .replace("[webhook]\n", "[webhook]\nbudget = 1\n");
    assert_eq!(h.reload_with(&one).await.status, 200);
    assert_eq!(alert_decision(&h, "sim-0", "a").await.1, "queued");
    assert_eq!(alert_decision(&h, "sim-1", "b").await.1, "budget_exceeded");
    let off = h
        .config_text
        .replace("[webhook]\n", "[webhook]\nenabled = false\n");
    let r = h.reload_with(&off).await;
    assert!(r.body.contains("webhook.enabled"), "{}", r.body);
    assert_eq!(alert_decision(&h, "sim-2", "c").await.0, 404);
    assert!(support::admin::wait_for(WAIT, || h.webhook_actions("power_off", "ok") == 1).await);
    assert_eq!(h.miner(0).command_count("power_off"), 1);
    assert_eq!(power_offs(&h), 1, "only the alert within budget acted");
}

#[tokio::test]
async fn admin_disabled_on_reload_closes_the_admin_api() {
    let h = Harness::start("reload-admin-off", Setup::new(2)).await;
    let off = h
        .config_text
        .replace("[admin]\nenabled = true", "[admin]\nenabled = false");
    let r = h.reload_with(&off).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("admin.enabled"), "{}", r.body);
    assert!(!r.body.contains("needs a restart"), "{}", r.body);
    assert_eq!(h.command("sim-0", "power_off", "").await.status, 404);
    assert_eq!(alert_decision(&h, "sim-1", "a").await.0, 404);
    let unauthenticated = support::admin::request(h.admin, "GET", "/", &[], b"").await;
    assert_eq!(unauthenticated.status, 404);
    assert_eq!(power_offs(&h), 0);
    assert_eq!(h.admin_commands("power_off", "ok"), 0);

    // On again: the listener kept its port, so no restart is needed.
    let r = h.reload_with(&h.config_text).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.command("sim-0", "power_off", "").await.status, 200);
    assert_eq!(h.miner(0).command_count("power_off"), 1);
}

#[tokio::test]
async fn allow_list_and_token_apply_on_reload() {
    let h = Harness::start("reload-allow", Setup::new(1)).await;
    let text = h
        .config_text
        .replace("[admin]\n", "[admin]\nallow = [\"set_led\"]\n")
        .replace("[webhook]\n", "[webhook]\ndefault_action = \"set_led\"\n");
    let r = h.reload_with(&text).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(h.command("sim-0", "power_off", "").await.status, 403);
    assert_eq!(power_offs(&h), 0);

    std::fs::write(h.dir.path().join("token"), "a-new-token-0123456789abcdef\n").unwrap();
    let r = h.reload_with(&text).await;
    assert!(r.body.contains("admin.token"), "{}", r.body);
    assert_eq!(
        h.command("sim-0", "set_led", "").await.status,
        401,
        "old token"
    );
    let auth = "Bearer a-new-token-0123456789abcdef";
    let r = support::admin::request(
        h.admin,
        "POST",
        "/admin/miners/sim-0/commands/power_off",
        &[("Authorization", auth)],
        b"",
    )
    .await;
    assert_eq!(
        r.status, 403,
        "new token accepted, power_off still not allowed"
    );
}

#[tokio::test]
async fn a_restart_only_change_is_named_in_the_answer_the_metric_and_the_log() {
    let h = Harness::start("reload-listen", Setup::new(1)).await;
    let port = support::free_port();
    let moved = h.config_text.replace(
        "[server]\nlisten = \"127.0.0.1:0\"",
        &format!("[server]\nlisten = \"127.0.0.1:{port}\""),
    );
    assert_ne!(moved, h.config_text);
    let r = h.reload_with(&moved).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("needs a restart: server.listen"),
        "{}",
        r.body
    );
    let metrics = h.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "whatsminer_exporter_config_restart_required",
            "setting=\"server.listen\""
        ),
        Some(1.0),
        "{metrics}"
    );
    let promtool = support::tool(
        "promtool",
        "a_restart_only_change_is_named_in_the_answer_the_metric_and_the_log",
    );
    if let Some(promtool) = promtool {
        let run = support::run_tool(&promtool, &["check", "metrics"], metrics.as_bytes());
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(run.success && said.trim().is_empty(), "promtool: {said}");
    }
    let warned = support::admin::captured_lines().iter().any(|l| {
        l["level"] == "WARN"
            && l["restart_required"]
                .as_str()
                .is_some_and(|s| s.contains("server.listen"))
    });
    assert!(warned, "a WARN line names the setting");
    // Still serving where it started; back to the started value, nothing
    // waits for a restart.
    let r = h.reload_with(&h.config_text).await;
    assert!(!r.body.contains("needs a restart"), "{}", r.body);
    let metrics = h.metrics().await;
    assert!(!metrics.contains("setting=\"server.listen\""), "{metrics}");
}

#[tokio::test]
async fn a_failed_reload_quotes_no_file_content() {
    let h = Harness::start("reload-secret", Setup::new(1)).await;
    let passwd = h.dir.path().join("passwd");
    std::fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    )
    .unwrap();
    let text = format!(
        "{}[[miner_files]]\npath = {:?}\n",
        h.config_text,
        passwd.display().to_string()
    );
    let r = h.reload_with(&text).await;
    assert_eq!(r.status, 500, "{}", r.body);
    for secret in ["root:x", "/bin/bash", "daemon", "nologin"] {
        assert!(!r.body.contains(secret), "{secret} quoted: {}", r.body);
    }
    let metrics = h.metrics().await;
    assert_eq!(
        sample(
            &metrics,
            "whatsminer_exporter_config_last_reload_successful",
            ""
        ),
        Some(0.0)
    );
    assert!(
        h.command("sim-0", "set_led", "").await.status != 404,
        "kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_miner_file_is_read_without_a_reload() {
    use whatsminer_exporter::sim::{Fleet, FleetConfig};
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .unwrap();
    let a = fleet.addrs();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("fleet.json");
    let write_list = |miners: &[(usize, &str)]| {
        let groups: Vec<_> = miners
            .iter()
            .map(|(i, name)| json!({"targets": [a[*i].to_string()], "labels": {"miner": name}}))
            .collect();
        std::fs::write(&list, serde_json::to_string_pretty(&groups).unwrap()).unwrap();
    };
    write_list(&[(0, "m0")]);
    let config_path = dir.path().join("exporter.toml");
    std::fs::write(
        &config_path,
        "[server]\nlisten = \"127.0.0.1:0\"\nminer_files_poll = \"1s\"\n\
         [scrape]\nconnect_timeout = \"1s\"\ncommand_timeout = \"2s\"\n\
         [[miner_files]]\npath = \"fleet.json\"\n",
    )
    .unwrap();
    let config_file = config_path.clone();
    let load = move || {
        whatsminer_exporter::config::load(&config_path)
            .map(|c| c.settings())
            .map_err(|e| e.to_string())
    };
    let mut exporter = whatsminer_exporter::exporter::Exporter::start(load().unwrap())
        .await
        .unwrap();
    exporter.reload_from(load, None);
    let metrics = || async {
        support::admin::request(exporter.metrics_addr(), "GET", "/metrics", &[], b"")
            .await
            .body
    };
    assert!(metrics().await.contains("whatsminer_up{miner=\"m0\"} 1"));
    let m1 = fleet.miner(1).unwrap();
    assert_eq!(m1.command_count("summary"), 0);

    // A second miner in the list: scraped without SIGHUP.
    write_list(&[(0, "m0"), (1, "m1")]);
    let state = exporter.state.clone();
    assert!(support::admin::wait_for(Duration::from_secs(20), || state.targets().len() == 2).await);
    let body = metrics().await;
    assert!(body.contains("whatsminer_up{miner=\"m1\"} 1"), "{body}");
    assert!(m1.command_count("summary") > 0, "the new miner was asked");

    // A broken list keeps the running one, says so, and quotes nothing.
    std::fs::write(&list, "[{\"targets\": [\"secret-ish value!\"]}]").unwrap();
    let gauge = &state.telemetry.miner_files_reload_ok;
    assert!(support::admin::wait_for(Duration::from_secs(20), || gauge.get() == 0).await);
    assert_eq!(state.targets().len(), 2);
    let body = metrics().await;
    assert!(body.contains("whatsminer_exporter_miner_files_last_reload_successful 0"));
    assert!(body.contains("whatsminer_up{miner=\"m1\"} 1"), "{body}");
    // What the log line says is the load error: no content in it.
    let error = whatsminer_exporter::config::load(&config_file).unwrap_err();
    assert!(!error.to_string().contains("secret-ish"), "{error}");

    // Fixed: read again, one miner left.
    write_list(&[(1, "m1")]);
    assert!(support::admin::wait_for(Duration::from_secs(20), || gauge.get() == 1).await);
    assert_eq!(state.targets().len(), 1);
    exporter.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_action_still_retrying_is_not_sent_after_a_reload_turns_dry_run_on() {
    let mut setup = Setup::new(1);
    setup.webhook = "retries = 10".into();
    // Busy: every try fails before the command runs, so it is retried.
    setup.faults = vec![(0, whatsminer_exporter::sim::Fault::OverMaxConnect)];
    let h = Harness::start("reload-queued", setup).await;
    assert_eq!(
        alert_decision(&h, "sim-0", "a").await,
        (200, "queued".into())
    );
    let text = h
        .config_text
        .replace("[webhook]\n", "[webhook]\ndry_run = true\n");
    assert_eq!(h.reload_with(&text).await.status, 200);
    // The miner would now take the command: without the stop, a retry
    // would power it off.
    h.miner(0).set_fault(None);
    let ended =
        || h.webhook_actions("power_off", "refused") + h.webhook_actions("power_off", "error") == 1;
    assert!(support::admin::wait_for(WAIT, ended).await);
    assert_eq!(h.webhook_actions("power_off", "ok"), 0);
    assert!(h.miner(0).powered_on());
}
