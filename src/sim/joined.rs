//! What a plain request asks for, as each firmware reads it: the request
//! key (`cmd`, `command`, or only `command` on cgminer 4.9.2), joined reads
//! (`summary+devs+pools`, answered in cgminer's form), and the persona's
//! error form. See `super::persona` for the evidence behind each rule.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::counters::{JOINED, READ_COMMANDS};
use super::miner::MinerState;
use super::persona::{Persona, RequestKeys, Shapes, Traits};
use super::replies::{error_reply, status_object};
use crate::protocol::codes;

/// cgminer's "Invalid command" (`api.c`, MSG_INVCMD).
const CGMINER_INVALID_COMMAND: &str = "Invalid command";
/// cgminer's reply to a JSON request without `command` (MSG_MISCMD).
pub const MISSING_COMMAND_CODE: i64 = 24;
pub const MISSING_COMMAND_MSG: &str = "Missing JSON 'command'";
/// cgminer's code for a command that may not be joined (MSG_ACCDENY).
const ACCESS_DENIED_CODE: i64 = 45;
/// Commands that cgminer marks joinable and btminer joins (pyasic joins
/// every read except `get_*` and `status`).
const JOINABLE: &[&str] = &["summary", "devs", "edevs", "pools", "devdetails"];

/// The command a plain request names, under the keys the firmware reads.
pub(crate) enum Asked<'a> {
    Command(&'a str),
    /// No key the firmware reads (cgminer: Code 24).
    Missing,
    /// A key of the wrong type (cgminer: Code 14).
    NotAString,
}

pub(crate) fn asked(request: &Map<String, Value>, keys: RequestKeys) -> Asked<'_> {
    let value = match keys {
        RequestKeys::CommandOnly => request.get("command"),
        RequestKeys::Both => request.get("cmd").or_else(|| request.get("command")),
    };
    match value {
        None => Asked::Missing,
        Some(Value::String(s)) => Asked::Command(s),
        Some(_) => Asked::NotAString,
    }
}

impl MinerState {
    /// How this miner's firmware behaves.
    pub fn traits(&self) -> Traits {
        self.persona.map_or(Traits::GENERIC, Persona::traits)
    }

    pub fn persona(&self) -> Option<Persona> {
        self.persona
    }

    /// Whether the miner answers joined reads.
    pub fn joins(&self) -> bool {
        self.joins
    }

    /// Turns joined reads on or off (a firmware that refuses them).
    pub fn set_joins(&mut self, joins: bool) {
        self.joins = joins;
    }

    /// Makes the miner play `persona` (`None`: the generic replies) on
    /// its model's build of that firmware, joining reads as that firmware
    /// does by default. API v3 cannot be switched on here: its listener
    /// exists only from the start.
    pub fn set_persona(&mut self, persona: Option<Persona>) {
        self.persona = persona;
        self.joins = persona.is_none_or(Persona::joins_by_default);
        self.id.firmware = match persona {
            Some(Persona::V3) if !self.speaks_v3() => self.generic_firmware,
            Some(p) => p.firmware(self.id.model),
            None if self.speaks_v3() => super::v3::FIRMWARE,
            None => self.generic_firmware,
        };
    }

    /// An error as the persona's firmware writes it.
    pub(crate) fn firmware_error(&self, when: u64, code: i64, msg: &str) -> Value {
        let traits = self.traits();
        if traits.list_errors {
            let description = traits.description.unwrap_or("");
            json!({ "STATUS": [status_object("E", when, code, msg.into(), description)], "id": 1 })
        } else {
            error_reply(when, code, msg)
        }
    }

    /// The persona's reply to a command it does not know.
    pub(crate) fn unknown_command(&self, when: u64) -> Value {
        let msg = if self.traits().list_errors {
            CGMINER_INVALID_COMMAND
        } else {
            "invalid cmd"
        };
        self.firmware_error(when, codes::INVALID_COMMAND, msg)
    }

    /// Whether the firmware has this plain read command at all.
    pub(crate) fn knows_read(&self, cmd: &str) -> bool {
        READ_COMMANDS.contains(&cmd)
            && (self.traits().whatsminer_commands || JOINABLE.contains(&cmd))
    }

    /// `summary+devs+pools`: each part answered as on its own, wrapped in
    /// a one-element list under its name, plus `"id":1` (cgminer's form). A
    /// repeated part is answered once; a part that cannot join gets Code 45
    /// and an unknown one the persona's unknown-command error, in place.
    pub(crate) fn joined_reply(
        &mut self,
        cmd: &str,
        request: &Map<String, Value>,
        peer: IpAddr,
        now: f64,
    ) -> Value {
        let when = self.clock.unix_at(now);
        self.counters.record(JOINED);
        let mut out = Map::new();
        for part in cmd.split('+') {
            if part.is_empty() || out.contains_key(part) {
                continue;
            }
            self.counters.record(part);
            let reply = if JOINABLE.contains(&part) {
                self.read_reply(part, request, peer, now)
            } else if self.knows_read(part) || super::counters::is_write_command(part) {
                let msg = format!("Access denied to '{part}' command");
                self.firmware_error(when, ACCESS_DENIED_CODE, &msg)
            } else {
                self.unknown_command(when)
            };
            out.insert(part.to_string(), json!([reply]));
        }
        out.insert("id".to_string(), json!(1));
        Value::Object(out)
    }

    /// Routes a read to the persona's own reply builders; `None` when the
    /// generic reply applies.
    pub(crate) fn persona_read(&self, cmd: &str, now: f64, when: u64) -> Option<Value> {
        let traits = self.traits();
        let shapes = traits.shapes;
        if cmd == "devdetails" && traits.devdetails_deprecated {
            return Some(self.firmware_error(when, 132, "This command is deprecated."));
        }
        if shapes == Shapes::Generic {
            return None;
        }
        match cmd {
            "summary" => Some(self.persona_summary(shapes, now, when)),
            "devs" | "edevs" => Some(self.persona_devs(shapes, now, when)),
            "pools" => Some(self.persona_pools(shapes, now, when)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_follow_the_firmware() {
        let request =
            |text: &str| -> Map<String, Value> { serde_json::from_str(text).expect("an object") };
        let cmd = request(r#"{"cmd":"summary"}"#);
        let command = request(r#"{"command":"pools"}"#);
        let number = request(r#"{"command":7}"#);
        assert!(matches!(
            asked(&cmd, RequestKeys::Both),
            Asked::Command("summary")
        ));
        assert!(matches!(
            asked(&command, RequestKeys::Both),
            Asked::Command("pools")
        ));
        assert!(matches!(
            asked(&cmd, RequestKeys::CommandOnly),
            Asked::Missing
        ));
        assert!(matches!(
            asked(&command, RequestKeys::CommandOnly),
            Asked::Command("pools")
        ));
        assert!(matches!(
            asked(&number, RequestKeys::CommandOnly),
            Asked::NotAString
        ));
    }
}
