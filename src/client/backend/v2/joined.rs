//! The per-scrape reads in one exchange: `summary+devs+pools` joined, as
//! cgminer-style firmware answers it (see [`crate::protocol::joined`] for
//! the shape and its sources). One exchange instead of three is a third of
//! the connections a miner must accept, and miners have a small connection
//! limit ("over max connect" on busy farms).
//!
//! Each part goes through the same typed parser as a reply read alone, so a
//! part that is missing or malformed fails that part only (its
//! `whatsminer_command_success{command}` shows 0), the others still count.
//! A firmware that does not join answers as to one unknown command; the
//! backend then reads the three apart in the same scrape and remembers
//! that this miner does not join ([`super::dialect::Joins`]).

use serde_json::Map;

use super::super::FastReads;
use crate::client::types::{Devs, FromReply, Pools, Summary};
use crate::client::{plain_request, Client};
use crate::error::{ErrorKind, MinerError};
use crate::protocol::joined::{self, Split};
use crate::transport::MinerAddr;

/// The joined parts, in [`FastReads`] order.
pub const PARTS: [&str; 3] = ["summary", "devs", "pools"];

/// What one joined read gave.
#[derive(Debug)]
pub enum Joined {
    /// The firmware joined: each part's own result.
    Reads(Box<FastReads>),
    /// The answer holds none of the parts (a plain error, or not an object):
    /// the firmware does not join.
    Refused,
    /// No answer (connection, timeout): the miner is down, every part fails.
    Down(MinerError),
}

/// Sends `summary+devs+pools` once (retried as any read) and splits the
/// answer.
pub async fn read(client: &Client, miner: &MinerAddr) -> Joined {
    let command = joined::command(&PARTS);
    let request = plain_request(client.request_key(), &command, &Map::new());
    let bytes = match client.exchange_read(miner, &command, &request).await {
        Ok(bytes) => bytes,
        Err(e) => return Joined::Down(e),
    };
    let parts = match joined::split(bytes.trim_ascii(), &PARTS) {
        Split::Parts(parts) if parts.iter().any(Option::is_some) => parts,
        Split::Parts(_) | Split::Plain | Split::Malformed => return Joined::Refused,
    };
    let part = |i: usize| parts.get(i).copied().flatten();
    Joined::Reads(Box::new(FastReads {
        summary: parse::<Summary>(miner, part(0)),
        devs: parse::<Devs>(miner, part(1)),
        pools: parse::<Pools>(miner, part(2)),
    }))
}

/// Every part failed with the same error, under its own command name.
pub fn all_failed(error: MinerError) -> FastReads {
    let named = |command: &str| MinerError {
        command: command.into(),
        ..error.clone()
    };
    FastReads {
        summary: Err(named(PARTS[0])),
        devs: Err(named(PARTS[1])),
        pools: Err(named(PARTS[2])),
    }
}

fn parse<T: FromReply>(miner: &MinerAddr, bytes: Option<&[u8]>) -> Result<T, MinerError> {
    let fail = |kind| MinerError::new(miner.to_string(), T::COMMAND, kind);
    let bytes = bytes.ok_or_else(|| {
        fail(ErrorKind::UnexpectedShape(format!(
            "joined reply has no usable {} part",
            T::COMMAND
        )))
    })?;
    T::from_reply(bytes).map_err(fail)
}
