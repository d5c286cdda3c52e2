//! End-to-end tests of the simulator over real loopback TCP: a raw client
//! writes JSON and reads to EOF, exactly as the firmware expects, and the
//! writeable flow uses the simulator's own crypto (see `testkit`).

mod captures;
mod faults;
mod personas;
mod samples;
mod shapes;
mod transport;
mod write_flow;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::fleet::{Fleet, FleetConfig};
use super::model::Flavour;
use super::testkit::{open_reply, seal};

/// Generous bound for anything that should be quick on loopback.
pub const QUICK: Duration = Duration::from_secs(10);

/// Sends `request` and reads to EOF (bounded by `QUICK`).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = timeout(QUICK, TcpStream::connect(addr)).await??;
    stream.write_all(request).await?;
    let mut reply = Vec::new();
    timeout(QUICK, stream.read_to_end(&mut reply)).await??;
    Ok(reply)
}

/// The reply parsed as JSON after cutting at the first NUL and trimming.
pub fn parse(reply: &[u8]) -> Option<Value> {
    let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
    let text = std::str::from_utf8(reply.get(..end)?).ok()?.trim();
    serde_json::from_str(text).ok()
}

pub async fn ask(addr: SocketAddr, request: &str) -> Value {
    let reply = raw(addr, request.as_bytes()).await.expect("a reply");
    parse(&reply).unwrap_or_else(|| panic!("not JSON: {}", String::from_utf8_lossy(&reply)))
}

/// get_token, then `command` encrypted; the decrypted (or plain) reply.
pub async fn write(addr: SocketAddr, password: &str, command: Value) -> Value {
    let grant = ask(addr, r#"{"cmd":"get_token"}"#).await;
    assert_eq!(grant["Code"], 134, "get_token: {grant}");
    let (envelope, key) = seal(password, &grant, command);
    let reply = raw(addr, envelope.as_bytes()).await.expect("a reply");
    open_reply(&key, &String::from_utf8_lossy(&reply))
}

pub async fn fleet(n: usize, flavour: Option<Flavour>) -> Fleet {
    let mut cfg = FleetConfig::loopback_ephemeral(n);
    cfg.flavour = flavour;
    Fleet::start(cfg).await.expect("fleet starts")
}

/// Whether `value` is a JSON number or a string holding one.
pub fn numeric(value: &Value) -> bool {
    value.is_number() || value.as_str().is_some_and(|s| s.parse::<f64>().is_ok())
}
