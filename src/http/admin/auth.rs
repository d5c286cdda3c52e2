//! Bearer-token authentication of the admin API. The expected token is kept
//! only as a SHA-256 digest, and the request's token is hashed the same way
//! and compared in constant time, so neither the content nor the length of
//! the token leaks through timing.

use crate::secret::Secret;
use hyper::header::{HeaderMap, AUTHORIZATION};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The token a request must present.
#[derive(Clone)]
pub struct TokenCheck {
    digest: [u8; 32],
}

impl std::fmt::Debug for TokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCheck(***)")
    }
}

/// Why a request was not authenticated (for the log; the client only
/// ever sees a plain 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    WrongToken,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing_credentials",
            AuthFailure::Malformed => "malformed_credentials",
            AuthFailure::WrongToken => "wrong_token",
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl TokenCheck {
    pub fn new(token: &Secret) -> Self {
        TokenCheck {
            digest: digest(token.expose().as_bytes()),
        }
    }

    /// Accepts exactly one `Authorization: Bearer <token>` header carrying
    /// the configured token.
    pub fn verify(&self, headers: &HeaderMap) -> Result<(), AuthFailure> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let value = values.next().ok_or(AuthFailure::Missing)?;
        if values.next().is_some() {
            return Err(AuthFailure::Malformed);
        }
        let bytes = value.as_bytes();
        // RFC 7235: the scheme is case-insensitive; one space before the token.
        const SCHEME: &[u8] = b"bearer ";
        let token = match bytes.split_at_checked(SCHEME.len()) {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case(SCHEME) => token,
            _ => return Err(AuthFailure::Malformed),
        };
        if token.is_empty() || token.iter().any(|b| b.is_ascii_whitespace()) {
            return Err(AuthFailure::Malformed);
        }
        if bool::from(digest(token).ct_eq(&self.digest)) {
            Ok(())
        } else {
            Err(AuthFailure::WrongToken)
        }
    }
}

/// Lets through at most one auth-failure log line per interval, so that a
/// flood of bad requests cannot flood the log; the metric counts them all.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl LogLimiter {
    pub fn new(interval: Duration) -> Self {
        LogLimiter {
            interval,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be written now, `n` being how many were
    /// suppressed since the last one.
    pub fn allow(&self, now: Instant) -> Option<u64> {
        let Ok(mut last) = self.last.lock() else {
            return None;
        };
        match *last {
            Some(at) if now.saturating_duration_since(at) < self.interval => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_bytes(v).expect("header"));
        }
        h
    }

    #[test]
    fn accepts_only_the_exact_bearer_token() {
        let check = TokenCheck::new(&Secret::new("s3cret-token"));
        assert_eq!(check.verify(&headers(&[b"Bearer s3cret-token"])), Ok(()));
        assert_eq!(check.verify(&headers(&[b"bearer s3cret-token"])), Ok(()));
        assert_eq!(check.verify(&headers(&[])), Err(AuthFailure::Missing));
        let wrong: [&[u8]; 4] = [
            b"Bearer s3cret-toke",
            b"Bearer s3cret-token2",
            b"Bearer S3CRET-TOKEN",
            b"Bearer \xffs3cret-token",
        ];
        for v in wrong {
            assert_eq!(check.verify(&headers(&[v])), Err(AuthFailure::WrongToken));
        }
        let malformed: [&[u8]; 6] = [
            b"Basic czNjcmV0LXRva2Vu",
            b"Bearer",
            b"Bearer ",
            b"Bearer  s3cret-token",
            b"s3cret-token",
            b"Bearer s3cret token",
        ];
        for v in malformed {
            assert_eq!(
                check.verify(&headers(&[v])),
                Err(AuthFailure::Malformed),
                "{v:?}"
            );
        }
        let twice = headers(&[b"Bearer s3cret-token", b"Bearer s3cret-token"]);
        assert_eq!(check.verify(&twice), Err(AuthFailure::Malformed));
        assert_eq!(format!("{check:?}"), "TokenCheck(***)");
    }

    #[test]
    fn log_limiter_suppresses_bursts() {
        let l = LogLimiter::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(l.allow(t0), Some(0));
        assert_eq!(l.allow(t0 + Duration::from_millis(10)), None);
        assert_eq!(l.allow(t0 + Duration::from_millis(20)), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(1)), Some(2));
    }
}
