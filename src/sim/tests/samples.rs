//! Sample replies written by the simulator, kept under `src/sim/samples/`
//! as fixtures for the client's tests and as a record of the shapes. The
//! test regenerates them on a manual clock (so they are reproducible) and
//! fails when they differ; run with `UPDATE_SIM_SAMPLES=1` to rewrite them
//! after an intended change.

use std::net::IpAddr;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::shapes::{DEVS_FIELDS, POOLS_FIELDS, SUMMARY_FIELDS};
use crate::sim::testkit::miner;
use crate::sim::testkit::{open_reply, seal};
use crate::sim::{Fault, Flavour, MinerState, Model};

const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

const READS: &[(&str, &str)] = &[
    ("summary", r#"{"cmd":"summary"}"#),
    ("devs", r#"{"cmd":"devs"}"#),
    ("edevs", r#"{"cmd":"edevs"}"#),
    ("pools", r#"{"cmd":"pools"}"#),
    ("devdetails", r#"{"cmd":"devdetails"}"#),
    ("get_version", r#"{"cmd":"get_version"}"#),
    ("get_psu", r#"{"cmd":"get_psu"}"#),
    ("status", r#"{"cmd":"status"}"#),
    (
        "get_miner_info",
        r#"{"cmd":"get_miner_info","info":"ip,proto,netmask,gateway,dns,hostname,mac,ledstat"}"#,
    ),
    ("get_error_code", r#"{"cmd":"get_error_code"}"#),
    ("get_token", r#"{"cmd":"get_token"}"#),
    ("error_invalid_cmd", r#"{"cmd":"bogus"}"#),
];

fn ask(m: &mut MinerState, request: &str) -> Value {
    serde_json::from_str(&m.handle_request(request.as_bytes(), PEER)).expect("JSON")
}

/// Every sample of one flavour, by file name.
fn generate(model: Model, flavour: Flavour) -> Vec<(String, Value)> {
    let mut m = miner(model, flavour);
    // One entry in the error-code list, so its shape shows.
    let now = m.now();
    m.push_error_code(110, now - 3600.0);
    let mut out: Vec<(String, Value)> = READS
        .iter()
        .map(|(name, request)| (format!("{name}.json"), ask(&mut m, request)))
        .collect();

    // A whole write exchange: grant, envelopes both ways, decrypted reply.
    let grant = ask(&mut m, r#"{"cmd":"get_token"}"#);
    let (envelope, key) = seal(
        "admin",
        &grant,
        json!({"cmd":"power_off","respbefore":"true"}),
    );
    let reply = m.handle_request(envelope.as_bytes(), PEER);
    let exchange = json!({
        "password": "admin",
        "get_token_reply": grant,
        "request_envelope": envelope,
        "reply_envelope": reply,
        "reply_plaintext": open_reply(&key, &reply),
    });
    out.push(("write_power_off.json".into(), exchange));
    out.push((
        "status_powered_off.json".into(),
        ask(&mut m, r#"{"cmd":"status"}"#),
    ));
    out.push((
        "summary_powered_off.json".into(),
        ask(&mut m, r#"{"cmd":"summary"}"#),
    ));

    m.set_fault(Some(Fault::NumbersAsStrings));
    out.push((
        "summary_numbers_as_strings.json".into(),
        ask(&mut m, r#"{"cmd":"summary"}"#),
    ));
    out
}

fn sample_dir(flavour: Flavour) -> PathBuf {
    let sub = match flavour {
        Flavour::Classic => "classic",
        Flavour::Wrapped => "wrapped",
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/sim/samples")
        .join(sub)
}

#[test]
fn samples_match_what_the_simulator_writes() {
    let update = std::env::var_os("UPDATE_SIM_SAMPLES").is_some();
    for (model, flavour) in [
        (Model::M30SPlusPlus, Flavour::Classic),
        (Model::M60S, Flavour::Wrapped),
    ] {
        let dir = sample_dir(flavour);
        for (name, value) in generate(model, flavour) {
            let text = serde_json::to_string_pretty(&value).expect("serialises") + "\n";
            let path = dir.join(&name);
            if update {
                std::fs::create_dir_all(&dir).expect("sample dir");
                std::fs::write(&path, &text).expect("sample written");
                continue;
            }
            let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (run with UPDATE_SIM_SAMPLES=1)", path.display())
            });
            assert_eq!(
                stored,
                text,
                "{} is out of date (UPDATE_SIM_SAMPLES=1)",
                path.display()
            );
        }
    }
}

fn load(flavour: Flavour, name: &str) -> Value {
    let path = sample_dir(flavour).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("sample is JSON")
}

#[test]
fn stored_samples_have_the_shapes_of_the_notes() {
    let classic = load(Flavour::Classic, "summary.json");
    assert!(classic["STATUS"].is_array() && classic["SUMMARY"].is_array());
    for field in SUMMARY_FIELDS {
        assert!(
            classic["SUMMARY"][0].get(field).is_some(),
            "classic summary lacks {field}"
        );
    }
    let wrapped = load(Flavour::Wrapped, "summary.json");
    assert_eq!(
        (wrapped["STATUS"].as_str(), wrapped["Code"].as_i64()),
        (Some("S"), Some(131))
    );
    assert!(wrapped["Msg"].is_object() && wrapped.get("SUMMARY").is_none());
    for flavour in [Flavour::Classic, Flavour::Wrapped] {
        let devs = load(flavour, "devs.json");
        let pools = load(flavour, "pools.json");
        let board = &devs["DEVS"][0];
        for field in DEVS_FIELDS {
            let optional = flavour == Flavour::Wrapped
                && matches!(
                    *field,
                    "ASC" | "Chip Temp Min" | "Chip Temp Max" | "Chip Temp Avg"
                );
            assert!(optional || board.get(field).is_some(), "devs lacks {field}");
        }
        for field in POOLS_FIELDS {
            assert!(
                pools["POOLS"][0].get(field).is_some(),
                "pools lacks {field}"
            );
        }
        let status = load(flavour, "status.json");
        assert_eq!(status["Msg"]["btmineroff"], "false");
        assert_eq!(
            load(flavour, "status_powered_off.json")["Msg"]["btmineroff"],
            "true"
        );
        let write = load(flavour, "write_power_off.json");
        assert_eq!(write["reply_plaintext"]["Code"], 131);
        assert!(write["reply_envelope"]
            .as_str()
            .is_some_and(|e| e.starts_with(r#"{"enc":""#)));
        let error = load(flavour, "error_invalid_cmd.json");
        assert_eq!(
            (error["STATUS"].as_str(), error["Code"].as_i64()),
            (Some("E"), Some(14))
        );
    }
}
