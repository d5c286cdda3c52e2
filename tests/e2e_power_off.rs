//! End to end with the real `prometheus` and Alertmanager binaries: a
//! simulated miner overheats, a rule fires, Alertmanager posts to the
//! exporter's webhook, the exporter powers that miner off, and a later
//! scrape shows it stopped at zero hashrate. The other miners are not
//! touched.
//!
//! Everything listens on 127.0.0.1 ephemeral ports with data in a temporary
//! directory; child processes are killed on drop. Skipped with a loud note
//! when the binaries are missing, unless `CI` is set (then it fails).
//! Install: `apt-get install -y prometheus prometheus-alertmanager`.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::admin::{request, sample, Harness, Setup};
use whatsminer_exporter::sim::Fault;

/// The whole scenario must finish within this.
const BOUND: Duration = Duration::from_secs(90);
const HOT: usize = 2;
const THRESHOLD_C: f64 = 90.0;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&paths).collect();
    dirs.push("/usr/bin".into());
    names
        .iter()
        .find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()))
}

fn skip(what: &str) {
    assert!(
        !in_ci(),
        "e2e_power_off: {what} is not installed, and CI requires it"
    );
    // The real stderr: libtest hides eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n**************** SKIP e2e_power_off: {what} not found ****************\n\
         **** install it (apt-get install -y prometheus prometheus-alertmanager) ****\n"
    );
}

/// A free loopback port: bind port 0, read it, let it go.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed (and reaped) on drop, its output in a file.
struct ChildGuard {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    fn spawn(name: &'static str, program: &Path, args: &[String], dir: &Path) -> ChildGuard {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        ChildGuard { name, child, log }
    }

    fn tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overheating_miner_is_powered_off_through_alertmanager() {
    let Some(prometheus) = find_tool(&["prometheus"]) else {
        return skip("prometheus");
    };
    let Some(alertmanager) = find_tool(&["prometheus-alertmanager", "alertmanager"]) else {
        return skip("prometheus-alertmanager");
    };
    let mut setup = Setup::new(4);
    setup.faults = vec![(
        HOT,
        // Fast climb; the miner's own protection (200 °C) comes far later
        // than the alert at 90 °C, so a power-off can only be ours.
        Fault::Overheat {
            rate_c_per_sec: 4.0,
            shutdown_at_c: 200.0,
        },
    )];
    let h = Harness::start("e2e", setup).await;
    let dir = h.dir.path().to_path_buf();
    let (am_port, prom_port) = (free_port(), free_port());
    let am_addr: SocketAddr = ([127, 0, 0, 1], am_port).into();
    let prom_addr: SocketAddr = ([127, 0, 0, 1], prom_port).into();

    write(
        &dir,
        "rules.yml",
        &format!(
            "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - alert: E2EMinerCritical\n        \
             expr: whatsminer_temperature_celsius > {THRESHOLD_C}\n        for: 0s\n        \
             labels:\n          severity: critical\n          action: power_off\n"
        ),
    );
    let prom_config = write(
        &dir,
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             rule_files: [rules.yml]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_addr}']\n\
             scrape_configs:\n  - job_name: whatsminer\n    static_configs:\n      - targets: ['{}']\n",
            h.exporter.metrics_addr()
        ),
    );
    let am_config = write(
        &dir,
        "alertmanager.yml",
        &format!(
            "route:\n  receiver: exporter\n  group_by: [alertname, miner]\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: exporter\n    webhook_configs:\n      - url: http://{}/admin/alertmanager\n        \
             send_resolved: true\n        max_alerts: 0\n        http_config:\n          authorization:\n            \
             type: Bearer\n            credentials_file: {}\n",
            h.admin,
            dir.join("token").display()
        ),
    );
    let am = ChildGuard::spawn(
        "alertmanager",
        &alertmanager,
        &[
            format!("--config.file={}", am_config.display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address={am_addr}"),
            "--cluster.listen-address=".into(),
        ],
        &dir,
    );
    let prom = ChildGuard::spawn(
        "prometheus",
        &prometheus,
        &[
            format!("--config.file={}", prom_config.display()),
            format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
            format!("--web.listen-address={prom_addr}"),
        ],
        &dir,
    );

    let outcome = tokio::time::timeout(BOUND, scenario(&h)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("not done within {BOUND:?}")),
    };
    if let Some(failure) = failure {
        let alerts = request(prom_addr, "GET", "/api/v1/alerts", &[], b"")
            .await
            .body;
        let am_alerts = request(am_addr, "GET", "/api/v2/alerts", &[], b"")
            .await
            .body;
        let metrics = h.metrics().await;
        let own: Vec<&str> = metrics
            .lines()
            .filter(|l| {
                l.starts_with("whatsminer_webhook") || l.starts_with("whatsminer_temperature")
            })
            .collect();
        panic!(
            "{failure}\n--- hot miner: powered_on={} counts={:?}\n--- exporter:\n{}\n--- audit:\n{:#?}\n\
             --- prometheus alerts: {alerts}\n--- alertmanager alerts: {am_alerts}\n\
             --- {} log:\n{}\n--- {} log:\n{}",
            h.miner(HOT).powered_on(),
            h.miner(HOT).command_counts(),
            own.join("\n"),
            h.audit(),
            prom.name,
            prom.tail(30),
            am.name,
            am.tail(30),
        );
    }
    drop(prom);
    drop(am);
}

/// Waits for the webhook's power-off, then checks what every miner went
/// through and what the next scrape shows.
async fn scenario(h: &Harness) -> Result<(), String> {
    let started = Instant::now();
    let done = || h.webhook_actions("power_off", "ok") >= 1;
    while !done() {
        if started.elapsed() > BOUND {
            return Err("the webhook never powered a miner off".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hot = h.miner(HOT);
    if hot.powered_on() {
        return Err("the webhook reported ok but the hot miner still runs".into());
    }
    if hot.command_count("power_off") != 1 {
        return Err(format!(
            "hot miner got {} power_off commands, expected exactly 1",
            hot.command_count("power_off")
        ));
    }
    if h.webhook_actions("power_off", "ok") != 1 {
        return Err("more than one webhook power-off".into());
    }
    for (i, m) in h
        .fleet
        .miners()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != HOT)
    {
        if !m.powered_on() || m.command_count("power_off") != 0 {
            return Err(format!("miner {i} was touched: {:?}", m.command_counts()));
        }
    }
    let name = format!("miner=\"sim-{HOT}\"");
    let metrics = h.metrics().await;
    let mining = sample(&metrics, "whatsminer_mining", &name);
    if mining != Some(0.0) {
        return Err(format!(
            "whatsminer_mining for the hot miner is {mining:?}, expected 0"
        ));
    }
    let hashrates: Vec<f64> = metrics
        .lines()
        .filter(|l| l.starts_with("whatsminer_hashrate_hashes_per_second{") && l.contains(&name))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    if hashrates.is_empty() || hashrates.iter().any(|v| *v != 0.0) {
        return Err(format!(
            "hot miner hashrate samples {hashrates:?}, expected all 0"
        ));
    }
    for i in (0..h.fleet.len()).filter(|i| *i != HOT) {
        let other = format!("miner=\"sim-{i}\"");
        if sample(&metrics, "whatsminer_mining", &other) != Some(1.0) {
            return Err(format!("miner {i} does not show as mining"));
        }
    }
    Ok(())
}
