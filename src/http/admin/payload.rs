//! Alertmanager's webhook payload (version 4), parsed strictly enough to
//! refuse garbage with a 400 and loosely enough to accept fields that later
//! Alertmanager versions add. See
//! <https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The only payload version this receiver understands.
pub const PAYLOAD_VERSION: &str = "4";

/// One webhook notification: a group of alerts.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub version: String,
    #[serde(rename = "groupKey", default)]
    pub group_key: String,
    #[serde(rename = "truncatedAlerts", default)]
    pub truncated_alerts: u64,
    pub status: AlertStatus,
    #[serde(default)]
    pub receiver: String,
    pub alerts: Vec<Alert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Alert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", default)]
    pub starts_at: String,
    #[serde(rename = "endsAt", default)]
    pub ends_at: String,
    #[serde(default)]
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// Why a payload was refused (the 400 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("payload is not a valid Alertmanager notification: {0}")]
    Invalid(String),
    #[error("unsupported payload version {0:?} (expected \"4\")")]
    Version(String),
}

impl Notification {
    /// Parses and checks a request body.
    pub fn parse(body: &[u8]) -> Result<Notification, PayloadError> {
        let n: Notification = serde_json::from_slice(body).map_err(|e| {
            // serde's message names the field and position, never a secret.
            PayloadError::Invalid(crate::error::truncate_for_log(&e.to_string(), 160))
        })?;
        if n.version != PAYLOAD_VERSION {
            return Err(PayloadError::Version(crate::error::truncate_for_log(
                &n.version, 16,
            )));
        }
        Ok(n)
    }
}

impl Alert {
    /// The key that identifies one episode of this alert in one state:
    /// Alertmanager's fingerprint (or, lacking one, the sorted labels),
    /// the start time (a new episode of the same alert starts later) and
    /// the status (the resolution is a separate event).
    pub fn dedupe_key(&self) -> String {
        let identity = if self.fingerprint.is_empty() {
            serde_json::to_string(&self.labels).unwrap_or_default()
        } else {
            self.fingerprint.clone()
        };
        format!("{identity}|{}|{}", self.starts_at, self.status.as_str())
    }

    /// A short id for logs and the response.
    pub fn short_id(&self) -> String {
        if self.fingerprint.is_empty() {
            self.labels
                .get("alertname")
                .map(|n| crate::error::truncate_for_log(n, 64))
                .unwrap_or_else(|| "unnamed".into())
        } else {
            crate::error::truncate_for_log(&self.fingerprint, 32)
        }
    }

    /// The first of `names` present as a label: (label, value).
    pub fn first_label<'a>(&'a self, names: &'a [String]) -> Option<(&'a str, &'a str)> {
        names.iter().find_map(|name| {
            self.labels
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| (name.as_str(), v.as_str()))
        })
    }

    /// The label, else the annotation, called `name`.
    pub fn label_or_annotation(&self, name: &str) -> Option<&str> {
        self.labels
            .get(name)
            .or_else(|| self.annotations.get(name))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"Hot\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "power-off",
      "groupLabels": {"alertname": "Hot"}, "commonLabels": {}, "commonAnnotations": {},
      "externalURL": "http://am:9093",
      "alerts": [{
        "status": "firing", "labels": {"alertname": "Hot", "miner": "m1", "action": "power_off"},
        "annotations": {"summary": "hot"}, "startsAt": "2024-01-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph",
        "fingerprint": "abc123"
      }]
    }"#;

    #[test]
    fn parses_the_documented_shape() {
        let n = Notification::parse(EXAMPLE.as_bytes()).expect("valid");
        assert_eq!(n.status, AlertStatus::Firing);
        assert_eq!(n.receiver, "power-off");
        let a = &n.alerts[0];
        assert_eq!(
            a.first_label(&["miner".into(), "instance".into()]),
            Some(("miner", "m1"))
        );
        assert_eq!(a.label_or_annotation("action"), Some("power_off"));
        assert_eq!(a.label_or_annotation("summary"), Some("hot"));
        assert_eq!(a.dedupe_key(), "abc123|2024-01-01T00:00:00Z|firing");
    }

    #[test]
    fn refuses_malformed_payloads() {
        let cases = [
            "",
            "null",
            "[]",
            "{}",
            "{\"version\":\"4\"}",
            "{\"version\":\"3\",\"status\":\"firing\",\"alerts\":[]}",
            "{\"version\":4,\"status\":\"firing\",\"alerts\":[]}",
            "{\"version\":\"4\",\"status\":\"burning\",\"alerts\":[]}",
            "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":{}}",
            "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":1}}]}",
            "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"labels\":{}}]}",
            "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[",
        ];
        for case in cases {
            assert!(
                Notification::parse(case.as_bytes()).is_err(),
                "accepted {case:?}"
            );
        }
        let empty = "{\"version\":\"4\",\"status\":\"resolved\",\"alerts\":[]}";
        assert!(Notification::parse(empty.as_bytes()).is_ok());
    }

    #[test]
    fn keys_differ_by_episode_and_status() {
        let n = Notification::parse(EXAMPLE.as_bytes()).expect("valid");
        let mut a = n.alerts[0].clone();
        let first = a.dedupe_key();
        a.status = AlertStatus::Resolved;
        assert_ne!(a.dedupe_key(), first);
        a.status = AlertStatus::Firing;
        a.starts_at = "2024-01-02T00:00:00Z".into();
        assert_ne!(a.dedupe_key(), first);
        a.fingerprint.clear();
        assert!(a.dedupe_key().contains("\"miner\":\"m1\""));
    }
}
