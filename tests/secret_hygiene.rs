//! Secret hygiene: drives every admin path (successes, refusals, miner
//! failures, token expiry and renewal, the webhook, dry runs) and the `exec`
//! CLI with distinctive secrets, while every log event of every target is
//! captured at TRACE (as JSON and as text). Then no secret may show in the
//! logs, `/metrics`, any HTTP reply, the CLI's output or the `Debug` output of
//! the types that hold secrets. The secrets include the derived key, the AES
//! key and the sign of every token the simulated miners issued.

mod support;

use serde_json::json;
use std::time::Duration;
use support::admin::secrets::Secrets;
use support::admin::{
    captured_plain_text, captured_text, install_trace_capture, request, wait_for, Harness, Reply,
    Setup,
};
use whatsminer_exporter::protocol::crypto::{Credentials, TokenChallenge};
use whatsminer_exporter::secret::Secret;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};

const PASSWORD: &str = "Pw-7f3a9c51e2d8-miner";
const ADMIN_TOKEN: &str = "Tok-c0b4e9d27a61f5-admin";
/// A near miss presented by a client: it must not be logged either.
const WRONG_TOKEN: &str = "Tok-c0b4e9d27a61f5-admix";
/// A pool password sent through `update_pools`.
const POOL_PASSWORD: &str = "PoolPw-5d2e8b07c4";
/// A pool password inside a stratum URL (`user:password@host`).
const POOL_URL_PASSWORD: &str = "UrlPw-3e7a1f94b6";
/// A new admin password in a dry-run `update_pwd`.
const NEW_PASSWORD: &str = "NewPw-91ac3f6e20";
/// A mistyped admin password given to the CLI.
const TYPO_PASSWORD: &str = "Pw-0badc0ffee-typo";

fn reply_text(r: &Reply) -> String {
    format!("{}\r\n\r\n{}", r.head, r.body)
}

/// Waits for `check`, failing the test with `what` after 10 s.
async fn settle(what: &str, check: impl FnMut() -> bool) {
    assert!(wait_for(Duration::from_secs(10), check).await, "{what}");
}

#[tokio::test]
async fn every_admin_path_keeps_secrets_out_of_logs_replies_and_metrics() {
    assert!(
        install_trace_capture(),
        "the TRACE capture must be the one in use"
    );
    let mut setup = Setup::new(6);
    setup.password = PASSWORD.into();
    setup.admin_token = ADMIN_TOKEN.into();
    setup.faults = vec![
        (1, Fault::WrongPassword),
        (2, Fault::WriteDisabled),
        (3, Fault::GarbledEncrypted),
        (4, Fault::WrongKeyEncrypted),
    ];
    setup.no_password = vec![5];
    setup.admin = r#"allow = ["power_off", "power_on", "restart_btminer", "set_led", "update_pools", "update_pwd"]"#.into();
    setup.webhook = "power_on_when_resolved = true\nretries = 1".into();
    let h = Harness::start("hygiene", setup).await;
    let mut replies: Vec<Reply> = Vec::new();
    let path = "/admin/miners/sim-0/commands/power_off";

    // Missing and wrong tokens.
    let r = request(h.admin, "POST", path, &[], b"{}").await;
    assert_eq!(r.status, 401);
    replies.push(r);
    let wrong = format!("Bearer {WRONG_TOKEN}");
    let r = request(h.admin, "POST", path, &[("Authorization", &wrong)], b"{}").await;
    assert_eq!(r.status, 401);
    replies.push(r);

    // Successes, with one token renewal after an expiry and one after the
    // miner's clock passed the 30-minute lifetime.
    let m0 = h.miner(0);
    let r = h
        .command("sim-0", "power_off", r#"{"respbefore":true}"#)
        .await;
    assert_eq!(
        (r.status, r.json()["result"].clone()),
        (200, json!("ok")),
        "{}",
        r.body
    );
    replies.push(r);
    m0.expire_tokens();
    let r = h.command("sim-0", "power_on", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    assert_eq!(m0.command_count("get_token"), 2, "renewed after expiry");
    m0.advance_clock(Duration::from_secs(31 * 60));
    let r = h
        .command("sim-0", "set_led", r#"{"color":"red","period":60}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    assert_eq!(m0.command_count("get_token"), 3, "renewed after 30 minutes");
    for (command, body) in [
        ("restart_btminer", String::new()),
        (
            "update_pools",
            json!({"pool1": "stratum+tcp://pool.example:3333", "worker1": "acct.w1",
                   "passwd1": POOL_PASSWORD,
                   "pool2": format!("stratum+tcp://acct.w2:{POOL_URL_PASSWORD}@pool2.example:3333"),
                   "worker2": "acct.w2", "passwd2": "x"})
            .to_string(),
        ),
    ] {
        let r = h.command("sim-0", command, &body).await;
        assert_eq!(r.status, 200, "{command}: {}", r.body);
        replies.push(r);
    }

    // Dry runs, one carrying passwords in its parameters.
    let pwd = json!({"old": PASSWORD, "new": NEW_PASSWORD}).to_string();
    for (command, body) in [("update_pwd", pwd.as_str()), ("power_off", "")] {
        let p = format!("/admin/miners/sim-0/commands/{command}?dry_run=true");
        let r = h.post(&p, body).await;
        assert_eq!(
            (r.status, r.json()["result"].clone()),
            (200, json!("dry_run")),
            "{}",
            r.body
        );
        replies.push(r);
    }

    // Refusals and miner failures.
    let cases = [
        ("sim-0", "factory_reset", "{}", 403),
        ("nope", "power_off", "{}", 404),
        ("sim-0", "set_led", r#"{"color":["red"]}"#, 400),
        ("sim-5", "power_off", "{}", 409),
        ("sim-1", "power_off", "{}", 502),
        ("sim-2", "power_off", "{}", 502),
        ("sim-3", "power_off", "{}", 502),
        ("sim-3", "power_off", "{}", 502),
        ("sim-4", "power_off", "{}", 502),
    ];
    for (miner, command, body, status) in cases {
        let r = h.command(miner, command, body).await;
        assert_eq!(r.status, status, "{miner} {command}: {}", r.body);
        replies.push(r);
    }
    assert!(replies.iter().any(|r| r.body.contains("wrong_password")));
    assert!(replies
        .iter()
        .any(|r| r.body.contains("write_api_disabled")));
    assert!(replies.iter().any(|r| r.body.contains("decrypt_failed")));

    // The webhook: firing then resolved on a good miner, firing on a miner
    // with the wrong password, and an unknown miner.
    let alert = |status: &str, miner: &str, fp: &str| {
        json!({"status": status, "fingerprint": fp, "startsAt": "2024-05-01T10:00:00Z",
               "labels": {"alertname": "Hot", "miner": miner, "action": "power_off"}})
    };
    let notify = |status: &str, alerts: Vec<serde_json::Value>| {
        json!({"version": "4", "status": status, "receiver": "r", "alerts": alerts}).to_string()
    };
    let firing = notify(
        "firing",
        vec![
            alert("firing", "sim-0", "fp0"),
            alert("firing", "sim-1", "fp1"),
            alert("firing", "ghost", "fp2"),
        ],
    );
    let r = h.post("/admin/alertmanager", &firing).await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    settle("webhook powers sim-0 off", || !m0.powered_on()).await;
    settle("webhook fails on sim-1", || {
        h.webhook_actions("power_off", "error") == 1
    })
    .await;
    let resolved = notify("resolved", vec![alert("resolved", "sim-0", "fp0")]);
    let r = h.post("/admin/alertmanager", &resolved).await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    settle("webhook powers sim-0 on", || m0.powered_on()).await;
    settle("audit line of the power_on", || {
        captured_text().contains("\"source\":\"alertmanager\"")
            && h.webhook_actions("power_on", "ok") == 1
    })
    .await;

    let metrics = h.metrics().await;
    assert!(metrics.contains("whatsminer_up{"), "a real /metrics body");
    assert!(
        metrics.contains("stratum+tcp://pool2.example:3333"),
        "the pools reached /metrics"
    );

    // Every token the miners issued, against the passwords that went in.
    let mut secrets = Secrets::new(&[
        ("admin password", PASSWORD),
        ("admin bearer token", ADMIN_TOKEN),
        ("presented wrong token", WRONG_TOKEN),
        ("pool password", POOL_PASSWORD),
        ("pool password in a URL", POOL_URL_PASSWORD),
        ("new admin password", NEW_PASSWORD),
    ]);
    let challenges = secrets.add_issued(h.fleet.miners(), &[PASSWORD]);
    for m in h.fleet.miners() {
        let issued = m.issued_challenges().len() as u64;
        assert_eq!(
            issued,
            m.command_count("get_token"),
            "miner {} tokens",
            m.index()
        );
    }
    assert!(challenges >= 7, "tokens issued: {challenges}");
    secrets.assert_detectable();

    // The checks can fail: the logs are real and name the miner.
    let logs_json = captured_text();
    let logs_text = captured_plain_text();
    let addr = m0.addr().to_string();
    for logs in [&logs_json, &logs_text] {
        assert!(
            logs.contains(&addr) && logs.contains("admin action"),
            "capture is empty"
        );
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "debug-level events captured"
        );
    }
    assert!(logs_json.contains("\"result\":\"unauthorized\""));
    assert!(logs_text.contains("token rejected; renewing once"));

    secrets.assert_absent("JSON logs", &logs_json);
    secrets.assert_absent("text logs", &logs_text);
    secrets.assert_absent("/metrics", &metrics);
    for (i, r) in replies.iter().enumerate() {
        secrets.assert_absent(&format!("HTTP reply {i}"), &reply_text(r));
    }
    secrets.assert_absent("AdminState Debug", &format!("{:?}", h.exporter.state));
}

/// Runs `exec <addr> <command> <extra...>`, bounded to 20 s; returns the
/// exit code and stdout+stderr.
async fn exec(
    addr: &str,
    command: &str,
    extra: &[&str],
    env_password: Option<&str>,
) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_whatsminer-exporter"));
    cmd.args([
        "exec",
        addr,
        command,
        "--connect-timeout",
        "2",
        "--timeout",
        "5",
    ])
    .args(extra)
    .env_remove("WHATSMINER_PASSWORD")
    .env("RUST_LOG", "trace")
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    if let Some(pw) = env_password {
        cmd.env("WHATSMINER_PASSWORD", pw);
    }
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("CLI within 20 s")
        .expect("CLI runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn exec_cli_output_holds_no_secret() {
    let mut cfg = FleetConfig::loopback_ephemeral(2);
    cfg.password = Secret::new(PASSWORD);
    cfg.faults = vec![(1, Fault::WrongPassword)];
    let fleet = Fleet::start(cfg).await.expect("fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (good, typo, missing) = (path("pw"), path("typo"), path("absent"));
    std::fs::write(&good, format!("{PASSWORD}\n")).expect("write");
    std::fs::write(&typo, format!("{TYPO_PASSWORD}\n")).expect("write");
    let m0 = fleet.miners()[0].clone();
    let (a0, a1) = (m0.addr().to_string(), fleet.miners()[1].addr().to_string());
    /// Address, command, extra arguments, $WHATSMINER_PASSWORD, exit code.
    type Run<'a> = (&'a str, &'a str, Vec<&'a str>, Option<&'a str>, i32);
    let runs: [Run; 5] = [
        (
            &a0,
            "power_off",
            vec!["-p", "respbefore=true"],
            Some(PASSWORD),
            0,
        ),
        (&a0, "power_on", vec!["--password-file", &good], None, 0),
        (&a1, "power_off", vec![], Some(PASSWORD), 5),
        // The file wins over the environment.
        (
            &a0,
            "set_led",
            vec!["--password-file", &typo],
            Some(PASSWORD),
            5,
        ),
        (&a0, "set_led", vec!["--password-file", &missing], None, 2),
    ];
    let mut outputs = Vec::new();
    for (addr, command, extra, env_pw, code) in runs {
        let (got, text) = exec(addr, command, &extra, env_pw).await;
        assert_eq!(got, code, "{command} {extra:?}:\n{text}");
        outputs.push(text);
    }
    let counts = (m0.command_count("power_off"), m0.command_count("power_on"));
    assert_eq!(counts, (1, 1));
    assert!(outputs[0].contains("\"STATUS\""), "{}", outputs[0]);
    assert!(
        outputs[2].contains("wrong admin password"),
        "{}",
        outputs[2]
    );
    // A garbled encrypted reply fails too.
    m0.set_fault(Some(Fault::GarbledEncrypted));
    let (code, text) = exec(&a0, "power_off", &[], Some(PASSWORD)).await;
    assert_ne!(code, 0, "{text}");
    outputs.push(text);

    let mut secrets = Secrets::new(&[
        ("admin password", PASSWORD),
        ("mistyped password", TYPO_PASSWORD),
    ]);
    let challenges = secrets.add_issued(fleet.miners(), &[PASSWORD, TYPO_PASSWORD]);
    assert!(challenges >= 4, "tokens issued: {challenges}");
    secrets.assert_detectable();
    for (i, text) in outputs.iter().enumerate() {
        secrets.assert_absent(&format!("CLI run {i}"), text);
    }
}

#[test]
fn debug_output_of_secret_holding_types_is_masked() {
    use whatsminer_exporter::client::{Client, ClientConfig};

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("token"), format!("{ADMIN_TOKEN}\n")).expect("write");
    std::fs::write(dir.path().join("pw"), format!("{PASSWORD}\n")).expect("write");
    let toml = "[defaults]\npassword_file = \"pw\"\n\
                [admin]\nenabled = true\nlisten = \"127.0.0.1:0\"\ntoken_file = \"token\"\ntoken_name = \"ops-team\"\n\
                [[miners]]\naddress = \"127.0.0.1:4028\"\nname = \"rack-7\"\n";
    let source = dir.path().join("exporter.toml");
    let config = whatsminer_exporter::config::from_str(toml, &source).expect("config");
    let admin = config.admin.clone().expect("admin on");
    assert_eq!(admin.token.expose(), ADMIN_TOKEN, "the token was read");
    assert_eq!(
        config.miners[0].password.as_ref().map(Secret::expose),
        Some(PASSWORD)
    );
    let settings = config.settings();
    let admin_settings = settings.admin.clone().expect("admin settings");
    let password = Secret::new(PASSWORD);
    let session = Client::new(ClientConfig::default())
        .v2_session("127.0.0.1:4028".parse().expect("addr"), password.clone());
    let challenge = TokenChallenge {
        time: "4071".into(),
        salt: "Ab3dE6gH".into(),
        newsalt: "Zy9xW8vU".into(),
    };
    let credentials = Credentials::derive(&password, &challenge).expect("derive");

    let mut secrets = Secrets::new(&[("admin password", PASSWORD), ("admin token", ADMIN_TOKEN)]);
    secrets.add_challenge("fixed challenge", PASSWORD, &challenge);
    secrets.assert_detectable();
    let outputs = [
        ("Config", format!("{config:?}"), "rack-7"),
        ("Config pretty", format!("{config:#?}"), "ops-team"),
        ("AdminApi", format!("{admin:?}"), "ops-team"),
        (
            "MinerEntry",
            format!("{:?}", config.miners[0]),
            "127.0.0.1:4028",
        ),
        (
            "AdminMiner",
            format!(
                "{:?}",
                whatsminer_exporter::config::admin_miner(&config.miners[0])
            ),
            "rack-7",
        ),
        ("Settings", format!("{settings:?}"), "ops-team"),
        ("AdminSettings", format!("{admin_settings:#?}"), "rack-7"),
        ("WriteSession", format!("{session:?}"), "4028"),
        ("Credentials", format!("{credentials:?}"), "Credentials"),
        ("TokenChallenge", format!("{challenge:?}"), "TokenChallenge"),
        ("Secret", format!("{password:?} {password}"), "***"),
    ];
    for (name, text, expected) in &outputs {
        // Something real was printed, so an empty Debug cannot pass.
        assert!(text.contains(expected), "{name}: {text}");
        secrets.assert_absent(&format!("{name} Debug"), text);
    }

    // Inline secrets are refused without echoing them.
    let inline = format!(
        "[[miners]]\naddress = \"127.0.0.1\"\npassword = \"{PASSWORD}\"\n\
         [admin]\nenabled = true\ntoken = \"{ADMIN_TOKEN}\"\n"
    );
    let err = whatsminer_exporter::config::from_str(&inline, &source).expect_err("inline secrets");
    let text = format!("{err} {err:?}");
    assert!(text.contains("inline"), "{text}");
    secrets.assert_absent("config error", &text);
}
