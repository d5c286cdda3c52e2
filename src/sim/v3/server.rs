//! The framed TCP side of a simulated v3 miner: each message is a 4-byte
//! little-endian length and that many bytes of JSON, both ways (framing
//! shared with the client through `crate::transport::v3`). One connection
//! may carry several requests, as the vendor document allows; each read
//! waits at most the idle timeout, and a connection serves a bounded
//! number of requests.
//!
//! Transport faults act on frames: `Slow` delays the reply, `NoReply`
//! holds the connection, `Reset` and `Truncated` cut the reply frame,
//! `Oversized` announces a huge length, `TrailingNuls` sends heartbeat
//! frames before the reply, `SlowDrip` drips it, `OverMaxConnect` (or all
//! slots taken) closes the connection unanswered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep, timeout, Instant};

use crate::sim::fault::Fault;
use crate::sim::server::{wait_for_shutdown, MinerLimits, MinerShared};
use crate::transport::v3::{decode_frame, encode_frame, is_heartbeat};

/// Requests one connection may carry before the miner closes it.
const MAX_REQUESTS_PER_CONNECTION: usize = 64;
/// Heartbeat frames accepted in a row from a client.
const MAX_HEARTBEATS: usize = 64;
/// Heartbeats sent before the reply under the TrailingNuls fault.
const FAULT_HEARTBEATS: usize = 3;

pub(crate) async fn serve(
    shared: Arc<MinerShared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = serve_connection(&shared, &mut stream, peer) => {}
        _ = wait_for_shutdown(shutdown) => {}
    }
}

async fn serve_connection(shared: &MinerShared, stream: &mut TcpStream, peer: SocketAddr) {
    let Ok(_permit) = shared.slots.clone().try_acquire_owned() else {
        return; // all slots taken: close unanswered
    };
    let limits = shared.limits;
    let mut buf = Vec::new();
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let Some(request) = read_frame(stream, &mut buf, &limits).await else {
            return;
        };
        let fault = shared.fault();
        if fault == Some(Fault::OverMaxConnect) {
            return;
        }
        let reply = shared.handle(|state| state.handle_v3_request(&request, peer.ip()));
        if !deliver(stream, encode_frame(&reply), fault, &limits).await {
            return;
        }
    }
}

/// Reads the next request frame (skipping heartbeats) into a payload;
/// `None` on EOF, a bad or oversized header, the idle timeout, or too long
/// a wait overall.
async fn read_frame(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limits: &MinerLimits,
) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + limits.idle_timeout * 3;
    let mut heartbeats = 0;
    loop {
        while let Some((payload, used)) = decode_frame(buf, limits.max_request_bytes).ok()? {
            let bytes = buf.get(payload).map(<[u8]>::to_vec).unwrap_or_default();
            buf.drain(..used.min(buf.len()));
            if !is_heartbeat(&bytes) {
                return Some(bytes);
            }
            heartbeats += 1;
            if heartbeats > MAX_HEARTBEATS {
                return None;
            }
        }
        let n = match timeout(limits.idle_timeout, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return None,
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if Instant::now() >= deadline {
            return None;
        }
    }
}

/// Sends one reply frame as the fault says; `false` when the connection
/// is done for.
async fn deliver(
    stream: &mut TcpStream,
    frame: Vec<u8>,
    fault: Option<Fault>,
    limits: &MinerLimits,
) -> bool {
    let half = frame.get(..frame.len() / 2).unwrap_or_default();
    match fault {
        Some(Fault::Slow(delay)) => {
            sleep(delay).await;
            stream.write_all(&frame).await.is_ok()
        }
        Some(Fault::NoReply) => {
            let mut sink = [0u8; 1024];
            let hold = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = timeout(limits.no_reply_hold, hold).await;
            false
        }
        Some(Fault::Reset) => {
            let _ = stream.write_all(half).await;
            let _ = stream.flush().await;
            let _ = stream.set_zero_linger();
            false
        }
        Some(Fault::Truncated) => {
            let _ = stream.write_all(half).await;
            let _ = stream.shutdown().await;
            false
        }
        Some(Fault::Oversized(bytes)) => {
            let len = u32::try_from(bytes).unwrap_or(u32::MAX);
            let _ = stream.write_all(&len.to_le_bytes()).await;
            let _ = stream.write_all(&[b'A'; 1024]).await;
            let _ = stream.shutdown().await;
            false
        }
        Some(Fault::TrailingNuls) => {
            let mut out = vec![0u8; 4 * FAULT_HEARTBEATS];
            out.extend_from_slice(&frame);
            stream.write_all(&out).await.is_ok()
        }
        Some(Fault::SlowDrip) => {
            for byte in &frame {
                if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                    return false;
                }
                sleep(limits.drip_interval.min(Duration::from_secs(1))).await;
            }
            true
        }
        _ => stream.write_all(&frame).await.is_ok(),
    }
}
