//! API v3 for simulated miners: what a miner with 2024+ firmware serves on
//! its second listener (port 4433), next to the reduced v2 it keeps on
//! 4028 (the wrapped reply form).
//!
//! - `server`: the framed TCP side (4-byte little-endian length + JSON,
//!   several requests per connection, transport faults).
//! - this module: request routing, `get.device.info`, `get.miner.status`
//!   (sections joined by `+`), `get.miner.setting`, reply envelopes.
//! - `write`: the `set.*` commands, changing the same state the v2 writes
//!   change (power off/on, pools, LED, power mode and limit).
//! - `auth`: the miner's own token check and param decryption.
//!
//! A v3 miner's `super` password is the fleet password. Faults apply as on
//! v2 where they make sense: `WriteDisabled` and `WrongPassword` refuse
//! writes with `-4`, `StatusError` answers `-2`, transport faults act on
//! the frames.

pub mod auth;
mod replies;
pub(crate) mod server;
#[cfg(test)]
mod tests;
mod write;

use std::net::IpAddr;

use rand::Rng;
use serde_json::{json, Map, Value};

use super::fault::Fault;
use super::miner::MinerState;
use super::model::{Firmware, Flavour};
use super::replies::numbers_to_strings;

/// The v3 API version the simulated firmware reports.
pub const API_VERSION: &str = "3.0.2";

/// The firmware of every v3 miner: a 2025 build whose v2 side answers in
/// the wrapped form.
pub const FIRMWARE: Firmware = Firmware {
    version: "20250409.15.Rel",
    api_version: "2.0.5",
    flavour: Flavour::Wrapped,
};

/// Read commands served.
pub const READ_COMMANDS: &[&str] = &["get.device.info", "get.miner.status", "get.miner.setting"];

/// Write commands served (token required).
pub const WRITE_COMMANDS: &[&str] = &[
    "set.miner.service",
    "set.system.reboot",
    "set.system.led",
    "set.miner.pools",
    "set.miner.power_limit",
    "set.miner.power_mode",
    "set.user.change_passwd",
];

/// Reply codes (vendor API document).
pub mod code {
    pub const OK: i64 = 0;
    pub const FAILED: i64 = -1;
    pub const INVALID_COMMAND: i64 = -2;
    pub const INVALID_JSON_ITEM: i64 = -3;
    pub const NO_PERMISSION: i64 = -4;
}

/// The v3 part of a miner's state.
#[derive(Debug, Clone)]
pub struct V3State {
    /// The salt of write tokens; public, readable with `get.device.info`.
    pub salt: String,
}

impl MinerState {
    /// Turns on API v3: 2025 firmware, a salt. The fleet does this before
    /// the miner serves anything.
    pub fn enable_v3(&mut self) {
        self.id.firmware = FIRMWARE;
        let salt = new_salt(&mut self.rng);
        self.v3 = Some(V3State { salt });
    }

    pub fn speaks_v3(&self) -> bool {
        self.v3.is_some()
    }

    /// Draws a new salt (as after a reboot); tokens made with the old one
    /// are refused with `-4` from now on.
    pub fn rotate_v3_salt(&mut self) {
        let salt = new_salt(&mut self.rng);
        if let Some(v3) = self.v3.as_mut() {
            v3.salt = salt;
        }
    }

    /// Handles one v3 request payload (one frame) and returns the reply
    /// payload.
    pub fn handle_v3_request(&mut self, payload: &[u8], _peer: IpAddr) -> Vec<u8> {
        let now = self.now();
        self.refresh(now);
        self.requests = self.requests.wrapping_add(1);
        let when = self.clock.unix_at(now);
        let reply = match serde_json::from_slice::<Value>(payload) {
            Ok(Value::Object(request)) => self.route_v3(&request, now),
            _ => {
                self.counters.record(super::counters::UNKNOWN);
                envelope(when, code::FAILED, json!("invalid json"), "")
            }
        };
        let reply = if matches!(self.fault, Some(Fault::NumbersAsStrings)) {
            numbers_to_strings(reply)
        } else {
            reply
        };
        reply.to_string().into_bytes()
    }

    fn route_v3(&mut self, request: &Map<String, Value>, now: f64) -> Value {
        let when = self.clock.unix_at(now);
        let cmd = request.get("cmd").and_then(Value::as_str).unwrap_or("");
        self.counters.record(cmd);
        let param = request.get("param");
        if matches!(self.fault, Some(Fault::StatusError)) {
            return envelope(when, code::INVALID_COMMAND, json!("invalid command"), cmd);
        }
        let result = match cmd {
            "get.device.info" => self.device_info_v3(param, now),
            "get.miner.status" => self.miner_status_v3(param, now),
            "get.miner.setting" => Ok(self.miner_setting_v3()),
            write if WRITE_COMMANDS.contains(&write) => self.write_v3(write, request, now),
            _ => Err((code::INVALID_COMMAND, "invalid command")),
        };
        let mut reply = match result {
            Ok(msg) => envelope(when, code::OK, msg, cmd),
            Err((c, text)) => envelope(when, c, json!(text), cmd),
        };
        if matches!(self.fault, Some(Fault::WrongShape)) {
            if let Some(map) = reply.as_object_mut() {
                map.insert("msg".into(), json!([1, 2, 3]));
            }
        }
        reply
    }
}

/// Every v3 reply: `{"code","when","msg","desc"}`.
pub fn envelope(when: u64, code: i64, msg: Value, desc: &str) -> Value {
    json!({ "code": code, "when": when, "msg": msg, "desc": desc })
}

/// A refusal: code and its text.
pub(crate) type Refusal = (i64, &'static str);

fn new_salt(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..8)
        .map(|_| {
            let i = rng.gen_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}
