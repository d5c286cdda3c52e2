//! Hashboard families (`devs`), labelled by `board` slot.

use super::families::{family, ok, scaled, MHZ};
use super::writer::{ExpositionWriter, MetricType::*};
use super::Gauge;
use crate::collector::compact::CompactBoard;
use crate::collector::snapshot::MinerSnapshot;

/// Calls `f` with each board of a miner and its `board` label value.
fn each_board(m: &MinerSnapshot, mut f: impl FnMut(&str, &CompactBoard)) {
    if let Ok(devs) = &m.devs {
        for board in devs.boards.iter() {
            let mut buf = itoa::Buffer::new();
            f(buf.format(board.index), board);
        }
    }
}

pub fn write_boards(out: &mut ExpositionWriter, miners: &[MinerSnapshot]) {
    family(
        out,
        miners,
        "whatsminer_board_alive",
        Gauge,
        "1 if the hashboard's status is Alive.",
        |m, e| each_board(m, |b, board| e(&[("board", b)], board.alive.map(ok))),
    );
    family(
        out,
        miners,
        "whatsminer_board_hashrate_hashes_per_second",
        Gauge,
        "Hashboard hashrate by averaging window.",
        |m, e| {
            // MH/s or TH/s: 2025–2026 firmware sends board rates in TH/s.
            let unit = m.devs.as_ref().map_or(1e6, |d| d.hash_scale);
            each_board(m, |b, board| {
                e(
                    &[("board", b), ("window", "avg")],
                    scaled(board.mhs_av.gauge(), unit),
                );
                e(
                    &[("board", b), ("window", "5s")],
                    scaled(board.mhs_5s.gauge(), unit),
                );
                e(
                    &[("board", b), ("window", "1m")],
                    scaled(board.mhs_1m.gauge(), unit),
                );
                e(
                    &[("board", b), ("window", "15m")],
                    scaled(board.mhs_15m.gauge(), unit),
                );
            })
        },
    );
    family(
        out,
        miners,
        "whatsminer_board_temperature_celsius",
        Gauge,
        "Hashboard temperature.",
        |m, e| each_board(m, |b, board| e(&[("board", b)], board.temperature.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_board_chip_temperature_celsius",
        Gauge,
        "Hashboard chip temperature statistics.",
        |m, e| {
            each_board(m, |b, board| {
                e(
                    &[("board", b), ("stat", "min")],
                    board.chip_temp_min.gauge(),
                );
                e(
                    &[("board", b), ("stat", "max")],
                    board.chip_temp_max.gauge(),
                );
                e(
                    &[("board", b), ("stat", "avg")],
                    board.chip_temp_avg.gauge(),
                );
            })
        },
    );
    family(
        out,
        miners,
        "whatsminer_board_frequency_hertz",
        Gauge,
        "Hashboard chip frequency.",
        |m, e| {
            each_board(m, |b, board| {
                e(&[("board", b)], scaled(board.chip_frequency.gauge(), MHZ))
            })
        },
    );
    family(
        out,
        miners,
        "whatsminer_board_effective_chips",
        Gauge,
        "Chips hashing on the board.",
        |m, e| {
            each_board(m, |b, board| {
                e(&[("board", b)], board.effective_chips.gauge())
            })
        },
    );
    family(
        out,
        miners,
        "whatsminer_board_hardware_errors_total",
        Counter,
        "Hardware errors on the board.",
        |m, e| {
            each_board(m, |b, board| {
                e(&[("board", b)], board.hardware_errors.gauge())
            })
        },
    );
    family(
        out,
        miners,
        "whatsminer_board_shares_accepted_total",
        Counter,
        "Shares accepted from this board.",
        |m, e| each_board(m, |b, board| e(&[("board", b)], board.accepted.gauge())),
    );
    family(
        out,
        miners,
        "whatsminer_board_shares_rejected_total",
        Counter,
        "Shares rejected from this board.",
        |m, e| each_board(m, |b, board| e(&[("board", b)], board.rejected.gauge())),
    );
}
