//! `serve` itself, as a process: `POST /-/reload` applies `[log] level`
//! through the process's log filter, and SIGHUP names a restart-only change
//! (`log.format`) in its WARN line. Loopback only; the one miner is a
//! closed loopback port.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::http::request;

/// Generous: a debug build starting on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

fn config(port: u16, log: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[log]\n{log}\n\
         [scrape]\nconnect_timeout = \"1s\"\ncommand_timeout = \"1s\"\ntimeout = \"2s\"\n\
         [[miners]]\naddress = \"127.0.0.1:9\"\nname = \"m0\"\n"
    )
}

/// Kills the child when the test ends, passed or not.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stderr_of(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// Polls `check` every 50 ms until it holds or [`WAIT`] passes.
async fn wait_until(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_applies_the_log_level_on_reload_and_names_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exporter.toml");
    let log_path = dir.path().join("stderr.log");
    let port = support::free_port();
    std::fs::write(&path, config(port, "level = \"info\"")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_whatsminer-exporter"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let serve = Serve(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let listening = || stderr_of(&log_path).contains("exporter listening");
    assert!(wait_until(listening).await, "{}", stderr_of(&log_path));

    // At info, a scrape logs no `fleet scraped` line.
    assert_eq!(request(addr, "GET", "/metrics", &[], b"").await.status, 200);
    assert!(!stderr_of(&log_path).contains("fleet scraped"));

    std::fs::write(&path, config(port, "level = \"debug\"")).unwrap();
    let r = request(addr, "POST", "/-/reload", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("applied: log.level"), "{}", r.body);
    assert!(!r.body.contains("needs a restart"), "{}", r.body);
    assert_eq!(request(addr, "GET", "/metrics", &[], b"").await.status, 200);
    let debug_logged = || stderr_of(&log_path).contains("fleet scraped");
    assert!(wait_until(debug_logged).await, "{}", stderr_of(&log_path));

    // SIGHUP: the format cannot change in a running process; it says so.
    std::fs::write(&path, config(port, "level = \"debug\"\nformat = \"json\"")).unwrap();
    let pid = serve.0.id().to_string();
    let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(hup.success());
    let warned = || {
        let text = stderr_of(&log_path);
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("restart_required=log.format"))
    };
    assert!(wait_until(warned).await, "{}", stderr_of(&log_path));
    let metrics = request(addr, "GET", "/metrics", &[], b"").await.body;
    assert!(
        metrics.contains("whatsminer_exporter_config_restart_required{setting=\"log.format\"} 1"),
        "{metrics}"
    );
}
