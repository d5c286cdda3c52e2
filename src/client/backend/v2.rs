//! The API v2 backend: JSON commands on port 4028, the `summary`, `devs`
//! and `pools` of a scrape sent at once, the slow commands two at a time,
//! writes through the v2 token flow.

use serde_json::{Map, Value};

use super::{looks_v3, Backend, BoxFuture, FastReads, QueryError, QueryReply, SlowData};
use crate::client::types::MinerStatus;
use crate::client::{Api, Client, WriteSession};
use crate::error::MinerError;
use crate::secret::Secret;
use crate::transport::MinerAddr;

#[derive(Debug, Default)]
pub struct V2Backend {}

impl V2Backend {
    /// Drops per-miner state of miners no longer configured.
    pub fn retain(&self, _keep: &std::collections::HashSet<MinerAddr>) {}
}

impl Backend for V2Backend {
    fn api(&self) -> Api {
        Api::V2
    }

    fn fast<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, FastReads> {
        Box::pin(async move {
            let (summary, devs, pools) = tokio::join!(
                client.summary(miner),
                client.devs(miner),
                client.pools(miner)
            );
            FastReads {
                summary,
                devs,
                pools,
            }
        })
    }

    /// Two commands at a time: firmware tolerates a few connections per
    /// client, and this path must not crowd out scrapes.
    fn slow<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, SlowData> {
        Box::pin(async move {
            let (version, status) = tokio::join!(client.get_version(miner), client.status(miner));
            let (devdetails, psu) = tokio::join!(client.devdetails(miner), client.get_psu(miner));
            let (error_codes, miner_info) =
                tokio::join!(client.get_error_code(miner), client.get_miner_info(miner));
            let command_ok = vec![
                ("get_version", version.is_ok()),
                ("status", status.is_ok()),
                ("devdetails", devdetails.is_ok()),
                ("get_psu", psu.is_ok()),
                ("get_error_code", error_codes.is_ok()),
                ("get_miner_info", miner_info.is_ok()),
            ];
            SlowData {
                version: version.ok(),
                devdetails: devdetails.ok(),
                psu: psu.ok(),
                error_codes: error_codes.ok(),
                status: status.ok(),
                miner_info: miner_info.ok(),
                command_ok,
            }
        })
    }

    fn status<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
    ) -> BoxFuture<'a, Result<MinerStatus, MinerError>> {
        Box::pin(client.status(miner))
    }

    fn session(&self, client: &Client, miner: &MinerAddr, password: Secret) -> WriteSession {
        WriteSession::new(
            Api::V2,
            Box::new(client.v2_session(miner.clone(), password)),
        )
    }

    fn refuse(&self, command: &str) -> Option<&'static str> {
        looks_v3(command).then_some("an API v3 command name; this miner is v2")
    }

    fn query<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
        command: &'a str,
        params: &'a Map<String, Value>,
        raw: bool,
    ) -> BoxFuture<'a, Result<QueryReply, QueryError>> {
        Box::pin(async move {
            Ok(if raw {
                QueryReply::Raw(client.raw(miner, command, params).await?)
            } else {
                QueryReply::Json(client.command(miner, command, params).await?)
            })
        })
    }

    fn exec<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
        password: Secret,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, QueryError>> {
        Box::pin(async move {
            let session = self.session(client, miner, password);
            Ok(session.exec(command, params).await?)
        })
    }
}
