//! Replies of the read-only commands, in the two shapes the firmware uses:
//! cgminer-style lists (`"STATUS":[..]` plus `SUMMARY`/`DEVS`/`POOLS`) and,
//! from API 2.0.5 on, `summary` wrapped as `{"STATUS":"S","Msg":{..}}`.
//! Whatsminer-specific commands (`get_version`, `status`, `get_psu`,
//! `get_miner_info`, `get_error_code`, `get_token`) answer in the `Msg`
//! form on every firmware. Field names and units follow the protocol notes.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::clock::format_datetime;
use super::miner::MinerState;
use super::model::Flavour;
use super::noise::round2;
use super::persona::Persona;
use super::readings::Reading;
use crate::protocol::codes;

/// `{"STATUS":<status>,"When":..,"Code":..,"Msg":<msg>,"Description":..}`:
/// a whole reply in the `Msg` form, or one entry of cgminer's status list.
pub(crate) fn status_object(
    status: &str,
    when: u64,
    code: i64,
    msg: Value,
    description: &str,
) -> Value {
    json!({ "STATUS": status, "When": when, "Code": code, "Msg": msg, "Description": description })
}

/// `{"STATUS":"E","When":..,"Code":..,"Msg":"..","Description":""}`.
pub fn error_reply(when: u64, code: i64, msg: &str) -> Value {
    status_object("E", when, code, msg.into(), "")
}

/// `{"STATUS":"S","When":..,"Code":..,"Msg":<msg>,"Description":""}`.
pub fn msg_reply(when: u64, code: i64, msg: Value) -> Value {
    status_object("S", when, code, msg, "")
}

/// The cgminer-style status list of a successful classic reply.
fn status_list(when: u64, code: i64, msg: &str) -> Value {
    json!([status_object("S", when, code, msg.into(), "btminer")])
}

/// Replaces every JSON number by its text (the NumbersAsStrings fault).
pub fn numbers_to_strings(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_to_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_to_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

impl MinerState {
    fn flavour(&self) -> Flavour {
        self.id.firmware.flavour
    }

    /// The firmware quotes its version inside the string.
    fn quoted_firmware(&self) -> String {
        format!("'{}'", self.id.firmware.version)
    }

    /// The reply to a read-only command known to [`super::counters`].
    pub(crate) fn read_reply(
        &mut self,
        cmd: &str,
        request: &Map<String, Value>,
        peer: IpAddr,
        now: f64,
    ) -> Value {
        let when = self.clock.unix_at(now);
        if let Some(reply) = self.persona_read(cmd, now, when) {
            return reply;
        }
        match cmd {
            "summary" => self.summary_reply(now, when),
            "devs" | "edevs" => self.devs_reply(now, when),
            "pools" => self.pools_reply(now, when),
            "devdetails" => self.devdetails_reply(when),
            "get_version" => self.version_reply(when),
            "get_psu" => self.psu_reply(now, when),
            "status" => self.status_reply(when),
            "get_miner_info" => self.miner_info_reply(request, when),
            "get_error_code" => self.error_code_reply(when),
            "get_token" => self.token_reply(peer, now, when),
            _ => error_reply(when, codes::INVALID_COMMAND, "invalid cmd"),
        }
    }

    fn summary_reply(&self, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let s = &self.settings;
        let elapsed_min = (r.elapsed_secs as f64 / 60.0).max(1.0 / 60.0);
        let mut m = json!({
            "Elapsed": r.elapsed_secs,
            "MHS av": round2(r.mhs_av),
            "MHS 5s": round2(r.mhs_5s),
            "MHS 1m": round2(r.mhs_1m),
            "MHS 5m": round2(r.mhs_5m),
            "MHS 15m": round2(r.mhs_15m),
            "HS RT": round2(r.hs_rt),
            "Accepted": r.accepted,
            "Rejected": r.rejected,
            "Stale": r.stale,
            "Hardware Errors": r.hw_errors,
            "Utility": round2(r.accepted as f64 / elapsed_min),
            "Total MH": round2(r.total_mh),
            "Temperature": round2(r.temperature_c),
            "freq_avg": round2(r.freq_avg_mhz),
            "Fan Speed In": r.fan_in_rpm,
            "Fan Speed Out": r.fan_out_rpm,
            "Power": r.power_w.round() as u64,
            "Power Rate": round2(r.power_rate_w_per_th),
            "Power Limit": r.power_limit_w,
            "Power Mode": s.power_mode.name(),
            "Chip Temp Min": round2(r.chip_temp_min_c),
            "Chip Temp Max": round2(r.chip_temp_max_c),
            "Chip Temp Avg": round2(r.chip_temp_avg_c),
            "Env Temp": round2(r.env_temp_c),
            "Power Fanspeed": r.psu_fan_rpm,
            "Uptime": r.uptime_secs,
            "Factory GHS": r.factory_ghs.round() as u64,
            "Error Code Count": self.error_codes.len(),
            "Hash Stable": r.upfreq_complete,
            "Target Freq": r.target_freq_mhz.round() as u64,
            "Target MHS": round2(r.target_mhs),
            "Btminer Fast Boot": if s.fast_boot { "enable" } else { "disable" },
            "Upfreq Complete": u8::from(r.upfreq_complete),
            "Security Mode": 0,
            "Liquid Cooling": false,
            "Firmware Version": self.quoted_firmware(),
            "MAC": self.id.mac,
        });
        match self.flavour() {
            Flavour::Classic => json!({
                "STATUS": status_list(when, 11, "Summary"),
                "SUMMARY": [m],
                "id": 1,
            }),
            Flavour::Wrapped => {
                if let Some(map) = m.as_object_mut() {
                    for gone in ["MHS 5s", "MHS 5m", "Target MHS"] {
                        map.remove(gone);
                    }
                }
                msg_reply(when, codes::COMMAND_OK, m)
            }
        }
    }

    fn devs_reply(&self, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let wrapped = self.flavour() == Flavour::Wrapped;
        let devs: Vec<Value> = r
            .boards
            .iter()
            .map(|b| {
                let elapsed_min = (r.elapsed_secs as f64 / 60.0).max(1.0 / 60.0);
                let mut d = json!({
                    "ASC": b.slot,
                    "Name": "SM",
                    "ID": b.slot,
                    "Slot": b.slot,
                    "Enabled": "Y",
                    "Status": if b.alive { "Alive" } else { "Dead" },
                    "Temperature": round2(b.temp_c),
                    "Chip Frequency": b.freq_mhz.round() as u64,
                    "Fan Speed In": r.fan_in_rpm,
                    "Fan Speed Out": r.fan_out_rpm,
                    "MHS av": round2(b.mhs_av),
                    "MHS 5s": round2(b.mhs_5s),
                    "MHS 1m": round2(b.mhs_1m),
                    "MHS 5m": round2(b.mhs_5m),
                    "MHS 15m": round2(b.mhs_15m),
                    "HS RT": round2(b.hs_rt),
                    "Accepted": b.accepted,
                    "Rejected": b.rejected,
                    "Hardware Errors": b.hw_errors,
                    "Utility": round2(b.accepted as f64 / elapsed_min),
                    "Last Share Pool": 0,
                    "Last Share Time": when.saturating_sub(3),
                    "Total MH": round2(b.total_mh),
                    "Diff1 Work": b.accepted * 65_536,
                    "Device Hardware%": round2(pct(b.hw_errors, b.accepted + b.hw_errors)),
                    "Device Rejected%": round2(pct(b.rejected, b.accepted + b.rejected)),
                    "Device Elapsed": r.elapsed_secs,
                    "Upfreq Complete": u8::from(r.upfreq_complete),
                    "Effective Chips": b.effective_chips,
                    "PCB SN": self.id.board_sn.get(b.slot).cloned().unwrap_or_default(),
                    "Chip Temp Min": round2(b.chip_temp_min_c),
                    "Chip Temp Max": round2(b.chip_temp_max_c),
                    "Chip Temp Avg": round2(b.chip_temp_avg_c),
                    "chip_vol_diff": b.chip_vol_diff,
                });
                if wrapped {
                    if let Some(map) = d.as_object_mut() {
                        for gone in ["ASC", "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg"] {
                            map.remove(gone);
                        }
                    }
                }
                d
            })
            .collect();
        json!({ "STATUS": status_list(when, 9, "3 ASC(s)"), "DEVS": devs, "id": 1 })
    }

    fn pools_reply(&self, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let pools: Vec<Value> = self
            .settings
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| pool_entry(i, p, &r, when))
            .collect();
        let msg = format!("{} Pool(s)", pools.len());
        json!({ "STATUS": status_list(when, 7, &msg), "POOLS": pools, "id": 1 })
    }

    fn devdetails_reply(&self, when: u64) -> Value {
        let details: Vec<Value> = (0..3)
            .map(|slot| {
                json!({
                    "DEVDETAILS": slot, "Name": "SM", "ID": slot, "Driver": "bitmicro",
                    "Kernel": "", "Model": self.id.model.type_string(),
                })
            })
            .collect();
        let status = self.status_entry(when, 69, "Device Details");
        json!({ "STATUS": status, "DEVDETAILS": details, "id": 1 })
    }

    fn version_reply(&self, when: u64) -> Value {
        let fw = &self.id.firmware;
        if self.persona == Some(Persona::Btminer2021) {
            // The 2021 build names its API in `api_ver` and `Description`
            // and has no platform or chip (the fw20210322 capture).
            let msg = json!({ "api_ver": fw.api_version, "fw_ver": fw.version });
            let mut reply = msg_reply(when, codes::COMMAND_OK, msg);
            if let Some(map) = reply.as_object_mut() {
                map.insert("Description".into(), json!(fw.api_version));
            }
            return reply;
        }
        if self.persona == Some(Persona::Firmware2025) {
            let msg = json!({
                "api_ver": fw.api_version, "fw_ver": fw.version, "platform": "H616",
                "chip": self.id.model.spec().chip, "miner_type": self.id.model.type_string(),
            });
            return msg_reply(when, codes::COMMAND_OK, msg);
        }
        let msg = json!({
            "api_ver": fw.api_version, "fw_ver": fw.version,
            "platform": "H6OS", "chip": self.id.model.spec().chip,
        });
        msg_reply(when, codes::COMMAND_OK, msg)
    }

    fn psu_reply(&self, now: f64, when: u64) -> Value {
        let r = self.reading(now);
        let vin_v = 225.0;
        let msg = json!({
            "name": "P221B", "model": "P221B", "hw_version": "V01.00",
            "sw_version": "V01.00.V01.03", "version": "V01.00", "vendor": "1",
            "serial_no": self.id.psu_sn,
            "iin": format!("{:.0}", r.power_w / vin_v * 1000.0),
            "vin": format!("{:.0}", vin_v * 100.0),
            "pin": format!("{:.0}", r.power_w),
            "fan_speed": r.psu_fan_rpm.to_string(),
        });
        msg_reply(when, codes::COMMAND_OK, msg)
    }

    fn status_reply(&self, when: u64) -> Value {
        let s = &self.settings;
        if self.persona == Some(Persona::Firmware2025) {
            // The REL3 capture's keys: `mineroff`, `FirmwareVersion` unquoted.
            let msg = json!({
                "mineroff": if self.run.powered_on { "false" } else { "true" },
                "mineroff_reason": "", "mineroff_time": "",
                "FirmwareVersion": self.id.firmware.version,
                "power_mode": s.power_mode.name().to_lowercase(),
                "power_limit_set": s.power_limit_w.to_string(),
                "hash_percent": s.power_pct.to_string(),
                "fast_mining": "false", "fast_hash": "false",
            });
            return msg_reply(when, codes::COMMAND_OK, msg);
        }
        let msg = json!({
            "btmineroff": if self.run.powered_on { "false" } else { "true" },
            "Firmware Version": self.quoted_firmware(),
            "power_mode": s.power_mode.name(),
            "power_limit_set": s.power_limit_w.to_string(),
            "hash_percent": s.power_pct.to_string(),
        });
        msg_reply(when, codes::COMMAND_OK, msg)
    }

    fn miner_info_reply(&self, request: &Map<String, Value>, when: u64) -> Value {
        let ip = self.id.ip.to_string();
        let gateway = match self.id.ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                format!("{a}.{b}.{c}.1")
            }
            IpAddr::V6(_) => "::1".to_string(),
        };
        let all = [
            ("ip", ip),
            ("proto", "dhcp".to_string()),
            ("netmask", "255.255.255.0".to_string()),
            ("gateway", gateway),
            ("dns", "127.0.0.53".to_string()),
            ("hostname", self.id.hostname.clone()),
            ("mac", self.id.mac.clone()),
            (
                "ledstat",
                if self.settings.led_manual {
                    "manual"
                } else {
                    "auto"
                }
                .to_string(),
            ),
            ("minersn", self.id.miner_sn.clone()),
            ("powersn", self.id.psu_sn.clone()),
        ];
        let wanted: Option<Vec<&str>> = request
            .get("info")
            .and_then(Value::as_str)
            .map(|list| list.split(',').map(str::trim).collect());
        let msg: Map<String, Value> = all
            .into_iter()
            .filter(|(key, _)| wanted.as_ref().is_none_or(|list| list.contains(key)))
            .map(|(key, value)| (key.to_string(), Value::String(value)))
            .collect();
        msg_reply(when, codes::COMMAND_OK, Value::Object(msg))
    }

    fn error_code_reply(&self, when: u64) -> Value {
        let list: Vec<Value> = self
            .error_codes
            .iter()
            .map(|(code, at)| json!({ code.to_string(): format_datetime(*at) }))
            .collect();
        msg_reply(when, codes::COMMAND_OK, json!({ "error_code": list }))
    }

    fn token_reply(&mut self, peer: IpAddr, now: f64, when: u64) -> Value {
        match self.tokens.issue(peer, now, &mut self.rng) {
            Some(g) => msg_reply(
                when,
                codes::TOKEN_OK,
                json!({ "time": g.time, "salt": g.salt, "newsalt": g.newsalt }),
            ),
            None => error_reply(when, codes::TOKEN_OVER_MAX, "token over max times"),
        }
    }
}

pub(crate) fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Whether the pool at `index` is the active one, and its accepted,
/// rejected and stale shares: the first pool gets the work; the others
/// stand by.
pub(crate) fn pool_shares(index: usize, r: &Reading) -> (bool, u64, u64, u64) {
    if index == 0 {
        (r.powered_on, r.accepted, r.rejected, r.stale)
    } else {
        (false, 0, 0, 0)
    }
}

fn pool_entry(index: usize, pool: &super::miner::PoolConfig, r: &Reading, when: u64) -> Value {
    let (active, accepted, rejected, stale) = pool_shares(index, r);
    let diff = 65_536.0;
    json!({
        "POOL": index, "URL": pool.url, "Status": "Alive", "Priority": index,
        "Quota": 1, "Long Poll": "N", "Getworks": accepted / 4 + u64::from(active),
        "Accepted": accepted, "Rejected": rejected, "Works": accepted * 4,
        "Discarded": accepted / 10, "Stale": stale, "Get Failures": 0,
        "Remote Failures": 0, "User": pool.user,
        "Last Share Time": if accepted > 0 { when.saturating_sub(3) } else { 0 },
        "Diff1 Shares": accepted * 65_536, "Proxy Type": "", "Proxy": "",
        "Difficulty Accepted": accepted as f64 * diff,
        "Difficulty Rejected": rejected as f64 * diff,
        "Difficulty Stale": stale as f64 * diff,
        "Last Share Difficulty": if accepted > 0 { diff } else { 0.0 },
        "Work Difficulty": diff, "Has Stratum": true, "Stratum Active": active,
        "Stratum URL": pool.url.split("://").nth(1).unwrap_or(&pool.url),
        "Stratum Difficulty": diff, "Best Share": accepted * 1_048_576,
        "Pool Rejected%": round2(pct(rejected, accepted + rejected)),
        "Pool Stale%": round2(pct(stale, accepted + stale)),
        "Bad Work": 0, "Current Block Height": 870_000 + when / 600 % 10_000,
        "Current Block Version": 536_870_912,
    })
}
