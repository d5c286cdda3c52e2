//! The Whatsminer API client: typed read-only commands over the plain path,
//! and writeable commands through the [`write`] path: a per-miner
//! [`WriteSession`] of either API (v2: [`V2Session`], which owns the token). Every error says which miner and which command failed.
//!
//! API v3 (2024+ firmware) has its own backend in [`v3`] returning the same
//! typed structs; [`backend`] puts both behind one signature, and
//! [`detect`] tells which API a miner speaks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), whatsminer_exporter::MinerError> {
//! use whatsminer_exporter::client::Client;
//! use whatsminer_exporter::Secret;
//! let client = Client::default();
//! let miner = "127.0.0.1:4028".parse().expect("address");
//! let summary = client.summary(&miner).await?;
//! println!("{:?} MH/s", summary.mhs_av);
//! let session = client.v2_session(miner, Secret::new("admin"));
//! session.exec("power_off", &[("respbefore", "true")].into_iter()
//!     .map(|(k, v)| (k.to_string(), v.into())).collect()).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod backend;
pub mod detect;
pub mod scan;
mod streak;
pub mod types;
pub mod v3;
pub mod write;

pub use api::{Api, ApiChoice, UnknownApi};
pub use backend::v2::dialect::{Dialect, RequestKey};
pub use backend::{Backend, Backends};
pub use detect::ProtocolDetector;
pub use v3::V3Client;
pub use write::{Clock, ManualClock, SessionPool, SystemClock, V2Session, V3Session, WriteSession};

use crate::error::{ErrorKind, MinerError};
use crate::protocol::reply;
use crate::transport::{self, Limits, MinerAddr};
use serde_json::{Map, Value};
use std::time::Duration;
use types::*;

/// How the client talks to miners. Cheap to clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    pub limits: Limits,
    /// Extra attempts for read-only commands after a retryable failure
    /// ("over max connect", reset, empty reply), within the same deadline.
    pub read_retries: u32,
    /// Pause before a retry; a busy miner needs a moment to free a slot.
    pub retry_backoff: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            limits: Limits::default(),
            read_retries: 1,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// A client for many miners. It holds no per-miner state: writeable
/// sessions live in a [`WriteSession`] or a [`SessionPool`], a miner's
/// learned dialect in the v2 backend.
#[derive(Debug, Clone, Default)]
pub struct Client {
    config: ClientConfig,
    /// The key its reads name their command under (writes keep `cmd`).
    key: RequestKey,
}

impl Client {
    pub fn new(config: ClientConfig) -> Self {
        Client {
            config,
            key: RequestKey::default(),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// This client with its reads sent under `key`.
    pub fn with_request_key(&self, key: RequestKey) -> Client {
        Client {
            config: self.config,
            key,
        }
    }

    pub fn request_key(&self) -> RequestKey {
        self.key
    }

    /// Sends a request's bytes and returns the cleaned reply bytes, retrying
    /// read-only requests on retryable failures while the deadline allows.
    async fn exchange(
        &self,
        miner: &MinerAddr,
        command: &str,
        request: &[u8],
        retry: bool,
    ) -> Result<Vec<u8>, MinerError> {
        let fail = |kind| MinerError::new(miner.to_string(), command, kind);
        let addr = miner
            .resolve_within(self.config.limits.connect_timeout)
            .await
            .map_err(fail)?;
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            let mut limits = self.config.limits;
            limits.deadline = limits.deadline.saturating_sub(started.elapsed());
            let result = transport::exchange(addr, request, &limits).await;
            let bytes = match result {
                Ok(bytes) => bytes,
                Err(kind) => return Err(fail(kind)),
            };
            // "over max connect" arrives as a JSON error; peek for it here so
            // that the retry covers it too.
            if retry && attempt < self.config.read_retries && looks_like_over_max_connect(&bytes) {
                attempt += 1;
                let remaining = self
                    .config
                    .limits
                    .deadline
                    .saturating_sub(started.elapsed());
                if remaining > self.config.retry_backoff * 2 {
                    tokio::time::sleep(self.config.retry_backoff).await;
                    continue;
                }
            }
            return Ok(bytes);
        }
    }

    /// Runs any read-only command and returns its reply as JSON after
    /// checking the miner's status. `params` are added beside the command.
    pub async fn command(
        &self,
        miner: &MinerAddr,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, MinerError> {
        let request = plain_request(self.key, command, params);
        let bytes = self.exchange(miner, command, &request, true).await?;
        let fail = |kind| MinerError::new(miner.to_string(), command, kind);
        let value = reply::parse_json(&bytes).map_err(fail)?;
        reply::check_status(&value).map_err(fail)?;
        Ok(value)
    }

    /// Runs a read-only command and returns its reply bytes unchecked: for
    /// tools that want the miner's exact answer, errors included.
    pub async fn raw(
        &self,
        miner: &MinerAddr,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Vec<u8>, MinerError> {
        let request = plain_request(self.key, command, params);
        self.exchange(miner, command, &request, true).await
    }

    /// Runs a read-only command and parses its typed reply.
    pub async fn read<T: FromReply>(&self, miner: &MinerAddr) -> Result<T, MinerError> {
        let request = plain_request(self.key, T::COMMAND, &Map::new());
        let bytes = self.exchange(miner, T::COMMAND, &request, true).await?;
        T::from_reply(&bytes).map_err(|kind| MinerError::new(miner.to_string(), T::COMMAND, kind))
    }

    pub async fn summary(&self, miner: &MinerAddr) -> Result<Summary, MinerError> {
        self.read(miner).await
    }
    pub async fn devs(&self, miner: &MinerAddr) -> Result<Devs, MinerError> {
        self.read(miner).await
    }
    pub async fn edevs(&self, miner: &MinerAddr) -> Result<Edevs, MinerError> {
        self.read(miner).await
    }
    pub async fn pools(&self, miner: &MinerAddr) -> Result<Pools, MinerError> {
        self.read(miner).await
    }
    pub async fn devdetails(&self, miner: &MinerAddr) -> Result<DevDetails, MinerError> {
        self.read(miner).await
    }
    pub async fn get_version(&self, miner: &MinerAddr) -> Result<Version, MinerError> {
        self.read(miner).await
    }
    pub async fn get_psu(&self, miner: &MinerAddr) -> Result<Psu, MinerError> {
        self.read(miner).await
    }
    pub async fn status(&self, miner: &MinerAddr) -> Result<MinerStatus, MinerError> {
        self.read(miner).await
    }
    pub async fn get_error_code(&self, miner: &MinerAddr) -> Result<ErrorCodes, MinerError> {
        self.read(miner).await
    }

    /// `get_miner_info` with the full field list (ip, proto, netmask,
    /// gateway, dns, hostname, mac, ledstat).
    pub async fn get_miner_info(&self, miner: &MinerAddr) -> Result<MinerInfo, MinerError> {
        let mut params = Map::new();
        params.insert(
            "info".into(),
            Value::from("ip,proto,netmask,gateway,dns,hostname,mac,ledstat"),
        );
        let request = plain_request(self.key, MinerInfo::COMMAND, &params);
        let bytes = self
            .exchange(miner, MinerInfo::COMMAND, &request, true)
            .await?;
        MinerInfo::from_reply(&bytes)
            .map_err(|kind| MinerError::new(miner.to_string(), MinerInfo::COMMAND, kind))
    }

    /// A writeable session for one miner, with its own token cache.
    pub fn v2_session(&self, miner: MinerAddr, password: crate::secret::Secret) -> V2Session {
        V2Session::new(
            self.clone(),
            miner,
            password,
            std::sync::Arc::new(SystemClock),
        )
    }

    /// Sends an already-built read request (a joined read), retried as
    /// every read.
    pub(crate) async fn exchange_read(
        &self,
        miner: &MinerAddr,
        command: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, MinerError> {
        self.exchange(miner, command, request, true).await
    }

    /// Sends already-built bytes once, without retry: the writeable path
    /// must not repeat a command whose outcome is unknown.
    pub(crate) async fn exchange_once(
        &self,
        miner: &MinerAddr,
        command: &str,
        request: &[u8],
    ) -> Result<Vec<u8>, MinerError> {
        self.exchange(miner, command, request, false).await
    }
}

/// `{"<key>":"<command>", <params>}` as bytes; a parameter named like
/// either key is left out.
pub fn plain_request(key: RequestKey, command: &str, params: &Map<String, Value>) -> Vec<u8> {
    let mut obj = Map::with_capacity(params.len() + 1);
    obj.insert(key.as_str().into(), Value::from(command));
    for (k, v) in params {
        if k != RequestKey::Command.as_str() && k != RequestKey::Cmd.as_str() {
            obj.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&Value::Object(obj)).unwrap_or_else(|_| b"{}".to_vec())
}

/// Whether a failure is the miner being busy or flaky rather than down.
pub fn is_transient(e: &MinerError) -> bool {
    matches!(e.kind, ErrorKind::OverMaxConnect) || e.kind.is_retryable()
}

/// A cheap check for the busy miner's "over max connect" error, without a
/// JSON parse: such replies are short, and the hot path must stay cheap.
fn looks_like_over_max_connect(bytes: &[u8]) -> bool {
    const NEEDLE: &[u8] = crate::protocol::codes::OVER_MAX_CONNECT_MSG.as_bytes();
    bytes.len() < 512
        && bytes
            .windows(NEEDLE.len())
            .any(|w| w.eq_ignore_ascii_case(NEEDLE))
}
