//! `check-config`: exit 0 on the shipped example and deploy configs (their
//! container mounts mapped to a temporary folder), exit 2 with the very
//! message `serve` gives on broken ones, and never a bound port.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Runs the exporter binary with `args`, bounded to 20 s: code, stderr
/// (and stdout appended).
fn run(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_whatsminer-exporter"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let started = std::time::Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{args:?} ran past 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A shipped config with its absolute container paths moved into `dir`
/// (secrets written there), the rest as shipped.
fn mapped(shipped: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(shipped))
        .expect("shipped config");
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).expect("dir");
    std::fs::create_dir_all(dir.join("state")).expect("dir");
    for name in ["whatsminer-password", "admin-token"] {
        std::fs::write(secrets.join(name), "s3cret-value-0123456789abcdef\n").expect("secret");
    }
    let text = text
        .replace("/run/secrets/", &format!("{}/", secrets.display()))
        .replace(
            "/var/lib/whatsminer-exporter/",
            &format!("{}/state/", dir.display()),
        );
    let path = dir.join("exporter.toml");
    std::fs::write(&path, text).expect("config");
    path
}

#[test]
fn shipped_configs_pass_and_nothing_is_bound() {
    // The metrics port is held here: a check that bound it would fail.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let held_addr = held.local_addr().expect("addr").to_string();
    for shipped in ["examples/exporter.toml", "deploy/exporter/exporter.toml"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = mapped(shipped, dir.path());
        let text = std::fs::read_to_string(&path).expect("config");
        let text = text
            .replace("\"0.0.0.0:9710\"", &format!("{held_addr:?}"))
            .replace("\"127.0.0.1:9710\"", &format!("{held_addr:?}"));
        assert!(
            text.contains(&held_addr),
            "{shipped}: no metrics listen address"
        );
        std::fs::write(&path, text).expect("config");
        let path = path.to_str().expect("utf-8 path");
        let (code, out) = run(&["check-config", "--config", path]);
        assert_eq!(code, 0, "{shipped}: {out}");
        assert!(out.contains("OK"), "{shipped}: {out}");
    }
}

#[test]
fn broken_configs_fail_with_the_message_serve_gives() {
    const MINER: &str = "[[miners]]\naddress = \"127.0.0.1:14028\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = [
        format!("{MINER}[scrape]\ntimout = \"5s\"\n"),
        format!("{MINER}[scrape]\ntimeout = \"5\"\n"),
        "[[miners]]\naddress = \"10.0.0.300\"\n".to_string(),
        format!("{MINER}password = \"hunter2\"\n"),
        format!("{MINER}password_file = \"missing-password\"\n"),
        format!("{MINER}[[miner_files]]\npath = \"missing-targets.txt\"\n"),
        "[server]\nlisten = \"127.0.0.1:9\"\n".to_string(),
        format!(
            "{MINER}[admin]\nenabled = true\nlisten = \"127.0.0.1:0\"\ntoken_env = \"WM_CHECK_NO_SUCH_VAR\"\n"
        ),
    ];
    for (i, text) in broken.iter().enumerate() {
        let path = dir.path().join(format!("broken-{i}.toml"));
        std::fs::write(&path, text).expect("config");
        let path = path.to_str().expect("utf-8 path");
        let (code, checked) = run(&["check-config", "--config", path]);
        assert_eq!(code, 2, "{text}: {checked}");
        assert!(checked.starts_with("error: "), "{checked}");
        assert!(
            !checked.contains("hunter2"),
            "a secret was quoted: {checked}"
        );
        // serve stops at the same place, with the same words (and so binds
        // nothing: it exits before).
        let (code, served) = run(&["serve", "--config", path]);
        assert_eq!(code, 2, "{text}: {served}");
        assert_eq!(checked, served, "{text}");
    }
}

#[test]
fn a_state_file_that_is_not_a_file_fails_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = mapped("deploy/exporter/exporter.toml", dir.path());
    // A directory where the webhook's state file should be.
    std::fs::create_dir_all(dir.path().join("state/webhook-state.json")).expect("dir");
    let (code, out) = run(&["check-config", "--config", path.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("[webhook] state_file"), "{out}");
    assert!(out.contains("not a regular file"), "{out}");
}
