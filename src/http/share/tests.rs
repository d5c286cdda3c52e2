//! Unit tests of [`super::Share`]: the order of events is set by gated
//! scrapes, not by timing.

use super::*;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

type Scrape = Pin<Box<dyn Future<Output = usize> + Send>>;

/// A scrape that counts itself and ends when `gate` gives a permit, so
/// the tests decide the order of events without relying on timing.
fn gated(count: &Arc<AtomicUsize>, gate: &Arc<Semaphore>) -> impl FnOnce(Instant) -> Scrape {
    let count = Arc::clone(count);
    let gate = Arc::clone(gate);
    move |_deadline| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            n
        })
    }
}

/// A request in a task of its own, with a gated scrape.
fn spawn_get(
    share: &Arc<Share<u8, usize>>,
    key: u8,
    budget: Duration,
    min_age: Duration,
    scrape: impl FnOnce(Instant) -> Scrape + Send + 'static,
) -> tokio::task::JoinHandle<Option<(usize, Served)>> {
    let share = Arc::clone(share);
    tokio::spawn(async move { share.get(key, budget, min_age, scrape).await })
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Lets spawned tasks run until `done` holds (bounded).
async fn settle(done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn concurrent_requests_share_one_scrape() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let budget = secs(60);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let share = Arc::clone(&share);
        let scrape = gated(&count, &gate);
        tasks.spawn(async move { share.get(1, budget, Duration::ZERO, scrape).await });
    }
    settle(|| count.load(Ordering::SeqCst) > 0).await;
    gate.add_permits(20);
    let mut served = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (value, how) = r.unwrap().unwrap();
        assert_eq!(value, 1);
        served.push(how);
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(served.iter().filter(|s| **s == Served::Scraped).count(), 1);
    assert_eq!(served.iter().filter(|s| **s == Served::Joined).count(), 19);
    // min_age 0: nothing is kept once the scrape is done.
    assert!(share.is_empty());
}

/// The flake this guards against: twenty requests with one budget, whose
/// deadlines were taken before the lock, reached it out of order, and
/// the one with the earlier deadline started a second scrape.
#[tokio::test]
async fn requests_with_one_budget_join_whatever_order_they_are_planned_in() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    // Made first, planned last: its deadline must not predate the leader's.
    let first_made = share.get(1, secs(60), Duration::ZERO, gated(&count, &gate));
    let leader = spawn_get(&share, 1, secs(60), Duration::ZERO, gated(&count, &gate));
    settle(|| count.load(Ordering::SeqCst) == 1).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    gate.add_permits(1);
    assert_eq!(first_made.await, Some((1, Served::Joined)));
    assert_eq!(leader.await.unwrap(), Some((1, Served::Scraped)));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_request_with_an_earlier_deadline_scrapes_on_its_own() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let (late_gate, early_gate) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let request = |budget: Duration, gate: &Arc<Semaphore>| {
        spawn_get(&share, 1, budget, Duration::ZERO, gated(&count, gate))
    };
    let late = request(secs(60), &late_gate);
    settle(|| count.load(Ordering::SeqCst) == 1).await;
    let early = request(secs(30), &early_gate);
    settle(|| count.load(Ordering::SeqCst) == 2).await;
    assert_eq!(count.load(Ordering::SeqCst), 2);
    // A later deadline fits both flights: it joins the freshest.
    let third = request(secs(90), &late_gate);
    early_gate.add_permits(1);
    assert_eq!(early.await.unwrap(), Some((2, Served::Scraped)));
    assert_eq!(third.await.unwrap(), Some((2, Served::Joined)));
    late_gate.add_permits(1);
    assert_eq!(late.await.unwrap(), Some((1, Served::Scraped)));
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_recent_result_is_reused_within_min_age_only() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(Semaphore::new(100));
    let hour = Duration::from_secs(3600);
    let get = |key: u8, min_age: Duration| share.get(key, secs(60), min_age, gated(&count, &open));
    assert_eq!(get(1, hour).await, Some((1, Served::Scraped)));
    assert_eq!(get(1, hour).await, Some((1, Served::Reused)));
    // Another key is not served from this one.
    assert_eq!(get(2, hour).await, Some((2, Served::Scraped)));
    // Older than the (reloaded, shorter) min_age: scraped again.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        get(1, Duration::from_millis(10)).await,
        Some((3, Served::Scraped))
    );
    // A short min_age's result is forgotten once it is reached.
    settle(|| share.len() == 1).await;
    assert_eq!(share.len(), 1, "only key 2's hour-long result stays");
    assert_eq!(get(1, Duration::ZERO).await, Some((4, Served::Scraped)));
}

#[tokio::test]
async fn the_scrape_finishes_for_others_when_its_leader_goes_away() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let budget = secs(60);
    let request = || spawn_get(&share, 1, budget, Duration::ZERO, gated(&count, &gate));
    let leader = request();
    settle(|| count.load(Ordering::SeqCst) == 1).await;
    let follower = request();
    leader.abort();
    let _ = leader.await;
    gate.add_permits(2);
    assert_eq!(follower.await.unwrap(), Some((1, Served::Joined)));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn forgotten_results_and_flights_are_not_shared_again() {
    let share: Arc<Share<u8, usize>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let open = Arc::new(Semaphore::new(100));
    let hour = Duration::from_secs(3600);
    let get = |key: u8| share.get(key, secs(60), hour, gated(&count, &open));
    assert_eq!(get(1).await, Some((1, Served::Scraped)));
    assert_eq!(get(2).await, Some((2, Served::Scraped)));
    share.forget(|k| *k == 1);
    assert_eq!(get(1).await, Some((3, Served::Scraped)));
    assert_eq!(get(2).await, Some((2, Served::Reused)));

    // A scrape in flight when forgotten answers its own waiters but
    // takes no new ones and is not kept as recent.
    let gate = Arc::new(Semaphore::new(0));
    let leader = spawn_get(&share, 3, secs(60), hour, gated(&count, &gate));
    settle(|| count.load(Ordering::SeqCst) == 4).await;
    share.forget(|k| *k == 3);
    let after = spawn_get(&share, 3, secs(60), hour, gated(&count, &gate));
    settle(|| count.load(Ordering::SeqCst) == 5).await;
    gate.add_permits(2);
    assert_eq!(leader.await.unwrap(), Some((4, Served::Scraped)));
    assert_eq!(after.await.unwrap(), Some((5, Served::Scraped)));
    assert_eq!(get(3).await, Some((5, Served::Reused)));
}
