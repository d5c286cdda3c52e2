//! API v3 transport: framing and one request/reply exchange over TCP.
//!
//! Every message, both ways, is a 4-byte little-endian length followed by
//! that many bytes of JSON; a zero-length frame is a heartbeat (vendor API
//! document, "TCP Data Framing"). Replies arrive fragmented, so the reader
//! collects exactly one frame across reads, refuses a length above its cap as
//! soon as the header is in, and skips a bounded number of heartbeats.
//!
//! [`encode_frame`] and the sans-IO [`decode_frame`] are shared with the
//! simulator's server so both sides agree on limits and malformed headers.
//! [`exchange_v3`] is the client side: connect, send one request, read one
//! reply, close, all under a connect timeout and an overall deadline.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::error::ErrorKind;

/// Size of the length header.
pub const HEADER_LEN: usize = 4;

/// Default cap on one frame's payload. A full `get.device.info` is under
/// 2 kB, so 1 MiB leaves a wide margin while refusing a garbled header that
/// would ask for gigabytes.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// How many heartbeat frames a reader skips before it gives up on a reply.
/// A healthy miner sends none during a request; the bound only stops a peer
/// that sends nothing else from holding a reader until its deadline.
pub const MAX_HEARTBEATS: usize = 64;

/// Frames a payload: the length as 4 little-endian bytes, then the payload.
///
/// Payloads longer than `u32::MAX` cannot be framed; the length saturates,
/// which a receiver then rejects as too large. Requests are a few hundred
/// bytes, so this never happens in practice.
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Looks for one complete frame at the start of `buf`.
///
/// - `Ok(None)`: more bytes are needed (header or payload incomplete).
/// - `Ok(Some((payload, consumed)))`: `buf[payload]` is the frame's payload
///   (empty for a heartbeat) and `consumed` bytes can be dropped from `buf`.
/// - `Err(ReplyTooLarge)`: the header announces more than `max` bytes. This
///   is reported as soon as the header is complete, before any payload is
///   buffered.
pub fn decode_frame(buf: &[u8], max: usize) -> Result<Option<(Range<usize>, usize)>, ErrorKind> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut len_bytes = [0u8; HEADER_LEN];
    len_bytes.copy_from_slice(header);
    // u32 always fits in usize on the 32- and 64-bit targets we build for;
    // should it not, the frame is too large by definition.
    let len = usize::try_from(u32::from_le_bytes(len_bytes))
        .map_err(|_| ErrorKind::ReplyTooLarge { limit: max })?;
    if len > max {
        return Err(ErrorKind::ReplyTooLarge { limit: max });
    }
    let end = HEADER_LEN + len;
    if buf.len() < end {
        return Ok(None);
    }
    Ok(Some((HEADER_LEN..end, end)))
}

/// Whether a decoded payload is a heartbeat rather than a message.
pub fn is_heartbeat(payload: &[u8]) -> bool {
    payload.is_empty()
}

/// Connects to `addr`, sends `request` (unframed JSON) as one frame and
/// returns the payload of the first non-heartbeat reply frame.
///
/// `connect_timeout` bounds the connect; `deadline` bounds the whole
/// exchange, connect included. Errors: `ConnectRefused`, `ConnectTimeout`,
/// `Timeout`, `ConnectionReset` (also for a peer that closes mid-frame),
/// `EmptyReply` (closed before any reply frame), `ReplyTooLarge`, `Io`.
///
/// The connection is closed after the reply. Never retry a write after a
/// `Timeout` or `ConnectionReset`: the miner may have acted on it.
pub async fn exchange_v3(
    addr: SocketAddr,
    request: &[u8],
    connect_timeout: Duration,
    deadline: Duration,
    max_frame: usize,
) -> Result<Vec<u8>, ErrorKind> {
    let start = Instant::now();
    let end = start + deadline;
    let connect_end = (start + connect_timeout).min(end);
    let mut stream = match timeout_at(connect_end, TcpStream::connect(addr)).await {
        Err(_) => return Err(ErrorKind::ConnectTimeout),
        Ok(Err(e)) => return Err(connect_error(&e)),
        Ok(Ok(stream)) => stream,
    };
    // Requests are one small write; do not let Nagle hold it back.
    let _ = stream.set_nodelay(true);
    match timeout_at(end, stream.write_all(&encode_frame(request))).await {
        Err(_) => return Err(ErrorKind::Timeout),
        Ok(Err(e)) => return Err(read_error(&e, 0)),
        Ok(Ok(())) => {}
    }
    timeout_at(end, read_reply(&mut stream, max_frame))
        .await
        .unwrap_or(Err(ErrorKind::Timeout))
}

/// Reads one reply frame's payload from `reader`, skipping heartbeats. Has
/// no timeout of its own: wrap it in one. Bytes after the reply frame are
/// left unread or dropped.
///
/// The loop is bounded without the timeout too: each read adds at least
/// one byte, and the buffer never grows past the heartbeats allowed plus
/// one header, `max_frame` and one read chunk before it returns.
pub async fn read_reply<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_frame: usize,
) -> Result<Vec<u8>, ErrorKind> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut received = 0usize;
    let mut heartbeats = 0usize;
    loop {
        while let Some((payload, used)) = decode_frame(&buf, max_frame)? {
            if !payload.is_empty() {
                return Ok(buf.get(payload).map(<[u8]>::to_vec).unwrap_or_default());
            }
            heartbeats += 1;
            if heartbeats > MAX_HEARTBEATS {
                return Err(ErrorKind::UnexpectedShape(format!(
                    "more than {MAX_HEARTBEATS} heartbeat frames and no reply"
                )));
            }
            buf = buf.split_off(used.min(buf.len()));
        }
        let n = reader
            .read(&mut chunk)
            .await
            .map_err(|e| read_error(&e, received))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ErrorKind::EmptyReply
            } else {
                ErrorKind::ConnectionReset { received }
            });
        }
        received += n;
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn connect_error(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::ConnectionRefused => ErrorKind::ConnectRefused,
        Io::TimedOut => ErrorKind::ConnectTimeout,
        Io::ConnectionReset | Io::ConnectionAborted => ErrorKind::ConnectionReset { received: 0 },
        _ => ErrorKind::Io(e.to_string()),
    }
}

fn read_error(e: &std::io::Error, received: usize) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            ErrorKind::ConnectionReset { received }
        }
        Io::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Io(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_little_endian_length() {
        let frame = encode_frame(br#"{"cmd":"get.device.info"}"#);
        assert_eq!(&frame[..4], &[25, 0, 0, 0]);
        assert_eq!(&frame[4..], br#"{"cmd":"get.device.info"}"#);
        assert_eq!(encode_frame(b""), vec![0, 0, 0, 0]);
    }

    #[test]
    fn length_above_255_uses_higher_bytes() {
        let payload = vec![b'x'; 0x0102];
        let frame = encode_frame(&payload);
        assert_eq!(&frame[..4], &[0x02, 0x01, 0, 0]);
        let (range, used) = decode_frame(&frame, DEFAULT_MAX_FRAME).unwrap().unwrap();
        assert_eq!(range, 4..0x0106);
        assert_eq!(used, 0x0106);
    }

    #[test]
    fn incomplete_header_or_payload_needs_more() {
        let frame = encode_frame(b"{\"code\":0}");
        for cut in 0..frame.len() {
            assert_eq!(decode_frame(&frame[..cut], 64), Ok(None), "cut at {cut}");
        }
        let (range, used) = decode_frame(&frame, 64).unwrap().unwrap();
        assert_eq!(&frame[range], b"{\"code\":0}");
        assert_eq!(used, frame.len());
    }

    #[test]
    fn coalesced_frames_decode_one_at_a_time() {
        let mut buf = encode_frame(b"{\"code\":0}");
        buf.extend_from_slice(&encode_frame(b"{\"code\":-1}"));
        let (first, used) = decode_frame(&buf, 64).unwrap().unwrap();
        assert_eq!(&buf[first], b"{\"code\":0}");
        let rest = &buf[used..];
        let (second, used2) = decode_frame(rest, 64).unwrap().unwrap();
        assert_eq!(&rest[second], b"{\"code\":-1}");
        assert_eq!(used2, rest.len());
    }

    #[test]
    fn oversize_header_is_rejected_before_the_payload_arrives() {
        let header = 17u32.to_le_bytes();
        assert_eq!(
            decode_frame(&header, 16),
            Err(ErrorKind::ReplyTooLarge { limit: 16 })
        );
        assert_eq!(decode_frame(&16u32.to_le_bytes(), 16), Ok(None));
        let huge = u32::MAX.to_le_bytes();
        assert_eq!(
            decode_frame(&huge, DEFAULT_MAX_FRAME),
            Err(ErrorKind::ReplyTooLarge {
                limit: DEFAULT_MAX_FRAME
            })
        );
    }

    #[test]
    fn zero_length_frame_is_a_heartbeat() {
        let buf = [0u8, 0, 0, 0, 4, 0];
        let (range, used) = decode_frame(&buf, 64).unwrap().unwrap();
        assert!(is_heartbeat(&buf[range]));
        assert_eq!(used, 4);
        // The next frame's header is still incomplete.
        assert_eq!(decode_frame(&buf[used..], 64), Ok(None));
    }

    // ---- exchange over loopback ----

    use tokio::net::TcpListener;

    const SECOND: Duration = Duration::from_secs(1);

    /// A one-connection server on 127.0.0.1: reads one request frame, then
    /// writes each reply piece with a flush between (forcing fragments).
    async fn serve_once(pieces: Vec<Vec<u8>>) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 512];
            let request = loop {
                if let Some((payload, _)) = decode_frame(&buf, 4096).unwrap() {
                    break buf[payload].to_vec();
                }
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "client closed before its request was complete");
                buf.extend_from_slice(&chunk[..n]);
            };
            for piece in pieces {
                sock.write_all(&piece).await.unwrap();
                sock.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            request
        });
        (addr, task)
    }

    async fn call(addr: SocketAddr, max: usize) -> Result<Vec<u8>, ErrorKind> {
        exchange_v3(
            addr,
            br#"{"cmd":"get.device.info"}"#,
            5 * SECOND,
            10 * SECOND,
            max,
        )
        .await
    }

    #[tokio::test]
    async fn fragmented_reply_is_reassembled() {
        let reply = encode_frame(br#"{"code":0,"msg":{"salt":"5QAHiKMb"}}"#);
        let pieces = reply.iter().map(|b| vec![*b]).collect();
        let (addr, server) = serve_once(pieces).await;
        let got = call(addr, DEFAULT_MAX_FRAME).await.unwrap();
        assert_eq!(got, br#"{"code":0,"msg":{"salt":"5QAHiKMb"}}"#.to_vec());
        assert_eq!(
            server.await.unwrap(),
            br#"{"cmd":"get.device.info"}"#.to_vec()
        );
    }

    #[tokio::test]
    async fn heartbeats_are_skipped_and_trailing_frames_ignored() {
        let mut bytes = vec![0u8; 12]; // three heartbeats
        bytes.extend(encode_frame(b"{\"code\":0}"));
        bytes.extend(encode_frame(b"{\"code\":-1}"));
        let (addr, _server) = serve_once(vec![bytes]).await;
        assert_eq!(call(addr, 64).await.unwrap(), b"{\"code\":0}".to_vec());
    }

    #[tokio::test]
    async fn endless_heartbeats_are_bounded() {
        let (addr, _server) = serve_once(vec![vec![0u8; 4 * (MAX_HEARTBEATS + 1)]]).await;
        assert!(matches!(
            call(addr, 64).await,
            Err(ErrorKind::UnexpectedShape(_))
        ));
    }

    #[tokio::test]
    async fn oversize_reply_is_refused_from_its_header() {
        let (addr, _server) = serve_once(vec![(2u32 << 20).to_le_bytes().to_vec()]).await;
        assert_eq!(
            call(addr, DEFAULT_MAX_FRAME).await,
            Err(ErrorKind::ReplyTooLarge {
                limit: DEFAULT_MAX_FRAME
            })
        );
    }

    #[tokio::test]
    async fn truncated_reply_is_a_reset() {
        let mut partial = 10u32.to_le_bytes().to_vec();
        partial.extend_from_slice(b"ab");
        let (addr, _server) = serve_once(vec![partial]).await;
        assert_eq!(
            call(addr, 64).await,
            Err(ErrorKind::ConnectionReset { received: 6 })
        );
    }

    #[tokio::test]
    async fn close_without_reply_is_empty() {
        let (addr, _server) = serve_once(vec![]).await;
        assert_eq!(call(addr, 64).await, Err(ErrorKind::EmptyReply));
        let (addr, _server) = serve_once(vec![vec![0u8; 8]]).await; // heartbeats only
        assert_eq!(call(addr, 64).await, Err(ErrorKind::EmptyReply));
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        assert_eq!(call(addr, 64).await, Err(ErrorKind::ConnectRefused));
    }

    #[tokio::test]
    async fn silent_server_hits_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _holder = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(sock);
        });
        let started = std::time::Instant::now();
        let got = exchange_v3(addr, b"{}", 5 * SECOND, Duration::from_millis(200), 64).await;
        assert_eq!(got, Err(ErrorKind::Timeout));
        assert!(started.elapsed() < 10 * SECOND, "deadline was not enforced");
    }

    #[test]
    fn io_errors_map_to_kinds() {
        use std::io::{Error, ErrorKind as Io};
        assert_eq!(
            connect_error(&Error::from(Io::ConnectionRefused)),
            ErrorKind::ConnectRefused
        );
        assert_eq!(
            connect_error(&Error::from(Io::TimedOut)),
            ErrorKind::ConnectTimeout
        );
        assert_eq!(
            read_error(&Error::from(Io::ConnectionReset), 7),
            ErrorKind::ConnectionReset { received: 7 }
        );
        assert!(matches!(
            read_error(&Error::from(Io::PermissionDenied), 0),
            ErrorKind::Io(_)
        ));
    }
}
