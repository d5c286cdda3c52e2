//! Every real capture with hashboards, rendered as Prometheus would read it:
//! the exported board hashrates add up to the miner's own hashrate. This is
//! the unit check that catches boards reported in TH/s (2026 firmware)
//! while the summary stays in MH/s.

use std::sync::Arc;
use std::time::{Duration, SystemTime};
use whatsminer_exporter::client::types::{Devs, Edevs, FromReply, Summary};
use whatsminer_exporter::collector::render::{render_miners, ExpositionWriter};
use whatsminer_exporter::collector::{MinerSnapshot, MinerTarget};
use whatsminer_exporter::transport::MinerAddr;
use whatsminer_exporter::{ErrorKind, MinerError};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2/");

/// (summary capture, boards capture) of the same miner at the same time.
/// Not here: `m30splus_2022_*`, a dashboard's sample data whose summary
/// (85 TH/s) and boards (31 TH/s, still tuning) are not of the same moment.
const PAIRS: &[(&str, &str)] = &[
    ("m30sve20_summary.json", "m30sve20_devs.json"),
    ("m30sve20_summary.json", "m30sve20_edevs.json"),
    ("fw20210322_summary.json", "fw20210322_devs.json"),
    ("m20s_fw20200917_summary.json", "m20s_fw20200917_devs.json"),
    ("m30s_fw20200512_summary.json", "m30s_fw20200512_edevs.json"),
    ("m31s_fw20201202_summary.json", "m31s_fw20201202_edevs.json"),
    ("m31s_2021_summary.json", "m31s_2021_edevs.json"),
    ("m7bs_fw20260312_summary.json", "m7bs_fw20260312_edevs.json"),
];

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn snapshot(summary: &str, boards: &str) -> MinerSnapshot {
    let summary = Summary::from_reply(&read(summary)).unwrap_or_else(|e| panic!("{e:?}"));
    let bytes = read(boards);
    let devs = if boards.contains("edevs") {
        Edevs::from_reply(&bytes).map(|Edevs(b)| Devs(b))
    } else {
        Devs::from_reply(&bytes)
    }
    .unwrap_or_else(|e| panic!("{boards}: {e:?}"));
    let addr = MinerAddr::from_socket_addr("127.0.0.1:4028".parse().expect("literal"));
    MinerSnapshot {
        target: Arc::new(MinerTarget::from_addr(addr)),
        scraped_at: SystemTime::now(),
        duration: Duration::ZERO,
        summary: Ok(summary),
        devs: Ok(devs),
        pools: Err(MinerError::new("m", "pools", ErrorKind::Timeout)),
        info: None,
        last_success: None,
        protocol: "v2",
        dialect: None,
    }
}

/// Sum of the samples of `family` whose labels contain `window="avg"`.
fn sum_avg(text: &str, family: &str) -> (f64, usize) {
    let prefix = format!("{family}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix) && l.contains("window=\"avg\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold((0.0, 0), |(s, n), v| (s + v, n + 1))
}

#[test]
fn board_hashrates_add_up_to_the_miner_hashrate_on_every_capture() {
    for (summary, boards) in PAIRS {
        let snap = snapshot(summary, boards);
        let board_count = snap.devs.as_ref().map(|d| d.0.len()).unwrap_or(0);
        let mut out = ExpositionWriter::with_capacity(16 * 1024);
        render_miners(&mut out, std::slice::from_ref(&snap), SystemTime::now());
        let text = out.finish();
        let (miner, n) = sum_avg(&text, "whatsminer_hashrate_hashes_per_second");
        assert_eq!(n, 1, "{summary}: one miner hashrate");
        let (sum, n) = sum_avg(&text, "whatsminer_board_hashrate_hashes_per_second");
        assert_eq!(n, board_count, "{boards}: one sample per board");
        let ratio = sum / miner;
        // Windows and sampling instants differ a little; a unit error is a
        // factor of a million.
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{boards}: boards add up to {sum:e} H/s, the miner says {miner:e} (ratio {ratio})"
        );
    }
}
