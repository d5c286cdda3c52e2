//! The slow data as the info cache keeps it between refreshes: the labels
//! and figures of the `_info`, run-state, error-code and PSU families and
//! the per-command outcomes, built once per refresh. The backend's
//! [`SlowData`] keeps every field and string the firmware sent (about
//! 1.9 KiB a miner), and the cache holds one per miner for the whole run.
//!
//! Each command keeps its own part, `None` when it gave nothing, so that
//! [`CompactSlow::or_keep`] keeps a failed command's previous values (a
//! flaky PSU read should not blank the model and firmware). Labels derived from several commands (the
//! model from `devdetails`, else `get_version`; the firmware from
//! `get_version`, else `status`) are still chosen at render time, from the
//! parts.

use super::Reading;
use crate::client::backend::SlowData;
use crate::client::types::{DevDetails, ErrorCodes, MinerInfo, MinerStatus, Psu, Version};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A label value as the firmware sent it.
pub type Label = Option<Box<str>>;

fn label(s: Option<&str>) -> Label {
    s.map(Box::from)
}

/// The label values of one command's part in one allocation (each
/// separately would be a pointer and a heap block apiece).
#[derive(Debug, Clone, PartialEq)]
pub struct Labels<const N: usize> {
    text: Box<str>,
    /// Where each value ends in `text`; it starts where the one before ends.
    ends: [u32; N],
    /// Bit `i`: value `i` was sent (an absent value and `""` differ: the
    /// renderer falls back to another command's value only for an absent one).
    present: u8,
}

impl<const N: usize> Labels<N> {
    fn new(values: [Option<&str>; N]) -> Self {
        const { assert!(N <= 8) };
        let mut text = String::with_capacity(values.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [0; N];
        let mut present = 0;
        for (i, value) in values.iter().enumerate() {
            if let Some(v) = value {
                text.push_str(v);
                present |= 1 << i;
            }
            // Replies are bounded far below 4 GiB (`max_reply_bytes`).
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Labels {
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }

    /// Value `i`, if the reply had it.
    pub fn get(&self, i: usize) -> Option<&str> {
        if i >= N || self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start as usize..self.ends[i] as usize)
    }
}

/// The rendered part of `get_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactVersion(Labels<3>);

impl CompactVersion {
    pub fn new(v: &Version) -> Self {
        let model = v.model();
        CompactVersion(Labels::new([
            model.as_deref(),
            v.fw_ver.as_deref(),
            v.api_ver.as_deref(),
        ]))
    }

    /// [`Version::model`]: `miner_type` in the `devdetails` spelling.
    pub fn model(&self) -> Option<&str> {
        self.0.get(0)
    }
    pub fn fw_ver(&self) -> Option<&str> {
        self.0.get(1)
    }
    pub fn api_ver(&self) -> Option<&str> {
        self.0.get(2)
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
    labels: Labels<3>,
}

impl CompactPsu {
    pub fn new(p: &Psu) -> Self {
        CompactPsu {
            input_volts: p.input_volts().into(),
            input_amps: p.input_amps().into(),
            fan_speed: p.fan_speed.into(),
            labels: Labels::new([
                p.model.as_deref(),
                p.serial.as_deref(),
                p.sw_version.as_deref(),
            ]),
        }
    }

    pub fn model(&self) -> Option<&str> {
        self.labels.get(0)
    }
    pub fn serial(&self) -> Option<&str> {
        self.labels.get(1)
    }
    pub fn sw_version(&self) -> Option<&str> {
        self.labels.get(2)
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
pub struct CompactMinerInfo(Labels<2>);

impl CompactMinerInfo {
    pub fn new(i: &MinerInfo) -> Self {
        CompactMinerInfo(Labels::new([i.mac.as_deref(), i.hostname.as_deref()]))
    }

    pub fn mac(&self) -> Option<&str> {
        self.0.get(0)
    }
    pub fn hostname(&self) -> Option<&str> {
        self.0.get(1)
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

/// Which commands were sent and whether each succeeded.
pub type CommandOutcomes = Arc<[(&'static str, bool)]>;

/// Outcome lists shared by the miners that have the same one. A fleet has a
/// handful (the backends' command names, each sent or not, ok or not), so
/// each is kept once; past [`MAX_SHARED`] lists (a program that makes up
/// command names), a list is kept per miner.
static SHARED_OUTCOMES: Mutex<Option<HashSet<CommandOutcomes>>> = Mutex::new(None);
const MAX_SHARED: usize = 1024;

fn shared_outcomes(list: &[(&'static str, bool)]) -> CommandOutcomes {
    let Ok(mut shared) = SHARED_OUTCOMES.lock() else {
        return list.into();
    };
    let set = shared.get_or_insert_with(HashSet::new);
    if let Some(known) = set.get(list) {
        return Arc::clone(known);
    }
    let new: CommandOutcomes = list.into();
    if set.len() < MAX_SHARED {
        set.insert(Arc::clone(&new));
    }
    new
}

/// What the cache keeps of one miner's slow data; the fields are those of
/// [`SlowData`], each command's part `None` where it gave nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactSlow {
    pub version: Option<CompactVersion>,
    pub devdetails: Option<CompactDevDetails>,
    /// Boxed: most of the part's size, and absent on some firmware.
    pub psu: Option<Box<CompactPsu>>,
    pub error_codes: Option<CompactErrorCodes>,
    pub status: Option<CompactStatus>,
    pub miner_info: Option<CompactMinerInfo>,
    pub command_ok: CommandOutcomes,
}

impl Default for CompactSlow {
    fn default() -> Self {
        CompactSlow::new(&SlowData::default())
    }
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
            command_ok: shared_outcomes(&s.command_ok),
        }
    }

    /// These values, with `old`'s kept for the commands that gave nothing
    /// this time; `command_ok` is this time's.
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
        assert!(size_of::<CompactSlow>() <= 152);
        assert!(size_of::<CompactPsu>() <= 56);
    }

    /// Each command's part is this time's if the command gave one, else
    /// the old one; the outcomes are this time's.
    #[test]
    fn or_keep_keeps_the_old_part_of_each_command_that_gave_nothing() {
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
        fn check<T: PartialEq + std::fmt::Debug>(
            kept: &Option<T>,
            new: &Option<T>,
            old: &Option<T>,
        ) {
            match new {
                Some(_) => assert_eq!(kept, new),
                None => assert_eq!(kept, old),
            }
        }
        let mut kept_old = 0;
        for fresh in &groups {
            for old in &groups {
                for even in [true, false] {
                    let (new, old) = (
                        CompactSlow::new(&failed(fresh.clone(), even)),
                        CompactSlow::new(old),
                    );
                    let kept = new.clone().or_keep(&old);
                    check(&kept.version, &new.version, &old.version);
                    check(&kept.devdetails, &new.devdetails, &old.devdetails);
                    check(&kept.psu, &new.psu, &old.psu);
                    check(&kept.error_codes, &new.error_codes, &old.error_codes);
                    check(&kept.status, &new.status, &old.status);
                    check(&kept.miner_info, &new.miner_info, &old.miner_info);
                    assert_eq!(kept.command_ok, new.command_ok);
                    kept_old += usize::from(new.devdetails.is_none() && old.devdetails.is_some());
                }
            }
        }
        assert!(kept_old > 0, "some refreshes keep an old part");
    }

    #[test]
    fn parts_hold_what_the_renderer_reads() {
        let s = CompactSlow::new(&group("m30sve20"));
        let version = s.version.as_ref().expect("get_version");
        assert_eq!(version.fw_ver(), Some("20220422.18.REL"));
        assert!(s
            .devdetails
            .as_ref()
            .and_then(|d| d.model.as_deref())
            .is_some());
        let psu = s.psu.as_deref().expect("get_psu");
        assert!(psu.input_volts.get().is_some() && psu.serial().is_some());
        assert!(s.miner_info.as_ref().and_then(|i| i.mac()).is_some());
        assert_eq!(&*s.command_ok, &[("get_version", true), ("get_psu", false)]);
        let codes = CompactSlow::new(&group("m30splus_2022"));
        assert_eq!(
            codes.error_code_count(),
            Some(codes.error_codes.as_ref().map_or(0, |c| c.0.len()))
        );
        assert!(codes.error_code_count() > Some(0));
        assert_eq!(CompactSlow::default().error_code_count(), None);
    }

    #[test]
    fn labels_keep_each_value_and_tell_absent_from_empty() {
        let labels = Labels::new([Some("M30S"), None, Some(""), Some("é\"x")]);
        assert_eq!(labels.get(0), Some("M30S"));
        assert_eq!(labels.get(1), None);
        assert_eq!(labels.get(2), Some(""));
        assert_eq!(labels.get(3), Some("é\"x"));
        assert_eq!(labels.get(4), None);
        let none = Labels::new([None, None]);
        assert_eq!((none.get(0), none.get(1)), (None, None));
    }

    #[test]
    fn miners_with_the_same_outcomes_share_one_list() {
        let mut a = group("m30sve20");
        a.command_ok = vec![("get_version", true), ("status", false)];
        let b = a.clone();
        let (a, b) = (CompactSlow::new(&a), CompactSlow::new(&b));
        assert!(Arc::ptr_eq(&a.command_ok, &b.command_ok));
        let mut c = group("m30sve20");
        c.command_ok = vec![("get_version", true), ("status", true)];
        let c = CompactSlow::new(&c);
        assert_eq!(&*c.command_ok, &[("get_version", true), ("status", true)]);
        assert!(!Arc::ptr_eq(&a.command_ok, &c.command_ok));
    }
}
