//! A protocol-faithful simulated fleet of Whatsminer miners (API v2), for
//! tests, demos and benchmarks. The server side of the protocol, including
//! the writeable-command crypto, is written independently of the client so
//! that a mistake on one side shows up against the other.
//!
//! Layout: `crypto` (miner-side md5-crypt/AES/base64), `model` (models and
//! firmware), `persona` (firmware generations modelled on real captures,
//! with `generations` and `joined` for their replies, request keys and
//! joined reads), `miner` + `readings` (lazy state machine), `replies` +
//! `dispatch` + `write` + `tokens` (the protocol), `fault` (injectable
//! faults and scenario files), `server` (TCP), `fleet` (many miners),
//! `cli` (the `simulate` subcommand), `v3` (API v3 on a second listener
//! for miners marked in `FleetConfig::v3_miners`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use whatsminer_exporter::sim::{Fault, Fleet, FleetConfig};
//!
//! let mut cfg = FleetConfig::loopback_ephemeral(3);
//! cfg.faults = vec![(2, Fault::ApiDisabled)];
//! let fleet = Fleet::start(cfg).await?;
//! let addrs = fleet.addrs(); // 127.0.0.1:<ephemeral>, one per miner
//! let miner = fleet.miner(0).expect("three miners");
//! miner.set_fault(Some(Fault::Slow(std::time::Duration::from_secs(2))));
//! // ... scrape `addrs`, then check what the miners saw:
//! assert_eq!(miner.command_count("power_off"), 0);
//! fleet.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod clock;
pub mod counters;
pub mod crypto;
mod dispatch;
pub mod fault;
pub mod fleet;
mod generations;
mod handle;
mod joined;
pub mod miner;
pub mod model;
mod noise;
pub mod persona;
pub mod readings;
pub mod replies;
pub mod server;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
pub mod tokens;
pub mod v3;
mod write;

pub use cli::{run as run_simulate, SimulateArgs};
pub use fault::{parse_scenario, Fault, ScenarioError};
pub use fleet::{Bind, Fleet, FleetConfig};
pub use handle::{MinerHandle, MinerReadings};
pub use miner::{MinerState, PoolConfig, PowerMode};
pub use model::{Flavour, Model};
pub use persona::Persona;
pub use server::MinerLimits;
