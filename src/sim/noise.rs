//! Deterministic, stateless randomness for the simulator: every drifting
//! value is a pure function of (miner seed, value stream, time), so an idle
//! miner costs nothing (no timers, no stored history) and two runs with the
//! same seed print the same numbers.

/// SplitMix64's finaliser: a cheap, well-mixed 64-bit hash.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of three words, for (seed, stream, lattice point).
pub fn hash3(seed: u64, stream: u64, n: u64) -> u64 {
    mix(mix(seed ^ mix(stream)) ^ n)
}

/// A uniform value in [0, 1).
pub fn unit(seed: u64, stream: u64, n: u64) -> f64 {
    (hash3(seed, stream, n) >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform value in [-1, 1).
pub fn signed(seed: u64, stream: u64, n: u64) -> f64 {
    unit(seed, stream, n) * 2.0 - 1.0
}

/// Smooth noise in [-1, 1] over time: random values on a lattice of
/// `period` seconds, linearly interpolated in between, so consecutive reads
/// a second apart differ only a little.
pub fn smooth(seed: u64, stream: u64, t_secs: f64, period_secs: f64) -> f64 {
    let x = if period_secs > 0.0 {
        t_secs / period_secs
    } else {
        0.0
    };
    let cell = x.floor();
    let frac = x - cell;
    // Negative times (before the fleet started) map onto the lattice too:
    // the cast wraps, which is fine for a hash input.
    let n = cell as i64 as u64;
    let a = signed(seed, stream, n);
    let b = signed(seed, stream, n.wrapping_add(1));
    a + (b - a) * frac
}

/// Rounds to two decimals, as the firmware prints most floats.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_deterministic_and_in_range() {
        for n in 0..1000 {
            let u = unit(7, 1, n);
            assert!((0.0..1.0).contains(&u));
            assert_eq!(u, unit(7, 1, n));
            let s = smooth(7, 2, n as f64 * 0.37 - 100.0, 5.0);
            assert!((-1.0..=1.0).contains(&s));
        }
        assert_ne!(unit(7, 1, 0), unit(8, 1, 0));
        assert_ne!(unit(7, 1, 0), unit(7, 2, 0));
    }

    #[test]
    fn smooth_noise_moves_little_per_step_but_varies_overall() {
        let mut max_step: f64 = 0.0;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        let mut prev = smooth(3, 9, 0.0, 10.0);
        for i in 1..2000 {
            let v = smooth(3, 9, i as f64, 10.0);
            max_step = max_step.max((v - prev).abs());
            lo = lo.min(v);
            hi = hi.max(v);
            prev = v;
        }
        assert!(max_step <= 0.2 + 1e-9, "step {max_step}");
        assert!(hi - lo > 1.0, "range {lo}..{hi}");
    }
}
