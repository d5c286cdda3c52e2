//! Reply shapes over TCP, field by field against the protocol notes.

use serde_json::Value;

use super::{ask, fleet, numeric};
use crate::sim::model::Flavour;

/// Summary fields the notes list for the classic form.
pub const SUMMARY_FIELDS: &[&str] = &[
    "Elapsed",
    "MHS av",
    "MHS 5s",
    "MHS 1m",
    "MHS 15m",
    "HS RT",
    "Accepted",
    "Rejected",
    "Temperature",
    "freq_avg",
    "Fan Speed In",
    "Fan Speed Out",
    "Power",
    "Power Rate",
    "Power Limit",
    "Chip Temp Min",
    "Chip Temp Max",
    "Chip Temp Avg",
    "Env Temp",
    "Power Fanspeed",
    "Uptime",
    "Factory GHS",
    "Error Code Count",
    "Hash Stable",
    "Target Freq",
    "Target MHS",
    "Btminer Fast Boot",
    "Upfreq Complete",
    "Security Mode",
    "MAC",
];

/// Devs fields the notes list (classic form).
pub const DEVS_FIELDS: &[&str] = &[
    "ASC",
    "Slot",
    "Enabled",
    "Status",
    "Temperature",
    "Chip Frequency",
    "Fan Speed In",
    "Fan Speed Out",
    "MHS av",
    "MHS 5s",
    "MHS 1m",
    "MHS 15m",
    "Accepted",
    "Rejected",
    "Hardware Errors",
    "Utility",
    "Last Share Pool",
    "Last Share Time",
    "Total MH",
    "Diff1 Work",
    "Device Hardware%",
    "Device Rejected%",
    "Device Elapsed",
    "Upfreq Complete",
    "Effective Chips",
    "PCB SN",
    "Chip Temp Min",
    "Chip Temp Max",
    "Chip Temp Avg",
    "chip_vol_diff",
];

/// Pools fields the notes list.
pub const POOLS_FIELDS: &[&str] = &[
    "POOL",
    "URL",
    "Status",
    "Priority",
    "Quota",
    "Long Poll",
    "Getworks",
    "Accepted",
    "Rejected",
    "Works",
    "Discarded",
    "Stale",
    "Get Failures",
    "Remote Failures",
    "User",
    "Last Share Time",
    "Diff1 Shares",
    "Proxy Type",
    "Proxy",
    "Difficulty Accepted",
    "Difficulty Rejected",
    "Difficulty Stale",
    "Last Share Difficulty",
    "Work Difficulty",
    "Has Stratum",
    "Stratum Active",
    "Stratum URL",
    "Stratum Difficulty",
    "Best Share",
    "Pool Rejected%",
    "Pool Stale%",
    "Bad Work",
    "Current Block Height",
    "Current Block Version",
];

fn has_all(object: &Value, fields: &[&str]) {
    for field in fields {
        assert!(object.get(field).is_some(), "missing {field:?} in {object}");
    }
}

fn assert_success_list(reply: &Value) {
    let status = &reply["STATUS"][0];
    assert_eq!(status["STATUS"], "S", "{reply}");
    assert!(status["When"].is_u64() && status["Code"].is_i64());
}

#[tokio::test]
async fn classic_summary_devs_pools_match_the_notes() {
    let fleet = fleet(1, Some(Flavour::Classic)).await;
    let addr = fleet.addrs()[0];

    let summary = ask(addr, r#"{"cmd":"summary"}"#).await;
    assert_success_list(&summary);
    let s = &summary["SUMMARY"][0];
    has_all(s, SUMMARY_FIELDS);
    for number in [
        "MHS av",
        "MHS 5s",
        "Power",
        "Fan Speed In",
        "Elapsed",
        "Uptime",
        "Temperature",
    ] {
        assert!(
            s[number].is_number(),
            "{number} should be a number: {}",
            s[number]
        );
    }
    let ths = s["MHS av"].as_f64().unwrap_or(0.0) / 1e6;
    assert!(
        (50.0..250.0).contains(&ths),
        "MHS av is in MH/s: {ths} TH/s"
    );

    let devs = ask(addr, r#"{"cmd":"devs"}"#).await;
    assert_success_list(&devs);
    let boards = devs["DEVS"].as_array().expect("DEVS list");
    assert_eq!(boards.len(), 3);
    for (slot, board) in boards.iter().enumerate() {
        has_all(board, DEVS_FIELDS);
        assert_eq!(board["Slot"], slot);
        assert_eq!(board["Status"], "Alive");
        assert!((300.0..800.0).contains(&board["Chip Frequency"].as_f64().unwrap_or(0.0)));
    }
    let edevs = ask(addr, r#"{"cmd":"edevs"}"#).await;
    assert_eq!(edevs["DEVS"].as_array().map(Vec::len), Some(3));

    let pools = ask(addr, r#"{"cmd":"pools"}"#).await;
    assert_success_list(&pools);
    let list = pools["POOLS"].as_array().expect("POOLS list");
    assert_eq!(list.len(), 3);
    for pool in list {
        has_all(pool, POOLS_FIELDS);
        assert!(pool["URL"]
            .as_str()
            .is_some_and(|u| u.starts_with("stratum+tcp://")));
    }
    let details = ask(addr, r#"{"cmd":"devdetails"}"#).await;
    assert_eq!(details["DEVDETAILS"].as_array().map(Vec::len), Some(3));
    assert!(details["DEVDETAILS"][0]["Model"]
        .as_str()
        .is_some_and(|m| m.starts_with('M')));
    fleet.shutdown().await;
}

#[tokio::test]
async fn wrapped_summary_sits_in_msg_without_the_short_windows() {
    let fleet = fleet(1, Some(Flavour::Wrapped)).await;
    let addr = fleet.addrs()[0];
    let summary = ask(addr, r#"{"cmd":"summary"}"#).await;
    assert_eq!(summary["STATUS"], "S");
    assert_eq!(summary["Code"], 131);
    assert_eq!(summary["Description"], "");
    assert!(summary.get("SUMMARY").is_none());
    let msg = &summary["Msg"];
    for gone in ["MHS 5s", "MHS 5m", "Target MHS"] {
        assert!(msg.get(gone).is_none(), "{gone} present");
    }
    for kept in [
        "MHS av",
        "MHS 1m",
        "Power",
        "Elapsed",
        "Fan Speed In",
        "Chip Temp Max",
    ] {
        assert!(numeric(&msg[kept]), "{kept}");
    }
    let devs = ask(addr, r#"{"cmd":"devs"}"#).await;
    let board = &devs["DEVS"][0];
    assert!(board.get("ASC").is_none() && board.get("Chip Temp Max").is_none());
    assert!(board["MHS av"].is_number() && board["Slot"] == 0);
    let pools = ask(addr, r#"{"cmd":"pools"}"#).await;
    assert!(pools["POOLS"][0]["Accepted"].is_u64());
    fleet.shutdown().await;
}

#[tokio::test]
async fn whatsminer_commands_answer_in_msg_form_on_both_flavours() {
    for flavour in [Flavour::Classic, Flavour::Wrapped] {
        let fleet = fleet(1, Some(flavour)).await;
        let addr = fleet.addrs()[0];
        let snapshot = fleet.miner(0).expect("miner").readings();

        let version = ask(addr, r#"{"cmd":"get_version"}"#).await;
        assert_eq!(
            (version["STATUS"].as_str(), version["Code"].as_i64()),
            (Some("S"), Some(131))
        );
        assert_eq!(version["Msg"]["fw_ver"], snapshot.firmware_version);
        assert_eq!(version["Msg"]["api_ver"], snapshot.api_version);

        let status = ask(addr, r#"{"cmd":"status"}"#).await;
        assert_eq!(status["Msg"]["btmineroff"], "false");
        let fw = status["Msg"]["Firmware Version"].as_str().unwrap_or("");
        assert!(fw.contains(snapshot.firmware_version), "{fw}");

        let info = ask(
            addr,
            r#"{"cmd":"get_miner_info","info":"ip,mac,ledstat,hostname"}"#,
        )
        .await;
        let msg = info["Msg"].as_object().expect("Msg object");
        let mut keys: Vec<&str> = msg.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["hostname", "ip", "ledstat", "mac"]);
        assert_eq!(msg["mac"], snapshot.mac.as_str());
        assert_eq!(msg["ledstat"], "auto");
        assert_eq!(msg["ip"], addr.ip().to_string());
        let everything = ask(addr, r#"{"cmd":"get_miner_info"}"#).await;
        assert!(everything["Msg"].as_object().is_some_and(|m| m.len() >= 9));

        let psu = ask(addr, r#"{"cmd":"get_psu"}"#).await;
        assert!(numeric(&psu["Msg"]["iin"]) && numeric(&psu["Msg"]["fan_speed"]));
        let errors = ask(addr, r#"{"cmd":"get_error_code"}"#).await;
        assert!(errors["Msg"]["error_code"].is_array());
        let token = ask(addr, r#"{"cmd":"get_token"}"#).await;
        assert_eq!(token["Code"], 134);
        for field in ["time", "salt", "newsalt"] {
            assert!(token["Msg"][field].is_string(), "{field}");
        }
        let unknown = ask(addr, r#"{"cmd":"version"}"#).await;
        assert_eq!(
            (unknown["STATUS"].as_str(), unknown["Code"].as_i64()),
            (Some("E"), Some(14))
        );
        assert_eq!(unknown["Msg"], "invalid cmd");
        fleet.shutdown().await;
    }
}

#[tokio::test]
async fn values_follow_the_miner_state() {
    let fleet = fleet(2, None).await;
    let miner = fleet.miner(1).expect("miner");
    let addr = miner.addr();
    let before = ask(addr, r#"{"cmd":"summary"}"#).await;
    let uptime = |reply: &Value| {
        let s = if reply.get("SUMMARY").is_some() {
            &reply["SUMMARY"][0]
        } else {
            &reply["Msg"]
        };
        s["Uptime"].as_u64().unwrap_or(0)
    };
    miner.advance_clock(std::time::Duration::from_secs(3600));
    let after = ask(addr, r#"{"cmd":"summary"}"#).await;
    assert!(uptime(&after) >= uptime(&before) + 3600);
    let snap = miner.readings();
    assert!(snap.powered_on && snap.hashrate_mhs > 1e7 && snap.fan_in_rpm > 0);
    assert_eq!(miner.command_count("summary"), 2);
    fleet.shutdown().await;
}
