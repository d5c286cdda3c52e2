//! `check-config`: exit 0 on the shipped example and deploy configs (their
//! container mounts mapped to a temporary folder), exit 2 with the very
//! message `serve` gives on every broken config of
//! tests/fixtures/config_errors/cases.toml, and never a bound port.

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

/// The exporter configs the project ships.
const SHIPPED: [&str; 2] = ["examples/exporter.toml", "deploy/exporter/exporter.toml"];

/// `.toml` files under `dir` (relative to the crate), recursively.
fn tomls_under(dir: &str, found: &mut Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root.join(dir)).expect("dir").flatten() {
        let name = format!("{dir}/{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            tomls_under(&name, found);
        } else if name.ends_with(".toml") {
            found.push(name);
        }
    }
}

#[test]
fn every_shipped_config_is_checked() {
    let mut found = Vec::new();
    tomls_under("examples", &mut found);
    tomls_under("deploy", &mut found);
    // The compose file mounts its exporter config from the repository.
    let compose =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml"))
            .expect("compose file");
    for line in compose.lines().map(str::trim) {
        if let Some(mount) = line.strip_prefix("- ./") {
            if let Some((source, _)) = mount.split_once(".toml:") {
                found.push(format!("{source}.toml"));
            }
        }
    }
    assert!(found.len() >= 3, "{found:?}");
    for config in found {
        assert!(
            SHIPPED.contains(&config.as_str()),
            "{config} is not checked"
        );
    }
}

#[test]
fn shipped_configs_pass_and_nothing_is_bound() {
    // The metrics port is held here: a check that bound it would fail.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let held_addr = held.local_addr().expect("addr").to_string();
    for shipped in SHIPPED {
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

/// One broken config of tests/fixtures/config_errors/cases.toml (the file
/// says what each field means).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    config: String,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
    is: Option<String>,
    starts_with: Option<String>,
    ends_with: Option<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    never: Vec<String>,
    kind: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

fn cases() -> Vec<Case> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config_errors/cases.toml");
    let text = std::fs::read_to_string(&path).expect("cases file");
    toml::from_str::<Cases>(&text).expect("cases parse").case
}

/// The case's expectations on `message` (the temporary folder's path
/// already removed).
fn expect(case: &Case, message: &str) {
    let name = &case.name;
    if let Some(is) = &case.is {
        assert_eq!(message, is, "{name}");
    }
    if let Some(start) = &case.starts_with {
        assert!(message.starts_with(start.as_str()), "{name}: {message}");
    }
    if let Some(end) = &case.ends_with {
        assert!(message.ends_with(end.as_str()), "{name}: {message}");
    }
    for part in &case.contains {
        assert!(message.contains(part.as_str()), "{name}: {message}");
    }
    for part in &case.never {
        assert!(!message.contains(part.as_str()), "{name}: {message}");
    }
}

#[test]
fn every_broken_config_fails_alike_in_load_check_config_and_serve() {
    let cases = cases();
    assert!(cases.len() >= 90, "{} cases: the list was cut", cases.len());
    for case in &cases {
        let name = &case.name;
        assert!(
            case.is.is_some()
                || case.starts_with.is_some()
                || case.ends_with.is_some()
                || !case.contains.is_empty()
                || !case.never.is_empty(),
            "{name}: expects nothing"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, text) in &case.files {
            std::fs::write(dir.path().join(file), text).expect("file");
        }
        let path = dir.path().join("exporter.toml");
        std::fs::write(&path, &case.config).expect("config");
        let prefix = format!("{}/", dir.path().display());
        // In process, as `serve` and `check-config` load it.
        let error = match whatsminer_exporter::config::load(&path) {
            Ok(_) => panic!("{name}: loads without error"),
            Err(e) => e,
        };
        if let Some(kind) = &case.kind {
            let debug = format!("{:?}", error.kind());
            assert!(debug.starts_with(kind.as_str()), "{name}: {debug}");
        }
        let message = error.to_string();
        expect(case, &message.replace(&prefix, ""));
        // The two commands: exit 2, the same words, nothing else printed.
        let path = path.to_str().expect("utf-8 path");
        let want = format!("error: {message}\n");
        let (code, checked) = run(&["check-config", "--config", path]);
        assert_eq!((code, checked.as_str()), (2, want.as_str()), "{name}");
        // serve stops at the same place (and so binds nothing: it exits
        // before).
        let (code, served) = run(&["serve", "--config", path]);
        assert_eq!((code, served.as_str()), (2, want.as_str()), "{name}");
    }
}

#[test]
fn serve_flags_are_checked_as_serve_reads_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("exporter.toml");
    std::fs::write(&config, "[[miners]]\naddress = \"127.0.0.1:14028\"\n").expect("config");
    let config = config.to_str().expect("utf-8 path");
    let web = dir.path().join("web.yml");
    let web = web.to_str().expect("utf-8 path");
    // A web config file given on the command line, as the compose file
    // suggests, broken and then missing: the same refusal as serve.
    std::fs::write(web, "basic_auth_users:\n  alice: plain-password\n").expect("web");
    let missing = dir.path().join("absent-web.yml");
    let missing = missing.to_str().expect("utf-8 path");
    for flags in [
        vec!["--web.config.file", web],
        vec!["--web.config.file", missing],
        vec!["--concurrency", "0"],
        vec!["--log-level", "verbose=x=y"],
    ] {
        let mut check = vec!["check-config", "--config", config];
        check.extend(&flags);
        let (code, checked) = run(&check);
        assert_eq!(code, 2, "{flags:?}: {checked}");
        assert!(checked.starts_with("error: "), "{checked}");
        assert!(!checked.contains("plain-password"), "{checked}");
        check[0] = "serve";
        let (code, served) = run(&check);
        assert_eq!((code, served.as_str()), (2, checked.as_str()), "{flags:?}");
    }
    // A valid one passes.
    std::fs::write(web, "basic_auth_excluded_paths: [/-/healthy]\n").expect("web");
    let (code, out) = run(&["check-config", "--config", config, "--web.config.file", web]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_config_that_is_not_a_file_fails_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    for path in [missing.as_path(), dir.path()] {
        let path = path.to_str().expect("utf-8 path");
        let (code, checked) = run(&["check-config", "--config", path]);
        assert_eq!(code, 2, "{checked}");
        assert!(checked.starts_with("error: "), "{checked}");
        assert!(checked.contains(path), "{checked}");
        let (code, served) = run(&["serve", "--config", path]);
        assert_eq!((code, served), (2, checked));
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
