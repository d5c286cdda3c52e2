//! Transport tests against throwaway loopback servers, one behaviour each.

use super::*;
use tokio::net::TcpListener;

/// Serves one connection: reads the request, then runs `behave`.
async fn one_shot<F, Fut>(behave: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await;
            behave(s).await;
        }
    });
    addr
}

fn limits(deadline_ms: u64, cap: usize) -> Limits {
    Limits {
        connect_timeout: Duration::from_millis(deadline_ms),
        deadline: Duration::from_millis(deadline_ms),
        max_reply_bytes: cap,
    }
}

#[tokio::test]
async fn reply_is_cut_at_nul_and_trimmed() {
    let addr = one_shot(|mut s| async move {
        let _ = s.write_all(b"  {\"a\":1}\n\0\0\0garbage").await;
    })
    .await;
    let r = exchange(addr, b"{}", &limits(2000, 1024)).await.unwrap();
    assert_eq!(r, b"{\"a\":1}");
}

#[tokio::test]
async fn long_reply_in_many_chunks_is_read_whole() {
    let body: Vec<u8> = std::iter::repeat_n(b'x', 300_000).collect();
    let expect = body.clone();
    let addr = one_shot(|mut s| async move {
        for part in body.chunks(4000) {
            let _ = s.write_all(part).await;
        }
    })
    .await;
    let r = exchange(addr, b"{}", &limits(5000, 1 << 20)).await.unwrap();
    assert_eq!(r.len(), expect.len());
}

#[tokio::test]
async fn oversized_reply_is_refused() {
    let addr = one_shot(|mut s| async move {
        let _ = s.write_all(&vec![b'y'; 10_000]).await;
    })
    .await;
    let e = exchange(addr, b"{}", &limits(2000, 4096))
        .await
        .unwrap_err();
    assert_eq!(e, ErrorKind::ReplyTooLarge { limit: 4096 });
}

#[tokio::test]
async fn silent_miner_costs_its_deadline() {
    let addr = one_shot(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let t = std::time::Instant::now();
    let e = exchange(addr, b"{}", &limits(300, 1024)).await.unwrap_err();
    let took = t.elapsed();
    assert_eq!(e, ErrorKind::Timeout);
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn refused_connection_is_typed() {
    // Bind then drop to get a port with no listener.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let e = exchange(addr, b"{}", &limits(2000, 1024))
        .await
        .unwrap_err();
    assert_eq!(e, ErrorKind::ConnectRefused);
}

#[tokio::test]
async fn close_without_bytes_is_empty_reply() {
    let addr = one_shot(|s| async move { drop(s) }).await;
    let e = exchange(addr, b"{}", &limits(2000, 1024))
        .await
        .unwrap_err();
    assert_eq!(e, ErrorKind::EmptyReply);
}

#[tokio::test]
async fn only_nuls_is_empty_reply() {
    let addr = one_shot(|mut s| async move {
        let _ = s.write_all(b"\0\0\0").await;
    })
    .await;
    let e = exchange(addr, b"{}", &limits(2000, 1024))
        .await
        .unwrap_err();
    assert_eq!(e, ErrorKind::EmptyReply);
}

#[tokio::test]
async fn reset_mid_reply_is_typed() {
    let addr = one_shot(|mut s| async move {
        let _ = s.write_all(b"{\"STATUS\":[{\"STA").await;
        let _ = s.flush().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // SO_LINGER 0 turns the close into an RST; the blocking-drop caveat
        // behind the deprecation does not apply to a zero linger.
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s);
    })
    .await;
    let e = exchange(addr, b"{}", &limits(2000, 1024))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ErrorKind::ConnectionReset { received } if received > 0),
        "{e:?}"
    );
}

#[test]
fn clean_reply_edge_cases() {
    assert_eq!(clean_reply(b""), b"");
    assert_eq!(clean_reply(b"\0abc"), b"");
    assert_eq!(clean_reply(b" \t{}\r\n"), b"{}");
    assert_eq!(clean_reply(b"  {\"a\":1}\n\0garbage"), b"{\"a\":1}");
    assert_eq!(clean_reply(b"\0{}"), b"");
}

#[test]
fn exchange_future_stays_small() {
    // A fleet scrape spawns one task per miner up front, each holding
    // three exchange futures: a few KiB each, not a 16 KiB read buffer.
    let limits = Limits::default();
    let future = exchange("127.0.0.1:1".parse().unwrap(), b"{}", &limits);
    let size = std::mem::size_of_val(&future);
    assert!(size < 2048, "exchange future is {size} bytes");
}
