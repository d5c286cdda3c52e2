//! Every real capture with hashboards, rendered as Prometheus would read it:
//! the exported board hashrates add up to the miner's own hashrate. This is
//! the unit check that catches boards reported in TH/s (2026 firmware)
//! while the summary stays in MH/s. Also: what the 2026 summary lacks is
//! taken from boards and pools, and captures replayed by a loopback miner
//! through the collector (a repaired reply counted, a deprecated command
//! asked once).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use whatsminer_exporter::client::types::{Devs, Edevs, FromReply, Pools, Summary};
use whatsminer_exporter::client::Api;
use whatsminer_exporter::collector::render::{render_miners, ExpositionWriter};
use whatsminer_exporter::collector::{
    compact, Collector, CollectorConfig, MinerSnapshot, MinerTarget,
};
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
    let pools = Err(MinerError::new("m", "pools", ErrorKind::Timeout));
    let (summary, devs, pools) = compact::replies(Ok(summary), Ok(devs), pools);
    MinerSnapshot {
        target: Arc::new(MinerTarget::from_addr(addr)),
        scraped_at: SystemTime::now(),
        duration: Duration::ZERO,
        summary,
        devs,
        pools,
        info: None,
        last_success: None,
        api: Api::V2,
        dialect: None,
        repairs: None,
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
        let board_count = snap.devs.as_ref().map(|d| d.boards.len()).unwrap_or(0);
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

/// (summary, boards, pools) of one miner at one moment, for the fields the
/// 2026 summary drops.
const TRIPLES: &[(&str, &str, &str)] = &[
    (
        "m30sve20_summary.json",
        "m30sve20_devs.json",
        "m30sve20_pools.json",
    ),
    (
        "fw20210322_summary.json",
        "fw20210322_devs.json",
        "fw20210322_pools.json",
    ),
    (
        "m30s_fw20200512_summary.json",
        "m30s_fw20200512_edevs.json",
        "m30s_fw20200512_pools.json",
    ),
    (
        "m31s_fw20201202_summary.json",
        "m31s_fw20201202_edevs.json",
        "m31s_fw20201202_pools.json",
    ),
    (
        "m31s_2021_summary.json",
        "m31s_2021_edevs.json",
        "m31s_2021_pools.json",
    ),
];

#[test]
fn temperature_and_shares_taken_elsewhere_match_what_summary_said() {
    for (summary, boards, pools) in TRIPLES {
        let full = Summary::from_reply(&read(summary)).unwrap_or_else(|e| panic!("{e:?}"));
        let Edevs(b) = Edevs::from_reply(&read(boards)).unwrap_or_else(|e| panic!("{e:?}"));
        let Pools(p) = Pools::from_reply(&read(pools)).unwrap_or_else(|e| panic!("{e:?}"));
        // As the 2026 firmware sends it: without these three fields.
        let mut lean = full.clone();
        (lean.temperature, lean.accepted, lean.rejected) = (None, None, None);
        assert!(
            full.temperature.is_some() && full.accepted.is_some(),
            "{summary}"
        );
        assert_eq!(
            lean.temperature_or_boards(Some(&b)),
            full.temperature,
            "{summary}"
        );
        assert_eq!(lean.accepted_or_pools(Some(&p)), full.accepted, "{summary}");
        assert_eq!(lean.rejected_or_pools(Some(&p)), full.rejected, "{summary}");
        // Where summary has them, they win.
        assert_eq!(full.temperature_or_boards(Some(&[])), full.temperature);
    }
}

/// A loopback miner that answers each command with a capture, and counts
/// the requests per command.
async fn replay_miner(
    replies: HashMap<&'static str, &'static str>,
) -> (SocketAddr, Arc<Mutex<HashMap<String, usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let asked = Arc::new(Mutex::new(HashMap::new()));
    let counts = Arc::clone(&asked);
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let replies = replies.clone();
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let received = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf));
                let n = received.await.ok().and_then(Result::ok).unwrap_or(0);
                let request: serde_json::Value =
                    serde_json::from_slice(&buf[..n]).unwrap_or_default();
                let command = request
                    .get("cmd")
                    .or_else(|| request.get("command"))
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string();
                let file = replies.get(command.as_str()).copied();
                *counts.lock().expect("counts").entry(command).or_insert(0) += 1;
                let reply = read(file.unwrap_or("error_invalid_cmd.json"));
                let _ = stream.write_all(&reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, asked)
}

async fn scrape_text(collector: &Collector, addr: SocketAddr) -> String {
    let target = Arc::new(MinerTarget::from_addr(MinerAddr::from_socket_addr(addr)));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let snap = collector.scrape_miner(target, deadline).await;
    let mut out = ExpositionWriter::with_capacity(16 * 1024);
    render_miners(&mut out, std::slice::from_ref(&snap), SystemTime::now());
    out.finish()
}

fn has(text: &str, needle: &str) -> bool {
    text.lines().any(|l| l.starts_with(needle))
}

#[tokio::test]
async fn a_2020_miner_with_a_backslash_quote_is_up_and_its_repair_counted() {
    let replies = HashMap::from([
        ("summary", "m20s_fw20200917_summary.json"),
        ("devs", "m20s_fw20200917_devs.json"),
        ("pools", "m20s_2019_pools.json"),
    ]);
    let (addr, _) = replay_miner(replies).await;
    let collector = Collector::new(CollectorConfig::default());
    let text = scrape_text(&collector, addr).await;
    let miner = format!("miner=\"{addr}\"");
    assert!(has(&text, &format!("whatsminer_up{{{miner}}} 1")), "{text}");
    assert!(
        has(
            &text,
            &format!(
                "whatsminer_hashrate_hashes_per_second{{{miner},window=\"avg\"}} 68710597190000"
            )
        ),
        "{text}"
    );
    let repaired =
        format!("whatsminer_reply_repairs_total{{{miner},kind=\"single_quote_escape\"}} ");
    assert!(has(&text, &format!("{repaired}1")), "{text}");
    let text = scrape_text(&collector, addr).await;
    assert!(has(&text, &format!("{repaired}2")), "counts add up: {text}");
}

#[tokio::test]
async fn a_2026_miner_boards_in_th_s_deprecated_devdetails_asked_once() {
    let replies = HashMap::from([
        ("summary", "m7bs_fw20260312_summary.json"),
        // The capture is of `edevs`; the collector reads `devs`.
        ("devs", "m7bs_fw20260312_edevs.json"),
        ("pools", "m7bs_fw20260312_pools.json"),
        ("get_version", "m7bs_fw20260312_get_version.json"),
        ("status", "m7bs_fw20260312_status.json"),
        ("get_miner_info", "m7bs_fw20260312_get_miner_info.json"),
        ("get_error_code", "m7bs_fw20260312_get_error_code.json"),
        ("devdetails", "synthetic_devdetails_deprecated.json"),
    ]);
    let (addr, asked) = replay_miner(replies).await;
    let collector = Collector::new(CollectorConfig::default());
    let text = scrape_text(&collector, addr).await;
    let miner = format!("miner=\"{addr}\"");
    assert!(has(&text, &format!("whatsminer_up{{{miner}}} 1")), "{text}");
    let (sum, n) = sum_avg(&text, "whatsminer_board_hashrate_hashes_per_second");
    assert_eq!(n, 4);
    assert!(
        (sum / 692_030_656e6 - 1.0).abs() < 0.01,
        "boards add up to {sum:e}"
    );
    // Taken from the boards and pools, which have them.
    assert!(
        has(
            &text,
            &format!("whatsminer_temperature_celsius{{{miner}}} 65.31")
        ),
        "{text}"
    );
    assert!(
        has(
            &text,
            &format!("whatsminer_shares_accepted_total{{{miner}}} 432")
        ),
        "{text}"
    );
    assert!(text.contains("model=\"M7BSVM30\""), "{text}");
    // Deprecated is "not on this firmware": no error series.
    assert!(!text.contains("command=\"devdetails\""), "{text}");
    assert!(
        has(
            &text,
            &format!("whatsminer_command_success{{{miner},command=\"get_version\"}} 1")
        ),
        "{text}"
    );
    let target_addr = MinerAddr::from_socket_addr(addr);
    collector.invalidate_info(&target_addr);
    let _ = scrape_text(&collector, addr).await;
    let asked = asked.lock().expect("counts").clone();
    assert_eq!(asked.get("get_version"), Some(&2), "{asked:?}");
    assert_eq!(
        asked.get("devdetails"),
        Some(&1),
        "not asked again: {asked:?}"
    );
}
