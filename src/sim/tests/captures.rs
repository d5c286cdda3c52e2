//! Each firmware persona against the real capture it is modelled on
//! (`tests/fixtures/v2`, sources in its README): the same STATUS entry
//! keys, the same summary, board and pool field names. Error-code keys
//! (`Error Code N`, `Error N Time`, `Factory Error Code N`) depend on the
//! miner's history and are left out on both sides; the rest must match
//! name for name, so a persona cannot drift into our own guesses.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::sim::miner::MinerState;
use crate::sim::model::{Flavour, Model};
use crate::sim::persona::Persona;
use crate::sim::testkit::miner;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/v2/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The M20S 20200917 capture carries its `\'` as sent.
    serde_json::from_str(&text.replace(r"\'", "'")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ask(m: &mut MinerState, command: &str) -> Value {
    let request = format!(r#"{{"command":"{command}"}}"#);
    let text = m.handle_request(request.as_bytes(), PEER);
    serde_json::from_str(&text.replace(r"\'", "'")).expect("JSON once \\' is undone")
}

fn keys(value: &Value) -> BTreeSet<String> {
    let history = |k: &str| k.starts_with("Error ") || k.starts_with("Factory Error Code ");
    value
        .as_object()
        .map(|o| o.keys().filter(|k| !history(k)).cloned().collect())
        .unwrap_or_default()
}

/// Summary body, first board, first pool, and the STATUS entry of each.
fn shapes(reply_summary: &Value, devs: &Value, pools: &Value) -> [BTreeSet<String>; 5] {
    let summary = if reply_summary["SUMMARY"].is_array() {
        &reply_summary["SUMMARY"][0]
    } else {
        &reply_summary["Msg"]
    };
    [
        keys(summary),
        keys(&devs["DEVS"][0]),
        keys(&pools["POOLS"][0]),
        keys(&devs["STATUS"][0]),
        keys(&pools["STATUS"][0]),
    ]
}

fn persona_miner(persona: Persona, model: Model) -> MinerState {
    let mut m = miner(model, Flavour::Classic);
    m.set_persona(Some(persona));
    m
}

fn compare(persona: Persona, model: Model, files: [&str; 3]) {
    let mut m = persona_miner(persona, model);
    let (s, d, p) = (
        ask(&mut m, "summary"),
        ask(&mut m, "edevs"),
        ask(&mut m, "pools"),
    );
    let ours = shapes(&s, &d, &p);
    let real = shapes(&fixture(files[0]), &fixture(files[1]), &fixture(files[2]));
    let what = ["summary", "board", "pool", "devs STATUS", "pools STATUS"];
    for ((name, ours), real) in what.iter().zip(&ours).zip(&real) {
        let extra: Vec<_> = ours.difference(real).collect();
        let missing: Vec<_> = real.difference(ours).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{persona} {name}: ours only {extra:?}, the capture only {missing:?}"
        );
    }
}

#[test]
fn cgminer_4_9_2_has_the_fields_of_the_m20s_and_m30s_captures() {
    compare(
        Persona::Cgminer492,
        Model::M20S,
        [
            "m20s_fw20200917_summary",
            "m20s_fw20200917_devs",
            "m30s_fw20200512_pools",
        ],
    );
    // The refusal of `cmd`, byte for byte but for the time.
    let mut m = persona_miner(Persona::Cgminer492, Model::M30S);
    let text = m.handle_request(br#"{"cmd":"pools+summary+edevs"}"#, PEER);
    let mut reply: Value = serde_json::from_str(&text).expect("JSON");
    let mut real = fixture("m30s_fw20200512_error_cmd_key");
    reply["STATUS"][0]["When"] = Value::Null;
    real["STATUS"][0]["When"] = Value::Null;
    assert_eq!(reply, real);
}

#[test]
fn btminer_2021_has_the_fields_of_the_m31s_captures() {
    compare(
        Persona::Btminer2021,
        Model::M30S,
        [
            "m31s_fw20201202_summary",
            "m31s_fw20201202_edevs",
            "m31s_fw20201202_pools",
        ],
    );
}

#[test]
fn btminer_2022_has_the_fields_of_the_m30sve20_captures() {
    compare(
        Persona::Btminer2022,
        Model::M30S,
        ["m30sve20_summary", "m30sve20_edevs", "m30sve20_pools"],
    );
}

#[test]
fn firmware_2025_has_the_fields_of_the_m7bs_captures() {
    compare(
        Persona::Firmware2025,
        Model::M60,
        [
            "m7bs_fw20260312_summary",
            "m7bs_fw20260312_edevs",
            "m7bs_fw20260312_pools",
        ],
    );
}
