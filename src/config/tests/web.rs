//! The web config file (exporter-toolkit format): every documented key is
//! read, any other key is an error naming it, and values this exporter
//! cannot honour are refused with a reason instead of being ignored.

use crate::config::web::{parse_web, ClientAuth, Pem, TlsVersion};
use std::path::Path;

/// A bcrypt hash from the exporter-toolkit documentation.
const HASH: &str = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";

fn error_of(text: &str) -> String {
    match parse_web(text, Path::new("/etc/web.yml")) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

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

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let e = error_of("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n");
    assert!(e.contains("certfile"), "{e}");
    assert!(e.starts_with("/etc/web.yml:4:"), "{e}");
    let e = error_of("basic_auth_user:\n  alice: x\n");
    assert!(e.contains("basic_auth_user"), "{e}");
    let e = error_of("http_server_config:\n  header: {}\n");
    assert!(e.contains("header"), "{e}");
}

#[test]
fn wrong_values_are_refused_with_the_reason() {
    let cases = [
        ("basic_auth_users:\n  alice: plain-password\n", "not a bcrypt hash"),
        ("tls_server_config:\n  cert_file: a\n", "missing one of key or key_file"),
        (
            "tls_server_config:\n  cert_file: a\n  cert: x\n  key_file: b\n",
            "either cert or cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
            "without verification",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
            "without a client auth policy",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS11\n",
            "TLS 1.2 and 1.3",
        ),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: SSL3\n",
            "unknown TLS version",
        ),
        ("http_server_config:\n  headers:\n    Server: x\n", "cannot be set"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "deny, sameorigin"),
        ("rate_limit:\n  interval: 1s\n", "at least 1"),
    ];
    for (text, want) in cases {
        let e = error_of(text);
        assert!(e.contains(want), "{text}: {e}");
        assert!(!e.contains("plain-password"), "quotes the secret: {e}");
    }
}
