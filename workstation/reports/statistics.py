"""Backtest statistics (SPEC §11.2) and the numeric pieces other reports reuse.

Every sum here is a plain left-to-right float addition in arrival order (SPEC §4.6, §11.1): ``sum()``, ``np.sum``
and ``math.fsum`` may reorder or compensate, which changes the last bits the acceptance values pin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from workstation.models.results import ClosedResult
from workstation.reports.formatting import safe
from workstation.timeutil import DAY_MS, MINUTE_MS

__all__ = [
    "STD_NOISE_FLOOR",
    "BacktestStatistics",
    "EquitySteps",
    "annualized_sharpe_ratio",
    "average_loss",
    "average_win",
    "calmar_ratio",
    "certainty_ratio",
    "compute_backtest_statistics",
    "curve_drawdown",
    "downside_deviation",
    "equity_steps",
    "expectancy",
    "expected_yearly_returns",
    "max_streaks",
    "opened_at",
    "population_std",
    "position_duration_minutes",
    "position_duration_ms",
    "profit_factor",
    "sequential_mean",
    "sequential_sum",
    "sharpe_ratio",
    "sortino_ratio",
]

#: A standard deviation at or below this is floating noise on identical returns and is taken as 0.0 (SPEC §11.1).
STD_NOISE_FLOOR = 1e-12

_DAYS_PER_YEAR = 365


class BacktestStatistics(BaseModel):
    """Statistics of the closed signals of one ``symbol:strategy_name:mode`` key (SPEC §11.2).

    With no closed signal the counts are 0 and every ratio is None. A ratio that is NaN or ±inf is None too.

    The fields after ``max_drawdown`` go beyond SPEC §11.2 (the markdown report does not print them); with ``pnl``
    the ``pnl_percentage`` of each closed signal in arrival order and ``n`` their number:

    * ``profit_factor``: ``Σwins / abs(Σlosses)``; None without a loss, 0.0 with losses but no win.
    * ``expectancy``: ``win_rate/100 * avg_win + (100 − win_rate)/100 * avg_loss`` (SPEC §13, so Heat agrees);
      None unless there are both wins and losses.
    * ``sortino_ratio``: ``avg_pnl / sqrt(Σ min(0, pnl)² / n)``; None when that downside deviation is 0.
    * ``calmar_ratio``: ``expected_yearly_returns / max_drawdown``; None when the drawdown is 0.
    * ``max_consecutive_wins`` / ``max_consecutive_losses``: longest run of ``pnl > 0`` / ``pnl < 0``; a zero PnL
      breaks neither run (0 without closed signals).
    * ``avg_win`` / ``avg_loss``: mean of the wins / of the losses; None without any.
    * ``best_trade`` / ``worst_trade``: largest / smallest ``pnl``.
    * ``total_fees``: ``Σ pnl.fee_cost``, the money paid in fees (open and close) over every closed signal.

    ``max_drawdown`` is taken on the equity curve stepped at each partial close as well as at each close
    (:func:`equity_steps`): a position that gave back what its partial closes took is a drawdown. Each closed
    signal counts once, with its whole PnL, in every other figure.
    """

    model_config = ConfigDict(frozen=True)

    signal_list: list[ClosedResult]
    total_signals: int
    total_cancelled: int
    win_count: int
    loss_count: int
    win_rate: float | None
    avg_pnl: float | None
    total_pnl: float | None
    std_dev: float | None
    sharpe_ratio: float | None
    annualized_sharpe_ratio: float | None
    certainty_ratio: float | None
    expected_yearly_returns: float | None
    max_drawdown: float | None
    profit_factor: float | None
    expectancy: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    max_consecutive_wins: int
    max_consecutive_losses: int
    avg_win: float | None
    avg_loss: float | None
    best_trade: float | None
    worst_trade: float | None
    total_fees: float | None


def sequential_sum(values: Iterable[float]) -> float:
    """Add ``values`` one at a time, left to right, starting from ``0.0``.

    Parameters
    ----------
    values
        Numbers in arrival order.

    Returns
    -------
    float
        ``((0.0 + v0) + v1) + ...``; 0.0 for no values.
    """
    total = 0.0
    for value in values:
        total = total + value
    return total


def sequential_mean(values: Sequence[float]) -> float:
    """Return :func:`sequential_sum` of ``values`` divided by their count.

    Raises
    ------
    ValueError
        If ``values`` is empty (the mean of nothing is undefined; callers report None instead).
    """
    if not values:
        raise ValueError("the mean of no values is undefined")
    return sequential_sum(values) / len(values)


def population_std(values: Sequence[float], mean: float) -> float:
    """Return the population standard deviation ``sqrt(Σ(v − mean)² / n)``, with noise suppressed.

    Parameters
    ----------
    values
        The sample, non-empty.
    mean
        Its mean, as the caller computed it (passed in so the same ``avg`` feeds every statistic).

    Returns
    -------
    float
        The deviation, or exactly 0.0 when it is at most :data:`STD_NOISE_FLOOR`: identical returns leave a
        residue like 5.55e-17 that would otherwise give an absurd Sharpe ratio.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """
    variance = sequential_mean([(value - mean) * (value - mean) for value in values])
    deviation = math.sqrt(variance)
    return 0.0 if deviation <= STD_NOISE_FLOOR else deviation


def sharpe_ratio(mean: float, std: float) -> float:
    """Return ``mean / std``, or 0.0 when ``std`` is not positive (no dispersion, no risk-adjusted edge)."""
    return mean / std if std > 0 else 0.0


def annualized_sharpe_ratio(sharpe: float) -> float:
    """Scale a per-trade Sharpe ratio by ``sqrt(365)``."""
    return sharpe * math.sqrt(_DAYS_PER_YEAR)


def certainty_ratio(pnls: Sequence[float]) -> float:
    """Return the mean win divided by the absolute mean loss.

    Parameters
    ----------
    pnls
        Net PnL percentages; zeros count as neither win nor loss.

    Returns
    -------
    float
        ``avg_win / abs(avg_loss)`` where ``avg_win`` is 0.0 without wins; 0.0 when there is no loss.
    """
    mean_loss = average_loss(pnls)
    if mean_loss is None:
        return 0.0
    mean_win = average_win(pnls)
    return (0.0 if mean_win is None else mean_win) / abs(mean_loss)


def average_win(pnls: Sequence[float]) -> float | None:
    """Return the mean of the winning PnLs (``pnl > 0``), or None when there is none."""
    wins = [pnl for pnl in pnls if pnl > 0]
    return sequential_mean(wins) if wins else None


def average_loss(pnls: Sequence[float]) -> float | None:
    """Return the mean of the losing PnLs (``pnl < 0``, a negative number), or None when there is none."""
    losses = [pnl for pnl in pnls if pnl < 0]
    return sequential_mean(losses) if losses else None


def profit_factor(pnls: Sequence[float]) -> float | None:
    """Return the gross profit divided by the gross loss.

    Parameters
    ----------
    pnls
        Net PnL percentages in arrival order; zeros count as neither win nor loss.

    Returns
    -------
    float or None
        ``Σwins / abs(Σlosses)``, each sum sequential; 0.0 with losses but no win; None without a loss (nothing
        to divide by).
    """
    losses = [pnl for pnl in pnls if pnl < 0]
    if not losses:
        return None
    return sequential_sum(pnl for pnl in pnls if pnl > 0) / abs(sequential_sum(losses))


def expectancy(win_rate: float, mean_win: float | None, mean_loss: float | None) -> float | None:
    """Return the expected PnL of one trade from the win rate and the mean win and loss (SPEC §13).

    Parameters
    ----------
    win_rate
        Share of winning trades in percent (0 to 100).
    mean_win, mean_loss
        Mean winning and losing PnL (:func:`average_win`, :func:`average_loss`).

    Returns
    -------
    float or None
        ``win_rate/100 * mean_win + (100 − win_rate)/100 * mean_loss``; None unless both means exist.
    """
    if mean_win is None or mean_loss is None:
        return None
    return win_rate / 100 * mean_win + (100 - win_rate) / 100 * mean_loss


def max_streaks(pnls: Iterable[float]) -> tuple[int, int]:
    """Return the longest runs of consecutive wins and of consecutive losses.

    Parameters
    ----------
    pnls
        Net PnL percentages in arrival order.

    Returns
    -------
    tuple of int
        ``(longest run of pnl > 0, longest run of pnl < 0)``. A zero PnL breaks neither run: it is neither a win
        nor a loss, so ``[1, 0, 2]`` is a run of two wins.
    """
    wins = losses = longest_wins = longest_losses = 0
    for pnl in pnls:
        if pnl > 0:
            wins, losses = wins + 1, 0
            longest_wins = max(longest_wins, wins)
        elif pnl < 0:
            wins, losses = 0, losses + 1
            longest_losses = max(longest_losses, losses)
    return longest_wins, longest_losses


def downside_deviation(pnls: Sequence[float]) -> float:
    """Return ``sqrt(Σ min(0, pnl)² / n)``: the deviation of the losses below zero, over every trade.

    Raises
    ------
    ValueError
        If ``pnls`` is empty.
    """
    return math.sqrt(sequential_mean([min(0.0, pnl) * min(0.0, pnl) for pnl in pnls]))


def sortino_ratio(mean: float, downside: float) -> float | None:
    """Return ``mean / downside``, or None when the downside deviation is 0 (no loss to weigh the mean by)."""
    return mean / downside if downside > 0 else None


def calmar_ratio(yearly_returns: float, drawdown: float) -> float | None:
    """Return the expected yearly returns divided by the max drawdown, or None when the drawdown is 0."""
    return yearly_returns / drawdown if drawdown > 0 else None


def expected_yearly_returns(average_pnl: float, durations_ms: Sequence[int]) -> float:
    """Extrapolate the average PnL per trade to a year of back-to-back trades of the average duration.

    Parameters
    ----------
    average_pnl
        Mean net PnL percentage per closed signal.
    durations_ms
        ``close_timestamp − pending_at`` of each closed signal, non-empty.

    Returns
    -------
    float
        ``average_pnl * (365 / days)`` with ``days`` the mean duration in days; 0.0 when ``days`` is not positive.

    Raises
    ------
    ValueError
        If ``durations_ms`` is empty.
    """
    if not durations_ms:
        raise ValueError("the mean duration of no signals is undefined")
    # Integer milliseconds add exactly, so the order of this sum cannot matter.
    days = sum(durations_ms) / len(durations_ms) / DAY_MS
    return average_pnl * (_DAYS_PER_YEAR / days) if days > 0 else 0.0


def curve_drawdown(levels: Iterable[float]) -> float:
    """Return the largest peak-to-trough fall of a curve of cumulative PnL levels, whose peak starts at 0.

    Parameters
    ----------
    levels
        The cumulative net PnL, in percentage points, after each step (:func:`equity_steps`).

    Returns
    -------
    float
        A non-negative number of percentage points; 0.0 for no values or a curve that never falls. Starting the
        peak at 0 means an opening run of losses counts as a drawdown.
    """
    peak = drawdown = 0.0
    for level in levels:
        peak = max(peak, level)
        drawdown = max(drawdown, peak - level)
    return drawdown


class EquitySteps(NamedTuple):
    """The equity curve of closed results, one step per partial close and per close, in close order.

    ``percent`` and ``money`` are the cumulative net PnL after each step (percentage points, and money). At a close
    they are the left-to-right sums of the closed results' PnL, exactly; at a partial close, the sum before its
    position plus what the position's partial closes realised so far (``ClosedResult.partial_pnl``), so the step
    at the close is the rest of its PnL.
    """

    times: list[int]
    percent: list[float]
    money: list[float]


def equity_steps(closed: Iterable[ClosedResult]) -> EquitySteps:
    """Return the equity curve of ``closed`` (in close order) stepped at each partial close and each close."""
    steps = EquitySteps([], [], [])
    percent = money = 0.0
    for result in closed:
        realised_percent = realised_money = 0.0
        for partial in result.partial_pnl:
            realised_percent = realised_percent + partial.pnl_percentage
            realised_money = realised_money + partial.pnl_cost
            steps.times.append(partial.timestamp)
            steps.percent.append(percent + realised_percent)
            steps.money.append(money + realised_money)
        percent = percent + result.pnl.pnl_percentage
        money = money + result.pnl.pnl_cost
        steps.times.append(result.close_timestamp)
        steps.percent.append(percent)
        steps.money.append(money)
    return steps


def opened_at(result: ClosedResult) -> int:
    """Return when the position of a closed result opened: its signal's ``pending_at``.

    Raises
    ------
    ValueError
        If the signal has no ``pending_at``: a closed signal was always filled, so this is an engine bug.
    """
    pending_at = result.signal.pending_at
    if pending_at is None:
        raise ValueError(f"closed signal {result.signal.id!r} has no pending_at")
    return pending_at


def position_duration_ms(result: ClosedResult) -> int:
    """Return how long the position of a closed result was open: ``close_timestamp − pending_at``.

    Raises
    ------
    ValueError
        If the signal has no ``pending_at``.
    """
    return result.close_timestamp - opened_at(result)


def position_duration_minutes(result: ClosedResult) -> int:
    """Return how long the position was open in whole minutes, rounded half up (backtest-kit's ``Math.round``).

    Raises
    ------
    ValueError
        If the signal has no ``pending_at``.
    """
    return math.floor(position_duration_ms(result) / MINUTE_MS + 0.5)


def compute_backtest_statistics(closed: Sequence[ClosedResult], total_cancelled: int) -> BacktestStatistics:
    """Compute the statistics of SPEC §11.2, and the extra ones of :class:`BacktestStatistics`, in arrival order.

    Parameters
    ----------
    closed
        Every closed result of the key, oldest first (not a capped table).
    total_cancelled
        Number of cancelled results of the key.

    Returns
    -------
    BacktestStatistics
        Counts, ratios (None without closed signals, or when not finite) and a copy of ``closed``.

    Raises
    ------
    ValueError
        If a closed signal has no ``pending_at``.
    """
    pnls = [result.pnl.pnl_percentage for result in closed]
    durations_ms = [position_duration_ms(result) for result in closed]
    count = len(pnls)
    if count == 0:
        return BacktestStatistics(
            signal_list=[],
            total_signals=0,
            total_cancelled=total_cancelled,
            win_count=0,
            loss_count=0,
            win_rate=None,
            avg_pnl=None,
            total_pnl=None,
            std_dev=None,
            sharpe_ratio=None,
            annualized_sharpe_ratio=None,
            certainty_ratio=None,
            expected_yearly_returns=None,
            max_drawdown=None,
            profit_factor=None,
            expectancy=None,
            sortino_ratio=None,
            calmar_ratio=None,
            max_consecutive_wins=0,
            max_consecutive_losses=0,
            avg_win=None,
            avg_loss=None,
            best_trade=None,
            worst_trade=None,
            total_fees=None,
        )
    win_count = sum(1 for pnl in pnls if pnl > 0)
    loss_count = sum(1 for pnl in pnls if pnl < 0)
    total_pnl = sequential_sum(pnls)
    average_pnl = total_pnl / count
    std_dev = population_std(pnls, average_pnl)
    sharpe = sharpe_ratio(average_pnl, std_dev)
    win_rate = win_count / count * 100
    yearly_returns = expected_yearly_returns(average_pnl, durations_ms)
    drawdown = curve_drawdown(equity_steps(closed).percent)
    mean_win = average_win(pnls)
    mean_loss = average_loss(pnls)
    longest_wins, longest_losses = max_streaks(pnls)
    return BacktestStatistics(
        signal_list=list(closed),
        total_signals=count,
        total_cancelled=total_cancelled,
        win_count=win_count,
        loss_count=loss_count,
        win_rate=safe(win_rate),
        avg_pnl=safe(average_pnl),
        total_pnl=safe(total_pnl),
        std_dev=safe(std_dev),
        sharpe_ratio=safe(sharpe),
        annualized_sharpe_ratio=safe(annualized_sharpe_ratio(sharpe)),
        certainty_ratio=safe(certainty_ratio(pnls)),
        expected_yearly_returns=safe(yearly_returns),
        max_drawdown=safe(drawdown),
        profit_factor=safe(profit_factor(pnls)),
        expectancy=safe(expectancy(win_rate, mean_win, mean_loss)),
        sortino_ratio=safe(sortino_ratio(average_pnl, downside_deviation(pnls))),
        calmar_ratio=safe(calmar_ratio(yearly_returns, drawdown)),
        max_consecutive_wins=longest_wins,
        max_consecutive_losses=longest_losses,
        avg_win=safe(mean_win),
        avg_loss=safe(mean_loss),
        best_trade=safe(max(pnls)),
        worst_trade=safe(min(pnls)),
        total_fees=safe(sequential_sum(result.pnl.fee_cost for result in closed)),
    )
