"""A strategy's indicators computed over candles for the charts, with every bad line left out and said why.

`strategy_indicators` runs the ``indicators.compute`` a strategy declared (`ws.IndicatorSpec`) and checks what it
returned line by line. An indicator function is the strategy author's code: when it raises, returns the wrong type,
the wrong length, nothing but NaN or leaves a declared line out, the chart must still open and the run still
complete, so each such line is left out with a message naming the strategy and the line (logged, and in
`IndicatorValues.problems` for the chart to show).

The helpers below (`moving_average`, `interval_candles`, `spread_to_minutes`) are what the built-in strategies'
indicator functions are written with.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from workstation.backtest_request import ensure_strategy
from workstation.exchanges.aggregate import CandleWindow, aggregate_candles
from workstation.registry import strategies
from workstation.schemas.indicators import IndicatorLine
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS

logger = logging.getLogger("workstation.indicators")


@dataclass(frozen=True, eq=False)
class IndicatorSeries:
    """One computed line: its name, pane, guide levels and colour as declared, and one float64 value per candle.

    ``values`` is read-only; NaN marks a candle without a value (before the indicator's first full window).
    """

    name: str
    pane: str
    levels: tuple[float, ...]
    values: np.ndarray
    color: str | None = None


@dataclass(frozen=True, eq=False)
class IndicatorValues:
    """The lines of a strategy's indicators that could be drawn, and why the others could not."""

    series: tuple[IndicatorSeries, ...] = ()
    problems: tuple[str, ...] = ()

    def from_candle(self, first: int) -> IndicatorValues:
        """Return the values from candle ``first`` on (views, no copy).

        A chart shows a run's period without the warm-up candles the indicators were computed over.
        """
        return IndicatorValues(tuple(replace(s, values=s.values[first:]) for s in self.series), self.problems)


def strategy_indicators(
    strategy_name: str, candles: np.ndarray, params: Mapping[str, Any] | None = None
) -> IndicatorValues:
    """Compute the indicators ``strategy_name`` declares over ``candles`` (1m, ``ws.CANDLE_DTYPE``, oldest first).

    Parameters
    ----------
    strategy_name
        A registered strategy (a run's strategy: built with the run's parameters), or a built-in one.
    candles
        The candles to compute over; the function sees a read-only view of them.
    params
        For a built-in strategy: the parameters to build it with (as a backtest request gives them); None keeps
        the registered strategy's own.

    Returns
    -------
    IndicatorValues
        Every declared line that came back well, in declaration order; each bad line is left out with a message in
        ``problems`` (also logged as a warning). A strategy without indicators gives an empty result.

    Raises
    ------
    SchemaNotFoundError
        If the strategy is neither registered nor built in.
    pydantic.ValidationError
        If ``params`` do not fit the built-in's parameter model.
    """
    schema = strategies.get(ensure_strategy(strategy_name, dict(params or {})), "strategy_indicators")
    spec = schema.indicators
    if spec is None:
        return IndicatorValues()
    view = candles.view()
    view.flags.writeable = False
    series: list[IndicatorSeries] = []
    problems: list[str] = []
    try:
        computed = spec.compute(view)
    except Exception as exc:
        names = ", ".join(f'"{line.name}"' for line in spec.lines)
        problems.append(
            f'strategy "{schema.strategy_name}": the indicator function raised {type(exc).__name__}: {exc}; '
            f"indicators {names} not drawn"
        )
    else:
        if not isinstance(computed, Mapping):
            problems.append(
                f'strategy "{schema.strategy_name}": the indicator function returned {type(computed).__name__}, '
                "not a dict of line name to numpy array; no indicator drawn"
            )
        else:
            for line in spec.lines:
                checked = _checked_values(line, computed, len(candles))
                if isinstance(checked, str):
                    problems.append(f'strategy "{schema.strategy_name}", indicator "{line.name}": {checked}')
                else:
                    series.append(IndicatorSeries(line.name, line.pane, line.levels, checked, line.color))
            declared = {line.name for line in spec.lines}
            for extra in (key for key in computed if key not in declared):
                problems.append(
                    f'strategy "{schema.strategy_name}", indicator "{extra}": returned but not declared in '
                    "indicators.lines; not drawn"
                )
    for problem in problems:
        logger.warning(problem)
    return IndicatorValues(tuple(series), tuple(problems))


def _checked_values(line: IndicatorLine, computed: Mapping[Any, Any], count: int) -> np.ndarray | str:
    """Return the line's values as a read-only float64 array, or what is wrong with them."""
    if line.name not in computed:
        returned = ", ".join(f'"{key}"' for key in computed) or "nothing"
        return f"declared but missing from what the indicator function returned ({returned})"
    raw = computed[line.name]
    if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "iuf" or raw.ndim != 1:
        got = f"a {raw.ndim}-D {raw.dtype} array" if isinstance(raw, np.ndarray) else type(raw).__name__
        return f"expected a 1-D float64 numpy array, got {got}; not drawn"
    if len(raw) != count:
        return f"has {len(raw):,} values for {count:,} candles; not drawn"
    values = raw.astype(np.float64, copy=True)
    # An infinity cannot be drawn or scaled to: like NaN, it is a candle without a value.
    values[~np.isfinite(values)] = np.nan
    if count and np.isnan(values).all():
        return "has no value (every value is NaN); not drawn"
    values.flags.writeable = False
    return values


def moving_average(values: np.ndarray, length: int) -> np.ndarray:
    """Return the mean of each ``length`` consecutive values ending at each index; NaN before the first window."""
    out = np.full(len(values), np.nan)
    if length <= len(values):
        out[length - 1 :] = sliding_window_view(np.asarray(values, dtype=np.float64), length).sum(axis=1) / length
    return out


def interval_candles(candles: np.ndarray, interval: str) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate 1m ``candles`` into the complete ``interval`` candles a strategy's ``get_candles`` gives.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        The interval candles (built as the exchanges build them, incomplete buckets left out) and, for each, the
        index in ``candles`` of its last minute: the candle a strategy sees it closed after.
    """
    minutes = CANDLE_INTERVAL_MINUTES[interval]
    if len(candles) == 0:
        return candles[:0].copy(), np.empty(0, dtype=np.int64)
    step_ms = minutes * MINUTE_MS
    stamps = candles["timestamp"]
    start = int(stamps[0]) // step_ms * step_ms
    aggregated = aggregate_candles(candles, CandleWindow(minutes, start, int(stamps[-1]) + MINUTE_MS))
    last_minute = np.searchsorted(stamps, aggregated["timestamp"] + (step_ms - MINUTE_MS))
    return aggregated, last_minute.astype(np.int64)


def spread_to_minutes(values: np.ndarray, last_minute: np.ndarray, count: int) -> np.ndarray:
    """Give each of ``count`` 1m candles the value of the newest interval candle closed by its end (NaN before)."""
    newest = np.searchsorted(last_minute, np.arange(count), side="right") - 1
    out = np.full(count, np.nan)
    known = newest >= 0
    out[known] = values[newest[known]]
    return out
