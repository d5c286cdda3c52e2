//! `summary`, `devs`/`edevs` and `pools` as each firmware persona sends
//! them (see `super::persona` for the captures behind every shape). Values
//! come from the same [`Reading`] as the generic replies, so a persona
//! changes names, shapes and units, never the miner's figures.

use serde_json::{json, Map, Value};

use super::miner::{MinerState, PoolConfig};
use super::noise::round2;
use super::persona::{Persona, Shapes};
use super::readings::{BoardReading, Reading};
use super::replies::{msg_reply, pct, pool_shares};
use crate::protocol::codes;

/// MH/s per TH/s: 2025 firmware sends board hash rates in TH/s.
const MHS_PER_THS: f64 = 1_000_000.0;

impl MinerState {
    /// The STATUS list of a successful list-form reply, as the persona
    /// writes it (2022 and 2025 builds send only `STATUS` and `Msg`).
    pub(crate) fn status_entry(&self, when: u64, code: i64, msg: &str) -> Value {
        match self.traits().shapes {
            Shapes::Btminer2022 | Shapes::Firmware2025 => json!([{ "STATUS": "S", "Msg": msg }]),
            _ => json!([{
                "STATUS": "S", "When": when, "Code": code, "Msg": msg,
                "Description": self.traits().description.unwrap_or(""),
            }]),
        }
    }

    /// The persona's `summary`.
    pub(crate) fn persona_summary(&self, shapes: Shapes, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let body = match shapes {
            Shapes::Firmware2025 => return self.summary_2025(&r, when),
            Shapes::Btminer2022 => self.summary_2022(&r),
            _ => self.summary_cgminer_era(&r, shapes == Shapes::Btminer2021),
        };
        json!({ "STATUS": self.status_entry(when, 11, "Summary"), "SUMMARY": [body], "id": 1 })
    }

    /// The persona's `devs` (and `edevs`, which these captures answer alike).
    pub(crate) fn persona_devs(&self, shapes: Shapes, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let devs: Vec<Value> = r
            .boards
            .iter()
            .map(|b| match shapes {
                Shapes::Firmware2025 => self.board_2025(b),
                Shapes::Btminer2022 => self.board_2022(b, &r, when),
                _ => self.board_cgminer_era(b, &r, when, shapes == Shapes::Btminer2021),
            })
            .collect();
        let msg = format!("{} ASC(s)", devs.len());
        json!({ "STATUS": self.status_entry(when, 9, &msg), "DEVS": devs, "id": 1 })
    }

    /// The persona's `pools`: cgminer counts from 0, btminer from 1.
    pub(crate) fn persona_pools(&self, shapes: Shapes, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let first = if shapes == Shapes::Cgminer { 0 } else { 1 };
        let pools: Vec<Value> = self
            .settings
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| pool(shapes, first + i, i, p, &r, when))
            .collect();
        let msg = format!("{} Pool(s)", pools.len());
        json!({ "STATUS": self.status_entry(when, 7, &msg), "POOLS": pools, "id": 1 })
    }

    /// The firmware version as `summary` carries it: in single quotes; the
    /// serialiser turns them into `\'` on the build that escapes them.
    fn summary_firmware(&self) -> String {
        format!("'{}'", self.id.firmware.version)
    }

    /// cgminer 4.9.2 (M20S 20200917) and btminer 2021 (M31S 20201202).
    fn summary_cgminer_era(&self, r: &Reading, btminer: bool) -> Value {
        let elapsed_min = (r.elapsed_secs as f64 / 60.0).max(1.0 / 60.0);
        let diff = 65_536.0;
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("Elapsed", json!(r.elapsed_secs));
        put("MHS av", json!(round2(r.mhs_av)));
        put("MHS 5s", json!(round2(r.mhs_5s)));
        put("MHS 1m", json!(round2(r.mhs_1m)));
        put("MHS 5m", json!(round2(r.mhs_5m)));
        put("MHS 15m", json!(round2(r.mhs_15m)));
        if btminer {
            put("HS RT", json!(round2(r.hs_rt)));
        }
        put("Found Blocks", json!(0));
        put("Getworks", json!(r.accepted / 4 + 1));
        put("Accepted", json!(r.accepted));
        put("Rejected", json!(r.rejected));
        put("Hardware Errors", json!(r.hw_errors));
        put("Utility", json!(round2(r.accepted as f64 / elapsed_min)));
        put("Discarded", json!(r.accepted / 10));
        put("Stale", json!(r.stale));
        put("Get Failures", json!(0));
        put("Local Work", json!(r.accepted * 512));
        put("Remote Failures", json!(0));
        put("Network Blocks", json!(r.elapsed_secs / 600));
        put("Total MH", json!(round2(r.total_mh)));
        put("Work Utility", json!(0.0));
        put("Difficulty Accepted", json!(r.accepted as f64 * diff));
        put("Difficulty Rejected", json!(r.rejected as f64 * diff));
        put("Difficulty Stale", json!(r.stale as f64 * diff));
        put("Best Share", json!(r.accepted * 1_048_576));
        put("Temperature", json!(round2(r.temperature_c)));
        put("freq_avg", json!(r.freq_avg_mhz.round() as u64));
        put("Fan Speed In", json!(r.fan_in_rpm));
        put("Fan Speed Out", json!(r.fan_out_rpm));
        put("Voltage", json!(1300));
        put("Power", json!(r.power_w.round() as u64));
        put("Power_RT", json!(r.power_w.round() as u64));
        if btminer {
            put("Power Rate", json!(round2(r.power_rate_w_per_th)));
        }
        let shares = r.accepted + r.rejected;
        put(
            "Device Hardware%",
            json!(round2(pct(r.hw_errors, shares + r.hw_errors))),
        );
        put("Device Rejected%", json!(round2(pct(r.rejected, shares))));
        put("Pool Rejected%", json!(round2(pct(r.rejected, shares))));
        put(
            "Pool Stale%",
            json!(round2(pct(r.stale, r.accepted + r.stale))),
        );
        put("Last getwork", json!(0));
        put("Uptime", json!(r.uptime_secs));
        put("Chip Data", json!(self.id.model.spec().chip));
        put("Power Current", json!(245));
        put("Power Fanspeed", json!(r.psu_fan_rpm));
        for (i, (code, _)) in self.error_codes.iter().enumerate() {
            put(&format!("Error Code {i}"), json!(code));
            if btminer {
                put(&format!("Error {i} Time"), json!(""));
            }
        }
        put("Error Code Count", json!(self.error_codes.len()));
        put("Factory Error Code Count", json!(0));
        put("Security Mode", json!(0));
        put("Liquid Cooling", json!(false));
        put("Hash Stable", json!(r.upfreq_complete));
        put("Hash Stable Cost Seconds", json!(1498));
        put("Hash Deviation%", json!(0.0));
        put("Target Freq", json!(r.target_freq_mhz.round() as u64));
        put("Target MHS", json!(r.target_mhs.round() as u64));
        put("Env Temp", json!(round2(r.env_temp_c)));
        put("Power Mode", json!(self.settings.power_mode.name()));
        put("Firmware Version", json!(self.summary_firmware()));
        put("CB Platform", json!("ALLWINNER_H3"));
        put("CB Version", json!("V10"));
        put("MAC", json!(self.id.mac));
        put("Factory GHS", json!(r.factory_ghs.round() as u64));
        put("Power Limit", json!(r.power_limit_w));
        if btminer {
            let volts = 229.5;
            put("Power Voltage Input", json!(volts));
            put("Power Current Input", json!(round2(r.power_w / volts)));
        }
        put("Chip Temp Min", json!(round2(r.chip_temp_min_c)));
        put("Chip Temp Max", json!(round2(r.chip_temp_max_c)));
        put("Chip Temp Avg", json!(round2(r.chip_temp_avg_c)));
        if btminer {
            put("Debug", json!("76.5/77.9T_46.4W_100.3/98.5_-3"));
        }
        Value::Object(m)
    }

    /// btminer 2022 (M30SVE20 20220422.18.REL): the shorter field set.
    fn summary_2022(&self, r: &Reading) -> Value {
        json!({
            "Elapsed": r.elapsed_secs,
            "MHS av": round2(r.mhs_av), "MHS 5s": round2(r.mhs_5s),
            "MHS 1m": round2(r.mhs_1m), "MHS 5m": round2(r.mhs_5m),
            "MHS 15m": round2(r.mhs_15m), "HS RT": round2(r.hs_rt),
            "Accepted": r.accepted, "Rejected": r.rejected,
            "Total MH": round2(r.total_mh), "Temperature": round2(r.temperature_c),
            "freq_avg": r.freq_avg_mhz.round() as u64,
            "Fan Speed In": r.fan_in_rpm, "Fan Speed Out": r.fan_out_rpm,
            "Power": r.power_w.round() as u64, "Power Rate": round2(r.power_rate_w_per_th),
            "Pool Rejected%": round2(pct(r.rejected, r.accepted + r.rejected)),
            "Pool Stale%": round2(pct(r.stale, r.accepted + r.stale)),
            "Uptime": r.uptime_secs, "Security Mode": 0,
            "Hash Stable": r.upfreq_complete, "Hash Stable Cost Seconds": 3242,
            "Hash Deviation%": 0.0, "Target Freq": r.target_freq_mhz.round() as u64,
            "Target MHS": r.target_mhs.round() as u64, "Env Temp": round2(r.env_temp_c),
            "Power Mode": self.settings.power_mode.name(),
            "Factory GHS": r.factory_ghs.round() as u64, "Power Limit": r.power_limit_w,
            "Chip Temp Min": round2(r.chip_temp_min_c), "Chip Temp Max": round2(r.chip_temp_max_c),
            "Chip Temp Avg": round2(r.chip_temp_avg_c), "Debug": "00.0_100.0_624",
            "Btminer Fast Boot": if self.settings.fast_boot { "enable" } else { "disable" },
        })
    }

    /// 2025–2026 (M7BS 20260312.16.REL3): `Msg`-wrapped, 24 fields, long
    /// floats for `Elapsed` and `Power`, `Hash Stable` as a string.
    fn summary_2025(&self, r: &Reading, when: u64) -> Value {
        let msg = json!({
            "Elapsed": r.elapsed_secs as f64 + 0.685_546_875,
            "MHS av": round2(r.mhs_av), "MHS 1m": round2(r.mhs_1m),
            "MHS 15m": round2(r.mhs_15m), "HS RT": round2(r.hs_rt),
            "freq_avg": r.freq_avg_mhz,
            "Fan Speed In": r.fan_in_rpm, "Fan Speed Out": r.fan_out_rpm,
            "Power": r.power_w, "Power Rate": r.power_rate_w_per_th,
            "Pool Rejected%": round2(pct(r.rejected, r.accepted + r.rejected)),
            "Uptime": r.uptime_secs,
            "Hash Stable": if r.upfreq_complete { "true" } else { "false" },
            "Hash Stable Cost Seconds": 1299,
            "Target Freq": r.target_freq_mhz.round() as u64,
            "Env Temp": r.env_temp_c,
            "Power Mode": self.settings.power_mode.name(),
            "Factory GHS": r.factory_ghs.round() as u64, "Power Limit": r.power_limit_w,
            "Chip Temp Min": r.chip_temp_min_c, "Chip Temp Max": r.chip_temp_max_c,
            "Chip Temp Avg": round2(r.chip_temp_avg_c),
            "Debug": "15.8 6.9/1.8 6.9/1.8 7.0/1.8 6A:100.0/0.06/0.0/0.0",
            "Btminer Fast Boot": if self.settings.fast_boot { "enable" } else { "disable" },
        });
        msg_reply(when, codes::COMMAND_OK, msg)
    }

    fn board_sn(&self, b: &BoardReading) -> String {
        self.id.board_sn.get(b.slot).cloned().unwrap_or_default()
    }

    /// A board of cgminer 4.9.2 (M20S 2020) and btminer 2021 (M31S, which
    /// adds `Chip Data` and `chip_vol_diff`).
    fn board_cgminer_era(&self, b: &BoardReading, r: &Reading, when: u64, btminer: bool) -> Value {
        let elapsed_min = (r.elapsed_secs as f64 / 60.0).max(1.0 / 60.0);
        let diff = 65_536.0;
        let mut board = json!({
            "ASC": b.slot, "Name": "SM", "ID": b.slot, "Slot": b.slot, "Enabled": "Y",
            "Status": if b.alive { "Alive" } else { "Dead" },
            "Temperature": round2(b.temp_c), "Chip Frequency": b.freq_mhz.round() as u64,
            "Fan Speed In": r.fan_in_rpm, "Fan Speed Out": r.fan_out_rpm,
            "MHS av": round2(b.mhs_av), "MHS 5s": round2(b.mhs_5s), "MHS 1m": round2(b.mhs_1m),
            "MHS 5m": round2(b.mhs_5m), "MHS 15m": round2(b.mhs_15m),
            "Accepted": b.accepted, "Rejected": b.rejected, "Hardware Errors": b.hw_errors,
            "Utility": round2(b.accepted as f64 / elapsed_min), "Last Share Pool": 0,
            "Last Share Time": when.saturating_sub(9), "Total MH": round2(b.total_mh),
            "Diff1 Work": b.accepted * 65_536,
            "Difficulty Accepted": b.accepted as f64 * diff,
            "Difficulty Rejected": b.rejected as f64 * diff,
            "Last Share Difficulty": diff, "Last Valid Work": when,
            "Device Hardware%": round2(pct(b.hw_errors, b.accepted + b.hw_errors)),
            "Device Rejected%": round2(pct(b.rejected, b.accepted + b.rejected)),
            "Device Elapsed": r.elapsed_secs, "Upfreq Complete": u8::from(r.upfreq_complete),
            "Effective Chips": b.effective_chips, "PCB SN": self.board_sn(b),
            "Chip Temp Min": round2(b.chip_temp_min_c), "Chip Temp Max": round2(b.chip_temp_max_c),
            "Chip Temp Avg": round2(b.chip_temp_avg_c),
        });
        if let (true, Some(map)) = (btminer, board.as_object_mut()) {
            map.insert("Chip Data".into(), json!(self.id.model.spec().chip));
            map.insert("chip_vol_diff".into(), json!(b.chip_vol_diff));
        }
        board
    }

    /// A board of btminer 2022 (M30SVE20): no name, ID or fans.
    fn board_2022(&self, b: &BoardReading, r: &Reading, when: u64) -> Value {
        json!({
            "ASC": b.slot, "Slot": b.slot, "Enabled": "Y",
            "Status": if b.alive { "Alive" } else { "Dead" },
            "Temperature": round2(b.temp_c), "Chip Frequency": b.freq_mhz.round() as u64,
            "MHS av": round2(b.mhs_av), "MHS 5s": round2(b.mhs_5s), "MHS 1m": round2(b.mhs_1m),
            "MHS 5m": round2(b.mhs_5m), "MHS 15m": round2(b.mhs_15m), "HS RT": round2(b.hs_rt),
            "Factory GHS": (b.mhs_av / 1000.0).round() as u64,
            "Accepted": b.accepted, "Rejected": b.rejected, "Last Valid Work": when,
            "Upfreq Complete": u8::from(r.upfreq_complete), "Effective Chips": b.effective_chips,
            "PCB SN": self.board_sn(b), "Chip Data": self.id.model.spec().chip,
            "Chip Temp Min": round2(b.chip_temp_min_c), "Chip Temp Max": round2(b.chip_temp_max_c),
            "Chip Temp Avg": round2(b.chip_temp_avg_c), "chip_vol_diff": b.chip_vol_diff,
        })
    }

    /// A board of 2025–2026 firmware: `Slot` only, hash rates in TH/s, no
    /// per-board chip temperatures.
    fn board_2025(&self, b: &BoardReading) -> Value {
        let ths = |mhs: f64| round2(mhs / MHS_PER_THS);
        json!({
            "Slot": b.slot, "Temperature": round2(b.temp_c),
            "Chip Frequency": b.freq_mhz.round() as u64,
            "MHS av": ths(b.mhs_av), "MHS 1m": ths(b.mhs_1m), "MHS 15m": ths(b.mhs_15m),
            "HS RT": ths(b.hs_rt), "Factory GHS": (b.mhs_av / 1000.0).round() as u64,
            "Upfreq Complete": 1, "Effective Chips": b.effective_chips,
            "PCB SN": self.board_sn(b), "Chip Data": self.id.model.spec().chip,
        })
    }

    /// Serialises a reply the way the persona's firmware writes it: the
    /// M20S 20200917 build escapes the quotes of its version as `\'`.
    pub(crate) fn firmware_text(&self, text: String) -> String {
        if !Persona::escapes_quotes(&self.id.firmware) || self.persona.is_none() {
            return text;
        }
        let plain = format!("\"'{}'\"", self.id.firmware.version);
        let escaped = format!("\"\\'{}\\'\"", self.id.firmware.version);
        text.replace(&plain, &escaped)
    }
}

/// One pool entry; `number` is its `POOL` value, `index` its place.
fn pool(
    shapes: Shapes,
    number: usize,
    index: usize,
    p: &PoolConfig,
    r: &Reading,
    when: u64,
) -> Value {
    let (active, accepted, rejected, stale) = pool_shares(index, r);
    let diff = 65_536.0;
    let last_share = if accepted > 0 {
        when.saturating_sub(3)
    } else {
        0
    };
    let stratum_url = p.url.split("://").nth(1).unwrap_or(&p.url).to_string();
    if shapes == Shapes::Firmware2025 {
        return json!({
            "POOL": number, "URL": p.url, "Status": "Alive", "Priority": index, "Quota": 1,
            "Getworks": accepted / 4 + u64::from(active), "Accepted": accepted,
            "Rejected": rejected, "Discarded": 0, "Stale": stale, "Get Failures": 0,
            "Remote Failures": 0, "User": p.user, "Last Share Time": last_share,
            "Stratum Active": active, "Stratum Difficulty": diff,
            "Pool Rejected%": round2(pct(rejected, accepted + rejected)),
            "Pool Stale%": round2(pct(stale, accepted + stale)), "Bad Work": 0,
            "To Remove": false,
        });
    }
    // 2022 sends `Has Stratum` as 1; the cgminer-era builds as true, with `Has GBT`.
    let has_stratum = if shapes == Shapes::Btminer2022 {
        json!(1)
    } else {
        json!(true)
    };
    let mut entry = json!({
        "POOL": number, "URL": p.url, "Status": "Alive", "Priority": index, "Quota": 1,
        "Long Poll": "N", "Getworks": accepted / 4 + u64::from(active),
        "Accepted": accepted, "Rejected": rejected, "Works": accepted * 4,
        "Discarded": accepted / 10, "Stale": stale, "Get Failures": 0, "Remote Failures": 0,
        "User": p.user, "Last Share Time": last_share, "Diff1 Shares": accepted * 65_536,
        "Proxy Type": "", "Proxy": "",
        "Difficulty Accepted": accepted as f64 * diff,
        "Difficulty Rejected": rejected as f64 * diff,
        "Difficulty Stale": stale as f64 * diff,
        "Last Share Difficulty": if accepted > 0 { diff } else { 0.0 },
        "Work Difficulty": 0.0, "Has Stratum": has_stratum, "Stratum Active": active,
        "Stratum URL": if active { stratum_url } else { String::new() },
        "Stratum Difficulty": if active { diff } else { 0.0 },
        "Best Share": accepted * 1_048_576,
        "Pool Rejected%": round2(pct(rejected, accepted + rejected)),
        "Pool Stale%": round2(pct(stale, accepted + stale)),
        "Bad Work": 0, "Current Block Height": 870_000 + when / 600 % 10_000,
        "Current Block Version": 536_870_912,
    });
    if let Some(map) = entry.as_object_mut() {
        if shapes == Shapes::Btminer2022 {
            // The M30SVE20 capture has neither; the M30S+ one has `Long Poll`.
            map.remove("Long Poll");
        } else {
            map.insert("Has GBT".into(), json!(false));
        }
    }
    entry
}
