//! Transport: one request/reply exchange over TCP, with the limits a fleet
//! exporter needs. The v2 API opens a connection per command, sends one JSON
//! object and reads until the miner closes. This layer owns everything about
//! bytes on the wire: connect and overall deadlines, the reply size cap, and
//! the firmware's trailing NUL bytes. It knows nothing of JSON.

mod address;
pub mod v3;

pub use address::{MinerAddr, DEFAULT_PORT};

use crate::error::ErrorKind;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Limits for one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long the TCP connect may take.
    pub connect_timeout: Duration,
    /// How long the whole exchange (connect, send, read to EOF) may take.
    pub deadline: Duration,
    /// The largest reply accepted, in bytes, before the cut at the first NUL.
    pub max_reply_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(10),
            max_reply_bytes: 1024 * 1024,
        }
    }
}

/// Sends `request` and returns the reply cut at the first NUL byte and
/// trimmed of surrounding whitespace. Never returns an empty reply: a
/// connection closed without content is [`ErrorKind::EmptyReply`].
pub async fn exchange(
    addr: SocketAddr,
    request: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, ErrorKind> {
    let started = Instant::now();
    let overall_end = started + limits.deadline;
    let connect_end = (started + limits.connect_timeout).min(overall_end);
    let mut stream = match timeout_at(connect_end, TcpStream::connect(addr)).await {
        Err(_) if connect_end == overall_end && limits.deadline <= limits.connect_timeout => {
            return Err(ErrorKind::Timeout)
        }
        Err(_) => return Err(ErrorKind::ConnectTimeout),
        Ok(Err(e)) => return Err(connect_error(e)),
        Ok(Ok(s)) => s,
    };
    // No TCP_NODELAY: the request goes out in one write with nothing
    // unacknowledged before it, which Nagle never delays (one syscall less
    // per exchange).
    let mut reply = Vec::with_capacity(READ_STEP);
    match timeout_at(
        overall_end,
        send_and_read(&mut stream, request, &mut reply, limits.max_reply_bytes),
    )
    .await
    {
        Err(_) => Err(ErrorKind::Timeout),
        Ok(Err(kind)) => Err(kind),
        Ok(Ok(())) => {
            let cleaned = clean_reply(&reply);
            if cleaned.is_empty() {
                Err(ErrorKind::EmptyReply)
            } else if cleaned.len() == reply.len() {
                // The usual case: nothing to trim, no copy.
                Ok(reply)
            } else {
                Ok(cleaned.to_vec())
            }
        }
    }
}

/// The reply buffer's first size, and how much it grows by at least. A
/// joined `summary+devs+pools` answer of the real captures is 2 to 8 KiB:
/// it arrives in one read, and the read that sees the close needs no
/// growth (measured: three reads and a copy per exchange with 4 KiB).
const READ_STEP: usize = 8 * 1024;
/// Below this much spare room, the buffer grows before the next read.
const MIN_SPARE: usize = 512;

async fn send_and_read(
    stream: &mut TcpStream,
    request: &[u8],
    reply: &mut Vec<u8>,
    cap: usize,
) -> Result<(), ErrorKind> {
    stream
        .write_all(request)
        .await
        .map_err(|e| io_error(e, 0))?;
    // Read straight into the reply's spare capacity: a chunk array here
    // would sit in every exchange future, and a fleet scrape creates
    // thousands of those at once (16 KiB each was most of the RSS).
    loop {
        if reply.capacity() - reply.len() < MIN_SPARE {
            reply.reserve(READ_STEP);
        }
        let start = reply.len();
        let n = stream
            .read_buf(reply)
            .await
            .map_err(|e| io_error(e, start))?;
        if n == 0 {
            return Ok(());
        }
        // Firmware ends a reply with NUL bytes; what follows the first NUL
        // is never part of it, so stop reading there rather than wait for a
        // close that a misbehaving miner may never send.
        // memchr: this scan runs over every byte of every reply (it was
        // 2% of the exporter's CPU as a byte loop).
        let nul = reply
            .get(start..)
            .and_then(|fresh| memchr::memchr(0, fresh));
        if let Some(nul) = nul {
            reply.truncate(start + nul);
        }
        if reply.len() > cap {
            return Err(ErrorKind::ReplyTooLarge { limit: cap });
        }
        if nul.is_some() {
            return Ok(());
        }
    }
}

/// Cuts at the first NUL and trims ASCII whitespace on both ends. Cheap and
/// idempotent, so parsers above apply it again defensively.
pub fn clean_reply(raw: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, raw).unwrap_or(raw.len());
    raw[..end].trim_ascii()
}

fn connect_error(e: io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
        // A listener that closes with our connection still in its backlog
        // resets it during the handshake.
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            ErrorKind::ConnectionReset { received: 0 }
        }
        _ => ErrorKind::Io(e.kind().to_string()),
    }
}

fn io_error(e: io::Error, received: usize) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ErrorKind::ConnectionReset { received },
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Io(e.kind().to_string()),
    }
}

#[cfg(test)]
mod tests;
