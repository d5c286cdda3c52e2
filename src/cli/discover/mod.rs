//! `discover`: scans address ranges for Whatsminers and writes targets
//! (`output`). The scan itself is `client::scan`; here are the arguments,
//! the range guard, a progress line on a terminal and the summary.

mod output;

pub use output::Format;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::client::scan::{self, Progress, RangeGuard, ScanOptions, ScanRange, ScanReport};
use crate::files::{has_extension, write_atomically};
use crate::process::exit;

#[derive(Debug, Clone, clap::Args)]
pub struct DiscoverArgs {
    /// Ranges to scan: a CIDR (10.0.0.0/24), a dash range (10.0.0.10-10.0.0.50
    /// or 10.0.0.10-50) or one address. IP literals only.
    #[arg(required = true)]
    pub ranges: Vec<String>,
    /// Ports probed on each address: 4433 as API v3, any other as API v2.
    #[arg(long, value_delimiter = ',', default_value = "4028,4433")]
    pub ports: Vec<u16>,
    /// Write the targets to this file (replaced atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output format; default: by the --out extension (.json file_sd, .toml
    /// toml), else plain.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Addresses probed at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: u16,
    /// Bound on each connect and each reply ("2s", "500ms" or seconds).
    #[arg(long, default_value = "2s", value_parser = crate::config::cli_duration)]
    pub timeout: Duration,
    /// Most new connections per second ("500" or "500/s"; 0: no bound).
    #[arg(long, default_value = "500", value_parser = parse_rate)]
    pub rate: u32,
    /// Refuse to scan more addresses than an IPv4 prefix of this length
    /// holds (20: 4,096), unless --allow-large-range.
    #[arg(long, default_value_t = scan::DEFAULT_MAX_PREFIX, value_parser = clap::value_parser!(u8).range(8..=32))]
    pub max_range_prefix: u8,
    /// Scan ranges larger than --max-range-prefix (up to a /8).
    #[arg(long)]
    pub allow_large_range: bool,
}

fn parse_rate(text: &str) -> Result<u32, String> {
    let number = text.trim().trim_end_matches("/s");
    number
        .parse::<u32>()
        .map_err(|_| "expected connections per second, e.g. 500 or 500/s".into())
}

pub async fn discover(args: DiscoverArgs) -> u8 {
    let mut ranges = Vec::new();
    for text in &args.ranges {
        match text.parse::<ScanRange>() {
            Ok(r) => ranges.push(r),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    }
    let guard = RangeGuard {
        max_prefix: args.max_range_prefix,
        allow_large: args.allow_large_range,
    };
    let total = match guard.check(&ranges) {
        Ok(total) => total,
        Err(why) => {
            eprintln!("error: {why}");
            return exit::USAGE;
        }
    };
    if args.ports.is_empty() || args.ports.contains(&0) {
        eprintln!("error: --ports needs ports between 1 and 65535");
        return exit::USAGE;
    }
    let format = args.format.unwrap_or(match &args.out {
        Some(p) if has_extension(p, &["json"]) => Format::FileSd,
        Some(p) if has_extension(p, &["toml"]) => Format::Toml,
        _ => Format::Plain,
    });
    let options = ScanOptions {
        ports: args.ports.clone(),
        concurrency: usize::from(args.concurrency),
        timeout: args.timeout,
        rate: args.rate,
    };
    let progress = Progress::default();
    let started = Instant::now();
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(progress.clone(), total)));
    let report = scan::scan(&ranges, &options, &progress).await;
    if let Some(bar) = bar {
        bar.abort();
        eprint!("\r\x1b[2K");
    }
    print_summary(&report, started.elapsed());
    let text = output::render(&report, format);
    match &args.out {
        None => {
            print!("{text}");
            exit::OK
        }
        Some(path) if report.found.is_empty() && path.exists() => {
            eprintln!(
                "no Whatsminer found: {} left as it was (an empty scan never replaces a target list)",
                path.display()
            );
            exit::UNREACHABLE
        }
        Some(path) => match write_atomically(path, text.as_bytes()) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                exit::FAILURE
            }
        },
    }
}

/// One status line on a terminal, redrawn every 200 ms.
async fn show_progress(progress: Progress, total: u128) {
    loop {
        let done = progress.done();
        let width = 30u128;
        let filled = (u128::from(done) * width / total.max(1)).min(width) as usize;
        eprint!(
            "\r[{}{}] {done}/{total} addresses",
            "#".repeat(filled),
            ".".repeat(width as usize - filled)
        );
        let _ = std::io::stderr().flush();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_summary(report: &ScanReport, took: Duration) {
    eprintln!(
        "scanned {} in {:.1}s: {} addresses, {} answering, {} Whatsminers found, {} other devices skipped",
        report.ranges.join(" "),
        took.as_secs_f64(),
        report.addresses,
        report.answering,
        report.found.len(),
        report.skipped.len()
    );
    for skipped in &report.skipped {
        eprintln!("  skipped {}: {}", skipped.addr, skipped.reason);
    }
}
