//! The web config file (exporter-toolkit format): every documented key is
//! read. Its errors (unknown keys, values this exporter cannot honour) are
//! in tests/fixtures/config_errors/cases.toml.

use crate::config::web::parse_web;
use crate::settings::web::{ClientAuth, Pem, TlsVersion};
use std::path::Path;

/// A bcrypt hash from the exporter-toolkit documentation.
const HASH: &str = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";

#[test]
fn every_documented_key_is_read_and_paths_follow_the_file() {
    let text = format!(
        "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  \
         min_version: TLS13\n  max_version: TLS13\n  \
         cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n  \
         prefer_server_cipher_suites: false\n  curve_preferences: [X25519]\n\
         http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    \
         Content-Security-Policy: \"default-src 'self'\"\n    X-XSS-Protection: ''\n\
         basic_auth_users:\n  alice: {HASH}\n\
         basic_auth_excluded_paths: [/-/healthy]\n\
         rate_limit:\n  interval: 1s\n  burst: 5\n"
    );
    let c = parse_web(&text, Path::new("/etc/web/web.yml")).expect("valid");
    let tls = c.tls.expect("TLS on");
    assert_eq!(tls.cert, Pem::File("/etc/web/tls/server.crt".into()));
    assert_eq!(tls.key, Pem::File("/abs/server.key".into()));
    assert_eq!(tls.client_ca, Some(Pem::File("/etc/web/ca.pem".into())));
    assert_eq!(tls.client_auth, ClientAuth::RequireAndVerify);
    assert_eq!(
        (tls.min_version, tls.max_version),
        (TlsVersion::Tls13, TlsVersion::Tls13)
    );
    assert!(!tls.prefer_server_cipher_suites);
    assert_eq!(c.users.len(), 1);
    assert_eq!(c.auth_excluded_paths, vec!["/-/healthy".to_string()]);
    // A blank header is unset, as in the toolkit.
    assert_eq!(c.headers.len(), 2);
    assert_eq!(c.rate_limit.map(|r| r.burst), Some(5));
    // The hash is a secret.
    assert!(!format!("{:?}", c.users).contains("mDwo"));
}

#[test]
fn an_empty_file_or_empty_tls_section_means_plain_http_without_auth() {
    for text in [
        "",
        "# nothing\n",
        "tls_server_config: {}\n",
        "basic_auth_users: {}\n",
    ] {
        let c = parse_web(text, Path::new("web.yml")).expect(text);
        assert!(c.tls.is_none() && c.users.is_empty(), "{text}");
    }
}
