//! The API v3 backend (2024+ firmware): framed JSON on port 4433 (see
//! [`v3_addr`]), one `get.miner.status` for the per-scrape data,
//! `get.device.info` and `get.miner.setting` for the slow data, writes by
//! v3 name or mapped from a v2 name ([`crate::client::write::v3_equivalent`]).

use serde_json::{Map, Value};

use super::{looks_v3, Backend, BoxFuture, FastReads, QueryError, QueryReply, SlowData};
use crate::client::detect::v3_addr;
use crate::client::types::{MinerStatus, Summary};
use crate::client::{Api, Client, V3Session, WriteSession};
use crate::error::MinerError;
use crate::protocol::codes::WRITE_COMMANDS;
use crate::secret::Secret;
use crate::transport::MinerAddr;

#[derive(Debug, Default)]
pub struct V3Backend {}

impl Backend for V3Backend {
    fn api(&self) -> Api {
        Api::V3
    }

    /// One `get.miner.status`, whose failure fails all three.
    fn fast<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, FastReads> {
        Box::pin(async move {
            match client.v3().fast(&v3_addr(miner)).await {
                Ok(fast) => FastReads {
                    summary: Ok(fast.summary),
                    devs: Ok(fast.devs),
                    pools: Ok(fast.pools),
                },
                Err(e) => FastReads {
                    summary: Err(e.clone()),
                    devs: Err(e.clone()),
                    pools: Err(e),
                },
            }
        })
    }

    fn slow<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, SlowData> {
        Box::pin(async move { client.v3().slow(&v3_addr(miner)).await })
    }

    fn status<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
    ) -> BoxFuture<'a, Result<MinerStatus, MinerError>> {
        Box::pin(async move { client.v3().status(&v3_addr(miner)).await })
    }

    /// v3 has no `Error Code Count` in its summary; the count of the
    /// `error-code` list read with the slow data is the same number.
    fn complete(&self, summary: &mut Summary, slow_error_count: Option<usize>) {
        if summary.error_code_count.is_none() {
            summary.error_code_count = slow_error_count.map(|n| n as u64);
        }
    }

    fn session(&self, client: &Client, miner: &MinerAddr, password: Secret) -> WriteSession {
        let session = V3Session::new(client.v3(), v3_addr(miner), password);
        WriteSession::new(Api::V3, Box::new(session))
    }

    fn refuse(&self, command: &str) -> Option<&'static str> {
        (!looks_v3(command) && !WRITE_COMMANDS.contains(&command)).then_some(
            "an API v2 read; API v3 reads have dotted names like get.miner.status (docs/protocol-v3.md)",
        )
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
            let param = v3_param(params)?;
            let (v3, addr) = (client.v3(), v3_addr(miner));
            Ok(if raw {
                QueryReply::Raw(v3.raw(&addr, command, param.as_ref()).await?)
            } else {
                QueryReply::Json(v3.read(&addr, command, param.as_ref()).await?)
            })
        })
    }

    /// A v3 `set.*` name as given; a v2 writeable name mapped.
    fn exec<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
        password: Secret,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, QueryError>> {
        Box::pin(async move {
            if looks_v3(command) {
                let param = v3_param(params)?;
                let session = V3Session::new(client.v3(), v3_addr(miner), password);
                return Ok(session.exec(command, param.as_ref()).await?);
            }
            let session = self.session(client, miner, password);
            Ok(session.exec(command, params).await?)
        })
    }
}

/// The v3 `param` field from the one parameter `param=VALUE`: VALUE as
/// JSON when it parses (a number, array, object, "quoted text"), else the
/// text itself.
fn v3_param(params: &Map<String, Value>) -> Result<Option<Value>, QueryError> {
    let mut entries = params.iter();
    let param = match (entries.next(), entries.next()) {
        (None, _) => return Ok(None),
        (Some((key, value)), None) if key == "param" => value,
        _ => {
            return Err(QueryError::Usage(
                "an API v3 command takes one parameter: --param param=VALUE".into(),
            ))
        }
    };
    let text = param.as_str().unwrap_or_default();
    Ok(Some(
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::from(text)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect()
    }

    #[test]
    fn v3_param_is_json_when_it_parses() {
        let one = |v: &str| v3_param(&params(&[("param", v)]));
        assert_eq!(v3_param(&Map::new()), Ok(None));
        assert_eq!(one("summary"), Ok(Some(Value::from("summary"))));
        assert_eq!(one("3000"), Ok(Some(Value::from(3000))));
        assert_eq!(
            one(r#"[{"pool":"stratum+tcp://p:3333"}]"#),
            Ok(Some(serde_json::json!([{"pool": "stratum+tcp://p:3333"}])))
        );
        assert_eq!(one(r#""stop""#), Ok(Some(Value::from("stop"))));
        let usage = |r| matches!(r, Err(QueryError::Usage(_)));
        assert!(usage(v3_param(&params(&[("param", "a"), ("other", "b")]))));
        assert!(usage(v3_param(&params(&[("value", "a")]))));
    }

    #[test]
    fn refuses_v2_reads_but_maps_v2_writes() {
        let b = V3Backend::default();
        assert!(b.refuse("summary").is_some());
        assert_eq!(b.refuse("power_off"), None);
        assert_eq!(b.refuse("get.miner.status"), None);
        assert!(super::super::V2Backend::default()
            .refuse("get.miner.status")
            .is_some());
    }
}
