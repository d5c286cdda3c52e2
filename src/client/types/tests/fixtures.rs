//! Every fixture in `tests/fixtures/v2` parses into the values it holds.

use crate::client::types::*;
use crate::protocol::reply::{self, parse_json};

/// The typed reply, or a panic naming the command.
pub(super) fn ok<T: FromReply + std::fmt::Debug>(bytes: &[u8]) -> T {
    match T::from_reply(bytes) {
        Ok(t) => t,
        Err(e) => panic!("{} failed: {e:?}", T::COMMAND),
    }
}

#[test]
fn m30sve20_summary() {
    let s: Summary = ok(fixture!("m30sve20_summary.json"));
    assert_eq!(s.elapsed, Some(4680));
    assert_eq!(s.uptime, Some(6722));
    assert_eq!(s.mhs_av, Some(87377881.4));
    assert_eq!(s.mhs_5s, Some(104999986.4));
    assert_eq!(s.mhs_1m, Some(88965118.1));
    assert_eq!(s.mhs_5m, Some(87407605.54));
    assert_eq!(s.mhs_15m, Some(87376511.2));
    assert_eq!(s.hs_rt, Some(87407605.54));
    assert_eq!((s.accepted, s.rejected), (Some(458), Some(7)));
    assert_eq!(s.temperature, Some(80.0));
    assert_eq!(s.freq_avg, Some(703.0));
    assert_eq!(
        (s.fan_speed_in, s.fan_speed_out),
        (Some(6990.0), Some(6930.0))
    );
    assert_eq!(s.power, Some(3370.0));
    assert_eq!(s.power_rate, Some(38.57));
    assert_eq!(s.power_limit, Some(3360.0));
    assert_eq!(s.power_mode.as_deref(), Some("Normal"));
    assert_eq!(s.factory_ghs, Some(91027.0));
    assert_eq!(s.target_mhs, Some(84083832.0));
    assert_eq!(s.target_freq, Some(668.0));
    assert_eq!(s.env_temp, Some(53.0));
    assert_eq!(
        (s.chip_temp_min, s.chip_temp_max, s.chip_temp_avg),
        (Some(85.58), Some(101.33), Some(93.66))
    );
    assert_eq!(s.hash_stable, Some(true));
    assert_eq!(s.pool_rejected_pct, Some(1.2516));
    assert_eq!(s.security_mode, Some(0));
    assert_eq!(s.btminer_fast_boot, Some(false));
    // Not sent by this firmware.
    assert_eq!(
        (s.mac, s.error_code_count, s.power_fanspeed),
        (None, None, None)
    );
}

#[test]
fn fw2021_summary_has_mac_voltage_and_quoted_firmware() {
    let s: Summary = ok(fixture!("fw20210322_summary.json"));
    assert_eq!(s.mac.as_deref(), Some("C4:08:28:00:A4:19"));
    assert_eq!(s.firmware_version.as_deref(), Some("20210322.22.REL"));
    assert_eq!(s.error_code_count, Some(0));
    assert_eq!(s.power_fanspeed, Some(9060.0));
    assert_eq!(s.power_rt, Some(3427.0));
    assert_eq!(s.liquid_cooling, Some(false));
    assert_eq!(s.hardware_errors, Some(69));
    assert_eq!(s.factory_ghs, Some(68796.0));
    assert_eq!(s.mhs_av, Some(67753251.19));
}

#[test]
fn other_classic_summaries() {
    let s: Summary = ok(fixture!("m30splus_2022_summary.json"));
    assert_eq!(s.temperature, Some(80.0)); // sent as 80.00
    assert_eq!(s.total_mh, Some(225043191209.0));
    assert_eq!(s.power, Some(3593.0));
    let s: Summary = ok(fixture!("m30_2022_summary_issue22.json"));
    assert_eq!(s.fan_speed_in, Some(0.0));
    assert_eq!(s.power_limit, Some(2635.0));
    assert_eq!(s.chip_temp_max, Some(101.25));
}

#[test]
fn wrapped_summaries_read_msg() {
    let s: Summary = ok(fixture!("synthetic_m50_wrapped_summary.json"));
    assert_eq!(s.mhs_av, Some(126543210.12));
    assert_eq!(s.mhs_1m, Some(127001234.5));
    assert_eq!((s.mhs_5s, s.mhs_5m, s.target_mhs), (None, None, None));
    assert_eq!(s.upfreq_complete, Some(true));
    assert_eq!(s.power_limit, Some(3300.0));
    assert_eq!(s.mac.as_deref(), Some("C8:00:00:00:00:01"));
    let a: Summary = ok(fixture!("excerpt_wrapped_summary_a.json"));
    assert_eq!((a.elapsed, a.power), (Some(228), Some(938.12)));
    assert_eq!(a.btminer_fast_boot, Some(true));
    let b: Summary = ok(fixture!("excerpt_wrapped_summary_b.json"));
    assert_eq!(
        (b.hs_rt, b.fan_speed_out),
        (Some(123107336.0), Some(4540.0))
    );
}

#[test]
fn numbers_as_strings() {
    let s: Summary = ok(fixture!("synthetic_summary_numbers_as_strings.json"));
    assert_eq!(s.elapsed, Some(3600));
    assert_eq!(s.mhs_av, Some(98765432.10));
    assert_eq!((s.mhs_5s, s.mhs_1m), (None, None)); // "" and "N/A"
    assert_eq!(s.accepted, Some(42));
    assert_eq!(s.power, Some(3250.5));
    assert_eq!(s.hash_stable, Some(true));
    assert_eq!(s.btminer_fast_boot, Some(true));
    assert_eq!(s.upfreq_complete, Some(true));
    assert_eq!(s.mac.as_deref(), Some("112233"));
    assert_eq!(s.env_temp, None);
}

#[test]
fn m30sve20_devs_and_edevs() {
    let Devs(boards) = ok(fixture!("m30sve20_devs.json"));
    assert_eq!(boards.len(), 3);
    let b = &boards[0];
    assert_eq!((b.asc, b.slot, b.index()), (Some(0), Some(0), Some(0)));
    assert_eq!((b.enabled, b.alive()), (Some(true), Some(true)));
    assert_eq!(b.temperature, Some(76.5));
    assert_eq!(b.chip_frequency, Some(696.0));
    assert_eq!(b.mhs_av, Some(28854811.5));
    assert_eq!(b.factory_ghs, Some(30378.0));
    assert_eq!((b.accepted, b.rejected), (Some(151), Some(3)));
    assert_eq!(b.effective_chips, Some(111));
    assert_eq!(b.pcb_sn.as_deref(), Some("SEM1ES6F211B24X31339"));
    assert_eq!(b.upfreq_complete, Some(true));
    assert_eq!(b.chip_temp_max, Some(97.08));
    assert_eq!(b.chip_vol_diff, Some(13.0));
    assert_eq!(boards[2].chip_frequency, Some(727.0));
    let Edevs(e) = ok(fixture!("m30sve20_edevs.json"));
    assert_eq!(e.len(), 3);
    assert_eq!(e[1].mhs_av, Some(28420388.79));
}

#[test]
fn fw2021_devs_have_hardware_errors() {
    let Devs(boards) = ok(fixture!("fw20210322_devs.json"));
    assert_eq!(boards.len(), 3);
    assert_eq!(boards[1].hardware_errors, Some(47));
    assert_eq!(boards[1].elapsed, Some(10154));
    assert_eq!(boards[1].name.as_deref(), Some("SM"));
    assert_eq!(boards[2].device_hardware_pct, Some(0.0034));
    let Edevs(e) = ok(fixture!("m30splus_2022_edevs.json"));
    assert_eq!(e[0].upfreq_complete, Some(false));
    assert_eq!(e[2].chip_temp_avg, Some(90.91));
}

#[test]
fn devs_without_asc_or_chip_temps() {
    let Devs(boards) = ok(fixture!("synthetic_wrapped_devs_no_asc.json"));
    assert_eq!(boards.len(), 3);
    assert_eq!((boards[0].asc, boards[0].index()), (None, Some(0)));
    assert_eq!(boards[0].chip_temp_min, None);
    assert_eq!(boards[1].pcb_sn, None);
    assert_eq!(boards[2].enabled, Some(false));
    assert_eq!(boards[2].alive(), Some(false));
}

#[test]
fn pools_fixtures() {
    let Pools(p) = ok(fixture!("m30sve20_pools.json"));
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].pool, Some(1));
    assert_eq!(
        p[0].url.as_deref(),
        Some("stratum+tcp://stratum.braiins.com:3333")
    );
    assert_eq!(p[0].user.as_deref(), Some("jusmcafee.burlesonwhat"));
    assert_eq!(
        (p[0].accepted, p[0].rejected, p[0].stale),
        (Some(458), Some(7), Some(0))
    );
    assert_eq!(p[0].difficulty_accepted, Some(98238464.0));
    assert_eq!(p[0].has_stratum, Some(true)); // sent as 1
    assert_eq!(p[0].stratum_active, Some(true));
    assert_eq!(p[0].stratum_difficulty, Some(262144.0));
    assert_eq!(p[0].last_share_time, Some(1786404197));
    assert_eq!(p[0].current_block_height, Some(961932));
    assert_eq!(p[0].alive(), Some(true));
    assert_eq!((p[2].priority, p[2].stratum_active), (Some(2), Some(false)));
    assert_eq!(p[1].stratum_url, None); // ""
    let Pools(p) = ok(fixture!("fw20210322_pools.json"));
    assert_eq!(p[0].works, Some(80955374));
    assert_eq!(p[0].bad_work, Some(19));
    let Pools(p) = ok(fixture!("m30splus_2022_pools.json"));
    assert_eq!((p.len(), p[0].getworks), (1, Some(1)));
}

#[test]
fn devdetails_fixture() {
    let d: DevDetails = ok(fixture!("m30sve20_devdetails.json"));
    assert_eq!(d.0.len(), 3);
    assert_eq!(d.model(), Some("M30SVE20"));
    assert_eq!(d.0[2].index, Some(2));
    assert_eq!(d.0[0].driver.as_deref(), Some("bitmicro"));
    assert_eq!(d.0[0].kernel, None);
}

#[test]
fn version_fixtures() {
    let v: Version = ok(fixture!("m30sve20_get_version.json"));
    assert_eq!(v.api_ver.as_deref(), Some("2.0.3"));
    assert_eq!(v.fw_ver.as_deref(), Some("20220422.18.REL"));
    assert_eq!(v.platform.as_deref(), Some("H6OS"));
    assert_eq!(v.firmware_date(), Some(20220422));
    let v: Version = ok(fixture!("fw20210322_get_version.json"));
    assert_eq!(v.api_ver.as_deref(), Some("whatsminer v1.4.0"));
    let v: Version = ok(fixture!("asicrs_fw20230803_get_version.json"));
    assert_eq!(
        (v.api_ver.as_deref(), v.platform.as_deref()),
        (Some("2.0.5"), Some("H616"))
    );
    assert_eq!(firmware_date("'20250120.16.Rel'"), Some(20250120));
    assert_eq!(firmware_date("2025x120"), None);
    assert_eq!(firmware_date("20251320.1"), None);
}

#[test]
fn psu_fixtures() {
    let p: Psu = ok(fixture!("m30sve20_get_psu.json"));
    assert_eq!(p.name.as_deref(), Some("P221C"));
    assert_eq!(p.model.as_deref(), Some("P22-12-3300-C"));
    assert_eq!(p.serial.as_deref(), Some("1355A2137605435"));
    assert_eq!(
        (p.vin, p.iin, p.fan_speed),
        (Some(24200.0), Some(13968.0), Some(9840.0))
    );
    assert_eq!(p.input_volts(), Some(242.0));
    assert_eq!(p.input_amps(), Some(13.968));
    assert_eq!(p.vendor.as_deref(), Some("1"));
    let p: Psu = ok(fixture!("fw20210322_get_psu.json"));
    assert_eq!((p.hw_version, p.vin), (None, None));
    assert_eq!(p.sw_version.as_deref(), Some("102220.009"));
    let p: Psu = ok(fixture!("m30splus_2022_get_psu.json"));
    assert_eq!(p.iin, Some(8718.0));
}

#[test]
fn status_fixtures_old_and_new_keys() {
    let s: MinerStatus = ok(fixture!("m30sve20_status.json"));
    assert_eq!(s.btmineroff, Some(false));
    assert_eq!(s.firmware_version.as_deref(), Some("20220422.18.REL"));
    let s: MinerStatus = ok(fixture!("fw20210322_status.json"));
    assert_eq!(s.btmineroff, Some(true));
    let s: MinerStatus = ok(fixture!("asicrs_fw20230803_status.json"));
    assert_eq!(s.btmineroff, Some(false));
    assert_eq!(s.firmware_version.as_deref(), Some("20230803.11.REL"));
    assert_eq!((s.power_mode, s.hash_percent), (None, None)); // both ""
    let both =
        br#"{"STATUS":"S","Msg":{"btmineroff":"true","mineroff":"true","FirmwareVersion":"x"}}"#;
    assert_eq!(
        MinerStatus::from_reply(both).map(|s| s.btmineroff),
        Ok(Some(true))
    );
}

#[test]
fn miner_info_fixture() {
    let i: MinerInfo = ok(fixture!("m30sve20_get_miner_info.json"));
    assert_eq!(i.ip.as_deref(), Some("10:0:1:106"));
    assert_eq!(i.proto.as_deref(), Some("dhcp"));
    assert_eq!(i.netmask.as_deref(), Some("255.255.255.0"));
    assert_eq!(i.gateway.as_deref(), Some("10.0.1.1"));
    assert_eq!(i.hostname.as_deref(), Some("WhatsMiner"));
    assert_eq!(i.mac.as_deref(), Some("C8:08:18:00:15:EF"));
    assert_eq!(i.ledstat.as_deref(), Some("auto"));
    assert_eq!(i.minersn, None);
    // The invalid trailing comma seen on this firmware is repaired.
    let i = MinerInfo::from_reply(br#"{"STATUS":"S","Msg":{"ledstat":"auto",},"Description":""}"#);
    assert_eq!(i.map(|i| i.ledstat), Ok(Some("auto".into())));
}

#[test]
fn error_code_forms() {
    let e: ErrorCodes = ok(fixture!("m30sve20_get_error_code.json"));
    assert!(e.0.is_empty());
    let ErrorCodes(e) = ok(fixture!("m30splus_2022_get_error_code.json"));
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].code.as_str(), e[0].number()), ("329", Some(329)));
    assert_eq!(e[0].time.as_deref(), Some("2022-01-17 11:28:11"));
    let ErrorCodes(e) = ok(fixture!("asicrs_get_error_code_with_errors.json"));
    let codes: Vec<_> = e.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["218", "110"]);
    assert_eq!(e[1].time.as_deref(), Some("2024-06-15 09:15:00"));
    let with_reason = br#"{"STATUS":"S","Msg":{"error_code":[{"531":"2025-03-12 14:52:35","reason":"Slot1 not found."},2350]}}"#;
    let ErrorCodes(e) = ok(with_reason);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].reason.as_deref(), Some("Slot1 not found."));
    assert_eq!((e[1].code.as_str(), e[1].time.as_deref()), ("2350", None));
}

#[test]
fn get_token_and_encrypted_envelope() {
    let v = parse_json(fixture!("get_token_v1_3.json")).unwrap_or_default();
    assert_eq!(reply::check_status(&v), Ok(()));
    let msg = reply::data_object(&v, "TOKEN");
    assert_eq!(
        msg.and_then(|m| m.get("newsalt")).and_then(|s| s.as_str()),
        Some("P5NTAcEp")
    );
    let v = parse_json(fixture!("synthetic_encrypted_reply.json")).unwrap_or_default();
    assert!(reply::encrypted_payload(&v).is_some_and(|s| s.starts_with("dGhp")));
}

#[test]
fn error_fixtures_map_to_kinds() {
    let cases: [(&[u8], ErrorKind); 7] = [
        (
            fixture!("error_invalid_cmd.json"),
            ErrorKind::Miner {
                code: Some(14),
                message: "invalid cmd".into(),
            },
        ),
        (
            fixture!("error_get_token_over_max_connect.json"),
            ErrorKind::TokenLimit,
        ),
        (
            fixture!("synthetic_error_over_max_connect.json"),
            ErrorKind::OverMaxConnect,
        ),
        (
            fixture!("synthetic_error_invalid_token.json"),
            ErrorKind::InvalidToken,
        ),
        (
            fixture!("synthetic_error_enc_json_load_err.json"),
            ErrorKind::WrongPassword,
        ),
        (
            fixture!("synthetic_error_write_disabled.json"),
            ErrorKind::WriteApiDisabled,
        ),
        (
            fixture!("synthetic_error_list_form.json"),
            ErrorKind::Miner {
                code: Some(14),
                message: "invalid cmd".into(),
            },
        ),
    ];
    for (bytes, want) in cases {
        // Typed fast path and Value path agree.
        assert_eq!(Summary::from_reply(bytes), Err(want.clone()));
        assert_eq!(Devs::from_reply(bytes), Err(want.clone()));
        assert_eq!(ErrorCodes::from_reply(bytes), Err(want.clone()));
        let v = parse_json(bytes).unwrap_or_default();
        assert_eq!(reply::check_status(&v), Err(want));
    }
}
