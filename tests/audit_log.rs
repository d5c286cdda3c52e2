//! The audit line as operators read it, through the exporter's own log
//! setup (`cli::logging`): in JSON, the flat shape docs/admin.md shows,
//! field for field; in text, a miner name from the request path that holds
//! a newline (`%0A`) and an escape byte stays one line, escaped.

mod support;

use support::admin::{CaptureWriter, Harness, Setup};

/// A miner name with a forged second audit line and a colour escape.
const FORGED: &str =
    "rack1%0A2026-01-01T00:00:00Z%20INFO%20audit:%20admin%20action%20result=ok%1B[31m";

/// Runs one admin request for the forged miner name with the exporter's
/// log setup in `json` or text form, and returns what was logged.
async fn audit_output(test: &str, json: bool) -> String {
    let buffer = CaptureWriter::default();
    let writer = buffer.clone();
    let subscriber =
        whatsminer_exporter::cli::logging::subscriber("audit=info", json, false, move || {
            writer.clone()
        });
    // This test runs on one thread (tokio's current-thread runtime), the
    // exporter's tasks included: a thread default sees all their events.
    let _default = tracing::subscriber::set_default(subscriber);
    let h = Harness::start(test, Setup::new(1)).await;
    let r = h
        .post(
            &format!("/admin/miners/{FORGED}/commands/set_led?dry_run=true"),
            r#"{"color":"red"}"#,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(h.fleet_commands(), 0);
    buffer.text()
}

/// The keys of the audit line example in docs/admin.md.
fn documented_keys() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/admin.md"))
        .expect("docs/admin.md");
    let section = doc.split("## Audit log").nth(1).expect("audit section");
    let example = section
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("JSON example");
    let value: serde_json::Value = serde_json::from_str(example).expect("the example is JSON");
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn json_audit_line_has_the_documented_flat_shape() {
    let out = audit_output("audit-json", true).await;
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("admin action")).collect();
    assert_eq!(lines.len(), 1, "{out}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
    let mut keys: Vec<String> = line.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, documented_keys(), "{}", lines[0]);
    assert_eq!(line["target"], "audit");
    assert_eq!(line["result"], "refused");
    assert_eq!(line["reason"], "unknown_miner");
    // The name arrives whole, as the caller sent it (decoded).
    let miner = line["miner"].as_str().expect("miner");
    assert!(
        miner.starts_with("rack1\n2026") && miner.ends_with("\u{1b}[31m"),
        "{miner}"
    );
}

#[tokio::test]
async fn text_audit_line_is_one_escaped_line() {
    let out = audit_output("audit-text", false).await;
    assert!(!out.contains('\u{1b}'), "raw escape byte: {out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "a forged line: {out:?}");
    let line = lines[0];
    assert!(line.contains("admin action"), "{line}");
    assert!(line.contains("result=\"refused\""), "{line}");
    assert!(
        line.contains(
            r#"miner="rack1\n2026-01-01T00:00:00Z INFO audit: admin action result=ok\u{1b}[31m""#
        ),
        "{line}"
    );
}
