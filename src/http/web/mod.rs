//! The metrics listener's web configuration at run time (exporter-toolkit
//! format, [`crate::settings::web`]): basic authentication with bcrypt
//! hashes, extra response headers and a request rate limit; `tls` builds
//! the listener's TLS.
//!
//! Authentication runs before routing, so a request with wrong credentials
//! gets 401 and never reaches a miner. bcrypt is slow on purpose (about
//! 50-100 ms at cost 10), so checks run one at a time on the blocking pool
//! and each (user, hash, password) outcome is cached, as the toolkit does;
//! an unknown user is checked against a fixed hash so that the answer time
//! does not tell which users exist.
//!
//! The file is read again when it changes (one `stat` per request): users,
//! excluded paths, headers and the rate limit apply at once. TLS settings
//! other than the certificate and key file contents take a restart; a
//! changed file whose TLS section differs says so in one warning, and a
//! file that no longer loads keeps the previous settings with one warning.

pub mod tls;

use super::server::{text, Body};
use crate::files::{self, FileStamp};
use crate::settings::web::WebConfig;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// bcrypt of a random password at the toolkit's cost (10), made once,
/// checked for unknown users.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// Outcomes remembered; the map is emptied when full, so a client trying
/// many passwords cannot grow it.
const MAX_CACHED: usize = 1024;

/// The web configuration in force, and the state behind it.
pub struct WebGuard {
    current: Mutex<Current>,
    /// bcrypt checks one at a time: they are CPU-bound by design.
    bcrypt: tokio::sync::Mutex<()>,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    bucket: Mutex<Bucket>,
}

/// Users and hashes stay out of `Debug`.
impl std::fmt::Debug for WebGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebGuard").finish_non_exhaustive()
    }
}

struct Current {
    stamp: Option<FileStamp>,
    config: Arc<WebConfig>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl WebGuard {
    pub fn new(config: WebConfig) -> Arc<WebGuard> {
        let burst = config.rate_limit.map_or(0.0, |r| f64::from(r.burst));
        Arc::new(WebGuard {
            current: Mutex::new(Current {
                stamp: files::stamp(&config.source),
                config: Arc::new(config),
            }),
            bcrypt: tokio::sync::Mutex::new(()),
            cache: Mutex::new(HashMap::new()),
            bucket: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        })
    }

    /// The configuration in force, read again if its file changed.
    pub fn config(&self) -> Arc<WebConfig> {
        let Ok(mut current) = self.current.lock() else {
            // A panic elsewhere poisoned the lock: deny rather than serve open.
            return Arc::new(deny_all());
        };
        let now = files::stamp(&current.config.source);
        if now != current.stamp {
            current.stamp = now;
            match current.config.loader.load(&current.config.source) {
                Ok(new) => {
                    if new.tls != current.config.tls {
                        tracing::warn!(file = %new.source.display(), "web config: tls_server_config changed; TLS settings other than the certificate and key files take effect at restart");
                    }
                    let tls = current.config.tls.clone();
                    current.config = Arc::new(WebConfig { tls, ..new });
                    tracing::info!(file = %current.config.source.display(), "web config reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "web config changed but does not load; keeping the previous settings");
                }
            }
        }
        current.config.clone()
    }

    /// `Ok` when the request may be routed; otherwise the answer (401 or 429).
    pub async fn admit(&self, path: &str, headers: &HeaderMap) -> Result<(), Response<Body>> {
        let config = self.config();
        if let Some(limit) = config.rate_limit {
            if !self.take_token(limit.interval.as_secs_f64(), f64::from(limit.burst)) {
                return Err(text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n"));
            }
        }
        if config.users.is_empty() || config.auth_excluded_paths.iter().any(|p| p == path) {
            return Ok(());
        }
        if let Some((user, pass)) = basic_credentials(headers) {
            if self.check(&config, &user, &pass).await {
                return Ok(());
            }
        }
        let mut resp = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
        resp.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        Err(resp)
    }

    /// Adds the configured headers to a response.
    pub fn decorate(&self, resp: &mut Response<Body>) {
        let config = self.config();
        for (name, value) in &config.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                resp.headers_mut().insert(name, value);
            }
        }
    }

    async fn check(&self, config: &WebConfig, user: &str, pass: &str) -> bool {
        let known = config.users.get(user).map(|h| h.expose().to_string());
        let key: [u8; 32] = {
            let mut d = Sha256::new();
            for part in [user, known.as_deref().unwrap_or(""), pass] {
                d.update((part.len() as u64).to_le_bytes());
                d.update(part.as_bytes());
            }
            d.finalize().into()
        };
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).copied());
        if let Some(ok) = cached {
            return ok;
        }
        let _one_at_a_time = self.bcrypt.lock().await;
        let pass = pass.to_string();
        let is_known = known.is_some();
        let matched = tokio::task::spawn_blocking(move || {
            let hash = known.unwrap_or_else(|| {
                DUMMY_HASH
                    .get_or_init(|| {
                        let random: [u8; 16] = rand::random();
                        bcrypt::hash(random, 10).unwrap_or_default()
                    })
                    .clone()
            });
            bcrypt::verify(pass, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let ok = matched && is_known;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(key, ok);
        }
        ok
    }

    /// Token bucket: `burst` tokens, one more every `interval` seconds.
    fn take_token(&self, interval: f64, burst: f64) -> bool {
        let Ok(mut b) = self.bucket.lock() else {
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() / interval;
        b.tokens = (b.tokens + refill).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A configuration that lets nobody in (used only if a lock is poisoned).
fn deny_all() -> WebConfig {
    let mut users = std::collections::BTreeMap::new();
    users.insert(String::new(), crate::secret::Secret::new("!"));
    WebConfig {
        source: std::path::PathBuf::new(),
        loader: crate::settings::web::WebLoader(|_| Err("no web config file".into())),
        tls: None,
        users,
        auth_excluded_paths: Vec::new(),
        headers: Vec::new(),
        rate_limit: None,
    }
}

/// User and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

#[cfg(test)]
mod tests;
