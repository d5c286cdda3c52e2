//! Live readings of a simulated miner, computed on demand from its state,
//! its seed and the time: hash rates ramp up after a start and wander a
//! little, temperatures follow the load (and an overheat fault), fans
//! follow the temperature, share counters grow with hashing time.

use super::fault::Fault;
use super::miner::{MinerState, RAMP_SECS};
use super::noise::{signed, smooth, unit};

// Noise streams, one per kind of value, so values do not move together.
const S_ENV: u64 = 10;
const S_BOARD_BIAS: u64 = 12;
const S_BOARD_TEMP: u64 = 13;
const S_BOARD_SHARE: u64 = 14;
const S_FREQ: u64 = 15;
const S_CHIPS: u64 = 16;
const S_HASH: u64 = 20;
const S_POWER: u64 = 40;
const S_FAN: u64 = 41;
const S_HW: u64 = 42;
const S_REJECT: u64 = 43;

/// Power drawn by the control board and PSU while not mining.
const IDLE_POWER_W: f64 = 12.0;
/// Cooling time constant of boards after power-off.
const COOL_TAU_SECS: f64 = 180.0;
/// Accepted shares per second per board at nominal speed.
const SHARES_PER_SEC: f64 = 0.08;

/// One hashboard's readings.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardReading {
    pub slot: usize,
    pub alive: bool,
    pub mhs_av: f64,
    pub mhs_5s: f64,
    pub mhs_1m: f64,
    pub mhs_5m: f64,
    pub mhs_15m: f64,
    pub hs_rt: f64,
    pub total_mh: f64,
    pub freq_mhz: f64,
    pub temp_c: f64,
    pub chip_temp_min_c: f64,
    pub chip_temp_max_c: f64,
    pub chip_temp_avg_c: f64,
    pub hw_errors: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub effective_chips: u32,
    pub chip_vol_diff: i64,
}

/// The whole miner's readings at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub powered_on: bool,
    pub elapsed_secs: u64,
    pub uptime_secs: u64,
    pub mhs_av: f64,
    pub mhs_5s: f64,
    pub mhs_1m: f64,
    pub mhs_5m: f64,
    pub mhs_15m: f64,
    pub hs_rt: f64,
    pub total_mh: f64,
    pub factory_ghs: f64,
    pub target_mhs: f64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    pub hw_errors: u64,
    pub temperature_c: f64,
    pub env_temp_c: f64,
    pub chip_temp_min_c: f64,
    pub chip_temp_max_c: f64,
    pub chip_temp_avg_c: f64,
    pub freq_avg_mhz: f64,
    pub target_freq_mhz: f64,
    pub fan_in_rpm: u32,
    pub fan_out_rpm: u32,
    pub psu_fan_rpm: u32,
    pub power_w: f64,
    pub power_limit_w: u32,
    pub power_rate_w_per_th: f64,
    pub upfreq_complete: bool,
    pub boards: [BoardReading; 3],
}

impl MinerState {
    /// Hash-rate factor of the current settings relative to nominal,
    /// including the power-limit cap.
    pub(crate) fn perf_factor(&self) -> f64 {
        let s = &self.settings;
        let freq = (1.0 + f64::from(s.target_freq_pct) / 100.0).max(0.0);
        let pct = f64::from(s.power_pct) / 100.0;
        let perf = s.power_mode.factor() * freq * pct;
        let natural_power = self.id.model.spec().power_w * perf;
        let limit = f64::from(s.power_limit_w);
        if natural_power > limit && natural_power > 0.0 {
            perf * limit / natural_power
        } else {
            perf
        }
    }

    fn ramp(&self, now: f64) -> f64 {
        if !self.run.powered_on {
            return 0.0;
        }
        ((now - self.run.hashing_since) / RAMP_SECS).clamp(0.0, 1.0)
    }

    /// The average of the ramp since hashing started: the `MHS av` dip
    /// after a start.
    fn average_ramp(&self, now: f64) -> f64 {
        if !self.run.powered_on {
            return 0.0;
        }
        let t = (now - self.run.hashing_since).max(0.0);
        if t < RAMP_SECS {
            t / (2.0 * RAMP_SECS)
        } else {
            1.0 - RAMP_SECS / (2.0 * t)
        }
    }

    pub(crate) fn env_temp(&self, now: f64) -> f64 {
        24.0 + 6.0 * unit(self.id.seed, S_ENV, 0) + 1.5 * smooth(self.id.seed, S_ENV, now, 1800.0)
    }

    /// Where an overheat climb starts: the later of the fault and the
    /// last start of hashing.
    pub(crate) fn heat_origin(&self) -> f64 {
        self.fault_since.max(self.run.hashing_since)
    }

    fn heat_extra(&self, now: f64) -> f64 {
        match self.fault {
            Some(Fault::Overheat { rate_c_per_sec, .. }) if self.run.powered_on => {
                rate_c_per_sec * (now - self.heat_origin()).max(0.0)
            }
            _ => 0.0,
        }
    }

    /// Board temperature: heats with the load, cools after power-off.
    pub(crate) fn board_temp(&self, slot: usize, now: f64) -> f64 {
        let seed = self.id.seed;
        let env = self.env_temp(now);
        if !self.run.powered_on {
            let from = self.run.temp_at_off.get(slot).copied().unwrap_or(env);
            let decay = (-(now - self.run.off_at).max(0.0) / COOL_TAU_SECS).exp();
            return env + (from - env).max(0.0) * decay;
        }
        let rise = 10.0 + 32.0 * self.ramp(now) * self.perf_factor().min(1.3);
        let bias = 3.0 * signed(seed, S_BOARD_BIAS, slot as u64);
        let wobble = 1.2 * smooth(seed, S_BOARD_TEMP + slot as u64, now, 30.0);
        env + rise + bias + wobble + self.heat_extra(now)
    }

    /// The hottest board and its temperature.
    pub(crate) fn hottest_board(&self, now: f64) -> (usize, f64) {
        (0..3)
            .map(|slot| (slot, self.board_temp(slot, now)))
            .fold(
                (0, f64::MIN),
                |best, cur| if cur.1 > best.1 { cur } else { best },
            )
    }

    fn board_reading(&self, slot: usize, now: f64) -> BoardReading {
        let seed = self.id.seed;
        let spec = self.id.model.spec();
        let on = self.run.powered_on;
        let s = slot as u64;
        let share = 1.0 + 0.015 * signed(seed, S_BOARD_SHARE, s);
        let nominal = spec.hashrate_ths * 1e6 / 3.0 * share * self.perf_factor();
        let ramp = self.ramp(now);
        let window = |stream: u64, amplitude: f64, period: f64| {
            nominal * ramp * (1.0 + amplitude * smooth(seed, S_HASH + stream * 8 + s, now, period))
        };
        let mhs_av = nominal
            * self.average_ramp(now)
            * (1.0 + 0.003 * smooth(seed, S_HASH + 60 + s, now, 600.0));
        let hashed = self.hashed_secs(now);
        let accepted = (hashed * SHARES_PER_SEC * share * self.perf_factor()).floor() as u64;
        let reject_rate = 0.001 + 0.002 * unit(seed, S_REJECT, s);
        let temp = self.board_temp(slot, now);
        let missing_chips = if unit(seed, S_CHIPS, s) < 0.1 {
            1 + s as u32
        } else {
            0
        };
        let freq = if on {
            spec.freq_mhz
                * self.settings.power_mode.factor()
                * (1.0 + f64::from(self.settings.target_freq_pct) / 100.0)
                * (1.0 + 0.004 * signed(seed, S_FREQ, s))
        } else {
            0.0
        };
        BoardReading {
            slot,
            alive: on,
            mhs_av,
            mhs_5s: window(0, 0.02, 5.0),
            mhs_1m: window(1, 0.01, 60.0),
            mhs_5m: window(2, 0.007, 300.0),
            mhs_15m: window(3, 0.004, 900.0),
            hs_rt: window(4, 0.02, 5.0),
            total_mh: mhs_av * hashed,
            freq_mhz: freq,
            temp_c: temp,
            chip_temp_min_c: temp - 3.0 + 0.5 * smooth(seed, S_BOARD_TEMP + 10 + s, now, 45.0),
            chip_temp_max_c: temp + 14.0 + 2.0 * smooth(seed, S_BOARD_TEMP + 20 + s, now, 20.0),
            chip_temp_avg_c: temp + 6.0,
            hw_errors: (hashed * 0.000_05 * (1.0 + unit(seed, S_HW, s))).floor() as u64,
            accepted,
            rejected: (accepted as f64 * reject_rate).floor() as u64,
            effective_chips: spec.chips_per_board.saturating_sub(missing_chips),
            chip_vol_diff: (signed(seed, S_FREQ + 1, s) * 12.0).round() as i64,
        }
    }

    /// Everything the read commands report, at time `now`.
    pub fn reading(&self, now: f64) -> Reading {
        let seed = self.id.seed;
        let spec = self.id.model.spec();
        let on = self.run.powered_on;
        let boards = [0, 1, 2].map(|slot| self.board_reading(slot, now));
        let sum = |f: fn(&BoardReading) -> f64| boards.iter().map(f).sum::<f64>();
        let avg = |f: fn(&BoardReading) -> f64| sum(f) / 3.0;
        let max = |f: fn(&BoardReading) -> f64| boards.iter().map(f).fold(f64::MIN, f64::max);
        let min = |f: fn(&BoardReading) -> f64| boards.iter().map(f).fold(f64::MAX, f64::min);
        let ramp = self.ramp(now);
        let perf = self.perf_factor();
        let limit = self.settings.power_limit_w;
        let power_w = if on {
            let full = spec.power_w * perf * (1.0 + 0.01 * smooth(seed, S_POWER, now, 60.0));
            (IDLE_POWER_W * 6.0 + (full - IDLE_POWER_W * 6.0) * ramp).min(f64::from(limit))
        } else {
            IDLE_POWER_W + 2.0 * smooth(seed, S_POWER, now, 60.0)
        };
        let hottest = max(|b| b.temp_c);
        let fan_in = if on {
            let heat = (hottest - 70.0).max(0.0) * 60.0;
            3600.0 + 1600.0 * ramp * perf.min(1.2) + 150.0 * smooth(seed, S_FAN, now, 20.0) + heat
        } else {
            0.0
        };
        let accepted: u64 = boards.iter().map(|b| b.accepted).sum();
        let hs_rt = sum(|b| b.hs_rt);
        Reading {
            powered_on: on,
            elapsed_secs: (now - self.run.btminer_start_at).max(0.0) as u64,
            uptime_secs: (now - self.run.boot_at).max(0.0) as u64,
            mhs_av: sum(|b| b.mhs_av),
            mhs_5s: sum(|b| b.mhs_5s),
            mhs_1m: sum(|b| b.mhs_1m),
            mhs_5m: sum(|b| b.mhs_5m),
            mhs_15m: sum(|b| b.mhs_15m),
            hs_rt,
            total_mh: sum(|b| b.total_mh),
            factory_ghs: spec.hashrate_ths * 1000.0,
            target_mhs: spec.hashrate_ths * 1e6 * perf,
            accepted,
            rejected: boards.iter().map(|b| b.rejected).sum(),
            stale: accepted / 2000,
            hw_errors: boards.iter().map(|b| b.hw_errors).sum(),
            temperature_c: avg(|b| b.temp_c),
            env_temp_c: self.env_temp(now),
            chip_temp_min_c: min(|b| b.chip_temp_min_c),
            chip_temp_max_c: max(|b| b.chip_temp_max_c),
            chip_temp_avg_c: avg(|b| b.chip_temp_avg_c),
            freq_avg_mhz: avg(|b| b.freq_mhz),
            target_freq_mhz: spec.freq_mhz
                * self.settings.power_mode.factor()
                * (1.0 + f64::from(self.settings.target_freq_pct) / 100.0),
            fan_in_rpm: fan_in.round() as u32,
            fan_out_rpm: (fan_in - 40.0).max(0.0).round() as u32,
            psu_fan_rpm: if on { 6000 } else { 3000 },
            power_w,
            power_limit_w: limit,
            power_rate_w_per_th: if hs_rt > 0.0 {
                power_w / (hs_rt / 1e6)
            } else {
                0.0
            },
            upfreq_complete: on && ramp >= 1.0,
            boards,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sim::miner::PowerMode;
    use crate::sim::model::{Flavour, Model};
    use crate::sim::testkit::miner;

    #[test]
    fn a_running_miner_reads_near_its_nominal_figures() {
        let m = miner(Model::M30SPlusPlus, Flavour::Classic);
        let r = m.reading(0.0);
        assert!(r.powered_on && r.upfreq_complete);
        let ths = r.mhs_5s / 1e6;
        assert!((105.0..120.0).contains(&ths), "{ths} TH/s");
        assert!((3200.0..3800.0).contains(&r.power_w), "{} W", r.power_w);
        assert!(
            (55.0..85.0).contains(&r.temperature_c),
            "{} C",
            r.temperature_c
        );
        assert!(r.chip_temp_max_c > r.chip_temp_avg_c && r.chip_temp_avg_c > r.chip_temp_min_c);
        assert!(r.fan_in_rpm > 3000 && r.uptime_secs >= 3600 && r.accepted > 0);
        assert!(r.boards.iter().all(|b| b.effective_chips > 100));
    }

    #[test]
    fn power_off_zeroes_hashing_and_cools_the_boards() {
        let mut m = miner(Model::M50S, Flavour::Wrapped);
        let before = m.reading(10.0);
        m.power_off(10.0);
        let after = m.reading(11.0);
        assert_eq!(after.mhs_5s, 0.0);
        assert_eq!(after.mhs_av, 0.0);
        assert!(after.boards.iter().all(|b| !b.alive));
        assert!(after.power_w < 20.0);
        assert_eq!(after.accepted, before.accepted, "counters freeze");
        let later = m.reading(2000.0);
        assert!(later.temperature_c < after.temperature_c - 20.0);
    }

    #[test]
    fn hash_rate_ramps_up_after_power_on() {
        let mut m = miner(Model::M60, Flavour::Wrapped);
        m.power_off(0.0);
        m.power_on(100.0);
        let early = m.reading(110.0).mhs_5s;
        let late = m.reading(100.0 + 2.0 * super::RAMP_SECS).mhs_5s;
        assert!(early > 0.0 && early < late * 0.3, "{early} vs {late}");
        assert!(!m.reading(110.0).upfreq_complete);
    }

    #[test]
    fn settings_move_hash_rate_and_power() {
        let mut m = miner(Model::M50, Flavour::Classic);
        let normal = m.reading(0.0);
        m.settings.power_mode = PowerMode::Low;
        let low = m.reading(0.0);
        assert!(low.mhs_5s < normal.mhs_5s * 0.85 && low.power_w < normal.power_w);
        m.settings.power_mode = PowerMode::Normal;
        m.settings.power_limit_w = 2000;
        let capped = m.reading(0.0);
        assert!(capped.power_w <= 2000.0 && capped.mhs_5s < normal.mhs_5s * 0.7);
    }

    #[test]
    fn readings_drift_over_time_but_stay_plausible() {
        let m = miner(Model::M30S, Flavour::Classic);
        let values: Vec<f64> = (0..50)
            .map(|i| m.reading(f64::from(i) * 7.0).mhs_5s)
            .collect();
        let lo = values.iter().cloned().fold(f64::MAX, f64::min);
        let hi = values.iter().cloned().fold(f64::MIN, f64::max);
        assert!(hi > lo, "values should drift");
        assert!(hi / lo < 1.1, "but only by a few percent: {lo}..{hi}");
    }
}
