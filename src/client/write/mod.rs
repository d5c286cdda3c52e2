//! The write path: one [`WriteSession`] type for a miner of either API,
//! driven by v2 command names (the admin endpoint's and the webhook's
//! language), made by [`crate::client::Backend::session`] and kept per
//! miner in a [`SessionPool`]. Underneath, [`V2Session`] owns a v2 token
//! and [`V3Session`] a v3 salt; [`v3_names`] maps v2 names to v3 writes.
//!
//! **Never retried when the outcome is unknown.** Both sessions send a
//! write once; only a refusal that proves nothing ran (an invalid v2 token,
//! a v3 `-4` with a stale salt) is renewed and sent once more.

mod pool;
mod v2;
mod v3;
pub mod v3_names;

pub use pool::SessionPool;
pub use v2::{Clock, ManualClock, SystemClock, V2Session};
pub use v3::{PoolEntry, V3Session};
pub use v3_names::{v3_equivalent, V3Command};

use serde_json::{Map, Value};

use super::backend::BoxFuture;
use super::Api;
use crate::error::MinerError;
use crate::transport::MinerAddr;

/// The write half of one API: what a [`WriteSession`] runs on.
pub trait ApiWriter: Send + Sync + std::fmt::Debug {
    /// The address the session talks to.
    fn miner(&self) -> &MinerAddr;

    /// Runs a v2-named writeable command; the answer is the miner's reply
    /// as JSON.
    fn exec<'a>(
        &'a self,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, MinerError>>;
}

impl ApiWriter for V2Session {
    fn miner(&self) -> &MinerAddr {
        V2Session::miner(self)
    }

    fn exec<'a>(
        &'a self,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, MinerError>> {
        Box::pin(V2Session::exec(self, command, params))
    }
}

/// On v3 a v2 name goes through [`v3_equivalent`]; the answer is
/// `{"code","when","msg","desc"}`.
impl ApiWriter for V3Session {
    fn miner(&self) -> &MinerAddr {
        V3Session::miner(self)
    }

    fn exec<'a>(
        &'a self,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, MinerError>> {
        Box::pin(async move {
            let mapped = v3_equivalent(command, params)
                .map_err(|kind| MinerError::new(self.miner().to_string(), command, kind))?;
            V3Session::exec(self, mapped.cmd, mapped.param.as_ref()).await
        })
    }
}

/// A writeable session on one miner of either API, driven by v2 command
/// names. Keep it: it caches the miner's token (v2) or salt (v3).
#[derive(Debug)]
pub struct WriteSession {
    api: Api,
    writer: Box<dyn ApiWriter>,
}

impl WriteSession {
    pub fn new(api: Api, writer: Box<dyn ApiWriter>) -> Self {
        WriteSession { api, writer }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    /// The address the session talks to.
    pub fn miner(&self) -> &MinerAddr {
        self.writer.miner()
    }

    /// Runs a v2-named writeable command (mapped on v3) and returns the
    /// miner's reply as JSON.
    pub async fn exec(
        &self,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, MinerError> {
        self.writer.exec(command, params).await
    }
}
