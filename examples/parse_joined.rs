//! Micro-benchmark: the CPU a scrape spends on one miner's joined reply
//! after it is read (figures for BENCHMARKS.md, never asserted).
//!
//! ```sh
//! cargo run --release --example parse_joined
//! cargo run --release --example parse_joined -- --parse-only
//! ```
//!
//! One joined answer (`{"summary":[..],"devs":[..],"pools":[..],"id":1}`)
//! is built from each real capture triple of `tests/fixtures/v2`, then split
//! into its parts and each part parsed to its typed reply, as the v2 backend
//! does; the last column adds the collector's compaction (the figures a
//! snapshot keeps). Medians of 9 rounds of 2,000 answers each.
//! `--parse-only` splits each answer once and times only the typed parse
//! of its parts (for `perf stat` of the parse alone: the split's own cost
//! moves with code layout, by up to a third between two builds that differ
//! elsewhere).

use std::hint::black_box;
use std::time::Instant;
use whatsminer_exporter::client::types::{Devs, Edevs, FromReply, Pools, Summary};
use whatsminer_exporter::collector::compact;
use whatsminer_exporter::protocol::joined::{split, Split};

const ROUNDS: u32 = 2_000;
const RUNS: usize = 9;
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2/");

/// (name, summary file, boards file, its part name, pools file): real
/// captures of one miner (see tests/fixtures/v2/README.md).
const TRIPLES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "M30S VE20 (devs)",
        "m30sve20_summary.json",
        "m30sve20_devs.json",
        "devs",
        "m30sve20_pools.json",
    ),
    (
        "M31S 2021 (edevs)",
        "m31s_2021_summary.json",
        "m31s_2021_edevs.json",
        "edevs",
        "m31s_2021_pools.json",
    ),
    (
        "M7BS fw 20260312 (edevs)",
        "m7bs_fw20260312_summary.json",
        "m7bs_fw20260312_edevs.json",
        "edevs",
        "m7bs_fw20260312_pools.json",
    ),
];

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .trim()
        .to_string()
}

type Parsed = (
    Result<Summary, whatsminer_exporter::ErrorKind>,
    Result<Devs, whatsminer_exporter::ErrorKind>,
    Result<Pools, whatsminer_exporter::ErrorKind>,
);

/// The three parts of a joined answer.
fn split_parts<'a>(answer: &'a [u8], boards: &str) -> [&'a [u8]; 3] {
    let Split::Parts(found) = split(answer, &["summary", boards, "pools"]) else {
        panic!("not a joined answer");
    };
    let part = |i: usize| found.get(i).copied().flatten().unwrap_or(b"");
    [part(0), part(1), part(2)]
}

/// What the v2 backend does with a joined answer's parts.
fn parse_parts(parts: [&[u8]; 3], boards: &str) -> Parsed {
    let devs = if boards == "edevs" {
        Edevs::from_reply(parts[1]).map(|Edevs(b)| Devs(b))
    } else {
        Devs::from_reply(parts[1])
    };
    (
        Summary::from_reply(parts[0]),
        devs,
        Pools::from_reply(parts[2]),
    )
}

/// What the v2 backend does with a joined answer: split, parse each part.
fn parse(answer: &[u8], boards: &str) -> Parsed {
    parse_parts(split_parts(answer, boards), boards)
}

fn err(kind: whatsminer_exporter::ErrorKind) -> whatsminer_exporter::MinerError {
    whatsminer_exporter::MinerError::new("127.0.0.1:4028", "x", kind)
}

/// µs per answer over `ROUNDS` answers.
fn per_answer(answer: &[u8], boards: &str, compacted: bool) -> f64 {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let (s, d, p) = parse(black_box(answer), boards);
        assert!(s.is_ok() && d.is_ok() && p.is_ok(), "a part did not parse");
        if compacted {
            let _ = black_box(compact::replies(
                s.map_err(err),
                d.map_err(err),
                p.map_err(err),
            ));
        } else {
            let _ = black_box((s, d, p));
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}

/// µs per answer over `ROUNDS` answers, parts split beforehand.
fn per_parts(parts: [&[u8]; 3], boards: &str) -> f64 {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let (s, d, p) = parse_parts(black_box(parts), boards);
        assert!(s.is_ok() && d.is_ok() && p.is_ok(), "a part did not parse");
        let _ = black_box((s, d, p));
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let parse_only = std::env::args().any(|a| a == "--parse-only");
    if parse_only {
        println!("| capture | answer bytes | parse µs |");
        println!("|---|---:|---:|");
    } else {
        println!("| capture | answer bytes | split + parse µs | + compaction µs |");
        println!("|---|---:|---:|---:|");
    }
    for (name, summary, boards, part, pools) in TRIPLES {
        let answer = format!(
            "{{\"summary\":[{}],\"{part}\":[{}],\"pools\":[{}],\"id\":1}}",
            read(summary),
            read(boards),
            read(pools)
        );
        if parse_only {
            let parts = split_parts(answer.as_bytes(), part);
            let runs = (0..RUNS).map(|_| per_parts(parts, part)).collect();
            println!("| {name} | {} | {:.2} |", answer.len(), median(runs));
            continue;
        }
        let (mut plain, mut full) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            plain.push(per_answer(answer.as_bytes(), part, false));
            full.push(per_answer(answer.as_bytes(), part, true));
        }
        println!(
            "| {name} | {} | {:.2} | {:.2} |",
            answer.len(),
            median(plain),
            median(full)
        );
    }
}
