//! Fuzzes the Alertmanager webhook payload parser of the admin endpoint
//! (`http::admin::payload::Notification::parse`) and the per-alert helpers
//! the webhook uses (dedupe key, short id, label lookup).
//!
//! Oracle besides "no panic": a refusal message stays short (it becomes a
//! 400 body and a log line).
//!
//! Seeds: fuzz/seeds/alertmanager (real Alertmanager v4 payloads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use whatsminer_exporter::http::admin::payload::Notification;

fuzz_target!(|data: &[u8]| {
    match Notification::parse(data) {
        Ok(notification) => {
            let names = ["miner".to_string(), "instance".to_string()];
            for alert in &notification.alerts {
                let _ = alert.dedupe_key();
                let _ = alert.short_id();
                let _ = alert.first_label(&names);
                let _ = alert.label_or_annotation("action");
            }
        }
        Err(e) => assert!(e.to_string().chars().count() < 300, "long refusal"),
    }
});
