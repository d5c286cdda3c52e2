//! The API v2 backend: JSON commands on port 4028, the `summary`, `devs`
//! and `pools` of a scrape in one [`joined`] read (or, where the firmware
//! does not join, sent at once), the slow commands two at a time, writes
//! through the v2 token flow. Reads follow each miner's learned
//! [`dialect`]; commands its firmware dropped are skipped ([`deprecated`]).

mod deprecated;
pub mod dialect;
pub mod joined;

use serde_json::{Map, Value};

use super::{looks_v3, Backend, BoxFuture, FastReads, QueryError, QueryReply, SlowData};
use crate::client::types::MinerStatus;
use crate::client::{Api, Client, WriteSession};
use crate::error::MinerError;
use crate::secret::Secret;
use crate::transport::MinerAddr;
use dialect::{other_key, Dialect, Dialects, Joins};
use joined::Joined;

#[derive(Debug, Default)]
pub struct V2Backend {
    dialects: Dialects,
    deprecated: deprecated::Deprecated,
}

impl V2Backend {
    /// Learns from a joined read that the miner joins, counts the outcome,
    /// and notes a restart.
    fn note_joined(&self, miner: &MinerAddr, dialect: Dialect, reads: &FastReads) {
        let joins = reads.summary.is_ok() || reads.devs.is_ok() || reads.pools.is_ok();
        if joins && dialect.joins == Joins::Untried {
            let learned = Dialect {
                joins: Joins::Yes,
                ..dialect
            };
            self.dialects.learn(miner, learned);
        }
        self.dialects.record(miner, reads.summary.is_ok());
        if let Ok(summary) = &reads.summary {
            self.dialects.observe_elapsed(miner, summary.elapsed);
        }
    }

    /// Drops per-miner state of miners no longer configured.
    pub fn retain(&self, keep: &std::collections::HashSet<MinerAddr>) {
        self.dialects.retain(keep);
        self.deprecated.retain(keep);
    }

    /// Miners with a learned dialect or a deprecated command.
    pub fn remembered(&self) -> usize {
        self.dialects.remembered().max(self.deprecated.remembered())
    }

    /// `client` speaking `miner`'s dialect.
    fn speaking(&self, client: &Client, miner: &MinerAddr) -> Client {
        client.with_request_key(self.dialects.get(miner).request_key)
    }
}

/// Summary, boards and pools at once.
async fn read_fast(client: &Client, miner: &MinerAddr) -> FastReads {
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
}

impl Backend for V2Backend {
    fn api(&self) -> Api {
        Api::V2
    }

    /// In the miner's dialect: one joined read where the firmware joins
    /// (see [`joined`]), else the three reads apart. When the answer says
    /// the miner did not read the request key, once more with the other
    /// key, within what is left of the client's deadline (see [`dialect`]).
    fn fast<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, FastReads> {
        Box::pin(async move {
            let started = tokio::time::Instant::now();
            let dialect = self.dialects.get(miner);
            if dialect.joins.worth_trying() {
                let speaking = client.with_request_key(dialect.request_key);
                match joined::read(&speaking, miner).await {
                    Joined::Reads(reads) => {
                        self.note_joined(miner, dialect, &reads);
                        return *reads;
                    }
                    Joined::Down(e) => {
                        self.dialects.record(miner, false);
                        return joined::all_failed(e);
                    }
                    Joined::Refused => {
                        tracing::debug!(miner = %miner, "no joined reads: reading apart");
                        let apart = Dialect {
                            joins: Joins::No,
                            ..dialect
                        };
                        self.dialects.learn(miner, apart);
                    }
                }
            }
            let mut config = *client.config();
            config.limits.deadline = config.limits.deadline.saturating_sub(started.elapsed());
            let dialect = self.dialects.get(miner);
            let client = Client::new(config);
            let reads = read_fast(&client.with_request_key(dialect.request_key), miner).await;
            let other = match &reads.summary {
                Err(e) => other_key(dialect.request_key, &e.kind),
                Ok(_) => None,
            };
            config.limits.deadline = config.limits.deadline.saturating_sub(started.elapsed());
            if let Some(key) = other.filter(|_| !config.limits.deadline.is_zero()) {
                let retried = read_fast(&Client::new(config).with_request_key(key), miner).await;
                if retried.summary.is_ok() {
                    let learned = Dialect {
                        request_key: key,
                        ..dialect
                    };
                    self.dialects.learn(miner, learned);
                    return retried;
                }
            }
            self.dialects.record(miner, reads.summary.is_ok());
            if let Ok(summary) = &reads.summary {
                self.dialects.observe_elapsed(miner, summary.elapsed);
            }
            reads
        })
    }

    fn dialect(&self, miner: &MinerAddr) -> Option<Dialect> {
        Some(self.dialects.get(miner))
    }

    /// Two commands at a time: firmware tolerates a few connections per
    /// client, and this path must not crowd out scrapes.
    fn slow<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, SlowData> {
        Box::pin(async move {
            let client = &self.speaking(client, miner);
            let gone = &self.deprecated;
            let (version, status) = tokio::join!(
                gone.unless(miner, "get_version", client.get_version(miner)),
                gone.unless(miner, "status", client.status(miner))
            );
            let (devdetails, psu) = tokio::join!(
                gone.unless(miner, "devdetails", client.devdetails(miner)),
                gone.unless(miner, "get_psu", client.get_psu(miner))
            );
            let (error_codes, miner_info) = tokio::join!(
                gone.unless(miner, "get_error_code", client.get_error_code(miner)),
                gone.unless(miner, "get_miner_info", client.get_miner_info(miner))
            );
            // A command not sent or deprecated has no series.
            let mut command_ok = Vec::with_capacity(6);
            let mut note = |command, sent: Option<bool>| {
                if let Some(ok) = sent {
                    command_ok.push((command, ok));
                }
            };
            note("get_version", version.as_ref().map(Result::is_ok));
            note("status", status.as_ref().map(Result::is_ok));
            note("devdetails", devdetails.as_ref().map(Result::is_ok));
            note("get_psu", psu.as_ref().map(Result::is_ok));
            note("get_error_code", error_codes.as_ref().map(Result::is_ok));
            note("get_miner_info", miner_info.as_ref().map(Result::is_ok));
            SlowData {
                version: version.and_then(Result::ok),
                devdetails: devdetails.and_then(Result::ok),
                psu: psu.and_then(Result::ok),
                error_codes: error_codes.and_then(Result::ok),
                status: status.and_then(Result::ok),
                miner_info: miner_info.and_then(Result::ok),
                command_ok,
            }
        })
    }

    fn status<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
    ) -> BoxFuture<'a, Result<MinerStatus, MinerError>> {
        Box::pin(async move { self.speaking(client, miner).status(miner).await })
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
            let client = self.speaking(client, miner);
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

#[cfg(test)]
mod tests;
