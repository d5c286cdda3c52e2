//! The `devs` and `edevs` replies: one entry per hashboard.
//!
//! Units as in [`super::Summary`] (GH/s for `Factory GHS`, °C, rpm, MHz),
//! except the hash rates `MHS *`/`HS RT`: MH/s up to 2024, TH/s on
//! 2025–2026 firmware; [`super::BoardHashUnit`] tells which. Newer firmware
//! leaves out `ASC` and the per-board chip temperatures; `Slot` is the
//! stable board index.

use serde::Deserialize;

use super::lenient;

/// One hashboard of a `devs`/`edevs` reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Board {
    #[serde(rename = "ASC", default, deserialize_with = "lenient::u64")]
    pub asc: Option<u64>,
    /// Physical slot, 0-based.
    #[serde(rename = "Slot", default, deserialize_with = "lenient::u64")]
    pub slot: Option<u64>,
    #[serde(rename = "ID", default, deserialize_with = "lenient::u64")]
    pub id: Option<u64>,
    #[serde(rename = "Name", default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// `"Y"`/`"N"` on the wire.
    #[serde(rename = "Enabled", default, deserialize_with = "lenient::bool")]
    pub enabled: Option<bool>,
    /// `"Alive"`, `"Dead"`, ...; see [`Board::alive`].
    #[serde(rename = "Status", default, deserialize_with = "lenient::string")]
    pub status: Option<String>,
    /// Board temperature, °C.
    #[serde(rename = "Temperature", default, deserialize_with = "lenient::f64")]
    pub temperature: Option<f64>,
    /// MHz.
    #[serde(rename = "Chip Frequency", default, deserialize_with = "lenient::f64")]
    pub chip_frequency: Option<f64>,
    #[serde(rename = "Fan Speed In", default, deserialize_with = "lenient::f64")]
    pub fan_speed_in: Option<f64>,
    #[serde(rename = "Fan Speed Out", default, deserialize_with = "lenient::f64")]
    pub fan_speed_out: Option<f64>,
    #[serde(rename = "MHS av", default, deserialize_with = "lenient::f64")]
    pub mhs_av: Option<f64>,
    #[serde(rename = "MHS 5s", default, deserialize_with = "lenient::f64")]
    pub mhs_5s: Option<f64>,
    #[serde(rename = "MHS 1m", default, deserialize_with = "lenient::f64")]
    pub mhs_1m: Option<f64>,
    #[serde(rename = "MHS 5m", default, deserialize_with = "lenient::f64")]
    pub mhs_5m: Option<f64>,
    #[serde(rename = "MHS 15m", default, deserialize_with = "lenient::f64")]
    pub mhs_15m: Option<f64>,
    #[serde(rename = "HS RT", default, deserialize_with = "lenient::f64")]
    pub hs_rt: Option<f64>,
    /// Nominal hash rate of this board, GH/s.
    #[serde(rename = "Factory GHS", default, deserialize_with = "lenient::f64")]
    pub factory_ghs: Option<f64>,
    #[serde(rename = "Accepted", default, deserialize_with = "lenient::u64")]
    pub accepted: Option<u64>,
    #[serde(rename = "Rejected", default, deserialize_with = "lenient::u64")]
    pub rejected: Option<u64>,
    #[serde(rename = "Hardware Errors", default, deserialize_with = "lenient::u64")]
    pub hardware_errors: Option<u64>,
    /// Percent.
    #[serde(
        rename = "Device Hardware%",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub device_hardware_pct: Option<f64>,
    /// Percent.
    #[serde(
        rename = "Device Rejected%",
        default,
        deserialize_with = "lenient::f64"
    )]
    pub device_rejected_pct: Option<f64>,
    /// Seconds this board has been hashing.
    #[serde(rename = "Device Elapsed", default, deserialize_with = "lenient::u64")]
    pub elapsed: Option<u64>,
    /// Unix time of the last valid nonce.
    #[serde(rename = "Last Valid Work", default, deserialize_with = "lenient::u64")]
    pub last_valid_work: Option<u64>,
    #[serde(
        rename = "Upfreq Complete",
        default,
        deserialize_with = "lenient::bool"
    )]
    pub upfreq_complete: Option<bool>,
    #[serde(rename = "Effective Chips", default, deserialize_with = "lenient::u64")]
    pub effective_chips: Option<u64>,
    #[serde(rename = "PCB SN", default, deserialize_with = "lenient::string")]
    pub pcb_sn: Option<String>,
    #[serde(rename = "Chip Data", default, deserialize_with = "lenient::string")]
    pub chip_data: Option<String>,
    #[serde(rename = "Chip Temp Min", default, deserialize_with = "lenient::f64")]
    pub chip_temp_min: Option<f64>,
    #[serde(rename = "Chip Temp Max", default, deserialize_with = "lenient::f64")]
    pub chip_temp_max: Option<f64>,
    #[serde(rename = "Chip Temp Avg", default, deserialize_with = "lenient::f64")]
    pub chip_temp_avg: Option<f64>,
    /// Spread of chip voltages (unit not documented).
    #[serde(rename = "chip_vol_diff", default, deserialize_with = "lenient::f64")]
    pub chip_vol_diff: Option<f64>,
}

impl Board {
    /// `Some(true)` when the firmware reports the board `Alive`.
    pub fn alive(&self) -> Option<bool> {
        self.status
            .as_deref()
            .map(|s| s.trim().eq_ignore_ascii_case("alive"))
    }

    /// The board's index for labels: `Slot`, else `ASC`, else `ID`.
    pub fn index(&self) -> Option<u64> {
        self.slot.or(self.asc).or(self.id)
    }
}

/// The `devs` reply: every hashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Devs(pub Vec<Board>);

/// The `edevs` reply ("enabled devs"): same entries as `devs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edevs(pub Vec<Board>);
