"""Robustness of a run: Monte Carlo paths of its closed trades, reshuffled and resampled (issue 15).

A run is one order of its trades. Drawing the same trades in other orders (*reshuffled*: every trade once) and
drawing trades with replacement (*resampled*: some twice, some not at all) shows how much of the run's equity curve
and drawdown was the luck of the order. Each way gives :data:`MONTE_CARLO_PATHS` seeded paths of equity over trade
number, the 5/50/95 % bands of those paths and the distribution of their maximum drawdowns.

How a trade moves the equity follows the run's sizing. With a fixed cost per trade a trade adds its money result
whatever the equity, so a path adds the trades' money. When the size follows the equity (a share of equity, or a
risk per trade) a trade's result is a share of the equity it was opened with, so a path compounds the per-trade
returns ``pnl_money / equity_before``. A path whose equity is spent (at or below zero) stays at zero: it can open
nothing more.

Everything is numpy over blocks of paths (no Python loop per path); :func:`simulate_monte_carlo` is pure and
CPU-bound, so a view runs it off the GUI thread (``asyncio.to_thread``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import numpy as np

from workstation.reports.series import pnl_histogram

__all__ = [
    "BANDS",
    "MONTE_CARLO_PATHS",
    "MonteCarloPaths",
    "MonteCarloReport",
    "TradeInMoney",
    "simulate_monte_carlo",
]

#: How many paths each way draws.
MONTE_CARLO_PATHS: Final = 1000
#: The percentiles of equity drawn as bands, and of the maximum drawdowns reported.
BANDS: Final = (5.0, 50.0, 95.0)
#: The most points along the trade axis the bands keep: a run of 50,000 trades is drawn from 2,001 points, so the
#: memory stays ``MONTE_CARLO_PATHS × _MAX_POINTS`` floats whatever the run (the drawdowns still see every trade).
_MAX_POINTS: Final = 2001
#: Paths computed at once: a block of ``_BLOCK × trades`` floats at a time bounds the memory of a long run.
_BLOCK: Final = 100

Way = Literal["reshuffled", "resampled"]


class TradeInMoney(Protocol):
    """A closed trade in money, as ``ws.AccountTrade`` carries it."""

    @property
    def pnl_money(self) -> float:
        """The trade's net result in the quote currency."""
        ...

    @property
    def equity_before(self) -> float:
        """The account's equity when the trade was opened."""
        ...


@dataclass(frozen=True, slots=True)
class MonteCarloPaths:
    """The paths of one way of drawing the trades (reshuffled or resampled).

    Attributes
    ----------
    way
        ``"reshuffled"`` (each trade once, in a random order) or ``"resampled"`` (drawn with replacement).
    trade_numbers
        The trade numbers the bands are given at: 0 (the starting balance) to the number of trades, every one of
        them up to 2,000 trades, evenly spaced beyond.
    low, median, high
        The 5 %, 50 % and 95 % percentiles of the paths' equity at each of ``trade_numbers``.
    max_drawdowns
        Each path's maximum drawdown, in % of its equity peak (the starting balance counts as a peak), in path order.
    drawdown_percentiles
        The 5 %, 50 % and 95 % percentiles of ``max_drawdowns``.
    drawdown_edges, drawdown_counts
        The histogram of ``max_drawdowns`` (``ws.RunSeries``' PnL histogram rule).
    spent_share
        The share of paths whose equity was spent, in %.
    """

    way: Way
    trade_numbers: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    max_drawdowns: np.ndarray
    drawdown_percentiles: tuple[float, float, float]
    drawdown_edges: np.ndarray
    drawdown_counts: np.ndarray
    spent_share: float


@dataclass(frozen=True, slots=True)
class MonteCarloReport:
    """The Monte Carlo paths of one run's closed trades.

    Attributes
    ----------
    starting_balance
        Where every path starts.
    compounding
        True when the paths compound per-trade returns (sizing that follows the equity), False when they add money.
    paths, seed
        How many paths each way drew, and the seed of the generator.
    trade_count
        The run's closed trades.
    actual
        The run's own equity at ``reshuffled.trade_numbers``, computed the paths' way, for reference.
    reshuffled, resampled
        The two ways' paths.
    """

    starting_balance: float
    compounding: bool
    paths: int
    seed: int
    trade_count: int
    actual: np.ndarray
    reshuffled: MonteCarloPaths
    resampled: MonteCarloPaths


def _trade_numbers(trade_count: int) -> np.ndarray:
    if trade_count + 1 <= _MAX_POINTS:
        return np.arange(trade_count + 1, dtype=np.int64)
    return np.unique(np.linspace(0, trade_count, _MAX_POINTS).round().astype(np.int64))


def _equity(steps: np.ndarray, starting_balance: float, compounding: bool) -> np.ndarray:
    """Return the equity of each row of ``steps`` over trade number, from the starting balance (column 0).

    ``steps`` are per-trade returns (compounding) or money results; once a row's equity is spent it stays 0.
    """
    if compounding:
        moved = starting_balance * np.cumprod(1.0 + steps, axis=1)
    else:
        moved = starting_balance + np.cumsum(steps, axis=1)
    equity = np.concatenate((np.full((len(steps), 1), starting_balance), moved), axis=1)
    spent = np.logical_or.accumulate(equity <= 0.0, axis=1)
    equity[spent] = 0.0
    return equity


def _max_drawdowns(equity: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(equity, axis=1)
    return np.asarray(np.max((peak - equity) / peak, axis=1) * 100.0)


def _percentiles(values: np.ndarray) -> tuple[float, float, float]:
    low, median, high = np.percentile(values, BANDS).tolist()
    return float(low), float(median), float(high)


def _draw(
    way: Way,
    steps: np.ndarray,
    starting_balance: float,
    compounding: bool,
    paths: int,
    generator: np.random.Generator,
) -> MonteCarloPaths:
    count = len(steps)
    numbers = _trade_numbers(count)
    sampled = np.empty((paths, len(numbers)))
    drawdowns = np.empty(paths)
    spent = 0
    for first in range(0, paths, _BLOCK):
        rows = min(_BLOCK, paths - first)
        if way == "reshuffled":
            picks = generator.permuted(np.broadcast_to(np.arange(count), (rows, count)), axis=1)
        else:
            picks = generator.integers(0, count, size=(rows, count))
        equity = _equity(steps[picks], starting_balance, compounding)
        sampled[first : first + rows] = equity[:, numbers]
        drawdowns[first : first + rows] = _max_drawdowns(equity)
        spent += int(np.count_nonzero(equity[:, -1] <= 0.0))
    low, median, high = np.percentile(sampled, BANDS, axis=0)
    edges, counts = pnl_histogram(drawdowns)
    return MonteCarloPaths(
        way=way,
        trade_numbers=numbers,
        low=low,
        median=median,
        high=high,
        max_drawdowns=drawdowns,
        drawdown_percentiles=_percentiles(drawdowns),
        drawdown_edges=edges,
        drawdown_counts=counts,
        spent_share=spent / paths * 100.0,
    )


def simulate_monte_carlo(
    trades: Sequence[TradeInMoney],
    starting_balance: float,
    *,
    compounding: bool,
    paths: int = MONTE_CARLO_PATHS,
    seed: int = 0,
) -> MonteCarloReport:
    """Draw ``paths`` reshuffled and ``paths`` resampled paths of a run's closed trades.

    Parameters
    ----------
    trades
        The run's closed trades in close order (``ws.AccountReport.trades``).
    starting_balance
        The run's starting balance (> 0).
    compounding
        True for sizing that follows the equity (per-trade returns compound), False for a fixed cost per trade
        (money results add up).
    paths
        How many paths each way draws (≥ 1).
    seed
        The seed of numpy's default generator: the same seed gives the same paths. The reshuffled paths are drawn
        first, then the resampled ones, from the one generator.

    Returns
    -------
    MonteCarloReport

    Raises
    ------
    ValueError
        If there is no trade, the balance is not a positive finite number, ``paths`` is below 1, or a compounding
        trade's ``equity_before`` is not positive.
    """
    if not trades:
        raise ValueError("trades: a Monte Carlo needs at least one closed trade, got none")
    if not (np.isfinite(starting_balance) and starting_balance > 0):
        raise ValueError(f"starting_balance must be a positive finite number, got {starting_balance!r}")
    if paths < 1:
        raise ValueError(f"paths must be at least 1, got {paths!r}")
    money = np.array([trade.pnl_money for trade in trades], dtype=np.float64)
    if compounding:
        before = np.array([trade.equity_before for trade in trades], dtype=np.float64)
        if not np.all(before > 0):
            index = int(np.flatnonzero(~(before > 0))[0])
            raise ValueError(f"trades[{index}].equity_before must be positive to compound, got {before[index]!r}")
        steps = money / before
    else:
        steps = money
    generator = np.random.default_rng(seed)
    reshuffled = _draw("reshuffled", steps, starting_balance, compounding, paths, generator)
    resampled = _draw("resampled", steps, starting_balance, compounding, paths, generator)
    actual = _equity(steps[np.newaxis, :], starting_balance, compounding)[0, reshuffled.trade_numbers]
    return MonteCarloReport(
        starting_balance=starting_balance,
        compounding=compounding,
        paths=paths,
        seed=seed,
        trade_count=len(trades),
        actual=actual,
        reshuffled=reshuffled,
        resampled=resampled,
    )
