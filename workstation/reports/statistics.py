"""Backtest statistics as backtest-kit 19.5 computes them (SPEC-statistics), and the numeric pieces other reports reuse.

Every sum here is a plain float addition, ``s = 0.0; s = s + x``, in the order SPEC-statistics gives (newest first
for 19.5's sums, arrival order elsewhere): ``sum()``, ``np.sum`` and ``math.fsum`` may reorder or compensate, which
changes the last bits the acceptance values pin.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from workstation.models.results import ClosedResult
from workstation.reports.formatting import safe
from workstation.reports.v8_math import v8_log, v8_pow
from workstation.timeutil import DAY_MS, MINUTE_MS

__all__ = [
    "MAX_CALMAR_RATIO",
    "MAX_EXPECTED_YEARLY_RETURNS",
    "MAX_TRADES_PER_YEAR",
    "MIN_CALENDAR_SPAN_DAYS",
    "MIN_PRICE_PROFILE_SIGNALS",
    "MIN_SIGNALS_FOR_ANNUALIZATION",
    "MIN_SIGNALS_FOR_RATIOS",
    "R2_TREND_GATE",
    "SLOPE_VS_STEP_GATE",
    "STDDEV_EPSILON",
    "STD_NOISE_FLOOR",
    "BacktestStatistics",
    "EquitySteps",
    "PriceProfile",
    "Trend",
    "average_loss",
    "average_win",
    "compute_backtest_statistics",
    "curve_drawdown",
    "equity_steps",
    "expectancy",
    "max_streaks",
    "median",
    "opened_at",
    "population_std",
    "position_duration_minutes",
    "position_duration_ms",
    "price_profile",
    "profit_factor",
    "sequential_mean",
    "sequential_sum",
    "sharpe_ratio",
]

#: A standard deviation at or below this is floating noise on identical returns and is taken as 0.0 (SPEC §11.1).
STD_NOISE_FLOOR = 1e-12


Trend = Literal["bullish", "bearish", "neutral", "sideways"]


class BacktestStatistics(BaseModel):
    """Statistics of the closed signals of one ``symbol:strategy_name:mode`` key, as backtest-kit 19.5 computes them.

    The fields from ``total_signals`` to ``trend_confidence`` are 19.5's ``BacktestStatisticsModel``, each computed
    exactly as SPEC-statistics §2/§3 gives it (its sum orders, gates and nulls), over every closed signal of the key
    (no 250-signal window). The counts are 0 without a closed signal; every other 19.5 field is then None. A value
    that is NaN or ±inf is None too.

    ``signal_list`` holds the closed results in arrival order (19.5 lists them newest first).

    The fields after ``trend_confidence`` are the workstation's own (19.5 has none of them); with ``pnl`` the
    ``pnl_percentage`` of each closed signal in arrival order:

    * ``profit_factor``: ``Σwins / abs(Σlosses)``; None without a loss, 0.0 with losses but no win.
    * ``max_consecutive_wins`` / ``max_consecutive_losses``: longest run of ``pnl > 0`` / ``pnl < 0``; a zero PnL
      breaks neither run (0 without closed signals).
    * ``avg_win`` / ``avg_loss``: mean of the wins / of the losses; None without any.
    * ``best_trade`` / ``worst_trade``: largest / smallest ``pnl``.
    * ``total_fees``: ``Σ pnl.fee_cost``, the money paid in fees (open and close) over every closed signal.
    """

    model_config = ConfigDict(frozen=True)

    signal_list: list[ClosedResult]
    total_signals: int
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
    avg_peak_pnl: float | None
    avg_fall_pnl: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    recovery_factor: float | None
    expectancy: float | None
    avg_duration: float | None
    median_pnl: float | None
    avg_consecutive_win_pnl: float | None
    avg_consecutive_loss_pnl: float | None
    avg_win_duration: float | None
    avg_loss_duration: float | None
    median_step_size: float | None
    buyer_pressure: float | None
    seller_pressure: float | None
    buyer_strength: float | None
    seller_strength: float | None
    pressure_imbalance: float | None
    trend: Trend | None
    trend_strength: float | None
    trend_confidence: float | None
    profit_factor: float | None
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


#: backtest-kit 19.5's gates (SPEC-statistics §1.6).
MIN_SIGNALS_FOR_RATIOS = 10
MIN_SIGNALS_FOR_ANNUALIZATION = 10
MIN_CALENDAR_SPAN_DAYS = 14
MAX_TRADES_PER_YEAR = 365
MAX_EXPECTED_YEARLY_RETURNS = 100
MAX_CALMAR_RATIO = 1000
STDDEV_EPSILON = 1e-9
MIN_PRICE_PROFILE_SIGNALS = 10
R2_TREND_GATE = 0.30
SLOPE_VS_STEP_GATE = 0.25


class PriceProfile(NamedTuple):
    """The nine price-profile fields of 19.5's statistics: how the exit prices moved from trade to trade."""

    median_step_size: float | None
    buyer_pressure: float | None
    seller_pressure: float | None
    buyer_strength: float | None
    seller_strength: float | None
    pressure_imbalance: float | None
    trend: Trend | None
    trend_strength: float | None
    trend_confidence: float | None


_NO_PROFILE = PriceProfile(None, None, None, None, None, None, None, None, None)


def median(values: Sequence[float]) -> float:
    """Return the middle of ``values`` sorted ascending; for an even count the mean of the two middles.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """
    if not values:
        raise ValueError("the median of no values is undefined")
    ordered = sorted(values)
    middle = len(ordered) >> 1
    return (ordered[middle - 1] + ordered[middle]) / 2 if len(ordered) % 2 == 0 else ordered[middle]


def price_profile(closes: Sequence[tuple[int, float]]) -> PriceProfile:
    """Return 19.5's price profile of exit prices (``getPriceProfile``, SPEC-statistics §2).

    Parameters
    ----------
    closes
        ``(close_timestamp, exit price)`` of each closed signal in close-time order.

    Returns
    -------
    PriceProfile
        All None below 10 usable points (positive, finite time and price). The trend is the least-squares slope of
        ``log(price)`` (V8's ``Math.log``) on days since the first exit, in %/day; its label is ``sideways`` below
        R² 0.30, ``neutral`` when the slope is under a quarter of the median step, else ``bullish``/``bearish``.
    """
    points = [(t, c) for t, c in closes if math.isfinite(t) and t > 0 and math.isfinite(c) and c > 0]
    count = len(points)
    if count < MIN_PRICE_PROFILE_SIGNALS:
        return _NO_PROFILE
    steps: list[float] = []
    up = down = 0
    up_magnitude = down_magnitude = 0.0
    for (_, previous), (_, current) in itertools.pairwise(points):
        change = (current - previous) / previous
        size = abs(change)
        steps.append(size)
        if change > 0:
            up += 1
            up_magnitude += size
        elif change < 0:
            down += 1
            down_magnitude += size
    median_step_size = median(steps) * 100
    decisive = up + down
    magnitude = up_magnitude + down_magnitude
    buyer_pressure = up / decisive if decisive > 0 else None
    seller_pressure = down / decisive if decisive > 0 else None
    buyer_strength = up_magnitude / magnitude if magnitude > 0 else None
    seller_strength = down_magnitude / magnitude if magnitude > 0 else None
    imbalance = None if buyer_strength is None or seller_strength is None else buyer_strength - seller_strength
    first = points[0][0]
    xs = [(t - first) / DAY_MS for t, _ in points]
    ys = [v8_log(c) for _, c in points]
    trend: Trend | None = None
    strength = confidence = None
    if xs[-1] - xs[0] > 0:
        sum_x = sum_y = 0.0
        for x, y in zip(xs, ys, strict=True):
            sum_x += x
            sum_y += y
        mean_x, mean_y = sum_x / count, sum_y / count
        sxx = sxy = syy = 0.0
        for x, y in zip(xs, ys, strict=True):
            dx, dy = x - mean_x, y - mean_y
            sxx += dx * dx
            sxy += dx * dy
            syy += dy * dy
        if sxx > 0:
            slope = (sxy / sxx) * 100
            r2 = (sxy * sxy) / (sxx * syy) if syy > 0 else 0.0
            strength = slope
            confidence = max(0.0, min(1.0, r2))
            if confidence < R2_TREND_GATE:
                trend = "sideways"
            elif abs(slope) < median_step_size * SLOPE_VS_STEP_GATE:
                trend = "neutral"
            else:
                trend = "bullish" if slope > 0 else "bearish"
    return PriceProfile(
        safe(median_step_size),
        safe(buyer_pressure),
        safe(seller_pressure),
        safe(buyer_strength),
        safe(seller_strength),
        safe(imbalance),
        trend,
        safe(strength),
        safe(confidence),
    )


class _Curve(NamedTuple):
    drawdown: float
    final: float
    blown: bool


def _equity_curve(ordered: Sequence[ClosedResult]) -> _Curve:
    """19.5's compounded equity from 1.0 over ``ordered`` (close-time order), each trade's trough before its close.

    The drawdown is in % of the running peak; 100 (and the curve blown, its final equity 0) once the equity at a
    trough or a close is at most 0.
    """
    equity = peak = 1.0
    drawdown = 0.0
    for result in ordered:
        fall = result.signal.max_drawdown
        if fall is not None and fall.pnl_percentage < 0:
            trough = equity * (1 + fall.pnl_percentage / 100)
            if trough <= 0:
                return _Curve(100.0, 0.0, True)
            drawdown = max(drawdown, (peak - trough) / peak * 100)
        equity *= 1 + result.pnl.pnl_percentage / 100
        if equity <= 0:
            return _Curve(100.0, 0.0, True)
        peak = max(peak, equity)
        drawdown = max(drawdown, (peak - equity) / peak * 100)
    return _Curve(drawdown, equity, False)


def _streak_means(chronological: Iterable[float]) -> tuple[float | None, float | None]:
    """Mean of the win-streak sums and of the loss-streak sums, streaks in arrival order; a zero PnL ends both."""
    win_sums: list[float] = []
    loss_sums: list[float] = []
    win_run = loss_run = 0
    win_sum = loss_sum = 0.0
    for pnl in chronological:
        if pnl > 0:
            if loss_run:
                loss_sums.append(loss_sum)
                loss_run, loss_sum = 0, 0.0
            win_run += 1
            win_sum += pnl
        elif pnl < 0:
            if win_run:
                win_sums.append(win_sum)
                win_run, win_sum = 0, 0.0
            loss_run += 1
            loss_sum += pnl
        else:
            if win_run:
                win_sums.append(win_sum)
                win_run, win_sum = 0, 0.0
            if loss_run:
                loss_sums.append(loss_sum)
                loss_run, loss_sum = 0, 0.0
    if win_run:
        win_sums.append(win_sum)
    if loss_run:
        loss_sums.append(loss_sum)
    return (
        sequential_mean(win_sums) if win_sums else None,
        sequential_mean(loss_sums) if loss_sums else None,
    )


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def _has_times(result: ClosedResult) -> bool:
    pending_at = result.signal.pending_at
    return pending_at is not None and pending_at > 0 and result.close_timestamp > 0


def compute_backtest_statistics(closed: Sequence[ClosedResult]) -> BacktestStatistics:
    """Compute backtest-kit 19.5's statistics of ``closed`` (SPEC-statistics §2), and the workstation's own figures.

    19.5 keeps its list newest first and runs every plain sum over it from the newest signal; the streaks run in
    arrival order, the equity curve and the price profile in close-time order. Each order is kept here: the last
    bits of the pinned values depend on it.

    Parameters
    ----------
    closed
        Every closed result of the key, oldest first (not a capped table). Results without a positive open and
        close time are left out of the figures (19.5's ``valid``), not of ``signal_list``.

    Returns
    -------
    BacktestStatistics
        Counts, figures (None where 19.5 gives null) and a copy of ``closed``.
    """
    newest_first = [result for result in reversed(closed) if _has_times(result)]
    count = len(newest_first)
    if count == 0:
        return BacktestStatistics(
            signal_list=list(closed), total_signals=0, win_count=0, loss_count=0, max_consecutive_wins=0,
            max_consecutive_losses=0, **dict.fromkeys(_NULLABLE),
        )  # fmt: skip
    returns = [result.pnl.pnl_percentage for result in newest_first]
    wins = [pnl for pnl in returns if pnl > 0]
    losses = [pnl for pnl in returns if pnl < 0]
    total_pnl = sequential_sum(returns)
    avg_pnl = total_pnl / count
    decisive = len(wins) + len(losses)
    win_rate = (len(wins) / decisive) * 100 if decisive > 0 else 0.0
    first_open = min(opened_at(result) for result in newest_first)
    last_close = max(result.close_timestamp for result in newest_first)
    span_days = (last_close - first_open) / DAY_MS
    enough = count >= MIN_SIGNALS_FOR_ANNUALIZATION and span_days >= MIN_CALENDAR_SPAN_DAYS
    raw_per_year = (count / span_days) * 365 if enough else 0.0
    can_annualize = 0 < raw_per_year <= MAX_TRADES_PER_YEAR
    per_year = raw_per_year if can_annualize else 0.0
    can_ratios = count >= MIN_SIGNALS_FOR_RATIOS
    std_dev = sharpe = None
    if can_ratios:
        std_dev = math.sqrt(sequential_sum((r - avg_pnl) * (r - avg_pnl) for r in returns) / (count - 1))
        sharpe = avg_pnl / std_dev if std_dev > STDDEV_EPSILON else None
    annualized = sharpe * math.sqrt(per_year) if can_annualize and sharpe is not None else None
    ordered = sorted(newest_first, key=lambda result: result.close_timestamp)
    curve = _equity_curve(ordered)
    yearly = None
    if can_annualize and not curve.blown:
        raw = (v8_pow(curve.final, per_year / count) - 1) * 100
        yearly = None if abs(raw) > MAX_EXPECTED_YEARLY_RETURNS else raw
    mean_win = sequential_sum(wins) / len(wins) if wins else 0.0
    mean_loss = sequential_sum(losses) / len(losses) if losses else 0.0
    certainty = mean_win / abs(mean_loss) if can_ratios and abs(mean_loss) > STDDEV_EPSILON and mean_loss < 0 else None
    expectancy_19 = (len(wins) / count) * mean_win + (len(losses) / count) * mean_loss if can_ratios else None
    minutes = [(result.close_timestamp - opened_at(result)) / MINUTE_MS for result in newest_first]
    win_minutes = [m for m, pnl in zip(minutes, returns, strict=True) if pnl > 0]
    loss_minutes = [m for m, pnl in zip(minutes, returns, strict=True) if pnl < 0]
    win_streaks, loss_streaks = _streak_means(reversed(returns))
    peaks = [
        result.signal.peak_profit.pnl_percentage for result in newest_first if result.signal.peak_profit is not None
    ]
    falls = [
        result.signal.max_drawdown.pnl_percentage for result in newest_first if result.signal.max_drawdown is not None
    ]
    sortino = None
    if can_ratios and losses:
        downside = math.sqrt(sequential_sum(r * r for r in losses) / count)
        sortino = avg_pnl / downside if downside > STDDEV_EPSILON else None
    calmar = _clamp(yearly / curve.drawdown, MAX_CALMAR_RATIO) if curve.drawdown > 0 and yearly is not None else None
    recovery = None
    if can_ratios and not curve.blown and curve.drawdown > 0:
        recovery = _clamp(((curve.final - 1) * 100) / curve.drawdown, MAX_CALMAR_RATIO)
    profile = price_profile([(result.close_timestamp, result.current_price) for result in ordered])
    arrival = [result.pnl.pnl_percentage for result in closed]
    longest_wins, longest_losses = max_streaks(arrival)
    return BacktestStatistics(
        signal_list=list(closed),
        total_signals=count,
        win_count=len(wins),
        loss_count=len(losses),
        win_rate=safe(win_rate),
        avg_pnl=safe(avg_pnl),
        total_pnl=safe(total_pnl),
        std_dev=safe(std_dev),
        sharpe_ratio=safe(sharpe),
        annualized_sharpe_ratio=safe(annualized),
        certainty_ratio=safe(certainty),
        expected_yearly_returns=safe(yearly),
        avg_peak_pnl=safe(sequential_mean(peaks)) if peaks else None,
        avg_fall_pnl=safe(sequential_mean(falls)) if falls else None,
        sortino_ratio=safe(sortino),
        calmar_ratio=safe(calmar),
        recovery_factor=safe(recovery),
        expectancy=safe(expectancy_19),
        avg_duration=safe(sequential_mean(minutes)),
        median_pnl=safe(median(returns)),
        avg_consecutive_win_pnl=safe(win_streaks),
        avg_consecutive_loss_pnl=safe(loss_streaks),
        avg_win_duration=safe(sequential_mean(win_minutes)) if win_minutes else None,
        avg_loss_duration=safe(sequential_mean(loss_minutes)) if loss_minutes else None,
        **profile._asdict(),
        profit_factor=safe(profit_factor(arrival)),
        max_consecutive_wins=longest_wins,
        max_consecutive_losses=longest_losses,
        avg_win=safe(average_win(arrival)),
        avg_loss=safe(average_loss(arrival)),
        best_trade=safe(max(arrival)),
        worst_trade=safe(min(arrival)),
        total_fees=safe(sequential_sum(result.pnl.fee_cost for result in closed)),
    )


#: The fields that are None without a closed signal: every one but the list and the counts.
_NULLABLE = tuple(
    name
    for name in BacktestStatistics.model_fields
    if name
    not in {"signal_list", "total_signals", "win_count", "loss_count", "max_consecutive_wins", "max_consecutive_losses"}
)
