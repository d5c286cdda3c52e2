//! API v2 writes: one session per miner, owning that miner's token.
//!
//! The token (the credentials derived from a `get_token` challenge) lives 30
//! minutes on the miner. A session renews it before then, and once more
//! when the miner answers "invalid token", retrying the command once.
//! Callers on one miner share a single `get_token` round trip: the cache
//! sits behind an async mutex held across the fetch, so the second caller
//! waits for the first's token instead of fetching its own. Each miner has
//! its own session, so miners never wait on each other.

use crate::client::Client;
use crate::error::{ErrorKind, MinerError};
use crate::protocol::codes::TOKEN_LIFETIME_SECS;
use crate::protocol::crypto::{Credentials, TokenChallenge};
use crate::protocol::reply;
use crate::secret::Secret;
use crate::transport::MinerAddr;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The source of "now" for token ages; tests swap in a [`ManualClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told: real time plus a settable offset.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut o) = self.offset.lock() {
            *o += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = self.offset.lock().map(|o| *o).unwrap_or_default();
        Instant::now() + offset
    }
}

struct CachedToken {
    credentials: Arc<Credentials>,
    fetched_at: Instant,
    /// Bumped on every fetch, so a caller that saw a token rejected renews
    /// only if nobody renewed it in the meantime.
    generation: u64,
}

/// Writeable v2 commands on one miner.
pub struct V2Session {
    client: Client,
    miner: MinerAddr,
    password: Secret,
    clock: Arc<dyn Clock>,
    /// Renew this long before the firmware's 30-minute expiry, so a token
    /// never dies between our check and the miner's.
    renew_margin: Duration,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    generation: std::sync::atomic::AtomicU64,
    token_fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for V2Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V2Session")
            .field("miner", &self.miner)
            .finish_non_exhaustive()
    }
}

impl V2Session {
    pub fn new(client: Client, miner: MinerAddr, password: Secret, clock: Arc<dyn Clock>) -> Self {
        V2Session {
            client,
            miner,
            password,
            clock,
            renew_margin: Duration::from_secs(120),
            cache: tokio::sync::Mutex::new(None),
            generation: Default::default(),
            token_fetches: Default::default(),
        }
    }

    pub fn miner(&self) -> &MinerAddr {
        &self.miner
    }

    /// How many `get_token` round trips this session has made.
    pub fn token_fetches(&self) -> u64 {
        self.token_fetches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs a writeable command and returns the miner's decrypted reply.
    pub async fn exec(
        &self,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, MinerError> {
        let (credentials, generation) = self.credentials(None).await?;
        match self.send(&credentials, command, params).await {
            Err(e) if e.kind == ErrorKind::InvalidToken => {
                tracing::debug!(miner = %self.miner, command, "token rejected; renewing once");
                let (fresh, _) = self.credentials(Some(generation)).await?;
                self.send(&fresh, command, params).await
            }
            other => other,
        }
    }

    /// The current credentials, fetching a token when there is none, it is
    /// near expiry, or it is the `rejected` generation.
    async fn credentials(
        &self,
        rejected: Option<u64>,
    ) -> Result<(Arc<Credentials>, u64), MinerError> {
        let mut cache = self.cache.lock().await;
        let lifetime = Duration::from_secs(TOKEN_LIFETIME_SECS).saturating_sub(self.renew_margin);
        if let Some(cached) = cache.as_ref() {
            let fresh = self
                .clock
                .now()
                .saturating_duration_since(cached.fetched_at)
                < lifetime;
            if fresh && rejected != Some(cached.generation) {
                return Ok((cached.credentials.clone(), cached.generation));
            }
        }
        let credentials = Arc::new(self.fetch_token().await?);
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        *cache = Some(CachedToken {
            credentials: credentials.clone(),
            fetched_at: self.clock.now(),
            generation,
        });
        Ok((credentials, generation))
    }

    async fn fetch_token(&self) -> Result<Credentials, MinerError> {
        self.token_fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fail = |kind| MinerError::new(self.miner.to_string(), "get_token", kind);
        let bytes = self
            .client
            .exchange_once(&self.miner, "get_token", br#"{"cmd":"get_token"}"#)
            .await?;
        let value = reply::parse_json(&bytes).map_err(fail)?;
        reply::check_status(&value).map_err(fail)?;
        let challenge = TokenChallenge::from_reply(&value).map_err(fail)?;
        Credentials::derive(&self.password, &challenge).map_err(fail)
    }

    async fn send(
        &self,
        credentials: &Credentials,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, MinerError> {
        let fail = |kind| MinerError::new(self.miner.to_string(), command, kind);
        let plaintext = credentials.plaintext_command(command, params);
        let request = credentials.envelope(&plaintext);
        let bytes = self
            .client
            .exchange_once(&self.miner, command, &request)
            .await?;
        let outer = reply::parse_json(&bytes).map_err(fail)?;
        // Errors such as a bad token or an undecryptable request come back
        // in the clear; only a processed command is encrypted.
        let value = match reply::encrypted_payload(&outer) {
            Some(payload) => {
                let plain = credentials.decrypt_reply(payload).map_err(fail)?;
                // Garbage from a wrong key is sometimes valid JSON (a lone
                // digit before a NUL); a real reply is always an object.
                match reply::parse_json(&plain) {
                    Ok(value @ Value::Object(_)) => value,
                    _ => {
                        return Err(fail(ErrorKind::Decrypt(
                            "decrypted reply is not a JSON object (wrong key?)".into(),
                        )))
                    }
                }
            }
            None => outer,
        };
        reply::check_status(&value).map_err(fail)?;
        Ok(value)
    }

    /// Forgets the cached token (the next command fetches a new one).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }
}
