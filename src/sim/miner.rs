//! One simulated miner's state machine: identity, power and mining state,
//! settings changed by writeable commands, issued tokens and counters.
//!
//! Nothing runs in the background: every reading is computed lazily from
//! the time elapsed since the last state change and the miner's seed (see
//! `readings`), and delayed events (an overheating miner switching itself
//! off) are applied when the miner is next looked at ([`MinerState::refresh`]).

use std::net::IpAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::clock::SimClock;
use super::counters::Counters;
use super::fault::Fault;
use super::model::{Firmware, Model};
use super::noise;
use super::tokens::TokenTable;
use crate::secret::Secret;

/// Seconds of the hash-rate ramp after btminer starts or the miner powers on.
pub const RAMP_SECS: f64 = 60.0;
/// Error codes kept per miner (oldest dropped first).
const MAX_ERROR_CODES: usize = 32;
/// Error code of "board temperature too high" for board 0 (+1, +2 for the others).
pub const OVERHEAT_ERROR_BASE: u32 = 350;

/// What a miner is built from.
#[derive(Debug, Clone)]
pub struct MinerSetup {
    pub index: usize,
    pub model: Model,
    pub firmware: Firmware,
    pub seed: u64,
    pub password: Secret,
    /// The address the miner listens on (shown by `get_miner_info`).
    pub ip: IpAddr,
    pub clock: SimClock,
}

/// Fixed facts about a miner.
#[derive(Debug, Clone)]
pub struct Identity {
    pub index: usize,
    pub model: Model,
    pub firmware: Firmware,
    pub seed: u64,
    pub ip: IpAddr,
    pub mac: String,
    pub hostname: String,
    pub miner_sn: String,
    pub psu_sn: String,
    pub board_sn: [String; 3],
}

/// One configured pool. The pool password is masked in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub url: String,
    pub user: String,
    pub password: Secret,
}

/// The firmware's power mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerMode {
    Low,
    Normal,
    High,
}

impl PowerMode {
    pub fn name(self) -> &'static str {
        match self {
            PowerMode::Low => "Low",
            PowerMode::Normal => "Normal",
            PowerMode::High => "High",
        }
    }

    /// Hash-rate and power factor relative to normal mode.
    pub fn factor(self) -> f64 {
        match self {
            PowerMode::Low => 0.8,
            PowerMode::Normal => 1.0,
            PowerMode::High => 1.1,
        }
    }
}

/// Power and mining state, as times in seconds of the miner's clock.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    pub powered_on: bool,
    pub boot_at: f64,
    pub btminer_start_at: f64,
    /// When hashing (re)started; meaningful while powered on.
    pub hashing_since: f64,
    /// Hashing seconds of the current btminer run before `hashing_since`.
    pub banked_hash_secs: f64,
    pub off_at: f64,
    /// Board temperatures at power-off, from which the boards cool down.
    pub temp_at_off: [f64; 3],
}

/// Settings that writeable commands change.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub power_mode: PowerMode,
    pub power_limit_w: u32,
    pub target_freq_pct: i32,
    pub power_pct: u32,
    pub led_manual: bool,
    pub pools: Vec<PoolConfig>,
    pub fast_boot: bool,
    pub web_pools: bool,
}

impl Settings {
    fn factory(id: &Identity) -> Settings {
        let worker = format!("simfarm.{}", id.hostname.to_lowercase());
        let pool = |url: &str| PoolConfig {
            url: url.to_string(),
            user: worker.clone(),
            password: Secret::new("x"),
        };
        Settings {
            power_mode: PowerMode::Normal,
            power_limit_w: id.model.spec().power_w.round() as u32 + 300,
            target_freq_pct: 0,
            power_pct: 100,
            led_manual: false,
            pools: vec![
                pool("stratum+tcp://pool.sim.invalid:3333"),
                pool("stratum+tcp://pool-b.sim.invalid:3333"),
                pool("stratum+tcp://pool-c.sim.invalid:443"),
            ],
            fast_boot: false,
            web_pools: true,
        }
    }
}

/// The whole state of one miner. Guarded by a mutex in the server; every
/// method is quick and never blocks.
pub struct MinerState {
    pub(crate) id: Identity,
    pub(crate) clock: SimClock,
    pub(crate) password: Secret,
    pub(crate) fault: Option<Fault>,
    pub(crate) fault_since: f64,
    pub(crate) run: RunState,
    pub(crate) settings: Settings,
    /// (code, Unix time) pairs, oldest first.
    pub(crate) error_codes: Vec<(u32, u64)>,
    pub(crate) tokens: TokenTable,
    pub(crate) rng: StdRng,
    pub(crate) counters: Counters,
    /// Requests handled, used to alternate fault variants.
    pub(crate) requests: u64,
    /// API v3 state, on miners that speak it (see `super::v3`).
    pub(crate) v3: Option<super::v3::V3State>,
    /// The firmware generation it plays (`None`: the generic replies).
    pub(crate) persona: Option<super::persona::Persona>,
    /// Whether it answers joined reads (`summary+devs+pools`).
    pub(crate) joins: bool,
    /// The build it was set up with, for going back to no persona.
    pub(crate) generic_firmware: Firmware,
}

impl MinerState {
    pub fn new(setup: MinerSetup) -> MinerState {
        let seed = noise::mix(setup.seed ^ noise::mix(setup.index as u64));
        let byte = |n: u64| (noise::hash3(seed, 1, n) & 0xff) as u8;
        let mac = format!("C6:07:20:{:02X}:{:02X}:{:02X}", byte(0), byte(1), byte(2));
        let serial = |prefix: &str, n: u64| {
            format!(
                "{prefix}{:012X}",
                noise::hash3(seed, 2, n) & 0xffff_ffff_ffff
            )
        };
        let id = Identity {
            index: setup.index,
            model: setup.model,
            firmware: setup.firmware,
            seed,
            ip: setup.ip,
            mac,
            hostname: format!("WhatsMiner{:05}", setup.index),
            miner_sn: serial("ZYA", 10),
            psu_sn: serial("PSU", 11),
            board_sn: [serial("HEM", 0), serial("HEM", 1), serial("HEM", 2)],
        };
        let now = setup.clock.now();
        // Booted between one hour and thirty days ago; btminer started a
        // minute after boot, or was restarted since on a third of miners.
        let boot_at = now - 3600.0 - noise::unit(seed, 3, 0) * 30.0 * 86_400.0;
        let btminer_start_at = if noise::unit(seed, 3, 1) < 0.33 {
            now - 600.0 - noise::unit(seed, 3, 2) * (now - boot_at - 600.0).max(0.0)
        } else {
            boot_at + 60.0
        };
        let mut error_codes = Vec::new();
        if noise::unit(seed, 3, 3) < 0.125 {
            // A few miners carry an old fan error from their history.
            let when = setup.clock.unix_at(now).saturating_sub(86_400);
            error_codes.push((110, when));
        }
        let settings = Settings::factory(&id);
        MinerState {
            run: RunState {
                powered_on: true,
                boot_at,
                btminer_start_at,
                hashing_since: btminer_start_at,
                banked_hash_secs: 0.0,
                off_at: 0.0,
                temp_at_off: [0.0; 3],
            },
            settings,
            password: setup.password,
            fault: None,
            fault_since: now,
            error_codes,
            tokens: TokenTable::default(),
            rng: StdRng::seed_from_u64(seed),
            counters: Counters::default(),
            requests: 0,
            v3: None,
            persona: None,
            joins: true,
            generic_firmware: setup.firmware,
            clock: setup.clock,
            id,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// The miner's current time, in seconds of its clock.
    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Moves this miner's clock forward (uptime, drift, token expiry).
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock.advance(by);
        let now = self.now();
        self.refresh(now);
    }

    /// Sets or clears the fault; a fault starts "now" (overheat climbs
    /// from this moment).
    pub fn set_fault(&mut self, fault: Option<Fault>) {
        let now = self.now();
        self.refresh(now);
        self.fault = fault;
        self.fault_since = now;
    }

    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_ref()
    }

    pub fn powered_on(&self) -> bool {
        self.run.powered_on
    }

    /// The admin password the miner checks, which differs from its
    /// configured one under [`Fault::WrongPassword`].
    pub(crate) fn effective_password(&self) -> Secret {
        match self.fault {
            Some(Fault::WrongPassword) => {
                Secret::new(format!("{}#not-the-fleet-password", self.password.expose()))
            }
            _ => self.password.clone(),
        }
    }

    /// Applies events that became due since the last look: an overheating
    /// miner switches itself off when a board reaches the threshold.
    pub fn refresh(&mut self, now: f64) {
        let Some(Fault::Overheat {
            rate_c_per_sec,
            shutdown_at_c,
        }) = self.fault
        else {
            return;
        };
        if !self.run.powered_on || rate_c_per_sec <= 0.0 {
            return;
        }
        let (hottest, temp) = self.hottest_board(now);
        if temp < shutdown_at_c {
            return;
        }
        // When the threshold was crossed, given the current climb.
        let excess = (temp - shutdown_at_c) / rate_c_per_sec;
        let crossed_at = (now - excess).max(self.heat_origin()).min(now);
        self.power_off(crossed_at);
        let code = OVERHEAT_ERROR_BASE + hottest as u32;
        self.push_error_code(code, crossed_at);
    }

    pub(crate) fn push_error_code(&mut self, code: u32, at: f64) {
        if self.error_codes.len() >= MAX_ERROR_CODES {
            self.error_codes.remove(0);
        }
        let unix = self.clock.unix_at(at);
        self.error_codes.push((code, unix));
    }

    /// Seconds spent hashing in the current btminer run.
    pub(crate) fn hashed_secs(&self, now: f64) -> f64 {
        let current = if self.run.powered_on {
            (now - self.run.hashing_since).max(0.0)
        } else {
            0.0
        };
        self.run.banked_hash_secs + current
    }

    pub(crate) fn power_off(&mut self, at: f64) {
        if !self.run.powered_on {
            return;
        }
        let temps = [0, 1, 2].map(|slot| self.board_temp(slot, at));
        self.run.banked_hash_secs += (at - self.run.hashing_since).max(0.0);
        self.run.powered_on = false;
        self.run.off_at = at;
        self.run.temp_at_off = temps;
    }

    pub(crate) fn power_on(&mut self, at: f64) {
        if self.run.powered_on {
            return;
        }
        self.run.powered_on = true;
        self.run.hashing_since = at;
    }

    /// Restarts the mining daemon: counters and elapsed time start over; a
    /// powered-off miner stays off.
    pub(crate) fn restart_btminer(&mut self, at: f64) {
        self.run.btminer_start_at = at;
        self.run.banked_hash_secs = 0.0;
        if self.run.powered_on {
            self.run.hashing_since = at;
        }
    }

    /// Reboots the control board: uptime starts over and the miner mines
    /// again, even if it had been powered off.
    pub(crate) fn reboot(&mut self, at: f64) {
        self.run.boot_at = at;
        self.run.powered_on = true;
        self.restart_btminer(at);
    }

    /// Restores factory settings. The admin password is kept so that the
    /// fleet stays reachable with the password it was started with.
    pub(crate) fn factory_reset(&mut self, at: f64) {
        self.settings = Settings::factory(&self.id);
        self.restart_btminer(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::Flavour;
    use crate::sim::testkit::miner;

    #[test]
    fn power_off_and_on_bank_hashing_time() {
        let mut m = miner(Model::M50, Flavour::Classic);
        m.restart_btminer(0.0);
        m.power_off(100.0);
        assert!(!m.powered_on());
        assert_eq!(m.hashed_secs(500.0), 100.0);
        m.power_on(500.0);
        assert_eq!(m.hashed_secs(600.0), 200.0);
        m.restart_btminer(700.0);
        assert_eq!(m.hashed_secs(710.0), 10.0);
    }

    #[test]
    fn reboot_powers_on_and_resets_uptime() {
        let mut m = miner(Model::M30S, Flavour::Classic);
        m.power_off(5.0);
        m.reboot(10.0);
        assert!(m.powered_on());
        assert_eq!(m.run.boot_at, 10.0);
        assert_eq!(m.run.btminer_start_at, 10.0);
    }

    #[test]
    fn overheat_switches_the_miner_off_at_the_threshold() {
        let mut m = miner(Model::M60S, Flavour::Wrapped);
        m.set_fault(Some(Fault::Overheat {
            rate_c_per_sec: 1.0,
            shutdown_at_c: 95.0,
        }));
        m.advance_clock(Duration::from_secs(5));
        assert!(m.powered_on(), "five degrees above normal is not enough");
        m.advance_clock(Duration::from_secs(120));
        assert!(!m.powered_on());
        let (code, _) = *m.error_codes.last().expect("an error code");
        assert!((350..353).contains(&code));
        // It went off when crossing the threshold, not when looked at.
        assert!(m.run.off_at < 100.0, "off at {}", m.run.off_at);
        assert!(m.run.temp_at_off.iter().any(|&t| (t - 95.0).abs() < 3.0));
    }

    #[test]
    fn wrong_password_fault_changes_the_effective_password() {
        let mut m = miner(Model::M50S, Flavour::Wrapped);
        assert_eq!(m.effective_password().expose(), "admin");
        m.set_fault(Some(Fault::WrongPassword));
        assert_ne!(m.effective_password().expose(), "admin");
    }

    #[test]
    fn identities_differ_between_miners_but_repeat_for_a_seed() {
        let a = miner(Model::M50, Flavour::Classic);
        let b = miner(Model::M50, Flavour::Classic);
        assert_eq!(a.id.mac, b.id.mac);
        let mut setup_c = MinerSetup {
            index: 2,
            model: Model::M50,
            firmware: Model::M50.pick_firmware(0.0, None),
            seed: 42,
            password: Secret::new("admin"),
            ip: IpAddr::from([127, 0, 0, 2]),
            clock: SimClock::manual(),
        };
        let c = MinerState::new(setup_c.clone());
        assert_ne!(a.id.mac, c.id.mac);
        setup_c.seed = 43;
        assert_ne!(c.id.mac, MinerState::new(setup_c).id.mac);
    }
}
