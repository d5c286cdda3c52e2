//! Client library and Prometheus exporter for MicroBT Whatsminer miners.
//!
//! The crate is layered, each layer using only the ones before it:
//! transport (TCP framing, limits, timeouts) → protocol (messages, crypto,
//! token) → client (typed commands, one backend per miner API) → collector
//! (concurrent fleet scrape) → settings (validated runtime values) → http
//! (routes) → exporter (listeners and tasks). `config` turns the file into
//! settings at the edge. The simulator, the benchmark and the CLI sit beside
//! this flow; `error`, `secret`, `files`, `memory` and `process` serve all.
//! ARCHITECTURE.md has the map; `tests/architecture.rs` checks it.

pub mod bench;
pub mod cli;
pub mod client;
pub mod collector;
pub mod config;
pub mod error;
pub mod exporter;
pub mod files;
pub mod http;
pub mod memory;
pub mod process;
pub mod protocol;
pub mod secret;
pub mod settings;
pub mod sim;
pub mod telemetry;
pub mod transport;

pub use error::{ErrorKind, MinerError};
pub use secret::Secret;

// The README's Rust example is compiled as a doc test, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
