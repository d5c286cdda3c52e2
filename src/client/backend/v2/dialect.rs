//! The per-miner v2 dialect: how one miner wants its reads sent, learned
//! from the miner's own answers and kept like the detected API.
//!
//! **Request key.** cgminer-4.9.2 firmware (2020 M20S/M30S) reads only
//! `{"command":..}` and answers `{"cmd":..}` with Code 24 "Missing JSON
//! 'command'"; btminer firmware (2021 on) accepts both keys (pyasic reads
//! every command with `command`). So reads go with `command` by default.
//! When a miner answers the `summary` read with Code 24 (the key was not
//! read) or with "invalid command" (Code 14, though every v2 firmware knows
//! `summary`), the same reads are sent once with the other key, and the key
//! that worked is kept for that miner. A learned key is forgotten after
//! [`FORGET_AFTER`] failed scrapes in a row (a reflashed miner), and the
//! default tried again. Writes and `get_token` keep `cmd`, as before.
//! Evidence: `../shared/protocol/NOTES.md`, "Real firmware diversity", and
//! the cgminer-4.9.2 captures named in `tests/fixtures/v2/README.md`.
//!
//! **Joined reads** ([`Joins`], see [`super::joined`]): `summary+devs+pools`
//! in one exchange until the miner answers that it does not join, then the
//! three apart. Learned like the key, and forgotten with it after repeated
//! failures or when the miner restarted (`Elapsed` went down: maybe a new
//! firmware), so a reflashed miner is asked again.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::client::streak::{record_outcome, FailureStreak};
use crate::error::ErrorKind;
use crate::protocol::codes::{INVALID_COMMAND, MISSING_COMMAND};
use crate::transport::MinerAddr;

/// Failed scrapes in a row after which a learned dialect is forgotten.
pub const FORGET_AFTER: u32 = 3;

/// The JSON key that names the command of a v2 read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RequestKey {
    /// `{"command":"summary"}`: cgminer's key, read by every generation.
    #[default]
    Command,
    /// `{"cmd":"summary"}`: btminer's own key (not read by cgminer 4.9.2).
    Cmd,
}

impl RequestKey {
    /// The key itself, also the `request_key` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKey::Command => "command",
            RequestKey::Cmd => "cmd",
        }
    }

    fn other(self) -> RequestKey {
        match self {
            RequestKey::Command => RequestKey::Cmd,
            RequestKey::Cmd => RequestKey::Command,
        }
    }
}

/// How one miner wants its v2 reads sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dialect {
    pub request_key: RequestKey,
    pub joins: Joins,
}

/// Whether a miner answers joined reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Joins {
    /// Not known yet: try a joined read.
    #[default]
    Untried,
    Yes,
    /// It answered a joined read as one unknown command.
    No,
}

impl Joins {
    /// Whether to try a joined read.
    pub fn worth_trying(self) -> bool {
        self != Joins::No
    }
}

/// The key to try after a `summary` read sent with `key` failed with
/// `kind`, when the answer says the miner did not read the key.
pub fn other_key(key: RequestKey, kind: &ErrorKind) -> Option<RequestKey> {
    match kind {
        ErrorKind::Miner {
            code: Some(MISSING_COMMAND),
            ..
        } if key == RequestKey::Cmd => Some(RequestKey::Command),
        ErrorKind::Miner {
            code: Some(INVALID_COMMAND),
            ..
        } => Some(key.other()),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
struct Learned {
    dialect: Dialect,
    failures: FailureStreak,
    /// The miner's `Elapsed` at the last successful read.
    elapsed: Option<u64>,
}

/// The learned dialects, by configured address.
#[derive(Debug, Default)]
pub struct Dialects {
    entries: Mutex<HashMap<MinerAddr, Learned>>,
}

impl Dialects {
    /// The dialect to use for `miner`: learned, else the default.
    pub fn get(&self, miner: &MinerAddr) -> Dialect {
        self.entries
            .lock()
            .ok()
            .and_then(|map| map.get(miner).map(|l| l.dialect))
            .unwrap_or_default()
    }

    /// Keeps `dialect` for `miner` (it just worked).
    pub fn learn(&self, miner: &MinerAddr, dialect: Dialect) {
        tracing::debug!(miner = %miner, request_key = dialect.request_key.as_str(), "v2 dialect learned");
        if let Ok(mut map) = self.entries.lock() {
            map.insert(
                miner.clone(),
                Learned {
                    dialect,
                    failures: FailureStreak::default(),
                    elapsed: None,
                },
            );
        }
    }

    /// Records a scrape's outcome; after [`FORGET_AFTER`] failures in a row
    /// the learned dialect is forgotten.
    pub fn record(&self, miner: &MinerAddr, success: bool) {
        if let Ok(mut map) = self.entries.lock() {
            record_outcome(&mut map, miner, success, FORGET_AFTER, |l| &mut l.failures);
        }
    }

    /// Notes the miner's uptime (`Elapsed`); when it went down the miner
    /// restarted, perhaps on new firmware, and its dialect is forgotten.
    pub fn observe_elapsed(&self, miner: &MinerAddr, elapsed: Option<u64>) {
        let (Ok(mut map), Some(now)) = (self.entries.lock(), elapsed) else {
            return;
        };
        let Some(learned) = map.get_mut(miner) else {
            return;
        };
        if learned.elapsed.is_some_and(|before| now < before) {
            tracing::debug!(miner = %miner, "miner restarted: v2 dialect forgotten");
            map.remove(miner);
        } else {
            learned.elapsed = Some(now);
        }
    }

    /// Drops the dialects of miners no longer configured.
    pub fn retain(&self, keep: &HashSet<MinerAddr>) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|k, _| keep.contains(k));
        }
    }

    /// Miners with a learned dialect.
    pub fn remembered(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miner_error(code: i64, message: &str) -> ErrorKind {
        ErrorKind::Miner {
            code: Some(code),
            message: message.into(),
        }
    }

    #[test]
    fn answers_that_say_the_key_was_not_read() {
        let missing = miner_error(24, "Missing JSON 'command'");
        assert_eq!(
            other_key(RequestKey::Cmd, &missing),
            Some(RequestKey::Command)
        );
        assert_eq!(other_key(RequestKey::Command, &missing), None);
        let invalid = miner_error(14, "invalid cmd");
        assert_eq!(
            other_key(RequestKey::Command, &invalid),
            Some(RequestKey::Cmd)
        );
        assert_eq!(
            other_key(RequestKey::Cmd, &invalid),
            Some(RequestKey::Command)
        );
        for kind in [
            miner_error(132, "This command is deprecated."),
            ErrorKind::Timeout,
            ErrorKind::NotJson("x".into()),
        ] {
            assert_eq!(other_key(RequestKey::Command, &kind), None, "{kind:?}");
        }
    }

    #[test]
    fn a_learned_key_is_kept_until_repeated_failures() {
        let d = Dialects::default();
        let a: MinerAddr = "127.0.0.1:4028".parse().unwrap();
        assert_eq!(d.get(&a).request_key, RequestKey::Command, "default");
        let cmd = Dialect {
            request_key: RequestKey::Cmd,
            ..Dialect::default()
        };
        d.learn(&a, cmd);
        d.record(&a, false);
        d.record(&a, false);
        d.record(&a, true); // a success resets the count
        d.record(&a, false);
        d.record(&a, false);
        assert_eq!(d.get(&a), cmd);
        d.record(&a, false);
        assert_eq!(d.get(&a), Dialect::default(), "forgotten after 3");
        d.learn(&a, cmd);
        d.retain(&HashSet::new());
        assert_eq!(d.get(&a), Dialect::default());
    }

    #[test]
    fn a_restart_forgets_what_was_learned() {
        let d = Dialects::default();
        let a: MinerAddr = "127.0.0.1:4028".parse().unwrap();
        let no_joins = Dialect {
            joins: Joins::No,
            ..Dialect::default()
        };
        d.learn(&a, no_joins);
        d.observe_elapsed(&a, Some(100));
        d.observe_elapsed(&a, None);
        d.observe_elapsed(&a, Some(160));
        assert_eq!(d.get(&a), no_joins);
        d.observe_elapsed(&a, Some(5));
        assert_eq!(d.get(&a), Dialect::default(), "restarted: asked again");
        assert!(Dialect::default().joins.worth_trying());
        assert!(!no_joins.joins.worth_trying());
    }
}
