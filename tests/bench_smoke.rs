//! Smoke test of `bench --quick` through the real binary: the run
//! finishes, the report has every figure and each one is sane (non-zero,
//! counts as expected). Timings are never compared with anything.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn number(report: &Value, pointer: &str) -> f64 {
    report
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("missing number {pointer} in {report:#}"))
}

#[test]
fn quick_bench_reports_every_figure() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        assert!(std::env::var_os("CI").is_none(), "bench needs /proc");
        eprintln!("NOTE: no /proc on this system; skipping the bench smoke test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let markdown = dir.path().join("report.md");
    let mut child = Command::new(env!("CARGO_BIN_EXE_whatsminer-exporter"))
        .args(["bench", "--quick", "--json"])
        .arg(&json)
        .arg("--markdown")
        .arg(&markdown)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bench");
    // A debug build on a busy CI machine is slow; this is only a hang guard.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("bench --quick did not finish in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut table = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut table)
        .expect("read table");
    assert!(status.success(), "bench failed: {status}\n{table}");
    assert!(
        table.contains("scrape ms") && table.contains("/probe"),
        "{table}"
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("valid json");
    assert!(number(&report, "/machine/nproc") >= 1.0);
    assert_eq!(report["command"], "whatsminer-exporter bench --quick");
    let fleets = report["fleets"].as_array().expect("fleets");
    assert_eq!(fleets.len(), 1);
    let fleet = &fleets[0];
    assert_eq!(number(fleet, "/miners"), 50.0);
    assert_eq!(number(fleet, "/up_miners_min"), 50.0, "{fleet:#}");
    assert_eq!(number(fleet, "/floor_ok_exchanges_min"), 150.0, "{fleet:#}");
    for key in [
        "/exposition_bytes",
        "/exporter_warmup_wall_ms",
        "/exporter_wall_ms/median",
        "/exporter_cpu_ms/median",
        "/exporter_cpu_us_per_miner",
        "/exporter_peak_rss_mib",
        "/floor_wall_ms/median",
        "/floor_cpu_ms/median",
        "/wall_ratio/median",
        "/cpu_ratio/median",
    ] {
        let v = number(fleet, key);
        assert!(v.is_finite() && v > 0.0, "{key} = {v}");
    }
    assert_eq!(
        fleet["exporter_wall_ms"]["runs"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(number(fleet, "/exposition_bytes") > 50.0 * 1000.0);

    assert_eq!(number(&report, "/commands/scrape_per_miner"), 3.0);
    assert_eq!(number(&report, "/commands/info_commands_on_scrape"), 0.0);
    assert!(number(&report, "/commands/warmup_per_miner") > 3.0);
    assert_eq!(number(&report, "/render/full/miners"), 500.0);
    assert!(number(&report, "/render/full/median_ms") > 0.0);
    assert!(number(&report, "/render/full/cpu_median_ms") > 0.0);
    assert!(number(&report, "/render/full/series") > 500.0 * 20.0);
    // The large-farm profile drops the per-board and per-pool series.
    let large = number(&report, "/render/large_farm/series");
    assert!(large > 500.0 * 10.0 && large * 2.0 < number(&report, "/render/full/series"));

    assert_eq!(number(&report, "/probe/requests"), 200.0);
    assert_eq!(number(&report, "/probe/ok"), 200.0);
    assert!(number(&report, "/probe/per_second") > 0.0);
    let phases = report["power"]["phases"].as_array().expect("power phases");
    assert_eq!(phases.len(), 4);
    for phase in phases {
        assert_eq!(number(phase, "/ok"), 50.0, "{phase:#}");
        assert!(number(phase, "/elapsed_ms") > 0.0);
    }

    let md = std::fs::read_to_string(&markdown).expect("markdown");
    assert!(md.contains("| miners |") && md.contains("| 50 |"), "{md}");
}
