//! The test-facing view of one running simulated miner: inject faults,
//! move its clock, expire its tokens, read its current readings and
//! the counts of commands it received.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::fault::Fault;
use super::miner::{MinerState, PoolConfig, PowerMode};
use super::model::{Flavour, Model};
use super::persona::Persona;
use super::server::MinerShared;
use super::tokens::TokenGrant;
use crate::secret::Secret;

/// A handle on one miner of a running [`super::fleet::Fleet`]. Cheap to
/// clone; all methods are synchronous and quick.
#[derive(Clone)]
pub struct MinerHandle {
    pub(crate) shared: Arc<MinerShared>,
}

/// The key values of a miner at one instant, as its replies would show
/// them (unrounded).
#[derive(Debug, Clone, PartialEq)]
pub struct MinerReadings {
    pub index: usize,
    pub addr: SocketAddr,
    pub model: Model,
    pub flavour: Flavour,
    pub firmware_version: &'static str,
    pub api_version: &'static str,
    pub mac: String,
    pub hostname: String,
    pub powered_on: bool,
    /// `MHS av`, MH/s.
    pub hashrate_mhs: f64,
    /// `MHS 5s`, MH/s.
    pub hashrate_5s_mhs: f64,
    /// `Temperature`: the average board temperature, °C.
    pub temperature_c: f64,
    pub hottest_board_c: f64,
    pub chip_temp_max_c: f64,
    pub fan_in_rpm: u32,
    pub fan_out_rpm: u32,
    pub power_w: f64,
    pub power_limit_w: u32,
    pub power_mode: PowerMode,
    pub power_pct: u32,
    pub target_freq_pct: i32,
    pub led_manual: bool,
    pub uptime_secs: u64,
    pub btminer_elapsed_secs: u64,
    pub accepted: u64,
    pub pools: Vec<PoolConfig>,
    pub error_codes: Vec<u32>,
    pub fault: Option<Fault>,
    pub live_tokens: usize,
    /// Whether the miner also speaks API v3 (on [`MinerHandle::v3_addr`]).
    pub speaks_v3: bool,
    /// The firmware generation it plays (`None`: the generic replies).
    pub persona: Option<Persona>,
    /// Whether it answers joined reads.
    pub joins: bool,
}

impl MinerHandle {
    pub fn index(&self) -> usize {
        self.shared.index
    }

    /// The address the miner listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The API v3 listener's address, on miners that speak v3.
    pub fn v3_addr(&self) -> Option<SocketAddr> {
        self.shared.v3_addr
    }

    /// Draws a new v3 write salt (as a reboot does): writes signed with
    /// the old one are refused with `-4`.
    pub fn rotate_v3_salt(&self) {
        self.shared.lock().rotate_v3_salt();
    }

    /// Sets (or with `None` clears) the miner's fault. ApiDisabled closes
    /// the listener at once; clearing it binds the same address again.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.shared.set_fault(fault);
    }

    pub fn fault(&self) -> Option<Fault> {
        self.shared.lock().fault().cloned()
    }

    /// Whether the miner is mining (not powered off by a command or by
    /// overheating).
    pub fn powered_on(&self) -> bool {
        let mut state = self.shared.lock();
        let now = state.now();
        state.refresh(now);
        state.powered_on()
    }

    /// Powers the miner off or on directly, as its owner could.
    pub fn set_powered(&self, on: bool) {
        let mut state = self.shared.lock();
        let now = state.now();
        if on {
            state.power_on(now);
        } else {
            state.power_off(now);
        }
    }

    pub fn readings(&self) -> MinerReadings {
        let mut state = self.shared.lock();
        let now = state.now();
        state.refresh(now);
        readings_of(&state, self.shared.addr, now)
    }

    /// Moves this miner's clock forward: uptime grows, values drift,
    /// tokens older than 30 minutes expire, an overheat progresses.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().advance_clock(by);
    }

    /// Expires every token the miner has issued.
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.expire_all();
    }

    /// The `get_token` challenges this miner has issued and still
    /// remembers (up to 64 per client IP), oldest first per client. Read
    /// only: for tests that check no derived key or sign ever leaks.
    pub fn issued_challenges(&self) -> Vec<TokenGrant> {
        self.shared.lock().tokens.issued()
    }

    /// The most connections (both APIs) that were ever open at once (v2:
    /// until answered, see `MinerShared`).
    pub fn peak_connections(&self) -> usize {
        self.shared.peak_connections()
    }

    /// How many times the miner received `command` (for encrypted
    /// commands, the decrypted name; see [`super::counters`] for the
    /// `unknown` and `enc_undecryptable` buckets).
    pub fn command_count(&self, command: &str) -> u64 {
        self.shared.lock().counters.get(command)
    }

    /// How many TCP connections the miner accepted, over both APIs.
    pub fn connection_count(&self) -> u64 {
        self.shared.accepted_connections()
    }

    pub fn command_counts(&self) -> BTreeMap<String, u64> {
        self.shared.lock().counters.all()
    }

    pub fn reset_command_counts(&self) {
        self.shared.lock().counters = Default::default();
    }

    /// Whether `candidate` is the miner's admin password now (it changes
    /// with `update_pwd`).
    pub fn password_is(&self, candidate: &Secret) -> bool {
        &self.shared.lock().password == candidate
    }

    /// Turns joined reads on or off at once (no restart).
    pub fn set_joins(&self, joins: bool) {
        self.shared.lock().set_joins(joins);
    }

    /// A firmware change: the miner reboots into `persona` (`None`: the
    /// generic replies) with joined reads on or off, as after an upgrade
    /// or a downgrade. Uptime and the mining counters start over. API v3
    /// cannot be switched on this way (its listener exists from the start).
    pub fn reflash(&self, persona: Option<Persona>, joins: bool) {
        self.shared.handle(|state| {
            let now = state.now();
            state.set_persona(persona);
            state.set_joins(joins);
            state.reboot(now);
        });
    }

    /// Runs `f` on the miner's state, for checks the handle does not offer.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut MinerState) -> R) -> R {
        f(&mut self.shared.lock())
    }
}

pub(crate) fn readings_of(state: &MinerState, addr: SocketAddr, now: f64) -> MinerReadings {
    let r = state.reading(now);
    let id = state.identity();
    let s = &state.settings;
    MinerReadings {
        index: id.index,
        addr,
        model: id.model,
        flavour: id.firmware.flavour,
        firmware_version: id.firmware.version,
        api_version: id.firmware.api_version,
        mac: id.mac.clone(),
        hostname: id.hostname.clone(),
        powered_on: r.powered_on,
        hashrate_mhs: r.mhs_av,
        hashrate_5s_mhs: r.mhs_5s,
        temperature_c: r.temperature_c,
        hottest_board_c: state.hottest_board(now).1,
        chip_temp_max_c: r.chip_temp_max_c,
        fan_in_rpm: r.fan_in_rpm,
        fan_out_rpm: r.fan_out_rpm,
        power_w: r.power_w,
        power_limit_w: s.power_limit_w,
        power_mode: s.power_mode,
        power_pct: s.power_pct,
        target_freq_pct: s.target_freq_pct,
        led_manual: s.led_manual,
        uptime_secs: r.uptime_secs,
        btminer_elapsed_secs: r.elapsed_secs,
        accepted: r.accepted,
        pools: s.pools.clone(),
        error_codes: state.error_codes.iter().map(|(code, _)| *code).collect(),
        fault: state.fault().cloned(),
        live_tokens: state.tokens.live_count(now),
        speaks_v3: state.speaks_v3(),
        persona: state.persona(),
        joins: state.joins(),
    }
}
