//! Serve-time discovery on loopback only: while /metrics is scraped without
//! pause, a `[[discovery]]` table over 127.18.2.0/26 adds the simulated
//! miners it finds (a configured one is not duplicated), keeps a miner's
//! `miner` label when it moves to another address, and lets a miner that
//! vanished leave after the grace period.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::exposition::{self, Sample};
use whatsminer_exporter::client::scan::ScanOptions;
use whatsminer_exporter::settings::DiscoverySettings;
use whatsminer_exporter::sim::persona::Persona;
use whatsminer_exporter::sim::Fleet;

/// Most time any one change may take to show (bounded waits, no timing
/// assertion: the test only fails if a change never shows).
const WAIT: Duration = Duration::from_secs(30);

async fn page(exporter: &whatsminer_exporter::exporter::Exporter) -> Vec<Sample> {
    let reply = support::http::get(exporter.metrics_addr(), "/metrics").await;
    assert_eq!(reply.status, 200);
    exposition::parse(&reply.body).expect("exposition parses")
}

fn up(samples: &[Sample], miner: &str) -> Option<f64> {
    let found = exposition::find(samples, "whatsminer_up", &[("miner", miner)]);
    assert!(found.len() <= 1, "one whatsminer_up per miner: {found:?}");
    found.first().map(|s| s.value)
}

/// Scrapes until `done` holds on a page, at most [`WAIT`].
async fn until(
    exporter: &whatsminer_exporter::exporter::Exporter,
    what: &str,
    done: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let samples = page(exporter).await;
        if done(&samples) {
            return samples;
        }
        assert!(tokio::time::Instant::now() < end, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn mac(fleet: &Fleet) -> String {
    fleet.miners()[0].readings().mac.to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_adds_moves_and_removes_miners_while_scrapes_go_on() {
    let m1 = support::fleet_at([127, 18, 2, 10], 1, 301, &[]).await;
    let m2 = support::fleet_at([127, 18, 2, 11], 1, 302, &[(0, Persona::V3)]).await;
    let m3 = support::fleet_at([127, 18, 2, 12], 1, 303, &[]).await;
    let (mac1, mac2, mac3) = (mac(&m1), mac(&m2), mac(&m3));
    let configured = support::target(m3.addrs()[0], "configured-3");
    let mut settings = support::exporter_settings(vec![configured]);
    settings.discovery = vec![DiscoverySettings {
        ranges: vec!["127.18.2.0/26".parse().expect("range")],
        scan: ScanOptions {
            timeout: Duration::from_millis(500),
            ..ScanOptions::default()
        },
        interval: Duration::from_millis(300),
        grace_period: Duration::from_secs(1),
    }];
    let exporter = Arc::new(support::start(settings).await);

    // Scrapes go on the whole time, bounded in count and time.
    let stop = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let scraper = tokio::spawn({
        let (exporter, stop, pages) = (exporter.clone(), stop.clone(), pages.clone());
        async move {
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                page(&exporter).await;
                pages.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    let samples = until(&exporter, "both miners discovered", |s| {
        up(s, &mac1) == Some(1.0) && up(s, &mac2) == Some(1.0) && up(s, "configured-3") == Some(1.0)
    })
    .await;
    assert_eq!(
        up(&samples, &mac3),
        None,
        "a configured miner is not duplicated"
    );
    let value = |s: &[Sample], name: &str| exposition::value(s, name, &[]).expect(name);
    assert_eq!(
        value(&samples, "whatsminer_exporter_discovered_miners"),
        2.0
    );
    let probed = exposition::value(
        &samples,
        "whatsminer_exporter_discovery_hosts_probed",
        &[("discovery", "0")],
    )
    .expect("hosts probed");
    assert_eq!(probed, 62.0);
    let info = exposition::find(&samples, "whatsminer_miner_info", &[("miner", &mac2)]);
    assert!(
        !info.is_empty() && info.iter().all(|s| s.label("protocol") == Some("v3")),
        "{info:?}"
    );

    // DHCP moves miner 1: same MAC, another address; its series go on
    // under the same `miner` label, read from the new address.
    m1.shutdown().await;
    let moved = support::fleet_at([127, 18, 2, 40], 1, 301, &[]).await;
    assert_eq!(mac(&moved), mac1);
    until(
        &exporter,
        "the moved miner is up again under its name",
        |s| up(s, &mac1) == Some(1.0),
    )
    .await;
    assert!(moved.miners()[0].connection_count() > 0);

    // Miner 2 vanishes: down while in its grace period, then gone.
    m2.shutdown().await;
    let samples = until(&exporter, "the vanished miner leaves", |s| {
        up(s, &mac2).is_none()
    })
    .await;
    assert_eq!(
        value(&samples, "whatsminer_exporter_discovered_miners"),
        1.0
    );
    assert_eq!(up(&samples, &mac1), Some(1.0));
    assert_eq!(up(&samples, "configured-3"), Some(1.0));

    stop.store(true, Ordering::Relaxed);
    scraper.await.expect("every background scrape answered 200");
    assert!(pages.load(Ordering::Relaxed) > 0);
    moved.shutdown().await;
    m3.shutdown().await;
}
