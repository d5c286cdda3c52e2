//! Replies that describe the miner rather than measure it: `get_version`,
//! `get_psu`, `status`, `get_miner_info` and `devdetails`. All but
//! `devdetails` carry their data in the `Msg` object, mostly as strings.

use serde::Deserialize;

use super::lenient;

/// The `get_version` reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Version {
    /// API version: `"2.0.3"`, `"2.0.5"`, or `"whatsminer v1.4.0"` on old firmware.
    #[serde(default, deserialize_with = "lenient::string")]
    pub api_ver: Option<String>,
    /// Firmware version, e.g. `"20220422.18.REL"`.
    #[serde(default, deserialize_with = "lenient::unquoted_string")]
    pub fw_ver: Option<String>,
    /// Control board platform, e.g. `"H6OS"`, `"H616"`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub platform: Option<String>,
    /// Chip identification, on some firmware.
    #[serde(default, deserialize_with = "lenient::string")]
    pub chip: Option<String>,
    /// Model, e.g. `"M7BS_VM30"` (2025+ firmware, whose `devdetails` is
    /// deprecated).
    #[serde(default, deserialize_with = "lenient::string")]
    pub miner_type: Option<String>,
}

impl Version {
    /// The firmware's build date as `YYYYMMDD` (from `"20220422.18.REL"`),
    /// used to tell API v3-capable firmware (2024-11 and later) apart.
    pub fn firmware_date(&self) -> Option<u32> {
        firmware_date(self.fw_ver.as_deref()?)
    }

    /// `miner_type` in the `devdetails` spelling (`M7BS_VM30` → `M7BSVM30`),
    /// so the `model` label does not change with the command it came from.
    pub fn model(&self) -> Option<String> {
        let model = crate::client::v3::convert::normalize_model(self.miner_type.as_deref()?);
        (!model.is_empty()).then_some(model)
    }
}

/// Parses the leading `YYYYMMDD` of a firmware version string.
pub fn firmware_date(fw_ver: &str) -> Option<u32> {
    let digits = fw_ver.trim().trim_matches('\'').get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date: u32 = digits.parse().ok()?;
    let (month, day) = (date / 100 % 100, date % 100);
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(date)
}

/// The `get_psu` reply. Values are raw, in the firmware's units. From a
/// P22 capture (`vin` 24200, `iin` 13968, summary power 3370 W): `vin` is
/// in units of 10 mV and `iin` in mA. That reading is inferred, not
/// documented; see [`Psu::input_volts`] and [`Psu::input_amps`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Psu {
    /// Short model name, e.g. `"P221C"`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// Full model, e.g. `"P22-12-3300-C"`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub model: Option<String>,
    #[serde(rename = "serial_no", default, deserialize_with = "lenient::string")]
    pub serial: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub hw_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sw_version: Option<String>,
    /// Input voltage, raw (observed: 10 mV units).
    #[serde(default, deserialize_with = "lenient::f64")]
    pub vin: Option<f64>,
    /// Input current, raw (observed: mA).
    #[serde(default, deserialize_with = "lenient::f64")]
    pub iin: Option<f64>,
    /// PSU fan, rpm.
    #[serde(default, deserialize_with = "lenient::f64")]
    pub fan_speed: Option<f64>,
    /// Vendor id (the firmware spells it `vender`).
    #[serde(rename = "vender", default, deserialize_with = "lenient::string")]
    pub vendor: Option<String>,
}

impl Psu {
    /// Input voltage in volts, reading `vin` as 10 mV units (inferred).
    pub fn input_volts(&self) -> Option<f64> {
        self.vin.map(|v| v / 100.0)
    }

    /// Input current in amperes, reading `iin` as mA (inferred).
    pub fn input_amps(&self) -> Option<f64> {
        self.iin.map(|i| i / 1000.0)
    }
}

/// The `status` reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "RawMinerStatus")]
#[non_exhaustive]
pub struct MinerStatus {
    /// Whether btminer (the mining process) is stopped. Older firmware names
    /// the key `btmineroff`, newer `mineroff`.
    pub btmineroff: Option<bool>,
    /// From `"Firmware Version"` (single-quoted, older firmware) or
    /// `FirmwareVersion` (newer), without the quotes.
    pub firmware_version: Option<String>,
    pub mineroff_reason: Option<String>,
    pub mineroff_time: Option<String>,
    /// `"low"`, `"normal"`, `"high"`; `None` when empty.
    pub power_mode: Option<String>,
    pub hash_percent: Option<f64>,
    /// W.
    pub power_limit_set: Option<f64>,
}

/// The wire form of `status`. Old and new key names are separate fields
/// (not serde aliases), so a reply that carries both still parses.
#[derive(Deserialize)]
struct RawMinerStatus {
    #[serde(default, deserialize_with = "lenient::bool")]
    btmineroff: Option<bool>,
    #[serde(default, deserialize_with = "lenient::bool")]
    mineroff: Option<bool>,
    #[serde(
        rename = "Firmware Version",
        default,
        deserialize_with = "lenient::unquoted_string"
    )]
    firmware_version_spaced: Option<String>,
    #[serde(
        rename = "FirmwareVersion",
        default,
        deserialize_with = "lenient::unquoted_string"
    )]
    firmware_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    mineroff_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    mineroff_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    power_mode: Option<String>,
    #[serde(default, deserialize_with = "lenient::f64")]
    hash_percent: Option<f64>,
    #[serde(default, deserialize_with = "lenient::f64")]
    power_limit_set: Option<f64>,
}

impl From<RawMinerStatus> for MinerStatus {
    fn from(raw: RawMinerStatus) -> Self {
        MinerStatus {
            btmineroff: raw.btmineroff.or(raw.mineroff),
            firmware_version: raw.firmware_version.or(raw.firmware_version_spaced),
            mineroff_reason: raw.mineroff_reason,
            mineroff_time: raw.mineroff_time,
            power_mode: raw.power_mode,
            hash_percent: raw.hash_percent,
            power_limit_set: raw.power_limit_set,
        }
    }
}

/// The `get_miner_info` reply. Only the fields asked for in the command's
/// `info` list are present.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MinerInfo {
    #[serde(default, deserialize_with = "lenient::string")]
    pub ip: Option<String>,
    /// `"dhcp"` or `"static"`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub proto: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub netmask: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub gateway: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dns: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub hostname: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub mac: Option<String>,
    /// LED state, e.g. `"auto"`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub ledstat: Option<String>,
    /// Miner serial number, on firmware that reports it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub minersn: Option<String>,
    /// Power supply serial number, on firmware that reports it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub powersn: Option<String>,
}

/// One entry of a `devdetails` reply (one per hashboard).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DevDetail {
    #[serde(rename = "DEVDETAILS", default, deserialize_with = "lenient::u64")]
    pub index: Option<u64>,
    #[serde(rename = "ID", default, deserialize_with = "lenient::u64")]
    pub id: Option<u64>,
    /// `"SM"` on the captures seen.
    #[serde(rename = "Name", default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `"bitmicro"` on the captures seen.
    #[serde(rename = "Driver", default, deserialize_with = "lenient::string")]
    pub driver: Option<String>,
    #[serde(rename = "Kernel", default, deserialize_with = "lenient::string")]
    pub kernel: Option<String>,
    /// Miner model and hashboard version, e.g. `"M30SVE20"`.
    #[serde(rename = "Model", default, deserialize_with = "lenient::string")]
    pub model: Option<String>,
}

/// The `devdetails` reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DevDetails(pub Vec<DevDetail>);

impl DevDetails {
    /// The miner model, from the first entry that names one.
    pub fn model(&self) -> Option<&str> {
        self.0.iter().find_map(|d| d.model.as_deref())
    }
}
