"""The chart series of one backtest run (docs/series.md): exact values on small fixed inputs."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pytest

from workstation.models.results import ClosedResult, CloseReason, Pnl
from workstation.models.series import DrawdownPeriod, RunSeries
from workstation.models.signal import SignalRow
from workstation.reports.series import (
    MAX_HISTOGRAM_BINS,
    buy_and_hold_return,
    compute_run_series,
    frame_length_ms,
    pnl_histogram,
)
from workstation.reports.statistics import compute_backtest_statistics

T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
FRAME_START = T0 + 10 * MINUTE  # frame F: 00:10 -> 02:59, 170 one-minute ticks
FRAME_END = T0 + 179 * MINUTE


def ts(minute: int) -> int:
    """Epoch ms of 2024-01-01 00:00 UTC + ``minute`` minutes."""
    return T0 + minute * MINUTE


def trade(
    pnl: float,
    opened: int,
    closed: int,
    *,
    reason: CloseReason = "take_profit",
    position: str = "long",
    cost: float | None = None,
    index: int = 0,
    pending_at: int | None = -1,
) -> ClosedResult:
    """Return a closed position open from ``opened`` to ``closed`` (epoch ms); money PnL defaults to ``pnl × 10``."""
    signal = SignalRow(
        id=f"sig-{index}",
        position=position,  # type: ignore[arg-type]
        note="",
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        minute_estimated_time=1440,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name="one-shot",
        frame_name="F",
        scheduled_at=opened,
        pending_at=opened if pending_at == -1 else pending_at,
        is_scheduled=False,
    )
    return ClosedResult(
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="ladder",
        frame_name="F",
        backtest=True,
        timestamp=closed,
        current_price=42000.0,
        signal=signal,
        close_reason=reason,
        close_timestamp=closed,
        pnl=Pnl.model_construct(
            pnl_percentage=pnl,
            pnl_cost=pnl * 10 if cost is None else cost,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=42000.0,
            fee_cost=0.0,
        ),
    )


def chain(pnls: Sequence[float], *, every: int = 10) -> list[ClosedResult]:
    """Trades back to back inside frame F: trade ``i`` opens at 00:10 + ``every``·i and lasts ``every`` − 1 min."""
    return [
        trade(pnl, ts(10 + every * index), ts(10 + every * index + every - 1), index=index)
        for index, pnl in enumerate(pnls)
    ]


def series_of(
    closed: Sequence[ClosedResult],
    *,
    frame_start: int = FRAME_START,
    frame_end: int = FRAME_END,
    first_close: float | None = None,
    last_close: float | None = None,
) -> RunSeries:
    return compute_run_series(
        closed,
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="demo",
        frame_start=frame_start,
        frame_end=frame_end,
        first_close=first_close,
        last_close=last_close,
    )


def nan_row(**months: float) -> list[float]:
    """A year row of the monthly table: NaN except the given months (``m1`` = January)."""
    return [months.get(f"m{month}", math.nan) for month in range(1, 13)]


def assert_table(table: np.ndarray, rows: list[list[float]]) -> None:
    assert table.shape == (len(rows), 12)
    np.testing.assert_array_equal(table, np.array(rows))  # NaN == NaN for assert_array_equal


def test_no_trade() -> None:
    """No trade: empty arrays, no drawdown, an empty histogram and table; the frame is all flat.

    Frame F lasts 02:59 − 00:10 + 1 min = 170 min, so exposure 0 / 170 = 0.0 and the longest flat stretch is 170.
    """
    series = series_of([], first_close=42000.0, last_close=42000.0)
    for name in ("close_times", "trade_pnl", "trade_pnl_money", "equity", "equity_money", "underwater"):
        assert getattr(series, name).shape == (0,), name
    assert series.close_times.dtype == np.int64
    assert series.worst_drawdowns == []
    assert series.histogram_edges.shape == (0,)
    assert series.histogram_counts.shape == (0,)
    assert series.histogram_counts.dtype == np.int64
    assert series.monthly_returns.years == []
    assert series.monthly_returns.table.shape == (0, 12)
    assert series.pnl_by_close_reason == {}
    assert series.pnl_by_side == {}
    assert series.buy_and_hold == 0.0
    assert series.exposure == 0.0
    assert series.average_holding_minutes is None
    assert series.longest_flat_minutes == 170.0
    assert (series.symbol, series.strategy_name) == ("BTCUSDT", "one-shot")
    assert (series.frame_start, series.frame_end) == (FRAME_START, FRAME_END)


def test_one_trade() -> None:
    """One long from 00:10 to 00:24 winning 0.5 % (5.0 money), buy-and-hold 42000 → 42420.

    equity [0.5], money [5.0], underwater [0.5 − 0.5] = [0.0], no drawdown; histogram: one value v gives numpy's
    single bin [v − 0.5, v + 0.5] = [0.0, 1.0]; January 2024 = 0.5; exposure 14 / 170; holding 14 min; flat
    stretches 0 (opens at the frame start) and 03:00 − 00:24 = 156 min; buy-and-hold (42420 / 42000 − 1) × 100
    = 1.0000000000000009.
    """
    series = series_of([trade(0.5, ts(10), ts(24))], first_close=42000.0, last_close=42420.0)
    assert series.close_times.tolist() == [ts(24)]
    assert series.trade_pnl.tolist() == [0.5]
    assert series.trade_pnl_money.tolist() == [5.0]
    assert series.equity.tolist() == [0.5]
    assert series.equity_money.tolist() == [5.0]
    assert series.underwater.tolist() == [0.0]
    assert series.worst_drawdowns == []
    assert series.histogram_edges.tolist() == [0.0, 1.0]
    assert series.histogram_counts.tolist() == [1]
    assert series.monthly_returns.years == [2024]
    assert_table(series.monthly_returns.table, [nan_row(m1=0.5)])
    assert series.pnl_by_close_reason == {"take_profit": 0.5}
    assert series.pnl_by_side == {"long": 0.5}
    assert series.buy_and_hold == 1.0000000000000009
    assert series.exposure == 14 / 170
    assert series.average_holding_minutes == 14.0
    assert series.longest_flat_minutes == 156.0


def test_all_wins() -> None:
    """Wins 1.0, 2.0, 0.5 closing at 00:19, 00:29, 00:39: the curve only rises.

    equity [1.0, 3.0, 3.5], underwater all 0.0, no drawdown. FD: quartiles 0.75 and 1.5, width 2 · 0.75 / ∛3 =
    1.04, range 1.5 → 2 bins [0.5, 1.25, 2.0] holding {1.0, 0.5} and {2.0}. Holding 9 min each: exposure 27 / 170;
    longest flat 03:00 − 00:39 = 141 min.
    """
    series = series_of(chain([1.0, 2.0, 0.5]))
    assert series.close_times.tolist() == [ts(19), ts(29), ts(39)]
    assert series.equity.tolist() == [1.0, 3.0, 3.5]
    assert series.equity_money.tolist() == [10.0, 30.0, 35.0]
    assert series.underwater.tolist() == [0.0, 0.0, 0.0]
    assert series.worst_drawdowns == []
    assert series.histogram_edges.tolist() == [0.5, 1.25, 2.0]
    assert series.histogram_counts.tolist() == [2, 1]
    assert series.pnl_by_close_reason == {"take_profit": 3.5}
    assert series.exposure == 27 / 170
    assert series.average_holding_minutes == 9.0
    assert series.longest_flat_minutes == 141.0
    assert series.buy_and_hold is None


def test_all_losses() -> None:
    """Losses −1.0, −0.5, −2.0: one drawdown from the initial zero, never recovered.

    equity [−1.0, −1.5, −3.5]; the peak stays 0 so underwater = equity; the period starts at the frame start,
    bottoms at the third close (00:39) with depth 3.5 and has no recovery.
    """
    series = series_of(chain([-1.0, -0.5, -2.0]))
    assert series.equity.tolist() == [-1.0, -1.5, -3.5]
    assert series.underwater.tolist() == [-1.0, -1.5, -3.5]
    assert series.worst_drawdowns == [DrawdownPeriod(start=FRAME_START, trough=ts(39), recovery=None, depth=3.5)]


def test_drawdown_that_recovers_and_one_that_does_not() -> None:
    """PnL 2.0, −1.0, −0.5, 2.0, −3.0, 0.5 closing at 00:19, 00:29, …, 01:09.

    equity [2.0, 1.0, 0.5, 2.5, −0.5, 0.0]; peak [2.0, 2.0, 2.0, 2.5, 2.5, 2.5]; underwater [0, −1, −1.5, 0, −3,
    −2.5]. Periods: peak 00:19 → trough 00:39 (−1.5) → back above at 00:49 (2.5 ≥ 2.0); peak 00:49 → trough
    00:59 (−3.0) → not recovered. Deepest first: depth 3.0, then 1.5.
    """
    series = series_of(chain([2.0, -1.0, -0.5, 2.0, -3.0, 0.5]))
    assert series.equity.tolist() == [2.0, 1.0, 0.5, 2.5, -0.5, 0.0]
    assert series.underwater.tolist() == [0.0, -1.0, -1.5, 0.0, -3.0, -2.5]
    assert series.worst_drawdowns == [
        DrawdownPeriod(start=ts(49), trough=ts(59), recovery=None, depth=3.0),
        DrawdownPeriod(start=ts(19), trough=ts(39), recovery=ts(49), depth=1.5),
    ]


def test_regaining_the_peak_exactly_is_a_recovery() -> None:
    """PnL 1.0, −0.5, 0.5: equity [1.0, 0.5, 1.0] is back at the peak 1.0 at 00:39, which ends the period."""
    series = series_of(chain([1.0, -0.5, 0.5]))
    assert series.underwater.tolist() == [0.0, -0.5, 0.0]
    assert series.worst_drawdowns == [DrawdownPeriod(start=ts(19), trough=ts(29), recovery=ts(39), depth=0.5)]


def test_only_the_five_deepest_drawdowns_are_kept() -> None:
    """PnL −2, +2, −3, +3, −2, +2, −5, +5, −4, +4, −1, +1, −2 (closes c0…c12 at 00:19, 00:29, …, 02:19).

    equity falls from 0 and comes back to exactly 0 six times, then falls again: seven periods of depths 2, 3, 2,
    5, 4, 1, 2 starting at the frame start, c1, c3, c5, c7, c9, c11. Kept: 5 (c5), 4 (c7), 3 (c1), then the
    depth-2 ties by start: frame start, c3; the third depth 2 (c11) and the depth 1 are dropped.
    """
    pnls = [-2.0, 2.0, -3.0, 3.0, -2.0, 2.0, -5.0, 5.0, -4.0, 4.0, -1.0, 1.0, -2.0]
    series = series_of(chain(pnls))
    close = [ts(19 + 10 * index) for index in range(13)]
    assert series.worst_drawdowns == [
        DrawdownPeriod(start=close[5], trough=close[6], recovery=close[7], depth=5.0),
        DrawdownPeriod(start=close[7], trough=close[8], recovery=close[9], depth=4.0),
        DrawdownPeriod(start=close[1], trough=close[2], recovery=close[3], depth=3.0),
        DrawdownPeriod(start=FRAME_START, trough=close[0], recovery=close[1], depth=2.0),
        DrawdownPeriod(start=close[3], trough=close[4], recovery=close[5], depth=2.0),
    ]


def test_equity_and_drawdown_of_s1() -> None:
    """SPEC §19.3 S1 pnls 1.5, −0.8, 2.2, −1.1: equity [1.5, 0.7, 2.9000000000000004, 1.8000000000000003] adds up
    oldest first (backtest-kit 19.5's total_pnl adds newest first: 1.8) and its deepest fall is 1.1 (SPEC §11's
    max_drawdown, which the statistics no longer carry).
    """
    closed = chain([1.5, -0.8, 2.2, -1.1])
    series = series_of(closed)
    statistics = compute_backtest_statistics(closed)
    assert series.equity.tolist() == [1.5, 0.7, 2.9000000000000004, 1.8000000000000003]
    assert statistics.total_pnl == 1.8
    assert -series.underwater.min() == 1.1
    assert series.worst_drawdowns[0].depth == 1.1
    assert series.histogram_edges.tolist() == [-1.1, 0.55, 2.2]
    assert series.histogram_counts.tolist() == [2, 2]


def test_sums_are_sequential_and_grouped_in_first_appearance_order() -> None:
    """PnL 0.1 (short, stop_loss), 0.2 (long, take_profit), 0.3 (short, stop_loss), all in January 2024.

    Left to right: (0.1 + 0.2) + 0.3 = 0.6000000000000001 (0.1 + (0.2 + 0.3) would be 0.6); stop_loss 0.1 + 0.3 =
    0.4, take_profit 0.2; short 0.4, long 0.2; keys in the order they first appear.
    """
    closed = [
        trade(0.1, ts(10), ts(20), reason="stop_loss", position="short"),
        trade(0.2, ts(30), ts(40), reason="take_profit", position="long"),
        trade(0.3, ts(50), ts(60), reason="stop_loss", position="short"),
    ]
    series = series_of(closed)
    assert series.equity.tolist() == [0.1, 0.30000000000000004, 0.6000000000000001]
    assert_table(series.monthly_returns.table, [nan_row(m1=0.6000000000000001)])
    assert list(series.pnl_by_close_reason.items()) == [("stop_loss", 0.4), ("take_profit", 0.2)]
    assert list(series.pnl_by_side.items()) == [("short", 0.4), ("long", 0.2)]


def test_monthly_returns_across_a_year_boundary() -> None:
    """Closes 2023-12-31 23:50 (+1.0), 2024-01-01 00:10 (−0.5), 2024-01-15 (+0.25), 2024-01-20 (+0.5),
    2025-03-01 (+2.0): years 2023, 2024, 2025; Dec 2023 = 1.0, Jan 2024 = −0.5 + 0.25 + 0.5 = 0.25, Mar 2025 = 2.0,
    every other month NaN.
    """
    day = 1440 * MINUTE
    closes = [T0 - 10 * MINUTE, ts(10), T0 + 14 * day, T0 + 19 * day, 1740787200000]  # last: 2025-03-01T00:00Z
    closed = [
        trade(pnl, close - MINUTE, close, index=index)
        for index, (pnl, close) in enumerate(zip([1.0, -0.5, 0.25, 0.5, 2.0], closes, strict=True))
    ]
    series = series_of(closed, frame_start=T0 - 60 * MINUTE, frame_end=1740787200000)
    assert series.monthly_returns.years == [2023, 2024, 2025]
    assert_table(series.monthly_returns.table, [nan_row(m12=1.0), nan_row(m1=0.25), nan_row(m3=2.0)])


def test_exposure_holding_and_flat_stretches() -> None:
    """Positions 00:10 → 00:24 and 00:30 → 01:00 in frame F (170 min).

    In a position 14 + 30 = 44 min: exposure 44 / 170; mean holding (14 + 30) / 2 = 22.0 min; flat stretches
    00:24 → 00:30 (6 min) and 01:00 → 03:00, the frame's end + 1 minute (120 min): longest 120.0.
    """
    series = series_of([trade(1.0, ts(10), ts(24)), trade(-1.0, ts(30), ts(60), index=1)])
    assert series.exposure == 44 / 170
    assert series.average_holding_minutes == 22.0
    assert series.longest_flat_minutes == 120.0


def test_exposure_counts_overlapping_positions_once() -> None:
    """Positions 00:20 → 00:40 and 00:30 → 00:50 overlap: their union is 00:20 → 00:50, 30 min: exposure 30 / 170.

    Mean holding (20 + 20) / 2 = 20.0; flat 00:10 → 00:20 (10) and 00:50 → 03:00 (130): longest 130.0.
    """
    series = series_of([trade(1.0, ts(20), ts(40)), trade(1.0, ts(30), ts(50), index=1)])
    assert series.exposure == 30 / 170
    assert series.average_holding_minutes == 20.0
    assert series.longest_flat_minutes == 130.0


def test_a_position_closing_one_minute_after_the_last_tick_fills_the_frame() -> None:
    """A position from the first tick 00:10 to 03:00 (truncated at the candle after 02:59) holds all 170 min."""
    series = series_of([trade(1.0, ts(10), ts(180))])
    assert frame_length_ms(FRAME_START, FRAME_END) == 170 * MINUTE
    assert series.exposure == 1.0
    assert series.average_holding_minutes == 170.0
    assert series.longest_flat_minutes == 0.0


@pytest.mark.parametrize(
    ("closed", "message"),
    [
        ([trade(1.0, ts(5), ts(20))], "pending_at 1704067500000 (2024-01-01T00:05:00.000Z) is before frame_start"),
        ([trade(1.0, ts(10), ts(181))], "close_timestamp 1704078060000 (2024-01-01T03:01:00.000Z) is outside"),
        ([trade(1.0, ts(10), ts(20), pending_at=None)], "closed signal 'sig-0' has no pending_at"),
    ],
)
def test_positions_outside_the_frame_are_refused(closed: list[ClosedResult], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        series_of(closed)


def test_a_frame_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"frame_end 1704067200000 \(2024-01-01T00:00:00.000Z\) is before"):
        series_of([], frame_start=ts(10), frame_end=T0)


def test_buy_and_hold() -> None:
    """(last / first − 1) × 100; None when either close is missing; a first close of 0 is refused."""
    assert buy_and_hold_return(42000.0, 42420.0) == 1.0000000000000009
    assert buy_and_hold_return(50000.0, 40000.0) == -19.999999999999996
    assert buy_and_hold_return(None, 42000.0) is None
    assert buy_and_hold_return(42000.0, None) is None
    with pytest.raises(ValueError, match=re.escape("first_close must be positive, got 0.0")):
        buy_and_hold_return(0.0, 42000.0)


def test_histogram_of_identical_values_is_one_bin() -> None:
    """Three trades of 2.0: interquartile range 0, numpy's one bin [1.5, 2.5] holding all three."""
    edges, counts = pnl_histogram(np.array([2.0, 2.0, 2.0]))
    assert edges.tolist() == [1.5, 2.5]
    assert counts.tolist() == [3]


def test_histogram_is_numpys_freedman_diaconis() -> None:
    """1, 2, 3, 4, 5, 100: quartiles 2.25 and 4.75, width 2 · 2.5 / ∛6 = 2.75, range 99 → 36 bins of 2.75."""
    pnl = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 100.0])
    edges, counts = pnl_histogram(pnl)
    expected_counts, expected_edges = np.histogram(pnl, bins="fd")
    assert edges.tolist() == expected_edges.tolist()
    assert counts.tolist() == expected_counts.tolist()
    assert len(counts) == 36
    assert edges[1] - edges[0] == 2.75
    assert counts.tolist() == [3, 2] + [0] * 33 + [1]


def test_histogram_of_noise_spread_values_is_capped() -> None:
    """50 × −0.39960039960036, 50 × −0.39960039960039617 (equal but for the last bits) and one 0.6.

    The interquartile range 3.6e-14 would ask numpy for about 6.4e13 bins (468 TiB); the histogram has
    MAX_HISTOGRAM_BINS = 1000 equal bins over [−0.39960039960039617, 0.6] instead: 100 trades in the first, one
    in the last.
    """
    pnl = np.array([-0.39960039960036] * 50 + [-0.39960039960039617] * 50 + [0.6])
    edges, counts = pnl_histogram(pnl)
    assert len(counts) == MAX_HISTOGRAM_BINS
    assert (edges[0], edges[-1]) == (-0.39960039960039617, 0.6)
    assert counts[0] == 100
    assert counts[-1] == 1
    assert counts.sum() == 101


def test_series_serialise_to_json() -> None:
    """Arrays become lists; an empty month of the table becomes null."""
    series = series_of([trade(0.5, ts(10), ts(24))])
    dumped = series.model_dump(mode="json")
    assert dumped["equity"] == [0.5]
    assert dumped["close_times"] == [ts(24)]
    assert dumped["monthly_returns"]["table"][0][0] == 0.5
    assert '"table":[[0.5,null' in series.model_dump_json()
