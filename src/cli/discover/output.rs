//! The `discover` output formats, each one our own config loader reads
//! back (checked in `tests/discovery.rs`):
//! - `file_sd`: Prometheus file_sd JSON, one group per miner, with labels
//!   `miner` (its name), `model`, `firmware`, `protocol`, `mac`, `hostname`
//!   (those it told); usable by Prometheus and as `[[miner_files]]`;
//! - `plain`: one `address:port` per line (a `[[miner_files]]` plain list);
//! - `toml`: `[[miners]]` tables for the configuration file.
//!
//! A miner is named by its MAC address (lower case) when it told one, so its
//! series keep their `miner` label when DHCP gives it another address.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::client::scan::ScanReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[value(name = "file_sd")]
    FileSd,
    Plain,
    Toml,
}

pub fn render(report: &ScanReport, format: Format) -> String {
    match format {
        Format::FileSd => file_sd(report),
        Format::Plain => report
            .found
            .iter()
            .map(|f| format!("{}\n", f.target))
            .collect(),
        Format::Toml => toml(report),
    }
}

fn file_sd(report: &ScanReport) -> String {
    let groups: Vec<Value> = report
        .found
        .iter()
        .map(|f| {
            let mut labels = Map::new();
            let id = &f.identity;
            let pairs = [
                ("miner", f.name()),
                ("model", id.model.clone()),
                ("firmware", id.firmware.clone()),
                ("protocol", Some(f.api.as_str().to_string())),
                ("mac", id.mac.clone()),
                ("hostname", id.hostname.clone()),
            ];
            for (key, value) in pairs {
                if let Some(value) = value {
                    labels.insert(key.into(), Value::from(value));
                }
            }
            json!({ "targets": [f.target.to_string()], "labels": labels })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&groups).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

fn toml(report: &ScanReport) -> String {
    let mut out = format!(
        "# Found by `whatsminer-exporter discover {}`: {} Whatsminer(s).\n",
        report.ranges.join(" "),
        report.found.len()
    );
    for f in &report.found {
        let id = &f.identity;
        let _ = writeln!(out, "\n[[miners]]");
        let _ = writeln!(out, "address = {}", quote(&f.target.to_string()));
        if let Some(name) = f.name() {
            let _ = writeln!(out, "name = {}", quote(&name));
        }
        let _ = writeln!(out, "protocol = {}", quote(f.api.as_str()));
        let about: Vec<String> = [
            ("model", &id.model),
            ("firmware", &id.firmware),
            ("hostname", &id.hostname),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {}", one_line(v))))
        .collect();
        if !about.is_empty() {
            let _ = writeln!(out, "# {}", about.join(", "));
        }
    }
    out
}

/// A TOML basic string (JSON's escapes are valid TOML escapes).
fn quote(text: &str) -> String {
    Value::from(text).to_string()
}

/// Text a miner sent, safe inside a comment line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(64)
        .collect()
}
