//! The metrics listener behind a web config file (exporter-toolkit format,
//! `--web.config.file`):
//!
//! * a real Prometheus scrapes `/metrics` over TLS with basic auth and a
//!   client certificate; the same scrape with a wrong password, or without
//!   a client certificate, fails;
//! * wrong or missing credentials get 401 and no miner is contacted;
//! * `healthcheck` speaks https to the listener, with a client certificate
//!   when the listener requires one;
//! * the exporter-toolkit's documentation example (the file node_exporter's
//!   README points to) is accepted as is.
//!
//! Certificates come from rcgen (a test CA, a server and a client
//! certificate); everything listens on loopback.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use support::prometheus::PrometheusProcess;
use support::{sim_fleet, target, tool};
use whatsminer_exporter::config::web::load_web;
use whatsminer_exporter::settings::web::WebConfig;
use whatsminer_exporter::settings::Settings;

const PASSWORD: &str = "correct horse battery staple";

/// A test CA and, signed by it, a server certificate for localhost and
/// 127.0.0.1 and a client certificate, as PEM files in `dir`.
fn write_pki(dir: &Path) {
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).expect("write PEM");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    write("ca.pem", ca.pem());
    let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, stem: &str| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(names).expect("params");
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca, &ca_key).expect("sign");
        write(&format!("{stem}.pem"), cert.pem());
        write(&format!("{stem}-key.pem"), key.serialize_pem());
    };
    let server_names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    leaf(server_names, ExtendedKeyUsagePurpose::ServerAuth, "server");
    leaf(
        vec!["prometheus".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
        "client",
    );
}

/// Test settings ([`support::exporter_settings`]) behind `web`.
fn start_settings(
    targets: Vec<Arc<whatsminer_exporter::collector::MinerTarget>>,
    web: WebConfig,
) -> Settings {
    let mut settings = support::exporter_settings(targets);
    settings.web = Some(web);
    settings
}

/// A GET with optional basic credentials, on the shared test client:
/// (status, head).
async fn get(addr: SocketAddr, path: &str, credentials: Option<(&str, &str)>) -> (u16, String) {
    use base64::Engine;
    let auth = credentials.map(|(u, p)| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        format!("Basic {encoded}")
    });
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let reply = support::http::request(addr, "GET", path, &headers, b"").await;
    (reply.status, reply.head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_get_401_and_no_miner_is_contacted() {
    // A "miner" that only counts the connections it gets.
    let miner = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let miner_addr = miner.local_addr().expect("addr");
    let contacted = Arc::new(AtomicUsize::new(0));
    let counter = contacted.clone();
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = miner.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("web.yml");
    let hash = bcrypt::hash(PASSWORD, 10).expect("hash");
    std::fs::write(
        &path,
        format!(
            "basic_auth_users:\n  prometheus: '{hash}'\nbasic_auth_excluded_paths: [/-/healthy]\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        ),
    )
    .expect("write");
    let web = load_web(&path).expect("web config");
    let exporter = support::start(start_settings(vec![target(miner_addr, "m")], web)).await;
    let addr = exporter.metrics_addr();
    let probe = format!("/probe?target={miner_addr}");
    for path in ["/metrics", probe.as_str(), "/-/ready"] {
        for credentials in [
            None,
            Some(("prometheus", "wrong")),
            Some(("nobody", PASSWORD)),
        ] {
            let (status, head) = get(addr, path, credentials).await;
            assert_eq!(status, 401, "{path} {credentials:?}: {head}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("www-authenticate: basic"),
                "{head}"
            );
            assert!(
                head.to_ascii_lowercase().contains("x-frame-options: deny"),
                "{head}"
            );
        }
    }
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "a refused request reached the miner"
    );
    // The excluded path is open; the right password reaches the miner.
    assert_eq!(get(addr, "/-/healthy", None).await.0, 200);
    let (status, head) = get(addr, "/metrics", Some(("prometheus", PASSWORD))).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        contacted.load(Ordering::SeqCst) > 0,
        "the scrape did not reach the miner"
    );
    exporter.shutdown().await;
    accept.abort();
}

#[tokio::test]
async fn the_exporter_toolkit_documentation_example_is_accepted_as_is() {
    let fixture = support::repo().join("tests/fixtures/web/exporter-toolkit-web-config.yml");
    let dir = tempfile::tempdir().expect("tempdir");
    // The example names server.crt and server.key beside it.
    let path = dir.path().join("web-config.yml");
    std::fs::copy(&fixture, &path).expect("copy the example");
    write_pki(dir.path());
    std::fs::copy(dir.path().join("server.pem"), dir.path().join("server.crt")).expect("crt");
    std::fs::copy(
        dir.path().join("server-key.pem"),
        dir.path().join("server.key"),
    )
    .expect("key");
    let web = load_web(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(web.tls.is_some());
    let users: Vec<&String> = web.users.keys().collect();
    assert_eq!(users, ["alice", "bob"]);
    assert_eq!(web.auth_excluded_paths, ["/-/healthy", "/-/ready"]);
    let exporter = support::start(start_settings(Vec::new(), web)).await;
    exporter.shutdown().await;
}

/// A Prometheus job scraping the exporter at `addr` over TLS.
fn job(
    name: &str,
    addr: SocketAddr,
    dir: &Path,
    password_file: &Path,
    client_cert: bool,
) -> String {
    let file = |n: &str| dir.join(n).display().to_string();
    let client = if client_cert {
        format!(
            "cert_file: {:?}, key_file: {:?}, ",
            file("client.pem"),
            file("client-key.pem")
        )
    } else {
        String::new()
    };
    format!(
        "  - job_name: {name}\n    scheme: https\n    \
         tls_config: {{ca_file: {:?}, {client}server_name: localhost}}\n    \
         basic_auth: {{username: prometheus, password_file: {:?}}}\n    \
         static_configs: [{{targets: ['{addr}']}}]\n",
        file("ca.pem"),
        password_file.display().to_string()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_tls_with_basic_auth_and_a_client_certificate() {
    let Some(binary) = tool("prometheus", "prometheus_scrapes_over_tls_with_basic_auth") else {
        return;
    };
    let (fleet, names, targets) = sim_fleet(3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path());
    let hash = bcrypt::hash(PASSWORD, 10).expect("hash");
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
             min_version: TLS12\n\
             basic_auth_users:\n  prometheus: '{hash}'\n"
        ),
    )
    .expect("write");
    let web = load_web(&web_path).unwrap_or_else(|e| panic!("{e}"));
    let exporter = support::start(start_settings(targets, web)).await;
    let addr = exporter.metrics_addr();
    let right: PathBuf = dir.path().join("right-password");
    let wrong: PathBuf = dir.path().join("wrong-password");
    std::fs::write(&right, PASSWORD).expect("write");
    std::fs::write(&wrong, "not it").expect("write");
    let config = format!(
        "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n{}{}{}",
        job("tls-auth", addr, dir.path(), &right, true),
        job("wrong-password", addr, dir.path(), &wrong, true),
        job("no-client-cert", addr, dir.path(), &right, false),
    );
    let prom = PrometheusProcess::start(&binary, &config, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}\nconfig:\n{config}"));
    let started = Instant::now();
    let outcome = loop {
        let check = async {
            let up = prom
                .miners_in(r#"whatsminer_up{job="tls-auth"} == 1"#)
                .await?;
            if up != names {
                return Err(format!("miners up over TLS: {up:?}"));
            }
            for failing in ["wrong-password", "no-client-cert"] {
                let down = prom
                    .query(&format!(r#"up{{job="{failing}"}} == 0"#))
                    .await?;
                if down.len() != 1 {
                    return Err(format!("job {failing} not (yet) seen failing"));
                }
            }
            let miners = prom.query(r#"whatsminer_up{job!="tls-auth"}"#).await?;
            if !miners.is_empty() {
                return Err(format!("a refused job got miner series: {miners:?}"));
            }
            Ok(())
        }
        .await;
        match check {
            Ok(()) => break Ok(()),
            Err(e) if started.elapsed() > Duration::from_secs(60) => break Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    if let Err(e) = outcome {
        panic!("{e}\nPrometheus log:\n{}", prom.log_text());
    }
    drop(prom);
    exporter.shutdown().await;
    fleet.shutdown().await;
}

/// `healthcheck` against the TLS listener: https with the CA or with
/// `--insecure` is healthy; https without either is refused (exit 2), a
/// wrong CA fails the handshake (exit 3), and plain http gets no 2xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_speaks_tls_to_a_web_config_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path());
    let other = tempfile::tempdir().expect("tempdir");
    write_pki(other.path());
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n",
    )
    .expect("write");
    let web = load_web(&web_path).unwrap_or_else(|e| panic!("{e}"));
    let exporter = support::start(start_settings(Vec::new(), web)).await;
    let https = format!("https://{}/-/healthy", exporter.metrics_addr());
    let http = format!("http://{}/-/healthy", exporter.metrics_addr());
    let ca = dir.path().join("ca.pem");
    let wrong_ca = other.path().join("ca.pem");
    let run = exporter_cli;
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let ca_s = ca.to_string_lossy().to_string();
    let wrong_s = wrong_ca.to_string_lossy().to_string();
    let cases = [
        (
            s(&["healthcheck", "--url", &https, "--ca-file", &ca_s]),
            Some(0),
        ),
        (s(&["healthcheck", "--url", &https, "--insecure"]), Some(0)),
        (s(&["healthcheck", "--url", &https]), Some(2)),
        (
            s(&["healthcheck", "--url", &https, "--ca-file", &wrong_s]),
            Some(3),
        ),
    ];
    for (args, want) in cases {
        let out = run(args.clone()).await;
        assert_eq!(out.code, want, "{args:?}: {}", out.stderr);
    }
    let plain = run(s(&["healthcheck", "--url", &http, "--timeout", "2"])).await;
    assert_ne!(plain.code, Some(0), "{}", plain.stderr);
    exporter.shutdown().await;
}

/// `healthcheck` against a listener that requires client certificates:
/// the client pair is healthy; without it the handshake is refused
/// (exit 3, said on stderr); a key that is not the certificate's, or one
/// of the two options alone, is a usage error (exit 2) that quotes no key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_presents_a_client_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_pki(dir.path());
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    )
    .expect("write");
    let web = load_web(&web_path).unwrap_or_else(|e| panic!("{e}"));
    let exporter = support::start(start_settings(Vec::new(), web)).await;
    let https = format!("https://{}/-/healthy", exporter.metrics_addr());
    let path = |name: &str| dir.path().join(name).to_string_lossy().to_string();
    let (ca, cert, key, server_key) = (
        path("ca.pem"),
        path("client.pem"),
        path("client-key.pem"),
        path("server-key.pem"),
    );
    let key_text = std::fs::read_to_string(&key).expect("read key");
    let base = ["healthcheck", "--url", &https, "--ca-file", &ca];
    let cases: [(&[&str], i32, &str); 5] = [
        (&["--cert-file", &cert, "--key-file", &key], 0, ""),
        (&[], 3, "unhealthy"),
        (
            &["--cert-file", &cert, "--key-file", &server_key],
            2,
            "does not hold the key",
        ),
        (&["--cert-file", &cert], 2, "--key-file"),
        (&["--key-file", &key], 2, "--cert-file"),
    ];
    for (extra, want, says) in cases {
        let args: Vec<String> = base.iter().chain(extra).map(|a| a.to_string()).collect();
        let out = exporter_cli(args).await;
        assert_eq!(out.code, Some(want), "{extra:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{extra:?}: {}", out.stderr);
        for line in key_text.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!out.stderr.contains(line), "{extra:?} quoted the key");
        }
    }
    exporter.shutdown().await;
}

/// Runs the exporter's binary (off the runtime: it may call back into a
/// listener this test's runtime serves).
async fn exporter_cli(args: Vec<String>) -> support::ToolRun {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        support::run_tool(
            Path::new(env!("CARGO_BIN_EXE_whatsminer-exporter")),
            &args,
            b"",
        )
    })
    .await
    .expect("the exporter's binary ran")
}
