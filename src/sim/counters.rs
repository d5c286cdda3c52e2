//! The command names a simulated miner knows, and per-miner counters of the
//! commands it received, so tests can assert how often a client asked for
//! a token or sent a write (single-flight, caching, retry limits).

use std::collections::BTreeMap;

/// Read-only commands, answered in plain JSON.
pub const READ_COMMANDS: &[&str] = &[
    "summary",
    "devs",
    "edevs",
    "pools",
    "devdetails",
    "get_version",
    "get_psu",
    "status",
    "get_miner_info",
    "get_error_code",
    "get_token",
];

/// Writeable commands, accepted only inside the encrypted envelope.
pub use crate::protocol::codes::WRITE_COMMANDS;

/// Counter key of commands the miner does not know.
pub const UNKNOWN: &str = "unknown";
/// Counter key of joined reads (`summary+devs+pools`); each part is
/// counted under its own name too.
pub const JOINED: &str = "joined";
/// Counter key of encrypted requests that could not be opened.
pub const UNDECRYPTABLE: &str = "enc_undecryptable";

/// The static name of a known command (v2, or v3 on v3 miners), if it is
/// one.
pub fn known_command(name: &str) -> Option<&'static str> {
    READ_COMMANDS
        .iter()
        .chain(WRITE_COMMANDS)
        .chain(super::v3::READ_COMMANDS)
        .chain(super::v3::WRITE_COMMANDS)
        .find(|&&known| known == name)
        .copied()
}

pub fn is_write_command(name: &str) -> bool {
    WRITE_COMMANDS.contains(&name)
}

/// Counts per command name. Keys come from the fixed lists above (plus
/// [`UNKNOWN`] and [`UNDECRYPTABLE`]), so a client sending random names
/// cannot grow the map.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    counts: BTreeMap<&'static str, u64>,
}

impl Counters {
    pub fn record(&mut self, command: &str) {
        let key = match command {
            UNDECRYPTABLE => UNDECRYPTABLE,
            JOINED => JOINED,
            other => known_command(other).unwrap_or(UNKNOWN),
        };
        let count = self.counts.entry(key).or_insert(0);
        *count = count.saturating_add(1);
    }

    pub fn get(&self, command: &str) -> u64 {
        self.counts.get(command).copied().unwrap_or(0)
    }

    pub fn all(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_names_and_buckets_the_rest() {
        let mut c = Counters::default();
        c.record("get_token");
        c.record("get_token");
        c.record("power_off");
        c.record("made_up_1");
        c.record("made_up_2");
        c.record(UNDECRYPTABLE);
        assert_eq!(c.get("get_token"), 2);
        assert_eq!(c.get("power_off"), 1);
        assert_eq!(c.get(UNKNOWN), 2);
        assert_eq!(c.get(UNDECRYPTABLE), 1);
        assert_eq!(c.get("made_up_1"), 0);
        assert_eq!(c.all().len(), 4);
        assert!(is_write_command("update_pwd") && !is_write_command("summary"));
    }
}
