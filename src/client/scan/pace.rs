//! The scan's rate bound: connections are spaced evenly, at most `rate`
//! per second across all concurrent probes, so a scan never floods a
//! farm network or a switch's connection table.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Hands out connection slots `1/rate` apart.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `rate` connections per second; 0 means no bound.
    pub fn new(rate: u32) -> Self {
        Pacer {
            gap: if rate == 0 {
                Duration::ZERO
            } else {
                Duration::from_secs(1) / rate
            },
            next: Mutex::new(None),
        }
    }

    /// Waits for the next slot.
    pub async fn wait(&self) {
        if self.gap.is_zero() {
            return;
        }
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Takes the first free slot at or after `now`.
    fn reserve(&self, now: Instant) -> Instant {
        match self.next.lock() {
            Ok(mut next) => {
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(slot + self.gap);
                slot
            }
            Err(_) => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_rate() {
        let pacer = Pacer::new(10);
        let start = Instant::now();
        let slots: Vec<Duration> = (0..5).map(|_| pacer.reserve(start) - start).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(slots, [ms(0), ms(100), ms(200), ms(300), ms(400)]);
        // A caller arriving after the queue drained starts a new run.
        let later = start + ms(1000);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later) - later, ms(100));
    }

    #[test]
    fn no_bound_gives_every_caller_the_present() {
        let free = Pacer::new(0);
        let now = Instant::now();
        assert!((0..100).all(|_| free.reserve(now) == now));
    }
}
