//! Watched target lists: the `[[miner_files]]` are checked every
//! `[server] miner_files_poll` (size, modification time and inode: no
//! content is read unless one of these changed). When one changed, the
//! configuration is read again and only its miner list is applied; the
//! rest of the file waits for a reload, as Prometheus reads its file_sd
//! lists without reloading prometheus.yml. A read that fails keeps the
//! running list, logs why (never the file's content) and sets
//! `whatsminer_exporter_miner_files_last_reload_successful` to 0.

use super::Applier;
use crate::files::{stamp, FileStamp};
use crate::settings::Settings;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Reads the configuration (blocking: it reads files).
pub type Loader = Arc<dyn Fn() -> Result<Settings, String> + Send + Sync>;

/// When the poll is off or there is nothing to watch, how soon to look
/// again whether a reload changed that.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Each path with its stamp; `None`: it cannot be read now.
type Stamps = Vec<(PathBuf, Option<FileStamp>)>;

fn stamps(paths: &[PathBuf]) -> Stamps {
    paths
        .iter()
        .map(|path| (path.clone(), stamp(path)))
        .collect()
}

async fn stamps_off_thread(paths: Vec<PathBuf>) -> Stamps {
    tokio::task::spawn_blocking(move || stamps(&paths))
        .await
        .unwrap_or_default()
}

/// Checks the miner files until shutdown; see the module comment.
pub fn spawn(
    applier: Applier,
    load: Loader,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = stamps_off_thread(applier.miner_files().paths).await;
        loop {
            let files = applier.miner_files();
            let pause = if files.poll.is_zero() || files.paths.is_empty() {
                IDLE_CHECK
            } else {
                files.poll
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return,
            }
            let files = applier.miner_files();
            if files.poll.is_zero() || (files.paths.is_empty() && last.is_empty()) {
                continue;
            }
            // Reloads and these reads take turns: the stamps are compared
            // with the list the running settings came from.
            let _one_at_a_time = applier.state.reload_guard().await;
            let now = stamps_off_thread(files.paths).await;
            let same_files = now.iter().map(|(p, _)| p).eq(last.iter().map(|(p, _)| p));
            if now == last || !same_files {
                // Unchanged, or a reload named other files and read them.
                last = now;
                continue;
            }
            last = now;
            let load = load.clone();
            let loaded = tokio::task::spawn_blocking(move || load())
                .await
                .map_err(|e| format!("reload task failed: {e}"))
                .and_then(|r| r);
            let gauge = &applier.state.telemetry.miner_files_reload_ok;
            match loaded {
                Ok(settings) => {
                    let miners = applier.apply_miners(settings);
                    gauge.set(1);
                    tracing::info!(miners, "miner files changed; miner list reloaded");
                }
                Err(e) => {
                    gauge.set(0);
                    tracing::error!(error = %e, "miner files changed but do not load; keeping the previous miner list");
                }
            }
        }
    })
}
