//! Simulated time. Each miner reads the time through its own clock, so a
//! test can move one miner's clock forward (token expiry, uptime, drift)
//! without waiting and without touching the others.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Unix time used as "now" by manual clocks (2024-11-23), so that replies
/// generated in tests are reproducible.
pub const MANUAL_WALL_EPOCH: u64 = 1_732_400_000;

/// Seconds since a fleet-wide epoch, plus a per-miner offset.
#[derive(Debug, Clone)]
pub struct SimClock {
    source: Source,
    offset: Duration,
}

#[derive(Debug, Clone)]
enum Source {
    /// Follows the process clock from `epoch`.
    Real { epoch: Instant, wall_epoch: u64 },
    /// Stands still; only [`SimClock::advance`] moves it.
    Manual { wall_epoch: u64 },
}

impl SimClock {
    /// A clock that runs with real time from `epoch`, which is the Unix
    /// time `wall_epoch`.
    pub fn real(epoch: Instant, wall_epoch: u64) -> Self {
        SimClock {
            source: Source::Real { epoch, wall_epoch },
            offset: Duration::ZERO,
        }
    }

    /// A clock that starts at [`MANUAL_WALL_EPOCH`] and moves only when told.
    pub fn manual() -> Self {
        SimClock {
            source: Source::Manual {
                wall_epoch: MANUAL_WALL_EPOCH,
            },
            offset: Duration::ZERO,
        }
    }

    /// The current Unix time of the host, in whole seconds.
    pub fn host_unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Seconds since the epoch.
    pub fn now(&self) -> f64 {
        let base = match &self.source {
            Source::Real { epoch, .. } => epoch.elapsed(),
            Source::Manual { .. } => Duration::ZERO,
        };
        (base + self.offset).as_secs_f64()
    }

    /// The Unix time at `now` seconds since the epoch (the `When` field).
    pub fn unix_at(&self, now: f64) -> u64 {
        let wall_epoch = match &self.source {
            Source::Real { wall_epoch, .. } | Source::Manual { wall_epoch } => *wall_epoch,
        };
        wall_epoch.saturating_add(now.max(0.0) as u64)
    }

    /// Moves this clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.offset = self.offset.saturating_add(by);
    }
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM:SS` (UTC), as the firmware
/// prints error-code dates.
pub fn format_datetime(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the classic
/// era-based conversion).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let mut clock = SimClock::manual();
        assert_eq!(clock.now(), 0.0);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), 90.0);
        assert_eq!(clock.unix_at(clock.now()), MANUAL_WALL_EPOCH + 90);
    }

    #[test]
    fn real_clock_includes_the_offset() {
        let mut clock = SimClock::real(Instant::now(), 1_000);
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= 3600.0 && clock.now() < 3700.0);
    }

    #[test]
    fn dates_format_like_the_firmware() {
        assert_eq!(format_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(format_datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_datetime(MANUAL_WALL_EPOCH), "2024-11-23 22:13:20");
    }
}
