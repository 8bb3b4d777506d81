"""The series of one backtest run that charts draw: equity, drawdowns, trade PnL, months (docs/series.md)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, PlainSerializer

#: A numpy array field; serialised as a plain list so a ``RunSeries`` can be written as JSON.
Array = Annotated[np.ndarray, PlainSerializer(lambda array: array.tolist(), return_type=list[Any])]


class DrawdownPeriod(BaseModel):
    """One fall of the equity curve below a previous peak, and its recovery.

    Times are epoch ms of trade closes (``start`` is the frame start when the peak is the initial zero).
    ``recovery`` is None while the curve has not regained the peak by the last trade.
    """

    model_config = ConfigDict(frozen=True)

    start: int
    trough: int
    recovery: int | None
    depth: float


class MonthlyReturns(BaseModel):
    """Net PnL % of the trades closed in each calendar month (UTC): ``table[year_index, month - 1]``.

    ``years`` lists every year from the first to the last close; a month without a closed trade is NaN.
    ``year_totals`` is each year's months added left to right (None for a year without a closed trade).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    years: list[int]
    table: Array
    year_totals: list[float | None]


class SeriesFrame(BaseModel):
    """What the series of a run are computed for (``compute_run_series`` takes these fields).

    The run's pair and exchange, the first and last tick of its frame (epoch ms), and the closes of the 1m candles
    opening at those two ticks (None where the data lacks one), which buy-and-hold compares.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    strategy_name: str
    exchange_name: str
    frame_start: int
    frame_end: int
    first_close: float | None
    last_close: float | None

    def series_arguments(self) -> dict[str, Any]:
        """Return these fields alone (a `RunSeries` has more), as ``compute_run_series`` takes them."""
        return {name: getattr(self, name) for name in SeriesFrame.model_fields}


class RunSeries(SeriesFrame):
    """Everything a chart of one backtest run needs, as numpy arrays ready to plot.

    Trade arrays (``close_times``, ``trade_pnl``, ``trade_pnl_money``) have one value per trade in close order (the
    order the engine closed them). The equity and underwater curves have one value per step, at ``step_times``: each
    partial close of a position (by what it realised) and each close (by the rest of the position's PnL); without
    partial closes the steps are the closes. Percentages are net PnL percentage points (SPEC §7) of the money a
    position invested; money is in the quote currency, ``Pnl.pnl_cost`` on all of a position's entries. ``first_close``
    and ``last_close`` (its `SeriesFrame`) are what ``buy_and_hold`` is computed from, kept so the series can be
    computed again from the trades.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    close_times: Array
    trade_pnl: Array
    trade_pnl_money: Array
    step_times: Array
    equity: Array
    equity_money: Array
    underwater: Array
    worst_drawdowns: list[DrawdownPeriod]
    histogram_edges: Array
    histogram_counts: Array
    monthly_returns: MonthlyReturns
    pnl_by_close_reason: dict[str, float]
    pnl_by_side: dict[str, float]
    buy_and_hold: float | None
    exposure: float | None
    average_holding_minutes: float | None
    longest_flat_minutes: float | None
