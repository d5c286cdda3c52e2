//! The API v3 backend of the client: the same typed structs as v2
//! ([`Summary`], [`Devs`], [`Pools`], [`Version`], ...) read over the v3
//! framed protocol on port 4433, with units converted (see [`convert`]).
//!
//! - Fast path: [`V3Client::fast`] asks `get.miner.status` for
//!   `summary+pools+edevs` in one round trip.
//! - Slow path: [`V3Client::slow`] reads `get.device.info` (all sections)
//!   and `get.miner.setting` at once.
//! - Writes: [`crate::client::write::V3Session`] (salt cache, per-write
//!   token), in the write path.
//!
//! Every method takes the miner's **v3 address** (port 4433 unless
//! configured otherwise; see [`crate::client::detect::v3_addr`]).

pub mod convert;

use serde_json::Value;
use tokio::time::Instant;

use super::backend::SlowData;
use super::types::{
    DevDetails, Devs, ErrorCodes, MinerInfo, MinerStatus, Pools, Psu, Summary, Version,
};
use super::ClientConfig;
use crate::error::{ErrorKind, MinerError};
use crate::protocol::v3::reply::{error_for_code, is_no_permission};
use crate::protocol::v3::request::{device_info_request, miner_status_request, read_request};
use crate::protocol::v3::{
    parse_reply, DeviceInfo, DeviceInfoSection, MinerSetting, Reply, StatusSection, V3Status,
};
use crate::transport::v3::exchange_v3;
use crate::transport::MinerAddr;

/// The command names the v3 reads use (also the `command` of their errors).
pub const MINER_STATUS: &str = "get.miner.status";
pub const DEVICE_INFO: &str = "get.device.info";
pub const MINER_SETTING: &str = "get.miner.setting";

/// What one `get.miner.status` `summary+pools+edevs` gives, as v2 structs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FastData {
    pub summary: Summary,
    /// Empty when the miner sent no `edevs`.
    pub devs: Devs,
    /// Empty when the miner sent no `pools` (a stopped miner leaves them out).
    pub pools: Pools,
}

/// Reads over API v3. Cheap to clone; holds no per-miner state.
#[derive(Debug, Clone, Copy, Default)]
pub struct V3Client {
    config: ClientConfig,
}

impl V3Client {
    pub fn new(config: ClientConfig) -> Self {
        V3Client { config }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends one request frame and parses the reply envelope. `retry`
    /// allows repeats on retryable failures (reads only: a write whose
    /// outcome is unknown is never sent twice). A non-zero code is an
    /// error: `-4` is [`ErrorKind::PermissionDenied`], others
    /// [`ErrorKind::Miner`]. The request bytes may hold a token: never
    /// logged.
    pub async fn request(
        &self,
        miner: &MinerAddr,
        command: &str,
        request: &[u8],
        retry: bool,
    ) -> Result<Reply, MinerError> {
        let fail = |kind| MinerError::new(miner.to_string(), command, kind);
        let bytes = self.exchange(miner, command, request, retry).await?;
        let reply = parse_reply(&bytes).map_err(fail)?;
        if reply.is_ok() {
            Ok(reply)
        } else {
            Err(fail(code_error(reply.code, &reply.msg)))
        }
    }

    /// A read command's reply payload as received (framing removed), even
    /// an error reply: for `query --raw`.
    pub async fn raw(
        &self,
        miner: &MinerAddr,
        command: &str,
        param: Option<&Value>,
    ) -> Result<Vec<u8>, MinerError> {
        self.exchange(miner, command, &read_request(command, param), true)
            .await
    }

    /// One framed exchange, retried as [`V3Client::request`] says.
    async fn exchange(
        &self,
        miner: &MinerAddr,
        command: &str,
        request: &[u8],
        retry: bool,
    ) -> Result<Vec<u8>, MinerError> {
        let fail = |kind| MinerError::new(miner.to_string(), command, kind);
        let limits = self.config.limits;
        let addr = miner
            .resolve_within(limits.connect_timeout)
            .await
            .map_err(fail)?;
        let started = Instant::now();
        let mut attempt = 0;
        let bytes = loop {
            let remaining = limits.deadline.saturating_sub(started.elapsed());
            let result = exchange_v3(
                addr,
                request,
                limits.connect_timeout,
                remaining,
                limits.max_reply_bytes,
            )
            .await;
            match result {
                Ok(bytes) => break bytes,
                Err(kind)
                    if retry
                        && kind.is_retryable()
                        && attempt < self.config.read_retries
                        && limits.deadline.saturating_sub(started.elapsed())
                            > self.config.retry_backoff * 2 =>
                {
                    attempt += 1;
                    tokio::time::sleep(self.config.retry_backoff).await;
                }
                Err(kind) => return Err(fail(kind)),
            }
        };
        Ok(bytes)
    }

    /// A read command's `msg`.
    pub async fn read(
        &self,
        miner: &MinerAddr,
        command: &str,
        param: Option<&Value>,
    ) -> Result<Value, MinerError> {
        let request = read_request(command, param);
        Ok(self.request(miner, command, &request, true).await?.msg)
    }

    /// `get.miner.status` `summary+pools+edevs`, as v3 data.
    pub async fn miner_status(&self, miner: &MinerAddr) -> Result<V3Status, MinerError> {
        let request = miner_status_request(&[
            StatusSection::Summary,
            StatusSection::Pools,
            StatusSection::Edevs,
        ]);
        let reply = self.request(miner, MINER_STATUS, &request, true).await?;
        V3Status::from_msg(&reply.msg)
            .map_err(|kind| MinerError::new(miner.to_string(), MINER_STATUS, kind))
    }

    /// The fast path: summary, boards and pools in one round trip. A reply
    /// without `summary` is an error (nothing to report the miner up on).
    pub async fn fast(&self, miner: &MinerAddr) -> Result<FastData, MinerError> {
        let status = self.miner_status(miner).await?;
        let Some(summary) = status.summary.as_ref() else {
            return Err(MinerError::new(
                miner.to_string(),
                MINER_STATUS,
                ErrorKind::UnexpectedShape("get.miner.status reply has no summary".into()),
            ));
        };
        Ok(FastData {
            summary: convert::summary(summary),
            devs: convert::boards(status.edevs.as_deref().unwrap_or_default(), Some(summary)),
            pools: convert::pools(status.pools.as_deref().unwrap_or_default()),
        })
    }

    /// `get.device.info`, all sections (`None`) or one.
    pub async fn device_info(
        &self,
        miner: &MinerAddr,
        section: Option<DeviceInfoSection>,
    ) -> Result<DeviceInfo, MinerError> {
        let reply = self
            .request(miner, DEVICE_INFO, &device_info_request(section), true)
            .await?;
        DeviceInfo::from_msg(&reply.msg)
            .map_err(|kind| MinerError::new(miner.to_string(), DEVICE_INFO, kind))
    }

    pub async fn miner_setting(&self, miner: &MinerAddr) -> Result<MinerSetting, MinerError> {
        let msg = self.read(miner, MINER_SETTING, None).await?;
        MinerSetting::from_msg(&msg)
            .map_err(|kind| MinerError::new(miner.to_string(), MINER_SETTING, kind))
    }

    /// The slow path: `get.device.info` and `get.miner.setting` at once,
    /// mapped onto the v2 slow structs. Never fails: what failed is `None`.
    pub async fn slow(&self, miner: &MinerAddr) -> SlowData {
        let (info, setting) =
            tokio::join!(self.device_info(miner, None), self.miner_setting(miner));
        let command_ok = vec![
            (DEVICE_INFO, info.is_ok()),
            (MINER_SETTING, setting.is_ok()),
        ];
        let setting = setting.ok();
        match info {
            Ok(info) => SlowData {
                version: convert::version(&info),
                devdetails: convert::devdetails(&info),
                psu: convert::psu(&info),
                error_codes: Some(convert::error_codes(&info)),
                status: convert::miner_status(&info, setting.as_ref()),
                miner_info: convert::miner_info(&info),
                command_ok,
            },
            Err(_) => SlowData {
                status: convert::miner_status(&DeviceInfo::default(), setting.as_ref()),
                command_ok,
                ..SlowData::default()
            },
        }
    }

    // One round trip per call, for tools; the collector uses `fast`/`slow`.

    pub async fn summary(&self, miner: &MinerAddr) -> Result<Summary, MinerError> {
        Ok(self.fast(miner).await?.summary)
    }
    pub async fn devs(&self, miner: &MinerAddr) -> Result<Devs, MinerError> {
        Ok(self.fast(miner).await?.devs)
    }
    pub async fn pools(&self, miner: &MinerAddr) -> Result<Pools, MinerError> {
        Ok(self.fast(miner).await?.pools)
    }
    pub async fn get_version(&self, miner: &MinerAddr) -> Result<Version, MinerError> {
        let info = self
            .device_info(miner, Some(DeviceInfoSection::System))
            .await?;
        convert::version(&info).ok_or_else(|| missing(miner, "system"))
    }
    pub async fn get_psu(&self, miner: &MinerAddr) -> Result<Psu, MinerError> {
        let info = self
            .device_info(miner, Some(DeviceInfoSection::Power))
            .await?;
        convert::psu(&info).ok_or_else(|| missing(miner, "power"))
    }
    pub async fn devdetails(&self, miner: &MinerAddr) -> Result<DevDetails, MinerError> {
        let info = self
            .device_info(miner, Some(DeviceInfoSection::Miner))
            .await?;
        convert::devdetails(&info).ok_or_else(|| missing(miner, "miner"))
    }
    pub async fn status(&self, miner: &MinerAddr) -> Result<MinerStatus, MinerError> {
        let info = self.device_info(miner, None).await?;
        let setting = self.miner_setting(miner).await.ok();
        convert::miner_status(&info, setting.as_ref()).ok_or_else(|| missing(miner, "miner"))
    }
    pub async fn get_error_code(&self, miner: &MinerAddr) -> Result<ErrorCodes, MinerError> {
        let info = self
            .device_info(miner, Some(DeviceInfoSection::ErrorCode))
            .await?;
        Ok(convert::error_codes(&info))
    }
    pub async fn get_miner_info(&self, miner: &MinerAddr) -> Result<MinerInfo, MinerError> {
        let info = self.device_info(miner, None).await?;
        convert::miner_info(&info).ok_or_else(|| missing(miner, "network"))
    }
}

impl super::Client {
    /// The API v3 reads with this client's limits and retry policy.
    pub fn v3(&self) -> V3Client {
        V3Client::new(*self.config())
    }
}

/// The error of a non-zero v3 code; `-4` gets its own kind so that callers
/// and the `reason` label tell "no permission" from other refusals.
pub fn code_error(code: i64, msg: &Value) -> ErrorKind {
    let kind = error_for_code(code, msg);
    if is_no_permission(&kind) {
        ErrorKind::PermissionDenied
    } else {
        kind
    }
}

fn missing(miner: &MinerAddr, section: &str) -> MinerError {
    MinerError::new(
        miner.to_string(),
        DEVICE_INFO,
        ErrorKind::UnexpectedShape(format!("get.device.info reply has no {section} section")),
    )
}
