//! Metric groups an operator can switch off, the node_exporter way: the
//! per-board series, the per-pool series, the PSU, the error codes, the
//! chip temperatures, and which hashrate windows are kept. The core series
//! (`whatsminer_up`, the miner's hashrate, power, temperature, fans,
//! shares, `whatsminer_miner_info`) are always there.
//!
//! Each miner carries its groups (from `[metrics]` and its overrides); a
//! request may choose again with `collect[]`, `exclude[]`,
//! `hashrate_windows` or `profile` in its query, on `/metrics` and `/probe`
//! alike. A group that is off leaves its families out of the page: a
//! dashboard panel over it shows no data, never an error.

/// A switchable group of families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Boards,
    Pools,
    Psu,
    ErrorCodes,
    ChipTemperatures,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Boards,
        Group::Pools,
        Group::Psu,
        Group::ErrorCodes,
        Group::ChipTemperatures,
    ];

    /// The name in the config and in `collect[]` / `exclude[]`.
    pub fn name(self) -> &'static str {
        match self {
            Group::Boards => "boards",
            Group::Pools => "pools",
            Group::Psu => "psu",
            Group::ErrorCodes => "error_codes",
            Group::ChipTemperatures => "chip_temperatures",
        }
    }

    pub fn from_name(name: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The `window` label values of the hashrate families, in order.
pub const WINDOWS: [&str; 6] = ["avg", "5s", "1m", "5m", "15m", "rt"];

/// Which groups and hashrate windows a miner's page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricGroups {
    groups: u8,
    windows: u8,
}

/// Everything: what a small farm wants, and the default.
impl Default for MetricGroups {
    fn default() -> Self {
        MetricGroups::FULL
    }
}

impl MetricGroups {
    /// Every group and window.
    pub const FULL: MetricGroups = MetricGroups {
        groups: 0b1_1111,
        windows: 0b11_1111,
    };

    /// The profile for 10,000+ miners (docs/metrics.md): no per-board or
    /// per-pool series; the 1m and 15m windows that the dashboards and
    /// alert rules use; the miner's chip temperatures (the critical
    /// temperature rule, which powers miners off, reads them), PSU and
    /// error codes: a few series each.
    pub const LARGE_FARM: MetricGroups = MetricGroups {
        groups: 0b1_1100,   // Psu | ErrorCodes | ChipTemperatures
        windows: 0b01_0100, // 1m | 15m
    };

    /// A named profile: `full` or `large_farm`.
    pub fn profile(name: &str) -> Option<MetricGroups> {
        match name {
            "full" => Some(MetricGroups::FULL),
            "large_farm" => Some(MetricGroups::LARGE_FARM),
            _ => None,
        }
    }

    pub fn has(self, group: Group) -> bool {
        self.groups & group.bit() != 0
    }

    pub fn with(mut self, group: Group, on: bool) -> MetricGroups {
        if on {
            self.groups |= group.bit();
        } else {
            self.groups &= !group.bit();
        }
        self
    }

    /// Keeps exactly `windows`; an unknown window is an error naming it.
    pub fn with_windows<'a>(
        mut self,
        windows: impl IntoIterator<Item = &'a str>,
    ) -> Result<MetricGroups, String> {
        self.windows = 0;
        for w in windows {
            let i = WINDOWS.iter().position(|k| *k == w).ok_or_else(|| {
                format!(
                    "unknown hashrate window {:?}; expected some of {}",
                    crate::error::truncate_for_log(w, 20),
                    WINDOWS.join(", ")
                )
            })?;
            self.windows |= 1 << i;
        }
        Ok(self)
    }

    pub fn keeps_window(self, window: &str) -> bool {
        WINDOWS
            .iter()
            .position(|k| *k == window)
            .is_none_or(|i| self.windows & (1 << i) != 0)
    }

    /// The windows kept, in order.
    pub fn windows(self) -> impl Iterator<Item = &'static str> {
        WINDOWS
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.windows & (1 << i) != 0)
            .map(|(_, w)| w)
    }

    /// Whether family `name` is written at all for a miner with these groups.
    pub fn keeps_family(self, name: &str) -> bool {
        let needs = FamilyGroups::of(name);
        self.groups & needs.groups == needs.groups
    }
}

/// What a family needs: its groups, and whether its samples carry `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyGroups {
    groups: u8,
    pub windowed: bool,
}

impl FamilyGroups {
    /// The groups of a family, by name (once per family, not per sample).
    pub fn of(name: &str) -> FamilyGroups {
        let mut groups = 0;
        if name.starts_with("whatsminer_board_") {
            groups |= Group::Boards.bit();
        }
        if name.starts_with("whatsminer_pool_") {
            groups |= Group::Pools.bit();
        }
        if name.starts_with("whatsminer_psu_") {
            groups |= Group::Psu.bit();
        }
        if name.starts_with("whatsminer_error_code") {
            groups |= Group::ErrorCodes.bit();
        }
        if name.ends_with("chip_temperature_celsius") {
            groups |= Group::ChipTemperatures.bit();
        }
        FamilyGroups {
            groups,
            windowed: name.ends_with("hashrate_hashes_per_second")
                && !name.contains("target")
                && !name.contains("factory"),
        }
    }

    pub fn kept_by(self, m: MetricGroups) -> bool {
        m.groups & self.groups == self.groups
    }
}

/// A request's own choice (`?collect[]=`, `?exclude[]=`,
/// `?hashrate_windows=`, `?profile=`), applied to each miner's groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRequest {
    profile: Option<MetricGroups>,
    collect: Option<u8>,
    exclude: u8,
    windows: Option<MetricGroups>,
}

impl GroupRequest {
    /// Reads the group parameters of a query string; other parameters are
    /// left to the caller. `None` when the query chooses nothing.
    pub fn from_query(query: Option<&str>) -> Result<Option<GroupRequest>, String> {
        let mut req = GroupRequest::default();
        let mut any = false;
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let group = || {
                Group::from_name(&value).map(Group::bit).ok_or_else(|| {
                    format!(
                        "unknown metric group {:?} in {key}; expected one of {}",
                        crate::error::truncate_for_log(&value, 30),
                        Group::ALL.map(Group::name).join(", ")
                    )
                })
            };
            match key.as_ref() {
                "collect[]" => *req.collect.get_or_insert(0) |= group()?,
                "exclude[]" => req.exclude |= group()?,
                "hashrate_windows" => {
                    let list = value.split(',').map(str::trim).filter(|w| !w.is_empty());
                    req.windows = Some(MetricGroups::FULL.with_windows(list)?);
                }
                "profile" => {
                    req.profile = Some(MetricGroups::profile(&value).ok_or_else(|| {
                        format!(
                            "unknown profile {:?}; expected full or large_farm",
                            crate::error::truncate_for_log(&value, 30)
                        )
                    })?)
                }
                _ => continue,
            }
            any = true;
        }
        if req.collect.is_some() && req.exclude != 0 {
            return Err("collect[] and exclude[] cannot be combined".into());
        }
        Ok(any.then_some(req))
    }

    /// The groups for a miner configured with `base`.
    pub fn apply(&self, base: MetricGroups) -> MetricGroups {
        let mut m = self.profile.unwrap_or(base);
        if let Some(only) = self.collect {
            m.groups = only;
        }
        m.groups &= !self.exclude;
        if let Some(w) = self.windows {
            m.windows = w.windows;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_map_to_their_groups() {
        let lf = MetricGroups::LARGE_FARM;
        assert!(!lf.keeps_family("whatsminer_board_alive"));
        assert!(!lf.keeps_family("whatsminer_pool_up"));
        assert!(lf.keeps_family("whatsminer_chip_temperature_celsius"));
        assert!(!lf.keeps_family("whatsminer_board_chip_temperature_celsius"));
        assert!(lf.keeps_family("whatsminer_psu_fan_speed_rpm"));
        assert!(lf.keeps_family("whatsminer_error_code_info"));
        assert!(lf.keeps_family("whatsminer_up"));
        // Board chip temperatures need both groups.
        let boards_only = MetricGroups::FULL.with(Group::ChipTemperatures, false);
        assert!(!boards_only.keeps_family("whatsminer_board_chip_temperature_celsius"));
        assert!(boards_only.keeps_family("whatsminer_board_temperature_celsius"));
        assert!(FamilyGroups::of("whatsminer_board_hashrate_hashes_per_second").windowed);
        assert!(!FamilyGroups::of("whatsminer_target_hashrate_hashes_per_second").windowed);
        assert_eq!(lf.windows().collect::<Vec<_>>(), ["1m", "15m"]);
        assert!(lf.keeps_window("15m") && !lf.keeps_window("5s"));
    }

    #[test]
    fn a_query_chooses_again_and_bad_names_are_refused() {
        let q = |s: &str| GroupRequest::from_query(Some(s));
        assert_eq!(q("target=1.2.3.4"), Ok(None));
        let only = q("collect[]=pools&target=x").unwrap().unwrap();
        let m = only.apply(MetricGroups::FULL);
        assert!(m.has(Group::Pools) && !m.has(Group::Boards) && m.keeps_window("5s"));
        let ex = q("exclude[]=boards&hashrate_windows=avg,15m")
            .unwrap()
            .unwrap();
        let m = ex.apply(MetricGroups::LARGE_FARM.with(Group::Boards, true));
        assert!(!m.has(Group::Boards) && m.has(Group::Psu));
        assert_eq!(m.windows().collect::<Vec<_>>(), ["avg", "15m"]);
        let p = q("profile=large_farm").unwrap().unwrap();
        assert_eq!(p.apply(MetricGroups::FULL), MetricGroups::LARGE_FARM);
        for bad in [
            "collect[]=chips",
            "hashrate_windows=avg,2h",
            "profile=huge",
            "collect[]=pools&exclude[]=boards",
        ] {
            assert!(q(bad).is_err(), "{bad}");
        }
    }
}
