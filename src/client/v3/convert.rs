//! API v3 data mapped onto the v2 typed structs, so that everything above
//! the client (collector, renderer, admin path) handles one set of types.
//!
//! Each mapping, v3 source → v2 field (units converted where they differ):
//!
//! | v2 struct.field | v3 source | conversion |
//! | --- | --- | --- |
//! | `Summary.mhs_av`, `mhs_1m`, `mhs_15m`, `hs_rt` | `hash-average`, `hash-1min`, `hash-15min`, `hash-realtime` | TH/s × 1e6 → MH/s |
//! | `Summary.factory_ghs` | `factory-hash` | TH/s × 1e3 → GH/s |
//! | `Summary.mhs_5s`, `mhs_5m`, `target_mhs` | none | `None` (v3 has no such window; never invented) |
//! | `Summary.power` | `power-5min`, else `power-realtime` | W |
//! | `Summary.power_rt` | `power-realtime` | W |
//! | `Summary.power_rate`, `power_limit` | `power-rate` (J/TH), `power-limit` (W) | same |
//! | `Summary.temperature` | mean of `board-temperature[]` | °C (v2 `Temperature` is the board average) |
//! | `Summary.env_temp`, `chip_temp_*`, `fan_speed_*` | `environment-temperature`, `chip-temp-*`, `fan-speed-in/out` | same |
//! | `Summary.freq_avg`, `target_freq` | `freq-avg`, `target-freq` | MHz |
//! | `Summary.elapsed`, `uptime` | `elapsed`, `bootup-time` | s, rounded |
//! | `Summary.upfreq_complete` | `up-freq-finish` | flag |
//! | `Summary.accepted`/`rejected`/`stale`, `hash_stable` | none | `None` (no share counters in v3) |
//! | `Board.slot`, `id` | edev `slot` else `id`; `id` | index |
//! | `Board.status` | edev `status` | capitalised (`alive` → `Alive`) |
//! | `Board.mhs_av`, `hs_rt` | edev `hash-average`, `hash-realtime` | TH/s × 1e6 → MH/s |
//! | `Board.factory_ghs` | edev `factory-hash` | TH/s × 1e3 → GH/s |
//! | `Board.temperature` | summary `board-temperature[index]` | °C |
//! | `Board.chip_frequency`, `effective_chips`, `chip_temp_*` | edev `freq`, `effective-chips`, `chip-temp-*` | same |
//! | `Pool.pool`, `url`, `user`, `priority` | pool `id`, `url`, `account`, `pool-priority` | same |
//! | `Pool.status` | pool `status` | capitalised |
//! | `Pool.stratum_active`, `stratum_difficulty`, `last_share_time`, `pool_rejected_pct` | `stratum-active`, `stratum-diff`, `last-share-time`, `reject-percent`/`reject-rate` | same |
//! | `Version.api_ver`, `fw_ver`, `platform` | `system.api`, `system.fwversion`, `system.platform` | same |
//! | `DevDetail.model` | `miner.type` | `M60S_VK40` → `M60SVK40`, the v2 `devdetails` spelling |
//! | `Psu.vin` | `power.vin` | V × 100 → the v2 raw 10 mV unit |
//! | `Psu.iin` | `power.iin` | A × 1000 → the v2 raw mA unit |
//! | `Psu.name`, `model`, `serial`, `hw_version`, `sw_version`, `vendor`, `fan_speed` | `power.type`, `model`, `sn`, `hwversion`, `swversion`, `vendor`, `fanspeed` | same |
//! | `MinerStatus.btmineroff` | `miner.working` | negated |
//! | `MinerStatus.firmware_version` | `system.fwversion` | same |
//! | `MinerStatus.power_mode`, `power_limit_set` | `get.miner.setting` `power-mode`, `power-limit` (else `miner.power-limit-set`) | same |
//! | `MinerInfo.*` | `network.*`; `ledstat` ← `system.ledstatus`; `minersn` ← `miner.miner-sn`; `powersn` ← `power.sn` | same |
//! | `ErrorCodes` | `error-code` list | code, time, reason |

use crate::client::types::{
    Board, DevDetail, DevDetails, Devs, ErrorCode, ErrorCodes, MinerInfo, MinerStatus, Pool, Pools,
    Psu, Summary, Version,
};
use crate::protocol::v3::{self as p3, DeviceInfo, MinerSetting};

/// MH/s per TH/s.
pub const MHS_PER_THS: f64 = 1e6;
/// GH/s per TH/s.
pub const GHS_PER_THS: f64 = 1e3;
/// Most boards a miner is taken to have when building `devdetails`.
const MAX_BOARDS: usize = 16;

fn scale(v: Option<f64>, factor: f64) -> Option<f64> {
    v.map(|x| x * factor)
}

/// A non-negative whole number of a float, rounded (seconds, counts).
fn whole(v: Option<f64>) -> Option<u64> {
    v.filter(|x| x.is_finite() && *x >= 0.0 && *x < u64::MAX as f64)
        .map(|x| x.round() as u64)
}

/// `alive` → `Alive`, as v2 writes statuses.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn mean(values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// The v2 `summary` of a v3 `get.miner.status` summary.
pub fn summary(s: &p3::V3Summary) -> Summary {
    Summary {
        elapsed: whole(s.elapsed_s),
        uptime: whole(s.bootup_time_s),
        mhs_av: scale(s.hash_average_ths, MHS_PER_THS),
        mhs_1m: scale(s.hash_1min_ths, MHS_PER_THS),
        mhs_15m: scale(s.hash_15min_ths, MHS_PER_THS),
        hs_rt: scale(s.hash_realtime_ths, MHS_PER_THS),
        factory_ghs: scale(s.factory_hash_ths, GHS_PER_THS),
        temperature: mean(&s.board_temps_c),
        env_temp: s.environment_temp_c,
        chip_temp_min: s.chip_temp_min_c,
        chip_temp_max: s.chip_temp_max_c,
        chip_temp_avg: s.chip_temp_avg_c,
        freq_avg: s.freq_avg_mhz,
        target_freq: s.target_freq_mhz,
        fan_speed_in: s.fan_speed_in_rpm,
        fan_speed_out: s.fan_speed_out_rpm,
        power: s.power_5min_w.or(s.power_realtime_w),
        power_rt: s.power_realtime_w,
        power_rate: s.power_rate_j_per_th,
        power_limit: s.power_limit_w,
        upfreq_complete: s.upfreq_finished,
        ..Summary::default()
    }
}

/// The v2 `devs` of v3 `edevs`; board temperatures come from the summary's
/// `board-temperature` list, by board index.
pub fn boards(edevs: &[p3::V3Edev], summary: Option<&p3::V3Summary>) -> Devs {
    let temps: &[Option<f64>] = summary.map_or(&[], |s| s.board_temps_c.as_slice());
    let list = edevs
        .iter()
        .enumerate()
        .map(|(position, e)| {
            let index = whole(e.slot.or(e.id)).unwrap_or(position as u64);
            let temperature = usize::try_from(index)
                .ok()
                .and_then(|i| temps.get(i).copied().flatten());
            Board {
                slot: Some(index),
                id: whole(e.id),
                status: e.status.as_deref().map(capitalised),
                temperature,
                chip_frequency: e.freq_mhz,
                mhs_av: scale(e.hash_average_ths, MHS_PER_THS),
                hs_rt: scale(e.hash_realtime_ths, MHS_PER_THS),
                factory_ghs: scale(e.factory_hash_ths, GHS_PER_THS),
                effective_chips: whole(e.effective_chips),
                chip_temp_min: e.chip_temp_min_c,
                chip_temp_max: e.chip_temp_max_c,
                chip_temp_avg: e.chip_temp_avg_c,
                ..Board::default()
            }
        })
        .collect();
    Devs(list)
}

/// The v2 `pools` of v3 pools. Share counters stay `None` unless a
/// firmware sends them.
pub fn pools(list: &[p3::V3Pool]) -> Pools {
    Pools(
        list.iter()
            .map(|p| Pool {
                pool: whole(p.id),
                url: p.url.clone(),
                status: p.status.as_deref().map(capitalised),
                priority: p.priority.filter(|x| x.is_finite()).map(|x| x as i64),
                user: p.account.clone(),
                accepted: whole(p.accepted),
                rejected: whole(p.rejected),
                stale: whole(p.stale),
                last_share_time: whole(p.last_share_time),
                pool_rejected_pct: p.reject_percent,
                stratum_active: p.stratum_active,
                stratum_difficulty: p.stratum_diff,
                ..Pool::default()
            })
            .collect(),
    )
}

/// `M60S_VK40` → `M60SVK40`: the v2 `devdetails` spelling, so the `model`
/// label does not change with the API spoken.
pub fn normalize_model(model: &str) -> String {
    model.trim().replace('_', "")
}

/// `get_version` from `system`.
pub fn version(info: &DeviceInfo) -> Option<Version> {
    let system = info.system.as_ref()?;
    Some(Version {
        api_ver: system.api_version.clone(),
        fw_ver: system.firmware_version.clone(),
        platform: system.platform.clone(),
        chip: None,
        miner_type: None,
    })
}

/// `devdetails` from `miner`: one entry per board, each naming the model.
pub fn devdetails(info: &DeviceInfo) -> Option<DevDetails> {
    let miner = info.miner.as_ref()?;
    let model = miner.model.as_deref().map(normalize_model);
    let boards = whole(miner.board_count)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
        .clamp(1, MAX_BOARDS);
    Some(DevDetails(
        (0..boards as u64)
            .map(|i| DevDetail {
                index: Some(i),
                id: Some(i),
                model: model.clone(),
                ..DevDetail::default()
            })
            .collect(),
    ))
}

/// `get_psu` from `power`, in the v2 raw units (see the module table).
pub fn psu(info: &DeviceInfo) -> Option<Psu> {
    let p = info.power.as_ref()?;
    Some(Psu {
        name: p.psu_type.clone(),
        model: p.model.clone(),
        serial: p.serial.clone(),
        hw_version: p.hw_version.clone(),
        sw_version: p.sw_version.clone(),
        vin: scale(p.input_voltage_v, 100.0),
        iin: scale(p.input_current_a, 1000.0),
        fan_speed: p.fan_speed_rpm,
        vendor: p.vendor.clone(),
    })
}

/// `status` from `miner.working` and, when fetched, `get.miner.setting`.
pub fn miner_status(info: &DeviceInfo, setting: Option<&MinerSetting>) -> Option<MinerStatus> {
    if info.miner.is_none() && info.system.is_none() && setting.is_none() {
        return None;
    }
    let miner = info.miner.as_ref();
    Some(MinerStatus {
        btmineroff: miner.and_then(|m| m.working).map(|working| !working),
        firmware_version: info
            .system
            .as_ref()
            .and_then(|s| s.firmware_version.clone()),
        power_mode: setting.and_then(|s| s.power_mode.clone()),
        power_limit_set: setting
            .and_then(|s| s.power_limit_w)
            .or_else(|| miner.and_then(|m| m.power_limit_set_w)),
        ..MinerStatus::default()
    })
}

/// `get_miner_info` from `network` (plus LED state and serials).
pub fn miner_info(info: &DeviceInfo) -> Option<MinerInfo> {
    let net = info.network.as_ref()?;
    Some(MinerInfo {
        ip: net.ip.clone(),
        proto: net.proto.clone(),
        netmask: net.netmask.clone(),
        gateway: net.gateway.clone(),
        dns: net.dns.clone(),
        hostname: net.hostname.clone(),
        mac: net.mac.clone(),
        ledstat: info.system.as_ref().and_then(|s| s.led_status.clone()),
        minersn: info.miner.as_ref().and_then(|m| m.serial.clone()),
        powersn: info.power.as_ref().and_then(|p| p.serial.clone()),
    })
}

/// `get_error_code` from `error-code`. A full `get.device.info` leaves the
/// key out when there is no error, so an empty list is a real answer.
pub fn error_codes(info: &DeviceInfo) -> ErrorCodes {
    ErrorCodes(
        info.error_codes
            .iter()
            .map(|e| ErrorCode {
                code: e.code.clone(),
                time: e.time.clone(),
                reason: e.reason.clone(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
