//! The slow data as the info cache keeps it between refreshes: the labels
//! and figures of the `_info`, run-state, error-code and PSU families and
//! the per-command outcomes, built once per refresh. The backend's
//! [`SlowData`] keeps every field and string the firmware sent (about
//! 1.9 KiB a miner), and the cache holds one per miner for the whole run.
//!
//! Each command keeps its own part, `None` when it gave nothing, so that
//! [`CompactSlow::or_keep`] keeps a failed command's previous values as
//! [`SlowData::or_keep`] did. Labels derived from several commands (the
//! model from `devdetails`, else `get_version`; the firmware from
//! `get_version`, else `status`) are still chosen at render time, from the
//! parts.

use super::Reading;
use crate::client::backend::SlowData;
use crate::client::types::{DevDetails, ErrorCodes, MinerInfo, MinerStatus, Psu, Version};

/// A label value as the firmware sent it.
pub type Label = Option<Box<str>>;

fn label(s: Option<&str>) -> Label {
    s.map(Box::from)
}

/// The rendered part of `get_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactVersion {
    /// [`Version::model`]: `miner_type` in the `devdetails` spelling.
    pub model: Label,
    pub fw_ver: Label,
    pub api_ver: Label,
}

impl CompactVersion {
    pub fn new(v: &Version) -> Self {
        CompactVersion {
            model: v.model().map(String::into_boxed_str),
            fw_ver: label(v.fw_ver.as_deref()),
            api_ver: label(v.api_ver.as_deref()),
        }
    }
}

/// The rendered part of `devdetails`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactDevDetails {
    /// [`DevDetails::model`]: the first board's that names one.
    pub model: Label,
}

impl CompactDevDetails {
    pub fn new(d: &DevDetails) -> Self {
        CompactDevDetails {
            model: label(d.model()),
        }
    }
}

/// The rendered part of `get_psu`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactPsu {
    /// [`Psu::input_volts`].
    pub input_volts: Reading,
    /// [`Psu::input_amps`].
    pub input_amps: Reading,
    pub fan_speed: Reading,
    pub model: Label,
    pub serial: Label,
    pub sw_version: Label,
}

impl CompactPsu {
    pub fn new(p: &Psu) -> Self {
        CompactPsu {
            input_volts: p.input_volts().into(),
            input_amps: p.input_amps().into(),
            fan_speed: p.fan_speed.into(),
            model: label(p.model.as_deref()),
            serial: label(p.serial.as_deref()),
            sw_version: label(p.sw_version.as_deref()),
        }
    }
}

/// The rendered part of `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactStatus {
    pub btmineroff: Option<bool>,
    pub firmware_version: Label,
}

impl CompactStatus {
    pub fn new(s: &MinerStatus) -> Self {
        CompactStatus {
            btmineroff: s.btmineroff,
            firmware_version: label(s.firmware_version.as_deref()),
        }
    }
}

/// The rendered part of `get_miner_info`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactMinerInfo {
    pub mac: Label,
    pub hostname: Label,
}

impl CompactMinerInfo {
    pub fn new(i: &MinerInfo) -> Self {
        CompactMinerInfo {
            mac: label(i.mac.as_deref()),
            hostname: label(i.hostname.as_deref()),
        }
    }
}

/// The active error codes, as the firmware writes each (`"531"`).
#[derive(Debug, Clone, PartialEq)]
pub struct CompactErrorCodes(pub Box<[Box<str>]>);

impl CompactErrorCodes {
    pub fn new(codes: &ErrorCodes) -> Self {
        CompactErrorCodes(codes.0.iter().map(|c| Box::from(c.code.as_str())).collect())
    }
}

/// What the cache keeps of one miner's slow data; the fields are those of
/// [`SlowData`], each command's part `None` where it gave nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactSlow {
    pub version: Option<CompactVersion>,
    pub devdetails: Option<CompactDevDetails>,
    /// Boxed: most of the part's size, and absent on some firmware.
    pub psu: Option<Box<CompactPsu>>,
    pub error_codes: Option<CompactErrorCodes>,
    pub status: Option<CompactStatus>,
    pub miner_info: Option<CompactMinerInfo>,
    /// Which commands were sent and whether each succeeded.
    pub command_ok: Box<[(&'static str, bool)]>,
}

impl CompactSlow {
    pub fn new(s: &SlowData) -> Self {
        CompactSlow {
            version: s.version.as_ref().map(CompactVersion::new),
            devdetails: s.devdetails.as_ref().map(CompactDevDetails::new),
            psu: s.psu.as_ref().map(|p| Box::new(CompactPsu::new(p))),
            error_codes: s.error_codes.as_ref().map(CompactErrorCodes::new),
            status: s.status.as_ref().map(CompactStatus::new),
            miner_info: s.miner_info.as_ref().map(CompactMinerInfo::new),
            command_ok: s.command_ok.as_slice().into(),
        }
    }

    /// As [`SlowData::or_keep`]: these values, with `old`'s kept for the
    /// commands that gave nothing this time; `command_ok` is this time's.
    pub fn or_keep(self, old: &CompactSlow) -> CompactSlow {
        CompactSlow {
            version: self.version.or_else(|| old.version.clone()),
            devdetails: self.devdetails.or_else(|| old.devdetails.clone()),
            psu: self.psu.or_else(|| old.psu.clone()),
            error_codes: self.error_codes.or_else(|| old.error_codes.clone()),
            status: self.status.or_else(|| old.status.clone()),
            miner_info: self.miner_info.or_else(|| old.miner_info.clone()),
            command_ok: self.command_ok,
        }
    }

    /// The number of active error codes, when `get_error_code` answered.
    pub fn error_code_count(&self) -> Option<usize> {
        self.error_codes.as_ref().map(|c| c.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::types::FromReply;
    use std::mem::size_of;

    fn read<T: FromReply>(name: &str) -> Option<T> {
        let path = format!("{}/tests/fixtures/v2/{name}", env!("CARGO_MANIFEST_DIR"));
        T::from_reply(&std::fs::read(path).ok()?).ok()
    }

    /// The slow data of a capture group, `None` where it has no capture.
    fn group(prefix: &str) -> SlowData {
        let name = |cmd: &str| format!("{prefix}_{cmd}.json");
        SlowData {
            version: read(&name("get_version")),
            devdetails: read(&name("devdetails")),
            psu: read(&name("get_psu")),
            error_codes: read(&name("get_error_code")),
            status: read(&name("status")),
            miner_info: read(&name("get_miner_info")),
            command_ok: vec![("get_version", true), ("get_psu", false)],
        }
    }

    #[test]
    fn compact_slow_types_are_a_fraction_of_the_typed_replies() {
        let sizes = [
            ("SlowData", size_of::<SlowData>(), size_of::<CompactSlow>()),
            ("Version", size_of::<Version>(), size_of::<CompactVersion>()),
            ("Psu", size_of::<Psu>(), size_of::<CompactPsu>()),
            (
                "MinerStatus",
                size_of::<MinerStatus>(),
                size_of::<CompactStatus>(),
            ),
            (
                "MinerInfo",
                size_of::<MinerInfo>(),
                size_of::<CompactMinerInfo>(),
            ),
        ];
        for (name, typed, compact) in sizes {
            println!("{name}: {typed} bytes typed, {compact} compact");
        }
        assert!(size_of::<CompactSlow>() <= 184);
        assert!(size_of::<CompactPsu>() <= 72);
    }

    #[test]
    fn or_keep_keeps_what_the_typed_or_keep_kept() {
        let groups: Vec<SlowData> = ["m30sve20", "fw20210322", "m7bs_fw20260312", "m30splus_2022"]
            .into_iter()
            .map(group)
            .chain([SlowData::default()])
            .collect();
        assert!(groups[0].version.is_some() && groups[0].miner_info.is_some());
        // A refresh where every other command failed, over another miner's data.
        let failed = |mut s: SlowData, even: bool| {
            if even {
                (s.devdetails, s.error_codes, s.miner_info) = (None, None, None);
            } else {
                (s.version, s.psu, s.status) = (None, None, None);
            }
            s.command_ok = vec![("status", even)];
            s
        };
        for fresh in &groups {
            for old in &groups {
                for even in [true, false] {
                    let fresh = failed(fresh.clone(), even);
                    let typed = CompactSlow::new(&fresh.clone().or_keep(old));
                    let compact = CompactSlow::new(&fresh).or_keep(&CompactSlow::new(old));
                    assert_eq!(compact, typed);
                }
            }
        }
    }

    #[test]
    fn parts_hold_what_the_renderer_reads() {
        let s = CompactSlow::new(&group("m30sve20"));
        let version = s.version.as_ref().expect("get_version");
        assert_eq!(version.fw_ver.as_deref(), Some("20220422.18.REL"));
        assert!(s
            .devdetails
            .as_ref()
            .and_then(|d| d.model.as_deref())
            .is_some());
        let psu = s.psu.as_deref().expect("get_psu");
        assert!(psu.input_volts.get().is_some() && psu.serial.is_some());
        assert!(s
            .miner_info
            .as_ref()
            .and_then(|i| i.mac.as_deref())
            .is_some());
        assert_eq!(&*s.command_ok, &[("get_version", true), ("get_psu", false)]);
        let codes = CompactSlow::new(&group("m30splus_2022"));
        assert_eq!(
            codes.error_code_count(),
            Some(codes.error_codes.as_ref().map_or(0, |c| c.0.len()))
        );
        assert!(codes.error_code_count() > Some(0));
        assert_eq!(CompactSlow::default().error_code_count(), None);
    }
}
