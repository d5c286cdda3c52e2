//! The unit of per-board hash rates, decided from the miner's own figures.
//!
//! Firmware up to 2024 sends a board's `MHS av`, `MHS 1m`, `HS RT` in MH/s,
//! like the summary. The 2025–2026 firmware (M7BS on 20260312.16.REL3, API
//! 2.2.2; an M60/M60S fleet) sends them in TH/s while its summary stays in
//! MH/s: four boards of 170–175 against a summary of 692,030,656. No field
//! names the unit, so it is read from evidence, strongest first:
//! 1. the board sum against the summary's figure for the same window;
//! 2. each board's `Factory GHS` (always GH/s) against its own rate;
//! 3. the size of the numbers: a hashing board is at least 10 GH/s, which
//!    in MH/s is ≥ 10,000, while in TH/s it stays below 10,000.
//!
//! Without any evidence the unit is MH/s, as it was on every firmware before.

use super::{Board, Summary};

/// The unit of a board's `MHS *` and `HS RT` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardHashUnit {
    /// MH/s, as the field names say.
    #[default]
    Mega,
    /// TH/s (2025–2026 firmware).
    Tera,
}

impl BoardHashUnit {
    /// Hashes per second in one unit.
    pub fn scale(self) -> f64 {
        match self {
            BoardHashUnit::Mega => 1e6,
            BoardHashUnit::Tera => 1e12,
        }
    }

    /// The unit these boards use, judged against the miner's summary.
    pub fn detect(boards: &[Board], summary: Option<&Summary>) -> BoardHashUnit {
        summary
            .and_then(|s| against_summary(boards, s))
            .or_else(|| against_factory(boards))
            .or_else(|| by_magnitude(boards))
            .unwrap_or_default()
    }
}

type Window = fn(&Board) -> Option<f64>;
type SummaryWindow = fn(&Summary) -> Option<f64>;

const WINDOWS: [(Window, SummaryWindow); 4] = [
    (|b| b.mhs_av, |s| s.mhs_av),
    (|b| b.hs_rt, |s| s.hs_rt),
    (|b| b.mhs_1m, |s| s.mhs_1m),
    (|b| b.mhs_15m, |s| s.mhs_15m),
];

/// The unit whose ratio `expected / reported` fits: about 1 is MH/s,
/// about a million is TH/s (one decade of slack either way: boards warm up,
/// windows differ a little).
fn from_ratio(ratio: f64) -> Option<BoardHashUnit> {
    if (0.1..=10.0).contains(&ratio) {
        Some(BoardHashUnit::Mega)
    } else if (1e5..=1e7).contains(&ratio) {
        Some(BoardHashUnit::Tera)
    } else {
        None
    }
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x > 0.0)
}

fn against_summary(boards: &[Board], summary: &Summary) -> Option<BoardHashUnit> {
    WINDOWS.iter().find_map(|(board, whole)| {
        let total = positive(whole(summary))?;
        let sum = positive(Some(boards.iter().filter_map(board).sum()))?;
        from_ratio(total / sum)
    })
}

fn against_factory(boards: &[Board]) -> Option<BoardHashUnit> {
    boards.iter().find_map(|b| {
        let factory_mhs = positive(b.factory_ghs)? * 1e3;
        let rate = positive(b.mhs_av).or(positive(b.hs_rt))?;
        from_ratio(factory_mhs / rate)
    })
}

fn by_magnitude(boards: &[Board]) -> Option<BoardHashUnit> {
    let largest = boards
        .iter()
        .flat_map(|b| WINDOWS.iter().filter_map(move |(w, _)| positive(w(b))))
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })?;
    Some(if largest < 1e4 {
        BoardHashUnit::Tera
    } else {
        BoardHashUnit::Mega
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(mhs_av: f64, factory_ghs: Option<f64>) -> Board {
        Board {
            mhs_av: Some(mhs_av),
            factory_ghs,
            ..Board::default()
        }
    }

    fn summary(mhs_av: f64) -> Summary {
        Summary {
            mhs_av: Some(mhs_av),
            ..Summary::default()
        }
    }

    #[test]
    fn summary_evidence_decides() {
        let tera = [board(170.62, None), board(175.49, None)];
        let s = summary(346_110_000.0);
        assert_eq!(BoardHashUnit::detect(&tera, Some(&s)), BoardHashUnit::Tera);
        let mega = [board(28_854_811.5, None), board(28_420_388.79, None)];
        let s = summary(57_275_200.0);
        assert_eq!(BoardHashUnit::detect(&mega, Some(&s)), BoardHashUnit::Mega);
    }

    #[test]
    fn factory_then_magnitude_when_the_summary_says_nothing() {
        let s = summary(0.0); // a miner just started: no usable figure
        let tera = [board(170.62, Some(139_930.0))];
        assert_eq!(BoardHashUnit::detect(&tera, Some(&s)), BoardHashUnit::Tera);
        let mega = [board(28_854_811.5, Some(30_378.0))];
        assert_eq!(BoardHashUnit::detect(&mega, None), BoardHashUnit::Mega);
        assert_eq!(
            BoardHashUnit::detect(&[board(99.0, None)], None),
            BoardHashUnit::Tera
        );
        assert_eq!(
            BoardHashUnit::detect(&[board(12_000_000.0, None)], None),
            BoardHashUnit::Mega
        );
    }

    #[test]
    fn no_evidence_keeps_megahashes() {
        assert_eq!(BoardHashUnit::detect(&[], None), BoardHashUnit::Mega);
        let idle = [board(0.0, None), Board::default()];
        assert_eq!(
            BoardHashUnit::detect(&idle, Some(&summary(0.0))),
            BoardHashUnit::Mega
        );
    }
}
