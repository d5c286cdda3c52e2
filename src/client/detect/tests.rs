//! Detection unit tests: ports, the failure count that triggers a new
//! detection, provisional results, and the probe order against tiny
//! loopback servers (a closed port, a v2-style and a v3-style answer).

use super::*;
use crate::transport::v3::{decode_frame, encode_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn addr(text: &str) -> MinerAddr {
    text.parse().expect("address")
}

#[test]
fn v3_port_follows_the_configured_port() {
    assert_eq!(v3_addr(&addr("10.0.0.5")).to_string(), "10.0.0.5:4433");
    assert_eq!(v3_addr(&addr("10.0.0.5:4028")).to_string(), "10.0.0.5:4433");
    assert_eq!(
        v3_addr(&addr("10.0.0.5:14433")).to_string(),
        "10.0.0.5:14433"
    );
    assert_eq!(
        v3_addr(&addr("miner-7.farm:4028")).to_string(),
        "miner-7.farm:4433"
    );
}

#[test]
fn consecutive_failures_forget_the_api() {
    let d = ProtocolDetector::new(DetectConfig {
        redetect_after: 3,
        ..DetectConfig::default()
    });
    let a = addr("127.0.0.1:1");
    d.store(&a, Api::V3, None);
    d.record(&a, false);
    d.record(&a, false);
    d.record(&a, true); // a success resets the count
    d.record(&a, false);
    d.record(&a, false);
    assert_eq!(d.cached(&a), Some(Api::V3));
    d.record(&a, false);
    assert_eq!(d.cached(&a), None, "three failures in a row");
    assert_eq!(d.last_known(&a), Some(Api::V3), "kept for labels");
    d.retain(&HashSet::new());
    assert_eq!(d.last_known(&a), None);
}

#[test]
fn provisional_results_expire() {
    let d = ProtocolDetector::default();
    let a = addr("127.0.0.1:2");
    d.store(&a, Api::V2, Some(Instant::now() + Duration::from_secs(60)));
    assert_eq!(d.cached(&a), Some(Api::V2));
    d.store(&a, Api::V2, Some(Instant::now()));
    assert_eq!(d.cached(&a), None, "expired");
    assert_eq!(d.last_known(&a), Some(Api::V2));
}

#[test]
fn error_classes() {
    assert!(is_v3_answer(&ErrorKind::PermissionDenied));
    assert!(is_v3_answer(&ErrorKind::Miner {
        code: Some(-2),
        message: String::new()
    }));
    assert!(!is_v3_answer(&ErrorKind::Timeout));
    assert!(is_clearly_not_v3(&ErrorKind::ConnectRefused));
    assert!(is_clearly_not_v3(&ErrorKind::ReplyTooLarge { limit: 1 }));
    for inconclusive in [
        ErrorKind::Timeout,
        ErrorKind::ConnectTimeout,
        ErrorKind::EmptyReply,
        ErrorKind::ConnectionReset { received: 0 },
    ] {
        assert!(!is_clearly_not_v3(&inconclusive), "{inconclusive:?}");
    }
    assert!(is_v2_answer(&ErrorKind::OverMaxConnect));
    assert!(!is_v2_answer(&ErrorKind::ConnectRefused));
}

/// A server answering every connection with `reply` (framed or raw).
async fn server(
    reply: Vec<u8>,
    framed: bool,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let local = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            // Read until a whole frame or a whole JSON value is in.
            for _ in 0..64 {
                let Ok(n) = sock.read(&mut buf).await else {
                    break;
                };
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let done = if framed {
                    matches!(decode_frame(&got, 4096), Ok(Some(_)))
                } else {
                    !got.is_empty()
                };
                if done {
                    break;
                }
            }
            let out = if framed {
                encode_frame(&reply)
            } else {
                reply.clone()
            };
            let _ = sock.write_all(&out).await;
            let _ = sock.shutdown().await;
        }
    });
    (local, task)
}

fn client() -> Client {
    let mut config = crate::client::ClientConfig::default();
    config.limits.deadline = Duration::from_secs(10);
    Client::new(config)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

#[tokio::test]
async fn a_v3_reply_on_the_port_means_v3_even_when_it_refuses() {
    let (local, _task) = server(br#"{"code":-2,"msg":"invalid param"}"#.to_vec(), true).await;
    let d = ProtocolDetector::default();
    let a = MinerAddr::from_socket_addr(local);
    assert_eq!(d.detect(&client(), &a, soon()).await, Ok(Api::V3));
    // Cached: the next lookup makes no probe.
    assert_eq!(d.api(&client(), &a, None, soon()).await, Ok(Api::V3));
    assert_eq!(d.detections(), 1);
}

#[tokio::test]
async fn a_v2_answer_on_the_same_port_means_v2() {
    let reply = br#"{"STATUS":"S","When":1,"Code":131,"Msg":{"api_ver":"2.0.5","fw_ver":"20230911.12.Rel"},"Description":""}"#;
    let (local, _task) = server(reply.to_vec(), false).await;
    let d = ProtocolDetector::default();
    let a = MinerAddr::from_socket_addr(local);
    assert_eq!(d.detect(&client(), &a, soon()).await, Ok(Api::V2));
    assert_eq!(d.cached(&a), Some(Api::V2));
    assert_eq!(d.entries.lock().unwrap()[&a].expires, None, "conclusive");
}

#[tokio::test]
async fn nothing_listening_is_an_error_and_not_cached() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = MinerAddr::from_socket_addr(listener.local_addr().expect("addr"));
    drop(listener);
    let d = ProtocolDetector::default();
    let err = d.detect(&client(), &a, soon()).await.expect_err("no miner");
    assert_eq!(err.kind, ErrorKind::ConnectRefused);
    assert_eq!(d.cached(&a), None);
    // A configured API needs no detection at all.
    assert_eq!(
        d.api(&client(), &a, Some(Api::V2), soon()).await,
        Ok(Api::V2)
    );
    assert_eq!(d.detections(), 1);
}
