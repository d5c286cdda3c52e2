//! The miners the admin API may command, looked up by configured name or
//! address, and their write sessions (one per miner, each owning that
//! miner's token). A miner not in the configuration cannot be commanded.

use crate::client::types::MinerStatus;
use crate::client::SessionPool;
use crate::client::{Api, Backends, Client};
use crate::error::MinerError;
use crate::settings::AdminMiner;
use crate::transport::MinerAddr;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Why a command could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// No password is configured for the miner.
    NoPassword,
    /// The miner is configured for API v3, whose writes this API does not
    /// send.
    UnsupportedProtocol,
    /// The miner (or the way to it) failed.
    Miner(MinerError),
}

impl ExecError {
    /// The short reason for logs, metrics and responses.
    pub fn reason(&self) -> &'static str {
        match self {
            ExecError::NoPassword => "no_password",
            ExecError::UnsupportedProtocol => "unsupported_protocol",
            ExecError::Miner(e) => e.reason(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            ExecError::NoPassword => {
                "no admin password is configured for this miner (set password_file or \
                 password_env on the miner or in [defaults])"
                    .into()
            }
            ExecError::UnsupportedProtocol => {
                "this miner's API (protocol = \"auto\") is not detected yet; it is known \
                 after the miner's first successful scrape"
                    .into()
            }
            ExecError::Miner(e) => e.to_string(),
        }
    }

    /// Whether the command certainly did not reach the miner, so that
    /// sending it again cannot act twice. A timeout after the write was
    /// sent is *not* such a case: the miner may have acted.
    pub fn certainly_not_run(&self) -> bool {
        use crate::error::ErrorKind as K;
        let ExecError::Miner(e) = self else {
            return false;
        };
        match &e.kind {
            K::ConnectRefused | K::ConnectTimeout | K::OverMaxConnect | K::InvalidToken => true,
            K::TokenLimit => true,
            // Failures while fetching the token: the command was not sent.
            K::Timeout | K::ConnectionReset { .. } | K::EmptyReply | K::Io(_) => {
                e.command == "get_token"
            }
            _ => false,
        }
    }
}

/// The configured miners, replaced as a whole on reload.
#[derive(Debug, Default)]
pub struct Directory {
    miners: Vec<AdminMiner>,
}

impl Directory {
    pub fn new(miners: Vec<AdminMiner>) -> Self {
        Directory { miners }
    }

    pub fn len(&self) -> usize {
        self.miners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.miners.is_empty()
    }

    /// The miner whose name is `key`, else whose address is `key` (a bare
    /// host gets port 4028; host names compare without case).
    pub fn find(&self, key: &str) -> Option<&AdminMiner> {
        if let Some(m) = self.miners.iter().find(|m| m.name == key) {
            return Some(m);
        }
        let addr: MinerAddr = key.parse().ok()?;
        self.miners.iter().find(|m| same_addr(&m.addr, &addr))
    }

    pub fn contains_addr(&self, addr: &MinerAddr) -> bool {
        self.miners.iter().any(|m| same_addr(&m.addr, addr))
    }
}

fn same_addr(a: &MinerAddr, b: &MinerAddr) -> bool {
    a.port() == b.port() && a.host().eq_ignore_ascii_case(b.host())
}

/// Write sessions by miner, of either API, created on first use and
/// replaced when the configured password changes (on reload).
#[derive(Debug)]
pub struct Sessions {
    client: Client,
    pool: SessionPool,
    /// The collector's, so that writes use what scrapes learned.
    backends: Arc<Backends>,
}

impl Sessions {
    pub fn new(client: Client, backends: Arc<Backends>) -> Self {
        Sessions {
            pool: SessionPool::new(client.clone()),
            client,
            backends,
        }
    }

    /// Drops sessions of miners no longer configured.
    pub fn retain(&self, directory: &Directory) {
        let keep = directory.miners.iter().map(|m| m.addr.clone()).collect();
        self.pool.retain(&keep);
    }

    /// The miner's run state through `api`'s read path.
    pub async fn status(&self, miner: &AdminMiner, api: Api) -> Result<MinerStatus, MinerError> {
        self.backends
            .get(api)
            .status(&self.client, &miner.addr)
            .await
    }

    /// Runs a writeable command (a v2 name; mapped for v3 miners) on
    /// `miner` through `api` and returns its decrypted reply.
    pub async fn exec(
        &self,
        miner: &AdminMiner,
        api: Api,
        command: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, ExecError> {
        let password = miner
            .password
            .as_ref()
            .filter(|p| !p.is_empty())
            .ok_or(ExecError::NoPassword)?;
        self.pool
            .session(&miner.addr, self.backends.get(api), password)
            .exec(command, params)
            .await
            .map_err(ExecError::Miner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ApiChoice;
    use crate::error::ErrorKind;

    fn miner(name: &str, addr: &str) -> AdminMiner {
        AdminMiner {
            name: name.into(),
            addr: addr.parse().expect("addr"),
            password: None,
            protocol: ApiChoice::V2,
        }
    }

    #[test]
    fn finds_by_name_then_address() {
        let d = Directory::new(vec![
            miner("rack1-a", "10.0.0.1:4028"),
            miner("10.0.0.9:4028", "10.0.0.2:4028"),
            miner("m3", "Miner-3.farm:4029"),
        ]);
        assert_eq!(d.find("rack1-a").map(|m| m.name.as_str()), Some("rack1-a"));
        assert_eq!(d.find("10.0.0.1").map(|m| m.name.as_str()), Some("rack1-a"));
        assert_eq!(
            d.find("10.0.0.1:4028").map(|m| m.name.as_str()),
            Some("rack1-a")
        );
        // A name wins over another miner's address.
        assert_eq!(
            d.find("10.0.0.9:4028").map(|m| m.name.as_str()),
            Some("10.0.0.9:4028")
        );
        assert_eq!(
            d.find("miner-3.FARM:4029").map(|m| m.name.as_str()),
            Some("m3")
        );
        for unknown in [
            "",
            "rack1",
            "10.0.0.1:4029",
            "10.0.0.3",
            "m3:",
            "../etc",
            "a b",
        ] {
            assert!(d.find(unknown).is_none(), "{unknown:?}");
        }
    }

    #[test]
    fn only_unsent_commands_are_safe_to_retry() {
        let err = |command: &str, kind| ExecError::Miner(MinerError::new("m", command, kind));
        assert!(err("power_off", ErrorKind::ConnectRefused).certainly_not_run());
        assert!(err("power_off", ErrorKind::OverMaxConnect).certainly_not_run());
        assert!(err("power_off", ErrorKind::InvalidToken).certainly_not_run());
        assert!(err("get_token", ErrorKind::Timeout).certainly_not_run());
        assert!(!err("power_off", ErrorKind::Timeout).certainly_not_run());
        assert!(!err("power_off", ErrorKind::ConnectionReset { received: 0 }).certainly_not_run());
        assert!(!err("power_off", ErrorKind::WrongPassword).certainly_not_run());
        assert!(!ExecError::NoPassword.certainly_not_run());
    }
}
