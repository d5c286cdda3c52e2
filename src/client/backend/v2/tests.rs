//! The v2 dialect learned against a tiny loopback miner that reads one
//! request key only, switchable like a reflash: `cmd` only (no real
//! firmware is documented so; it drives the "invalid command" rule), then
//! `command` only with cgminer's Code 24 (the 2020 M30S capture).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::client::{ClientConfig, RequestKey};

/// What the fake miner does: which key it reads, whether it answers.
#[derive(Default)]
struct Mode {
    command_only: AtomicBool,
    down: AtomicBool,
    requests: AtomicUsize,
}

fn reply_for(mode: &Mode, request: &Value) -> Value {
    let (key, missing) = if mode.command_only.load(Ordering::SeqCst) {
        (
            "command",
            json!({"STATUS":[{"STATUS":"E","When":1,"Code":24,
            "Msg":"Missing JSON 'command'","Description":"cgminer 4.9.2"}],"id":1}),
        )
    } else {
        (
            "cmd",
            json!({"STATUS":"E","When":1,"Code":14,"Msg":"invalid cmd","Description":""}),
        )
    };
    let ok = |list: &str, item: Value| json!({"STATUS":[{"STATUS":"S","When":1,"Code":11,"Msg":"ok"}], list: [item], "id":1});
    match request.get(key).and_then(Value::as_str) {
        Some("summary") => ok("SUMMARY", json!({"Elapsed": 100, "MHS av": 1000.0})),
        Some("devs") => ok("DEVS", json!({"ASC": 0, "Slot": 0, "MHS av": 300.0})),
        Some("pools") => ok(
            "POOLS",
            json!({"POOL": 0, "URL": "stratum+tcp://127.0.0.1:1"}),
        ),
        Some(_) => json!({"STATUS":"E","When":1,"Code":14,"Msg":"invalid cmd"}),
        None => missing,
    }
}

/// Serves at most `limit` connections, one request each.
async fn fake_miner(mode: Arc<Mode>, limit: usize) -> MinerAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = MinerAddr::from_socket_addr(listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        for _ in 0..limit {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mode = Arc::clone(&mode);
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                let request = loop {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    if let Ok(v) = serde_json::from_slice::<Value>(&got) {
                        break v;
                    }
                    if got.len() > 4096 {
                        return;
                    }
                };
                mode.requests.fetch_add(1, Ordering::SeqCst);
                if mode.down.load(Ordering::SeqCst) {
                    return; // closed without a reply
                }
                let out = serde_json::to_vec(&reply_for(&mode, &request)).unwrap_or_default();
                let _ = sock.write_all(&out).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

fn client() -> Client {
    let mut config = ClientConfig::default();
    config.limits.deadline = Duration::from_secs(5);
    config.read_retries = 0;
    Client::new(config)
}

fn key(backend: &V2Backend, miner: &MinerAddr) -> RequestKey {
    backend.dialect(miner).unwrap_or_default().request_key
}

#[tokio::test]
async fn the_key_is_learned_from_the_miners_answers_and_relearned() {
    let mode = Arc::new(Mode::default());
    let miner = fake_miner(Arc::clone(&mode), 200).await;
    let (backend, client) = (V2Backend::default(), client());
    let requests = || mode.requests.swap(0, Ordering::SeqCst);

    // A joined read first, answered "invalid cmd" (the miner does not
    // join); then `command`, "invalid cmd" to summary: the same reads with
    // `cmd`.
    let reads = backend.fast(&client, &miner).await;
    assert_eq!(reads.summary.expect("summary").elapsed, Some(100));
    assert_eq!(reads.devs.expect("devs").0.len(), 1);
    assert_eq!(reads.pools.expect("pools").0.len(), 1);
    assert_eq!(key(&backend, &miner), RequestKey::Cmd);
    assert_eq!(requests(), 7, "a joined read, three reads, three again");
    // Learned: one round, and the slow reads speak it too.
    assert!(backend.fast(&client, &miner).await.summary.is_ok());
    assert_eq!(requests(), 3);
    assert!(backend.slow(&client, &miner).await.command_ok.len() == 6);
    assert_eq!(requests(), 6);

    // Reflashed to cgminer 4.9.2: Code 24 to `cmd`, so back to `command`.
    mode.command_only.store(true, Ordering::SeqCst);
    assert!(backend.fast(&client, &miner).await.summary.is_ok());
    assert_eq!(key(&backend, &miner), RequestKey::Command);
    assert_eq!(requests(), 6);
    assert!(backend.fast(&client, &miner).await.summary.is_ok());
    assert_eq!(requests(), 3, "command is the default: no retry");

    // Back to `cmd`-only, then down: the learned key is forgotten after
    // three failed scrapes, and the default is tried again.
    mode.command_only.store(false, Ordering::SeqCst);
    assert!(backend.fast(&client, &miner).await.summary.is_ok());
    assert_eq!(key(&backend, &miner), RequestKey::Cmd);
    mode.down.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        assert!(backend.fast(&client, &miner).await.summary.is_err());
        assert_eq!(key(&backend, &miner), RequestKey::Cmd, "kept");
    }
    assert!(backend.fast(&client, &miner).await.summary.is_err());
    assert_eq!(key(&backend, &miner), RequestKey::Command, "forgotten");
}

#[tokio::test]
async fn an_error_that_is_not_about_the_key_sends_nothing_more() {
    let mode = Arc::new(Mode::default());
    mode.down.store(true, Ordering::SeqCst);
    let miner = fake_miner(Arc::clone(&mode), 20).await;
    let backend = V2Backend::default();
    assert!(backend.fast(&client(), &miner).await.summary.is_err());
    // One joined read that got no answer: the miner is down, no more.
    assert_eq!(mode.requests.load(Ordering::SeqCst), 1);
    assert_eq!(key(&backend, &miner), RequestKey::Command);
}
