//! The metrics listener's web configuration (the exporter-toolkit's web
//! config file: TLS, basic auth, headers, rate limit), as settings: checked
//! and ready to use. `config::web` parses the file into these; `http` reads
//! only these, and re-reads the file through the [`WebLoader`] the config
//! side put in, so that `http` never imports `config`.

use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The validated web configuration. Hashes and inline keys are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// The file it came from (re-read when it changes).
    pub source: PathBuf,
    /// Reads `source` again.
    pub loader: WebLoader,
    /// `None`: plain HTTP.
    pub tls: Option<WebTls>,
    /// User name → bcrypt hash. Empty: no basic authentication.
    pub users: BTreeMap<String, Secret>,
    /// Paths served without basic authentication (exact match).
    pub auth_excluded_paths: Vec<String>,
    /// Extra response headers, names as the toolkit spells them.
    pub headers: Vec<(String, String)>,
    pub rate_limit: Option<RateLimit>,
}

/// `tls_server_config`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebTls {
    pub cert: Pem,
    pub key: Pem,
    pub client_auth: ClientAuth,
    /// Required by the client auth types that verify certificates.
    pub client_ca: Option<Pem>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// TLS 1.2 suites by IANA name; empty: the library's defaults.
    pub cipher_suites: Vec<String>,
    pub prefer_server_cipher_suites: bool,
    /// Key exchange groups by the toolkit's names; empty: the defaults.
    pub curve_preferences: Vec<String>,
}

/// PEM data, in a file (re-read when it changes) or inline in the YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    File(PathBuf),
    Inline(Secret),
}

/// `client_auth_type`: the toolkit's (Go's) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `NoClientCert` (the default).
    None,
    /// `VerifyClientCertIfGiven`: a certificate is optional, but verified.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`.
    RequireAndVerify,
}

/// A TLS protocol version; 1.0 and 1.1 are read but never offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// `rate_limit`: a token bucket over all requests of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// One token per interval.
    pub interval: Duration,
    pub burst: u32,
}

/// Reads the web config file at a path again (parsing is the config side's).
#[derive(Clone, Copy)]
pub struct WebLoader(pub fn(&Path) -> Result<WebConfig, String>);

impl WebLoader {
    pub fn load(&self, path: &Path) -> Result<WebConfig, String> {
        (self.0)(path)
    }
}

/// Not part of the value: two configurations read from the same text are
/// equal whichever function read them.
impl PartialEq for WebLoader {
    fn eq(&self, _: &WebLoader) -> bool {
        true
    }
}

impl Eq for WebLoader {}

impl std::fmt::Debug for WebLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebLoader")
    }
}
