//! The Whatsminer API v2 wire protocol, independent of any socket: request
//! building, reply classification (success, miner error, encrypted
//! envelope), and the writeable-command crypto. `v3` holds API v3.

pub mod codes;
pub mod crypto;
pub mod joined;
pub mod repair;
pub mod reply;
pub mod v3;
