"""A position's excursions (SPEC-statistics §4): the peak and the fall backtest-kit 19.5 keeps while it is open.

The peer's own values are checked on all twelve public runs by ``tests/acceptance/test_stats_parity.py`` (the mean
peak and fall, the recovery factor); these are the rules one by one, on the P20 long L (42000, TP 42420, SL 41580,
one $100 entry, fees and slippage 0.1 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.signal_factory import OPENED_AT, signal_row
from workstation.clients.position import PositionState, with_exit_excursion
from workstation.config import Config
from workstation.models.signal import Excursion

CONFIG = Config()
MINUTE = 60_000
#: The PnL of opening and closing at once at 42000: the fees and slippage of both legs (SPEC §7 P1).
ENTRY_COST = -0.3996003996003651


def opened(position: str = "long") -> PositionState:
    levels = (42000.0, 42420.0, 41580.0) if position == "long" else (42000.0, 41580.0, 42420.0)
    state = PositionState(signal_row(prices=levels).model_copy(update={"position": position}), 100.0)
    state.start_excursions(OPENED_AT, CONFIG)
    return state


def point(price: float, minute: int, pnl: float) -> Excursion:
    return Excursion(price=price, timestamp=OPENED_AT + minute * MINUTE, pnl_percentage=pnl)


def test_the_peak_starts_at_zero_and_the_fall_at_the_cost_of_entering_and_leaving() -> None:
    state = opened()
    assert state.row.peak_profit == point(42000.0, 0, 0.0)
    assert state.row.max_drawdown == point(42000.0, 0, ENTRY_COST)
    assert state.excursion_prices() == (42000.0, 42000.0)


def test_a_price_past_the_entry_moves_the_peak_only_at_a_net_gain() -> None:
    state = opened()
    # 42100 is above the entry but still a net loss after costs: no peak.
    assert state.watch_excursions(42100.0, OPENED_AT + MINUTE, CONFIG) == (42000.0, 42000.0)
    assert state.row.peak_profit == point(42000.0, 0, 0.0)
    state.watch_excursions(42300.0, OPENED_AT + 2 * MINUTE, CONFIG)
    assert state.row.peak_profit == point(42300.0, 2, 0.31254531183105394)
    # A lower price on the profit side leaves the peak; one below the entry moves the fall.
    state.watch_excursions(42200.0, OPENED_AT + 3 * MINUTE, CONFIG)
    state.watch_excursions(41900.0, OPENED_AT + 4 * MINUTE, CONFIG)
    assert state.row.peak_profit == point(42300.0, 2, 0.31254531183105394)
    assert state.row.max_drawdown is not None
    assert (state.row.max_drawdown.price, state.row.max_drawdown.timestamp) == (41900.0, OPENED_AT + 4 * MINUTE)
    assert state.excursion_prices() == (42300.0, 41900.0)


def test_a_short_peaks_below_its_entry_and_falls_above_it() -> None:
    state = opened("short")
    state.watch_excursions(41700.0, OPENED_AT + MINUTE, CONFIG)
    state.watch_excursions(42150.0, OPENED_AT + 2 * MINUTE, CONFIG)
    assert state.excursion_prices() == (41700.0, 42150.0)
    assert state.row.peak_profit is not None and state.row.peak_profit.pnl_percentage > 0
    assert state.row.max_drawdown is not None and state.row.max_drawdown.pnl_percentage < ENTRY_COST


@pytest.mark.parametrize("position", ["long", "short"])
def test_the_scan_of_a_plain_position_ends_where_the_walk_does(position: str) -> None:
    prices = np.random.default_rng(7).normal(42000.0, 150.0, 500)
    stamps = OPENED_AT + np.arange(1, 501, dtype=np.int64) * MINUTE
    walked, scanned = opened(position), opened(position)
    for price, stamp in zip(prices.tolist(), stamps.tolist(), strict=True):
        walked.watch_excursions(price, stamp, CONFIG)
    scanned.scan_excursions(prices, stamps, CONFIG)
    assert (scanned.row.peak_profit, scanned.row.max_drawdown) == (walked.row.peak_profit, walked.row.max_drawdown)
    assert scanned.row.peak_profit != opened(position).row.peak_profit


def test_the_exit_is_the_last_point_when_it_is_beyond_them() -> None:
    row = opened().row
    take_profit = with_exit_excursion(row, 42420.0, OPENED_AT + 9 * MINUTE, 0.5974035964036354)
    assert take_profit.peak_profit == point(42420.0, 9, 0.5974035964036354)
    assert take_profit.max_drawdown == row.max_drawdown
    stop = with_exit_excursion(row, 41580.0, OPENED_AT + 9 * MINUTE, -1.396604395604392)
    assert (stop.peak_profit, stop.max_drawdown) == (row.peak_profit, point(41580.0, 9, -1.396604395604392))
    # An exit inside both leaves the row as it was.
    assert with_exit_excursion(row, 42000.0, OPENED_AT + 9 * MINUTE, ENTRY_COST) is row


def test_a_row_stored_without_excursions_gets_none_until_its_exit() -> None:
    state = PositionState(signal_row(), 100.0)
    assert (state.row.peak_profit, state.row.max_drawdown) == (None, None)
    state.watch_excursions(42300.0, OPENED_AT + MINUTE, CONFIG)
    state.scan_excursions(np.array([42300.0]), np.array([OPENED_AT]), CONFIG)
    assert (state.row.peak_profit, state.row.max_drawdown) == (None, None)
    closed = with_exit_excursion(state.row, 41580.0, OPENED_AT + MINUTE, -1.396604395604392)
    assert (closed.peak_profit, closed.max_drawdown) == (None, point(41580.0, 1, -1.396604395604392))
