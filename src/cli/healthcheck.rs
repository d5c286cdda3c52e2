//! `healthcheck`: a dependency-free HTTP(S) GET for container health checks
//! (the final image has no curl). Exit 0 on a 2xx answer.
//!
//! `https://` speaks TLS to a metrics listener configured by the web config
//! file: the server certificate is checked against `--ca-file`, or not at
//! all with `--insecure` (a liveness probe of the exporter on its own
//! loopback address, as `curl -k` would; it proves the listener answers,
//! not who it is). Without either an `https://` URL is refused, so a
//! health check never trusts a certificate by accident.
//!
//! `--cert-file` and `--key-file` (both or neither, as Prometheus'
//! `tls_config`) present a client certificate, for a listener whose web
//! config sets `client_auth_type: RequireAndVerifyClientCert`. The key is
//! read through the capped file reader and never quoted in errors.

use crate::process::exit;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::ResolvesClientCert;
use tokio_rustls::rustls::crypto::{ring as provider, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_rustls::TlsConnector;

#[derive(Debug, Clone, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to fetch: http:// or https:// (with --ca-file or --insecure).
    #[arg(long, default_value = "http://127.0.0.1:9710/-/healthy")]
    pub url: String,
    /// Seconds allowed for the whole request.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
    /// PEM file of the CA (or the self-signed certificate) that signed the
    /// listener's certificate, for https:// URLs.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// For https:// URLs: do not check the server certificate at all.
    #[arg(long, conflicts_with = "ca_file")]
    pub insecure: bool,
    /// PEM client certificate (chain) to present, for a listener that
    /// requires one; needs --key-file.
    #[arg(long, requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of --cert-file; needs --cert-file.
    #[arg(long, requires = "cert_file")]
    pub key_file: Option<PathBuf>,
}

pub async fn healthcheck(args: HealthcheckArgs) -> u8 {
    let (tls, rest) = if let Some(rest) = args.url.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = args.url.strip_prefix("https://") {
        (true, rest)
    } else {
        eprintln!("error: only http:// and https:// URLs are supported");
        return exit::USAGE;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let connector = if tls {
        match connector(&args) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    } else {
        None
    };
    let timeout = Duration::from_secs_f64(if args.timeout.is_finite() && args.timeout > 0.0 {
        args.timeout.min(60.0)
    } else {
        3.0
    });
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let result = tokio::time::timeout(timeout, async {
        let stream = tokio::net::TcpStream::connect(authority).await?;
        match connector {
            None => exchange(stream, &request).await,
            Some(connector) => {
                let name = server_name(authority)?;
                let stream = connector.connect(name, stream).await?;
                exchange(stream, &request).await
            }
        }
    })
    .await;
    match result {
        Ok(Ok(head))
            if head
                .split(' ')
                .nth(1)
                .is_some_and(|code| code.starts_with('2')) =>
        {
            exit::OK
        }
        Ok(Ok(head)) => {
            eprintln!("unhealthy: {}", head.lines().next().unwrap_or(""));
            exit::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("unhealthy: {e}");
            exit::UNREACHABLE
        }
        Err(_) => {
            eprintln!("unhealthy: timed out");
            exit::UNREACHABLE
        }
    }
}

/// Sends the request and returns the start of the answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> std::io::Result<String> {
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 64];
    let n = stream.read(&mut head).await?;
    Ok(String::from_utf8_lossy(&head[..n]).to_string())
}

/// The TLS name of `host:port` or `[v6]:port`: an IP address or a DNS name.
fn server_name(authority: &str) -> std::io::Result<ServerName<'static>> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => Ok(ServerName::IpAddress(ip.into())),
        Err(_) => ServerName::try_from(host.to_string()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a valid TLS server name",
            )
        }),
    }
}

fn connector(args: &HealthcheckArgs) -> Result<TlsConnector, String> {
    let provider = Arc::new(provider::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match (&args.ca_file, args.insecure) {
        (Some(path), _) => {
            let pem = crate::http::tls::read_limited(path)?;
            let mut roots = RootCertStore::empty();
            for cert in crate::http::tls::certificates(&pem, "--ca-file")? {
                roots
                    .add(cert)
                    .map_err(|e| format!("--ca-file: not a usable CA certificate ({e})"))?;
            }
            builder.with_root_certificates(roots)
        }
        (None, true) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
        (None, false) => return Err(
            "an https:// URL needs --ca-file (the CA of the listener's certificate) or --insecure"
                .into(),
        ),
    };
    let config = match (&args.cert_file, &args.key_file) {
        (Some(cert), Some(key)) => {
            let pair = crate::http::tls::load_pair(cert, key)?;
            builder.with_client_cert_resolver(Arc::new(ClientCertificate(Arc::new(pair))))
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("--cert-file and --key-file go together".into()),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The one client certificate, offered whenever the server asks.
struct ClientCertificate(Arc<CertifiedKey>);

/// Never shows the key (nor anything from the files).
impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCertificate { .. }")
    }
}

impl ResolvesClientCert for ClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// `--insecure`: any certificate, but the handshake signatures are still
/// checked (the server must hold the key of the certificate it shows).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
