//! `[[discovery]]`: address ranges the running exporter scans on a schedule
//! for Whatsminers, which then join the fleet without a restart (see
//! `collector::discovery`). Each table is one scan with its own ranges,
//! ports, interval and bounds.
//!
//! ```toml
//! [[discovery]]
//! ranges = ["10.0.0.0/22", "10.0.8.10-50"]
//! interval = "10m"        # how often the ranges are scanned
//! grace_period = "1h"     # how long a miner may be missing before it leaves
//! ```

use serde::Deserialize;
use toml::Spanned;

use super::build::Ctx;
use super::error::{ConfigError, ConfigErrorKind, Place};
use super::raw::{Int, Text};
use crate::client::scan::{RangeGuard, ScanOptions, ScanRange, DEFAULT_MAX_PREFIX};
use crate::settings::DiscoverySettings;
use std::time::Duration;

/// Defaults: a scan every 10 minutes, a miner missing for an hour leaves.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);
/// Gentler than the `discover` command: a serving exporter scans forever.
const DEFAULT_CONCURRENCY: i64 = 32;
const DEFAULT_RATE: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiscovery {
    pub ranges: Vec<Text>,
    pub ports: Option<Vec<Int>>,
    pub interval: Option<Text>,
    pub grace_period: Option<Text>,
    pub concurrency: Option<Int>,
    pub timeout: Option<Text>,
    pub rate: Option<Int>,
    pub max_range_prefix: Option<Int>,
    pub allow_large_range: Option<Spanned<bool>>,
}

pub(crate) fn build(
    ctx: &Ctx,
    raw: &[RawDiscovery],
) -> Result<Vec<DiscoverySettings>, ConfigError> {
    raw.iter()
        .enumerate()
        .map(|(i, raw)| one(ctx, i, raw))
        .collect()
}

fn one(ctx: &Ctx, i: usize, raw: &RawDiscovery) -> Result<DiscoverySettings, ConfigError> {
    let field = |name: &str| format!("discovery[{i}].{name}");
    let mut ranges = Vec::with_capacity(raw.ranges.len());
    for (r, text) in raw.ranges.iter().enumerate() {
        let range: ScanRange =
            text.get_ref()
                .parse()
                .map_err(|e: crate::client::scan::RangeError| {
                    ctx.invalid(&text.span(), &field(&format!("ranges[{r}]")), e.why)
                })?;
        ranges.push(range);
    }
    let Some(first) = raw.ranges.first() else {
        return Err(ConfigError::new(
            Place::file(ctx.loc.file()).with_field(field("ranges")),
            ConfigErrorKind::Invalid("at least one range is needed".into()),
        ));
    };
    let max_prefix = ctx.int(
        &raw.max_range_prefix,
        &field("max_range_prefix"),
        8..=32,
        i64::from(DEFAULT_MAX_PREFIX),
    )? as u8;
    let guard = RangeGuard {
        max_prefix,
        allow_large: raw.allow_large_range.as_ref().is_some_and(|b| *b.get_ref()),
    };
    guard
        .check(&ranges)
        .map_err(|why| ctx.invalid(&first.span(), &field("ranges"), why))?;
    let mut ports = Vec::new();
    for (p, port) in raw.ports.iter().flatten().enumerate() {
        ports.push(ctx.int(
            &Some(port.clone()),
            &field(&format!("ports[{p}]")),
            1..=65535,
            0,
        )? as u16);
    }
    let defaults = ScanOptions::default();
    if ports.is_empty() {
        ports = defaults.ports;
    }
    let positive = |value: &Option<Text>, name: &str, default: Duration| {
        let d = ctx.duration(value, &field(name), default)?;
        match value {
            Some(text) if d.is_zero() => {
                Err(ctx.invalid(&text.span(), &field(name), "must be more than zero".into()))
            }
            _ => Ok(d),
        }
    };
    Ok(DiscoverySettings {
        ranges,
        scan: ScanOptions {
            ports,
            concurrency: ctx.int(
                &raw.concurrency,
                &field("concurrency"),
                1..=1024,
                DEFAULT_CONCURRENCY,
            )? as usize,
            timeout: positive(&raw.timeout, "timeout", defaults.timeout)?,
            rate: ctx.int(&raw.rate, &field("rate"), 0..=100_000, DEFAULT_RATE)? as u32,
        },
        interval: positive(&raw.interval, "interval", DEFAULT_INTERVAL)?,
        grace_period: ctx.duration(&raw.grace_period, &field("grace_period"), DEFAULT_GRACE)?,
    })
}
