//! The admin API over TLS (`[admin] tls_cert_file`, `tls_key_file`), with
//! self-signed certificates made by rcgen and a rustls client that trusts
//! only the certificate under test: commands and authentication work as
//! over plain HTTP, plain HTTP to the TLS port never reaches a miner, a
//! client that never starts its handshake holds up nobody, a renewed
//! certificate is served without a restart, and files that do not load stop
//! the start instead of serving plaintext.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::admin::{miner_name, request_on, Harness, Reply, Setup, TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, pki_types::ServerName, RootCertStore};
use tokio_rustls::{client::TlsStream, TlsConnector};
use whatsminer_exporter::exporter::Exporter;

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert PEM, key PEM).
fn self_signed() -> (String, String) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).expect("rcgen");
    (made.cert.pem(), made.key_pair.serialize_pem())
}

fn write_pair(dir: &Path, pair: &(String, String)) {
    std::fs::write(dir.join("cert.pem"), &pair.0).expect("cert");
    std::fs::write(dir.join("key.pem"), &pair.1).expect("key");
}

/// The `[admin]` lines that turn TLS on with the files in `dir`.
fn tls_lines(dir: &Path) -> String {
    format!(
        "tls_cert_file = {:?}\ntls_key_file = {:?}\n",
        dir.join("cert.pem").display().to_string(),
        dir.join("key.pem").display().to_string()
    )
}

/// A TLS connection to `h`'s admin port that trusts only `cert_pem`.
async fn connect(h: &Harness, cert_pem: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    let der =
        rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("cert PEM");
    roots.add(der).expect("trust the test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(h.admin).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    let connect = TlsConnector::from(Arc::new(config)).connect(name, tcp);
    tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| std::io::Error::other("TLS handshake took over 10 s"))?
}

async fn post_tls(h: &Harness, cert_pem: &str, path: &str, token: &str) -> Reply {
    let stream = connect(h, cert_pem).await.expect("TLS connection");
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]), "ALPN");
    let auth = format!("Bearer {token}");
    request_on(
        stream,
        h.admin,
        "POST",
        path,
        &[("Authorization", &auth)],
        b"",
    )
    .await
}

async fn start(test: &str, dir: &Path) -> Harness {
    let mut setup = Setup::new(2);
    setup.admin = tls_lines(dir);
    Harness::start(test, setup).await
}

#[tokio::test]
async fn commands_and_authentication_work_over_tls() {
    let certs = tempfile::tempdir().expect("tempdir");
    let pair = self_signed();
    write_pair(certs.path(), &pair);
    let h = start("tls-commands", certs.path()).await;
    let path = format!("/admin/miners/{}/commands/power_off", miner_name(0));

    let r = post_tls(&h, &pair.0, &path, "wrong-token").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(h.miner(0).powered_on());

    let r = post_tls(&h, &pair.0, &path, TOKEN).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!h.miner(0).powered_on(), "powered off over TLS");
    assert!(h.miner(1).powered_on());
    assert_eq!(h.admin_commands("power_off", "ok"), 1);
}

#[tokio::test]
async fn plain_http_to_the_tls_port_never_reaches_a_miner() {
    let certs = tempfile::tempdir().expect("tempdir");
    write_pair(certs.path(), &self_signed());
    let h = start("tls-plain", certs.path()).await;
    let mut tcp = TcpStream::connect(h.admin).await.expect("connect");
    let request = format!(
        "POST /admin/miners/{}/commands/power_off HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        miner_name(0)
    );
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server ends the connection");
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("HTTP/"),
        "no HTTP answer over a TLS port"
    );
    assert!(h.miner(0).powered_on(), "nothing reached the miner");
    assert_eq!(h.fleet_commands(), 0);
}

#[tokio::test]
async fn a_client_that_never_says_hello_holds_up_nobody() {
    let certs = tempfile::tempdir().expect("tempdir");
    let pair = self_signed();
    write_pair(certs.path(), &pair);
    let h = start("tls-silent", certs.path()).await;
    let _silent = open_silent(&h, 3).await;
    let path = format!("/admin/miners/{}/commands/power_on", miner_name(1));
    let r = post_tls(&h, &pair.0, &path, TOKEN).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// `n` connections that never send a byte.
async fn open_silent(h: &Harness, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TcpStream::connect(h.admin).await.expect("connect"));
    }
    out
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let certs = tempfile::tempdir().expect("tempdir");
    let old = self_signed();
    write_pair(certs.path(), &old);
    let h = start("tls-renew", certs.path()).await;
    assert!(connect(&h, &old.0).await.is_ok());

    // A broken renewal keeps the old pair in service. (The pauses let the
    // files' modification times move on coarse-grained file systems.)
    tokio::time::sleep(Duration::from_millis(50)).await;
    std::fs::write(certs.path().join("cert.pem"), "not a certificate").expect("write");
    assert!(
        connect(&h, &old.0).await.is_ok(),
        "still the old certificate"
    );

    let new = self_signed();
    tokio::time::sleep(Duration::from_millis(50)).await;
    write_pair(certs.path(), &new);
    // The files are checked off the handshake, on a blocking thread: the
    // renewed pair is served from one of the next handshakes on.
    let mut renewed = false;
    for _ in 0..100 {
        if connect(&h, &old.0).await.is_err() {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(renewed, "the old one is gone");
    let path = format!("/admin/miners/{}/commands/power_on", miner_name(0));
    let r = post_tls(&h, &new.0, &path, TOKEN).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn files_that_do_not_load_stop_the_start() {
    let certs = tempfile::tempdir().expect("tempdir");
    let (_cert, key) = self_signed();
    let (other_cert, _) = self_signed();
    std::fs::write(certs.path().join("key.pem"), &key).expect("key");
    std::fs::write(certs.path().join("cert.pem"), &other_cert).expect("cert");
    let toml = format!(
        "[admin]\nenabled = true\nlisten = \"127.0.0.1:0\"\ntoken_file = {:?}\n{}\n\
         [[miners]]\naddress = \"127.0.0.1:4028\"\n",
        {
            let token = certs.path().join("token");
            std::fs::write(&token, format!("{TOKEN}\n")).expect("token");
            token.display().to_string()
        },
        tls_lines(certs.path())
    );
    let config = whatsminer_exporter::config::from_str(&toml, &certs.path().join("x.toml"))
        .expect("config is valid: the files exist");
    let mut settings = config.settings();
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    let err = Exporter::start(settings).await.err().expect("must refuse");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains("[admin] TLS") && text.contains("key.pem"),
        "{text}"
    );
    assert!(text.contains("does not hold the key"), "{text}");
    let key_line = key.lines().nth(1).expect("base64 line");
    assert!(!text.contains(key_line), "quotes the key: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_in_place_of_the_certificate_freezes_nothing() {
    let certs = tempfile::tempdir().expect("tempdir");
    let pair = self_signed();
    write_pair(certs.path(), &pair);
    let h = start("tls-fifo", certs.path()).await;
    assert!(connect(&h, &pair.0).await.is_ok());
    // The certificate file becomes a FIFO nobody writes to: opening it
    // for reading would block, and reading it would never end.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cert = certs.path().join("cert.pem");
    std::fs::remove_file(&cert).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&cert)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Handshakes go on with the pair in service, and commands pass.
    for _ in 0..5 {
        let handshake = tokio::time::timeout(Duration::from_secs(10), connect(&h, &pair.0)).await;
        assert!(matches!(handshake, Ok(Ok(_))), "a handshake failed or hung");
    }
    let path = format!("/admin/miners/{}/commands/power_on", miner_name(1));
    let r = tokio::time::timeout(Duration::from_secs(10), post_tls(&h, &pair.0, &path, TOKEN))
        .await
        .expect("the command hung");
    assert_eq!(r.status, 200, "{}", r.body);
}
