//! Micro-benchmark: what a reply that needs a repair costs against the same
//! reply sent as valid JSON (figures for BENCHMARKS.md, never asserted).
//!
//! ```sh
//! cargo run --release --example parse_repair
//! ```
//!
//! The valid reply takes the typed fast path. The broken one fails it, fails
//! the strict `serde_json::Value` parse, is repaired (`protocol::repair`),
//! parsed again and read from the `Value`. Rounds alternate between the two
//! so that drift on a shared machine hits both alike; the medians are shown.

use std::hint::black_box;
use std::time::Instant;
use whatsminer_exporter::client::types::{ErrorCodes, FromReply, Summary};

const ROUNDS: u32 = 5_000;
const PAIRS: usize = 9;

/// µs per parse over `ROUNDS` parses.
fn per_parse<T: FromReply>(bytes: &[u8]) -> f64 {
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let parsed = T::from_reply(black_box(bytes));
        assert!(black_box(parsed).is_ok(), "{} did not parse", T::COMMAND);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Medians of (valid, broken), measured in alternating rounds.
fn compare<T: FromReply>(valid: &[u8], broken: &[u8]) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        a.push(per_parse::<T>(valid));
        b.push(per_parse::<T>(broken));
    }
    (median(a), median(b))
}

fn report(what: &str, (valid, broken): (f64, f64)) {
    println!(
        "{what}: valid {valid:.2} µs, repaired {broken:.2} µs per parse ({:.1}×)",
        broken / valid
    );
}

fn main() {
    let broken: &[u8] = include_bytes!("../tests/fixtures/v2/m20s_fw20200917_summary.json");
    let valid = String::from_utf8_lossy(broken)
        .replace("\\'", "'")
        .into_bytes();
    report(
        "summary, M20S fw 20200917 capture (\\' escape)",
        compare::<Summary>(&valid, broken),
    );
    let mut trailing = valid.clone();
    let at = trailing.len() - "}],\"id\":1}".len();
    trailing.insert(at, b',');
    report(
        "summary, same reply with a trailing comma",
        compare::<Summary>(&valid, &trailing),
    );
    let entries: Vec<String> = (0..200)
        .map(|i| format!("{{\"{}\":\"2025-03-12 14:52:35\"}}", 100 + i))
        .collect();
    let whole = format!(
        "{{\"STATUS\":\"S\",\"When\":1,\"Code\":131,\"Msg\":{{\"error_code\":[{}]}},\"Description\":\"\"}}",
        entries.join(",")
    );
    let cut = &whole.as_bytes()[..whole.len() - 40];
    report(
        "get_error_code, 200 entries, cut short",
        compare::<ErrorCodes>(whole.as_bytes(), cut),
    );
}
