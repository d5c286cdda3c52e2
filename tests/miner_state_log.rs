//! Miners' state in the log at `info`: one line when a miner goes down
//! (with its reason), one when it comes back, nothing for the scrapes in
//! between; the per-scrape summary only at `debug`.

mod support;

use support::admin::CaptureWriter;
use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};

fn events(log: &CaptureWriter, message: &str) -> Vec<serde_json::Value> {
    log.text()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == message)
        .collect()
}

#[tokio::test]
async fn one_line_when_a_miner_goes_down_and_one_when_it_comes_back() {
    let log = CaptureWriter::default();
    let writer = log.clone();
    let subscriber =
        whatsminer_exporter::cli::logging::subscriber("info", true, false, move || writer.clone());
    // One thread (current-thread runtime): the default sees every task.
    let _default = tracing::subscriber::set_default(subscriber);
    let fleet = Fleet::start(FleetConfig::loopback_ephemeral(2))
        .await
        .expect("fleet");
    let addrs = fleet.addrs();
    let exporter = support::start_exporter(vec![
        support::target(addrs[0], "m0"),
        support::target(addrs[1], "m1"),
    ])
    .await;
    let scrape = || async {
        let (status, _) = support::http_get(&exporter.metrics_url())
            .await
            .expect("metrics");
        assert_eq!(status, 200);
    };
    scrape().await;
    fleet
        .miner(1)
        .expect("miner")
        .set_fault(Some(Fault::ApiDisabled));
    for _ in 0..3 {
        scrape().await;
    }
    fleet.miner(1).expect("miner").set_fault(None);
    // The listener comes back within about a second.
    let mut back = Vec::new();
    for _ in 0..50 {
        scrape().await;
        back = events(&log, "miner back up");
        if !back.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    scrape().await;
    let down = events(&log, "miner down");
    assert_eq!(down.len(), 1, "{}", log.text());
    assert_eq!(down[0]["miner"], "m1");
    assert_eq!(down[0]["reason"], "connect_refused");
    assert_eq!(down[0]["level"], "INFO");
    assert_eq!(back.len(), 1, "{}", log.text());
    assert_eq!(back[0]["miner"], "m1");
    assert_eq!(back[0]["was"], "connect_refused");
    assert_eq!(events(&log, "miner back up").len(), 1, "one line only");
    assert!(
        events(&log, "fleet scraped").is_empty(),
        "the summary is debug"
    );
    exporter.shutdown().await;
    fleet.shutdown().await;
}
