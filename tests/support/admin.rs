//! Shared helpers of the admin API tests: a simulated fleet plus an
//! exporter with the admin API on, both on loopback ephemeral ports; the
//! HTTP client of `support::http`, re-exported; an audit-log capture (or a TRACE capture of everything); a bounded polling
//! wait; and a secret finder (`secrets`).
#![allow(dead_code)]

pub mod secrets;

#[allow(unused_imports)] // Each test binary uses a subset.
pub use crate::support::http::{request, request_on, Reply};

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use whatsminer_exporter::exporter::Exporter;
use whatsminer_exporter::settings::Settings;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig, MinerHandle};

pub const TOKEN: &str = "test-admin-token-0123456789";

/// A fleet and an exporter with the admin API.
pub struct Harness {
    pub fleet: Fleet,
    pub exporter: Exporter,
    pub admin: SocketAddr,
    /// Unique per test: the audit lines of this test carry it.
    pub token_name: String,
    pub dir: tempfile::TempDir,
    /// The bearer token of this exporter (`Setup::admin_token`).
    pub token: String,
    /// What the exporter was started with, for [`Harness::restart`].
    pub settings: Settings,
    /// The configuration file's text (`dir/exporter.toml`), which a reload
    /// (`POST /-/reload`) reads again.
    pub config_text: String,
}

/// What to build.
pub struct Setup {
    pub miners: usize,
    pub faults: Vec<(usize, Fault)>,
    /// TOML lines added to `[webhook]`.
    pub webhook: String,
    /// TOML lines added to `[admin]`.
    pub admin: String,
    /// The `[scrape]` lines (short timeouts by default).
    pub scrape: String,
    /// Miners configured without a password.
    pub no_password: Vec<usize>,
    /// Miners that speak API v3 and are configured `protocol = "v3"` at
    /// their v3 address.
    pub v3: Vec<usize>,
    /// Miners configured `protocol = "auto"`.
    pub auto: Vec<usize>,
    /// The miners' admin password (fleet and password file).
    pub password: String,
    /// The admin API's bearer token (written to the token file).
    pub admin_token: String,
    /// Overrides the admin API's request-body timeout (10 s).
    pub body_timeout: Option<Duration>,
}

impl Setup {
    pub fn new(miners: usize) -> Self {
        Setup {
            miners,
            faults: Vec::new(),
            webhook: String::new(),
            admin: String::new(),
            scrape: "connect_timeout = \"1s\"\ncommand_timeout = \"2s\"".into(),
            no_password: Vec::new(),
            v3: Vec::new(),
            auto: Vec::new(),
            password: "admin".into(),
            admin_token: TOKEN.into(),
            body_timeout: None,
        }
    }
}

pub fn miner_name(index: usize) -> String {
    format!("sim-{index}")
}

impl Harness {
    pub async fn start(test: &str, setup: Setup) -> Harness {
        install_capture();
        let mut cfg = FleetConfig::loopback_ephemeral(setup.miners);
        cfg.faults = setup.faults.clone();
        cfg.v3_miners = setup.v3.clone();
        cfg.v3_port = 0;
        cfg.password = whatsminer_exporter::secret::Secret::new(setup.password.clone());
        let fleet = Fleet::start(cfg).await.expect("fleet");
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{}\n", setup.admin_token)).expect("token file");
        let pw_file = dir.path().join("password");
        std::fs::write(&pw_file, format!("{}\n", setup.password)).expect("password file");
        let token_name = format!("{test}-{}", std::process::id());
        let mut toml = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\
             [scrape]\n{}\n\
             [admin]\nenabled = true\nlisten = \"127.0.0.1:0\"\ntoken_file = {:?}\ntoken_name = {:?}\n{}\n\
             [webhook]\n{}\n",
            setup.scrape,
            token_file.display().to_string(),
            token_name,
            setup.admin,
            setup.webhook
        );
        for (i, mut addr) in fleet.addrs().into_iter().enumerate() {
            if setup.v3.contains(&i) {
                addr = fleet
                    .miner(i)
                    .and_then(|m| m.v3_addr())
                    .expect("v3 listener");
            }
            toml.push_str(&format!(
                "[[miners]]\naddress = \"{addr}\"\nname = \"{}\"\n",
                miner_name(i)
            ));
            if !setup.no_password.contains(&i) {
                toml.push_str(&format!(
                    "password_file = {:?}\n",
                    pw_file.display().to_string()
                ));
            }
            if setup.v3.contains(&i) {
                toml.push_str("protocol = \"v3\"\n");
            }
            if setup.auto.contains(&i) {
                toml.push_str("protocol = \"auto\"\n");
            }
        }
        let config_path = dir.path().join("exporter.toml");
        std::fs::write(&config_path, &toml).expect("config file");
        let body_timeout = setup.body_timeout;
        let load = move || {
            let config =
                whatsminer_exporter::config::load(&config_path).map_err(|e| e.to_string())?;
            let mut settings = config.settings();
            if let Some(admin) = settings.admin.as_mut() {
                admin.retry_backoff = Duration::from_millis(20);
                if let Some(timeout) = body_timeout {
                    admin.body_timeout = timeout;
                }
            }
            Ok(settings)
        };
        let settings = load().unwrap_or_else(|e: String| panic!("config: {e}\n{toml}"));
        let mut exporter = Exporter::start(settings.clone()).await.expect("exporter");
        exporter.reload_from(load, None);
        let admin = exporter.admin_addr().expect("admin API on");
        Harness {
            fleet,
            exporter,
            admin,
            token_name,
            dir,
            token: setup.admin_token,
            settings,
            config_text: toml,
        }
    }

    /// Writes `text` as the configuration file and reloads it through
    /// `POST /-/reload`, as an operator would.
    pub async fn reload_with(&self, text: &str) -> Reply {
        std::fs::write(self.dir.path().join("exporter.toml"), text).expect("config file");
        request(self.exporter.metrics_addr(), "POST", "/-/reload", &[], b"").await
    }

    /// Stops the exporter and starts a new one with the same settings (and
    /// files) against the same fleet, as a process restart would.
    pub async fn restart(self) -> Harness {
        let Harness { exporter, .. } = self;
        exporter.shutdown().await;
        let exporter = Exporter::start(self.settings.clone())
            .await
            .expect("exporter after restart");
        let admin = exporter.admin_addr().expect("admin API on");
        Harness {
            exporter,
            admin,
            ..self
        }
    }

    pub fn miner(&self, index: usize) -> MinerHandle {
        self.fleet.miner(index).expect("miner index")
    }

    /// An authenticated POST to the admin API.
    pub async fn post(&self, path: &str, body: &str) -> Reply {
        let auth = format!("Bearer {}", self.token);
        request(
            self.admin,
            "POST",
            path,
            &[("Authorization", &auth)],
            body.as_bytes(),
        )
        .await
    }

    pub async fn command(&self, miner: &str, command: &str, body: &str) -> Reply {
        self.post(&format!("/admin/miners/{miner}/commands/{command}"), body)
            .await
    }

    pub async fn metrics(&self) -> String {
        request(self.exporter.metrics_addr(), "GET", "/metrics", &[], b"")
            .await
            .body
    }

    /// This test's audit lines, as JSON objects.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        captured_lines()
            .into_iter()
            .filter(|l| l["token_name"] == self.token_name.as_str())
            .collect()
    }

    pub fn webhook_actions(&self, action: &str, result: &str) -> u64 {
        self.exporter
            .state
            .telemetry
            .webhook_actions
            .with_label_values(&[action, result])
            .get()
    }

    pub fn admin_commands(&self, command: &str, result: &str) -> u64 {
        self.exporter
            .state
            .telemetry
            .admin_commands
            .with_label_values(&[command, result])
            .get()
    }

    /// Sum of every miner's received commands.
    pub fn fleet_commands(&self) -> u64 {
        self.fleet
            .miners()
            .iter()
            .map(|m| m.command_counts().values().sum::<u64>())
            .sum()
    }
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub async fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of the first sample of `name` whose labels contain `labels`.
pub fn sample(metrics: &str, name: &str, labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (labelset, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labelset
            .contains(labels)
            .then(|| value.trim().parse().ok())?
    })
}

// ---- audit capture: one global JSON subscriber for the test binary ----

static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// A log writer into a shared buffer.
#[derive(Clone, Default)]
pub struct CaptureWriter(pub Arc<Mutex<Vec<u8>>>);

impl CaptureWriter {
    /// What was written, as text.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_capture() {
    CAPTURED.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter("audit=info,whatsminer_exporter=debug")
            .with_writer(move || CaptureWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    });
}

static PLAIN: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// Replaces the audit capture, for this test binary, by one that records
/// every event of every target down to TRACE, both as JSON (read with
/// [`captured_lines`] and [`captured_text`]) and as plain text
/// ([`captured_plain_text`]). Call it before the first [`Harness::start`];
/// returns whether this capture is the one installed.
pub fn install_trace_capture() -> bool {
    CAPTURED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let json = Arc::new(Mutex::new(Vec::new()));
        let plain = Arc::new(Mutex::new(Vec::new()));
        let (json_writer, plain_writer) = (json.clone(), plain.clone());
        let installed = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_span_list(true)
                    .with_writer(move || CaptureWriter(json_writer.clone())),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || CaptureWriter(plain_writer.clone())),
            )
            .try_init()
            .is_ok();
        if installed {
            let _ = PLAIN.set(plain);
        }
        json
    });
    PLAIN.get().is_some()
}

/// Everything the plain-text layer of [`install_trace_capture`] wrote.
pub fn captured_plain_text() -> String {
    text_of(&PLAIN)
}

/// Every captured log line, as JSON (audit and otherwise).
pub fn captured_lines() -> Vec<serde_json::Value> {
    text_of(&CAPTURED)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// All captured text, for "never logged" checks.
pub fn captured_text() -> String {
    text_of(&CAPTURED)
}

/// What a capture buffer holds, as text (empty when nothing is installed).
fn text_of(buffer: &OnceLock<Arc<Mutex<Vec<u8>>>>) -> String {
    buffer
        .get()
        .and_then(|b| {
            b.lock()
                .ok()
                .map(|b| String::from_utf8_lossy(&b).to_string())
        })
        .unwrap_or_default()
}
