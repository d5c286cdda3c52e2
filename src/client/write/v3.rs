//! API v3 writes on one miner: the analogue of the v2 [`super::V2Session`].
//!
//! Each write carries its own token, `SHA-256(cmd + password + salt + ts)`
//! cut to 8 base64 characters (`protocol::v3::auth`), so the only state is
//! the miner's salt. It is fetched once (`get.device.info` `salt`) and
//! cached; callers on one session share that fetch (the cache sits behind
//! an async mutex held across it). A `-4` answer with a cached salt means
//! the salt may have changed: the salt is fetched again and the write sent
//! once more, which is safe because a `-4` write was refused, not done. A
//! `-4` with a salt fetched for this very write is final (write switch
//! off, default password, wrong password). A write that timed out or whose
//! connection broke is **never** repeated: the miner may have acted on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::client::v3::{V3Client, DEVICE_INFO};
use crate::error::{ErrorKind, MinerError};
use crate::protocol::v3::request::{is_write, write_request, SUPER_ACCOUNT};
use crate::protocol::v3::{DeviceInfoSection, Reply, WriteCredentials};
use crate::secret::Secret;
use crate::transport::MinerAddr;

/// One pool for [`V3Session::set_pools`]; the password is masked in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    pub url: String,
    pub worker: String,
    pub password: Secret,
}

struct CachedSalt {
    salt: String,
    /// Bumped on every fetch, so a caller that saw a write refused fetches
    /// again only if nobody did in the meantime.
    generation: u64,
}

/// Writeable v3 commands on one miner, as account `super` by default.
pub struct V3Session {
    client: V3Client,
    miner: MinerAddr,
    account: String,
    password: Secret,
    salt: tokio::sync::Mutex<Option<CachedSalt>>,
    generation: AtomicU64,
    salt_fetches: AtomicU64,
}

impl std::fmt::Debug for V3Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Session")
            .field("miner", &self.miner)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl V3Session {
    /// A session on `miner` (its v3 address) as account `super`.
    pub fn new(client: V3Client, miner: MinerAddr, password: Secret) -> Self {
        Self::with_account(client, miner, SUPER_ACCOUNT, password)
    }

    /// A session as another account (`user1`..`user3`; only `super` may
    /// do everything).
    pub fn with_account(
        client: V3Client,
        miner: MinerAddr,
        account: &str,
        password: Secret,
    ) -> Self {
        V3Session {
            client,
            miner,
            account: account.to_owned(),
            password,
            salt: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            salt_fetches: AtomicU64::new(0),
        }
    }

    pub fn miner(&self) -> &MinerAddr {
        &self.miner
    }

    /// How many salt round trips this session has made.
    pub fn salt_fetches(&self) -> u64 {
        self.salt_fetches.load(Ordering::Relaxed)
    }

    /// Forgets the cached salt (the next write fetches it again).
    pub async fn invalidate(&self) {
        *self.salt.lock().await = None;
    }

    /// Runs one `set.*` command; `param: None` leaves the field out. The
    /// answer is the miner's reply as JSON (`{"code":0,"msg":"ok",..}`).
    pub async fn exec(&self, command: &str, param: Option<&Value>) -> Result<Value, MinerError> {
        if !is_write(command) {
            return Err(MinerError::new(
                self.miner.to_string(),
                command,
                ErrorKind::Other("not an API v3 write command (set.*)".into()),
            ));
        }
        let (salt, generation, fresh) = self.salt(None).await?;
        match self.send(command, param, &salt).await {
            Err(e) if e.kind == ErrorKind::PermissionDenied && !fresh => {
                tracing::debug!(miner = %self.miner, command, "write refused; fetching the salt again once");
                let (salt, _, _) = self.salt(Some(generation)).await?;
                self.send(command, param, &salt).await
            }
            other => other,
        }
    }

    /// `set.miner.service` `stop`: mining stops, the control board stays up.
    pub async fn power_off(&self) -> Result<Value, MinerError> {
        self.exec("set.miner.service", Some(&json!("stop"))).await
    }
    /// `set.miner.service` `start`.
    pub async fn power_on(&self) -> Result<Value, MinerError> {
        self.exec("set.miner.service", Some(&json!("start"))).await
    }
    /// `set.miner.service` `restart`: restarts the mining service.
    pub async fn restart(&self) -> Result<Value, MinerError> {
        self.exec("set.miner.service", Some(&json!("restart")))
            .await
    }
    /// `set.system.reboot`: reboots the control board.
    pub async fn reboot(&self) -> Result<Value, MinerError> {
        self.exec("set.system.reboot", None).await
    }
    /// `set.system.led` `auto` (back to the firmware's own blinking).
    pub async fn led_auto(&self) -> Result<Value, MinerError> {
        self.exec("set.system.led", Some(&json!("auto"))).await
    }
    /// `set.miner.power_limit`, watts.
    pub async fn set_power_limit(&self, watts: u32) -> Result<Value, MinerError> {
        self.exec("set.miner.power_limit", Some(&json!(watts)))
            .await
    }
    /// `set.miner.pools` with up to three pools (the param travels
    /// encrypted with the write's key).
    pub async fn set_pools(&self, pools: &[PoolEntry]) -> Result<Value, MinerError> {
        let list: Vec<Value> = pools
            .iter()
            .take(3)
            .map(|p| json!({"pool": p.url, "worker": p.worker, "passwd": p.password.expose()}))
            .collect();
        self.exec("set.miner.pools", Some(&Value::Array(list)))
            .await
    }

    /// The cached salt, fetching one when there is none or the cached one
    /// is the `rejected` generation. Returns (salt, generation, fetched now).
    async fn salt(&self, rejected: Option<u64>) -> Result<(String, u64, bool), MinerError> {
        let mut cache = self.salt.lock().await;
        if let Some(cached) = cache.as_ref() {
            if rejected != Some(cached.generation) {
                return Ok((cached.salt.clone(), cached.generation, false));
            }
        }
        self.salt_fetches.fetch_add(1, Ordering::Relaxed);
        let info = self
            .client
            .device_info(&self.miner, Some(DeviceInfoSection::Salt))
            .await?;
        let salt = info.salt.filter(|s| !s.is_empty()).ok_or_else(|| {
            MinerError::new(
                self.miner.to_string(),
                DEVICE_INFO,
                ErrorKind::UnexpectedShape("get.device.info salt reply has no salt".into()),
            )
        })?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *cache = Some(CachedSalt {
            salt: salt.clone(),
            generation,
        });
        Ok((salt, generation, true))
    }

    async fn send(
        &self,
        command: &str,
        param: Option<&Value>,
        salt: &str,
    ) -> Result<Value, MinerError> {
        let creds = WriteCredentials {
            account: &self.account,
            password: &self.password,
            salt,
        };
        let request = write_request(command, param, &creds, unix_now());
        let reply = self
            .client
            .request(&self.miner, command, &request, false)
            .await?;
        Ok(reply_json(reply))
    }
}

/// The reply envelope back as JSON, for callers that show it.
fn reply_json(reply: Reply) -> Value {
    json!({"code": reply.code, "when": reply.when, "msg": reply.msg, "desc": reply.desc})
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
