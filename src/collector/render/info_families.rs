//! Families from the slowly refreshed commands: the `_info` metric, run
//! state, error codes and PSU figures, from the info cache's compact form
//! ([`crate::collector::compact::slow`]).

use super::families::{family, ok};
use super::writer::{ExpositionWriter, MetricType::*};
use crate::collector::compact::slow::CompactPsu;
use crate::collector::snapshot::MinerSnapshot;

pub fn write_info(out: &mut ExpositionWriter, miners: &[MinerSnapshot]) {
    family(
        out,
        miners,
        "whatsminer_miner_info",
        Gauge,
        "Miner identity; always 1.",
        |m, e| {
            let info = m.info.as_deref();
            let version = info.and_then(|i| i.version.as_ref());
            let details = info.and_then(|i| i.devdetails.as_ref());
            let net = info.and_then(|i| i.miner_info.as_ref());
            let summary = m.summary.as_ref().ok();
            // devdetails is deprecated on 2026 firmware; get_version names the model there.
            let model = details
                .and_then(|d| d.model.as_deref())
                .or_else(|| version.and_then(|v| v.model()))
                .unwrap_or_default();
            let firmware = version
                .and_then(|v| v.fw_ver())
                .or_else(|| {
                    info.and_then(|i| i.status.as_ref())
                        .and_then(|s| s.firmware_version.as_deref())
                })
                .unwrap_or_default();
            let api = version.and_then(|v| v.api_ver()).unwrap_or_default();
            let mac = net
                .and_then(|n| n.mac())
                .or_else(|| summary.and_then(|s| s.mac.as_deref()))
                .unwrap_or_default();
            let hostname = net.and_then(|n| n.hostname()).unwrap_or_default();
            // Empty (so absent) where the API has no dialect (v3).
            let request_key = m.dialect.map_or("", |d| d.request_key.as_str());
            // Only once something identifies the miner: an info series of
            // empty labels would be noise.
            if info.is_some() || summary.is_some() {
                e(
                    &[
                        ("model", model),
                        ("firmware", firmware),
                        ("api_version", api),
                        ("mac", mac),
                        ("hostname", hostname),
                        ("protocol", m.api.as_str()),
                        ("request_key", request_key),
                    ],
                    Some(1.0),
                );
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_mining",
        Gauge,
        "1 if the mining process runs (status btmineroff false), 0 when powered off.",
        |m, e| {
            let status = m.info.as_deref().and_then(|i| i.status.as_ref());
            e(&[], status.and_then(|s| s.btmineroff).map(|off| ok(!off)))
        },
    );
    family(
        out,
        miners,
        "whatsminer_error_codes",
        Gauge,
        "Number of active error codes (get_error_code).",
        |m, e| {
            e(
                &[],
                m.info
                    .as_deref()
                    .and_then(|i| i.error_code_count())
                    .map(|n| n as f64),
            )
        },
    );
    family(
        out,
        miners,
        "whatsminer_error_code_info",
        Gauge,
        "1 per active error code.",
        |m, e| {
            if let Some(codes) = m.info.as_deref().and_then(|i| i.error_codes.as_ref()) {
                for code in &codes.0 {
                    e(&[("code", code)], Some(1.0));
                }
            }
        },
    );
    family(
        out,
        miners,
        "whatsminer_psu_input_voltage_volts",
        Gauge,
        "PSU input voltage.",
        |m, e| e(&[], psu(m).and_then(|p| p.input_volts.get())),
    );
    family(
        out,
        miners,
        "whatsminer_psu_input_current_amperes",
        Gauge,
        "PSU input current.",
        |m, e| e(&[], psu(m).and_then(|p| p.input_amps.get())),
    );
    family(
        out,
        miners,
        "whatsminer_psu_fan_speed_rpm",
        Gauge,
        "PSU fan speed.",
        |m, e| e(&[], psu(m).and_then(|p| p.fan_speed.get())),
    );
    family(
        out,
        miners,
        "whatsminer_psu_info",
        Gauge,
        "PSU identity; always 1.",
        |m, e| {
            if let Some(p) = psu(m) {
                e(
                    &[
                        ("model", p.model().unwrap_or_default()),
                        ("serial", p.serial().unwrap_or_default()),
                        ("firmware", p.sw_version().unwrap_or_default()),
                    ],
                    Some(1.0),
                );
            }
        },
    );
}

fn psu(m: &MinerSnapshot) -> Option<&CompactPsu> {
    m.info.as_deref().and_then(|i| i.psu.as_deref())
}
