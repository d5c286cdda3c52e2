//! The TCP side of one simulated miner, as the firmware behaves: one JSON
//! request per connection, one reply, then close. A v3 miner runs a second
//! listener with the same loop and the framed connection handler of
//! `super::v3::server`. Requests are read with a
//! size cap and an idle timeout; connections beyond the miner's limit get
//! the "over max connect" error; transport faults (delays, resets,
//! truncation, dripping, oversize, a closed listener) are applied here.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

use super::fault::Fault;
use super::miner::MinerState;
use super::replies::error_reply;
use crate::client::Api;
use crate::protocol::codes;

/// Code sent with "over max connect". No public source gives the real
/// one; clients must match on the error, not the number.
pub const OVER_MAX_CONNECT_CODE: i64 = codes::COMMAND_ERROR;
/// Bytes appended by the TrailingNuls fault.
pub const TRAILING_JUNK: &[u8] = b"\0\0\0\0 \r\n\t \0";

/// Per-miner transport limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinerLimits {
    /// Largest request accepted; a larger one closes the connection.
    pub max_request_bytes: usize,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more get "over max connect".
    pub max_connections: usize,
    /// How long NoReply holds a connection at most.
    pub no_reply_hold: Duration,
    /// Pause between bytes of the SlowDrip fault.
    pub drip_interval: Duration,
    /// How long (in the miner's own time) its API is unreachable after a
    /// `reboot`: a real control board takes a few minutes. Zero answers
    /// again at once.
    pub reboot_offline: Duration,
}

impl Default for MinerLimits {
    fn default() -> Self {
        MinerLimits {
            max_request_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(10),
            max_connections: 8,
            no_reply_hold: Duration::from_secs(120),
            drip_interval: Duration::from_secs(1),
            reboot_offline: Duration::ZERO,
        }
    }
}

/// What the listener and every connection of one miner share.
pub(crate) struct MinerShared {
    pub index: usize,
    pub addr: SocketAddr,
    /// The API v3 listener's address, on miners that speak v3.
    pub v3_addr: Option<SocketAddr>,
    pub limits: MinerLimits,
    state: Mutex<MinerState>,
    /// Wake the v2 and the v3 listener when the fault changes
    /// (ApiDisabled); one each, so a change made while a listener is busy
    /// is kept for it.
    fault_changed: [Notify; 2],
    /// Connections served at once, over both APIs.
    pub(crate) slots: Arc<Semaphore>,
    /// Connections open now over both APIs, and the most ever open at
    /// once (what a test of the exporter's per-miner cap reads). A v2
    /// connection counts until its reply is sent (the client may take a
    /// moment to see the close), a v3 one while it is open.
    open: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    /// Connections ever accepted over both APIs (how many the exporter
    /// makes: what a miner's connection limit sees).
    accepted: std::sync::atomic::AtomicU64,
}

/// Counts one open connection of a miner until dropped.
pub(crate) struct OpenConnection(Arc<MinerShared>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl MinerShared {
    pub fn new(index: usize, addr: SocketAddr, limits: MinerLimits, state: MinerState) -> Self {
        MinerShared {
            index,
            addr,
            v3_addr: None,
            limits,
            state: Mutex::new(state),
            fault_changed: [Notify::new(), Notify::new()],
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            open: Default::default(),
            peak: Default::default(),
            accepted: Default::default(),
        }
    }

    /// Counts a connection just accepted, until the guard is dropped.
    pub(crate) fn count_open(self: &Arc<Self>) -> OpenConnection {
        use std::sync::atomic::Ordering;
        self.accepted.fetch_add(1, Ordering::Relaxed);
        let now = self.open.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
        OpenConnection(Arc::clone(self))
    }

    /// Connections ever accepted.
    pub(crate) fn accepted_connections(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most connections ever open at once.
    pub(crate) fn peak_connections(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The state; a panic elsewhere while holding the lock does not make
    /// the miner unusable.
    pub fn lock(&self) -> MutexGuard<'_, MinerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().set_fault(fault);
        self.wake_listeners();
    }

    fn wake_listeners(&self) {
        for notify in &self.fault_changed {
            notify.notify_one();
        }
    }

    /// Runs one request on the state; when it rebooted the miner, the
    /// listeners are woken to close for [`MinerLimits::reboot_offline`].
    pub(crate) fn handle<R>(&self, run: impl FnOnce(&mut MinerState) -> R) -> R {
        let (reply, rebooted) = {
            let mut state = self.lock();
            let boot_before = state.run.boot_at;
            let reply = run(&mut state);
            (reply, state.run.boot_at != boot_before)
        };
        if rebooted && !self.limits.reboot_offline.is_zero() {
            self.wake_listeners();
        }
        reply
    }

    /// How much longer the miner is rebooting, in its own time.
    fn rebooting_for(&self) -> Option<Duration> {
        let offline = self.limits.reboot_offline.as_secs_f64();
        if offline <= 0.0 {
            return None;
        }
        let since_boot = {
            let state = self.lock();
            state.now() - state.run.boot_at
        };
        let left = offline - since_boot;
        (left > 0.0).then(|| Duration::from_secs_f64(left))
    }

    pub(crate) fn fault(&self) -> Option<Fault> {
        self.lock().fault().cloned()
    }
}

/// Accepts connections for `api` until `shutdown` turns true; closes the listener
/// while the API is disabled or the miner reboots, and binds it again
/// afterwards.
pub(crate) async fn run_listener(
    shared: Arc<MinerShared>,
    listener: Option<TcpListener>,
    api: Api,
    mut shutdown: watch::Receiver<bool>,
) {
    let (addr, fault_changed) = match api {
        Api::V2 => (shared.addr, &shared.fault_changed[0]),
        Api::V3 => (
            shared.v3_addr.unwrap_or(shared.addr),
            &shared.fault_changed[1],
        ),
    };
    let mut listener = listener;
    let mut connections = JoinSet::new();
    while !*shutdown.borrow() {
        let rebooting = shared.rebooting_for();
        let disabled = matches!(shared.fault(), Some(Fault::ApiDisabled)) || rebooting.is_some();
        if disabled {
            listener = None;
        } else if listener.is_none() {
            listener = rebind(addr).await;
        }
        match &listener {
            Some(l) => {
                tokio::select! {
                    changed = shutdown.changed() => if changed.is_err() { break },
                    _ = fault_changed.notified() => {}
                    accepted = l.accept() => match accepted {
                        Ok((stream, peer)) => match api {
                            Api::V2 => {
                                let open = shared.count_open();
                                connections.spawn(serve(shared.clone(), stream, peer, shutdown.clone(), open));
                            }
                            Api::V3 => {
                                let open = shared.count_open();
                                let conn = super::v3::server::serve(shared.clone(), stream, peer, shutdown.clone());
                                connections.spawn(async move { conn.await; drop(open) });
                            }
                        },
                        // Out of descriptors or similar: do not spin.
                        Err(_) => sleep(Duration::from_millis(50)).await,
                    },
                }
            }
            None => {
                // Disabled, rebooting, or the address could not be bound
                // again yet. A reboot is checked each second: the miner's
                // clock may be moved forward by a test.
                let recheck = match rebooting {
                    Some(left) => Some(left.min(Duration::from_secs(1))),
                    None => (!disabled).then_some(Duration::from_secs(1)),
                };
                tokio::select! {
                    changed = shutdown.changed() => if changed.is_err() { break },
                    _ = fault_changed.notified() => {}
                    _ = sleep(recheck.unwrap_or_default()), if recheck.is_some() => {}
                }
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    // Connections watch `shutdown` too; give them a moment, then cut.
    let drain = async { while connections.join_next().await.is_some() {} };
    if timeout(Duration::from_secs(2), drain).await.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..20 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        sleep(Duration::from_millis(100)).await;
    }
    tracing::warn!(%addr, "simulated miner could not bind its address again");
    None
}

pub(crate) async fn wait_for_shutdown(mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

async fn serve(
    shared: Arc<MinerShared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    open: OpenConnection,
) {
    tokio::select! {
        _ = serve_connection(&shared, &mut stream, peer, open) => {}
        _ = wait_for_shutdown(shutdown) => {}
    }
}

async fn serve_connection(
    shared: &MinerShared,
    stream: &mut TcpStream,
    peer: SocketAddr,
    open: OpenConnection,
) {
    let permit = shared.slots.clone().try_acquire_owned().ok();
    let limits = shared.limits;
    let Some(request) = read_request(stream, &limits).await else {
        return;
    };
    let fault = shared.fault();
    let reply = if permit.is_none() || fault == Some(Fault::OverMaxConnect) {
        let when = {
            let state = shared.lock();
            state.clock.unix_at(state.now())
        };
        error_reply(when, OVER_MAX_CONNECT_CODE, codes::OVER_MAX_CONNECT_MSG).to_string()
    } else {
        shared.handle(|state| state.handle_request(&request, peer.ip()))
    };
    // Answered: the client's next connection can only come after this
    // reply, so the count never includes a connection already done with.
    drop(open);
    deliver(stream, reply.into_bytes(), fault, &limits).await;
    drop(permit);
}

/// Reads one request: until a complete JSON value, EOF, the size cap
/// (`None`), or the idle timeout (`None`, closed silently as the firmware
/// does). An empty request is `None` too.
async fn read_request(stream: &mut TcpStream, limits: &MinerLimits) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    // Bound the whole read too, so a byte every few seconds cannot hold a
    // slot forever.
    let deadline = Instant::now() + limits.idle_timeout * 3;
    loop {
        let read = timeout(limits.idle_timeout, stream.read(&mut chunk)).await;
        let n = match read {
            Ok(Ok(0)) => return (!buf.is_empty()).then_some(buf),
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return None,
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if buf.len() > limits.max_request_bytes {
            return None;
        }
        if request_complete(&buf) {
            return Some(buf);
        }
        if Instant::now() >= deadline {
            return None;
        }
    }
}

/// Whether `buf` already holds a whole JSON value (or something that can
/// never become one, which is answered as invalid JSON).
fn request_complete(buf: &[u8]) -> bool {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let text = buf.get(..end).unwrap_or(buf);
    if text.iter().all(u8::is_ascii_whitespace) {
        return end < buf.len();
    }
    let mut values =
        serde_json::Deserializer::from_slice(text).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => true,
        Some(Err(e)) => !e.is_eof(),
        None => false,
    }
}

/// Sends the reply as the miner's transport fault says, then closes.
async fn deliver(
    stream: &mut TcpStream,
    reply: Vec<u8>,
    fault: Option<Fault>,
    limits: &MinerLimits,
) {
    let half = reply.get(..reply.len() / 2).unwrap_or(&[]);
    match fault {
        Some(Fault::Slow(delay)) => {
            sleep(delay).await;
            write_and_close(stream, &reply).await;
        }
        Some(Fault::NoReply) => {
            // Keep the connection until the client gives up (closes).
            let started = Instant::now();
            let mut sink = [0u8; 1024];
            let hold = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = timeout(limits.no_reply_hold, hold).await;
            // A client that only half-closed may still be waiting: stay
            // silent a little longer (its close cannot be seen without
            // writing).
            let left = limits.no_reply_hold.saturating_sub(started.elapsed());
            sleep(left.min(Duration::from_secs(30))).await;
        }
        Some(Fault::Reset) => {
            let _ = stream.write_all(half).await;
            let _ = stream.flush().await;
            // Dropping a socket with a zero linger sends RST, not FIN.
            let _ = stream.set_zero_linger();
        }
        Some(Fault::Truncated) => write_and_close(stream, half).await,
        Some(Fault::TrailingNuls) => {
            let mut padded = reply;
            padded.extend_from_slice(TRAILING_JUNK);
            write_and_close(stream, &padded).await;
        }
        Some(Fault::Oversized(bytes)) => write_oversized(stream, bytes).await,
        Some(Fault::SlowDrip) => {
            for byte in &reply {
                if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                    return;
                }
                sleep(limits.drip_interval).await;
            }
            write_and_close(stream, &[]).await;
        }
        _ => write_and_close(stream, &reply).await,
    }
}

/// Writes, half-closes, and waits briefly for the client's own close so
/// late request bytes do not turn the close into a reset.
async fn write_and_close(stream: &mut TcpStream, bytes: &[u8]) {
    if stream.write_all(bytes).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let drain = async {
        for _ in 0..64 {
            match stream.read(&mut sink).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    };
    let _ = timeout(Duration::from_secs(2), drain).await;
}

/// A syntactically plausible reply of exactly `bytes` bytes (a JSON
/// object with one huge string), written in chunks.
async fn write_oversized(stream: &mut TcpStream, bytes: usize) {
    let head: &[u8] = br#"{"STATUS":"S","When":0,"Code":131,"Msg":""#;
    let tail: &[u8] = br#"","Description":""}"#;
    let filler = bytes.saturating_sub(head.len() + tail.len());
    if stream
        .write_all(head.get(..bytes.min(head.len())).unwrap_or(head))
        .await
        .is_err()
    {
        return;
    }
    let chunk = vec![b'A'; 64 * 1024];
    let mut left = filler;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream
            .write_all(chunk.get(..n).unwrap_or(&[]))
            .await
            .is_err()
        {
            return;
        }
        left -= n;
    }
    if bytes > head.len() {
        let tail_len = (bytes - head.len()).min(tail.len());
        let _ = stream.write_all(tail.get(..tail_len).unwrap_or(&[])).await;
    }
    write_and_close(stream, &[]).await;
}

#[cfg(test)]
mod tests {
    use super::request_complete;

    #[test]
    fn detects_complete_requests() {
        assert!(request_complete(br#"{"cmd":"summary"}"#));
        assert!(request_complete(b" {\"cmd\":\"x\"}\n"));
        assert!(!request_complete(br#"{"cmd":"sum"#));
        assert!(!request_complete(b"   "));
        assert!(request_complete(b"{\"a\":1}\0\0"));
        assert!(request_complete(b"\0"), "a lone NUL ends an empty request");
        assert!(request_complete(b"}garbage"), "never valid: answer it");
    }
}
