//! The admin command API against the simulated fleet: authentication,
//! allow list, unknown miners, bad input, the power round trip, the audit
//! line, and refusals that must never reach a miner.

mod support;

use std::time::Duration;
use support::admin::{miner_name, request, sample, Harness, Setup, TOKEN};
use whatsminer_exporter::sim::Fault;

#[tokio::test]
async fn bad_credentials_get_401_are_counted_and_reach_no_miner() {
    let h = Harness::start("auth", Setup::new(2)).await;
    let wrong = format!("Bearer {TOKEN}x");
    let short = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    let basic = format!("Basic {TOKEN}");
    let bare = TOKEN.to_string();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("Authorization", wrong.as_str())],
        vec![("Authorization", short.as_str())],
        vec![("Authorization", basic.as_str())],
        vec![("Authorization", bare.as_str())],
        vec![("Authorization", "Bearer")],
        vec![("Authorization", "Bearer ")],
        vec![("X-Token", TOKEN)],
    ];
    let paths = [
        ("POST", "/admin/miners/sim-0/commands/power_off"),
        ("POST", "/admin/alertmanager"),
        ("GET", "/admin/miners/sim-0/commands/power_off"),
        ("GET", "/no/such/path"),
        ("POST", "/admin/miners/nope/commands/factory_reset"),
    ];
    let mut sent = 0;
    for headers in &cases {
        for (method, path) in paths {
            let r = request(h.admin, method, path, headers, br#"{"respbefore":"true"}"#).await;
            assert_eq!(r.status, 401, "{method} {path} {headers:?}: {}", r.body);
            assert!(
                r.head
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{}",
                r.head
            );
            sent += 1;
        }
    }
    let failures = h.exporter.state.telemetry.admin_auth_failures.get();
    assert_eq!(failures, sent);
    assert_eq!(h.fleet_commands(), 0, "no miner may be contacted");
    assert!(h.miner(0).powered_on());
    // The right token: unknown paths are 404 only now, and not counted.
    let auth = format!("Bearer {TOKEN}");
    let r = request(
        h.admin,
        "GET",
        "/no/such/path",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
    let r = request(
        h.admin,
        "GET",
        "/admin/alertmanager",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(h.exporter.state.telemetry.admin_auth_failures.get(), sent);
    let metrics = h.metrics().await;
    assert_eq!(
        sample(&metrics, "whatsminer_admin_auth_failures_total", ""),
        Some(sent as f64)
    );
    // The token never shows up in any log line.
    assert!(!support::admin::captured_text().contains(TOKEN));
}

#[tokio::test]
async fn power_off_and_on_round_trip_through_the_token_flow() {
    let h = Harness::start("roundtrip", Setup::new(3)).await;
    let before = h.metrics().await;
    assert_eq!(
        sample(&before, "whatsminer_mining", "miner=\"sim-1\""),
        Some(1.0)
    );

    let r = h
        .command("sim-1", "power_off", r#"{"respbefore": true}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["result"], "ok");
    assert_eq!(body["miner"], "sim-1");
    assert_eq!(
        body["reply"]["STATUS"], "S",
        "decrypted miner reply: {body}"
    );
    assert!(!h.miner(1).powered_on());
    assert!(h.miner(0).powered_on() && h.miner(2).powered_on());
    assert_eq!(h.miner(1).command_count("power_off"), 1);
    assert_eq!(h.admin_commands("power_off", "ok"), 1);
    // The info cache was dropped: the next scrape sees the miner stopped.
    let after = h.metrics().await;
    assert_eq!(
        sample(&after, "whatsminer_mining", "miner=\"sim-1\""),
        Some(0.0)
    );
    assert_eq!(
        sample(&after, "whatsminer_mining", "miner=\"sim-0\""),
        Some(1.0)
    );

    // By address too.
    let addr = h.miner(1).addr().to_string();
    let r = h.command(&addr, "power_on", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(h.miner(1).powered_on());
    let again = h.metrics().await;
    assert_eq!(
        sample(&again, "whatsminer_mining", "miner=\"sim-1\""),
        Some(1.0)
    );
    // One token for both commands: the session cached it.
    assert_eq!(h.miner(1).command_count("get_token"), 1);
}

#[tokio::test]
async fn writes_one_audit_line_per_action_without_secrets() {
    let h = Harness::start("audit", Setup::new(1)).await;
    let r = h
        .command(
            "sim-0",
            "set_led",
            r#"{"color":"red","period":60,"passwd":"hunter2","my_token":"t0k"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lines = h.audit();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line["target"], "audit");
    assert_eq!(line["source"], "api");
    assert_eq!(line["miner"], "sim-0");
    assert_eq!(line["address"], h.miner(0).addr().to_string());
    assert_eq!(line["command"], "set_led");
    assert_eq!(line["result"], "ok");
    assert_eq!(line["params"], r#"{"color":"red","period":"60"}"#);
    assert!(line["peer"]
        .as_str()
        .is_some_and(|p| p.starts_with("127.0.0.1:")));
    let text = support::admin::captured_text();
    assert!(
        !text.contains("hunter2") && !text.contains("t0k"),
        "secret logged"
    );
    assert!(h.miner(0).readings().led_manual);

    // A refusal is audited too.
    let r = h.command("sim-0", "factory_reset", "").await;
    assert_eq!(r.status, 403);
    let lines = h.audit();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["result"], "refused");
    assert_eq!(lines[1]["reason"], "not_allowed");
    assert_eq!(lines[1]["command"], "factory_reset");
}

#[tokio::test]
async fn only_allow_listed_commands_run() {
    let h = Harness::start("allow", Setup::new(1)).await;
    for command in [
        "factory_reset",
        "update_pwd",
        "net_config",
        "reboot",
        "Power_Off",
        "x",
    ] {
        let r = h
            .command("sim-0", command, r#"{"old":"admin","new":"pwned"}"#)
            .await;
        assert_eq!(r.status, 403, "{command}: {}", r.body);
        assert_eq!(r.json()["reason"], "not_allowed");
    }
    assert_eq!(h.admin_commands("factory_reset", "refused"), 1);
    assert_eq!(h.admin_commands("update_pwd", "refused"), 1);
    assert_eq!(
        h.admin_commands("other", "refused"),
        2,
        "unknown names share one label"
    );
    assert_eq!(h.fleet_commands(), 0);
    assert!(h.miner(0).password_is(&"admin".into()));

    // Listing a command lets it through.
    let mut setup = Setup::new(1);
    setup.admin = "allow = [\"power_off\", \"reboot\"]".into();
    let h2 = Harness::start("allow2", setup).await;
    assert_eq!(h2.command("sim-0", "reboot", "").await.status, 200);
    assert_eq!(h2.command("sim-0", "power_on", "").await.status, 403);
    assert_eq!(h2.miner(0).command_count("reboot"), 1);
    assert_eq!(h2.miner(0).command_count("power_on"), 0);
}

#[tokio::test]
async fn unknown_miners_and_bad_input_are_refused_before_any_miner() {
    let mut setup = Setup::new(3);
    setup.no_password = vec![1];
    setup.auto = vec![2];
    setup.admin = "max_body_bytes = 1024".into();
    let h = Harness::start("badinput", setup).await;
    for miner in ["sim-9", "127.0.0.1:1", "10.0.0.1", "%2e%2e", "sim-0%00"] {
        let r = h.command(miner, "power_off", "").await;
        assert_eq!(r.status, 404, "{miner}: {}", r.body);
        assert_eq!(r.json()["reason"], "unknown_miner");
    }
    let r = h.command("%zz", "power_off", "").await;
    assert_eq!(r.status, 400);
    let bodies = [
        "not json",
        "[1,2]",
        "\"x\"",
        "{\"a\":{\"b\":1}}",
        "{\"a\":[1]}",
        "{\"a\":null}",
        "{\"cmd\":\"factory_reset\"}",
        "{\"token\":\"x\"}",
        "{\"respbefore\":",
        "{\"bad key\":1}",
    ];
    for body in bodies {
        let r = h.command("sim-0", "power_off", body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["reason"], "invalid_parameters");
    }
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(2000));
    assert_eq!(h.command("sim-0", "power_off", &big).await.status, 413);
    let r = h
        .post("/admin/miners/sim-0/commands/power_off?dryrun=1", "")
        .await;
    assert_eq!(r.status, 400, "a misspelt dry_run must not act");
    let r = h.command("sim-1", "power_off", "").await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "no_password");
    // protocol = "auto" before the first scrape: the API is not known yet.
    let r = h.command("sim-2", "power_off", "").await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "unsupported_protocol");
    assert_eq!(h.fleet_commands(), 0, "nothing reached a miner");
    assert!(h.fleet.miners().iter().all(|m| m.powered_on()));
    assert!(h.admin_commands("power_off", "refused") >= 15);
    assert_eq!(h.admin_commands("power_off", "ok"), 0);
}

#[tokio::test]
async fn dry_run_checks_everything_and_sends_nothing() {
    let h = Harness::start("dryrun", Setup::new(1)).await;
    let r = h
        .post(
            "/admin/miners/sim-0/commands/power_off?dry_run=true",
            r#"{"respbefore":true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"], "dry_run");
    assert_eq!(r.json()["params"]["respbefore"], "true");
    assert!(h.miner(0).powered_on());
    assert_eq!(h.fleet_commands(), 0);
    assert_eq!(h.admin_commands("power_off", "dry_run"), 1);
    let r = h
        .post(
            "/admin/miners/sim-0/commands/factory_reset?dry_run=true",
            "",
        )
        .await;
    assert_eq!(r.status, 403, "dry runs obey the allow list");
}

#[tokio::test]
async fn miner_failures_are_502_or_504_with_a_reason() {
    let mut setup = Setup::new(3);
    setup.faults = vec![
        (0, Fault::WrongPassword),
        (1, Fault::ApiDisabled),
        (2, Fault::Slow(Duration::from_secs(4))),
    ];
    let h = Harness::start("minerfail", setup).await;
    let r = h.command(&miner_name(0), "power_off", "").await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["reason"], "wrong_password");
    let r = h.command(&miner_name(1), "power_off", "").await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(r.json()["reason"], "connect_refused");
    let r = h.command(&miner_name(2), "power_off", "").await;
    assert_eq!(r.status, 504, "{}", r.body);
    assert_eq!(r.json()["reason"], "timeout");
    assert_eq!(h.admin_commands("power_off", "error"), 3);
    assert!(h.miner(0).powered_on());
}

#[tokio::test]
async fn a_reloaded_miner_list_applies_to_the_admin_api() {
    use whatsminer_exporter::client::ApiChoice;
    use whatsminer_exporter::settings::AdminMiner;
    use whatsminer_exporter::transport::MinerAddr;
    let h = Harness::start("reload", Setup::new(2)).await;
    let admin = h.exporter.admin_state().expect("admin state");
    assert_eq!(admin.directory().len(), 2);
    // sim-1 leaves the configuration; sim-0 is renamed.
    admin.set_miners(vec![AdminMiner {
        name: "renamed".into(),
        addr: MinerAddr::from_socket_addr(h.miner(0).addr()),
        password: Some("admin".into()),
        protocol: ApiChoice::V2,
    }]);
    assert_eq!(h.command("sim-1", "power_off", "").await.status, 404);
    assert_eq!(h.command("sim-0", "power_off", "").await.status, 404);
    assert_eq!(h.command("renamed", "power_off", "").await.status, 200);
    assert!(!h.miner(0).powered_on());
    assert!(h.miner(1).powered_on());
}

#[tokio::test]
async fn v3_miners_are_commanded_through_api_v3() {
    let mut setup = Setup::new(2);
    setup.v3 = vec![1];
    let h = Harness::start("v3", setup).await;
    let r = h.command("sim-1", "power_off", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!h.miner(1).powered_on());
    assert!(h.miner(0).powered_on(), "the v2 miner is untouched");
    assert_eq!(h.miner(1).command_count("set.miner.service"), 1);
    assert_eq!(h.miner(1).command_count("power_off"), 0, "not through v2");
    let r = h.command("sim-1", "power_on", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(h.miner(1).powered_on());
    assert_eq!(h.admin_commands("power_off", "ok"), 1);
}
