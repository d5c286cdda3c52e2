//! The webhook's guard memory on disk (`[webhook] state_file`): the
//! power-offs that count against the budget and the miners the webhook
//! itself powered off. Without it a restart (a crash loop, a deploy) would
//! refill the budget, so a bad alert rule could power off one budget's worth
//! of miners per restart, and the webhook would forget which miners to
//! power back on when their alerts resolve.
//!
//! `Instant`s cannot be stored, so times go to disk as Unix milliseconds and
//! come back as instants at the same age; budget entries older than the
//! window are dropped then. A time in the future (the wall clock stepped
//! back), or one the platform's `Instant` cannot represent, is taken as
//! "now": it keeps its budget slot for a whole window rather than freeing it
//! early. The file is replaced atomically (write, fsync, rename), so a
//! crash leaves the old or the new state, never half of one. Alert dedupe is
//! not stored: a re-sent alert for a miner the webhook powered off is
//! stopped by the power marks, and any other by the miner's own status.
//!
//! Reads and writes go through [`off_runtime`]: a state file on a slow or
//! hung disk (the write is fsynced) must not hold up a runtime thread that
//! serves `/metrics`.

use crate::files::{read_capped, write_atomically, FileError};
use crate::transport::MinerAddr;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bumped when the layout changes; a file of another version is refused.
const VERSION: u32 = 1;
/// A state file is a few KiB; anything much larger is not ours.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What is stored, with instants already turned into wall-clock times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredGuards {
    pub version: u32,
    /// Unix milliseconds of each power-off still in the budget window.
    pub budget_taken_unix_ms: Vec<u64>,
    /// Miners the webhook powered off, and when.
    pub off_by_webhook: Vec<StoredMark>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredMark {
    /// `host:port`, as [`MinerAddr`] prints it.
    pub miner: String,
    pub at_unix_ms: u64,
}

/// The same state in this process's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoredGuards {
    pub budget_taken: Vec<Instant>,
    pub off_by_webhook: Vec<(MinerAddr, Instant)>,
}

/// One clock reading of both kinds, to convert between them.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl Clocks {
    pub fn now() -> Clocks {
        Clocks {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    fn to_unix_ms(self, at: Instant) -> u64 {
        let age = self.instant.saturating_duration_since(at);
        let wall = self.wall.checked_sub(age).unwrap_or(UNIX_EPOCH);
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// How long ago `ms` was; zero for a time in the future.
    fn age_of(self, ms: u64) -> Duration {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .and_then(|wall| self.wall.duration_since(wall).ok())
            .unwrap_or(Duration::ZERO)
    }

    /// The instant `age` ago, or now when `Instant` cannot represent it
    /// (on some platforms it cannot reach back before boot).
    fn instant_aged(self, age: Duration) -> Instant {
        self.instant.checked_sub(age).unwrap_or(self.instant)
    }
}

impl StoredGuards {
    pub fn new(
        clocks: Clocks,
        budget_taken: impl Iterator<Item = Instant>,
        off_by_webhook: impl Iterator<Item = (MinerAddr, Instant)>,
    ) -> StoredGuards {
        StoredGuards {
            version: VERSION,
            budget_taken_unix_ms: budget_taken.map(|at| clocks.to_unix_ms(at)).collect(),
            off_by_webhook: off_by_webhook
                .map(|(miner, at)| StoredMark {
                    miner: miner.to_string(),
                    at_unix_ms: clocks.to_unix_ms(at),
                })
                .collect(),
        }
    }

    /// Back to instants; budget entries at least `budget_window` old are
    /// dropped. A miner address that no longer parses is an error: the file
    /// was edited or is not ours.
    pub fn restore(
        &self,
        clocks: Clocks,
        budget_window: Duration,
    ) -> Result<RestoredGuards, String> {
        let budget_taken = self
            .budget_taken_unix_ms
            .iter()
            .map(|ms| clocks.age_of(*ms))
            .filter(|age| *age < budget_window)
            .map(|age| clocks.instant_aged(age))
            .collect();
        let mut off_by_webhook = Vec::with_capacity(self.off_by_webhook.len());
        for mark in &self.off_by_webhook {
            let miner: MinerAddr = mark.miner.parse().map_err(|_| {
                format!(
                    "{:?} is not a miner address",
                    crate::error::truncate_for_log(&mark.miner, 60)
                )
            })?;
            off_by_webhook.push((miner, clocks.instant_aged(clocks.age_of(mark.at_unix_ms))));
        }
        Ok(RestoredGuards {
            budget_taken,
            off_by_webhook,
        })
    }
}

/// Reads the state file: `Ok(None)` when there is none yet (first start).
/// Anything unreadable is an error, and the exporter does not start: a
/// guard that silently restarts empty is what the file exists to prevent.
pub fn load(
    path: &Path,
    clocks: Clocks,
    budget_window: Duration,
) -> io::Result<Option<RestoredGuards>> {
    let invalid = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let bytes = match read_capped(path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(FileError::Io(e)) => {
            return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        }
        Err(e) => return Err(invalid(e.to_string())),
    };
    let stored: StoredGuards = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not a webhook state file ({e})")))?;
    if stored.version != VERSION {
        return Err(invalid(format!(
            "version {} (this exporter reads {VERSION})",
            stored.version
        )));
    }
    stored
        .restore(clocks, budget_window)
        .map(Some)
        .map_err(invalid)
}

/// Replaces the state file atomically ([`write_atomically`]).
pub fn save(path: &Path, state: &StoredGuards) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    write_atomically(path, &text)
}

/// Runs `file_work` (blocking file I/O) so that it holds up no runtime
/// thread: on the multi-threaded runtime the worker hands its other tasks
/// to another thread for the duration (`block_in_place`); elsewhere (a
/// blocking thread, a current-thread runtime in tests, no runtime) it just
/// runs.
pub fn off_runtime<T>(file_work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(file_work)
        }
        _ => file_work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn clocks_at(wall_secs: u64) -> Clocks {
        Clocks {
            instant: Instant::now() + Duration::from_secs(3600),
            wall: UNIX_EPOCH + Duration::from_secs(wall_secs),
        }
    }

    #[test]
    fn times_survive_a_restart_at_the_same_age() {
        let before = clocks_at(1_000_000);
        let miner: MinerAddr = "127.0.0.9:4028".parse().unwrap();
        let taken = [before.instant - Duration::from_secs(60), before.instant];
        let stored = StoredGuards::new(
            before,
            taken.into_iter(),
            [(miner.clone(), before.instant - Duration::from_secs(5))].into_iter(),
        );
        assert_eq!(stored.budget_taken_unix_ms, [999_940_000, 1_000_000_000]);
        // The "new process" starts 10 minutes of wall time later.
        let after = clocks_at(1_000_600);
        let restored = stored.restore(after, HOUR).unwrap();
        assert_eq!(
            restored.budget_taken,
            [
                after.instant - Duration::from_secs(660),
                after.instant - Duration::from_secs(600)
            ]
        );
        assert_eq!(
            restored.off_by_webhook,
            [(miner, after.instant - Duration::from_secs(605))]
        );
    }

    #[test]
    fn old_entries_expire_and_unknowable_ones_count_as_now() {
        let stored = StoredGuards {
            version: VERSION,
            // An hour and a second ago, a minute ago, and two in the future.
            budget_taken_unix_ms: vec![996_399_000, 999_940_000, 5_000_000_000, u64::MAX],
            off_by_webhook: vec![],
        };
        let clocks = clocks_at(1_000_000);
        let restored = stored.restore(clocks, HOUR).unwrap();
        assert_eq!(
            restored.budget_taken,
            [
                clocks.instant - Duration::from_secs(60),
                clocks.instant,
                clocks.instant
            ]
        );
        // An age the monotonic clock cannot represent is now.
        assert_eq!(clocks.instant_aged(Duration::MAX), clocks.instant);
    }

    #[test]
    fn files_round_trip_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhook-state.json");
        let clocks = clocks_at(2_000_000);
        assert_eq!(load(&path, clocks, HOUR).unwrap(), None, "no file yet");
        let miner: MinerAddr = "[::1]:4433".parse().unwrap();
        let stored = StoredGuards::new(
            clocks,
            [clocks.instant].into_iter(),
            [(miner.clone(), clocks.instant)].into_iter(),
        );
        save(&path, &stored).unwrap();
        let restored = load(&path, clocks, HOUR).unwrap().unwrap();
        assert_eq!(restored.budget_taken, [clocks.instant]);
        assert_eq!(restored.off_by_webhook, [(miner, clocks.instant)]);
        assert!(!dir.path().join("webhook-state.json.tmp").exists());

        for (text, expected) in [
            ("{not json", "not a webhook state file"),
            (
                r#"{"version":9,"budget_taken_unix_ms":[],"off_by_webhook":[]}"#,
                "version 9",
            ),
            (
                r#"{"version":1,"budget_taken_unix_ms":[],"off_by_webhook":[{"miner":"no port:x","at_unix_ms":1}]}"#,
                "is not a miner address",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = load(&path, clocks, HOUR).unwrap_err().to_string();
            assert!(
                e.contains(expected) && e.contains("webhook-state.json"),
                "{e}"
            );
        }
        let huge = vec![b' '; usize::try_from(MAX_FILE_BYTES).unwrap() + 1];
        std::fs::write(&path, huge).unwrap();
        let e = load(&path, clocks, HOUR).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
    }

    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("state.json");
        assert!(save(&path, &StoredGuards::default()).is_err());
        assert!(!dir.path().join("missing-dir").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn file_work_holds_up_no_runtime_thread() {
        // One worker: if the file work below kept it, the task that
        // unblocks it could never run, and the wait would end in a timeout.
        let (unblock, blocked) = std::sync::mpsc::channel::<()>();
        let file_work =
            tokio::spawn(
                async move { off_runtime(|| blocked.recv_timeout(Duration::from_secs(30))) },
            );
        tokio::spawn(async move {
            let _ = unblock.send(());
        });
        let waited = file_work.await.expect("task");
        assert!(waited.is_ok(), "the runtime's one worker was held");
    }
}
