//! The independent check of our wire format and crypto: the public Python
//! client `whatsminer` (PyPI; passlib md5-crypt, pycryptodome AES) reads
//! `summary` from the simulator and runs `power_off` through it. Our client
//! and simulator share no crypto code with it, so agreement here means the
//! bytes on the wire are right, not merely consistent with each other.

use std::process::Command;
use std::time::Duration;
use whatsminer_exporter::sim::{Fleet, FleetConfig};

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
