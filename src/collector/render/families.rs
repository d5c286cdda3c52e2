//! The table of per-miner metric families. Each family is written in one
//! pass over the snapshots, so all samples of a family stay together as
//! the exposition format requires.

use super::writer::{ExpositionWriter, MetricType::*};
use super::Gauge;
use crate::collector::groups::{FamilyGroups, MetricGroups};
use crate::collector::snapshot::MinerSnapshot;
use crate::protocol::repair::RepairKind;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) const MHS: f64 = 1e6;
const GHS: f64 = 1e9;
pub(super) const MHZ: f64 = 1e6;

/// `t` in Unix seconds, the unit of every `_timestamp_seconds` series.
pub fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Writes one family: `each` emits samples for one miner via `emit(extra
/// labels, value)`. Families with no sample at all are skipped entirely,
/// and so are the miners whose metric groups leave the family (or a
/// sample's hashrate window) out.
pub(super) fn family<F>(
    out: &mut ExpositionWriter,
    miners: &[MinerSnapshot],
    name: &'static str,
    kind: super::MetricType,
    help: &str,
    each: F,
) where
    F: Fn(&MinerSnapshot, &mut dyn FnMut(&[(&str, &str)], Option<f64>)),
{
    let needs = FamilyGroups::of(name);
    let mut header_written = false;
    for m in miners {
        let groups = out.groups_for(m.target.groups);
        if !needs.kept_by(groups) {
            continue;
        }
        let labels = m.target.label_string();
        each(m, &mut |extra, value| {
            if needs.windowed && !window_kept(extra, groups) {
                return;
            }
            if let Some(v) = value {
                if !header_written {
                    out.family(name, kind, help);
                    header_written = true;
                }
                out.sample(labels, extra, v);
            }
        });
    }
}

/// Whether a sample's `window` label (if any) is a kept window.
fn window_kept(extra: &[(&str, &str)], groups: MetricGroups) -> bool {
    extra
        .iter()
        .find(|(k, _)| *k == "window")
        .is_none_or(|(_, w)| groups.keeps_window(w))
}

pub fn write_all(out: &mut ExpositionWriter, miners: &[MinerSnapshot], now: SystemTime) {
    write_status(out, miners, now);
    write_summary(out, miners);
    super::boards::write_boards(out, miners);
    super::pools::write_pools(out, miners);
    super::info_families::write_info(out, miners);
}

fn write_status(out: &mut ExpositionWriter, miners: &[MinerSnapshot], now: SystemTime) {
    family(
        out,
        miners,
        "whatsminer_up",
        Gauge,
        "1 if the miner answered summary in this scrape, else 0.",
        |m, e| e(&[], Some(if m.up() { 1.0 } else { 0.0 })),
    );
    family(
        out,
        miners,
        "whatsminer_down_reason",
        Gauge,
        "1 for the reason the miner is down; present only while whatsminer_up is 0.",
        |m, e| {
            if let Some(err) = m.down_error() {
                e(&[("reason", err.reason())], Some(1.0))
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_command_success",
        Gauge,
        "1 if the command succeeded when last tried.",
        |m, e| {
            e(&[("command", "summary")], Some(ok(m.summary.is_ok())));
            e(&[("command", "devs")], Some(ok(m.devs.is_ok())));
            e(&[("command", "pools")], Some(ok(m.pools.is_ok())));
            if let Some(info) = &m.info {
                for (cmd, success) in info.command_ok.iter() {
                    e(&[("command", cmd)], Some(ok(*success)));
                }
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_reply_repairs_total",
        Counter,
        "Replies of invalid JSON repaired, by kind of firmware defect (see docs/metrics.md).",
        |m, e| {
            if let Some(counts) = &m.repairs {
                for kind in RepairKind::ALL {
                    let n = counts.get(kind);
                    if n > 0 {
                        e(&[("kind", kind.as_str())], Some(n as f64));
                    }
                }
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_scrape_duration_seconds",
        Gauge,
        "Wall time of this miner's scrape.",
        |m, e| e(&[], Some(m.duration.as_secs_f64())),
    );
    family(
        out,
        miners,
        "whatsminer_data_age_seconds",
        Gauge,
        "Age of the data shown for this miner.",
        |m, e| {
            e(
                &[],
                Some(
                    now.duration_since(m.scraped_at)
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0),
                ),
            )
        },
    );
    family(
        out,
        miners,
        "whatsminer_last_success_timestamp_seconds",
        Gauge,
        "Unix time of the last successful summary.",
        |m, e| e(&[], m.last_success.map(unix)),
    );
}

pub(super) fn ok(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

pub(super) fn scaled(v: Option<f64>, factor: f64) -> Option<f64> {
    v.map(|x| x * factor)
}

fn write_summary(out: &mut ExpositionWriter, miners: &[MinerSnapshot]) {
    family(
        out,
        miners,
        "whatsminer_hashrate_hashes_per_second",
        Gauge,
        "Miner hashrate by averaging window.",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[("window", "avg")], scaled(s.mhs_av.gauge(), MHS));
                e(&[("window", "5s")], scaled(s.mhs_5s.gauge(), MHS));
                e(&[("window", "1m")], scaled(s.mhs_1m.gauge(), MHS));
                e(&[("window", "5m")], scaled(s.mhs_5m.gauge(), MHS));
                e(&[("window", "15m")], scaled(s.mhs_15m.gauge(), MHS));
                e(&[("window", "rt")], scaled(s.hs_rt.gauge(), MHS));
            }
        },
    );
    macro_rules! summary_gauge {
        ($name:literal, $kind:expr, $help:literal, |$s:ident| $value:expr) => {
            family(out, miners, $name, $kind, $help, |m, e| {
                if let Ok($s) = &m.summary {
                    e(&[], $value)
                }
            });
        };
    }
    summary_gauge!(
        "whatsminer_target_hashrate_hashes_per_second",
        Gauge,
        "Target hashrate.",
        |s| scaled(s.target_mhs.gauge(), MHS)
    );
    summary_gauge!(
        "whatsminer_factory_hashrate_hashes_per_second",
        Gauge,
        "Factory-rated hashrate.",
        |s| scaled(s.factory_ghs.gauge(), GHS)
    );
    family(
        out,
        miners,
        "whatsminer_temperature_celsius",
        Gauge,
        "Miner temperature: the hottest board (from the boards where summary has none).",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[], s.temperature.gauge())
            }
        },
    );
    summary_gauge!(
        "whatsminer_environment_temperature_celsius",
        Gauge,
        "Environment (intake) temperature.",
        |s| s.env_temp.gauge()
    );
    family(
        out,
        miners,
        "whatsminer_chip_temperature_celsius",
        Gauge,
        "Chip temperature statistics across the miner.",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[("stat", "min")], s.chip_temp_min.gauge());
                e(&[("stat", "max")], s.chip_temp_max.gauge());
                e(&[("stat", "avg")], s.chip_temp_avg.gauge());
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_fan_speed_rpm",
        Gauge,
        "Fan speed in revolutions per minute.",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[("fan", "in")], s.fan_speed_in.gauge());
                e(&[("fan", "out")], s.fan_speed_out.gauge());
                e(&[("fan", "psu")], s.power_fanspeed.gauge());
            }
        },
    );
    summary_gauge!("whatsminer_power_watts", Gauge, "Power draw.", |s| s
        .power
        .gauge());
    summary_gauge!(
        "whatsminer_power_limit_watts",
        Gauge,
        "Configured power limit.",
        |s| s.power_limit.gauge()
    );
    summary_gauge!(
        "whatsminer_efficiency_joules_per_hash",
        Gauge,
        "Energy per hash (Power Rate J/TH scaled to J/H).",
        |s| scaled(s.power_rate.gauge(), 1e-12)
    );
    summary_gauge!(
        "whatsminer_frequency_hertz",
        Gauge,
        "Average chip frequency.",
        |s| scaled(s.freq_avg.gauge(), MHZ)
    );
    summary_gauge!(
        "whatsminer_target_frequency_hertz",
        Gauge,
        "Target chip frequency.",
        |s| scaled(s.target_freq.gauge(), MHZ)
    );
    summary_gauge!("whatsminer_uptime_seconds", Gauge, "System uptime.", |s| s
        .uptime
        .gauge());
    summary_gauge!(
        "whatsminer_mining_elapsed_seconds",
        Gauge,
        "Time since the mining process (btminer) started.",
        |s| s.elapsed.gauge()
    );
    family(
        out,
        miners,
        "whatsminer_shares_accepted_total",
        Counter,
        "Shares accepted (resets when the miner restarts; from pools where summary has none).",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[], s.accepted.gauge())
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_shares_rejected_total",
        Counter,
        "Shares rejected (resets when the miner restarts; from pools where summary has none).",
        |m, e| {
            if let Ok(s) = &m.summary {
                e(&[], s.rejected.gauge())
            }
        },
    );
    summary_gauge!(
        "whatsminer_reported_error_codes",
        Gauge,
        "Error Code Count reported by summary.",
        |s| s.error_code_count.gauge()
    );
    summary_gauge!(
        "whatsminer_hash_stable",
        Gauge,
        "1 if the firmware reports stable hashing.",
        |s| s.hash_stable.gauge()
    );
}
