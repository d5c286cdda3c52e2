//! The webhook's safety guards, kept free of I/O so they can be tested with
//! explicit instants: the power-off [`Budget`] (a sliding window), the alert
//! [`Dedupe`] memory (so Alertmanager's repeats and retries act once), and
//! the [`PowerMarks`] that remember which miners the webhook itself powered
//! off (so a second alert does not hit them again, and only those are
//! powered back on when an alert resolves).

use crate::transport::MinerAddr;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Most alerts remembered at once; past it the oldest entries go first.
/// Alertmanager sends far fewer distinct alerts per TTL on any real farm.
pub const MAX_REMEMBERED_ALERTS: usize = 100_000;

/// At most `limit` actions per sliding `window`.
#[derive(Debug)]
pub struct Budget {
    limit: u32,
    window: Duration,
    taken: VecDeque<Instant>,
}

impl Budget {
    pub fn new(limit: u32, window: Duration) -> Self {
        Budget {
            limit,
            window,
            taken: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(first) = self.taken.front() {
            if now.saturating_duration_since(*first) >= self.window {
                self.taken.pop_front();
            } else {
                break;
            }
        }
    }

    /// New limits (on reload); slots already taken keep counting.
    pub fn set_limit(&mut self, limit: u32, window: Duration) {
        self.limit = limit;
        self.window = window;
    }

    /// Takes one slot if any is left in the window ending at `now`.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.expire(now);
        if self.taken.len() < self.limit as usize {
            self.taken.push_back(now);
            true
        } else {
            false
        }
    }

    /// Gives back the slot taken last (its action sent nothing); false if
    /// none is taken.
    pub fn give_back_last(&mut self) -> bool {
        self.taken.pop_back().is_some()
    }

    /// When each slot still in the window was taken (for the state file).
    pub fn taken(&mut self, now: Instant) -> impl Iterator<Item = Instant> + '_ {
        self.expire(now);
        self.taken.iter().copied()
    }

    /// Counts slots taken before a restart (in any order).
    pub fn restore(&mut self, taken: impl IntoIterator<Item = Instant>) {
        let mut all: Vec<Instant> = self.taken.drain(..).chain(taken).collect();
        all.sort();
        self.taken = all.into();
    }

    /// Slots left in the window ending at `now`.
    pub fn remaining(&mut self, now: Instant) -> u32 {
        self.expire(now);
        let used = u32::try_from(self.taken.len()).unwrap_or(u32::MAX);
        self.limit.saturating_sub(used)
    }
}

/// Alerts already handled, each remembered for `ttl`. Lookups, expiry and
/// eviction are O(1) (amortised): 100,000 remembered alerts cost a scan
/// per alert before (1.1 s per 1,300-alert notification, issue 19).
#[derive(Debug)]
pub struct Dedupe {
    ttl: Duration,
    seen: HashMap<String, Instant>,
    /// Keys in the order they were remembered, with when: expiry and
    /// eviction take from the front. An entry whose key was forgotten or
    /// remembered again since is stale and skipped.
    order: VecDeque<(Instant, String)>,
}

impl Dedupe {
    pub fn new(ttl: Duration) -> Self {
        Dedupe {
            ttl,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A new time to remember alerts (on reload).
    pub fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    /// True the first time `key` is offered within the TTL (and remembers
    /// it); false for a repeat.
    pub fn first_seen(&mut self, key: &str, now: Instant) -> bool {
        self.expire(now);
        if let Some(at) = self.seen.get(key) {
            if now.saturating_duration_since(*at) < self.ttl {
                return false;
            }
        }
        while self.seen.len() >= MAX_REMEMBERED_ALERTS && self.evict_oldest() {}
        self.seen.insert(key.to_string(), now);
        self.order.push_back((now, key.to_string()));
        if self.order.len() > 2 * MAX_REMEMBERED_ALERTS {
            // Stale entries from forget-and-resend cycles: drop them all.
            let seen = &self.seen;
            self.order.retain(|(at, k)| seen.get(k) == Some(at));
        }
        true
    }

    /// Forgets `key`, so that a later re-send is handled again (after a
    /// failure that a retry might fix).
    pub fn forget(&mut self, key: &str) {
        self.seen.remove(key);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops what was remembered more than the TTL before `now`.
    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            self.pop_front();
        }
    }

    /// Drops the oldest remembered key; false when nothing is left.
    fn evict_oldest(&mut self) -> bool {
        while !self.order.is_empty() {
            if self.pop_front() {
                return true;
            }
        }
        false
    }

    /// Pops the front entry; true if it was live (and so removed).
    fn pop_front(&mut self) -> bool {
        let Some((at, key)) = self.order.pop_front() else {
            return false;
        };
        if self.seen.get(&key) == Some(&at) {
            self.seen.remove(&key);
            return true;
        }
        false
    }
}

/// What the webhook knows about a miner's power from its own actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerMark {
    /// A webhook power-off for it is under way.
    PoweringOff,
    /// The webhook powered it off at this instant.
    OffByWebhook(Instant),
}

/// How a new power-off request for a miner must proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Go ahead (the miner is now marked `PoweringOff`); `previous` is put
    /// back by [`PowerMarks::release`] if the power-off does not happen.
    Granted { previous: Option<PowerMark> },
    /// Another power-off is under way or just happened: do nothing.
    AlreadyOff,
}

/// Per-miner power marks.
#[derive(Debug, Default)]
pub struct PowerMarks {
    marks: HashMap<MinerAddr, PowerMark>,
}

impl PowerMarks {
    /// Claims `miner` for a power-off. A mark older than `trust` is not
    /// believed blindly (someone may have powered the miner on since): the
    /// claim is granted and the caller checks the miner's status.
    pub fn claim(&mut self, miner: &MinerAddr, now: Instant, trust: Duration) -> Claim {
        let previous = self.marks.get(miner).copied();
        match previous {
            Some(PowerMark::PoweringOff) => Claim::AlreadyOff,
            Some(PowerMark::OffByWebhook(at)) if now.saturating_duration_since(at) < trust => {
                Claim::AlreadyOff
            }
            _ => {
                self.marks.insert(miner.clone(), PowerMark::PoweringOff);
                Claim::Granted { previous }
            }
        }
    }

    /// Undoes a claim whose power-off did not happen.
    pub fn release(&mut self, miner: &MinerAddr, previous: Option<PowerMark>) {
        match previous {
            Some(mark) => self.marks.insert(miner.clone(), mark),
            None => self.marks.remove(miner),
        };
    }

    pub fn mark_off(&mut self, miner: &MinerAddr, now: Instant) {
        self.marks
            .insert(miner.clone(), PowerMark::OffByWebhook(now));
    }

    /// Forgets a miner (it was powered on); says whether it had a mark.
    pub fn clear(&mut self, miner: &MinerAddr) -> bool {
        self.marks.remove(miner).is_some()
    }

    /// Whether the webhook powered `miner` off and nothing powered it on
    /// since, as far as the exporter knows.
    pub fn is_off_by_webhook(&self, miner: &MinerAddr) -> bool {
        matches!(self.marks.get(miner), Some(PowerMark::OffByWebhook(_)))
    }

    /// The miners the webhook powered off, and when (for the state file).
    pub fn powered_off(&self) -> impl Iterator<Item = (MinerAddr, Instant)> + '_ {
        self.marks.iter().filter_map(|(addr, mark)| match mark {
            PowerMark::OffByWebhook(at) => Some((addr.clone(), *at)),
            PowerMark::PoweringOff => None,
        })
    }

    /// Keeps marks only for configured miners (after a reload).
    /// Says whether any mark was dropped.
    pub fn retain(&mut self, keep: impl Fn(&MinerAddr) -> bool) -> bool {
        let before = self.marks.len();
        self.marks.retain(|addr, _| keep(addr));
        self.marks.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> MinerAddr {
        MinerAddr::from_socket_addr(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn budget_is_a_sliding_window() {
        let t0 = Instant::now();
        let mut b = Budget::new(2, Duration::from_secs(60));
        assert_eq!(b.remaining(t0), 2);
        assert!(b.try_take(t0));
        assert!(b.try_take(t0 + Duration::from_secs(30)));
        assert!(!b.try_take(t0 + Duration::from_secs(59)));
        assert_eq!(b.remaining(t0 + Duration::from_secs(59)), 0);
        // The first slot frees at 60 s, the second at 90 s.
        assert!(b.try_take(t0 + Duration::from_secs(60)));
        assert!(!b.try_take(t0 + Duration::from_secs(89)));
        assert_eq!(b.remaining(t0 + Duration::from_secs(150)), 2);
    }

    #[test]
    fn zero_budget_never_allows() {
        let mut b = Budget::new(0, Duration::from_secs(1));
        assert!(!b.try_take(Instant::now()));
        assert_eq!(b.remaining(Instant::now()), 0);
    }

    #[test]
    fn dedupe_remembers_for_the_ttl_and_can_forget() {
        let t0 = Instant::now();
        let mut d = Dedupe::new(Duration::from_secs(10));
        assert!(d.first_seen("a", t0));
        assert!(!d.first_seen("a", t0 + Duration::from_secs(9)));
        assert!(d.first_seen("b", t0));
        assert!(d.first_seen("a", t0 + Duration::from_secs(10)));
        d.forget("b");
        assert!(d.first_seen("b", t0 + Duration::from_secs(1)));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn dedupe_memory_is_bounded() {
        let t0 = Instant::now();
        let mut d = Dedupe::new(Duration::from_secs(3600));
        for i in 0..MAX_REMEMBERED_ALERTS + 10 {
            assert!(d.first_seen(&i.to_string(), t0 + Duration::from_micros(i as u64)));
        }
        assert!(d.len() <= MAX_REMEMBERED_ALERTS);
        assert!(!d.first_seen(&(MAX_REMEMBERED_ALERTS + 5).to_string(), t0));
        // The oldest went first.
        let now = t0 + Duration::from_secs(1);
        assert!(d.first_seen("0", now), "the oldest key was kept");
    }

    #[test]
    fn dedupe_stays_bounded_through_forget_and_resend() {
        let t0 = Instant::now();
        let mut d = Dedupe::new(Duration::from_secs(3600));
        for i in 0..3 * MAX_REMEMBERED_ALERTS {
            assert!(d.first_seen("flaky", t0 + Duration::from_micros(i as u64)));
            d.forget("flaky");
        }
        assert!(d.order.len() <= 2 * MAX_REMEMBERED_ALERTS + 1);
        assert!(d.is_empty());
        // Expiry: everything older than the TTL goes.
        let t1 = t0 + Duration::from_secs(1);
        assert!(d.first_seen("a", t1));
        assert!(d.first_seen("b", t1 + Duration::from_secs(3599)));
        assert!(d.first_seen("c", t1 + Duration::from_secs(3600)));
        assert_eq!(d.len(), 2, "a expired");
    }

    #[test]
    fn marks_block_a_second_power_off_and_release_restores() {
        let t0 = Instant::now();
        let trust = Duration::from_secs(120);
        let mut m = PowerMarks::default();
        let a = addr(1);
        let Claim::Granted { previous } = m.claim(&a, t0, trust) else {
            panic!("first claim refused");
        };
        assert_eq!(previous, None);
        assert_eq!(m.claim(&a, t0, trust), Claim::AlreadyOff, "in flight");
        m.release(&a, previous);
        assert!(matches!(m.claim(&a, t0, trust), Claim::Granted { .. }));
        m.mark_off(&a, t0);
        assert!(m.is_off_by_webhook(&a));
        assert_eq!(
            m.claim(&a, t0 + Duration::from_secs(5), trust),
            Claim::AlreadyOff
        );
        // An old mark is re-checked: granted, and restored on release.
        let later = t0 + Duration::from_secs(600);
        let Claim::Granted { previous } = m.claim(&a, later, trust) else {
            panic!("old mark must be re-checked");
        };
        assert_eq!(previous, Some(PowerMark::OffByWebhook(t0)));
        m.release(&a, previous);
        assert!(m.is_off_by_webhook(&a));
        assert!(m.clear(&a), "it had a mark");
        assert!(!m.is_off_by_webhook(&a));
        assert!(!m.clear(&a), "nothing left to clear");
        m.mark_off(&a, t0);
        assert!(!m.retain(|_| true), "nothing dropped");
        assert!(m.retain(|_| false) && !m.is_off_by_webhook(&a));
        assert!(!m.is_off_by_webhook(&addr(2)));
    }
}
