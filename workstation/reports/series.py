"""The series of one backtest run that charts draw, computed from its closed results (docs/series.md).

Sums follow SPEC §4.6/§11.1: plain left-to-right float additions in close order (``BacktestStatistics.total_pnl``
adds newest first, as backtest-kit 19.5 does, and can differ from ``equity[-1]`` in the last bit); the equity also
steps at each partial close of a position by what that partial close realised (``statistics.equity_steps``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from workstation.models.results import ClosedResult
from workstation.models.series import DrawdownPeriod, MonthlyReturns, RunSeries
from workstation.reports.statistics import equity_steps, opened_at, sequential_sum
from workstation.timeutil import MINUTE_MS, iso

__all__ = [
    "MAX_HISTOGRAM_BINS",
    "WORST_DRAWDOWNS",
    "buy_and_hold_return",
    "compute_run_series",
    "frame_length_ms",
    "monthly_returns",
    "pnl_histogram",
    "underwater_curve",
    "worst_drawdowns",
]

#: How many drawdown periods ``RunSeries.worst_drawdowns`` keeps.
WORST_DRAWDOWNS = 5

#: The most bins a PnL histogram may have: beyond it the Freedman–Diaconis width is float noise, not a choice.
MAX_HISTOGRAM_BINS = 1000


def frame_length_ms(frame_start: int, frame_end: int) -> int:
    """Return how long a backtest frame lasts: ``frame_end − frame_start + 1 minute``.

    The frame spans the 1m candles opening at its first to its last tick; a position still open at the last tick
    closes at the latest on the next candle, at ``frame_end + 1 minute`` (SPEC §6.4), so every position lies
    inside ``[frame_start, frame_start + length]``.

    Raises
    ------
    ValueError
        If ``frame_end`` is before ``frame_start``.
    """
    if frame_end < frame_start:
        raise ValueError(f"frame_end {frame_end} ({iso(frame_end)}) is before frame_start {frame_start}")
    return frame_end - frame_start + MINUTE_MS


def underwater_curve(equity: np.ndarray) -> np.ndarray:
    """Return ``equity − running peak``, the peak starting at 0: every value is ≤ 0.

    ``−min`` of it is SPEC §11.2 ``max_drawdown`` exactly (``a − b`` is the exact negation of ``b − a``).
    """
    return equity - np.maximum.accumulate(np.maximum(equity, 0.0))


def worst_drawdowns(underwater: np.ndarray, close_times: np.ndarray, frame_start: int) -> list[DrawdownPeriod]:
    """Return the deepest drawdown periods, deepest first (ties by start), at most :data:`WORST_DRAWDOWNS`.

    Parameters
    ----------
    underwater
        :func:`underwater_curve` of the equity, one value per step (partial close or close) in close order.
    close_times
        Time of each step (epoch ms).
    frame_start
        The start of a period whose peak is the initial zero of the curve.

    Returns
    -------
    list[DrawdownPeriod]
        One period per run of steps below the peak: ``start`` at the peak's step (or ``frame_start``),
        ``trough`` at the first step at the period's lowest point, ``recovery`` at the first step back at or
        above the peak (None if none), ``depth`` = −underwater at the trough (positive percentage points).
    """
    below = underwater < 0
    edges = np.diff(np.concatenate(([False], below, [False])).astype(np.int8))
    firsts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    periods = []
    for first, end in zip(firsts.tolist(), ends.tolist(), strict=True):
        trough = first + int(np.argmin(underwater[first:end]))
        periods.append(
            DrawdownPeriod(
                start=int(close_times[first - 1]) if first > 0 else frame_start,
                trough=int(close_times[trough]),
                recovery=int(close_times[end]) if end < len(underwater) else None,
                depth=float(-underwater[trough]),
            )
        )
    periods.sort(key=lambda period: (-period.depth, period.start))
    return periods[:WORST_DRAWDOWNS]


def pnl_histogram(pnl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the histogram ``(edges, counts)`` of trade PnL: numpy's Freedman–Diaconis bins, at least √n of them.

    ``np.histogram(pnl, bins="fd")`` decides when its bins are the finer: one trade ``v`` or identical values give
    the single bin ``[v − 0.5, v + 0.5]``, and no trade gives two empty arrays. Trades closing at their take profit
    or stop loss pile up at two values, whose interquartile range makes the Freedman–Diaconis bins as wide as the
    gap between them (3 bins for 100 such trades); the square-root rule then gives ``⌈√n⌉`` equal bins over the
    range, so a hundred trades read in ten. When the rule would ask for more than :data:`MAX_HISTOGRAM_BINS` bins
    (an interquartile range of float noise, as in PnLs equal but for their last bits, would otherwise allocate
    terabytes), the histogram has that many equal bins instead.
    """
    if len(pnl) == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    quartile_low, quartile_high = np.percentile(pnl, [25, 75])
    spread = float(quartile_high - quartile_low)
    width = 2.0 * spread / len(pnl) ** (1 / 3)
    span = float(np.ptp(pnl))
    wanted = span / width if width > 0 else 1.0
    at_least = math.ceil(math.sqrt(len(pnl))) if span > 0 else 1
    bins: int | str = "fd"
    if wanted > MAX_HISTOGRAM_BINS:
        bins = MAX_HISTOGRAM_BINS
    elif wanted < at_least:
        bins = at_least
    counts, edges = np.histogram(pnl, bins=bins)
    return edges, counts.astype(np.int64)


def monthly_returns(close_times: np.ndarray, pnl: Sequence[float]) -> MonthlyReturns:
    """Return the sequential sum of PnL per UTC calendar month of close, as a year × month table.

    Years run from the first to the last close year; a month without a close is NaN. No trade gives no year
    and a ``(0, 12)`` table.
    """
    months = close_times.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    if len(months) == 0:
        return MonthlyReturns(years=[], table=np.empty((0, 12)), year_totals=[])
    first_year = 1970 + int(months.min()) // 12
    years = list(range(first_year, 1970 + int(months.max()) // 12 + 1))
    table = np.full((len(years), 12), np.nan)
    filled = np.zeros((len(years), 12), dtype=bool)
    for month, value in zip(months.tolist(), pnl, strict=True):
        row, column = divmod(month, 12)
        row += 1970 - first_year
        table[row, column] = (table[row, column] if filled[row, column] else 0.0) + value
        filled[row, column] = True
    year_totals = [
        sequential_sum(row[known].tolist()) if known.any() else None for row, known in zip(table, filled, strict=True)
    ]
    return MonthlyReturns(years=years, table=table, year_totals=year_totals)


def buy_and_hold_return(first_close: float | None, last_close: float | None) -> float | None:
    """Return ``(last_close / first_close − 1) × 100``, or None when either close is missing.

    Raises
    ------
    ValueError
        If ``first_close`` is not positive.
    """
    if first_close is None or last_close is None:
        return None
    if not first_close > 0:
        raise ValueError(f"first_close must be positive, got {first_close!r}")
    return (last_close / first_close - 1) * 100


def _sums_by(keys: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for key, value in zip(keys, values, strict=True):
        sums[key] = sums.get(key, 0.0) + value
    return sums


def _positions(closed: Sequence[ClosedResult], frame_start: int, frame_end: int) -> list[tuple[int, int]]:
    """Return ``(pending_at, close_timestamp)`` of each trade, checked to lie inside the frame."""
    frame_stop = frame_start + frame_length_ms(frame_start, frame_end)
    positions = []
    for result in closed:
        opened, closed_at = opened_at(result), result.close_timestamp
        if opened < frame_start:
            raise ValueError(
                f"closed signal {result.signal.id!r}: pending_at {opened} ({iso(opened)}) is before "
                f"frame_start {frame_start} ({iso(frame_start)})"
            )
        if closed_at > frame_stop or closed_at < opened:
            raise ValueError(
                f"closed signal {result.signal.id!r}: close_timestamp {closed_at} ({iso(closed_at)}) is outside "
                f"[pending_at {iso(opened)}, frame_end + 1 minute {iso(frame_stop)}]"
            )
        positions.append((opened, closed_at))
    return positions


def _flat_gaps(positions: Sequence[tuple[int, int]], frame_start: int, frame_stop: int) -> tuple[int, list[int]]:
    """Return the time in a position (union of the intervals) and every flat stretch of the frame, in ms."""
    held = 0
    gaps = []
    flat_from = frame_start
    for opened, closed_at in sorted(positions):
        if opened > flat_from:
            gaps.append(opened - flat_from)
            held += closed_at - opened
            flat_from = closed_at
        elif closed_at > flat_from:
            held += closed_at - flat_from
            flat_from = closed_at
    gaps.append(frame_stop - flat_from)
    return held, gaps


def compute_run_series(
    closed: Sequence[ClosedResult],
    *,
    symbol: str,
    strategy_name: str,
    exchange_name: str,
    frame_start: int,
    frame_end: int,
    first_close: float | None,
    last_close: float | None,
) -> RunSeries:
    """Compute every chart series of one backtest run (docs/series.md).

    Parameters
    ----------
    closed
        The run's closed results in close order (``BacktestStatistics.signal_list``).
    symbol, strategy_name, exchange_name
        The run's pair and exchange, copied into the result.
    frame_start, frame_end
        The first and last tick of the run's frame (epoch ms); the frame lasts :func:`frame_length_ms`.
    first_close, last_close
        Close of the 1m candle opening at the first and at the last tick, None when the data lacks it.

    Returns
    -------
    RunSeries
        Equity (% and money) and underwater curves stepped at every partial close and every close (``step_times``;
        ``equity_steps``), the worst drawdowns, trade PnL and its
        histogram, monthly returns, PnL by close reason and by side, buy-and-hold return, exposure (share of the
        frame in a position; 0.0 without trades), average holding time (None without trades) and the longest
        flat stretch (the whole frame without trades), in minutes.

    Raises
    ------
    ValueError
        If ``frame_end`` is before ``frame_start``, a signal has no ``pending_at`` or a position lies outside
        the frame, or ``first_close`` is not positive.
    """
    positions = _positions(closed, frame_start, frame_end)
    length = frame_length_ms(frame_start, frame_end)
    held, gaps = _flat_gaps(positions, frame_start, frame_start + length)
    pnl_values = [result.pnl.pnl_percentage for result in closed]
    close_times = np.array([result.close_timestamp for result in closed], dtype=np.int64)
    trade_pnl = np.array(pnl_values, dtype=np.float64)
    trade_pnl_money = np.array([result.pnl.pnl_cost for result in closed], dtype=np.float64)
    steps = equity_steps(closed)
    step_times = np.array(steps.times, dtype=np.int64)
    equity = np.array(steps.percent, dtype=np.float64)
    underwater = underwater_curve(equity)
    edges, counts = pnl_histogram(trade_pnl)
    # Integer milliseconds add exactly, so the order of this sum cannot matter.
    holding_ms = sum(closed_at - opened for opened, closed_at in positions)
    return RunSeries(
        symbol=symbol,
        strategy_name=strategy_name,
        exchange_name=exchange_name,
        frame_start=frame_start,
        frame_end=frame_end,
        first_close=first_close,
        last_close=last_close,
        close_times=close_times,
        trade_pnl=trade_pnl,
        trade_pnl_money=trade_pnl_money,
        step_times=step_times,
        equity=equity,
        equity_money=np.array(steps.money, dtype=np.float64),
        underwater=underwater,
        worst_drawdowns=worst_drawdowns(underwater, step_times, frame_start),
        histogram_edges=edges,
        histogram_counts=counts,
        monthly_returns=monthly_returns(close_times, pnl_values),
        pnl_by_close_reason=_sums_by([result.close_reason for result in closed], pnl_values),
        pnl_by_side=_sums_by([result.signal.position for result in closed], pnl_values),
        buy_and_hold=buy_and_hold_return(first_close, last_close),
        exposure=held / length,
        average_holding_minutes=holding_ms / len(positions) / MINUTE_MS if positions else None,
        longest_flat_minutes=max(gaps) / MINUTE_MS,
    )
