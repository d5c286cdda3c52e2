//! The real captures added for issue 16 (cgminer-4.9.2 era to 2026
//! firmware) parse into the values they hold. Provenance: the fixtures
//! README.

use super::fixtures::ok;
use crate::client::types::*;
use crate::error::ErrorKind;

#[test]
fn m3_2018_has_no_power_and_pools_from_zero() {
    let s: Summary = ok(fixture!("m3_2018_summary.json"));
    assert_eq!(s.elapsed, Some(43685));
    assert_eq!((s.mhs_av, s.mhs_5s), (Some(11763615.45), Some(12286819.78)));
    assert_eq!((s.accepted, s.rejected), (Some(218), Some(0)));
    assert_eq!(s.temperature, Some(85.5));
    assert_eq!(
        (s.fan_speed_in, s.fan_speed_out),
        (Some(5730.0), Some(5880.0))
    );
    assert_eq!(
        (s.power, s.power_rt, s.hs_rt, s.uptime),
        (None, None, None, None)
    );
    assert_eq!(s.total_mh, Some(513892815043.0));
    let Pools(p) = ok(fixture!("m3_2018_pools.json"));
    assert_eq!(p.len(), 3);
    assert_eq!((p[0].pool, p[0].alive()), (Some(0), Some(false)));
    assert_eq!(
        (p[1].accepted, p[1].rejected, p[1].stale),
        (Some(2628), Some(1), Some(2))
    );
    assert_eq!(
        p[1].user.as_deref(),
        Some("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    );
}

#[test]
fn m20s_2019_summary_and_pools() {
    let s: Summary = ok(fixture!("m20s_2019_summary.json"));
    assert_eq!(s.mhs_av, Some(65492089.33));
    assert_eq!(
        (s.accepted, s.rejected, s.stale),
        (Some(33825), Some(185), Some(27))
    );
    assert_eq!((s.temperature, s.uptime), (Some(75.0), Some(98801)));
    assert_eq!(s.power_fanspeed, Some(8160.0));
    assert_eq!((s.power, s.firmware_version), (None, None));
    let Pools(p) = ok(fixture!("m20s_2019_pools.json"));
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].user.as_deref(), Some("002m20s"));
    assert_eq!(p[0].pool, Some(0));
}

#[test]
fn m20s_fw20200917_summary_with_backslash_quote_is_repaired() {
    let s: Summary = ok(fixture!("m20s_fw20200917_summary.json"));
    assert_eq!(s.firmware_version.as_deref(), Some("20200917.22.REL"));
    assert_eq!(s.mhs_av, Some(68710597.19));
    assert_eq!((s.power, s.power_rt), (Some(3491.0), Some(3482.0)));
    assert_eq!(s.temperature, Some(72.0));
    assert_eq!(s.mac.as_deref(), Some("C4:11:04:01:3C:75"));
    assert_eq!(s.factory_ghs, Some(67051.0));
    assert_eq!(s.target_mhs, Some(68765832.0));
    assert_eq!(s.chip_temp_max, Some(87.7));
    assert_eq!(s.hash_stable, Some(true));
    let Devs(b) = ok(fixture!("m20s_fw20200917_devs.json"));
    assert_eq!(b.len(), 3);
    assert_eq!((b[1].asc, b[1].index()), (Some(1), Some(1)));
    assert_eq!(b[1].mhs_av, Some(23220108.38));
    assert_eq!(b[1].chip_temp_max, Some(84.5));
    assert_eq!(b[2].pcb_sn.as_deref(), Some("H3M14S6F200114K10115"));
}

#[test]
fn m30s_fw20200512_cgminer_4_9_2() {
    // This firmware reads only the `command` key; `cmd` gets code 24.
    let err = Summary::from_reply(fixture!("m30s_fw20200512_error_cmd_key.json"));
    assert_eq!(
        err,
        Err(ErrorKind::Miner {
            code: Some(24),
            message: "Missing JSON 'command'".into()
        })
    );
    let s: Summary = ok(fixture!("m30s_fw20200512_summary.json"));
    assert_eq!(s.firmware_version.as_deref(), Some("20200512.13.REL"));
    assert_eq!(s.mhs_av, Some(85106399.37));
    assert_eq!((s.accepted, s.rejected), (Some(1739), Some(1)));
    assert_eq!((s.power, s.power_limit), (Some(3230.0), Some(3600.0)));
    assert_eq!(s.mac.as_deref(), Some("C6:02:14:00:1F:B3"));
    let Edevs(b) = ok(fixture!("m30s_fw20200512_edevs.json"));
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].mhs_av, Some(29376598.53));
    assert_eq!(b[0].temperature, Some(80.0));
    assert_eq!(b[2].chip_temp_max, Some(90.64));
    let Pools(p) = ok(fixture!("m30s_fw20200512_pools.json"));
    assert_eq!(
        (p.len(), p[0].pool, p[0].accepted),
        (3, Some(0), Some(1739))
    );
}

#[test]
fn m31s_btminer_2020_and_2021() {
    let s: Summary = ok(fixture!("m31s_fw20201202_summary.json"));
    assert_eq!(s.firmware_version.as_deref(), Some("20201202.22.REL"));
    assert_eq!((s.mhs_av, s.hs_rt), (Some(76718604.38), Some(76690808.44)));
    assert_eq!(s.uptime, Some(1405529));
    assert_eq!(s.fan_speed_out, Some(0.0));
    let Edevs(b) = ok(fixture!("m31s_fw20201202_edevs.json"));
    assert_eq!(b[1].mhs_av, Some(26094168.35));
    assert_eq!(b[2].pcb_sn.as_deref(), Some("x"));
    let Pools(p) = ok(fixture!("m31s_fw20201202_pools.json"));
    assert_eq!(
        p.iter().map(|p| p.pool).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)]
    );
    assert_eq!(
        p[0].url.as_deref(),
        Some("stratum+tcp://btc.ss.poolin.com:443")
    );

    let s: Summary = ok(fixture!("m31s_2021_summary.json"));
    assert_eq!(s.firmware_version.as_deref(), Some("20210109.22.REL"));
    assert_eq!(s.mhs_av, Some(99793646.89));
    assert_eq!(s.temperature, Some(80.0));
    let Edevs(b) = ok(fixture!("m31s_2021_edevs.json"));
    assert_eq!(
        b.iter().map(|b| b.index()).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    assert_eq!(b[0].chip_vol_diff, Some(14.0));
    let Pools(p) = ok(fixture!("m31s_2021_pools.json"));
    assert_eq!(
        (p[0].accepted, p[0].rejected, p[0].stale),
        (Some(457459), Some(518), Some(95))
    );
    let st: MinerStatus = ok(fixture!("m31s_fw20210109_status_off.json"));
    assert_eq!(st.btmineroff, Some(true));
    assert_eq!(st.firmware_version.as_deref(), Some("20210109.22.REL"));
}

#[test]
fn fw20210322_summary_via_python_bridge() {
    let s: Summary = ok(fixture!("fw20210322_cgminer_summary_mqtt.json"));
    assert_eq!(s.firmware_version.as_deref(), Some("20210322.22.REL"));
    assert_eq!(s.hs_rt, Some(54844639.42));
    assert_eq!((s.accepted, s.rejected), (Some(148655), Some(37)));
    assert_eq!(s.power_limit, Some(3500.0));
    assert_eq!(s.liquid_cooling, Some(false));
    assert_eq!(s.chip_temp_max, Some(0.0));
}

#[test]
fn m7bs_2026_firmware() {
    let v: Version = ok(fixture!("m7bs_fw20260312_get_version.json"));
    assert_eq!(v.api_ver.as_deref(), Some("2.2.2"));
    assert_eq!(v.fw_ver.as_deref(), Some("20260312.16.REL3"));
    assert_eq!(v.firmware_date(), Some(20260312));
    assert_eq!(v.miner_type.as_deref(), Some("M7BS_VM30"));
    assert_eq!(v.model().as_deref(), Some("M7BSVM30"));
    let s: Summary = ok(fixture!("m7bs_fw20260312_summary.json"));
    assert_eq!(s.mhs_av, Some(692030656.0));
    assert_eq!(
        (s.mhs_1m, s.mhs_15m),
        (Some(692632192.0), Some(692005440.0))
    );
    assert_eq!(s.hs_rt, Some(692632192.0));
    assert_eq!(s.elapsed, Some(10658)); // sent as 10658.685546875
    assert_eq!(s.uptime, Some(12927));
    assert_eq!(s.power, Some(9763.263333333334));
    assert_eq!(s.hash_stable, Some(true)); // the string "true"
    assert_eq!(s.btminer_fast_boot, Some(false)); // "disable"
    assert_eq!(s.power_mode.as_deref(), Some("High"));
    assert_eq!((s.env_temp, s.chip_temp_avg), (Some(45.562), Some(67.5)));
    // Fields this summary no longer has.
    assert_eq!(
        (
            s.temperature,
            s.accepted,
            s.rejected,
            s.mhs_5s,
            s.mhs_5m,
            s.target_mhs
        ),
        (None, None, None, None, None, None)
    );
    let Edevs(b) = ok(fixture!("m7bs_fw20260312_edevs.json"));
    assert_eq!(b.len(), 4);
    assert_eq!(
        b.iter().map(|b| b.index()).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2), Some(3)]
    );
    assert_eq!(b[0].asc, None);
    assert_eq!(
        (b[0].mhs_av, b[0].factory_ghs),
        (Some(170.62), Some(139930.0))
    );
    assert_eq!(b[0].upfreq_complete, Some(true));
    assert_eq!(b[0].chip_temp_max, None);
    assert_eq!(
        BoardHashUnit::detect(&b, Some(&s)),
        BoardHashUnit::Tera,
        "these boards report TH/s"
    );
    let Pools(p) = ok(fixture!("m7bs_fw20260312_pools.json"));
    assert_eq!((p[0].accepted, p[0].rejected), (Some(432), Some(0)));
    assert_eq!(p[0].stratum_difficulty, Some(4194304.0));
    let st: MinerStatus = ok(fixture!("m7bs_fw20260312_status.json"));
    assert_eq!(st.btmineroff, Some(false));
    assert_eq!(st.firmware_version.as_deref(), Some("20260312.16.REL3"));
    let i: MinerInfo = ok(fixture!("m7bs_fw20260312_get_miner_info.json"));
    assert_eq!(
        i.minersn.as_deref(),
        Some("BTM7BS30FA26031256090407244H05947")
    );
    let e: ErrorCodes = ok(fixture!("m7bs_fw20260312_get_error_code.json"));
    assert!(e.0.is_empty());
}

#[test]
fn m66s_excerpt_and_deprecated_devdetails() {
    let s: Summary = ok(fixture!("excerpt_m66spp_fw20251209_summary.json"));
    assert_eq!((s.mhs_av, s.power), (Some(264538480.0), Some(3949.0)));
    assert_eq!(s.hash_stable, Some(false)); // the string "false"
    assert_eq!(
        DevDetails::from_reply(fixture!("synthetic_devdetails_deprecated.json")),
        Err(ErrorKind::Miner {
            code: Some(132),
            message: "This command is deprecated.".into()
        })
    );
}
