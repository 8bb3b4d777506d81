"""RSI mean reversion: buy a stretched sell-off, sell a stretched rally, with limit orders.

Wilder's Relative Strength Index compares the average gain with the average loss of the last ``period`` candles on a
0–100 scale. Below ``oversold`` (30) the market has fallen fast enough that a bounce is likely; above ``overbought``
(70) a pullback is. At each closed ``interval`` candle the strategy looks at the RSI and, when it is stretched, places
a limit order slightly better than the current price (``entry_offset_percent`` below it for a long, above it for a
short): the order only fills if the move goes on a little, which buys nearer the turn. Take profit and stop loss are
fixed percentages of the entry; an unfilled order is cancelled by the engine after ``schedule_await_minutes``.

    >>> import workstation as ws
    >>> from workstation.examples.rsi_reversion import make_strategy
    >>> ws.add_strategy(make_strategy({"period": 14, "oversold": 25, "overbought": 75}))  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, ValidationInfo, field_validator

import workstation as ws
from workstation.examples.params import StrategyFactory, StrategyParams
from workstation.indicators import interval_candles, spread_to_minutes
from workstation.schemas.indicators import IndicatorLine, IndicatorSpec
from workstation.schemas.strategy import SignalInterval, StrategySchema

#: Candles fetched per RSI, in periods: Wilder's smoothing starts from a plain mean, whose weight has faded to about
#: 5 % after three more periods, so the value barely depends on where the history happens to start.
HISTORY_PERIODS = 4


class RsiReversionParams(StrategyParams):
    """Parameters of the RSI mean reversion; percentages are of the price (``1.5`` means 1.5 %)."""

    interval: SignalInterval = Field(
        "15m", title="Signal interval", description="Candles the RSI is computed on, checked once per candle."
    )
    period: int = Field(14, ge=2, title="RSI period", description="Number of price changes in Wilder's RSI.")
    oversold: float = Field(
        30.0, gt=0, lt=100, title="Oversold", description="Buy when the RSI is below this level (0-100)."
    )
    overbought: float = Field(
        70.0,
        gt=0,
        lt=100,
        validate_default=True,
        title="Overbought",
        description="Sell short when the RSI is above this level (0-100).",
    )
    entry_offset_percent: float = Field(
        0.2,
        ge=0,
        lt=100,
        title="Entry offset (%)",
        description="The limit order asks this much better than the current price; 0 enters at once.",
    )
    take_profit_percent: float = Field(
        1.5, gt=0, title="Take profit (%)", description="Take profit distance from the entry."
    )
    stop_loss_percent: float = Field(
        1.0, gt=0, lt=100, title="Stop loss (%)", description="Stop loss distance from the entry."
    )
    minute_estimated_time: int = Field(
        240, ge=1, title="Lifetime (minutes)", description="A position still open after this long is closed."
    )

    @field_validator("overbought")
    @classmethod
    def _overbought_above_oversold(cls, overbought: float, info: ValidationInfo) -> float:
        oversold = info.data.get("oversold")
        if oversold is not None and overbought <= oversold:
            raise ValueError(f"overbought must be above oversold, got oversold={oversold}, overbought={overbought}")
        return overbought


def wilder_rsi(closes: np.ndarray, period: int) -> float:
    """Return Wilder's RSI of the last close.

    The first average gain and loss are plain means over the first ``period`` changes; each later change ``x``
    updates an average ``a`` to ``(a * (period - 1) + x) / period``. Unrolled, the final average is the seed times
    ``(1 - 1/period) ** m`` plus each of the ``m`` later changes times ``(1/period) * (1 - 1/period) ** age``, where
    ``age`` counts the changes after it; that is how it is computed here, one dot product instead of a loop.

    Parameters
    ----------
    closes
        Close prices, oldest first; at least ``period + 1`` of them.
    period
        Number of changes in the seed average (at least 1).

    Returns
    -------
    float
        ``100 * average_gain / (average_gain + average_loss)``, the same as ``100 - 100 / (1 + RS)``: 100 when
        nothing fell, 0 when nothing rose, and 50 for a market that did not move at all.

    Raises
    ------
    ValueError
        If ``period < 1`` or there are fewer than ``period + 1`` closes.
    """
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    if len(closes) < period + 1:
        raise ValueError(f"wilder_rsi needs at least period + 1 = {period + 1} closes, got {len(closes)}")
    changes = np.diff(np.asarray(closes, dtype=np.float64))
    gains = np.maximum(changes, 0.0)
    losses = np.maximum(-changes, 0.0)
    later = len(changes) - period
    keep = 1.0 - 1.0 / period
    weights = keep ** np.arange(later - 1, -1, -1, dtype=np.float64) / period
    seed_weight = keep**later
    average_gain = seed_weight * gains[:period].mean() + weights @ gains[period:]
    average_loss = seed_weight * losses[:period].mean() + weights @ losses[period:]
    total = average_gain + average_loss
    return 50.0 if total == 0.0 else float(100.0 * average_gain / total)


def wilder_rsi_series(closes: np.ndarray, period: int, window: int) -> np.ndarray:
    """Return `wilder_rsi` of each ``window`` consecutive closes ending at each index (NaN before the first window).

    The same formula as `wilder_rsi`, over every window at once: what the signal computes at each candle from the
    ``window`` closes it fetches.
    """
    out = np.full(len(closes), np.nan)
    changes = np.diff(np.asarray(closes, dtype=np.float64))
    if len(closes) < window or window < period + 1:
        return out
    later = window - 1 - period
    keep = 1.0 - 1.0 / period
    weights = keep ** np.arange(later - 1, -1, -1, dtype=np.float64) / period
    seed_weight = keep**later
    averages = []
    for moves in (np.maximum(changes, 0.0), np.maximum(-changes, 0.0)):
        windows = sliding_window_view(moves, window - 1)
        averages.append(seed_weight * windows[:, :period].mean(axis=1) + windows[:, period:] @ weights)
    average_gain, average_loss = averages
    total = average_gain + average_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window - 1 :] = np.where(total == 0.0, 50.0, 100.0 * average_gain / total)
    return out


class RsiIndicators:
    """The reversion's indicator: the RSI the signal reads at each closed ``interval`` candle, held until the next."""

    def __init__(self, params: RsiReversionParams) -> None:
        self.params = params

    def __call__(self, candles: np.ndarray) -> dict[str, np.ndarray]:
        """Return ``{"RSI": …}`` per 1m candle: the RSI of the newest ``interval`` candle closed by its end."""
        p = self.params
        candles_of_interval, last_minute = interval_candles(candles, p.interval)
        rsi = wilder_rsi_series(candles_of_interval["close"], p.period, p.period * HISTORY_PERIODS + 1)
        return {"RSI": spread_to_minutes(rsi, last_minute, len(candles))}


class RsiReversionSignal:
    """The ``get_signal`` of the RSI reversion; an object of a module-level class, so it pickles by reference."""

    def __init__(self, params: RsiReversionParams) -> None:
        self.params = params

    async def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        """Return a limit order against a stretched RSI, else None."""
        p = self.params
        candles = await ws.get_candles(symbol, p.interval, p.period * HISTORY_PERIODS + 1)
        rsi = wilder_rsi(candles["close"], p.period)
        if p.oversold <= rsi <= p.overbought:
            return None
        price = await ws.get_average_price(symbol)
        offset = p.entry_offset_percent / 100
        take_profit = p.take_profit_percent / 100
        stop_loss = p.stop_loss_percent / 100
        if rsi < p.oversold:
            position: Literal["long", "short"] = "long"
            entry = price * (1.0 - offset)
            take_profit_price, stop_loss_price = entry * (1.0 + take_profit), entry * (1.0 - stop_loss)
            note = f"RSI({p.period}) {rsi:.1f} < {p.oversold:g}"
        else:
            position = "short"
            entry = price * (1.0 + offset)
            take_profit_price, stop_loss_price = entry * (1.0 - take_profit), entry * (1.0 + stop_loss)
            note = f"RSI({p.period}) {rsi:.1f} > {p.overbought:g}"
        return ws.Signal(
            position=position,
            price_open=entry,
            price_take_profit=take_profit_price,
            price_stop_loss=stop_loss_price,
            minute_estimated_time=p.minute_estimated_time,
            note=note,
        )


def _build(params: RsiReversionParams) -> StrategySchema:
    """Build the ``rsi-reversion`` strategy, called once per closed ``interval`` candle while flat."""
    return StrategySchema(
        strategy_name="rsi-reversion",
        interval=params.interval,
        get_signal=RsiReversionSignal(params),
        note=f"RSI({params.period}) {params.oversold:g}/{params.overbought:g} reversion on {params.interval} (limit)",
        indicators=IndicatorSpec(
            compute=RsiIndicators(params),
            lines=(IndicatorLine(name="RSI", pane="RSI", levels=(params.oversold, params.overbought)),),
        ),
    )


#: ``make_strategy(params)``: any subset of the `RsiReversionParams` fields (None keeps the defaults) -> the strategy.
make_strategy = StrategyFactory(RsiReversionParams, _build, "rsi_reversion")
