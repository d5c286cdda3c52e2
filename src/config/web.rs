//! Parsing of the web configuration file of the metrics listener
//! (`--web.config.file`, `[server] web_config_file`), in the format of the
//! Prometheus exporter-toolkit that node_exporter and blackbox_exporter read:
//! `tls_server_config`, `http_server_config`, `basic_auth_users`,
//! `basic_auth_excluded_paths` and `rate_limit`. One YAML file can serve all
//! of an operator's exporters.
//!
//! Every key the toolkit documents is known; any other key is an error that
//! names it. Values this exporter cannot honour (TLS 1.0/1.1 as the only
//! versions, cipher suites and curves rustls does not implement, client
//! certificates accepted without verification) are refused here, at start,
//! with a message that says why, instead of being silently ignored.
//! Relative paths are taken from the web config file's folder, as the
//! toolkit does. The parsed model is [`crate::settings::web`].

use super::{read_text_file, ConfigError, ConfigErrorKind, Place};
use crate::secret::Secret;
use crate::settings::web::WebConfig;
use crate::settings::web::{ClientAuth, Pem, RateLimit, TlsVersion, WebLoader, WebTls};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The headers the toolkit lets an operator set, with their allowed values
/// (empty: any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    basic_auth_excluded_paths: Option<Vec<String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Accepted for compatibility: this exporter serves HTTP/1.1 only.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<u32>,
}

/// Reads and checks the web config file at `path`.
pub fn load_web(path: &Path) -> Result<WebConfig, ConfigError> {
    let text = read_text_file(path).map_err(|kind| ConfigError::new(Place::file(path), kind))?;
    parse_web(&text, path)
}

/// Parses web config text; `source` names the file and anchors relative paths.
pub fn parse_web(text: &str, source: &Path) -> Result<WebConfig, ConfigError> {
    let err = |field: &str, message: String| {
        ConfigError::new(
            Place::file(source).with_field(field),
            ConfigErrorKind::Invalid(message),
        )
    };
    // An empty file (or one of comments only) is valid: plain HTTP, no auth.
    let raw: RawWeb = if text.trim().is_empty() || is_all_comments(text) {
        RawWeb::default()
    } else {
        serde_yaml::from_str(text).map_err(|e| {
            let mut place = Place::file(source);
            if let Some(loc) = e.location() {
                place = place.with_line(loc.line());
                place.column = Some(loc.column());
            }
            // Secrets (hashes, inline keys) are strings where strings are
            // expected, so a type error never quotes one.
            ConfigError::new(place, ConfigErrorKind::Syntax(e.to_string()))
        })?
    };
    let base = source.parent().unwrap_or(Path::new(""));
    let tls = match raw.tls_server_config {
        Some(raw_tls) => tls(raw_tls, base, &err)?,
        None => None,
    };
    let mut users = BTreeMap::new();
    for (user, hash) in raw.basic_auth_users.unwrap_or_default() {
        let field = format!("basic_auth_users.{user}");
        if user.contains(':') {
            return Err(err(&field, "a user name cannot contain ':'".into()));
        }
        hash.parse::<bcrypt::HashParts>().map_err(|_| {
            err(
                &field,
                "not a bcrypt hash (expected $2a$, $2b$ or $2y$, e.g. from `htpasswd -nBC 10 \"\"`)"
                    .into(),
            )
        })?;
        users.insert(user, Secret::new(hash));
    }
    let mut headers = Vec::new();
    let raw_headers = raw.http_server_config.and_then(|h| h.headers);
    for (name, value) in raw_headers.unwrap_or_default() {
        let field = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(err(
                &field,
                format!("this header cannot be set; allowed: {}", names.join(", ")),
            ));
        };
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(err(
                &field,
                format!("must be one of {}", allowed.join(", ")),
            ));
        }
        if value.is_empty() {
            continue; // the toolkit's "unset if blank"
        }
        if hyper::header::HeaderValue::from_str(&value).is_err() {
            return Err(err(&field, "not a valid header value".into()));
        }
        headers.push((name, value));
    }
    let rate_limit = match raw.rate_limit {
        None => None,
        Some(r) => {
            let interval = match r.interval.as_deref() {
                None => Duration::ZERO,
                Some(s) if s.trim() == "0" => Duration::ZERO,
                Some(s) => {
                    super::values::parse_duration(s).map_err(|e| err("rate_limit.interval", e))?
                }
            };
            let burst = r.burst.unwrap_or(0);
            if interval.is_zero() {
                None // the toolkit's "set to 0 to disable"
            } else if burst == 0 {
                return Err(err("rate_limit.burst", "must be at least 1".into()));
            } else {
                Some(RateLimit { interval, burst })
            }
        }
    };
    Ok(WebConfig {
        source: source.to_path_buf(),
        loader: WebLoader(reload),
        tls,
        users,
        auth_excluded_paths: raw.basic_auth_excluded_paths.unwrap_or_default(),
        headers,
        rate_limit,
    })
}

/// How `http` reads the file again when it changes.
fn reload(path: &Path) -> Result<WebConfig, String> {
    load_web(path).map_err(|e| e.to_string())
}

fn is_all_comments(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---")
}

type ErrFn<'a> = dyn Fn(&str, String) -> ConfigError + 'a;

/// `tls_server_config`; `None` when it sets nothing (the toolkit then
/// serves plain HTTP).
fn tls(raw: RawTls, base: &Path, err: &ErrFn<'_>) -> Result<Option<WebTls>, ConfigError> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let (cert, cert_file) = (nonempty(raw.cert), nonempty(raw.cert_file));
    let (key, key_file) = (nonempty(raw.key), nonempty(raw.key_file));
    let (ca, ca_file) = (nonempty(raw.client_ca), nonempty(raw.client_ca_file));
    let auth_text = nonempty(raw.client_auth_type);
    let enabled = cert.is_some()
        || cert_file.is_some()
        || key.is_some()
        || key_file.is_some()
        || ca.is_some()
        || ca_file.is_some()
        || auth_text.is_some();
    if !enabled {
        return Ok(None);
    }
    let pem = |inline: Option<String>, file: Option<String>, field: &str| match (inline, file) {
        (Some(_), Some(_)) => Err(err(
            &format!("tls_server_config.{field}"),
            format!("give either {field} or {field}_file, not both"),
        )),
        (Some(text), None) => Ok(Some(Pem::Inline(Secret::new(text)))),
        (None, Some(path)) => Ok(Some(Pem::File(base.join(path)))),
        (None, None) => Ok(None),
    };
    let cert = pem(cert, cert_file, "cert")?.ok_or_else(|| {
        err(
            "tls_server_config",
            "missing one of cert or cert_file".into(),
        )
    })?;
    let key = pem(key, key_file, "key")?
        .ok_or_else(|| err("tls_server_config", "missing one of key or key_file".into()))?;
    let client_ca = pem(ca, ca_file, "client_ca")?;
    let field = "tls_server_config.client_auth_type";
    let client_auth = match auth_text.as_deref().unwrap_or("NoClientCert") {
        "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        "RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert" => {
            return Err(err(
                field,
                "client certificates accepted without verification are not supported; \
                 use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"
                    .into(),
            ))
        }
        other => {
            return Err(err(
                field,
                format!(
                    "unknown value {:?}; expected NoClientCert, VerifyClientCertIfGiven or \
                     RequireAndVerifyClientCert",
                    crate::error::truncate_for_log(other, 40)
                ),
            ))
        }
    };
    match (client_auth, &client_ca) {
        (ClientAuth::None, Some(_)) => {
            return Err(err(
                field,
                "client CA's have been configured without a client auth policy".into(),
            ))
        }
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, None) => {
            return Err(err(
                field,
                "verifying client certificates needs client_ca_file (or client_ca)".into(),
            ))
        }
        _ => {}
    }
    if raw.client_allowed_sans.is_some_and(|s| !s.is_empty()) {
        return Err(err(
            "tls_server_config.client_allowed_sans",
            "not supported by this exporter; issue client certificates from a dedicated CA instead"
                .into(),
        ));
    }
    let version = |v: Option<String>, field: &str, default: TlsVersion| match v.as_deref() {
        None | Some("") => Ok(default),
        Some("TLS10") => Ok(TlsVersion::Tls10),
        Some("TLS11") => Ok(TlsVersion::Tls11),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(other) => Err(err(
            &format!("tls_server_config.{field}"),
            format!(
                "unknown TLS version {:?}; expected TLS10, TLS11, TLS12 or TLS13",
                crate::error::truncate_for_log(other, 20)
            ),
        )),
    };
    let min_version = version(raw.min_version, "min_version", TlsVersion::Tls12)?;
    let max_version = version(raw.max_version, "max_version", TlsVersion::Tls13)?;
    if max_version < TlsVersion::Tls12 || min_version > max_version {
        return Err(err(
            "tls_server_config.max_version",
            "the versions leave nothing this exporter offers (TLS 1.2 and 1.3)".into(),
        ));
    }
    Ok(Some(WebTls {
        cert,
        key,
        client_auth,
        client_ca,
        min_version,
        max_version,
        cipher_suites: raw.cipher_suites.unwrap_or_default(),
        prefer_server_cipher_suites: raw.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences: raw.curve_preferences.unwrap_or_default(),
    }))
}
