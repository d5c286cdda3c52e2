//! `[metrics]`: which metric groups each miner's page holds (see
//! `collector::groups`), for all miners, then `[[metrics.overrides]]` for
//! the miners whose labels match, in file order (a later override wins).
//!
//! ```toml
//! [metrics]
//! profile = "large_farm"            # or "full" (the default)
//! pools = true                      # switch single groups on top of it
//! [[metrics.overrides]]
//! labels = { site = "lab" }         # every miner with site="lab"
//! profile = "full"
//! ```

use super::build::Ctx;
use super::error::ConfigError;
use super::raw::{Labels, Text};
use super::MinerEntry;
use crate::collector::groups::{Group, MetricGroups};
use serde::Deserialize;
use toml::Spanned;

/// `[metrics]` and each of its overrides: one shape, so the keys are
/// written once; `labels` belongs to overrides only, `overrides` to the
/// top only (checked in `build`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub labels: Option<Spanned<Labels>>,
    pub profile: Option<Text>,
    pub boards: Option<bool>,
    pub pools: Option<bool>,
    pub psu: Option<bool>,
    pub error_codes: Option<bool>,
    pub chip_temperatures: Option<bool>,
    pub hashrate_windows: Option<Spanned<Vec<Text>>>,
    pub overrides: Option<Spanned<Vec<RawMetrics>>>,
}

/// `[metrics]`, checked: the groups of a miner with no matching override,
/// and the overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsConfig {
    pub base: MetricGroups,
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// All of these must be among the miner's labels.
    pub labels: Vec<(String, String)>,
    /// Applied to what the miner had before this override.
    pub profile: Option<MetricGroups>,
    pub switches: Vec<(Group, bool)>,
    pub windows: Option<MetricGroups>,
}

impl Override {
    fn apply(&self, before: MetricGroups) -> MetricGroups {
        let mut m = self.profile.unwrap_or(before);
        for (group, on) in &self.switches {
            m = m.with(*group, *on);
        }
        if let Some(w) = self.windows {
            m = m.with_windows(w.windows()).unwrap_or(m);
        }
        m
    }
}

impl MetricsConfig {
    /// The groups of a miner with `labels`.
    pub fn groups_for(&self, labels: &[(String, String)]) -> MetricGroups {
        self.overrides
            .iter()
            .filter(|o| o.labels.iter().all(|l| labels.contains(l)))
            .fold(self.base, |m, o| o.apply(m))
    }

    /// Sets every miner's groups.
    pub fn assign(&self, miners: &mut [MinerEntry]) {
        for m in miners {
            m.groups = self.groups_for(&m.labels);
        }
    }
}

pub(crate) fn build(ctx: &Ctx, raw: &RawMetrics) -> Result<MetricsConfig, ConfigError> {
    if let Some(labels) = &raw.labels {
        let message = "labels belong in [[metrics.overrides]]".to_string();
        return Err(ctx.invalid(&labels.span(), "metrics.labels", message));
    }
    let base = choice(ctx, raw, "metrics")?.apply(MetricGroups::FULL);
    let mut overrides = Vec::new();
    let raw_overrides = raw.overrides.as_ref().map(Spanned::get_ref);
    for (i, o) in raw_overrides.into_iter().flatten().enumerate() {
        let field = format!("metrics.overrides[{i}]");
        if let Some(nested) = &o.overrides {
            let message = "overrides cannot nest".to_string();
            return Err(ctx.invalid(&nested.span(), &format!("{field}.overrides"), message));
        }
        let Some(labels) = &o.labels else {
            let span = raw.overrides.as_ref().map_or(0..0, Spanned::span);
            let message = "needs `labels` (`{}` matches every miner)".to_string();
            return Err(ctx.invalid(&span, &format!("{field}.labels"), message));
        };
        let mut parsed = choice(ctx, o, &field)?;
        parsed.labels = labels
            .get_ref()
            .iter()
            .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
            .collect();
        overrides.push(parsed);
    }
    Ok(MetricsConfig { base, overrides })
}

fn choice(ctx: &Ctx, raw: &RawMetrics, field: &str) -> Result<Override, ConfigError> {
    let profile = match &raw.profile {
        None => None,
        Some(text) => Some(MetricGroups::profile(text.get_ref()).ok_or_else(|| {
            ctx.invalid(
                &text.span(),
                &format!("{field}.profile"),
                format!(
                    "unknown profile {:?}, expected \"full\" or \"large_farm\"",
                    crate::error::truncate_for_log(text.get_ref(), 40)
                ),
            )
        })?),
    };
    let switches = [
        (Group::Boards, raw.boards),
        (Group::Pools, raw.pools),
        (Group::Psu, raw.psu),
        (Group::ErrorCodes, raw.error_codes),
        (Group::ChipTemperatures, raw.chip_temperatures),
    ]
    .into_iter()
    .filter_map(|(g, on)| on.map(|on| (g, on)))
    .collect();
    let windows = match &raw.hashrate_windows {
        None => None,
        Some(list) => Some(
            MetricGroups::FULL
                .with_windows(list.get_ref().iter().map(|t| t.get_ref().as_str()))
                .map_err(|e| ctx.invalid(&list.span(), &format!("{field}.hashrate_windows"), e))?,
        ),
    };
    Ok(Override {
        labels: Vec::new(),
        profile,
        switches,
        windows,
    })
}
