//! Firmware personas over TCP: the request keys each one reads, its reply
//! shapes against the captures it is modelled on (`super::super::persona`),
//! joined reads, refusing them, and a firmware change across a reboot.

use serde_json::Value;

use super::{ask, parse, raw, write};
use crate::sim::fleet::{Fleet, FleetConfig};
use crate::sim::model::Model;
use crate::sim::persona::Persona;

async fn persona_fleet(personas: &[Persona], model: Model) -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(personas.len());
    cfg.models = vec![model];
    cfg.personas = personas.iter().copied().enumerate().collect();
    Fleet::start(cfg).await.expect("fleet starts")
}

fn status0(reply: &Value) -> &Value {
    &reply["STATUS"][0]
}

#[tokio::test]
async fn cgminer_reads_only_the_command_key_and_answers_in_the_list_form() {
    let fleet = persona_fleet(&[Persona::Cgminer492], Model::M30S).await;
    let addr = fleet.addrs()[0];
    // The M30S 20200512 capture: `cmd` gets Code 24 with STATUS as a list.
    let refused = ask(addr, r#"{"cmd":"summary"}"#).await;
    let s = status0(&refused);
    assert_eq!(
        (s["STATUS"].as_str(), s["Code"].as_i64()),
        (Some("E"), Some(24))
    );
    assert_eq!(s["Msg"], "Missing JSON 'command'");
    assert_eq!(s["Description"], "cgminer 4.9.2");
    assert_eq!(refused["id"], 1);
    let summary = ask(addr, r#"{"command":"summary"}"#).await;
    assert_eq!(status0(&summary)["Description"], "cgminer 4.9.2");
    let fields = &summary["SUMMARY"][0];
    for key in [
        "MHS av",
        "Power_RT",
        "Temperature",
        "Firmware Version",
        "MAC",
    ] {
        assert!(!fields[key].is_null(), "{key} missing: {fields}");
    }
    assert!(fields["HS RT"].is_null(), "no HS RT on 2020 firmware");
    assert_eq!(fields["Firmware Version"], "'20200512.13.REL'");
    let pools = ask(addr, r#"{"command":"pools"}"#).await;
    assert_eq!(pools["POOLS"][0]["POOL"], 0, "cgminer counts pools from 0");
    let devs = ask(addr, r#"{"command":"devs"}"#).await;
    assert!(devs["DEVS"][0]["Fan Speed In"].is_u64(), "per-board fans");
    // No Whatsminer-specific commands, hence no token and no writes.
    let token = ask(addr, r#"{"command":"get_token"}"#).await;
    assert_eq!(status0(&token)["Code"], 14);
    assert_eq!(status0(&token)["Msg"], "Invalid command");
    let envelope = ask(addr, r#"{"enc":1,"data":"AAAA"}"#).await;
    assert_eq!(status0(&envelope)["Code"], 24);
    let bad = ask(addr, "not json").await;
    assert_eq!(status0(&bad)["Code"], 23);
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_cgminer_m20s_build_escapes_its_version_quotes_as_captured() {
    let fleet = persona_fleet(&[Persona::Cgminer492], Model::M20S).await;
    let addr = fleet.addrs()[0];
    let reply = raw(addr, br#"{"command":"summary"}"#)
        .await
        .expect("a reply");
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains(r#""Firmware Version":"\'20200917.22.REL\'""#),
        "{text}"
    );
    assert!(
        parse(&reply).is_none(),
        "strict JSON rejects the \\' escape"
    );
    // The same text once the escape is undone is the reply.
    let repaired = text.replace(r"\'", "'");
    let value: Value = serde_json::from_str(&repaired).expect("JSON after the repair");
    assert_eq!(value["SUMMARY"][0]["Firmware Version"], "'20200917.22.REL'");
    // Only summary carries the version: devs and pools stay valid JSON.
    let devs = ask(addr, r#"{"command":"devs"}"#).await;
    assert_eq!(devs["DEVS"].as_array().map(Vec::len), Some(3));
    fleet.shutdown().await;
}

#[tokio::test]
async fn joined_reads_answer_in_the_cgminer_form_with_either_key() {
    let personas = [
        Persona::Cgminer492,
        Persona::Btminer2021,
        Persona::Btminer2022,
        Persona::Firmware2025,
    ];
    let fleet = persona_fleet(&personas, Model::M30S).await;
    // 2025 firmware refuses joins unless told otherwise (persona docs).
    let y2025 = fleet.miner(3).expect("2025 miner");
    assert!(!y2025.readings().joins);
    let refused = ask(y2025.addr(), r#"{"cmd":"summary+devs+pools"}"#).await;
    assert_eq!(refused["Code"], 14);
    y2025.set_joins(true);
    for (index, persona) in personas.iter().enumerate() {
        let addr = fleet.addrs()[index];
        let handle = fleet.miner(index).expect("miner");
        let mut requests = vec![r#"{"command":"summary+devs+pools"}"#];
        if *persona != Persona::Cgminer492 {
            requests.push(r#"{"cmd":"summary+devs+pools"}"#);
        }
        for request in requests {
            let joined = ask(addr, request).await;
            let object = joined.as_object().expect("an object");
            let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["devs", "id", "pools", "summary"], "{persona}");
            assert_eq!(joined["id"], 1);
            // Each part is the whole reply of that command, in a list.
            let alone = ask(addr, &request.replace("summary+devs+pools", "pools")).await;
            assert_eq!(joined["pools"][0]["POOLS"], alone["POOLS"], "{persona}");
            assert!(joined["devs"][0]["DEVS"].is_array(), "{persona}");
            let summary = &joined["summary"][0];
            assert!(summary["SUMMARY"].is_array() || summary["Msg"].is_object());
        }
        assert!(handle.command_count("joined") >= 1);
        assert!(handle.command_count("summary") >= 1);
    }
    // A part that may not join, and one that does not exist, fail in place.
    let addr = fleet.addrs()[1];
    let mixed = ask(addr, r#"{"cmd":"summary+get_psu+nonsense+summary"}"#).await;
    assert_eq!(mixed["get_psu"][0]["Code"], 45);
    assert_eq!(mixed["nonsense"][0]["Code"], 14);
    assert!(mixed["summary"][0]["SUMMARY"].is_array());
    fleet.shutdown().await;
}

#[tokio::test]
async fn btminer_personas_accept_both_keys_and_count_pools_from_one() {
    let personas = [Persona::Btminer2021, Persona::Btminer2022];
    let fleet = persona_fleet(&personas, Model::M30SPlus).await;
    let y2021 = fleet.addrs()[0];
    let y2022 = fleet.addrs()[1];
    for addr in [y2021, y2022] {
        let by_cmd = ask(addr, r#"{"cmd":"pools"}"#).await;
        let by_command = ask(addr, r#"{"command":"pools"}"#).await;
        assert_eq!(by_cmd["POOLS"], by_command["POOLS"]);
        assert_eq!(by_cmd["POOLS"][0]["POOL"], 1, "btminer counts from 1");
        let token = ask(addr, r#"{"command":"get_token"}"#).await;
        assert_eq!(token["Code"], 134, "pyasic asks for tokens with `command`");
    }
    // 2021 (M31S captures): Power_RT, HS RT, per-board fans, `btminer`.
    let summary = ask(y2021, r#"{"command":"summary"}"#).await;
    assert_eq!(status0(&summary)["Description"], "btminer");
    let s = &summary["SUMMARY"][0];
    assert!(s["Power_RT"].is_u64() && s["HS RT"].is_f64() && s["Power Rate"].is_f64());
    let devs = ask(y2021, r#"{"cmd":"edevs"}"#).await;
    assert!(devs["DEVS"][0]["Fan Speed Out"].is_u64());
    let version = ask(y2021, r#"{"cmd":"get_version"}"#).await;
    assert_eq!(version["Msg"]["api_ver"], "whatsminer v1.3");
    // 2022 (M30SVE20 capture): short STATUS, shorter summary, `Has Stratum` 1.
    let summary = ask(y2022, r#"{"cmd":"summary"}"#).await;
    let status = status0(&summary).as_object().expect("status entry");
    assert_eq!(status.len(), 2, "only STATUS and Msg: {status:?}");
    let s = &summary["SUMMARY"][0];
    assert!(s["Power_RT"].is_null() && s["Getworks"].is_null() && s["HS RT"].is_f64());
    let pools = ask(y2022, r#"{"cmd":"pools"}"#).await;
    assert_eq!(pools["POOLS"][0]["Has Stratum"], 1);
    fleet.shutdown().await;
}

#[tokio::test]
async fn firmware_2025_wraps_summary_names_boards_by_slot_in_ths() {
    let fleet = persona_fleet(&[Persona::Firmware2025], Model::M60).await;
    let addr = fleet.addrs()[0];
    for key in ["cmd", "command"] {
        let summary = ask(addr, &format!(r#"{{"{key}":"summary"}}"#)).await;
        assert_eq!(
            (summary["STATUS"].as_str(), summary["Code"].as_i64()),
            (Some("S"), Some(131))
        );
        let msg = summary["Msg"].as_object().expect("Msg-wrapped");
        for gone in [
            "Temperature",
            "Accepted",
            "Rejected",
            "MHS 5s",
            "MHS 5m",
            "Total MH",
            "Target MHS",
        ] {
            assert!(!msg.contains_key(gone), "{gone} must be absent");
        }
        assert_eq!(msg.len(), 24, "the REL3 capture's field count");
        assert!(msg["Hash Stable"].is_string(), "a string boolean");
    }
    let summary = ask(addr, r#"{"cmd":"summary"}"#).await;
    let devs = ask(addr, r#"{"cmd":"edevs"}"#).await;
    let boards = devs["DEVS"].as_array().expect("boards");
    assert!(boards
        .iter()
        .all(|b| b["ASC"].is_null() && b["Slot"].is_u64()));
    assert!(boards.iter().all(|b| b["Chip Temp Max"].is_null()));
    // Board hash rates in TH/s add up to the summary's MH/s.
    let board_ths: f64 = boards.iter().filter_map(|b| b["MHS av"].as_f64()).sum();
    let miner_mhs = summary["Msg"]["MHS av"].as_f64().expect("MHS av");
    assert!(miner_mhs > 1e7, "{miner_mhs}");
    assert!(
        (board_ths * 1e6 - miner_mhs).abs() / miner_mhs < 0.01,
        "{board_ths} TH/s vs {miner_mhs} MH/s"
    );
    let details = ask(addr, r#"{"cmd":"devdetails"}"#).await;
    assert_eq!(details["Code"], 132);
    assert_eq!(details["Msg"], "This command is deprecated.");
    let version = ask(addr, r#"{"command":"get_version"}"#).await;
    assert_eq!(version["Msg"]["fw_ver"], "20260312.16.REL3");
    fleet.shutdown().await;
}

#[tokio::test]
async fn v3_persona_speaks_v3_and_a_refusing_miner_falls_back_to_single_reads() {
    let mut cfg = FleetConfig::loopback_ephemeral(2);
    cfg.personas = vec![(0, Persona::V3), (1, Persona::Btminer2021)];
    cfg.joins = vec![(1, false)];
    let fleet = Fleet::start(cfg).await.expect("fleet starts");
    assert!(fleet.miner(0).expect("v3").v3_addr().is_some());
    let addr = fleet.addrs()[1];
    let refused = ask(addr, r#"{"command":"summary+devs+pools"}"#).await;
    assert_eq!(
        (refused["STATUS"].as_str(), refused["Code"].as_i64()),
        (Some("E"), Some(14))
    );
    let single = ask(addr, r#"{"command":"summary"}"#).await;
    assert!(single["SUMMARY"].is_array());
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_firmware_change_across_a_reboot_switches_persona_and_joins() {
    let fleet = persona_fleet(&[Persona::Btminer2021], Model::M30S).await;
    let addr = fleet.addrs()[0];
    let handle = fleet.miner(0).expect("miner");
    handle.advance_clock(std::time::Duration::from_secs(3600));
    let before = handle.readings();
    let joined = ask(addr, r#"{"cmd":"summary+devs+pools"}"#).await;
    assert!(joined["summary"].is_array());
    handle.reflash(Some(Persona::Firmware2025), false);
    let after = handle.readings();
    assert_eq!(
        (after.persona, after.joins),
        (Some(Persona::Firmware2025), false)
    );
    assert!(after.uptime_secs < before.uptime_secs, "it rebooted");
    assert_eq!(after.firmware_version, "20260312.16.REL3");
    let refused = ask(addr, r#"{"cmd":"summary+devs+pools"}"#).await;
    assert_eq!(refused["Code"], 14);
    let summary = ask(addr, r#"{"cmd":"summary"}"#).await;
    assert!(summary["Msg"].is_object(), "now the 2025 shape");
    handle.reflash(None, true);
    assert_eq!(handle.readings().persona, None);
    let generic = ask(addr, r#"{"cmd":"summary+devs+pools"}"#).await;
    assert!(generic["summary"].is_array(), "generic miners join too");
    fleet.shutdown().await;
}

#[tokio::test]
async fn btminer_personas_keep_the_write_path() {
    let fleet = persona_fleet(&[Persona::Btminer2021, Persona::Firmware2025], Model::M50).await;
    for index in 0..2 {
        let reply = write(
            fleet.addrs()[index],
            "admin",
            serde_json::json!({"cmd": "power_off", "respbefore": "true"}),
        )
        .await;
        assert_eq!(reply["STATUS"], "S", "{reply}");
        assert!(!fleet.miner(index).expect("miner").powered_on());
    }
    fleet.shutdown().await;
}
