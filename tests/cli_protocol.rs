//! `query` and `exec` with `--protocol v2|v3|auto` against a simulated
//! mixed fleet on loopback: v3 reads by their dotted names, v3 writes by a
//! v3 name or a mapped v2 name, detection for `auto`, and usage errors
//! (exit 2) before anything is sent when a name does not fit the API.

use std::net::SocketAddr;
use std::time::Duration;
use whatsminer_exporter::sim::{Fleet, FleetConfig};

/// Miner 0 speaks v2, miner 1 speaks v3 (password "admin", the default).
async fn fleet() -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(2);
    cfg.v3_miners = vec![1];
    Fleet::start(cfg).await.expect("fleet starts")
}

fn v2_addr(fleet: &Fleet) -> SocketAddr {
    fleet.miner(0).expect("miner 0").addr()
}

fn v3_addr(fleet: &Fleet) -> SocketAddr {
    fleet
        .miner(1)
        .expect("miner 1")
        .v3_addr()
        .expect("a v3 port")
}

/// Runs the CLI with `args`, bounded to 20 s: exit code, stdout, stderr.
async fn run(args: &[&str]) -> (i32, String, String) {
    run_with_password(args, Some("admin")).await
}

/// Runs the CLI with `WHATSMINER_PASSWORD` set to `password`, or unset.
async fn run_with_password(args: &[&str], password: Option<&str>) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_whatsminer-exporter"));
    cmd.args(args)
        .args(["--connect-timeout", "2", "--timeout", "5"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match password {
        Some(p) => cmd.env("WHATSMINER_PASSWORD", p),
        None => cmd.env_remove("WHATSMINER_PASSWORD"),
    };
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("CLI within 20 s")
        .expect("CLI runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn v3_reads_by_dotted_name_with_a_param() {
    let fleet = fleet().await;
    let addr = v3_addr(&fleet).to_string();
    let (code, out, err) = run(&[
        "query",
        &addr,
        "get.miner.status",
        "--protocol",
        "v3",
        "-p",
        "param=summary",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    let msg = json(&out);
    assert!(msg["summary"].is_object(), "{out}");

    // --raw prints the whole reply envelope, code included.
    let (code, out, err) = run(&[
        "query",
        &addr,
        "get.device.info",
        "--protocol",
        "v3",
        "--raw",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    let reply = json(out.trim());
    assert_eq!(reply["code"], 0, "{out}");
    assert!(reply["msg"].is_object(), "{out}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn auto_detects_each_api() {
    let fleet = fleet().await;
    let v3 = v3_addr(&fleet).to_string();
    let (code, out, err) = run(&["query", &v3, "get.device.info", "--protocol", "auto"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("speaks API v3"), "{err}");
    assert!(json(&out).is_object());

    let v2 = v2_addr(&fleet).to_string();
    let (code, out, err) = run(&["query", &v2, "summary", "--protocol", "auto"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("speaks API v2"), "{err}");
    // Either firmware reply form (classic STATUS list or wrapped Msg).
    assert!(json(&out).is_object(), "{out}");
    assert!(out.to_lowercase().contains("summary"), "{out}");
    // The counters the usage-error test relies on do count each API.
    for index in [0, 1] {
        let counts = fleet.miner(index).expect("miner").command_counts();
        assert!(
            counts.values().sum::<u64>() > 0,
            "miner {index}: {counts:?}"
        );
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn v3_writes_by_v2_name_and_by_v3_name_change_the_miner() {
    let fleet = fleet().await;
    let miner = fleet.miner(1).expect("miner 1");
    let addr = v3_addr(&fleet).to_string();
    assert!(miner.powered_on());

    let (code, out, err) = run(&["exec", &addr, "power_off", "--protocol", "v3"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["code"], 0, "{out}");
    assert!(
        !miner.powered_on(),
        "power_off mapped to set.miner.service stop"
    );

    let (code, _, err) = run(&[
        "exec",
        &addr,
        "set.miner.service",
        "--protocol",
        "v3",
        "-p",
        "param=start",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(miner.powered_on(), "set.miner.service start");
    assert!(!err.contains("admin"), "no password on stderr: {err}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn names_that_do_not_fit_the_api_are_usage_errors() {
    let fleet = fleet().await;
    let (v2, v3) = (v2_addr(&fleet).to_string(), v3_addr(&fleet).to_string());
    let cases: [&[&str]; 5] = [
        // A v2 read on v3, a v3 read on v2.
        &["query", &v3, "summary", "--protocol", "v3"],
        &["query", &v2, "get.miner.status", "--protocol", "v2"],
        // Writes through query.
        &["query", &v2, "power_off"],
        &["query", &v3, "set.miner.service", "--protocol", "v3"],
        // v3 takes one parameter named param.
        &[
            "exec",
            &v3,
            "set.miner.service",
            "--protocol",
            "v3",
            "-p",
            "x=1",
        ],
    ];
    for args in cases {
        let (code, _, err) = run(args).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    for index in [0, 1] {
        let counts = fleet.miner(index).expect("miner").command_counts();
        assert!(counts.values().all(|n| *n == 0), "nothing sent: {counts:?}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_empty_password_is_refused_before_any_connection() {
    // Stands where a miner would: it must never be contacted.
    let miner = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = miner.local_addr().expect("addr").to_string();
    let (code, _, err) =
        run_with_password(&["exec", &addr, "set_led", "-p", "color=red"], Some("")).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("WHATSMINER_PASSWORD is set but empty"),
        "{err}"
    );
    let touched = tokio::time::timeout(Duration::from_millis(200), miner.accept()).await;
    assert!(touched.is_err(), "the miner was contacted");
}

#[tokio::test]
async fn configured_names_need_the_config_and_typed_names_are_refused() {
    let fleet = fleet().await;
    let (v2, v3) = (v2_addr(&fleet).to_string(), v3_addr(&fleet).to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pw"), "admin\n").expect("password file");
    let config = dir.path().join("exporter.toml");
    std::fs::write(
        &config,
        format!(
            "[[miners]]\naddress = \"{v3}\"\nname = \"rack 1/m1\"\nprotocol = \"v3\"\npassword_file = \"pw\"\n\
             [[miners]]\naddress = \"{v2}\"\nname = \"m0\"\n"
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    // Nothing reaches a miner for these: no name without the config, no
    // host name, no mistyped IP (and so no DNS query for any of them).
    for typed in ["m0", "localhost", "10.0.0.300", "miner-9.farm.invalid:4028"] {
        let (code, _, err) = run(&["query", typed, "summary"]).await;
        assert_eq!(code, 2, "{typed}: {err}");
        assert!(err.starts_with("error: "), "{typed}: {err}");
    }
    let (code, _, err) = run(&["query", "m9", "summary", "--config", config]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("neither an IP address nor a miner of"),
        "{err}"
    );
    for index in [0, 1] {
        let counts = fleet.miner(index).expect("miner").command_counts();
        assert!(counts.values().all(|n| *n == 0), "nothing sent: {counts:?}");
    }
    // A configured name: its address and API come from the config (a v3
    // read by its dotted name, with no --protocol).
    let (code, out, err) =
        run(&["query", "rack 1/m1", "get.device.info", "--config", config]).await;
    assert_eq!(code, 0, "{err}");
    assert!(json(&out).is_object(), "{out}");
    let (code, out, err) = run(&["query", "m0", "summary", "--config", config]).await;
    assert_eq!(code, 0, "{err}");
    assert!(json(&out).is_object(), "{out}");
    // A configured address works as its name does.
    let (code, _, err) = run(&["query", &v2, "summary", "--config", config]).await;
    assert_eq!(code, 0, "{err}");
    // exec takes the configured password when no other is given.
    let miner = fleet.miner(1).expect("miner 1");
    assert!(miner.powered_on());
    let (code, _, err) = run_with_password(
        &["exec", "rack 1/m1", "power_off", "--config", config],
        None,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        !miner.powered_on(),
        "powered off with the configured password"
    );
    fleet.shutdown().await;
}
