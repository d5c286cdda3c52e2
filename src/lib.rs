//! Client library and Prometheus exporter for MicroBT Whatsminer miners.
//!
//! The crate is layered, each layer using only the ones before it:
//! transport (TCP framing, limits, timeouts) → protocol (messages, crypto,
//! token) → client (typed commands) → collector (concurrent fleet scrape) →
//! http (routes). The simulator and the CLI sit beside this flow.

pub mod error;
pub mod protocol;
pub mod secret;
pub mod sim;

pub use error::{ErrorKind, MinerError};
pub use secret::Secret;
