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
    average_loss,
    average_win,
    calmar_ratio,
    certainty_ratio,
    compute_backtest_statistics,
    curve_drawdown,
    downside_deviation,
    expectancy,
    expected_yearly_returns,
    max_streaks,
    opened_at,
    population_std,
    position_duration_ms,
    profit_factor,
    sequential_mean,
    sequential_sum,
    sharpe_ratio,
    sortino_ratio,
)

T0 = 1704067200000
MINUTE = 60_000
P1 = -0.3996003996003651  # SPEC §7 P1: long opened and closed at 42000


def make_closed(
    pnl: float, duration_minutes: int, index: int = 0, pending_at: int | None = T0, fee_cost: float = 0.0
) -> ClosedResult:
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
        pnl=Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=42000.0,
            fee_cost=fee_cost,
        ),
    )


def statistics_of(
    pnls: Sequence[float], durations: Sequence[int] | None = None, fees: Sequence[float] | None = None
) -> BacktestStatistics:
    minutes = durations if durations is not None else [60] * len(pnls)
    fee_costs = fees if fees is not None else [0.0] * len(pnls)
    closed = [
        make_closed(pnl, minute, index, fee_cost=fee)
        for index, (pnl, minute, fee) in enumerate(zip(pnls, minutes, fee_costs, strict=True))
    ]
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
        "profit_factor",
        "expectancy",
        "sortino_ratio",
        "calmar_ratio",
        "avg_win",
        "avg_loss",
        "best_trade",
        "worst_trade",
        "total_fees",
    ):
        assert getattr(stats, name) is None, name
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (0, 0)


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
    assert curve_drawdown([]) == 0.0
    assert curve_drawdown([1.0, 3.0]) == 0.0
    # An opening loss is a drawdown from the starting level of 0.
    assert curve_drawdown([-1.5, -1.0]) == 1.5
    assert curve_drawdown([5.0, 2.0, -2.0, 0.0]) == 7.0


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


# ---------------------------------------------------------------------------------------------------------------
# Extra statistics beyond SPEC §11.2 (profit factor, expectancy, Sortino, Calmar, streaks, trades, fees)
# ---------------------------------------------------------------------------------------------------------------


def test_s1_extra_statistics_are_exact() -> None:
    """Check S1 [1.5, -0.8, 2.2, -1.1] (durations 60, 120, 30, 90 min; fee 0.2 each), by hand.

    * profit_factor = (1.5 + 2.2) / abs(-0.8 + -1.1) = 3.7 / 1.9000000000000001 = 1.9473684210526316.
    * avg_win = 3.7 / 2 = 1.85; avg_loss = -1.9000000000000001 / 2 = -0.9500000000000001.
    * expectancy = 50/100 * 1.85 + 50/100 * -0.9500000000000001 = 0.925 - 0.47500000000000003 = 0.45.
    * downside = sqrt((0 + 0.6400000000000001 + 0 + 1.2100000000000002) / 4) = sqrt(0.4625) = 0.6800735254367722;
      sortino = avg_pnl 0.45000000000000007 / 0.6800735254367722 = 0.661693159884427.
    * calmar = expected_yearly_returns 3153.6000000000004 / max_drawdown 1.1 = 2866.909090909091.
    * streaks: W L W L -> 1 and 1; best 2.2, worst -1.1; total_fees = 0.2 + 0.2 + 0.2 + 0.2 = 0.8.
    """
    stats = statistics_of([1.5, -0.8, 2.2, -1.1], [60, 120, 30, 90], [0.2] * 4)
    assert stats.profit_factor == 1.9473684210526316
    assert stats.avg_win == 1.85
    assert stats.avg_loss == -0.9500000000000001
    assert stats.expectancy == 0.45
    assert stats.sortino_ratio == 0.661693159884427
    assert stats.calmar_ratio == 2866.909090909091
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 1)
    assert (stats.best_trade, stats.worst_trade) == (2.2, -1.1)
    assert stats.total_fees == 0.8


def test_s2_extra_statistics_are_exact() -> None:
    """Check S2 [5, -3, -4, 2] (60 min each), by hand.

    * profit_factor = (5 + 2) / abs(-3 + -4) = 7 / 7 = 1.0; avg_win = 3.5, avg_loss = -3.5.
    * expectancy = 0.5 * 3.5 + 0.5 * -3.5 = 0.0.
    * downside = sqrt((9 + 16) / 4) = 2.5; sortino = avg_pnl 0.0 / 2.5 = 0.0.
    * calmar = expected_yearly_returns (0.0 * 365 / (1/24)) = 0.0 / max_drawdown 7.0 = 0.0.
    * streaks: W L L W -> 1 win, 2 losses; best 5.0, worst -4.0; total_fees = 0.0 (no fee recorded).
    """
    stats = statistics_of([5.0, -3.0, -4.0, 2.0])
    assert stats.profit_factor == 1.0
    assert (stats.avg_win, stats.avg_loss) == (3.5, -3.5)
    assert stats.expectancy == 0.0
    assert stats.sortino_ratio == 0.0
    assert stats.calmar_ratio == 0.0
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 2)
    assert (stats.best_trade, stats.worst_trade) == (5.0, -4.0)
    assert stats.total_fees == 0.0


def test_one_trade_extra_statistics() -> None:
    """Check a single win of 1.5 % held 60 min, fee 0.19980019980019983 (SPEC §7 P1's fee), by hand.

    * No loss: profit_factor None, avg_loss None, so expectancy None.
    * downside = sqrt(0 / 1) = 0 -> sortino None; max_drawdown 0 -> calmar None.
    * streaks 1 and 0; best = worst = 1.5; avg_win 1.5; total_fees = 0.0 + 0.19980019980019983.
    """
    stats = statistics_of([1.5], fees=[0.19980019980019983])
    assert stats.profit_factor is None
    assert stats.expectancy is None
    assert stats.sortino_ratio is None
    assert stats.calmar_ratio is None
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 0)
    assert (stats.avg_win, stats.avg_loss) == (1.5, None)
    assert (stats.best_trade, stats.worst_trade) == (1.5, 1.5)
    assert stats.total_fees == 0.19980019980019983


def test_all_wins_with_a_flat_trade_between() -> None:
    """Check [1.0, 2.0, 0.0, 3.0], by hand.

    * The 0.0 trade is neither a win nor a loss and breaks no run: the win streak is 3, the loss streak 0.
    * No loss: profit_factor, avg_loss, expectancy None; downside 0 -> sortino None; drawdown 0 -> calmar None.
    * avg_win = (1 + 2 + 3) / 3 = 2.0; best 3.0, worst 0.0.
    """
    stats = statistics_of([1.0, 2.0, 0.0, 3.0])
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (3, 0)
    assert stats.profit_factor is None
    assert stats.expectancy is None
    assert stats.sortino_ratio is None
    assert stats.calmar_ratio is None
    assert (stats.avg_win, stats.avg_loss) == (2.0, None)
    assert (stats.best_trade, stats.worst_trade) == (3.0, 0.0)


def test_all_losses_extra_statistics() -> None:
    """Check [-1.0, -3.0] (60 min each, fees 0.2 and 0.3), by hand.

    * profit_factor = Σwins 0.0 / abs(-4.0) = 0.0 (losses but no win); expectancy None (no mean win).
    * avg_loss = -4 / 2 = -2.0; downside = sqrt((1 + 9) / 2) = sqrt(5) = 2.23606797749979;
      sortino = -2.0 / 2.23606797749979 = -0.8944271909999159.
    * expected_yearly_returns = -2.0 * (365 / (60 / 1440)) = -17520.0; max_drawdown = 4.0 (from 0 down to -4);
      calmar = -17520.0 / 4.0 = -4380.0.
    * streaks 0 and 2; best -1.0, worst -3.0; total_fees = 0.2 + 0.3 = 0.5.
    """
    stats = statistics_of([-1.0, -3.0], fees=[0.2, 0.3])
    assert stats.profit_factor == 0.0
    assert stats.expectancy is None
    assert (stats.avg_win, stats.avg_loss) == (None, -2.0)
    assert stats.sortino_ratio == -0.8944271909999159
    assert stats.calmar_ratio == -4380.0
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (0, 2)
    assert (stats.best_trade, stats.worst_trade) == (-1.0, -3.0)
    assert stats.total_fees == 0.5


def test_expectancy_counts_flat_trades_in_the_loss_share() -> None:
    """Check [1.0, 0.0, -2.0, 0.0, -1.0, 3.0], by hand (SPEC §13's formula, kept so Heat and Backtest agree).

    * win_rate = 2 / 6 * 100 = 33.33...; the loss share is (100 - win_rate) / 100 = 0.666..., flat trades included.
    * avg_win = (1 + 3) / 2 = 2.0, avg_loss = (-2 - 1) / 2 = -1.5.
    * expectancy = 0.333... * 2.0 + 0.666... * -1.5 = 0.666... - 1.0 = -0.3333333333333335.
    * profit_factor = 4.0 / 3.0 = 1.3333333333333333; streaks: the two flat trades break nothing, so W, -, L, -, L, W
      gives 1 win and 2 losses in a row.
    """
    stats = statistics_of([1.0, 0.0, -2.0, 0.0, -1.0, 3.0])
    assert stats.expectancy == -0.3333333333333335
    assert stats.profit_factor == 1.3333333333333333
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 2)


def test_non_finite_extra_statistics_become_none() -> None:
    """Check [1e308, 1e308, -1.0]: Σwins overflows to inf, so every statistic built on it is None."""
    stats = statistics_of([1e308, 1e308, -1.0])
    assert stats.avg_win is None
    assert stats.profit_factor is None
    assert stats.expectancy is None
    assert stats.sortino_ratio is None
    assert stats.calmar_ratio is None
    assert (stats.best_trade, stats.worst_trade) == (1e308, -1.0)
    assert stats.avg_loss == -1.0


def test_profit_factor_and_averages() -> None:
    """Check the shared primitives on small inputs: 0 counts as neither a win nor a loss."""
    assert profit_factor([]) is None
    assert profit_factor([1.0, 0.0]) is None
    assert profit_factor([-1.0, 0.0]) == 0.0
    assert profit_factor([3.0, -1.0, 1.0, -1.0]) == 2.0
    assert (average_win([]), average_loss([])) == (None, None)
    assert (average_win([0.0, 1.0, 2.0, -4.0]), average_loss([0.0, 1.0, 2.0, -4.0])) == (1.5, -4.0)


def test_expectancy_needs_both_means() -> None:
    """Check ``win_rate/100 * avg_win + (100 - win_rate)/100 * avg_loss``: 0.25 * 4 + 0.75 * -1 = 0.25."""
    assert expectancy(25.0, 4.0, -1.0) == 0.25
    assert expectancy(100.0, 4.0, None) is None
    assert expectancy(0.0, None, -1.0) is None


def test_max_streaks() -> None:
    """Check runs: zeros break neither; a loss ends a win run and starts a loss run."""
    assert max_streaks([]) == (0, 0)
    assert max_streaks([0.0, 0.0]) == (0, 0)
    assert max_streaks([1.0, 0.0, 1.0, -1.0, 0.0, -1.0, -1.0, 1.0]) == (2, 3)
    assert max_streaks(iter([-1.0, 1.0, 1.0, 1.0])) == (3, 1)


def test_downside_sortino_and_calmar() -> None:
    """Check sqrt(Σ min(0, p)² / n): [3, -4] gives sqrt(16 / 2) = sqrt(8); ratios are None on a zero divisor."""
    assert downside_deviation([3.0, -4.0]) == math.sqrt(8.0)
    assert downside_deviation([3.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="undefined"):
        downside_deviation([])
    assert sortino_ratio(1.0, 2.0) == 0.5
    assert sortino_ratio(1.0, 0.0) is None
    assert calmar_ratio(10.0, 4.0) == 2.5
    assert calmar_ratio(10.0, 0.0) is None
