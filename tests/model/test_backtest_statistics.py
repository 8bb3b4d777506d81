"""Backtest statistics by backtest-kit 19.5's rules (SPEC-statistics): SPEC §19.3 S1–S3, the numeric pieces."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from workstation.models.results import ClosedResult, Pnl
from workstation.models.signal import SignalRow
from workstation.reports.statistics import (
    BacktestStatistics,
    average_loss,
    average_win,
    compute_backtest_statistics,
    curve_drawdown,
    expectancy,
    max_streaks,
    median,
    opened_at,
    population_std,
    position_duration_ms,
    profit_factor,
    sequential_mean,
    sequential_sum,
    sharpe_ratio,
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
    return compute_backtest_statistics(closed)


def test_s1_statistics_are_exact() -> None:
    """S1 (SPEC §19.3) by backtest-kit 19.5's rules (SPEC-statistics §5): pnls [1.5, −0.8, 2.2, −1.1], 4 < 10 trades.

    * total_pnl runs newest first: ((0 + −1.1) + 2.2) + −0.8) + 1.5 = 1.8 (1.8000000000000003 left to right).
    * avg_pnl = 1.8 / 4 = 0.45; win_rate = 2 / (2 + 2) * 100 = 50; median = (−0.8 + 1.5) / 2 = 0.35.
    * avg_duration = (90 + 30 + 120 + 60) / 4 = 75; wins last (30 + 60) / 2 = 45 min, losses (90 + 120) / 2 = 105.
    * streaks alternate: win streaks 1.5 and 2.2 average 1.85, loss streaks −0.8 and −1.1 average −0.95.
    * Below 10 trades the deviation, every ratio and the price profile are None.
    """
    stats = statistics_of([1.5, -0.8, 2.2, -1.1], [60, 120, 30, 90])
    assert stats.total_signals == 4
    assert (stats.win_count, stats.loss_count) == (2, 2)
    assert stats.win_rate == 50.0
    assert stats.avg_pnl == 0.45
    assert stats.total_pnl == 1.8
    assert stats.median_pnl == 0.35
    assert (stats.avg_duration, stats.avg_win_duration, stats.avg_loss_duration) == (75.0, 45.0, 105.0)
    assert (stats.avg_consecutive_win_pnl, stats.avg_consecutive_loss_pnl) == (1.85, -0.9500000000000001)
    for name in (
        "std_dev",
        "sharpe_ratio",
        "annualized_sharpe_ratio",
        "certainty_ratio",
        "expected_yearly_returns",
        "sortino_ratio",
        "calmar_ratio",
        "recovery_factor",
        "expectancy",
        "median_step_size",
        "trend",
    ):
        assert getattr(stats, name) is None, name
    # Closed results without excursions (a factory's, or a row stored before they were kept): no peak, no fall.
    assert (stats.avg_peak_pnl, stats.avg_fall_pnl) == (None, None)


def test_s2_streaks_of_losses_add_up() -> None:
    """S2 [5, −3, −4, 2]: the losses −3 and −4 are one streak (−7); the median is (−3 + 2) / 2 = −0.5."""
    stats = statistics_of([5.0, -3.0, -4.0, 2.0])
    assert stats.avg_pnl == 0.0
    assert stats.median_pnl == -0.5
    assert (stats.avg_consecutive_win_pnl, stats.avg_consecutive_loss_pnl) == (3.5, -7.0)
    assert stats.sharpe_ratio is None


def test_s3_identical_losses() -> None:
    """S3: seven identical losses; 7 < 10 trades, so no deviation (SPEC §11's was 0.0 after its noise floor)."""
    stats = statistics_of([P1] * 7)
    assert population_std([P1] * 7, sequential_mean([P1] * 7)) == 0.0
    assert stats.std_dev is None
    assert stats.sharpe_ratio is None
    assert stats.total_pnl == -2.797202797202556
    assert (stats.win_count, stats.loss_count) == (0, 7)
    assert stats.win_rate == 0.0
    assert stats.avg_consecutive_loss_pnl == -2.797202797202556


def test_ten_trades_give_the_ratios() -> None:
    """[1, 0, −2, 0, −1, 3, 1, 0, −2, 2] (60 min each, all opened together), by hand.

    * 4 wins (7 in all), 3 losses (−5), 3 break-even: win_rate = 4 / 7 * 100; certainty = 1.75 / (5 / 3) = 1.05.
    * expectancy = 4/10 · 1.75 + 3/10 · (−5/3) = 0.7 − 0.5 = 0.20000000000000007 (break-even trades in N).
    * sortino = avg 0.2 / sqrt((4 + 1 + 4) / 10) = 0.2 / 0.9486832980505138 = 0.21081851067789198 (all N).
    * streaks (zero ends both): wins 1 | 3 + 1 | 2 -> 7 / 3; losses −2 | −1 | −2 -> −5 / 3.
    * Every exit is at 42,000 at one time: the median step is 0, no step is decisive and there is no time span, so
      the pressures, strengths and trend are None.
    """
    stats = statistics_of([1.0, 0.0, -2.0, 0.0, -1.0, 3.0, 1.0, 0.0, -2.0, 2.0])
    assert stats.win_rate == 57.14285714285714
    assert (stats.avg_pnl, stats.total_pnl) == (0.2, 2.0)
    assert stats.std_dev == 1.6193277068654826
    assert stats.sharpe_ratio == 0.12350804543889275
    assert stats.certainty_ratio == 1.05
    assert stats.expectancy == 0.20000000000000007
    assert stats.sortino_ratio == 0.21081851067789198
    assert stats.recovery_factor == 0.6370568382469872
    assert (stats.avg_consecutive_win_pnl, stats.avg_consecutive_loss_pnl) == (2.3333333333333335, -1.6666666666666667)
    assert stats.median_pnl == 0.0
    assert stats.median_step_size == 0.0
    assert (stats.buyer_pressure, stats.buyer_strength, stats.trend) == (None, None, None)
    assert (stats.annualized_sharpe_ratio, stats.expected_yearly_returns, stats.calmar_ratio) == (None, None, None)


def test_no_closed_signal_gives_zero_counts_and_none_figures() -> None:
    stats = compute_backtest_statistics([])
    assert stats.signal_list == []
    counts = ("total_signals", "win_count", "loss_count", "max_consecutive_wins", "max_consecutive_losses")
    assert [getattr(stats, name) for name in counts] == [0, 0, 0, 0, 0]
    for name in BacktestStatistics.model_fields.keys() - {*counts, "signal_list"}:
        assert getattr(stats, name) is None, name


def test_signal_list_holds_every_closed_result_in_arrival_order() -> None:
    closed = [make_closed(pnl, 60, index) for index, pnl in enumerate([1.0, -2.0, 3.0])]
    stats = compute_backtest_statistics(closed)
    assert [result.signal.id for result in stats.signal_list] == ["sig-0", "sig-1", "sig-2"]
    assert stats.signal_list is not closed


def test_zero_pnl_is_neither_win_nor_loss_and_leaves_the_win_rate() -> None:
    """19.5's win rate counts decisive trades only: 1 / (1 + 1) * 100 = 50 (SPEC §11's was 1 / 3)."""
    stats = statistics_of([0.0, 1.0, -1.0])
    assert (stats.total_signals, stats.win_count, stats.loss_count) == (3, 1, 1)
    assert stats.win_rate == 50.0
    assert statistics_of([0.0, 0.0]).win_rate == 0.0


def test_non_finite_statistics_become_none() -> None:
    # The sum overflows to inf, and what is built on it becomes inf or NaN.
    stats = statistics_of([1e308, 1e308])
    assert stats.total_pnl is None
    assert stats.avg_pnl is None
    assert stats.median_pnl is None
    assert stats.avg_consecutive_win_pnl is None
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


def test_median() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    with pytest.raises(ValueError, match="undefined"):
        median([])


def test_population_std_divides_by_n() -> None:
    assert population_std([1.0, 3.0], 2.0) == 1.0
    assert population_std([4.0], 4.0) == 0.0


def test_sharpe_ratio() -> None:
    assert sharpe_ratio(0.5, 0.0) == 0.0
    assert sharpe_ratio(1.0, 4.0) == 0.25


def test_curve_drawdown_starts_at_zero() -> None:
    assert curve_drawdown([]) == 0.0
    assert curve_drawdown([1.0, 3.0]) == 0.0
    # An opening loss is a drawdown from the starting level of 0.
    assert curve_drawdown([-1.5, -1.0]) == 1.5
    assert curve_drawdown([5.0, 2.0, -2.0, 0.0]) == 7.0


def test_a_result_without_pending_at_is_left_out() -> None:
    """19.5 counts only results with a positive open and close time (its ``valid``); the list keeps them all."""
    result = make_closed(1.0, 75)
    assert opened_at(result) == T0
    assert position_duration_ms(result) == 75 * MINUTE
    unfilled = make_closed(1.0, 75, pending_at=None)
    with pytest.raises(ValueError, match="sig-0"):
        position_duration_ms(unfilled)
    stats = compute_backtest_statistics([unfilled, result])
    assert stats.total_signals == 1
    assert stats.avg_duration == 75.0
    assert stats.signal_list == [unfilled, result]


def test_statistics_are_frozen() -> None:
    stats = statistics_of([1.0])
    with pytest.raises(ValueError, match="frozen"):
        stats.total_signals = 2  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------------
# The workstation's own figures (profit factor, streaks, average win and loss, best and worst trade, fees)
# ---------------------------------------------------------------------------------------------------------------


def test_s1_own_figures_are_exact() -> None:
    """Check S1 [1.5, -0.8, 2.2, -1.1] (fee 0.2 each), by hand.

    * profit_factor = (1.5 + 2.2) / abs(-0.8 + -1.1) = 3.7 / 1.9000000000000001 = 1.9473684210526316.
    * avg_win = 3.7 / 2 = 1.85; avg_loss = -1.9000000000000001 / 2 = -0.9500000000000001.
    * streaks: W L W L -> 1 and 1; best 2.2, worst -1.1; total_fees = 0.2 + 0.2 + 0.2 + 0.2 = 0.8.
    """
    stats = statistics_of([1.5, -0.8, 2.2, -1.1], [60, 120, 30, 90], [0.2] * 4)
    assert stats.profit_factor == 1.9473684210526316
    assert stats.avg_win == 1.85
    assert stats.avg_loss == -0.9500000000000001
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 1)
    assert (stats.best_trade, stats.worst_trade) == (2.2, -1.1)
    assert stats.total_fees == 0.8


def test_one_trade_own_figures() -> None:
    """Check a single win of 1.5 % held 60 min, fee 0.19980019980019983 (SPEC §7 P1's fee): no loss, no factor."""
    stats = statistics_of([1.5], fees=[0.19980019980019983])
    assert stats.profit_factor is None
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (1, 0)
    assert (stats.avg_win, stats.avg_loss) == (1.5, None)
    assert (stats.best_trade, stats.worst_trade) == (1.5, 1.5)
    assert stats.total_fees == 0.19980019980019983


def test_all_wins_with_a_flat_trade_between() -> None:
    """Check [1.0, 2.0, 0.0, 3.0]: the 0.0 trade breaks no longest run (3 wins) but ends 19.5's streak (1 + 2, 3)."""
    stats = statistics_of([1.0, 2.0, 0.0, 3.0])
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (3, 0)
    assert stats.avg_consecutive_win_pnl == 3.0
    assert stats.profit_factor is None
    assert (stats.avg_win, stats.avg_loss) == (2.0, None)
    assert (stats.best_trade, stats.worst_trade) == (3.0, 0.0)


def test_all_losses_own_figures() -> None:
    """Check [-1.0, -3.0] (fees 0.2 and 0.3): profit_factor = 0 / 4 = 0.0; avg_loss -2.0; fees 0.5."""
    stats = statistics_of([-1.0, -3.0], fees=[0.2, 0.3])
    assert stats.profit_factor == 0.0
    assert (stats.avg_win, stats.avg_loss) == (None, -2.0)
    assert (stats.max_consecutive_wins, stats.max_consecutive_losses) == (0, 2)
    assert (stats.best_trade, stats.worst_trade) == (-1.0, -3.0)
    assert stats.total_fees == 0.5


def test_profit_factor_and_averages() -> None:
    """Check the shared primitives on small inputs: 0 counts as neither a win nor a loss."""
    assert profit_factor([]) is None
    assert profit_factor([1.0, 0.0]) is None
    assert profit_factor([-1.0, 0.0]) == 0.0
    assert profit_factor([3.0, -1.0, 1.0, -1.0]) == 2.0
    assert (average_win([]), average_loss([])) == (None, None)
    assert (average_win([0.0, 1.0, 2.0, -4.0]), average_loss([0.0, 1.0, 2.0, -4.0])) == (1.5, -4.0)


def test_heat_expectancy_needs_both_means() -> None:
    """SPEC §13's expectancy (the heatmap's): ``win_rate/100 * avg_win + (100 - win_rate)/100 * avg_loss``."""
    assert expectancy(25.0, 4.0, -1.0) == 0.25
    assert expectancy(100.0, 4.0, None) is None
    assert expectancy(0.0, None, -1.0) is None


def test_max_streaks() -> None:
    """Check runs: zeros break neither; a loss ends a win run and starts a loss run."""
    assert max_streaks([]) == (0, 0)
    assert max_streaks([0.0, 0.0]) == (0, 0)
    assert max_streaks([1.0, 0.0, 1.0, -1.0, 0.0, -1.0, -1.0, 1.0]) == (2, 3)
    assert max_streaks(iter([-1.0, 1.0, 1.0, 1.0])) == (3, 1)
