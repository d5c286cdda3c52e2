//! The independent check of our wire format and crypto: the public Python
//! clients `whatsminer` (PyPI; passlib md5-crypt, pycryptodome AES) and
//! pyasic (PyPI, pinned in scripts/install-test-deps; its own md5-crypt and
//! AES) read from the simulator and run writes through it, on every
//! firmware persona. Our client and simulator share no code with them, so
//! agreement here means the bytes on the wire are right, not merely
//! consistent with each other.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use whatsminer_exporter::sim::{Fleet, FleetConfig, Model, Persona};

fn python_has_whatsminer() -> bool {
    Command::new("python3")
        .args(["-c", "import whatsminer, Crypto, passlib"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_whatsminer_client_reads_and_powers_off() {
    if !python_has_whatsminer() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the Python `whatsminer` client (scripts/install-test-deps)"
        );
        eprintln!("SKIP: python3 with `whatsminer` not installed; run scripts/install-test-deps");
        return;
    }
    let mut cfg = FleetConfig::loopback_ephemeral(2);
    cfg.password = whatsminer_exporter::Secret::new("py-Check-7");
    let fleet = Fleet::start(cfg).await.unwrap();
    for index in 0..2 {
        let addr = fleet.addrs()[index];
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/whatsminer_lib_check.py"
        );
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg(script)
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .env("WHATSMINER_PASSWORD", "py-Check-7")
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("python client finished in time")
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "miner {index}: stdout {stdout}\nstderr {stderr}"
        );
        let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        assert!(seen["mhs_av"].as_f64().unwrap_or(0.0) > 0.0, "{seen}");
        let handle = fleet.miner(index).unwrap();
        assert!(
            !handle.powered_on(),
            "the Python client's power_off reached the miner"
        );
        assert_eq!(handle.command_count("power_off"), 1);
    }
    fleet.shutdown().await;
}

fn python_has_pyasic() -> bool {
    Command::new("python3")
        .args(["-c", "import pyasic.rpc.btminer"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs one of the Python checks against `addr`; (success, stdout JSON).
async fn run_python(script: &str, addr: SocketAddr, extra: &[&str]) -> (bool, Value) {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(path)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .args(extra)
        .env("WHATSMINER_PASSWORD", PERSONA_PASSWORD)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("python finished in time")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seen = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("{script} {extra:?}: stdout {stdout}\nstderr {stderr}"));
    (out.status.success(), seen)
}

const PERSONA_PASSWORD: &str = "py-Persona-3";

/// One simulated miner per firmware persona (the cgminer one on both of its
/// builds) and one generic miner.
const CASES: [(Option<Persona>, Model); 6] = [
    (None, Model::M50),
    (Some(Persona::Cgminer492), Model::M30S),
    (Some(Persona::Cgminer492), Model::M20S),
    (Some(Persona::Btminer2021), Model::M30S),
    (Some(Persona::Btminer2022), Model::M30SPlus),
    (Some(Persona::Firmware2025), Model::M60),
];

/// The board hash rates pyasic read, in MH/s (2025 firmware sends TH/s).
fn board_sum_mhs(devs: &Value, persona: Option<Persona>) -> f64 {
    let unit = if persona == Some(Persona::Firmware2025) {
        1e6
    } else {
        1.0
    };
    let boards = devs["board_mhs_av"].as_array().expect("board rates");
    boards.iter().filter_map(Value::as_f64).sum::<f64>() * unit
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.02 * b.abs().max(1.0)
}

/// pyasic and the seed's `whatsminer` client against every persona. Each
/// does what the real firmware lets it: pyasic reads with `command` (so it
/// reads cgminer 4.9.2 too), but its strict JSON cannot read the M20S
/// 20200917 `summary` with `\'`; the seed client reads with `cmd` only and
/// gets Code 24 from cgminer 4.9.2. pyasic's joined read works where the
/// firmware joins; on 2025 firmware (joins refused) its multicommand gives
/// nothing, as pyasic's own code does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyasic_and_the_seed_client_against_every_persona() {
    if !python_has_pyasic() || !python_has_whatsminer() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install pyasic and whatsminer (scripts/install-test-deps)"
        );
        eprintln!(
            "SKIP: python3 with pyasic/whatsminer not installed; run scripts/install-test-deps"
        );
        return;
    }
    let mut cfg = FleetConfig::loopback_ephemeral(CASES.len());
    cfg.password = whatsminer_exporter::Secret::new(PERSONA_PASSWORD);
    cfg.models = CASES.iter().map(|(_, model)| *model).collect();
    cfg.personas = CASES
        .iter()
        .enumerate()
        .filter_map(|(i, (persona, _))| persona.map(|p| (i, p)))
        .collect();
    let fleet = Fleet::start(cfg).await.unwrap();
    for (index, (persona, model)) in CASES.iter().copied().enumerate() {
        let case = format!("{persona:?} {model}");
        let addr = fleet.addrs()[index];
        let handle = fleet.miner(index).unwrap();
        let (ok, seen) = run_python("pyasic_check.py", addr, &[]).await;
        assert!(ok, "{case}: {seen}");
        let escaped = persona == Some(Persona::Cgminer492) && model == Model::M20S;
        let snapshot = handle.readings();
        if escaped {
            let error = seen["summary"]["error"].as_str().unwrap_or_default();
            assert!(error.contains("Invalid \\escape"), "{case}: {seen}");
        } else {
            let mhs = seen["summary"]["mhs_av"].as_f64().unwrap_or(0.0);
            assert!(
                close(mhs, snapshot.hashrate_mhs),
                "{case}: {mhs} vs {snapshot:?}"
            );
            let boards = board_sum_mhs(&seen["devs"], persona);
            assert!(close(boards, mhs), "{case}: boards {boards} vs {mhs}");
        }
        assert_eq!(seen["devs"]["boards"], 3, "{case}: {seen}");
        let first_pool = match persona {
            None | Some(Persona::Cgminer492) => 0,
            _ => 1,
        };
        let numbers: Vec<u64> = (first_pool..first_pool + 3).collect();
        assert_eq!(seen["pools"]["numbers"], json!(numbers), "{case}: {seen}");
        let joined = &seen["multicommand"];
        if escaped || persona == Some(Persona::Firmware2025) {
            assert_eq!(joined, &json!({}), "{case}: {seen}");
        } else {
            assert_eq!(joined["pools"], seen["pools"], "{case}: {seen}");
            assert_eq!(joined["devs"]["boards"], 3, "{case}: {seen}");
            assert!(handle.command_count("joined") >= 1, "{case}");
        }

        let (seed_ok, seed) = run_python("whatsminer_lib_check.py", addr, &[]).await;
        if persona == Some(Persona::Cgminer492) {
            assert!(!seed_ok, "{case}: {seed}");
            assert_eq!(seed["reply"]["STATUS"][0]["Code"], 24, "{case}: {seed}");
            assert_eq!(handle.command_count("power_off"), 0, "{case}");
            continue;
        }
        assert!(seed_ok, "{case}: {seed}");
        assert!(
            seed["mhs_av"].as_f64().unwrap_or(0.0) > 0.0,
            "{case}: {seed}"
        );
        assert!(
            !handle.powered_on(),
            "{case}: the seed client powered it off"
        );
        if !matches!(persona, Some(Persona::Btminer2021 | Persona::Firmware2025)) {
            continue;
        }
        // pyasic's write path: get_token (with `command`) and AES.
        let (on_ok, on) = run_python("pyasic_check.py", addr, &["--power", "on"]).await;
        assert!(on_ok && on["power"] == "S", "{case}: {on}");
        assert!(handle.powered_on(), "{case}: pyasic powered it on");
        let (off_ok, off) = run_python("pyasic_check.py", addr, &["--power", "off"]).await;
        assert!(off_ok && off["power"] == "S", "{case}: {off}");
        assert!(!handle.powered_on(), "{case}: pyasic powered it off");
        assert_eq!(
            (
                handle.command_count("power_off"),
                handle.command_count("power_on")
            ),
            (2, 1),
            "{case}"
        );
    }
    fleet.shutdown().await;
}
