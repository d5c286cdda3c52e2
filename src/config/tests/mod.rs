//! Whole-file loading: a full example parses to the expected values,
//! defaults apply and merge, secrets are read and never shown.

mod discovery;
mod errors;
mod metrics;
mod targets;
mod web;

use super::*;
use std::fs;
use std::time::Duration;

/// A temp folder holding `exporter.toml` and the files it names.
pub(super) struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    pub fn load(&self, config: &str) -> Result<Config, ConfigError> {
        load(&self.write("exporter.toml", config))
    }
}

const FULL: &str = r#"
[server]
listen = "127.0.0.1:9810"
probe_targets = "configured"
probe_networks = ["10.20.0.7/16", "fd00::/64"]
reload_endpoint = "off"
[log]
level = "info,whatsminer_exporter=debug"
format = "json"
[scrape]
timeout = "12s"
timeout_margin = "250ms"
concurrency = 64
connect_timeout = "2s"
command_timeout = "5s"
max_reply_bytes = 2097152
info_refresh = "15m"
mode = "background"
refresh_interval = "1m"
read_retries = 2
min_age = "0s"
[defaults]
port = 14028
protocol = "auto"
labels = { site = "farm-a", row = "3" }
password_file = "miner-password"
[[miners]]
address = "127.0.0.1"
name = "rack1-m01"
labels = { rack = "r1", row = "4" }
protocol = "v2"
[[miners]]
address = "127.0.0.1:14029"
password_env = "WM_CFG_TEST_FULL_PW"
[[miner_files]]
path = "targets.txt"
[admin]
enabled = true
listen = "127.0.0.1:9811"
token_file = "admin-token"
token_name = "alertmanager"
allow = ["power_off", "power_on", "reboot"]
tls_cert_file = "cert.pem"
tls_key_file = "key.pem"
max_body_bytes = 4096
[webhook]
dry_run = true
budget = 2
budget_window = "30m"
miner_labels = ["miner", "instance", "host"]
action_label = "wm_action"
default_action = "power_on"
power_on_when_resolved = true
dedupe_ttl = "2h"
retries = 1
state_file = "state/webhook.json"
"#;

#[test]
fn full_example_parses_to_the_expected_values() {
    let fx = Fixture::new();
    fx.write("miner-password", "default-pw\n");
    fx.write("admin-token", "tok-123456789\n");
    fx.write("cert.pem", "cert");
    fx.write("key.pem", "key");
    fx.write("targets.txt", "# bulk\n127.0.0.2 bulk-a\n127.0.0.3:15000\n");
    std::env::set_var("WM_CFG_TEST_FULL_PW", "own-pw");
    let config = fx.load(FULL).unwrap();

    assert_eq!(config.server.listen.to_string(), "127.0.0.1:9810");
    let probe = &config.server.probe;
    assert!(probe.configured_only);
    let nets: Vec<String> = probe.networks.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["10.20.0.0/16", "fd00::/64"], "host bits cleared");
    let allowed = |a: &str| probe.allows_unconfigured(&a.parse().unwrap());
    assert!(allowed("10.20.255.1:4028") && allowed("[fd00::9]:4028"));
    assert!(
        allowed("10.20.0.1") && allowed("10.20.0.1:4433"),
        "the API ports"
    );
    assert!(
        !allowed("10.20.0.1:22") && !allowed("10.20.0.1:80"),
        "no port scan"
    );
    let own_ports = ProbePolicy {
        network_ports: vec![8080],
        ..probe.clone()
    };
    assert!(own_ports.allows_unconfigured(&"10.20.0.1:8080".parse().unwrap()));
    assert!(!own_ports.allows_unconfigured(&"10.20.0.1:4028".parse().unwrap()));
    assert!(!allowed("10.21.0.1") && !allowed("127.0.0.1") && !allowed("miner.local"));
    assert!(ProbePolicy::default().allows_unconfigured(&"miner.local".parse().unwrap()));
    assert_eq!(config.server.reload, ReloadAccess::Off);
    assert_eq!(config.log.level, "info,whatsminer_exporter=debug");
    assert_eq!(config.log.format, LogFormat::Json);
    let s = &config.scrape;
    assert_eq!(s.timeout, Duration::from_secs(12));
    assert_eq!(s.timeout_margin, Duration::from_millis(250));
    assert_eq!(s.concurrency, 64);
    assert_eq!(s.connect_timeout, Duration::from_secs(2));
    assert_eq!(s.command_timeout, Duration::from_secs(5));
    assert_eq!(s.max_reply_bytes, 2 * 1024 * 1024);
    assert_eq!(s.info_refresh, Duration::from_secs(900));
    assert_eq!(
        s.mode,
        ScrapeMode::Background {
            interval: Duration::from_secs(60)
        }
    );
    assert_eq!(s.read_retries, 2);
    assert_eq!(s.min_age, Duration::ZERO);

    assert_eq!(config.miners.len(), 4);
    let m0 = &config.miners[0];
    assert_eq!(
        m0.addr.to_string(),
        "127.0.0.1:14028",
        "defaults.port applies"
    );
    assert_eq!(m0.name.as_deref(), Some("rack1-m01"));
    assert_eq!(m0.protocol, ApiChoice::V2);
    assert_eq!(
        m0.labels,
        vec![
            ("rack".to_string(), "r1".to_string()),
            ("row".to_string(), "4".to_string()),
            ("site".to_string(), "farm-a".to_string()),
        ]
    );
    assert_eq!(m0.password.as_ref().map(Secret::expose), Some("default-pw"));
    let m1 = &config.miners[1];
    assert_eq!(m1.addr.to_string(), "127.0.0.1:14029");
    assert_eq!(m1.name, None);
    assert_eq!(m1.protocol, ApiChoice::Auto, "defaults.protocol applies");
    assert_eq!(m1.password.as_ref().map(Secret::expose), Some("own-pw"));
    let bulk: Vec<(String, Option<&str>)> = config.miners[2..]
        .iter()
        .map(|m| (m.addr.to_string(), m.name.as_deref()))
        .collect();
    assert_eq!(
        bulk,
        vec![
            ("127.0.0.2:14028".to_string(), Some("bulk-a")),
            ("127.0.0.3:15000".to_string(), None)
        ]
    );
    assert_eq!(
        config.miners[3].labels.len(),
        2,
        "file targets get default labels"
    );

    let admin = config.admin.as_ref().expect("admin enabled");
    assert_eq!(admin.listen.to_string(), "127.0.0.1:9811");
    assert_eq!(admin.token.expose(), "tok-123456789");
    assert_eq!(admin.token_name, "alertmanager");
    assert_eq!(admin.allow, vec!["power_off", "power_on", "reboot"]);
    let tls = admin.tls.as_ref().expect("tls");
    assert!(tls.cert_file.ends_with("cert.pem") && tls.cert_file.is_file());
    assert_eq!(admin.max_body_bytes, 4096);

    let w = &config.webhook;
    assert!(w.enabled, "on by default with the admin API");
    assert!(w.dry_run && w.power_on_when_resolved);
    assert_eq!(w.budget, 2);
    assert_eq!(w.budget_window, Duration::from_secs(1800));
    assert_eq!(w.miner_labels, vec!["miner", "instance", "host"]);
    assert_eq!(w.action_label, "wm_action");
    assert_eq!(w.default_action, "power_on");
    assert_eq!(w.dedupe_ttl, Duration::from_secs(7200));
    assert_eq!(w.retries, 1);
    assert_eq!(w.state_file, Some(fx.dir.path().join("state/webhook.json")));
    assert!(config.source.ends_with("exporter.toml"));
}

#[test]
fn minimal_config_gets_every_default() {
    let fx = Fixture::new();
    let config = fx.load("[[miners]]\naddress = \"127.0.0.1\"\n").unwrap();
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.server.listen.to_string(), "0.0.0.0:9710");
    assert_eq!(config.log, LogConfig::default());
    assert_eq!(config.scrape, ScrapeConfig::default());
    assert_eq!(config.scrape.concurrency, 256);
    assert_eq!(config.admin, None);
    assert_eq!(
        config.webhook,
        WebhookSettings::default(),
        "webhook off without admin"
    );
    assert!(!config.webhook.enabled);
    let only = &config.miners[0];
    assert_eq!(only.addr.to_string(), "127.0.0.1:4028");
    assert_eq!(only.protocol, ApiChoice::V2);
    assert!(only.labels.is_empty() && only.password.is_none() && only.name.is_none());
}

#[test]
fn admin_defaults_when_enabled() {
    let fx = Fixture::new();
    std::env::set_var("WM_CFG_TEST_ADMIN_TOKEN", "env-token-value");
    let config = fx
        .load(
            "[[miners]]\naddress = \"127.0.0.1\"\n[admin]\nenabled = true\ntoken_env = \"WM_CFG_TEST_ADMIN_TOKEN\"\n",
        )
        .unwrap();
    let admin = config.admin.unwrap();
    assert_eq!(admin.listen.to_string(), "127.0.0.1:9711");
    assert_eq!(admin.token.expose(), "env-token-value");
    assert_eq!(admin.token_name, "admin");
    assert_eq!(admin.allow, DEFAULT_ADMIN_ALLOW);
    assert_eq!(admin.tls, None);
    assert_eq!(admin.max_body_bytes, 65_536);
    assert!(config.webhook.enabled);
    assert_eq!(config.webhook.default_action, "power_off");
}

#[test]
fn disabled_admin_ignores_its_missing_files() {
    let fx = Fixture::new();
    let config = fx
        .load("[[miners]]\naddress = \"127.0.0.1\"\n[admin]\nenabled = false\ntoken_file = \"missing\"\n")
        .unwrap();
    assert_eq!(config.admin, None);
}

#[test]
fn defaults_merge_and_an_empty_value_removes_a_label() {
    let fx = Fixture::new();
    let config = fx
        .load(
            r#"
[defaults]
labels = { site = "farm-a", room = "1" }
protocol = "v3"
[[miners]]
address = "127.0.0.1:14028"
labels = { room = "", rack = "r9", site = "farm-b" }
[[miners]]
address = "127.0.0.1:14029"
protocol = "v2"
"#,
        )
        .unwrap();
    let pairs = |m: &MinerEntry| m.labels.clone();
    assert_eq!(
        pairs(&config.miners[0]),
        vec![
            ("rack".to_string(), "r9".to_string()),
            ("site".to_string(), "farm-b".to_string())
        ]
    );
    assert_eq!(
        pairs(&config.miners[1]),
        vec![
            ("room".to_string(), "1".to_string()),
            ("site".to_string(), "farm-a".to_string())
        ]
    );
    assert_eq!(config.miners[0].protocol, ApiChoice::V3);
    assert_eq!(config.miners[1].protocol, ApiChoice::V2);
}

#[test]
fn relative_paths_start_at_the_config_folder() {
    let fx = Fixture::new();
    fs::create_dir(fx.dir.path().join("secrets")).unwrap();
    fx.write("secrets/pw", "from-subfolder");
    let config_path = fx.write(
        "exporter.toml",
        "[defaults]\npassword_file = \"secrets/pw\"\n[[miners]]\naddress = \"127.0.0.1\"\n",
    );
    // Loaded from another working directory in effect: only the config's
    // own folder can make `secrets/pw` resolve.
    let config = load(&config_path).unwrap();
    assert_eq!(
        config.miners[0].password.as_ref().map(Secret::expose),
        Some("from-subfolder")
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let fx = Fixture::new();
    fx.write("pw", "miner-pw-SENTINEL\n");
    fx.write("tok", "admin-tok-SENTINEL\n");
    let config = fx
        .load(
            "[defaults]\npassword_file = \"pw\"\n[[miners]]\naddress = \"127.0.0.1\"\n\
             [admin]\nenabled = true\ntoken_file = \"tok\"\n",
        )
        .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("SENTINEL"), "{debug}");
    assert!(debug.contains("***"), "secrets are shown masked");
    assert_eq!(
        config.admin.as_ref().map(|a| a.token.expose()),
        Some("admin-tok-SENTINEL")
    );
}

#[test]
fn default_demo_is_local_and_has_no_admin() {
    let addr: MinerAddr = "127.0.0.1:14028".parse().unwrap();
    let config = Config::default_demo(vec![MinerEntry::from_addr(addr.clone())]);
    assert!(config.server.listen.ip().is_loopback());
    assert_eq!(config.server.listen.port(), DEFAULT_LISTEN_PORT);
    assert_eq!(config.admin, None);
    assert!(!config.webhook.enabled);
    assert_eq!(config.scrape, ScrapeConfig::default());
    assert_eq!(config.miners.len(), 1);
    assert_eq!(config.miners[0].addr, addr);
}

#[test]
fn from_str_reports_the_given_source() {
    let config = from_str(
        "[[miners]]\naddress = \"[::1]:4028\"\n",
        Path::new("/etc/wm/exporter.toml"),
    )
    .unwrap();
    assert_eq!(config.source, Path::new("/etc/wm/exporter.toml"));
    assert_eq!(config.miners[0].addr.to_string(), "[::1]:4028");
}

#[test]
fn the_shipped_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/exporter.toml");
    let config = load(&path).unwrap();
    assert!(!config.miners.is_empty());
    for miner in &config.miners {
        let ip: std::net::IpAddr = miner.addr.host().parse().unwrap();
        assert!(ip.is_loopback(), "example must point at the simulator");
    }
}

#[test]
fn reload_access_defaults_to_loopback_clients() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let loopback = ReloadAccess::default();
    assert_eq!(loopback, ReloadAccess::Loopback);
    for peer in ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"] {
        assert!(loopback.allows(ip(peer), false), "{peer}");
        // Relayed by a proxy on this host: the client is elsewhere.
        assert!(!loopback.allows(ip(peer), true), "{peer}");
    }
    for peer in [
        "10.0.0.5",
        "192.168.1.9",
        "fd00::1",
        "::ffff:10.0.0.5",
        "0.0.0.0",
    ] {
        assert!(!loopback.allows(ip(peer), false), "{peer}");
    }
    assert!(ReloadAccess::Any.allows(ip("10.0.0.5"), true));
    assert!(!ReloadAccess::Off.allows(ip("127.0.0.1"), false));
    let fx = Fixture::new();
    let config = fx.load("[[miners]]\naddress = \"127.0.0.1\"\n").unwrap();
    assert_eq!(config.server.reload, ReloadAccess::Loopback);
}
