//! A configured miner as the collector sees it: its address, the name used
//! as the `miner` label, extra labels, and which API to speak. The label
//! string is escaped once here, not on every render.

use crate::client::ApiChoice;
use crate::collector::groups::MetricGroups;
use crate::collector::render::writer::base_labels;
use crate::transport::MinerAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerTarget {
    pub addr: MinerAddr,
    /// The `miner` label value: the configured name, else `host:port`.
    pub name: String,
    /// Extra labels added to every series of this miner.
    pub labels: Vec<(String, String)>,
    /// The API asked for (`protocol` in the configuration).
    pub protocol: ApiChoice,
    /// The metric groups written for this miner (`[metrics]`).
    pub groups: MetricGroups,
    /// `miner="..",k="v"` escaped, ready to paste into a sample line.
    pub(crate) label_string: String,
}

impl MinerTarget {
    pub fn new(
        addr: MinerAddr,
        name: Option<String>,
        labels: Vec<(String, String)>,
        protocol: ApiChoice,
    ) -> Self {
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| addr.to_string());
        let mut pairs: Vec<(&str, &str)> = vec![("miner", name.as_str())];
        pairs.extend(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let label_string = base_labels(&pairs);
        MinerTarget {
            addr,
            name,
            labels,
            protocol,
            groups: MetricGroups::default(),
            label_string,
        }
    }

    /// The same target with its own metric groups.
    pub fn with_groups(mut self, groups: MetricGroups) -> Self {
        self.groups = groups;
        self
    }

    /// A target for one address with no name or labels (the `/probe` path).
    pub fn from_addr(addr: MinerAddr) -> Self {
        Self::new(addr, None, Vec::new(), ApiChoice::V2)
    }

    pub fn label_string(&self) -> &str {
        &self.label_string
    }
}

/// Label names the exporter uses itself; a configured extra label may not
/// take one of them.
pub const RESERVED_LABELS: &[&str] = &[
    "miner",
    "board",
    "pool",
    "url",
    "user",
    "window",
    "stat",
    "fan",
    "reason",
    "command",
    "code",
    "model",
    "firmware",
    "api_version",
    "mac",
    "hostname",
    "protocol",
    "request_key",
    "job",
    "instance",
    "serial",
];

/// Whether `name` is a valid Prometheus label name we may use.
pub fn is_valid_extra_label(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && !RESERVED_LABELS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_string_escapes_and_defaults_the_name() {
        let t = MinerTarget::new(
            "127.0.0.1:4028".parse().unwrap(),
            None,
            vec![("rack".into(), "r\"1".into())],
            ApiChoice::V2,
        );
        assert_eq!(t.name, "127.0.0.1:4028");
        assert_eq!(t.label_string(), "miner=\"127.0.0.1:4028\",rack=\"r\\\"1\"");
    }

    #[test]
    fn extra_label_names_are_checked() {
        assert!(is_valid_extra_label("rack"));
        assert!(is_valid_extra_label("_row2"));
        for bad in ["", "2rack", "miner", "__meta", "a-b", "pool"] {
            assert!(!is_valid_extra_label(bad), "{bad}");
        }
    }
}
