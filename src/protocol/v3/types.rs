//! Typed API v3 status data: the `msg` of `get.miner.status` (summary,
//! pools, edevs) as plain structs. Device info and settings are in
//! `device.rs`.
//!
//! Every number is `Option<f64>`: a missing, non-numeric or non-finite
//! value is `None`, never a failed scrape, and numbers sent as strings are
//! accepted. Field names carry their unit. **Hash rates are TH/s in v3**
//! (v2 uses MH/s: multiply by 1e6 to compare); power W; energy efficiency
//! J/TH; temperatures °C; frequencies MHz; fan speeds RPM; times seconds.

use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// `msg.summary` of `get.miner.status`: one per miner.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V3Summary {
    /// `elapsed`: seconds since the mining service (btminer) started.
    pub elapsed_s: Option<f64>,
    /// `bootup-time`: seconds since the control board booted.
    pub bootup_time_s: Option<f64>,
    /// `hash-realtime`, TH/s.
    pub hash_realtime_ths: Option<f64>,
    /// `hash-average` (since start), TH/s.
    pub hash_average_ths: Option<f64>,
    /// `hash-1min`, TH/s.
    pub hash_1min_ths: Option<f64>,
    /// `hash-15min`, TH/s.
    pub hash_15min_ths: Option<f64>,
    /// `factory-hash`, the nominal rate, TH/s. Negative values (pyasic
    /// reports `-0.001` per board when unknown) are `None`.
    pub factory_hash_ths: Option<f64>,
    /// `freq-avg`, MHz.
    pub freq_avg_mhz: Option<f64>,
    /// `target-freq`, MHz (0 when no target is set).
    pub target_freq_mhz: Option<f64>,
    /// `power-realtime`, W.
    pub power_realtime_w: Option<f64>,
    /// `power-5min`, 5-minute average power, W.
    pub power_5min_w: Option<f64>,
    /// `power-limit`, W.
    pub power_limit_w: Option<f64>,
    /// `power-rate`, efficiency in J/TH (W per TH/s).
    pub power_rate_j_per_th: Option<f64>,
    /// `environment-temperature`, °C.
    pub environment_temp_c: Option<f64>,
    /// `board-temperature`, °C, one entry per board in board order; a
    /// non-numeric entry is `None` so indices stay aligned.
    pub board_temps_c: Vec<Option<f64>>,
    /// `chip-temp-min`, °C.
    pub chip_temp_min_c: Option<f64>,
    /// `chip-temp-avg`, °C.
    pub chip_temp_avg_c: Option<f64>,
    /// `chip-temp-max`, °C.
    pub chip_temp_max_c: Option<f64>,
    /// `fan-speed-in`, RPM.
    pub fan_speed_in_rpm: Option<f64>,
    /// `fan-speed-out`, RPM.
    pub fan_speed_out_rpm: Option<f64>,
    /// `up-freq-finish`: whether frequency tuning has finished.
    pub upfreq_finished: Option<bool>,
}

/// One entry of `msg.pools`. v3 has no share counters; the three counter
/// fields are read only in case a firmware adds them (the vendor worker
/// looks for them) and are `None` on every known firmware.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V3Pool {
    /// `id` (1-based in the vendor examples; absent on some firmware).
    pub id: Option<f64>,
    pub url: Option<String>,
    /// `status`, lower case, e.g. `alive`.
    pub status: Option<String>,
    /// `account`: the worker name (`user.worker`).
    pub account: Option<String>,
    /// `pool-priority`, 0 = first.
    pub priority: Option<f64>,
    /// `stratum-active`: the pool currently mined on.
    pub stratum_active: Option<bool>,
    /// `stratum-diff`.
    pub stratum_diff: Option<f64>,
    /// `last-share-time`, unix seconds.
    pub last_share_time: Option<f64>,
    /// Rejected share ratio in percent: `reject-percent`, or `reject-rate`
    /// (the name differs between sources).
    pub reject_percent: Option<f64>,
    pub accepted: Option<f64>,
    pub rejected: Option<f64>,
    pub stale: Option<f64>,
}

/// One entry of `msg.edevs`: one hashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V3Edev {
    /// `id`, 0-based board index.
    pub id: Option<f64>,
    /// `slot`, when sent (often absent; equal to `id` where both appear).
    pub slot: Option<f64>,
    /// `status`, e.g. `alive`.
    pub status: Option<String>,
    /// `hash-average`, TH/s.
    pub hash_average_ths: Option<f64>,
    /// `hash-realtime`, TH/s.
    pub hash_realtime_ths: Option<f64>,
    /// `factory-hash`, TH/s (negative = unknown = `None`).
    pub factory_hash_ths: Option<f64>,
    /// `freq`, MHz.
    pub freq_mhz: Option<f64>,
    /// `effective-chips`.
    pub effective_chips: Option<f64>,
    /// `chip-temp-min`, °C.
    pub chip_temp_min_c: Option<f64>,
    /// `chip-temp-avg`, °C.
    pub chip_temp_avg_c: Option<f64>,
    /// `chip-temp-max`, °C.
    pub chip_temp_max_c: Option<f64>,
}

/// The `msg` of `get.miner.status`: each section present only if asked for
/// and sent (a stopped miner may leave `pools` out of `summary+pools`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V3Status {
    pub summary: Option<V3Summary>,
    pub pools: Option<Vec<V3Pool>>,
    pub edevs: Option<Vec<V3Edev>>,
}

impl V3Status {
    /// Reads a status `msg`. The normal form is an object keyed by section.
    /// Two looser forms that clients guard against are accepted too: a bare
    /// summary object, and a bare list (pools if its entries have a `url`,
    /// else edevs). Anything else is `UnexpectedShape`.
    pub fn from_msg(msg: &Value) -> Result<V3Status, ErrorKind> {
        match msg {
            Value::Object(map) => {
                let keyed = ["summary", "pools", "edevs"]
                    .iter()
                    .any(|k| map.contains_key(*k));
                if !keyed && map.keys().any(|k| SUMMARY_MARKERS.contains(&k.as_str())) {
                    return Ok(V3Status {
                        summary: Some(V3Summary::from_map(map)),
                        ..V3Status::default()
                    });
                }
                Ok(V3Status {
                    summary: map
                        .get("summary")
                        .and_then(Value::as_object)
                        .map(V3Summary::from_map),
                    pools: map
                        .get("pools")
                        .and_then(Value::as_array)
                        .map(|l| pools_from(l)),
                    edevs: map
                        .get("edevs")
                        .and_then(Value::as_array)
                        .map(|l| edevs_from(l)),
                })
            }
            Value::Array(list) => {
                let is_pools = list
                    .iter()
                    .any(|e| e.as_object().is_some_and(|o| o.contains_key("url")));
                Ok(if is_pools {
                    V3Status {
                        pools: Some(pools_from(list)),
                        ..V3Status::default()
                    }
                } else {
                    V3Status {
                        edevs: Some(edevs_from(list)),
                        ..V3Status::default()
                    }
                })
            }
            _ => Err(ErrorKind::UnexpectedShape(
                "get.miner.status msg is neither an object nor a list".into(),
            )),
        }
    }
}

/// Keys that mark a bare summary object.
const SUMMARY_MARKERS: &[&str] = &["elapsed", "hash-average", "hash-realtime", "power-realtime"];

impl V3Summary {
    pub fn from_map(m: &Map<String, Value>) -> V3Summary {
        V3Summary {
            elapsed_s: num(m, "elapsed"),
            bootup_time_s: num(m, "bootup-time"),
            hash_realtime_ths: num(m, "hash-realtime"),
            hash_average_ths: num(m, "hash-average"),
            hash_1min_ths: num(m, "hash-1min"),
            hash_15min_ths: num(m, "hash-15min"),
            factory_hash_ths: non_negative(num(m, "factory-hash")),
            freq_avg_mhz: num(m, "freq-avg"),
            target_freq_mhz: num(m, "target-freq"),
            power_realtime_w: num(m, "power-realtime"),
            power_5min_w: num(m, "power-5min"),
            power_limit_w: num(m, "power-limit"),
            power_rate_j_per_th: num(m, "power-rate"),
            environment_temp_c: num(m, "environment-temperature"),
            board_temps_c: match m.get("board-temperature") {
                Some(Value::Array(list)) => list.iter().map(to_f64).collect(),
                Some(single) => to_f64(single).into_iter().map(Some).collect(),
                None => Vec::new(),
            },
            chip_temp_min_c: num(m, "chip-temp-min"),
            chip_temp_avg_c: num(m, "chip-temp-avg"),
            chip_temp_max_c: num(m, "chip-temp-max"),
            fan_speed_in_rpm: num(m, "fan-speed-in"),
            fan_speed_out_rpm: num(m, "fan-speed-out"),
            upfreq_finished: flag(m, "up-freq-finish"),
        }
    }
}

impl V3Pool {
    pub fn from_map(m: &Map<String, Value>) -> V3Pool {
        V3Pool {
            id: num(m, "id"),
            url: text(m, "url"),
            status: text(m, "status"),
            account: text(m, "account"),
            priority: num(m, "pool-priority"),
            stratum_active: flag(m, "stratum-active"),
            stratum_diff: num(m, "stratum-diff"),
            last_share_time: num(m, "last-share-time"),
            reject_percent: num(m, "reject-percent").or_else(|| num(m, "reject-rate")),
            accepted: num(m, "accepted"),
            rejected: num(m, "rejected"),
            stale: num(m, "stale"),
        }
    }
}

impl V3Edev {
    pub fn from_map(m: &Map<String, Value>) -> V3Edev {
        V3Edev {
            id: num(m, "id"),
            slot: num(m, "slot"),
            status: text(m, "status"),
            hash_average_ths: num(m, "hash-average"),
            hash_realtime_ths: num(m, "hash-realtime"),
            factory_hash_ths: non_negative(num(m, "factory-hash")),
            freq_mhz: num(m, "freq"),
            effective_chips: num(m, "effective-chips"),
            chip_temp_min_c: num(m, "chip-temp-min"),
            chip_temp_avg_c: num(m, "chip-temp-avg"),
            chip_temp_max_c: num(m, "chip-temp-max"),
        }
    }
}

fn pools_from(list: &[Value]) -> Vec<V3Pool> {
    list.iter()
        .filter_map(Value::as_object)
        .map(V3Pool::from_map)
        .collect()
}

fn edevs_from(list: &[Value]) -> Vec<V3Edev> {
    list.iter()
        .filter_map(Value::as_object)
        .map(V3Edev::from_map)
        .collect()
}

/// A number, or a string holding one (`"3"`, `" 41.5 "`, `"4.5%"`).
/// Non-finite values are `None`.
pub(crate) fn to_f64(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('%').trim_end().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

pub(crate) fn num(m: &Map<String, Value>, key: &str) -> Option<f64> {
    m.get(key).and_then(to_f64)
}

/// A non-empty text value; numbers are written out (`"board-num": 3`).
pub(crate) fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A yes/no value in any of the spellings firmware uses: `true`/`false`,
/// `1`/`0` (number or string), `"enable"`/`"disable"`.
pub(crate) fn flag(m: &Map<String, Value>, key: &str) -> Option<bool> {
    match m.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|x| x != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "enable" | "enabled" | "yes" | "on" => Some(true),
            "false" | "0" | "disable" | "disabled" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn non_negative(v: Option<f64>) -> Option<f64> {
    v.filter(|x| *x >= 0.0)
}
