//! Tests over the reply samples in `tests/fixtures/v3/` (see its README for
//! where each comes from): envelope parsing, typed conversion with units,
//! and robustness against every truncated prefix of every sample.

use serde_json::Value;

use super::device::{DeviceInfo, MinerSetting};
use super::reply::{is_no_permission, parse_reply, reply_msg};
use super::types::V3Status;
use crate::error::ErrorKind;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../tests/fixtures/v3/", $name)),
        )
    };
}

const ALL: &[(&str, &str)] = &[
    fixture!("asicrs_get_device_info.json"),
    fixture!("asicrs_get_device_info_with_errors.json"),
    fixture!("asicrs_get_miner_status_summary.json"),
    fixture!("asicrs_get_miner_status_pools.json"),
    fixture!("asicrs_get_miner_status_edevs.json"),
    fixture!("vendordoc_get_device_info.json"),
    fixture!("vendordoc_get_miner_status_summary.json"),
    fixture!("vendordoc_set_miner_service_ok.json"),
    fixture!("vendordoc_get_fan_setting.json"),
    fixture!("synthetic_get_device_info_system.json"),
    fixture!("synthetic_get_device_info_salt.json"),
    fixture!("synthetic_get_device_info_error_code_text.json"),
    fixture!("synthetic_get_device_info_error_code_mixed.json"),
    fixture!("synthetic_get_miner_status_joined.json"),
    fixture!("synthetic_get_miner_status_pools_full.json"),
    fixture!("synthetic_get_miner_status_stopped.json"),
    fixture!("synthetic_get_miner_status_strings.json"),
    fixture!("synthetic_get_miner_setting.json"),
    fixture!("synthetic_error_no_permission.json"),
    fixture!("synthetic_error_invalid_command.json"),
    fixture!("synthetic_error_param_missing.json"),
    fixture!("synthetic_error_failed.json"),
];

fn get(name: &str) -> &'static str {
    ALL.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("fixture {name} not listed"))
}

fn msg(name: &str) -> Value {
    reply_msg(get(name).as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn status(name: &str) -> V3Status {
    V3Status::from_msg(&msg(name)).unwrap()
}

fn device(name: &str) -> DeviceInfo {
    DeviceInfo::from_msg(&msg(name)).unwrap()
}

#[test]
fn every_fixture_is_listed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v3");
    let on_disk = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(on_disk, ALL.len());
}

#[test]
fn success_and_error_fixtures_classify() {
    for (name, text) in ALL {
        let reply = parse_reply(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            reply.is_ok(),
            !name.starts_with("synthetic_error_"),
            "{name}"
        );
    }
    let err = reply_msg(get("synthetic_error_no_permission.json").as_bytes()).unwrap_err();
    assert!(is_no_permission(&err));
    assert_eq!(
        reply_msg(get("synthetic_error_param_missing.json").as_bytes()),
        Err(ErrorKind::Miner {
            code: Some(-3),
            message: "param item is null".into()
        })
    );
}

#[test]
fn real_summary_in_ths() {
    let s = status("asicrs_get_miner_status_summary.json")
        .summary
        .unwrap();
    assert_eq!(s.hash_realtime_ths, Some(171.259));
    assert_eq!(s.hash_average_ths, Some(170.8));
    assert_eq!(s.factory_hash_ths, Some(181.051));
    assert_eq!(s.power_realtime_w, Some(3156.0));
    assert_eq!(s.power_limit_w, Some(3600.0));
    assert_eq!(s.power_rate_j_per_th, Some(17.6));
    assert_eq!(s.board_temps_c, vec![Some(41.1), Some(40.1), Some(41.5)]);
    assert_eq!(s.fan_speed_in_rpm, Some(5400.0));
    assert_eq!(s.elapsed_s, Some(50000.0));
    assert_eq!(s.upfreq_finished, Some(true));
}

#[test]
fn vendor_summary_efficiency_is_joules_per_terahash() {
    let s = status("vendordoc_get_miner_status_summary.json")
        .summary
        .unwrap();
    // power-rate must equal power / hash rate (W per TH/s), which also
    // confirms the hash rate unit is TH/s.
    let derived = s.power_5min_w.unwrap() / s.hash_average_ths.unwrap();
    assert!(
        (derived - s.power_rate_j_per_th.unwrap()).abs() < 0.1,
        "{derived}"
    );
}

#[test]
fn real_pools_and_edevs() {
    let pools = status("asicrs_get_miner_status_pools.json").pools.unwrap();
    assert_eq!(pools.len(), 3);
    assert_eq!(
        pools[0].url.as_deref(),
        Some("stratum+tcp://btc.example.pool:3333")
    );
    assert_eq!(pools[0].stratum_active, Some(true));
    assert_eq!(pools[1].priority, Some(1.0));
    assert_eq!(pools[0].id, None);
    assert_eq!(pools[0].accepted, None);
    let edevs = status("asicrs_get_miner_status_edevs.json").edevs.unwrap();
    assert_eq!(edevs.len(), 3);
    assert_eq!(edevs[2].id, Some(2.0));
    assert_eq!(edevs[0].hash_average_ths, Some(57.1));
    assert_eq!(edevs[0].effective_chips, Some(75.0));
    assert_eq!(edevs[1].chip_temp_max_c, Some(82.0));
    assert_eq!(edevs[0].slot, None);
}

#[test]
fn joined_status_has_all_sections() {
    let st = status("synthetic_get_miner_status_joined.json");
    assert!(st.summary.is_some());
    assert_eq!(st.pools.map(|p| p.len()), Some(3));
    assert_eq!(st.edevs.map(|e| e.len()), Some(3));
}

#[test]
fn pools_accept_both_reject_ratio_names() {
    let pools = status("synthetic_get_miner_status_pools_full.json")
        .pools
        .unwrap();
    assert_eq!(pools[0].reject_percent, Some(4.5));
    assert_eq!(pools[1].reject_percent, Some(0.25));
    assert_eq!(pools[1].stratum_diff, Some(16384.0));
    assert_eq!(pools[0].last_share_time, Some(1692685469.0));
}

#[test]
fn stopped_miner_has_no_pools_and_no_factory_hash() {
    let st = status("synthetic_get_miner_status_stopped.json");
    assert!(st.pools.is_none());
    let s = st.summary.unwrap();
    assert_eq!(s.factory_hash_ths, None);
    assert_eq!(s.hash_realtime_ths, Some(0.0));
    assert_eq!(s.upfreq_finished, Some(false));
}

#[test]
fn numbers_as_strings_are_read_and_junk_is_none() {
    let s = status("synthetic_get_miner_status_strings.json")
        .summary
        .unwrap();
    assert_eq!(s.elapsed_s, Some(1074.0));
    assert_eq!(s.hash_realtime_ths, Some(101.847));
    assert_eq!(s.hash_average_ths, None);
    assert_eq!(s.fan_speed_in_rpm, None);
    assert_eq!(s.board_temps_c, vec![Some(69.6), None, Some(72.3)]);
}

#[test]
fn real_device_info_sections() {
    let d = device("asicrs_get_device_info.json");
    let miner = d.miner.unwrap();
    assert_eq!(miner.model.as_deref(), Some("M60S_VK40"));
    assert_eq!(miner.working, Some(true));
    assert_eq!(miner.board_count, Some(3.0));
    assert_eq!(miner.board_serials.len(), 3);
    let system = d.system.unwrap();
    assert_eq!(system.api_version.as_deref(), Some("3.0.2"));
    assert_eq!(system.firmware_version.as_deref(), Some("20251209.16.Rel2"));
    assert_eq!(system.write_api_enabled, Some(true));
    assert_eq!(d.power.unwrap().fan_speed_rpm, Some(6344.0));
    assert_eq!(d.network.unwrap().mac.as_deref(), Some("CE:02:01:00:8C:36"));
    assert_eq!(d.salt.as_deref(), Some("uhCiDyVj"));
    assert!(d.error_codes.is_empty());

    let e = device("asicrs_get_device_info_with_errors.json").error_codes;
    assert_eq!(e.len(), 5);
    assert_eq!(e[0].code, "264");
    assert_eq!(e[0].time.as_deref(), Some("2026-05-23 09:19:10"));
    assert!(e[4].reason.as_deref().unwrap().contains("over-voltage"));
}

#[test]
fn vendor_device_info_power_and_errors() {
    let d = device("vendordoc_get_device_info.json");
    let p = d.power.unwrap();
    assert_eq!(p.input_current_a, Some(14.8));
    assert_eq!(p.input_power_w, Some(3264.0));
    assert_eq!(p.output_voltage_v(), Some(12.09));
    assert_eq!(d.miner.unwrap().power_limit_set_w, Some(3600.0));
    assert_eq!(d.error_codes.len(), 2);
    assert_eq!(d.error_codes[1].reason.as_deref(), Some("Slot2 not found."));
}

#[test]
fn one_section_device_info() {
    let d = device("synthetic_get_device_info_system.json");
    assert!(d.system.is_some() && d.miner.is_none() && d.salt.is_none());
    let salt = device("synthetic_get_device_info_salt.json").salt;
    assert_eq!(salt.as_deref(), Some("uhCiDyVj"));
    let text = device("synthetic_get_device_info_error_code_text.json");
    assert!(text.error_codes.is_empty());
    assert_eq!(
        text.error_text.as_deref(),
        Some("btminer process is down err")
    );
    let mixed = device("synthetic_get_device_info_error_code_mixed.json").error_codes;
    let codes: Vec<&str> = mixed.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["2010", "541", "5032"]);
}

#[test]
fn miner_setting() {
    let s = MinerSetting::from_msg(&msg("synthetic_get_miner_setting.json")).unwrap();
    assert_eq!(s.power_mode.as_deref(), Some("normal"));
    assert_eq!(s.power_limit_w, Some(3600.0));
    assert_eq!(s.fast_boot, Some(false));
    assert_eq!(s.upfreq_speed, Some(2.0));
}

#[test]
fn wrong_msg_shapes_are_typed_errors() {
    let ok = msg("vendordoc_set_miner_service_ok.json");
    assert!(matches!(
        V3Status::from_msg(&ok),
        Err(ErrorKind::UnexpectedShape(_))
    ));
    assert!(matches!(
        DeviceInfo::from_msg(&ok),
        Err(ErrorKind::UnexpectedShape(_))
    ));
    assert!(matches!(
        MinerSetting::from_msg(&ok),
        Err(ErrorKind::UnexpectedShape(_))
    ));
}

/// Every prefix of every fixture, and every fixture with one byte flipped,
/// goes through the whole parsing path without a panic.
#[test]
fn no_panic_on_truncated_or_corrupted_input() {
    for (_, text) in ALL {
        let bytes = text.as_bytes();
        let mut variants: Vec<Vec<u8>> = (0..=bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for i in (0..bytes.len()).step_by(7) {
            let mut v = bytes.to_vec();
            v[i] ^= 0x5a;
            variants.push(v);
        }
        for v in variants {
            if let Ok(reply) = parse_reply(&v) {
                let m = reply.msg.clone();
                let _ = reply.into_msg();
                let _ = V3Status::from_msg(&m);
                let _ = DeviceInfo::from_msg(&m);
                let _ = MinerSetting::from_msg(&m);
            }
        }
    }
}
