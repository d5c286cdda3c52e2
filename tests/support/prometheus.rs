//! The real Prometheus server as a child process: loopback listener on a
//! free port, storage in a temporary directory, killed on drop. Plus the
//! instant-query call of its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use serde_yaml::Value as Yaml;

use super::{free_port, http_get};

/// How long Prometheus may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts with a new port when the chosen one was taken in between.
const START_ATTEMPTS: usize = 3;

/// A running Prometheus. Dropping it kills the process.
pub struct PrometheusProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    log: PathBuf,
    // Removed after the process is gone (field order: dropped last).
    _dir: tempfile::TempDir,
}

impl PrometheusProcess {
    /// Writes `config` (prometheus.yml) to a temporary directory and starts
    /// `binary` with it, plus `extra_args`; waits until `/-/ready`.
    pub async fn start(binary: &Path, config: &str, extra_args: &[&str]) -> Result<Self, String> {
        let mut failures = Vec::new();
        for _attempt in 0..START_ATTEMPTS {
            // A fresh directory per attempt: a failed start may leave a lock.
            let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
            let config_path = dir.path().join("prometheus.yml");
            std::fs::write(&config_path, config).map_err(|e| format!("write config: {e}"))?;
            let port = free_port();
            let log = dir.path().join("prometheus.log");
            let child = spawn(binary, dir.path(), &config_path, port, &log, extra_args)?;
            let mut process = PrometheusProcess {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log,
                _dir: dir,
            };
            match process.wait_ready().await {
                Ok(()) => return Ok(process),
                Err(e) => failures.push(e),
            }
        }
        Err(format!(
            "Prometheus did not start:\n{}",
            failures.join("\n---\n")
        ))
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let ready = format!("{}/-/ready", self.url);
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", self.log_text()));
            }
            if let Ok((200, _)) = http_get(&ready).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = self.child.kill();
        Err(format!(
            "not ready after {READY_TIMEOUT:?}:\n{}",
            self.log_text()
        ))
    }

    /// What Prometheus logged so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Runs an instant query; Ok(result list) or Err(error text). A scalar
    /// or string result counts as one element.
    pub async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let encoded: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        let url = format!("{}/api/v1/query?query={encoded}", self.url);
        let (status, body) = http_get(&url).await.map_err(|e| format!("HTTP: {e}"))?;
        let reply: Value = serde_json::from_str(&body)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {body:.200}"))?;
        if reply["status"] != "success" {
            return Err(format!(
                "{}: {}",
                reply["errorType"].as_str().unwrap_or("error"),
                reply["error"].as_str().unwrap_or("?")
            ));
        }
        match &reply["data"]["result"] {
            Value::Array(items) => Ok(items.clone()),
            Value::Null => Err("no result in the answer".into()),
            other => Ok(vec![other.clone()]),
        }
    }

    /// Values of the `miner` label in the result of `expr`.
    pub async fn miners_in(&self, expr: &str) -> Result<Vec<String>, String> {
        let mut miners: Vec<String> = self
            .query(expr)
            .await?
            .iter()
            .filter_map(|s| s["metric"]["miner"].as_str().map(str::to_string))
            .collect();
        miners.sort();
        miners.dedup();
        Ok(miners)
    }
}

fn spawn(
    binary: &Path,
    dir: &Path,
    config: &Path,
    port: u16,
    log: &Path,
    extra_args: &[&str],
) -> Result<Child, String> {
    let log_file = std::fs::File::create(log).map_err(|e| format!("log file: {e}"))?;
    let log_err = log_file.try_clone().map_err(|e| format!("log file: {e}"))?;
    let mut command = Command::new(binary);
    command
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .args(extra_args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test Prometheus scrapes.
pub struct ScrapeSetup<'a> {
    /// The exporter, for the `whatsminer` job (/metrics) and as the proxy
    /// address of the `whatsminer-probe` job.
    pub exporter: SocketAddr,
    /// Miner addresses for the `whatsminer-probe` job.
    pub probe_targets: &'a [SocketAddr],
    /// An address that accepts connections and never answers: job
    /// `whatsminer-stalled`, an exporter Prometheus cannot scrape.
    pub stalled_exporter: Option<SocketAddr>,
    /// Load deploy/prometheus/rules/*.rules.yml.
    pub rules: bool,
}

/// deploy/prometheus/prometheus.yml adapted to the test: 1 s intervals,
/// loopback addresses, static targets instead of file_sd (with the labels
/// of the deployed targets file), no Alertmanager. The probe relabelling is
/// the deployed one, with the exporter address swapped in.
pub fn config_from_deploy(setup: &ScrapeSetup<'_>) -> Result<String, String> {
    let deploy = super::repo().join("deploy/prometheus");
    let read = |name: &str| -> Result<Yaml, String> {
        let text =
            std::fs::read_to_string(deploy.join(name)).map_err(|e| format!("{name}: {e}"))?;
        serde_yaml::from_str(&text).map_err(|e| format!("{name}: {e}"))
    };
    let mut doc = read("prometheus.yml")?;
    let probe_labels = read("targets/whatsminer-probe.yml")?
        .get(0)
        .and_then(|group| group.get("labels"))
        .cloned()
        .unwrap_or(Yaml::Mapping(Default::default()));
    let exporter = setup.exporter.to_string();
    let top = doc
        .as_mapping_mut()
        .ok_or("prometheus.yml is not a mapping")?;
    top.insert(
        "global".into(),
        serde_yaml::from_str("{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}")
            .map_err(|e| e.to_string())?,
    );
    top.remove("alerting");
    let rules = deploy.join("rules/*.rules.yml").display().to_string();
    let rule_files = if setup.rules {
        vec![Yaml::from(rules)]
    } else {
        Vec::new()
    };
    top.insert("rule_files".into(), Yaml::Sequence(rule_files));
    let jobs = top
        .get_mut("scrape_configs")
        .and_then(Yaml::as_sequence_mut)
        .ok_or("no scrape_configs")?;
    jobs.retain(|job| {
        matches!(
            job["job_name"].as_str(),
            Some("whatsminer" | "whatsminer-probe")
        )
    });
    let mut swapped = 0;
    for job in jobs.iter_mut() {
        let job = job.as_mapping_mut().ok_or("job is not a mapping")?;
        job.remove("scrape_interval");
        job.remove("scrape_timeout");
        job.remove("file_sd_configs");
        let (targets, labels) = if job.get("job_name").and_then(Yaml::as_str) == Some("whatsminer")
        {
            (vec![exporter.clone()], Yaml::Mapping(Default::default()))
        } else {
            let addrs = setup
                .probe_targets
                .iter()
                .map(ToString::to_string)
                .collect();
            (addrs, probe_labels.clone())
        };
        let mut group = serde_yaml::Mapping::new();
        group.insert("targets".into(), targets.into());
        group.insert("labels".into(), labels);
        job.insert(
            "static_configs".into(),
            Yaml::Sequence(vec![Yaml::Mapping(group)]),
        );
        for rule in job
            .get_mut("relabel_configs")
            .and_then(Yaml::as_sequence_mut)
            .into_iter()
            .flatten()
        {
            if rule.get("replacement").and_then(Yaml::as_str) == Some("exporter:9710") {
                rule["replacement"] = exporter.clone().into();
                swapped += 1;
            }
        }
    }
    if jobs.len() != 2 || swapped != 1 {
        return Err(format!(
            "deploy/prometheus/prometheus.yml changed shape: {} whatsminer jobs, {swapped} exporter replacements",
            jobs.len()
        ));
    }
    if let Some(stalled) = setup.stalled_exporter {
        let job = format!(
            "{{job_name: whatsminer-stalled, static_configs: [{{targets: ['{stalled}']}}]}}"
        );
        jobs.push(serde_yaml::from_str(&job).map_err(|e| e.to_string())?);
    }
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}
