"""``ws.Backtest.get_series`` after real backtests agrees with the statistics and the candles (docs/series.md)."""

from __future__ import annotations

import asyncio
import math

import pytest

import workstation as ws
from workstation.models.series import DrawdownPeriod, RunSeries

from .fixtures import STRATEGY, SYMBOL, L, run_backtest, signal, ts


def series() -> RunSeries:
    return asyncio.run(ws.Backtest.get_series(SYMBOL, STRATEGY))


def test_b1_series_and_buy_and_hold() -> None:
    """B1: one long 00:10 → 00:24 (take profit, pnl 0.5974035964036354) in frame F 00:10 → 02:59.

    The 1m candle at 00:10 closes at 42000 and the one at 02:59 at 42500 (step at 00:20): buy-and-hold
    (42500 / 42000 − 1) × 100 = 1.1904761904761862. Held 14 of 170 minutes; flat 03:00 − 00:24 = 156 min.
    """
    run = run_backtest(L, steps={20: 42500})
    assert run.actions == ["opened", "closed"]
    pnl = run.results[1].pnl

    result = series()
    assert (result.frame_start, result.frame_end) == (ts(10), ts(179))
    assert result.close_times.tolist() == [ts(24)]
    assert result.trade_pnl.tolist() == [0.5974035964036354]
    assert result.trade_pnl_money.tolist() == [pnl.pnl_cost]
    assert result.equity.tolist() == [0.5974035964036354]
    assert result.underwater.tolist() == [0.0]
    assert result.worst_drawdowns == []
    assert result.pnl_by_close_reason == {"take_profit": 0.5974035964036354}
    assert result.pnl_by_side == {"long": 0.5974035964036354}
    assert result.buy_and_hold == 1.1904761904761862
    assert result.exposure == 14 / 170
    assert result.average_holding_minutes == 14.0
    assert result.longest_flat_minutes == 156.0
    assert result.monthly_returns.years == [2024]
    assert result.monthly_returns.table[0, 0] == 0.5974035964036354
    assert all(math.isnan(value) for value in result.monthly_returns.table[0, 1:])


def test_s3_series_agree_with_the_statistics() -> None:
    """S3 (B17): seven equal losses of −0.3996003996003651, opened 00:10, 00:18, …, 00:58, closed 00:17, 00:25,
    …, 00:57 and 01:00 (truncated one minute after the last tick 00:59) in a 50-minute frame.

    equity[-1] is total_pnl bit for bit (equal losses add up alike in either order) and −min(underwater) the whole
    loss; one drawdown from the frame start to the last close, never recovered. Held 6 × 7 + 2 = 44 of 50 minutes;
    mean holding 44 / 7; flat stretches of 1 minute between positions, none at either end. Flat candles:
    buy-and-hold 0.0.
    """
    run_backtest(signal(L, minute_estimated_time=7), every_call=True, frame_end=59)
    statistics = asyncio.run(ws.Backtest.get_data(SYMBOL, STRATEGY))

    result = series()
    assert result.close_times.tolist() == [ts(minute) for minute in (17, 25, 33, 41, 49, 57, 60)]
    assert result.equity[-1] == statistics.total_pnl
    assert result.equity[-1] == pytest.approx(-2.797202797202556, rel=1e-9)
    assert -result.underwater.min() == -result.equity[-1]
    assert result.worst_drawdowns == [
        DrawdownPeriod(start=ts(10), trough=ts(60), recovery=None, depth=-result.equity[-1])
    ]
    assert result.trade_pnl.tolist() == [r.pnl.pnl_percentage for r in statistics.signal_list]
    assert result.histogram_counts.tolist() == [7]
    assert result.pnl_by_close_reason == {"time_expired": statistics.total_pnl}
    assert result.buy_and_hold == 0.0
    assert result.exposure == 44 / 50
    assert result.average_holding_minutes == 44 / 7
    assert result.longest_flat_minutes == 1.0


def test_buy_and_hold_is_none_when_the_data_ends_before_the_last_tick() -> None:
    """Candles 00:00 … 02:58 only: the frame's last tick 02:59 has no candle, so there is no buy-and-hold."""
    run_backtest(None, count=179)

    result = series()
    assert result.buy_and_hold is None
    assert result.equity.tolist() == []
    assert result.exposure == 0.0
    assert result.longest_flat_minutes == 170.0


def test_series_without_a_run_are_refused() -> None:
    with pytest.raises(ValueError, match="no backtest run recorded for symbol 'BTCUSDT' and strategy 'one-shot'"):
        series()
