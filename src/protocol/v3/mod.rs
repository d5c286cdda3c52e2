//! The Whatsminer API v3 wire protocol (firmware from about 2024-11 on),
//! independent of any socket. See `docs/protocol-v3.md` for the sources.
//!
//! - [`request`]: read and signed write request bodies.
//! - [`auth`]: per-write SHA-256 token and the AES-256-ECB param encryption.
//! - [`reply`]: the `{code, when, msg, desc}` envelope and its error codes.
//! - [`types`], [`device`]: typed status, device info and settings.
//!
//! Framing (4-byte little-endian length + JSON) and the socket side are in
//! `crate::transport::v3`, the layer below.

pub mod auth;
pub mod device;
pub mod reply;
pub mod request;
pub mod types;

#[cfg(test)]
mod tests;

pub use device::{
    DeviceInfo, ErrorCodeEntry, MinerSection, MinerSetting, NetworkSection, PowerSection,
    SystemSection,
};
pub use reply::{parse_reply, reply_msg, Reply};
pub use request::{DeviceInfoSection, StatusSection, WriteCredentials};
pub use types::{V3Edev, V3Pool, V3Status, V3Summary};

/// Default TCP port of the v3 API (plain TCP, no TLS).
pub const DEFAULT_PORT: u16 = 4433;

/// The vendor document's limit on concurrent clients.
pub const MAX_CLIENTS: usize = 10;

/// The vendor document: an idle connection is closed after 300 seconds, so a
/// connection may carry several requests.
pub const IDLE_CLOSE_SECS: u64 = 300;
