//! A minimal HTTP/1.1 GET client over raw TCP for the benchmark: keep-alive
//! with `Content-Length` or chunked bodies (the exporter streams a large
//! fleet's `/metrics` in chunks), read-to-close otherwise. Enough to time `/metrics` and load `/probe` without pulling
//! an HTTP client crate into the build; every read is capped.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_HEADER_BYTES: usize = 64 * 1024;

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One HTTP connection, reused while the server keeps it open.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// Bytes read past the end of the previous response.
    pending: Vec<u8>,
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Connection {
        Connection {
            addr,
            stream: None,
            pending: Vec::new(),
        }
    }

    /// GETs `path` with `headers`, within `limit`; the body may be at most
    /// `max_body` bytes.
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        max_body: usize,
        limit: Duration,
    ) -> Result<Response, String> {
        match tokio::time::timeout(limit, self.get_inner(path, headers, max_body)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(format!("GET {path}: no answer within {limit:?}"))
            }
        }
    }

    async fn get_inner(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        max_body: usize,
    ) -> Result<Response, String> {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = match self.stream.take() {
            Some(s) => s,
            None => {
                self.pending.clear();
                let s = TcpStream::connect(self.addr)
                    .await
                    .map_err(|e| format!("connecting to {}: {e}", self.addr))?;
                let _ = s.set_nodelay(true);
                s
            }
        };
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending GET {path}: {e}"))?;
        let (status, framing, close, header_end) = self.read_head(&mut stream).await?;
        let mut body = self.pending.split_off(header_end);
        self.pending.clear();
        match framing {
            Framing::Length(len) if len > max_body => {
                return Err(format!("body of {len} bytes is too large"))
            }
            Framing::Chunked => {
                let (decoded, rest) = read_chunked(&mut stream, body, max_body).await?;
                body = decoded;
                self.pending = rest;
                if !close {
                    self.stream = Some(stream);
                }
            }
            Framing::Length(len) => {
                body.reserve(len.saturating_sub(body.len()));
                while body.len() < len {
                    if !read_some(&mut stream, &mut body, max_body).await? {
                        return Err("connection closed inside the body".into());
                    }
                }
                self.pending = body.split_off(len);
                if !close {
                    self.stream = Some(stream);
                }
            }
            Framing::Close => while read_some(&mut stream, &mut body, max_body).await? {},
        }
        Ok(Response { status, body })
    }

    /// Reads until the end of the headers; returns status, content length,
    /// whether the server will close, and where the body starts in
    /// `pending`.
    async fn read_head(
        &mut self,
        stream: &mut TcpStream,
    ) -> Result<(u16, Framing, bool, usize), String> {
        loop {
            if let Some(end) = find(&self.pending, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.pending[..end])
                    .map_err(|_| "response headers are not UTF-8".to_string())?;
                let (status, length, close) = parse_head(head)?;
                return Ok((status, length, close, end + 4));
            }
            if !read_some(stream, &mut self.pending, MAX_HEADER_BYTES).await? {
                return Err("connection closed before the response headers".into());
            }
        }
    }
}

/// Reads once into `buf`; `false` at end of stream.
async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, cap: usize) -> Result<bool, String> {
    let mut chunk = [0u8; 64 * 1024];
    let n = stream
        .read(&mut chunk)
        .await
        .map_err(|e| format!("reading the response: {e}"))?;
    if buf.len() + n > cap {
        return Err(format!("response larger than {cap} bytes"));
    }
    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Status, `Content-Length` and `Connection: close` from a response head.
fn parse_head(head: &str) -> Result<(u16, Framing, bool), String> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut close = false;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse()
                    .map_err(|_| "bad Content-Length".to_string())?,
            );
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") {
                return Err(format!("unsupported Transfer-Encoding {value:?}"));
            }
            chunked = true;
        }
    }
    let framing = match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(len)) => Framing::Length(len),
        (false, None) => Framing::Close,
    };
    Ok((status, framing, close || framing == Framing::Close))
}

/// How a response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// Decodes a chunked body from `raw` (bytes after the head), reading more
/// from `stream` as needed. Returns the body and any bytes past its end.
async fn read_chunked(
    stream: &mut TcpStream,
    mut raw: Vec<u8>,
    max_body: usize,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = loop {
            if let Some(i) = find(raw.get(at..).unwrap_or_default(), b"\r\n") {
                break at + i;
            }
            if !read_some(stream, &mut raw, max_body + MAX_HEADER_BYTES).await? {
                return Err("connection closed inside a chunk header".into());
            }
        };
        let size_text = std::str::from_utf8(raw.get(at..line_end).unwrap_or_default())
            .map_err(|_| "chunk size is not text".to_string())?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        if body.len() + size > max_body {
            return Err(format!("body larger than {max_body} bytes"));
        }
        let data_start = line_end + 2;
        // The last chunk is followed by (no trailers and) one empty line.
        let needed = data_start + size + 2;
        while raw.len() < needed {
            if !read_some(stream, &mut raw, max_body + MAX_HEADER_BYTES).await? {
                return Err("connection closed inside a chunk".into());
            }
        }
        body.extend_from_slice(raw.get(data_start..data_start + size).unwrap_or_default());
        at = needed;
        if size == 0 {
            return Ok((body, raw.split_off(at)));
        }
        // Keep the buffer small: drop what has been consumed.
        if at > 1 << 20 {
            raw.drain(..at);
            at = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_head() {
        let (s, l, c) = parse_head("HTTP/1.1 200 OK\r\ncontent-length: 12\r\nx: y").unwrap();
        assert_eq!((s, l, c), (200, Framing::Length(12), false));
        let (s, l, c) = parse_head("HTTP/1.1 404 Not Found\r\nConnection: close").unwrap();
        assert_eq!((s, l, c), (404, Framing::Close, true));
        assert!(parse_head("garbage").is_err());
        let (_, l, c) = parse_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked").unwrap();
        assert_eq!((l, c), (Framing::Chunked, false));
        assert!(parse_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip").is_err());
        assert!(parse_head("HTTP/1.1 200 OK\r\nContent-Length: x").is_err());
    }

    #[tokio::test]
    async fn decodes_a_chunked_body_and_keeps_the_rest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n";
            for part in reply.chunks(3) {
                s.write_all(part).await.unwrap();
                s.flush().await.unwrap();
            }
        });
        let mut c = Connection::new(addr);
        let r = c.get("/", &[], 1024, Duration::from_secs(5)).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello, world");
    }

    #[tokio::test]
    async fn reuses_a_keep_alive_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            // Two requests on one connection; answer each.
            for body in ["hello", "world!"] {
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    seen.extend_from_slice(&buf[..n]);
                    if find(&seen, b"\r\n\r\n").is_some() {
                        break;
                    }
                }
                seen.clear();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let mut conn = Connection::new(addr);
        let limit = Duration::from_secs(10);
        let a = conn.get("/a", &[("X-T", "1")], 100, limit).await.unwrap();
        let b = conn.get("/b", &[], 100, limit).await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(b.body, b"world!");
        server.await.unwrap();
    }
}
