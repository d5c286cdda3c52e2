//! Basic auth, excluded paths, rate limit, headers and the re-read of a
//! changed web config file, on the guard itself (the listener tests are in
//! tests/web_config.rs).

use super::*;
use crate::config::web::load_web;
use base64::Engine;
use hyper::header::HeaderMap;
use std::path::Path;

fn auth(user: &str, pass: &str) -> HeaderMap {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        format!("Basic {encoded}").parse().expect("header"),
    );
    h
}

fn write_config(path: &Path, users: &[(&str, &str)], extra: &str) {
    let mut text = String::from("basic_auth_users:\n");
    for (user, pass) in users {
        let hash = bcrypt::hash(pass, 4).expect("hash");
        text.push_str(&format!("  {user}: '{hash}'\n"));
    }
    text.push_str(extra);
    std::fs::write(path, text).expect("write");
}

fn guard(path: &Path) -> Arc<WebGuard> {
    WebGuard::new(load_web(path).expect("valid web config"))
}

async fn status(g: &WebGuard, path: &str, headers: &HeaderMap) -> u16 {
    match g.admit(path, headers).await {
        Ok(()) => 200,
        Err(resp) => resp.status().as_u16(),
    }
}

#[tokio::test]
async fn only_right_credentials_pass_and_401_asks_for_basic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    write_config(
        &path,
        &[("alice", "s3cret:with colon")],
        "basic_auth_excluded_paths: [/-/healthy]\n",
    );
    let g = guard(&path);
    assert_eq!(
        status(&g, "/metrics", &auth("alice", "s3cret:with colon")).await,
        200
    );
    // Twice: the cached outcome must be the same.
    assert_eq!(
        status(&g, "/metrics", &auth("alice", "s3cret:with colon")).await,
        200
    );
    for headers in [
        HeaderMap::new(),
        auth("alice", "wrong"),
        auth("alice", "wrong"),
        auth("mallory", "s3cret:with colon"),
        auth("", ""),
    ] {
        let resp = g.admit("/metrics", &headers).await.expect_err("refused");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers().get(WWW_AUTHENTICATE).map(|v| v.as_bytes()),
            Some(&b"Basic"[..])
        );
    }
    let mut bearer = HeaderMap::new();
    bearer.insert(AUTHORIZATION, "Bearer abc".parse().expect("header"));
    assert_eq!(status(&g, "/metrics", &bearer).await, 401);
    let mut junk = HeaderMap::new();
    junk.insert(
        AUTHORIZATION,
        "Basic !!!not-base64".parse().expect("header"),
    );
    assert_eq!(status(&g, "/metrics", &junk).await, 401);
    // The excluded path needs no credentials; others still do.
    assert_eq!(status(&g, "/-/healthy", &HeaderMap::new()).await, 200);
    assert_eq!(status(&g, "/-/ready", &HeaderMap::new()).await, 401);
    assert!(!format!("{g:?}").contains("$2"), "Debug shows a hash");
}

#[tokio::test]
async fn a_changed_file_applies_and_a_broken_one_keeps_the_previous() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    write_config(&path, &[("alice", "a")], "");
    let g = guard(&path);
    assert_eq!(status(&g, "/metrics", &auth("alice", "a")).await, 200);
    // Another length, so the change shows even within one mtime tick.
    write_config(&path, &[("bob", "b")], "# bob only, from now on\n");
    assert_eq!(status(&g, "/metrics", &auth("alice", "a")).await, 401);
    assert_eq!(status(&g, "/metrics", &auth("bob", "b")).await, 200);
    std::fs::write(&path, "basic_auth_users:\n  bob: not-a-hash\n").expect("write");
    assert_eq!(status(&g, "/metrics", &auth("bob", "b")).await, 200);
}

#[tokio::test]
async fn the_rate_limit_answers_429_past_the_burst() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    std::fs::write(&path, "rate_limit:\n  interval: 1h\n  burst: 2\n").expect("write");
    let g = guard(&path);
    let none = HeaderMap::new();
    assert_eq!(status(&g, "/metrics", &none).await, 200);
    assert_eq!(status(&g, "/metrics", &none).await, 200);
    assert_eq!(status(&g, "/metrics", &none).await, 429);
}

#[test]
fn configured_headers_are_added() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n",
    )
    .expect("write");
    let g = guard(&path);
    let mut resp = text(StatusCode::OK, "ok\n");
    g.decorate(&mut resp);
    assert_eq!(resp.headers()["x-frame-options"], "deny");
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}
