//! One backend per miner API, behind one signature (the way
//! blackbox_exporter has one prober per protocol): "read the per-scrape
//! data" ([`Backend::fast`]), "read the slow data" ([`Backend::slow`]),
//! "run this write" ([`Backend::session`], [`Backend::exec`]). The
//! collector, `/probe`, the admin endpoint and the CLI call these and never
//! ask which API a miner speaks; [`Backends::get`] is the one place that
//! does. A third API is one new module here and one new arm there.
//!
//! Every method takes the miner's **configured** address; a backend maps it
//! to its own port (v3: [`super::detect::v3_addr`]).

pub mod v2;
mod v3;

pub use v2::V2Backend;
pub use v3::V3Backend;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use super::types::{
    DevDetails, Devs, ErrorCodes, MinerInfo, MinerStatus, Pools, Psu, Summary, Version,
};
use super::{Api, Client, WriteSession};
use crate::error::MinerError;
use crate::secret::Secret;
use crate::transport::MinerAddr;
use v2::dialect::Dialect;

/// A boxed future: the trait is used as `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The per-scrape data: summary, boards and pools, each with its own
/// outcome (one v3 request fails all three together).
#[derive(Debug, Clone)]
pub struct FastReads {
    pub summary: Result<Summary, MinerError>,
    pub devs: Result<Devs, MinerError>,
    pub pools: Result<Pools, MinerError>,
}

/// The slow data of a miner as the v2 structs; `None` where the miner sent
/// nothing to fill it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowData {
    pub version: Option<Version>,
    pub devdetails: Option<DevDetails>,
    pub psu: Option<Psu>,
    pub error_codes: Option<ErrorCodes>,
    pub status: Option<MinerStatus>,
    pub miner_info: Option<MinerInfo>,
    /// Which commands were sent and whether each succeeded.
    pub command_ok: Vec<(&'static str, bool)>,
}

/// What a CLI query prints.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryReply {
    /// The reply checked and parsed.
    Json(Value),
    /// The reply as received (`--raw`), even an error reply.
    Raw(Vec<u8>),
}

/// Why a CLI query or write failed.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// The request cannot be sent as given (nothing was sent).
    Usage(String),
    Miner(MinerError),
}

impl From<MinerError> for QueryError {
    fn from(e: MinerError) -> Self {
        QueryError::Miner(e)
    }
}

/// One miner API.
pub trait Backend: Send + Sync + std::fmt::Debug {
    fn api(&self) -> Api;

    /// The per-scrape data.
    fn fast<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, FastReads>;

    /// The slow data. Never fails as a whole: what failed is `None`.
    fn slow<'a>(&'a self, client: &'a Client, miner: &'a MinerAddr) -> BoxFuture<'a, SlowData>;

    /// The miner's run state alone (the admin endpoint's check after a write).
    fn status<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
    ) -> BoxFuture<'a, Result<MinerStatus, MinerError>>;

    /// How the miner wants its requests sent, for APIs that have dialects
    /// (v2: [`v2::dialect`]).
    fn dialect(&self, _miner: &MinerAddr) -> Option<Dialect> {
        None
    }

    /// Fills summary fields this API gives only with the slow data
    /// (`slow_error_count`: the active error codes the slow data listed).
    fn complete(&self, _summary: &mut Summary, _slow_error_count: Option<usize>) {}

    /// A writeable session driven by v2 command names (token or salt
    /// cached inside); keep it to reuse the token.
    fn session(&self, client: &Client, miner: &MinerAddr, password: Secret) -> WriteSession;

    /// Why the CLI may not send `command` to a miner of this API (checked
    /// before anything is sent); `None` when it may.
    fn refuse(&self, command: &str) -> Option<&'static str>;

    /// Any read command by this API's name, for the CLI's `query`.
    fn query<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
        command: &'a str,
        params: &'a Map<String, Value>,
        raw: bool,
    ) -> BoxFuture<'a, Result<QueryReply, QueryError>>;

    /// One write by this API's name (or, on v3, a v2 writeable name mapped
    /// as the admin endpoint maps it), for the CLI's `exec`.
    fn exec<'a>(
        &'a self,
        client: &'a Client,
        miner: &'a MinerAddr,
        password: Secret,
        command: &'a str,
        params: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Value, QueryError>>;
}

/// v3 command names are dotted (`get.miner.status`); v2 names never are.
fn looks_v3(command: &str) -> bool {
    command.contains('.')
}

/// The backend of each API, with their per-miner state.
#[derive(Debug, Default)]
pub struct Backends {
    v2: V2Backend,
    v3: V3Backend,
}

impl Backends {
    /// The backend for `api`: the one `match` on the API.
    pub fn get(&self, api: Api) -> &dyn Backend {
        match api {
            Api::V2 => &self.v2,
            Api::V3 => &self.v3,
        }
    }

    /// Drops per-miner state of miners no longer configured.
    pub fn retain(&self, keep: &std::collections::HashSet<MinerAddr>) {
        self.v2.retain(keep);
    }

    /// Miners with per-miner state in a backend.
    pub fn remembered(&self) -> usize {
        self.v2.remembered()
    }
}
