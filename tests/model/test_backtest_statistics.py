"""Backtest statistics: the exact values of SPEC §19.3 S1–S3 and the numeric building blocks (SPEC §11.2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from workstation.models.results import ClosedResult, Pnl
from workstation.models.signal import SignalRow
from workstation.reports.statistics import (
    BacktestStatistics,
    annualized_sharpe_ratio,
    certainty_ratio,
    compute_backtest_statistics,
    expected_yearly_returns,
    max_drawdown,
    opened_at,
    population_std,
    position_duration_ms,
    sequential_mean,
    sequential_sum,
    sharpe_ratio,
)

T0 = 1704067200000
MINUTE = 60_000
P1 = -0.3996003996003651  # SPEC §7 P1: long opened and closed at 42000


def make_closed(pnl: float, duration_minutes: int, index: int = 0, pending_at: int | None = T0) -> ClosedResult:
    """Return a closed long whose position was open ``duration_minutes`` from ``pending_at``."""
    opened = T0 if pending_at is None else pending_at
    signal = SignalRow(
        id=f"sig-{index}",
        position="long",
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
        pending_at=pending_at,
        is_scheduled=False,
    )
    close_timestamp = opened + duration_minutes * MINUTE
    return ClosedResult(
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="ladder",
        frame_name="F",
        backtest=True,
        timestamp=close_timestamp,
        current_price=42000.0,
        signal=signal,
        close_reason="take_profit" if pnl > 0 else "stop_loss",
        close_timestamp=close_timestamp,
        pnl=Pnl(pnl_percentage=pnl, pnl_cost=pnl, pnl_entries=100.0, price_open=42000.0, price_close=42000.0),
    )


def statistics_of(pnls: Sequence[float], durations: Sequence[int] | None = None) -> BacktestStatistics:
    minutes = durations if durations is not None else [60] * len(pnls)
    closed = [make_closed(pnl, minute, index) for index, (pnl, minute) in enumerate(zip(pnls, minutes, strict=True))]
    return compute_backtest_statistics(closed, 0)


def test_s1_statistics_are_exact() -> None:
    stats = statistics_of([1.5, -0.8, 2.2, -1.1], [60, 120, 30, 90])
    assert stats.total_signals == 4
    assert stats.total_cancelled == 0
    assert (stats.win_count, stats.loss_count) == (2, 2)
    assert stats.win_rate == 50.0
    assert stats.avg_pnl == 0.45000000000000007
    assert stats.total_pnl == 1.8000000000000003
    assert stats.std_dev == 1.4256577429383253
    assert stats.sharpe_ratio == 0.3156437807243525
    assert stats.annualized_sharpe_ratio == 6.030365963450024
    assert stats.certainty_ratio == 1.9473684210526316
    assert stats.expected_yearly_returns == 3153.6000000000004
    # Measured from the running peak (1.5 → 0.7 and 2.9 → 1.8), not from zero, which would give 0.
    assert stats.max_drawdown == 1.1


def test_s2_drawdown_spans_consecutive_losses_and_zero_mean_gives_zero_sharpe() -> None:
    stats = statistics_of([5.0, -3.0, -4.0, 2.0])
    assert stats.max_drawdown == 7.0
    assert stats.avg_pnl == 0.0
    assert stats.sharpe_ratio == 0.0
    assert stats.annualized_sharpe_ratio == 0.0
    assert stats.certainty_ratio == 1.0


def test_s3_identical_losses_suppress_std_noise() -> None:
    stats = statistics_of([P1] * 7)
    # Without the noise floor the deviation would be 5.551115123125783e-17 and the Sharpe ratio about -7e15.
    assert population_std([P1] * 7, sequential_mean([P1] * 7)) == 0.0
    assert stats.std_dev == 0.0
    assert stats.sharpe_ratio == 0.0
    assert stats.total_pnl == -2.797202797202556
    assert stats.max_drawdown == 2.797202797202556
    assert (stats.win_count, stats.loss_count) == (0, 7)
    assert stats.win_rate == 0.0
    assert stats.certainty_ratio == 0.0


def test_no_closed_signal_gives_zero_counts_and_none_ratios() -> None:
    stats = compute_backtest_statistics([], 3)
    assert stats.signal_list == []
    assert (stats.total_signals, stats.total_cancelled, stats.win_count, stats.loss_count) == (0, 3, 0, 0)
    for name in (
        "win_rate",
        "avg_pnl",
        "total_pnl",
        "std_dev",
        "sharpe_ratio",
        "annualized_sharpe_ratio",
        "certainty_ratio",
        "expected_yearly_returns",
        "max_drawdown",
    ):
        assert getattr(stats, name) is None, name


def test_signal_list_holds_every_closed_result_in_arrival_order() -> None:
    closed = [make_closed(pnl, 60, index) for index, pnl in enumerate([1.0, -2.0, 3.0])]
    stats = compute_backtest_statistics(closed, 1)
    assert [result.signal.id for result in stats.signal_list] == ["sig-0", "sig-1", "sig-2"]
    assert stats.signal_list is not closed
    assert stats.total_cancelled == 1


def test_zero_pnl_is_neither_win_nor_loss_but_counts_as_a_signal() -> None:
    stats = statistics_of([0.0, 1.0, -1.0])
    assert (stats.total_signals, stats.win_count, stats.loss_count) == (3, 1, 1)
    assert stats.win_rate == 1 / 3 * 100


def test_non_finite_statistics_become_none() -> None:
    # The sum overflows to inf, and the ratios built on it become inf or NaN.
    stats = statistics_of([1e308, 1e308])
    assert stats.total_pnl is None
    assert stats.avg_pnl is None
    assert stats.std_dev is None
    assert stats.sharpe_ratio is None
    assert stats.annualized_sharpe_ratio is None
    assert stats.expected_yearly_returns is None
    assert stats.win_rate == 100.0


def test_sequential_sum_adds_left_to_right_without_compensation() -> None:
    values = [1e16, 1.0, -1e16]
    # (1e16 + 1.0) rounds back to 1e16, so the plain left-to-right sum loses the 1.0 that fsum keeps.
    assert sequential_sum(values) == 0.0
    assert math.fsum(values) == 1.0
    assert sequential_sum([0.1, 0.2, 0.3]) == (0.1 + 0.2) + 0.3
    assert sequential_sum([]) == 0.0
    assert sequential_sum(iter([1.5, -0.8])) == 1.5 + -0.8


def test_sequential_mean_refuses_no_values() -> None:
    assert sequential_mean([1.5, -0.8, 2.2, -1.1]) == 0.45000000000000007
    with pytest.raises(ValueError, match="undefined"):
        sequential_mean([])


def test_population_std_divides_by_n() -> None:
    assert population_std([1.0, 3.0], 2.0) == 1.0
    assert population_std([4.0], 4.0) == 0.0


def test_sharpe_and_annualization() -> None:
    assert sharpe_ratio(0.5, 0.0) == 0.0
    assert sharpe_ratio(1.0, 4.0) == 0.25
    assert annualized_sharpe_ratio(1.0) == math.sqrt(365)


def test_certainty_ratio_edges() -> None:
    assert certainty_ratio([1.0, 2.0]) == 0.0  # no loss
    assert certainty_ratio([-1.0, -3.0]) == 0.0  # losses but no win: the mean win counts as 0
    assert certainty_ratio([3.0, -1.0, -2.0, 0.0]) == 2.0


def test_expected_yearly_returns() -> None:
    assert expected_yearly_returns(1.0, [86_400_000]) == 365.0
    assert expected_yearly_returns(1.0, [0, 0]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        expected_yearly_returns(1.0, [])


def test_max_drawdown_starts_at_zero() -> None:
    assert max_drawdown([]) == 0.0
    assert max_drawdown([1.0, 2.0]) == 0.0
    # An opening loss is a drawdown from the starting level of 0.
    assert max_drawdown([-1.5, 0.5]) == 1.5
    assert max_drawdown([5.0, -3.0, -4.0, 2.0]) == 7.0


def test_duration_needs_pending_at() -> None:
    result = make_closed(1.0, 75)
    assert opened_at(result) == T0
    assert position_duration_ms(result) == 75 * MINUTE
    unfilled = make_closed(1.0, 75, pending_at=None)
    with pytest.raises(ValueError, match="sig-0"):
        position_duration_ms(unfilled)
    with pytest.raises(ValueError, match="no pending_at"):
        compute_backtest_statistics([unfilled], 0)


def test_statistics_are_frozen() -> None:
    stats = statistics_of([1.0])
    with pytest.raises(ValueError, match="frozen"):
        stats.total_signals = 2  # type: ignore[misc]
