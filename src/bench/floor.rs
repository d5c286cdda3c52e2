//! The floors: the least work that can possibly fetch a fleet's data. A
//! bare TCP client makes the exchanges of a scrape, at most `concurrency`
//! miners in flight, one task per miner as the collector does, reads every
//! reply to EOF and throws it away: no parsing, no metrics. Two floors:
//! [`Floor::ThreeExchanges`] (`summary`, `devs` and `pools` per miner, the
//! three at once) and [`Floor::OneExchange`] (one joined read,
//! `{"command":"summary+devs+pools"}`, where the firmware joins reads). The
//! exporter's cost is judged against both.

use crate::client::{plain_request, RequestKey};
use serde_json::Map;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The commands of a measured scrape (the slow info commands are cached).
pub const SCRAPE_COMMANDS: [&str; 3] = ["summary", "devs", "pools"];

/// Which exchanges a floor run makes per miner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// `summary`, `devs` and `pools`, three exchanges at once.
    ThreeExchanges,
    /// One joined read of the three.
    OneExchange,
}

impl Floor {
    /// The request bytes, one per exchange.
    fn requests(self) -> Vec<Vec<u8>> {
        match self {
            Floor::ThreeExchanges => SCRAPE_COMMANDS
                .iter()
                .map(|c| plain_request(RequestKey::default(), c, &Map::new()))
                .collect(),
            Floor::OneExchange => {
                let joined = crate::protocol::joined::command(&SCRAPE_COMMANDS);
                vec![plain_request(RequestKey::Command, &joined, &Map::new())]
            }
        }
    }
}

/// Largest reply read, as the exporter's default `max_reply_bytes`.
const MAX_REPLY: usize = 1024 * 1024;

/// What one floor run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloorRun {
    pub wall: Duration,
    /// Exchanges that got a non-empty reply.
    pub ok: usize,
    pub failed: usize,
    pub bytes: u64,
}

/// Runs the exchanges of one scrape of `miners`, all done by `limit`.
pub async fn run(
    miners: &Arc<Vec<SocketAddr>>,
    concurrency: usize,
    limit: Duration,
    floor: Floor,
) -> FloorRun {
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(floor.requests());
    let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = tokio::task::JoinSet::new();
    for &addr in miners.iter() {
        let semaphore = Arc::clone(&semaphore);
        let requests = Arc::clone(&requests);
        tasks.spawn(async move {
            let Ok(Ok(_permit)) =
                tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await
            else {
                return [None, None, None];
            };
            match requests.as_slice() {
                [a, b, c] => {
                    let (a, b, c) = tokio::join!(
                        exchange(addr, a, deadline),
                        exchange(addr, b, deadline),
                        exchange(addr, c, deadline)
                    );
                    [a, b, c]
                }
                [one] => [exchange(addr, one, deadline).await, Some(0), Some(0)],
                _ => [None, None, None],
            }
        });
    }
    let mut result = FloorRun::default();
    let per_miner = requests.len();
    while let Some(joined) = tasks.join_next().await {
        let outcomes = joined.unwrap_or([None, None, None]);
        for outcome in outcomes.into_iter().take(per_miner) {
            match outcome {
                Some(n) => {
                    result.ok += 1;
                    result.bytes += n as u64;
                }
                None => result.failed += 1,
            }
        }
    }
    result.wall = started.elapsed();
    result
}

/// One exchange: connect, send, read to EOF. The reply's length, or
/// `None` on any failure or an empty reply.
async fn exchange(addr: SocketAddr, request: &[u8], deadline: Instant) -> Option<usize> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        // No TCP_NODELAY, as the exporter: one write, nothing to delay.
        stream.write_all(request).await.ok()?;
        let mut chunk = [0u8; 16 * 1024];
        let mut total = 0usize;
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            total += n;
            if total > MAX_REPLY {
                return None;
            }
        }
        (total > 0).then_some(total)
    };
    tokio::time::timeout_at(deadline, work).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Fault, Fleet, FleetConfig};

    #[tokio::test]
    async fn makes_three_exchanges_per_miner_and_counts_failures() {
        let mut cfg = FleetConfig::loopback_ephemeral(4);
        cfg.faults = vec![(3, Fault::ApiDisabled)];
        let fleet = Fleet::start(cfg).await.expect("fleet");
        let addrs = Arc::new(fleet.addrs());
        let run = run(&addrs, 2, Duration::from_secs(20), Floor::ThreeExchanges).await;
        assert_eq!((run.ok, run.failed), (9, 3), "{run:?}");
        assert!(run.bytes > 9 * 100, "{run:?}");
        let miner = fleet.miner(0).expect("miner 0");
        for command in SCRAPE_COMMANDS {
            assert_eq!(miner.command_count(command), 1, "{command}");
        }
        fleet.shutdown().await;
    }

    #[tokio::test]
    async fn the_one_exchange_floor_makes_one_joined_read_per_miner() {
        let mut cfg = FleetConfig::loopback_ephemeral(4);
        cfg.faults = vec![(3, Fault::ApiDisabled)];
        let fleet = Fleet::start(cfg).await.expect("fleet");
        let addrs = Arc::new(fleet.addrs());
        let run = run(&addrs, 2, Duration::from_secs(20), Floor::OneExchange).await;
        assert_eq!((run.ok, run.failed), (3, 1), "{run:?}");
        let miner = fleet.miner(0).expect("miner 0");
        assert_eq!(miner.connection_count(), 1);
        for command in SCRAPE_COMMANDS {
            assert_eq!(miner.command_count(command), 1, "{command}");
        }
        // The joined answer holds all three parts.
        assert!(run.bytes > 3 * 300, "{run:?}");
        fleet.shutdown().await;
    }
}
