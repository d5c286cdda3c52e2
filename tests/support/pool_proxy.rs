//! A loopback proxy in front of one simulated miner that makes its pools
//! look broken: every pool `Dead` and a fifth of the shares rejected. The
//! simulator always reports healthy pools; this lets the pool alerts and
//! panels be exercised with real exporter output. Other commands pass
//! through unchanged (one request per connection, as API v2 works).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use whatsminer_exporter::transport::{exchange, Limits};

const MAX_REQUEST_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A running proxy; stops when dropped.
pub struct PoolProxy {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PoolProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (a loopback miner).
    pub async fn start(upstream: SocketAddr) -> std::io::Result<PoolProxy> {
        assert!(upstream.ip().is_loopback(), "loopback miners only");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, upstream));
            }
        });
        Ok(PoolProxy { addr, task })
    }
}

impl Drop for PoolProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(Some(request)) = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut client)).await
    else {
        return;
    };
    let command = serde_json::from_slice::<Value>(&request)
        .ok()
        .and_then(|v| v.get("command").or_else(|| v.get("cmd")).cloned())
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_default();
    let Ok(reply) = exchange(upstream, &request, &Limits::default()).await else {
        return; // The exporter sees an empty reply, as from a broken miner.
    };
    let reply = if command == "pools" {
        break_pools(&reply).unwrap_or(reply)
    } else if command.split('+').any(|part| part == "pools") {
        break_joined_pools(&reply).unwrap_or(reply)
    } else {
        reply
    };
    let _ = client.write_all(&reply).await;
    let _ = client.shutdown().await;
}

/// Reads until the bytes form one JSON value (the client does not close
/// its side), EOF, or the size cap.
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return (!buf.is_empty()).then_some(buf);
        }
        buf.extend_from_slice(chunk.get(..n)?);
        if buf.len() > MAX_REQUEST_BYTES {
            return None;
        }
        if serde_json::from_slice::<Value>(&buf).is_ok() {
            return Some(buf);
        }
    }
}

/// The `pools` reply with every pool dead and 20% of shares rejected
/// (classic `POOLS` list, or the same inside `Msg`).
fn break_pools(reply: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(reply).ok()?;
    let pools = if value.get("POOLS").is_some() {
        value.get_mut("POOLS")
    } else {
        value.get_mut("Msg").and_then(|m| m.get_mut("POOLS"))
    }?;
    for pool in pools.as_array_mut()? {
        let accepted = pool.get("Accepted").and_then(Value::as_u64).unwrap_or(0);
        pool["Status"] = "Dead".into();
        pool["Rejected"] = (accepted / 4).into();
    }
    serde_json::to_vec(&value).ok()
}

/// The same inside a joined answer (`{"pools":[<pools reply>],...}`).
fn break_joined_pools(reply: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(reply).ok()?;
    let part = value.get_mut("pools")?.get_mut(0)?;
    let broken = break_pools(&serde_json::to_vec(part).ok()?)?;
    *part = serde_json::from_slice(&broken).ok()?;
    serde_json::to_vec(&value).ok()
}

#[test]
fn breaks_both_reply_forms() {
    let classic =
        br#"{"STATUS":[{"STATUS":"S"}],"POOLS":[{"Status":"Alive","Accepted":40,"Rejected":0}]}"#;
    let wrapped = br#"{"STATUS":"S","Msg":{"POOLS":[{"Status":"Alive","Accepted":8}]}}"#;
    for reply in [&classic[..], &wrapped[..]] {
        let out: Value =
            serde_json::from_slice(&break_pools(reply).expect("rewritten")).expect("JSON");
        let pool = out
            .get("POOLS")
            .or_else(|| out["Msg"].get("POOLS"))
            .and_then(|p| p.get(0))
            .expect("pool");
        assert_eq!(pool["Status"], "Dead");
        assert!(pool["Rejected"].as_u64() > Some(1), "{pool}");
    }
    assert!(break_pools(b"{\"SUMMARY\":[]}").is_none());
    let joined = format!(
        "{{\"summary\":[{{}}],\"pools\":[{}],\"id\":1}}",
        String::from_utf8_lossy(classic)
    );
    let out: Value =
        serde_json::from_slice(&break_joined_pools(joined.as_bytes()).expect("joined"))
            .expect("JSON");
    assert_eq!(out["pools"][0]["POOLS"][0]["Status"], "Dead");
}
