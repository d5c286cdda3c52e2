//! Conversion tests over the v3 reply samples in `tests/fixtures/v3/`:
//! every mapped value with its unit, and what must stay `None`.

use super::*;
use crate::protocol::v3::{reply_msg, V3Status};

fn msg(text: &str) -> serde_json::Value {
    reply_msg(text.as_bytes()).expect("fixture is a success reply")
}

fn joined() -> V3Status {
    let text = include_str!("../../../../tests/fixtures/v3/synthetic_get_miner_status_joined.json");
    V3Status::from_msg(&msg(text)).expect("status")
}

fn vendor_info() -> DeviceInfo {
    let text = include_str!("../../../../tests/fixtures/v3/vendordoc_get_device_info.json");
    DeviceInfo::from_msg(&msg(text)).expect("device info")
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6 * b.abs().max(1.0))
}

#[test]
fn summary_hash_rates_become_mhs_and_factory_ghs() {
    let status = joined();
    let s = summary(status.summary.as_ref().expect("summary"));
    assert!(close(s.mhs_av, 170.8e6), "{:?}", s.mhs_av);
    assert!(close(s.mhs_1m, 171.2e6));
    assert!(close(s.mhs_15m, 170.5e6));
    assert!(close(s.hs_rt, 171.259e6));
    assert!(close(s.factory_ghs, 181_051.0));
    assert_eq!((s.mhs_5s, s.mhs_5m, s.target_mhs), (None, None, None));
    assert_eq!((s.accepted, s.rejected, s.hash_stable), (None, None, None));
    // Board average of 41.1, 40.1, 41.5.
    assert!(close(s.temperature, 40.9));
    assert_eq!(s.power, Some(3100.0), "power-5min is preferred");
    assert_eq!(s.power_rt, Some(3156.0));
    assert_eq!((s.elapsed, s.uptime), (Some(50_000), Some(1323)));
    assert_eq!(s.power_rate, Some(17.6));
    assert_eq!((s.freq_avg, s.power_limit), (Some(625.0), Some(3600.0)));
    assert_eq!(
        (s.fan_speed_in, s.fan_speed_out),
        (Some(5400.0), Some(5280.0))
    );
    assert_eq!(s.upfreq_complete, Some(true));
    assert_eq!(s.env_temp, Some(28.5));
    assert_eq!(
        (s.chip_temp_min, s.chip_temp_avg, s.chip_temp_max),
        (Some(68.0), Some(75.5), Some(82.0))
    );
}

#[test]
fn boards_take_their_temperature_from_the_summary() {
    let status = joined();
    let devs = boards(
        status.edevs.as_deref().expect("edevs"),
        status.summary.as_ref(),
    );
    assert_eq!(devs.0.len(), 3);
    let b1 = &devs.0[1];
    assert_eq!((b1.slot, b1.index()), (Some(1), Some(1)));
    assert_eq!(b1.status.as_deref(), Some("Alive"));
    assert_eq!(b1.alive(), Some(true));
    assert_eq!(b1.temperature, Some(40.1));
    assert!(close(b1.mhs_av, 56.8e6));
    assert!(close(b1.hs_rt, 57.0e6));
    assert!(close(b1.factory_ghs, 60_350.0));
    assert_eq!(b1.chip_frequency, Some(625.0));
    assert_eq!(b1.effective_chips, Some(75));
    assert_eq!(b1.chip_temp_max, Some(82.0));
    assert_eq!(
        (b1.accepted, b1.hardware_errors, b1.mhs_5s),
        (None, None, None)
    );
    // Without a summary, no temperature is guessed.
    assert_eq!(
        boards(status.edevs.as_deref().unwrap(), None).0[1].temperature,
        None
    );
}

#[test]
fn pools_keep_labels_and_have_no_counters() {
    let status = joined();
    let p = pools(status.pools.as_deref().expect("pools"));
    assert_eq!(p.0.len(), 3);
    assert_eq!(
        p.0[0].url.as_deref(),
        Some("stratum+tcp://btc.example.pool:3333")
    );
    assert_eq!(p.0[0].user.as_deref(), Some("asic-rs.test"));
    assert_eq!(p.0[0].status.as_deref(), Some("Alive"));
    assert_eq!(
        (p.0[0].stratum_active, p.0[1].stratum_active),
        (Some(true), Some(false))
    );
    assert_eq!(p.0[2].priority, Some(2));
    assert_eq!((p.0[0].accepted, p.0[0].pool), (None, None));
}

#[test]
fn a_stopped_miner_reads_as_stopped() {
    let text =
        include_str!("../../../../tests/fixtures/v3/synthetic_get_miner_status_stopped.json");
    let status = V3Status::from_msg(&msg(text)).expect("status");
    let s = summary(status.summary.as_ref().unwrap());
    assert_eq!(s.mhs_av, Some(0.0));
    assert_eq!(s.factory_ghs, None, "negative factory rate means unknown");
    assert_eq!(s.power, Some(12.5));
    assert!(status.pools.is_none());
}

#[test]
fn device_info_fills_version_psu_status_and_network() {
    let info = vendor_info();
    let v = version(&info).expect("version");
    assert_eq!(v.api_ver.as_deref(), Some("3.0.0"));
    assert_eq!(v.fw_ver.as_deref(), Some("20240722.07.51.REL"));
    assert_eq!(v.firmware_date(), Some(20240722));
    let d = devdetails(&info).expect("devdetails");
    assert_eq!(d.0.len(), 3);
    assert_eq!(d.model(), Some("M30S++VH70"));
    let p = psu(&info).expect("psu");
    // 220.5 V and 14.8 A back in the v2 raw units, and out again.
    assert!(close(p.vin, 22_050.0) && close(p.input_volts(), 220.5));
    assert!(close(p.iin, 14_800.0) && close(p.input_amps(), 14.8));
    assert_eq!(p.fan_speed, Some(6112.0));
    assert_eq!(p.serial.as_deref(), Some("1355A2123xxxxxx"));
    assert_eq!(p.name.as_deref(), Some("P221C"));
    let st = miner_status(&info, None).expect("status");
    assert_eq!(
        st.btmineroff,
        Some(true),
        "working=false means mining is off"
    );
    assert_eq!(st.power_limit_set, Some(3600.0));
    let net = miner_info(&info).expect("miner info");
    assert_eq!(net.mac.as_deref(), Some("CA:01:14:00:04:EB"));
    assert_eq!(net.ledstat.as_deref(), Some("auto"));
    assert_eq!(net.powersn.as_deref(), Some("1355A2123xxxxxx"));
    let codes = error_codes(&info);
    let listed: Vec<(&str, Option<&str>)> = codes
        .0
        .iter()
        .map(|c| (c.code.as_str(), c.reason.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("531", Some("Slot1 not found.")),
            ("532", Some("Slot2 not found."))
        ]
    );
}

#[test]
fn settings_give_the_power_mode() {
    let text = include_str!("../../../../tests/fixtures/v3/synthetic_get_miner_setting.json");
    let setting = MinerSetting::from_msg(&msg(text)).expect("setting");
    let st = miner_status(&vendor_info(), Some(&setting)).expect("status");
    assert_eq!(st.power_mode.as_deref(), Some("normal"));
    assert_eq!(st.power_limit_set, Some(3600.0));
}

#[test]
fn missing_sections_give_none_not_defaults() {
    let empty = DeviceInfo::default();
    assert!(version(&empty).is_none());
    assert!(psu(&empty).is_none());
    assert!(devdetails(&empty).is_none());
    assert!(miner_info(&empty).is_none());
    assert!(miner_status(&empty, None).is_none());
    assert!(error_codes(&empty).0.is_empty());
    assert_eq!(normalize_model(" M60S_VK40 "), "M60SVK40");
    assert_eq!(capitalised("dead"), "Dead");
    assert_eq!(capitalised(""), "");
    assert_eq!(whole(Some(-1.0)), None);
    assert_eq!(whole(Some(f64::NAN)), None);
    assert_eq!(whole(Some(2.6)), Some(3));
}
