//! Abuse of the admin listener with a valid token: malformed, oversized,
//! slow and oddly addressed requests must get a 4xx (never a 5xx, never a
//! dropped connection from a panic), must reach no miner, and must leave
//! the server healthy. Also: every documented admin route answers 401
//! without the token, whatever the method.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::admin::{request, Harness, Setup, TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The admin routes, as documented (method, path pattern).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/admin/miners/{miner}/commands/{command}"),
    ("POST", "/admin/alertmanager"),
];

const SET_LED: &str = "/admin/miners/sim-0/commands/set_led";
const WEBHOOK: &str = "/admin/alertmanager";
/// A route that acts on nothing even when the request is accepted.
const DRY_SET_LED: &str = "/admin/miners/sim-0/commands/set_led?dry_run=true";

/// An answer read off the wire; `status` is `None` when the server closed
/// the connection without one.
#[derive(Debug)]
struct Answer {
    status: Option<u16>,
    text: String,
}

/// Sends `head` (request line and headers, without the blank line) and then
/// the body `pieces`, pausing `gap` before each, while reading the answer
/// (the server may answer and close before the body is sent). Bounded to
/// 20 s.
async fn raw(h: &Harness, head: &str, pieces: Vec<Vec<u8>>, gap: Duration) -> Answer {
    let stream = tokio::net::TcpStream::connect(h.admin)
        .await
        .expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!("{head}\r\nHost: {}\r\nConnection: close\r\n\r\n", h.admin);
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for piece in pieces {
            tokio::time::sleep(gap).await;
            if wr.write_all(&piece).await.is_err() {
                return;
            }
        }
        // Keep the write half open: closing it would end the body early.
        std::future::pending::<()>().await;
        drop(wr);
    });
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        // Stops at EOF or a reset, keeping what arrived before.
        while let Ok(n @ 1..) = rd.read(&mut buf).await {
            raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
    })
    .await;
    writer.abort();
    assert!(read.is_ok(), "no end of the answer within 20 s");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    Answer { status, text }
}

fn auth() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

/// A client error, and not one of the statuses that mean "server broken".
fn assert_4xx(what: &str, status: Option<u16>, text: &str) {
    let status = status.unwrap_or_else(|| panic!("{what}: connection closed without an answer"));
    assert!((400..500).contains(&status), "{what}: {status}\n{text}");
}

/// The server still works: a dry run on a configured miner and the
/// metrics listener's health check both answer 200.
async fn assert_healthy(h: &Harness) {
    let r = h
        .post(&format!("{SET_LED}?dry_run=true"), r#"{"color":"red"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(h.exporter.metrics_addr(), "GET", "/-/healthy", &[], b"").await;
    assert_eq!(r.status, 200);
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn malformed_bodies_are_4xx_and_reach_no_miner() {
    let h = Harness::start("abuse-bodies", Setup::new(2)).await;
    let deep_object = format!("{}{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let many: String = (0..1000).map(|i| format!("\"k{i}\":1,")).collect();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"{not json at all".to_vec()),
        ("binary", vec![0, 1, 2, 0xff, 0xfe, b'{']),
        ("array", b"[1,2,3]".to_vec()),
        ("null", b"null".to_vec()),
        ("number", b"12345".to_vec()),
        ("string", b"\"power_off\"".to_vec()),
        ("truncated", b"{\"color\":".to_vec()),
        ("trailing", b"{\"color\":\"red\"} {}".to_vec()),
        ("object value", b"{\"color\":{\"r\":1}}".to_vec()),
        ("array value", b"{\"color\":[\"red\"]}".to_vec()),
        ("null value", b"{\"color\":null}".to_vec()),
        ("reserved cmd", b"{\"cmd\":\"factory_reset\"}".to_vec()),
        ("reserved token", b"{\"token\":\"x\"}".to_vec()),
        ("bad key", b"{\"a b\":1}".to_vec()),
        ("empty key", b"{\"\":1}".to_vec()),
        (
            "long key",
            format!("{{\"{}\":1}}", "k".repeat(5000)).into_bytes(),
        ),
        ("too many", format!("{{{many}\"z\":1}}").into_bytes()),
        ("huge number", b"{\"percent\":1e999999}".to_vec()),
        ("deep array", nested(30_000).into_bytes()),
        ("deep object", deep_object.into_bytes()),
        (
            "invalid utf-8 value",
            b"{\"color\":\"\xff\xfe\xc0\xaf\"}".to_vec(),
        ),
        ("invalid utf-8 key", b"{\"\xc3\x28\":\"red\"}".to_vec()),
        ("lone surrogate", b"{\"color\":\"\\ud800\"}".to_vec()),
        ("nul bytes", b"\0\0\0\0".to_vec()),
    ];
    for (what, body) in &bodies {
        let r = request(
            h.admin,
            "POST",
            SET_LED,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            body,
        )
        .await;
        assert_4xx(&format!("command {what}"), Some(r.status), &r.body);
        if what.starts_with("deep") {
            // Under the size cap: the JSON parser's depth limit refuses it.
            assert_eq!(r.status, 400, "{what}");
        }
    }
    let webhook_bodies: Vec<(&str, Vec<u8>)> = vec![
        ("version as number", br#"{"version":4,"status":"firing","alerts":[]}"#.to_vec()),
        ("unknown version", br#"{"version":"5","status":"firing","alerts":[]}"#.to_vec()),
        ("bad status", br#"{"version":"4","status":"burning","alerts":[]}"#.to_vec()),
        ("alerts object", br#"{"version":"4","status":"firing","alerts":{}}"#.to_vec()),
        ("label number", br#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"miner":1}}]}"#.to_vec()),
        ("negative truncated", br#"{"version":"4","status":"firing","truncatedAlerts":-1,"alerts":[]}"#.to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, body) in bodies.iter().chain(&webhook_bodies) {
        let r = request(
            h.admin,
            "POST",
            WEBHOOK,
            &[("Authorization", &format!("Bearer {TOKEN}"))],
            body,
        )
        .await;
        assert_4xx(&format!("webhook {what}"), Some(r.status), &r.body);
    }
    assert_eq!(h.fleet_commands(), 0, "bad input must reach no miner");
    assert_healthy(&h).await;
}

#[tokio::test]
async fn oversized_and_slow_bodies_are_413_and_408() {
    let mut setup = Setup::new(1);
    setup.body_timeout = Some(Duration::from_millis(800));
    let h = Harness::start("abuse-size", setup).await;
    for path in [SET_LED, WEBHOOK] {
        // 10 MB announced and sent.
        let ten_mb = 10 * 1024 * 1024;
        let head = format!(
            "POST {path} HTTP/1.1\r\n{}\r\nContent-Length: {ten_mb}",
            auth()
        );
        let pieces = vec![vec![b' '; 1024 * 1024]; 10];
        let a = raw(&h, &head, pieces, Duration::ZERO).await;
        assert_eq!(a.status, Some(413), "{path} 10 MB: {}", a.text);

        // Chunked, no length announced, past the 64 KiB cap.
        let head = format!(
            "POST {path} HTTP/1.1\r\n{}\r\nTransfer-Encoding: chunked",
            auth()
        );
        let chunk = [b"2000\r\n".as_slice(), &[b' '; 0x2000], b"\r\n"].concat();
        let mut pieces = vec![chunk; 40];
        pieces.push(b"0\r\n\r\n".to_vec());
        let a = raw(&h, &head, pieces, Duration::from_millis(1)).await;
        assert_eq!(a.status, Some(413), "{path} chunked: {}", a.text);

        // A body that never completes, and one trickled byte by byte: both
        // get 408 once the body timeout passes, not when the client quits.
        let head = format!("POST {path} HTTP/1.1\r\n{}\r\nContent-Length: 100", auth());
        for (pieces, gap) in [
            (vec![b"{\"co".to_vec()], Duration::ZERO),
            (vec![b" ".to_vec(); 100], Duration::from_millis(100)),
        ] {
            let started = Instant::now();
            let a = raw(&h, &head, pieces, gap).await;
            let took = started.elapsed();
            assert_eq!(a.status, Some(408), "{path} slow body: {}", a.text);
            assert!(took < Duration::from_secs(8), "408 after {took:?}");
        }
    }
    assert_eq!(h.fleet_commands(), 0);
    assert_healthy(&h).await;
}

#[tokio::test]
async fn odd_paths_methods_and_headers_are_4xx() {
    let h = Harness::start("abuse-paths", Setup::new(2)).await;
    let long_name = "m".repeat(8000);
    let paths = [
        "/admin/miners/../commands/power_off".to_string(),
        "/admin/miners/%2e%2e/commands/power_off".into(),
        "/admin/miners/sim-0/../sim-1/commands/power_off".into(),
        "/admin/miners/sim-0/commands/../power_off".into(),
        "/admin/miners/sim-0/commands/..%2fpower_off".into(),
        "/admin/miners/sim-0%2fcommands%2fpower_off".into(),
        "//admin/miners/sim-0/commands/power_off".into(),
        "/admin/miners/sim-0/commands/power_off/".into(),
        "/admin/miners/sim-0//commands/power_off".into(),
        "/ADMIN/miners/sim-0/commands/power_off".into(),
        "/admin/alertmanager/".into(),
        "/admin/alertmanager%2f".into(),
        "/admin/../admin/alertmanager".into(),
        "/admin/miners/sim-0%00/commands/power_off".into(),
        "/admin/miners/%00/commands/power_off".into(),
        "/admin/miners/%ff/commands/power_off".into(),
        "/admin/miners/%c0%ae%c0%ae/commands/power_off".into(),
        "/admin/miners/%zz/commands/power_off".into(),
        "/admin/miners/sim-0%/commands/power_off".into(),
        "/admin/miners/sim-0%2/commands/power_off".into(),
        "/admin/miners/%25sim-0/commands/power_off".into(),
        "/admin/miners/s%C4%B1m-0/commands/power_off".into(),
        "/admin/miners/sim-0%20/commands/power_off".into(),
        "/admin/miners/127.0.0.1:1/commands/power_off".into(),
        "/admin/miners/[::1]/commands/power_off".into(),
        format!("/admin/miners/{long_name}/commands/power_off"),
        "/admin/miners/sim-0/commands/power_off?dry_run=maybe".into(),
        "/admin/miners/sim-0/commands/power_off?dry_run=true&x=1".into(),
        "/admin/miners/sim-0/commands/power_off?dryrun=true".into(),
        "/admin/miners/sim-0/commands/power_off?%ff=1".into(),
        "/admin/miners/sim-0/commands/%ff".into(),
    ];
    for path in &paths {
        // dry_run: a path that wrongly matched would still act on nothing.
        let sep = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{sep}dry_run=true");
        let a = raw(
            &h,
            &format!("POST {path} HTTP/1.1\r\n{}\r\nContent-Length: 0", auth()),
            vec![],
            Duration::ZERO,
        )
        .await;
        assert_4xx(&format!("path {path}"), a.status, &a.text);
    }
    // A percent-encoded name that decodes to a real miner is that miner.
    let r = h
        .post("/admin/miners/sim%2d0/commands/power_off?dry_run=true", "")
        .await;
    assert_eq!(
        (r.status, r.json()["miner"].clone()),
        (200, "sim-0".into()),
        "{}",
        r.body
    );

    for method in [
        "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "BREW", "M-SEARCH",
    ] {
        for path in [SET_LED, WEBHOOK] {
            let a = raw(
                &h,
                &format!("{method} {path} HTTP/1.1\r\n{}", auth()),
                vec![],
                Duration::ZERO,
            )
            .await;
            assert_eq!(a.status, Some(405), "{method} {path}: {}", a.text);
        }
    }
    let odd_requests = [
        format!("CONNECT 127.0.0.1:1 HTTP/1.1\r\n{}", auth()),
        format!("POST * HTTP/1.1\r\n{}", auth()),
        format!("POST {DRY_SET_LED} HTTP/9.9\r\n{}", auth()),
        format!("POST {DRY_SET_LED}\r\n{}", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nContent-Length: -1", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nContent-Length: 5\r\nContent-Length: 7", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nX-Big: {}", auth(), "v".repeat(1024 * 1024)),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\nAuthorization: Bearer {}", "t".repeat(1024 * 1024)),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}{}", auth(), "\r\nX-Many: 1".repeat(500)),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nX-Bad: \x01\x7f", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\nBad Header Name: 1", auth()),
        format!("POST {DRY_SET_LED} HTTP/1.1\r\n{}\r\n{}", auth(), auth()),
    ];
    for head in &odd_requests {
        let a = raw(&h, head, vec![b"{}".to_vec()], Duration::ZERO).await;
        let shown: String = head.chars().take(120).collect();
        assert_4xx(&format!("request {shown:?}"), a.status, &a.text);
    }
    assert_eq!(h.fleet_commands(), 0, "no odd request may reach a miner");
    assert_healthy(&h).await;
}

/// `METHOD /admin...` pairs written in inline code in `text` (outside
/// fenced blocks), with a trailing `[?query]` left out.
fn documented_routes(text: &str) -> Vec<(String, String)> {
    let mut in_fence = false;
    let prose = text.lines().filter(|line| {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            return false;
        }
        !in_fence
    });
    let mut routes: Vec<(String, String)> = prose
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter_map(|quoted| {
            let (method, path) = quoted.split_once(' ')?;
            let known = ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method);
            let path = path.split('[').next()?.trim();
            (known && path.starts_with("/admin")).then(|| (method.to_string(), path.to_string()))
        })
        .collect();
    routes.sort();
    routes.dedup();
    routes
}

#[tokio::test]
async fn every_admin_route_answers_401_without_the_token() {
    let mut ours: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    ours.sort();
    let root = env!("CARGO_MANIFEST_DIR");
    for source in ["docs/admin.md", "src/http/admin/mod.rs"] {
        let text = std::fs::read_to_string(format!("{root}/{source}")).expect("readable");
        assert_eq!(documented_routes(&text), ours, "routes listed in {source}");
    }

    let h = Harness::start("abuse-routes", Setup::new(1)).await;
    let wrong = format!("Bearer {TOKEN}-not");
    let basic = format!("Basic {TOKEN}");
    let credentials: [&[(&str, &str)]; 4] = [
        &[],
        &[("Authorization", &wrong)],
        &[("Authorization", &basic)],
        &[("Authorization", "Bearer")],
    ];
    let mut refused = 0;
    for (documented_method, pattern) in ROUTES {
        let path = pattern
            .replace("{miner}", "sim-0")
            .replace("{command}", "power_off");
        // With the token, the route exists (dry run: nothing is sent).
        let r = h.post(&format!("{path}?dry_run=true"), "").await;
        assert!(r.status != 401 && r.status != 404, "{path}: {}", r.status);
        for method in [*documented_method, "GET", "PUT", "DELETE"] {
            for headers in credentials {
                let r = request(h.admin, method, &path, headers, b"{}").await;
                assert_eq!(r.status, 401, "{method} {path} {headers:?}");
                assert!(r
                    .head
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"));
                refused += 1;
            }
        }
    }
    // Paths that are not routes are refused the same way before the 404.
    for path in [
        "/",
        "/admin",
        "/admin/miners",
        "/metrics",
        "/admin/miners/sim-0/commands",
    ] {
        let r = request(h.admin, "GET", path, &[], b"").await;
        assert_eq!(r.status, 401, "{path}");
        refused += 1;
    }
    assert_eq!(
        h.exporter.state.telemetry.admin_auth_failures.get(),
        refused
    );
    assert_eq!(h.fleet_commands(), 0);
}

#[tokio::test]
async fn idle_connections_cannot_hold_the_listener_for_long() {
    let h = Harness::start("abuse-idle", Setup::new(1)).await;
    // More idle connections than the admin listener serves at once (64):
    // they send nothing, so the header timeout (10 s) must free them.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(
            tokio::net::TcpStream::connect(h.admin)
                .await
                .expect("connect"),
        );
    }
    let started = Instant::now();
    let r = h
        .post(&format!("{SET_LED}?dry_run=true"), r#"{"color":"red"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(18), "served after {waited:?}");
    drop(idle);
    assert_healthy(&h).await;
}

/// Opens `count` unauthenticated connections that send half a request head
/// and then nothing; each one the server closes is opened again, until
/// `stop` is set (or, as a bound on the loop, `ATTACK_BOUND` has passed).
fn half_open_attack(
    h: &Harness,
    count: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let admin = h.admin;
    let until = Instant::now() + ATTACK_BOUND;
    (0..count)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                    let Ok(mut s) = tokio::net::TcpStream::connect(admin).await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let half = format!("POST {WEBHOOK} HTTP/1.1\r\nHost: {admin}\r\n");
                    if s.write_all(half.as_bytes()).await.is_err() {
                        continue;
                    }
                    let mut buf = [0u8; 64];
                    // Until the server closes it, or the attack ends.
                    let left = until.saturating_duration_since(Instant::now());
                    let _ = tokio::time::timeout(left, s.read(&mut buf)).await;
                }
            })
        })
        .collect()
}

/// How long an attack may last at most: the loop's bound, and the point
/// past which a request that was not answered counts as starved.
const ATTACK_BOUND: Duration = Duration::from_secs(60);

/// The attack lasts until the authenticated requests are answered, so the
/// check is "served while the attack goes on", not a duration: before the
/// fix a request waited for as long as the attack lasted (9.7 s in a 10 s
/// attack). The latency is printed for docs/reliability.md, never asserted.
#[tokio::test]
async fn half_open_unauthenticated_connections_cannot_starve_the_admin_api() {
    let h = Harness::start("abuse-half-open", Setup::new(1)).await;
    for count in [64, 256] {
        let stop = Arc::new(AtomicBool::new(false));
        let attack = half_open_attack(&h, count, stop.clone());
        // Let the attack fill the listener before the real request.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..5 {
            let started = Instant::now();
            let answered =
                tokio::time::timeout(ATTACK_BOUND / 2, h.post(DRY_SET_LED, r#"{"color":"red"}"#))
                    .await;
            let Ok(r) = answered else {
                panic!("{count} half-open connections starved the admin API: no answer while the attack went on");
            };
            assert_eq!(r.status, 200, "{}", r.body);
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        eprintln!("{count} half-open connections: slowest authenticated request {slowest:?}");
        for task in attack {
            task.abort();
        }
    }
    assert_eq!(h.fleet_commands(), 0);
    assert_healthy(&h).await;
}
