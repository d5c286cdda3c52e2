//! Connection-level abuse: many clients at once, slow and idle clients
//! against the header timeout, and a flood of reloads.

use super::*;

#[tokio::test]
async fn many_connections_at_once_are_all_served_and_leave_no_descriptors() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    assert_healthy(addr).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..300 {
        tasks.spawn(async move { get(addr, "/-/healthy").await.status });
    }
    let mut ok = 0;
    while let Some(status) = tasks.join_next().await {
        ok += usize::from(status.expect("task") == Some(200));
    }
    assert_eq!(ok, 300);
    // Idle connections that never send a byte hold a slot but block no one.
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    assert_healthy(addr).await;
    assert!(
        server_side_fds(addr.port()) >= 100,
        "idle connections not seen"
    );
    drop(idle);
    // Every server-side descriptor of a closed connection is released.
    let mut left = server_side_fds(addr.port());
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        sleep(Duration::from_millis(100)).await;
        left = server_side_fds(addr.port());
    }
    assert_eq!(left, 0, "connection descriptors left open");
    exporter.shutdown().await;
}

/// Descriptors of this process that are accepted connections on `port`
/// (other tests of this binary run alongside, so a plain fd count would
/// not do): socket inodes from /proc/self/fd matched against the
/// non-listening TCP sockets whose local port is `port`.
fn server_side_fds(port: u16) -> usize {
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 0A is LISTEN: the listener itself is not a connection.
            if local_port == Some(port) && *state != "0A" {
                inodes.insert(inode.to_string());
            }
        }
    }
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .filter(|inode| inodes.contains(inode))
                .count()
        })
        .unwrap_or(0)
}

/// The shipped header timeout is 10 s: a client dribbling its request line
/// at 1 byte/s, or saying nothing at all, is cut then, and a keep-alive
/// connection left idle after a request likewise.
#[tokio::test]
async fn slow_and_idle_clients_are_cut_after_the_header_timeout() {
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    let dribble = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        for byte in b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            let mut probe = [0u8; 256];
            // Read for up to a second: this is also the 1 byte/s pace.
            match timeout(Duration::from_secs(1), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => assert!(
                    !String::from_utf8_lossy(&probe[..n]).starts_with("HTTP/1.1 200"),
                    "a 1 byte/s request completed"
                ),
                Err(_) => {}
            }
        }
        started.elapsed()
    };
    let silent = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let _ = timeout(Duration::from_secs(30), stream.read(&mut buf)).await;
        started.elapsed()
    };
    let kept_alive = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let _ = stream
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buf = vec![0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = timeout(Duration::from_secs(30), stream.read_to_end(&mut rest)).await;
        started.elapsed()
    };
    let (dribbled, silent, kept_alive) = tokio::join!(dribble, silent, kept_alive);
    for (what, took) in [
        ("1 byte/s", dribbled),
        ("silent", silent),
        ("keep-alive", kept_alive),
    ] {
        // The timeout is 10 s; bounds generous for a loaded machine.
        assert!(
            took >= Duration::from_secs(7) && took <= Duration::from_secs(18),
            "{what} client cut after {took:?}"
        );
    }
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

#[tokio::test]
async fn reload_is_404_without_a_config_and_serialised_with_one() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let exporter = exporter().await;
    let addr = exporter.metrics_addr();
    let post = b"POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = send_raw(addr, post, QUICK).await;
    assert_eq!(answer.status, Some(404), "{}", answer.text);

    // With a configuration, a flood of reloads runs one at a time.
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (r, m, c) = (running.clone(), most.clone(), calls.clone());
    exporter.state.set_reloader(Arc::new(move || {
        let (r, m, c) = (r.clone(), m.clone(), c.clone());
        Box::pin(async move {
            let now = r.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            sleep(Duration::from_millis(20)).await;
            r.fetch_sub(1, SeqCst);
            c.fetch_add(1, SeqCst);
            Ok(Default::default())
        })
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        tasks.spawn(async move { send_raw(addr, post, QUICK).await.status });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), Some(200));
    }
    assert_eq!(calls.load(SeqCst), 20);
    assert_eq!(most.load(SeqCst), 1, "reloads overlapped");
    assert_healthy(addr).await;
    exporter.shutdown().await;
}

/// A miner whose `devs` lists `boards` hashboards, so that its `/metrics`
/// runs to megabytes; `summary` answers briefly, anything else is an error.
async fn miner_with_many_boards(boards: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let list: Vec<String> = (0..boards)
        .map(|i| {
            format!(
                r#"{{"Slot":{i},"MHS av":{i}.5,"Temperature":60.5,"Chip Frequency":600,"Effective Chips":156,"Accepted":{i}}}"#
            )
        })
        .collect();
    let devs = Arc::new(format!(
        r#"{{"STATUS":[{{"STATUS":"S","Msg":"devs"}}],"DEVS":[{}]}}"#,
        list.join(",")
    ));
    tokio::spawn(async move {
        for _ in 0..256 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let devs = devs.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = match timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let reply = if request.contains("\"devs\"") {
                    devs.as_str()
                } else if request.contains("\"summary\"") {
                    r#"{"STATUS":[{"STATUS":"S","Msg":"Summary"}],"SUMMARY":[{"Elapsed":10,"MHS av":1.5}]}"#
                } else {
                    r#"{"STATUS":"E","Code":14,"Msg":"invalid cmd"}"#
                };
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A client that asks for `/metrics` and never reads the answer. Once the
/// answer outgrows the socket buffers, the server's write blocks; hyper has
/// no write timeout, so without the exporter's 30 s write-stall timeout the
/// connection would keep its slot (of 1024) for ever, and a few hundred such
/// clients would exhaust the listener.
#[tokio::test]
async fn a_client_that_never_reads_its_answer_is_cut() {
    let miner = miner_with_many_boards(40_000).await;
    let mut settings = settings(vec![Arc::new(MinerTarget::from_addr(
        MinerAddr::from_socket_addr(miner),
    ))]);
    settings.collector.client.limits.max_reply_bytes = 16 * 1024 * 1024;
    settings.collector.client.limits.deadline = Duration::from_secs(10);
    settings.scrape.default_timeout = Duration::from_secs(15);
    let exporter = Exporter::start(settings).await.expect("exporter starts");
    let addr = exporter.metrics_addr();
    let full = send_raw(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        QUICK * 4,
    )
    .await;
    assert_eq!(full.status, Some(200));
    assert!(
        full.text.len() > 8 << 20,
        "answer of {} bytes is too small to block",
        full.text.len()
    );

    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut stalled = socket.connect(addr).await.expect("connect");
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    // Give the scrape time to finish and the write to block, then expect
    // the server to give up on the connection within a generous bound.
    let started = Instant::now();
    sleep(Duration::from_secs(5)).await;
    assert!(
        server_side_fds(addr.port()) >= 1,
        "the stalled connection is not there"
    );
    while server_side_fds(addr.port()) > 0 && started.elapsed() < Duration::from_secs(60) {
        sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        server_side_fds(addr.port()),
        0,
        "a client that never reads still holds its connection after {:?}",
        started.elapsed()
    );
    drop(stalled);
    exporter.shutdown().await;
}
