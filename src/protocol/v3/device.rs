//! Typed API v3 device data: the `msg` of `get.device.info` (all sections,
//! or one) and of `get.miner.setting`. Same conventions as `types.rs`:
//! numbers `Option<f64>` with units in the field names, text `Option<String>`
//! (empty text is `None`), nothing missing is an error.
//!
//! Most `get.device.info` values arrive as strings (`"board-num":"3"`,
//! `"working":"true"`); power readings arrive as numbers.

use serde_json::{Map, Value};

use super::types::{flag, num, text};
use crate::error::ErrorKind;

/// `msg` of `get.device.info`. A one-section request fills only that
/// section (the reply is `{"<section>": {...}}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceInfo {
    pub miner: Option<MinerSection>,
    pub system: Option<SystemSection>,
    pub power: Option<PowerSection>,
    pub network: Option<NetworkSection>,
    /// `salt`: the input of write tokens. Public (readable without
    /// authentication), so not treated as a secret.
    pub salt: Option<String>,
    /// `error-code`: active error codes, oldest first as sent.
    pub error_codes: Vec<ErrorCodeEntry>,
    /// `error-code` when a firmware sends a text instead of a list (seen by
    /// pyasic: `"btminer process is down err"`).
    pub error_text: Option<String>,
}

/// `msg.miner`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinerSection {
    /// `type`, the model, e.g. `M60S_VK40`.
    pub model: Option<String>,
    /// `working`: whether the mining service is running.
    pub working: Option<bool>,
    /// `board-num`: number of hashboards.
    pub board_count: Option<f64>,
    /// `hash-board`, the board type, e.g. `K40`.
    pub hash_board: Option<String>,
    /// `miner-sn`.
    pub serial: Option<String>,
    /// `pcbsn0`, `pcbsn1`, ...: board serials by index (empty text = `None`).
    pub board_serials: Vec<Option<String>>,
    /// `power-limit-set`, W (the configured limit).
    pub power_limit_set_w: Option<f64>,
    /// `fast-boot`.
    pub fast_boot: Option<bool>,
    /// `pool-strategy`, e.g. `FAILOVER`.
    pub pool_strategy: Option<String>,
}

/// `msg.system`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemSection {
    /// `api`, the API version, e.g. `3.0.2`.
    pub api_version: Option<String>,
    /// `fwversion`, e.g. `20251209.16.Rel2`.
    pub firmware_version: Option<String>,
    /// `platform`, e.g. `H616`.
    pub platform: Option<String>,
    /// `control-board-version`, e.g. `CB6V10`.
    pub control_board_version: Option<String>,
    /// `apiswitch`: whether the owner has turned the write API on.
    pub write_api_enabled: Option<bool>,
    /// `ledstatus`: `auto` or `manual`.
    pub led_status: Option<String>,
}

/// `msg.power` (the power supply).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSection {
    /// `type`, e.g. `P221B`.
    pub psu_type: Option<String>,
    pub model: Option<String>,
    /// `sn`.
    pub serial: Option<String>,
    /// `hwversion`.
    pub hw_version: Option<String>,
    /// `swversion`.
    pub sw_version: Option<String>,
    pub vendor: Option<String>,
    /// `mode`: a code string (`"1"` on every sample); meaning not documented.
    pub mode: Option<String>,
    /// `iin`, input current, A.
    pub input_current_a: Option<f64>,
    /// `vin`, input voltage, V.
    pub input_voltage_v: Option<f64>,
    /// `vout`, raw output voltage. The vendor example gives `1209` for
    /// 12.09 V (so 10 mV units) while its comment says "100mV unit": kept
    /// raw; see [`PowerSection::output_voltage_v`].
    pub output_voltage_raw: Option<f64>,
    /// `pin`, input power, W.
    pub input_power_w: Option<f64>,
    /// `fanspeed`, PSU fan, RPM.
    pub fan_speed_rpm: Option<f64>,
    /// `temp0`, PSU temperature, °C.
    pub temp_c: Option<f64>,
    /// `liquid-temperature`, °C (liquid-cooled models only).
    pub liquid_temp_c: Option<f64>,
}

impl PowerSection {
    /// `vout` in volts, reading it as 10 mV units as the vendor's example
    /// value does. *Uncertain*: see [`PowerSection::output_voltage_raw`].
    pub fn output_voltage_v(&self) -> Option<f64> {
        self.output_voltage_raw.map(|raw| raw / 100.0)
    }
}

/// `msg.network`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkSection {
    pub ip: Option<String>,
    /// `proto`: `dhcp` or `static`.
    pub proto: Option<String>,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
    pub dns: Option<String>,
    pub mac: Option<String>,
    pub hostname: Option<String>,
}

/// One entry of `error-code`: `{"<code>":"<YYYY-MM-DD hh:mm:ss>","reason":..}`
/// in the vendor form; a bare code (string or number) is accepted too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorCodeEntry {
    /// The code as sent, e.g. `"531"`.
    pub code: String,
    /// When it was raised, miner local time, as sent.
    pub time: Option<String>,
    /// `reason`, e.g. `Slot1 not found.`
    pub reason: Option<String>,
}

/// `msg` of `get.miner.setting`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinerSetting {
    /// `power-mode`: `low`, `normal` or `high`.
    pub power_mode: Option<String>,
    /// `power-limit`, W.
    pub power_limit_w: Option<f64>,
    /// `power-percent`, % (0 when no percentage is set, per one source).
    pub power_percent: Option<f64>,
    /// `power`, W: the target set by `set.miner.power` (0 = none).
    pub power_target_w: Option<f64>,
    /// `target-freq`, percent offset set by `set.miner.target_freq`.
    pub target_freq_percent: Option<f64>,
    /// `upfreq-speed`, 0..10.
    pub upfreq_speed: Option<f64>,
    /// `fast-boot`.
    pub fast_boot: Option<bool>,
    /// `fast-hash`.
    pub fast_hash: Option<bool>,
    /// `heat-mode`: `heating`, `normal` or `anti-freezing`.
    pub heat_mode: Option<String>,
}

impl DeviceInfo {
    /// Reads a `get.device.info` `msg` (full or one section).
    pub fn from_msg(msg: &Value) -> Result<DeviceInfo, ErrorKind> {
        let Value::Object(m) = msg else {
            return Err(ErrorKind::UnexpectedShape(
                "get.device.info msg is not an object".into(),
            ));
        };
        let section = |key: &str| m.get(key).and_then(Value::as_object);
        let (error_codes, error_text) = match m.get("error-code") {
            Some(Value::Array(list)) => (list.iter().filter_map(error_entry).collect(), None),
            Some(Value::String(s)) if !s.trim().is_empty() => (Vec::new(), Some(s.clone())),
            _ => (Vec::new(), None),
        };
        Ok(DeviceInfo {
            miner: section("miner").map(miner_section),
            system: section("system").map(system_section),
            power: section("power").map(power_section),
            network: section("network").map(network_section),
            salt: text(m, "salt"),
            error_codes,
            error_text,
        })
    }
}

impl MinerSetting {
    pub fn from_msg(msg: &Value) -> Result<MinerSetting, ErrorKind> {
        let Value::Object(m) = msg else {
            return Err(ErrorKind::UnexpectedShape(
                "get.miner.setting msg is not an object".into(),
            ));
        };
        Ok(MinerSetting {
            power_mode: text(m, "power-mode").map(|s| s.to_ascii_lowercase()),
            power_limit_w: num(m, "power-limit"),
            power_percent: num(m, "power-percent"),
            power_target_w: num(m, "power"),
            target_freq_percent: num(m, "target-freq"),
            upfreq_speed: num(m, "upfreq-speed"),
            fast_boot: flag(m, "fast-boot"),
            fast_hash: flag(m, "fast-hash"),
            heat_mode: text(m, "heat-mode"),
        })
    }
}

/// Highest board index probed for `pcbsnN`; no model has more than 4.
const MAX_BOARD_SERIALS: usize = 16;

fn miner_section(m: &Map<String, Value>) -> MinerSection {
    let mut board_serials: Vec<Option<String>> = (0..MAX_BOARD_SERIALS)
        .map(|i| text(m, &format!("pcbsn{i}")))
        .collect();
    while board_serials.last().is_some_and(Option::is_none) {
        board_serials.pop();
    }
    MinerSection {
        model: text(m, "type"),
        working: flag(m, "working"),
        board_count: num(m, "board-num"),
        hash_board: text(m, "hash-board"),
        serial: text(m, "miner-sn"),
        board_serials,
        power_limit_set_w: num(m, "power-limit-set"),
        fast_boot: flag(m, "fast-boot"),
        pool_strategy: text(m, "pool-strategy"),
    }
}

fn system_section(m: &Map<String, Value>) -> SystemSection {
    SystemSection {
        api_version: text(m, "api"),
        firmware_version: text(m, "fwversion"),
        platform: text(m, "platform"),
        control_board_version: text(m, "control-board-version"),
        write_api_enabled: flag(m, "apiswitch"),
        led_status: text(m, "ledstatus"),
    }
}

fn power_section(m: &Map<String, Value>) -> PowerSection {
    PowerSection {
        psu_type: text(m, "type"),
        model: text(m, "model"),
        serial: text(m, "sn"),
        hw_version: text(m, "hwversion"),
        sw_version: text(m, "swversion"),
        vendor: text(m, "vendor"),
        mode: text(m, "mode"),
        input_current_a: num(m, "iin"),
        input_voltage_v: num(m, "vin"),
        output_voltage_raw: num(m, "vout"),
        input_power_w: num(m, "pin"),
        fan_speed_rpm: num(m, "fanspeed"),
        temp_c: num(m, "temp0"),
        liquid_temp_c: num(m, "liquid-temperature"),
    }
}

fn network_section(m: &Map<String, Value>) -> NetworkSection {
    NetworkSection {
        ip: text(m, "ip"),
        proto: text(m, "proto"),
        netmask: text(m, "netmask"),
        gateway: text(m, "gateway"),
        dns: text(m, "dns"),
        mac: text(m, "mac"),
        hostname: text(m, "hostname"),
    }
}

/// One `error-code` item. In the object form the code is the one key that
/// is not `reason` (the vendor form has exactly one).
fn error_entry(item: &Value) -> Option<ErrorCodeEntry> {
    match item {
        Value::Object(o) => {
            let (code, time) = o.iter().find(|(k, _)| k.as_str() != "reason")?;
            Some(ErrorCodeEntry {
                code: code.trim().to_owned(),
                time: time.as_str().map(str::to_owned),
                reason: text(o, "reason"),
            })
        }
        Value::String(s) if !s.trim().is_empty() => Some(ErrorCodeEntry {
            code: s.trim().to_owned(),
            ..ErrorCodeEntry::default()
        }),
        // Integral codes only: `1.5` is not an error code.
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(ErrorCodeEntry {
            code: n.to_string(),
            ..ErrorCodeEntry::default()
        }),
        _ => None,
    }
}
