//! The one HTTP test client of the integration tests. A request goes over a
//! fresh loopback connection (or one the caller opened, e.g. TLS), with
//! `Connection: close`, and the answer is read until the server closes,
//! bounded in size and time. A chunked body is decoded.
//!
//! - [`request`], [`request_on`], [`get`]: well-formed HTTP/1.1 requests,
//!   the answer as a [`Reply`] (panics without a status line);
//! - [`http_get`], [`http_post`]: by URL, HTTP/1.0, errors as `io::Error`
//!   (for loops that wait for a server to come up);
//! - [`send_raw`]: any bytes, for malformed or hostile requests; reads
//!   until the server closes or `wait` passes, and says which.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest HTTP answer the test client accepts.
const MAX_HTTP_BYTES: usize = 32 * 1024 * 1024;
/// Connect plus whole exchange, per request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Status line and headers, without the blank line.
    pub head: String,
    /// The body, de-chunked.
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Whether the head carries `name` (any case) with `value`.
    pub fn has_header(&self, name: &str, value: &str) -> bool {
        self.head.lines().skip(1).any(|line| {
            line.split_once(':').is_some_and(|(n, v)| {
                n.trim().eq_ignore_ascii_case(name) && v.trim().eq_ignore_ascii_case(value)
            })
        })
    }
}

/// `GET path` over HTTP/1.1.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"").await
}

/// One HTTP/1.1 request over a fresh connection; the whole exchange is
/// bounded to 20 s.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    assert!(
        addr.ip().is_loopback(),
        "tests talk to loopback only: {addr}"
    );
    let stream = TcpStream::connect(addr).await.expect("connect");
    request_on(stream, addr, method, path, headers, body).await
}

/// [`request`] over a connection the caller opened (a TLS stream, say).
pub async fn request_on<S>(
    stream: S,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    let raw = exchange(stream, &request, HTTP_TIMEOUT).await;
    assert!(
        raw.closed,
        "HTTP exchange with {addr} within {HTTP_TIMEOUT:?}"
    );
    let text = String::from_utf8_lossy(&raw.bytes);
    parse(&text).unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// `GET url` over HTTP/1.0 (so the answer ends with the connection).
/// Loopback URLs only. Returns (status, body).
pub async fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let (addr, target) = split_url(url)?;
    let request = format!("GET {target} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange_url(addr, request.into_bytes()).await
}

/// `POST url` with an empty body (e.g. `/-/reload`).
pub async fn http_post(url: &str) -> std::io::Result<(u16, String)> {
    let (addr, target) = split_url(url)?;
    let request = format!(
        "POST {target} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    exchange_url(addr, request.into_bytes()).await
}

/// What came back from [`send_raw`].
#[derive(Debug)]
pub struct RawAnswer {
    /// The status code, if a status line arrived.
    pub status: Option<u16>,
    /// Everything received, as text.
    pub text: String,
    /// Whether the server closed the connection (else `wait` ran out).
    pub closed: bool,
}

impl RawAnswer {
    pub fn is_client_error(&self) -> bool {
        self.status.is_some_and(|s| (400..500).contains(&s))
    }
}

/// Sends `request` as it is (a write error is ignored: the server may
/// close first) and reads until the server closes or `wait` passes.
pub async fn send_raw(addr: SocketAddr, request: &[u8], wait: Duration) -> RawAnswer {
    assert!(
        addr.ip().is_loopback(),
        "tests talk to loopback only: {addr}"
    );
    let stream = TcpStream::connect(addr).await.expect("connect");
    let raw = exchange(stream, request, wait).await;
    let text = String::from_utf8_lossy(&raw.bytes).into_owned();
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok());
    RawAnswer {
        status,
        text,
        closed: raw.closed,
    }
}

struct Raw {
    bytes: Vec<u8>,
    closed: bool,
}

/// Writes `request`, then reads until the peer closes (or fails), the cap,
/// or `wait`.
async fn exchange<S>(mut stream: S, request: &[u8], wait: Duration) -> Raw
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let end = tokio::time::Instant::now() + wait;
    let mut bytes = Vec::new();
    // The server may answer (401, 413) before reading all of the request.
    let write = tokio::time::timeout_at(end, stream.write_all(request)).await;
    if write.is_err() {
        return Raw {
            bytes,
            closed: false,
        };
    }
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(end, stream.read(&mut chunk)).await {
            Err(_) => {
                return Raw {
                    bytes,
                    closed: false,
                }
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Raw {
                    bytes,
                    closed: true,
                }
            }
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() > MAX_HTTP_BYTES {
                    panic!("answer larger than {MAX_HTTP_BYTES} bytes");
                }
            }
        }
    }
}

/// Status, head and (de-chunked) body of an answer.
fn parse(text: &str) -> Option<Reply> {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut reply = Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    };
    if reply.has_header("transfer-encoding", "chunked") {
        reply.body = dechunk(body).unwrap_or_else(|| panic!("bad chunked body: {body:.200}"));
    }
    Some(reply)
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size_line, rest) = body.split_once("\r\n")?;
        let size_hex = size_line.split(';').next()?.trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// `http://127.0.0.1:port/path?query` -> (address, `/path?query`).
fn split_url(url: &str) -> std::io::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("not an http:// URL: {url}")))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr: SocketAddr = authority
        .parse()
        .map_err(|_| invalid(format!("URL needs an IP:port authority: {url}")))?;
    if !addr.ip().is_loopback() {
        return Err(invalid(format!("refusing a non-loopback URL: {url}")));
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok((addr, path.to_string()))
}

/// [`http_get`]/[`http_post`]: connection errors and a slow or garbled
/// answer are errors, not panics.
async fn exchange_url(addr: SocketAddr, request: Vec<u8>) -> std::io::Result<(u16, String)> {
    let stream = tokio::time::timeout(HTTP_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{addr}")))??;
    let raw = exchange(stream, &request, HTTP_TIMEOUT).await;
    if !raw.closed {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("{addr}"),
        ));
    }
    let text = String::from_utf8_lossy(&raw.bytes);
    if !text.contains("\r\n\r\n") {
        return Err(invalid(format!(
            "no HTTP header end in the answer from {addr}"
        )));
    }
    let reply =
        parse(&text).ok_or_else(|| invalid(format!("bad status line from {addr}: {text:.80}")))?;
    if reply.has_header("transfer-encoding", "chunked") {
        return Err(invalid(format!("chunked answer to HTTP/1.0 from {addr}")));
    }
    Ok((reply.status, reply.body))
}
