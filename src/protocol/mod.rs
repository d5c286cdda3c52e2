//! The Whatsminer API v2 wire protocol, independent of any socket: request
//! building, reply classification (success, miner error, encrypted
//! envelope), and the writeable-command crypto.

pub mod codes;
pub mod reply;
