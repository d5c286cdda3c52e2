//! The metrics listener's TLS from a web config file's `tls_server_config`:
//! rustls (ring), versions, TLS 1.2 cipher suites, key exchange groups and
//! client certificate verification. Certificate and key files are read
//! again when they change (the admin listener's reloading certificate);
//! the other settings are fixed when the listener starts.

use crate::http::tls::{certificates, pair_from_pem, read_limited, reloading_cert};
use crate::settings::web::{ClientAuth, Pem, TlsVersion, WebTls};
use std::sync::Arc;
use tokio_rustls::rustls::crypto::{ring as provider, CryptoProvider};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, NamedGroup, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor for `tls`, or an error naming the bad file or value.
pub fn acceptor(tls: &WebTls) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(crypto_provider(tls)?);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (tls.min_version..=tls.max_version).contains(v))
    .map(|(_, p)| p)
    .collect();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match client_verifier(tls, provider)? {
        None => builder.with_no_client_auth(),
        Some(verifier) => builder.with_client_cert_verifier(verifier),
    };
    let mut server = builder.with_cert_resolver(resolver(tls)?);
    server.ignore_client_order = tls.prefer_server_cipher_suites;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// The ring provider narrowed to the configured suites and groups.
fn crypto_provider(tls: &WebTls) -> Result<CryptoProvider, String> {
    let mut p = provider::default_provider();
    if !tls.cipher_suites.is_empty() {
        let mut chosen = Vec::new();
        for name in &tls.cipher_suites {
            let suite = p
                .cipher_suites
                .iter()
                .find(|s| s.suite().as_str() == Some(name.as_str()))
                .ok_or_else(|| {
                    format!(
                        "tls_server_config.cipher_suites: {:?} is not offered (this exporter has the TLS 1.2 AEAD suites: ECDHE with AES-GCM or ChaCha20-Poly1305)",
                        crate::error::truncate_for_log(name, 60)
                    )
                })?;
            chosen.push(*suite);
        }
        // The list governs TLS 1.2 only, as in the toolkit; TLS 1.3 keeps its suites.
        let tls13: Vec<_> = p
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        chosen.extend(tls13);
        p.cipher_suites = chosen;
    }
    if !tls.curve_preferences.is_empty() {
        let mut groups = Vec::new();
        for name in &tls.curve_preferences {
            let named = match name.as_str() {
                "CurveP256" => NamedGroup::secp256r1,
                "CurveP384" => NamedGroup::secp384r1,
                "X25519" => NamedGroup::X25519,
                other => {
                    return Err(format!(
                        "tls_server_config.curve_preferences: {:?} is not offered (expected CurveP256, CurveP384 or X25519)",
                        crate::error::truncate_for_log(other, 40)
                    ))
                }
            };
            if let Some(g) = p.kx_groups.iter().find(|g| g.name() == named) {
                groups.push(*g);
            }
        }
        p.kx_groups = groups;
    }
    Ok(p)
}

fn client_verifier(
    tls: &WebTls,
    provider: Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>, String> {
    let Some(ca) = &tls.client_ca else {
        return Ok(None);
    };
    if tls.client_auth == ClientAuth::None {
        return Ok(None);
    }
    let (pem, name) = read_pem(ca, "client_ca")?;
    let mut roots = RootCertStore::empty();
    for cert in certificates(&pem, &name)? {
        roots
            .add(cert)
            .map_err(|e| format!("{name}: not a usable CA certificate ({e})"))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = match tls.client_auth {
        ClientAuth::VerifyIfGiven => builder.allow_unauthenticated(),
        _ => builder,
    };
    builder
        .build()
        .map(Some)
        .map_err(|e| format!("{name}: {e}"))
}

/// Files: reloaded when they change. Inline PEM: fixed.
fn resolver(tls: &WebTls) -> Result<Arc<dyn ResolvesServerCert>, String> {
    if let (Pem::File(cert), Pem::File(key)) = (&tls.cert, &tls.key) {
        return reloading_cert(cert, key);
    }
    let (cert, cert_name) = read_pem(&tls.cert, "cert")?;
    let (key, key_name) = read_pem(&tls.key, "key")?;
    let pair = pair_from_pem(&cert, &key, &cert_name, &key_name)?;
    Ok(Arc::new(FixedCert(Arc::new(pair))))
}

/// The PEM bytes and a name for errors (the path, or the YAML key).
fn read_pem(pem: &Pem, key: &str) -> Result<(Vec<u8>, String), String> {
    match pem {
        Pem::File(path) => Ok((read_limited(path)?, path.display().to_string())),
        Pem::Inline(text) => Ok((
            text.expose().as_bytes().to_vec(),
            format!("tls_server_config.{key}"),
        )),
    }
}

/// An inline certificate: never changes.
struct FixedCert(Arc<CertifiedKey>);

/// The key pair stays out of any `Debug` output.
impl std::fmt::Debug for FixedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedCert(..)")
    }
}

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
