//! Scrapes that share: requests for the same data share one exchange with
//! the miners instead of each starting their own.
//!
//! Why: every `GET /metrics` used to start a full fleet scrape, so an HA
//! pair of Prometheus servers, a person with curl or a misconfigured
//! scraper multiplied the connections every miner must accept (measured: 20
//! concurrent requests on 50 miners made 3,000 connections where one scrape
//! makes 150). Miners have a small connection limit.
//!
//! Two ways to share, per key (the fleet's target list, or one `/probe`
//! target):
//! - **in flight**: a request joins a scrape already running when that
//!   scrape's deadline is no later than its own, so joining never makes it
//!   answer late. Otherwise it starts its own scrape. A request's deadline
//!   is taken under the lock, when its turn comes: taken before, two
//!   requests with the same budget could reach the lock in the other order,
//!   and the one with the earlier deadline would start a second scrape.
//! - **recent**: a result younger than `min_age` is served again (0 turns
//!   this off). The age shown per miner (`whatsminer_data_age_seconds`)
//!   comes from the miner's own scrape time, so it stays honest.
//!
//! The scrape runs in a task of its own: a leader whose client hangs up
//! does not cancel the scrape that others wait for.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How a request got its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// It started the scrape.
    Scraped,
    /// It joined a scrape already in flight.
    Joined,
    /// It was served a result younger than the minimum age.
    Reused,
}

impl Served {
    /// The label value in `whatsminer_exporter_shared_scrape_requests_total`
    /// (`None` for a request that scraped).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Served::Scraped => None,
            Served::Joined => Some("joined"),
            Served::Reused => Some("reused"),
        }
    }
}

/// Scrapes in flight and recent results, by key.
pub struct Share<K, V> {
    entries: Mutex<Entries<K, V>>,
}

struct Entries<K, V> {
    by_key: HashMap<K, Entry<V>>,
    next_id: u64,
}

struct Entry<V> {
    flights: Vec<Flight<V>>,
    recent: Option<Recent<V>>,
}

struct Flight<V> {
    id: u64,
    deadline: Instant,
    result: watch::Receiver<Option<V>>,
}

struct Recent<V> {
    id: u64,
    done: Instant,
    value: V,
}

impl<K, V> Default for Share<K, V> {
    fn default() -> Self {
        Share {
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                next_id: 0,
            }),
        }
    }
}

impl<K, V> std::fmt::Debug for Share<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share").finish_non_exhaustive()
    }
}

/// Removes its flight if the scrape task ends without a result (a
/// panic), so that later requests do not join a scrape that never ends.
struct FlightGuard<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    share: Arc<Share<K, V>>,
    key: Option<K>,
    id: u64,
}

impl<K, V> Drop for FlightGuard<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.share.abandon(&key, self.id);
        }
    }
}

/// What a request does, decided under the lock.
enum Plan<V> {
    Reuse(V),
    Join(watch::Receiver<Option<V>>),
    Lead(Lead<V>),
}

/// A request that starts the scrape: its flight and its deadline.
struct Lead<V> {
    id: u64,
    deadline: Instant,
    tx: watch::Sender<Option<V>>,
    rx: watch::Receiver<Option<V>>,
}

impl<K, V> Share<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The result for `key`: reused if younger than `min_age`, else joined
    /// if a scrape in flight ends within `budget` from now, else from
    /// `scrape(deadline)`, which is spawned so that it finishes (and serves
    /// others) even if this request goes away. `None` only if the scrape
    /// task died.
    pub async fn get<F, Fut>(
        self: &Arc<Self>,
        key: K,
        budget: Duration,
        min_age: Duration,
        scrape: F,
    ) -> Option<(V, Served)>
    where
        F: FnOnce(Instant) -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let plan = self.plan(&key, budget, min_age);
        let (mut rx, served) = match plan {
            Plan::Reuse(value) => return Some((value, Served::Reused)),
            Plan::Join(rx) => (rx, Served::Joined),
            Plan::Lead(Lead {
                id,
                deadline,
                tx,
                rx,
            }) => {
                let mut guard = FlightGuard {
                    share: Arc::clone(self),
                    key: Some(key),
                    id,
                };
                let fut = scrape(deadline);
                tokio::spawn(async move {
                    let value = fut.await;
                    if let Some(key) = guard.key.take() {
                        guard.share.finish(key, id, min_age, value.clone());
                    }
                    tx.send_replace(Some(value));
                });
                (rx, Served::Scraped)
            }
        };
        let value = rx.wait_for(Option::is_some).await.ok()?.clone()?;
        Some((value, served))
    }

    fn plan(&self, key: &K, budget: Duration, min_age: Duration) -> Plan<V> {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Under the lock, so that deadlines grow in the order requests are
        // planned (see the module doc).
        let now = Instant::now();
        let deadline = now + budget;
        if let Some(entry) = entries.by_key.get(key) {
            if let Some(recent) = &entry.recent {
                if now.saturating_duration_since(recent.done) < min_age {
                    return Plan::Reuse(recent.value.clone());
                }
            }
            // The latest-started scrape that fits: the freshest data.
            if let Some(flight) = entry.flights.iter().rev().find(|f| f.deadline <= deadline) {
                return Plan::Join(flight.result.clone());
            }
        }
        let id = entries.next_id;
        entries.next_id += 1;
        let (tx, rx) = watch::channel(None);
        let entry = entries.by_key.entry(key.clone()).or_insert(Entry {
            flights: Vec::new(),
            recent: None,
        });
        entry.flights.push(Flight {
            id,
            deadline,
            result: rx.clone(),
        });
        Plan::Lead(Lead {
            id,
            deadline,
            tx,
            rx,
        })
    }

    /// Ends flight `id`; keeps its value as the recent result for
    /// `min_age`, then forgets it (so a big result is not held longer).
    fn finish(self: &Arc<Self>, key: K, id: u64, min_age: Duration, value: V) {
        let kept = {
            let mut entries = match self.entries.lock() {
                Ok(e) => e,
                Err(poisoned) => poisoned.into_inner(),
            };
            let Some(entry) = entries.by_key.get_mut(&key) else {
                return;
            };
            let before = entry.flights.len();
            entry.flights.retain(|f| f.id != id);
            // A flight that `forget` removed is not kept as recent.
            let kept = !min_age.is_zero() && entry.flights.len() < before;
            if kept {
                entry.recent = Some(Recent {
                    id,
                    done: Instant::now(),
                    value,
                });
            }
            if entry.flights.is_empty() && entry.recent.is_none() {
                entries.by_key.remove(&key);
            }
            kept
        };
        if kept {
            let this = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(min_age).await;
                this.expire(&key, id);
            });
        }
    }

    /// Forgets the recent results of the keys that `which` picks, and lets
    /// no new request join their scrapes in flight (those still answer the
    /// requests already waiting): after a write changed a miner, the next
    /// request sees the change.
    pub fn forget(&self, which: impl Fn(&K) -> bool) {
        let dropped: Vec<V> = {
            let mut entries = match self.entries.lock() {
                Ok(e) => e,
                Err(poisoned) => poisoned.into_inner(),
            };
            let mut dropped = Vec::new();
            entries.by_key.retain(|key, entry| {
                if which(key) {
                    entry.flights.clear();
                    dropped.extend(entry.recent.take().map(|r| r.value));
                }
                !entry.flights.is_empty() || entry.recent.is_some()
            });
            dropped
        };
        drop(dropped);
    }

    /// Removes flight `id` that ended without a result (its task died).
    fn abandon(&self, key: &K, id: u64) {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(entry) = entries.by_key.get_mut(key) {
            entry.flights.retain(|f| f.id != id);
            if entry.flights.is_empty() && entry.recent.is_none() {
                entries.by_key.remove(key);
            }
        }
    }

    fn expire(&self, key: &K, id: u64) {
        let dropped = {
            let mut entries = match self.entries.lock() {
                Ok(e) => e,
                Err(poisoned) => poisoned.into_inner(),
            };
            let Some(entry) = entries.by_key.get_mut(key) else {
                return;
            };
            let dropped = match &entry.recent {
                Some(r) if r.id == id => entry.recent.take(),
                _ => None,
            };
            if entry.flights.is_empty() && entry.recent.is_none() {
                entries.by_key.remove(key);
            }
            dropped
        };
        // Dropped outside the lock: a fleet's worth of data takes a while.
        drop(dropped);
    }

    /// Keys with a scrape in flight or a recent result (for tests).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.by_key.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
