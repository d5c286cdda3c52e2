//! `[[discovery]]`: defaults, a config whose only miner source it is, and
//! the range guard at load (its errors are in
//! tests/fixtures/config_errors/cases.toml).

use super::Fixture;
use crate::config::discovery::{DEFAULT_GRACE, DEFAULT_INTERVAL};
use std::time::Duration;

#[test]
fn a_discovery_table_alone_is_a_miner_source_with_defaults() {
    let fx = Fixture::new();
    let config = fx
        .load("[[discovery]]\nranges = [\"127.18.0.0/24\", \"127.18.1.10-20\"]\n")
        .unwrap();
    assert!(config.miners.is_empty());
    let table = &config.discovery[0];
    assert_eq!(table.ranges.len(), 2);
    assert_eq!(table.scan.ports, [4028, 4433]);
    assert_eq!(table.scan.concurrency, 32);
    assert_eq!(table.scan.rate, 200);
    assert_eq!(table.interval, DEFAULT_INTERVAL);
    assert_eq!(table.grace_period, DEFAULT_GRACE);
    assert_eq!(config.settings().discovery, config.discovery);

    let config = fx
        .load(
            "[[discovery]]\nranges = [\"127.18.0.0/16\"]\nallow_large_range = true\nports = [14028]\ninterval = \"30s\"\ngrace_period = \"0s\"\nconcurrency = 8\nrate = 0\ntimeout = \"500ms\"\n",
        )
        .unwrap();
    let table = &config.discovery[0];
    assert_eq!(table.scan.ports, [14028]);
    assert_eq!(table.interval, Duration::from_secs(30));
    assert_eq!(table.grace_period, Duration::ZERO);
    assert_eq!((table.scan.concurrency, table.scan.rate), (8, 0));
    assert_eq!(table.scan.timeout, Duration::from_millis(500));
}
