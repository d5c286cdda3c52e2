//! The v3 read commands of a simulated miner: `get.device.info` (all
//! sections or one), `get.miner.status` (sections joined by `+`) and
//! `get.miner.setting`, with the key names, value types (mostly strings in
//! device info, numbers in status) and units (hash rates in TH/s) of the
//! vendor's examples.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::{code, Refusal, API_VERSION};
use crate::sim::clock::format_datetime;
use crate::sim::fault::Fault;
use crate::sim::miner::MinerState;
use crate::sim::noise::round2;
use crate::sim::readings::Reading;

/// Sections of `get.device.info`, in reply order.
const SECTIONS: &[&str] = &["miner", "system", "power", "network", "salt", "error-code"];

/// TH/s from MH/s, to the 3 decimals the firmware sends.
fn ths(mhs: f64) -> f64 {
    (mhs / 1e3).round() / 1e3
}

fn flag(on: bool) -> &'static str {
    if on {
        "enable"
    } else {
        "disable"
    }
}

impl MinerState {
    pub(super) fn device_info_v3(&self, param: Option<&Value>, now: f64) -> Result<Value, Refusal> {
        let wanted = match param {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if SECTIONS.contains(&s.as_str()) => Some(s.as_str()),
            Some(_) => return Err((code::INVALID_COMMAND, "invalid param")),
        };
        let mut msg = Map::new();
        for section in SECTIONS {
            if wanted.is_some_and(|w| w != *section) {
                continue;
            }
            let value = match *section {
                "miner" => self.miner_section(),
                "system" => self.system_section(),
                "power" => self.power_section(now),
                "network" => self.network_section(),
                "salt" => json!(self.v3.as_ref().map(|v| v.salt.clone()).unwrap_or_default()),
                _ => {
                    // The full reply leaves `error-code` out when there is none.
                    if self.error_codes.is_empty() && wanted.is_none() {
                        continue;
                    }
                    self.error_code_section()
                }
            };
            msg.insert((*section).to_owned(), value);
        }
        Ok(Value::Object(msg))
    }

    fn miner_section(&self) -> Value {
        let spec = self.id.model.spec();
        let s = &self.settings;
        let mut m = json!({
            "type": format!("{}_{}", self.id.model.name(), spec.variant),
            "working": if self.run.powered_on { "true" } else { "false" },
            "board-num": "3",
            "hash-board": spec.chip,
            "miner-sn": self.id.miner_sn,
            "power-limit-set": s.power_limit_w.to_string(),
            "fast-boot": flag(s.fast_boot),
            "pool-strategy": "FAILOVER",
            "hash-percent": s.power_pct.to_string(),
            "web-pool": u8::from(s.web_pools),
        });
        if let Some(map) = m.as_object_mut() {
            for (slot, sn) in self.id.board_sn.iter().enumerate() {
                map.insert(format!("pcbsn{slot}"), json!(sn));
            }
        }
        m
    }

    fn system_section(&self) -> Value {
        let writes_on = !matches!(self.fault, Some(Fault::WriteDisabled));
        json!({
            "api": API_VERSION,
            "platform": "H616",
            "fwversion": self.id.firmware.version,
            "control-board-version": "CB6V10",
            "btrom": "1",
            "apiswitch": if writes_on { "1" } else { "0" },
            "ledstatus": if self.settings.led_manual { "manual" } else { "auto" },
        })
    }

    fn power_section(&self, now: f64) -> Value {
        let r = self.reading(now);
        let vin = 225.0;
        json!({
            "type": "P221B", "mode": "1", "hwversion": "V01.00",
            "swversion": "V01.00.V01.03", "model": "P221B", "vendor": "1",
            "sn": self.id.psu_sn,
            "iin": round2(r.power_w / vin),
            "vin": vin,
            "vout": 1209,
            "pin": r.power_w.round(),
            "fanspeed": r.psu_fan_rpm,
            "temp0": round2(r.env_temp_c + 12.0),
        })
    }

    fn network_section(&self) -> Value {
        let ip = self.id.ip;
        let gateway = match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                format!("{a}.{b}.{c}.1")
            }
            IpAddr::V6(_) => "::1".to_owned(),
        };
        json!({
            "ip": ip.to_string(), "proto": "dhcp", "netmask": "255.255.255.0",
            "gateway": gateway, "dns": "127.0.0.53",
            "mac": self.id.mac, "hostname": self.id.hostname,
        })
    }

    fn error_code_section(&self) -> Value {
        let list: Vec<Value> = self
            .error_codes
            .iter()
            .map(|(code, at)| json!({ code.to_string(): format_datetime(*at), "reason": reason(*code) }))
            .collect();
        Value::Array(list)
    }

    /// `get.miner.status`: a `+`-joined list of `summary`, `pools`,
    /// `edevs`. A stopped miner refuses `pools` alone (`-1`) and leaves
    /// `pools` out of a joined request, as the vendor's worker describes.
    pub(super) fn miner_status_v3(
        &self,
        param: Option<&Value>,
        now: f64,
    ) -> Result<Value, Refusal> {
        let Some(param) = param.and_then(Value::as_str).filter(|p| !p.is_empty()) else {
            return Err((code::INVALID_JSON_ITEM, "param item is null"));
        };
        let sections: Vec<&str> = param.split('+').map(str::trim).collect();
        if sections.len() > 3
            || sections
                .iter()
                .any(|s| !["summary", "pools", "edevs"].contains(s))
        {
            return Err((code::INVALID_COMMAND, "invalid param"));
        }
        let on = self.run.powered_on;
        if !on && sections == ["pools"] {
            return Err((code::FAILED, "miner is not running"));
        }
        let r = self.reading(now);
        let mut msg = Map::new();
        for section in sections {
            let value = match section {
                "summary" => self.summary_v3(&r),
                "pools" if on => self.pools_v3(&r, now),
                "pools" => continue,
                _ => edevs_v3(&r),
            };
            msg.insert(section.to_owned(), value);
        }
        Ok(Value::Object(msg))
    }

    fn summary_v3(&self, r: &Reading) -> Value {
        let temps: Vec<f64> = r.boards.iter().map(|b| round2(b.temp_c)).collect();
        json!({
            "elapsed": r.elapsed_secs,
            "bootup-time": r.uptime_secs,
            "freq-avg": round2(r.freq_avg_mhz),
            "target-freq": r.target_freq_mhz.round(),
            "factory-hash": ths(r.factory_ghs * 1e3),
            "hash-average": ths(r.mhs_av),
            "hash-1min": ths(r.mhs_1m),
            "hash-15min": ths(r.mhs_15m),
            "hash-realtime": ths(r.hs_rt),
            "power-rate": round2(r.power_rate_w_per_th),
            "power-5min": round2(r.power_w),
            "power-realtime": round2(r.power_w),
            "environment-temperature": round2(r.env_temp_c),
            "board-temperature": temps,
            "chip-temp-min": round2(r.chip_temp_min_c),
            "chip-temp-avg": round2(r.chip_temp_avg_c),
            "chip-temp-max": round2(r.chip_temp_max_c),
            "power-limit": r.power_limit_w,
            "up-freq-finish": u8::from(r.upfreq_complete),
            "fan-speed-in": r.fan_in_rpm,
            "fan-speed-out": r.fan_out_rpm,
        })
    }

    fn pools_v3(&self, r: &Reading, now: f64) -> Value {
        let when = self.clock.unix_at(now);
        let list: Vec<Value> = self
            .settings
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let active = i == 0 && r.powered_on;
                let reject = if i == 0 && r.accepted > 0 {
                    round2(r.rejected as f64 * 100.0 / (r.accepted + r.rejected) as f64)
                } else {
                    0.0
                };
                json!({
                    "id": i + 1, "url": p.url, "status": "alive", "account": p.user,
                    "pool-priority": i, "stratum-active": active,
                    "stratum-diff": 65_536.0,
                    "last-share-time": if i == 0 && r.accepted > 0 { when.saturating_sub(3) } else { 0 },
                    "reject-percent": reject,
                })
            })
            .collect();
        Value::Array(list)
    }

    pub(super) fn miner_setting_v3(&self) -> Value {
        let s = &self.settings;
        json!({
            "power-mode": s.power_mode.name().to_ascii_lowercase(),
            "power-limit": s.power_limit_w,
            "power-percent": if s.power_pct == 100 { 0 } else { s.power_pct },
            "power": 0,
            "target-freq": s.target_freq_pct,
            "upfreq-speed": 0,
            "fast-boot": flag(s.fast_boot),
            "fast-hash": "disable",
            "heat-mode": "normal",
        })
    }
}

fn edevs_v3(r: &Reading) -> Value {
    let list: Vec<Value> = r
        .boards
        .iter()
        .map(|b| {
            json!({
                "id": b.slot, "status": if b.alive { "alive" } else { "dead" },
                "hash-average": ths(b.mhs_av), "hash-realtime": ths(b.hs_rt),
                "factory-hash": ths(r.factory_ghs * 1e3 / 3.0),
                "freq": b.freq_mhz.round(), "effective-chips": b.effective_chips,
                "chip-temp-min": round2(b.chip_temp_min_c),
                "chip-temp-avg": round2(b.chip_temp_avg_c),
                "chip-temp-max": round2(b.chip_temp_max_c),
            })
        })
        .collect();
    Value::Array(list)
}

/// A reason text for the codes the simulator raises.
fn reason(code: u32) -> String {
    match code {
        110 => "Fan speed error.".to_owned(),
        350..=352 => format!("Slot{} temperature too high.", code - 350),
        _ => "Error.".to_owned(),
    }
}
