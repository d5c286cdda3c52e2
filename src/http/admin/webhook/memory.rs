//! The webhook's settings and memory (budget, dedupe, power marks): a
//! reload replaces the settings and keeps the memory, which the state file
//! carries across restarts.

use super::super::guard_state::{self, Clocks, StoredGuards};
use super::super::guards::{Budget, Dedupe, PowerMarks};
use super::super::Directory;
use crate::settings::WebhookSettings;
use crate::transport::MinerAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Actions running at once; more wait for a slot.
const MAX_CONCURRENT_ACTIONS: usize = 32;

/// The webhook's settings and memory. A reload replaces the settings and
/// keeps the memory (budget used, dedupe, power marks).
#[derive(Debug)]
pub struct Webhook {
    config: RwLock<Tuning>,
    guards: Mutex<Guards>,
    pub(super) slots: Arc<Semaphore>,
    /// Counts failed writes of `config.state_file`.
    state_write_failures: prometheus::IntCounter,
}

/// What a reload may change.
#[derive(Debug, Clone)]
struct Tuning {
    settings: Arc<WebhookSettings>,
    retry_backoff: Duration,
}

#[derive(Debug)]
pub(super) struct Guards {
    pub(super) budget: Budget,
    pub(super) dedupe: Dedupe,
    pub(super) marks: PowerMarks,
}

impl Webhook {
    /// Fails when `config.state_file` exists but cannot be read: starting
    /// with an empty budget is what the file is there to prevent.
    pub fn new(
        config: WebhookSettings,
        retry_backoff: Duration,
        state_write_failures: prometheus::IntCounter,
    ) -> std::io::Result<Self> {
        let mut guards = Guards {
            budget: Budget::new(config.budget, config.budget_window),
            dedupe: Dedupe::new(config.dedupe_ttl),
            marks: PowerMarks::default(),
        };
        if let Some(path) = &config.state_file {
            let window = config.budget_window;
            let restored =
                guard_state::off_runtime(|| guard_state::load(path, Clocks::now(), window))?;
            if let Some(restored) = restored {
                tracing::info!(
                    file = %path.display(),
                    budget_used = restored.budget_taken.len(),
                    powered_off = restored.off_by_webhook.len(),
                    "webhook guards restored"
                );
                guards.budget.restore(restored.budget_taken);
                for (miner, at) in restored.off_by_webhook {
                    guards.marks.mark_off(&miner, at);
                }
            }
        }
        Ok(Webhook {
            config: RwLock::new(Tuning {
                settings: Arc::new(config),
                retry_backoff,
            }),
            guards: Mutex::new(guards),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_ACTIONS)),
            state_write_failures,
        })
    }

    /// The settings now (a reload may change them at any time).
    pub fn settings(&self) -> Arc<WebhookSettings> {
        self.tuning().settings
    }

    pub(super) fn retry_backoff(&self) -> Duration {
        self.tuning().retry_backoff
    }

    fn tuning(&self) -> Tuning {
        match self.config.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Takes reloaded settings at once: the next alert (and any action
    /// not yet sent) follows them. The budget already used still counts
    /// against the new limit; a new state file gets the memory now.
    pub fn reconfigure(&self, settings: WebhookSettings, retry_backoff: Duration) {
        let mut guards = self.guards();
        guards
            .budget
            .set_limit(settings.budget, settings.budget_window);
        guards.dedupe.set_ttl(settings.dedupe_ttl);
        let new_file = settings.state_file != self.settings().state_file;
        let tuning = Tuning {
            settings: Arc::new(settings),
            retry_backoff,
        };
        match self.config.write() {
            Ok(mut t) => *t = tuning,
            Err(poisoned) => *poisoned.into_inner() = tuning,
        }
        if new_file {
            self.persist(&mut guards);
        }
    }

    pub(super) fn guards(&self) -> MutexGuard<'_, Guards> {
        // The guards hold plain data; a panic elsewhere leaves it usable.
        self.guards.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the budget and the power marks to the state file, if there
    /// is one. Called with the guards locked, so writes land in the order
    /// of the changes. A failure is logged and counted, and the webhook
    /// goes on with its memory: the guards still hold until a restart.
    pub(super) fn persist(&self, guards: &mut Guards) {
        let settings = self.settings();
        let Some(path) = &settings.state_file else {
            return;
        };
        let clocks = Clocks::now();
        let stored = StoredGuards::new(
            clocks,
            guards.budget.taken(clocks.instant),
            guards.marks.powered_off(),
        );
        if let Err(e) = guard_state::off_runtime(|| guard_state::save(path, &stored)) {
            self.state_write_failures.inc();
            tracing::error!(
                file = %path.display(), error = %e,
                "could not save the webhook guards; a restart now would forget them"
            );
        }
    }

    pub fn budget_remaining(&self, now: Instant) -> u32 {
        self.guards().budget.remaining(now)
    }

    /// Takes a budget slot, saved before the command is sent: a crash
    /// right after sending must not give the slot back.
    pub(super) fn take_budget(&self) -> bool {
        let mut guards = self.guards();
        let taken = guards.budget.try_take(Instant::now());
        if taken {
            self.persist(&mut guards);
        }
        taken
    }

    /// Gives back the slot just taken for an action that sent nothing
    /// (the miner was already off).
    pub(super) fn give_back_budget(&self) {
        let mut guards = self.guards();
        if guards.budget.give_back_last() {
            self.persist(&mut guards);
        }
    }

    /// Forgets the webhook's power-off of `miner` (it was powered on).
    pub fn forget_power_off(&self, miner: &MinerAddr) {
        let mut guards = self.guards();
        if guards.marks.clear(miner) {
            self.persist(&mut guards);
        }
    }

    /// Drops the marks of miners no longer configured (at start and after
    /// a reload); the state file is rewritten only when one went.
    pub fn retain(&self, directory: &Directory) {
        let mut guards = self.guards();
        if guards.marks.retain(|addr| directory.contains_addr(addr)) {
            self.persist(&mut guards);
        }
    }
}
