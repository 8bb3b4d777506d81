"""Donchian channel breakout: follow the market when it leaves its recent range, with market orders.

The Donchian channel is the highest high and the lowest low of the last ``lookback`` closed ``interval`` candles,
leaving out the newest one. When the newest candle closes above the channel the market has broken out of its range
and the strategy buys at once; a close below the channel sells short. Exits are sized by volatility: the take profit
lies ``tp_atr`` average true ranges from the entry and the stop loss ``sl_atr`` ranges away, so both widen in a wild
market and tighten in a calm one. Both distances are then raised to at least ``min_distance_percent`` and the stop
loss is cut to at most ``max_stop_loss_percent``, so the signals pass the engine's distance checks (by default at
least 0.5 % for both and at most 20 % for the stop loss; the defaults here keep a small margin inside them).
When the ATR is below ``min_atr_percent`` of the price the market is too quiet for a breakout to mean much, and no
signal is given.

    >>> import workstation as ws
    >>> from workstation.examples.breakout import make_strategy
    >>> ws.add_strategy(make_strategy({"interval": "4h", "lookback": 55}))  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, ValidationInfo, field_validator

import workstation as ws
from workstation.examples.params import StrategyFactory, StrategyParams
from workstation.indicators import interval_candles, moving_average, spread_to_minutes
from workstation.schemas.indicators import IndicatorLine, IndicatorSpec
from workstation.schemas.strategy import SignalInterval, StrategySchema


class BreakoutParams(StrategyParams):
    """Parameters of the Donchian breakout; percentages are of the price (``0.6`` means 0.6 %)."""

    interval: SignalInterval = Field(
        "1h", title="Signal interval", description="Candles the channel is built from, checked once per candle."
    )
    lookback: int = Field(20, ge=1, title="Channel length", description="Number of candles in the Donchian channel.")
    atr_period: int = Field(14, ge=1, title="ATR period", description="Number of true ranges in the average.")
    tp_atr: float = Field(3.0, gt=0, title="Take profit (ATR)", description="Take profit distance, in ATRs.")
    sl_atr: float = Field(1.5, gt=0, title="Stop loss (ATR)", description="Stop loss distance, in ATRs.")
    min_atr_percent: float = Field(
        0.2, ge=0, title="Minimum ATR (%)", description="No signal when the ATR is below this share of the price."
    )
    min_distance_percent: float = Field(
        0.6,
        gt=0,
        lt=100,
        title="Minimum distance (%)",
        description="Take profit and stop loss are at least this far from the entry.",
    )
    max_stop_loss_percent: float = Field(
        19.5,
        gt=0,
        lt=100,
        validate_default=True,
        title="Maximum stop loss (%)",
        description="The stop loss is at most this far from the entry; at least the minimum distance.",
    )
    minute_estimated_time: int = Field(
        720, ge=1, title="Lifetime (minutes)", description="A position still open after this long is closed."
    )

    @field_validator("max_stop_loss_percent")
    @classmethod
    def _stop_loss_room(cls, max_stop_loss_percent: float, info: ValidationInfo) -> float:
        min_distance_percent = info.data.get("min_distance_percent")
        if min_distance_percent is not None and max_stop_loss_percent < min_distance_percent:
            raise ValueError(
                "max_stop_loss_percent must be at least min_distance_percent, got "
                f"min_distance_percent={min_distance_percent}, max_stop_loss_percent={max_stop_loss_percent}"
            )
        return max_stop_loss_percent


def donchian_channel(high: np.ndarray, low: np.ndarray, lookback: int) -> tuple[float, float]:
    """Return the channel the newest candle is compared with: the extremes of the ``lookback`` candles before it.

    Parameters
    ----------
    high, low
        Highs and lows, oldest first, of equal length; at least ``lookback + 1`` candles.
    lookback
        Number of candles in the channel (at least 1).

    Returns
    -------
    tuple[float, float]
        ``(upper, lower)``: the highest high and the lowest low of ``high[-lookback - 1 : -1]`` and
        ``low[-lookback - 1 : -1]``.

    Raises
    ------
    ValueError
        If ``lookback < 1``, the arrays differ in length, or they hold fewer than ``lookback + 1`` candles.
    """
    if lookback < 1:
        raise ValueError(f"lookback must be at least 1, got {lookback}")
    if len(high) != len(low):
        raise ValueError(f"high and low must have the same length, got {len(high)} and {len(low)}")
    if len(high) < lookback + 1:
        raise ValueError(f"donchian_channel needs at least lookback + 1 = {lookback + 1} candles, got {len(high)}")
    # The newest candle is left out: it is the one tested against the channel, and it cannot break its own high.
    return float(np.max(high[-lookback - 1 : -1])), float(np.min(low[-lookback - 1 : -1]))


def average_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> float:
    """Return the mean true range of the last ``period`` candles.

    A candle's true range is ``max(high, previous close) - min(low, previous close)``: its high-low range widened
    by any gap from the previous close. The mean is a plain one, not Wilder's smoothing, so the value depends only on
    the last ``period + 1`` candles and not on how much history was fetched.

    Parameters
    ----------
    high, low, close
        Candle prices, oldest first, of equal length; at least ``period + 1`` candles (the first one only lends
        its close).
    period
        Number of true ranges averaged (at least 1).

    Returns
    -------
    float
        The average true range, in price units.

    Raises
    ------
    ValueError
        If ``period < 1``, the arrays differ in length, or they hold fewer than ``period + 1`` candles.
    """
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    if not len(high) == len(low) == len(close):
        raise ValueError(f"high, low and close must have the same length, got {len(high)}, {len(low)}, {len(close)}")
    if len(close) < period + 1:
        raise ValueError(f"average_true_range needs at least period + 1 = {period + 1} candles, got {len(close)}")
    previous_close = close[-period - 1 : -1]
    true_range = np.maximum(high[-period:], previous_close) - np.minimum(low[-period:], previous_close)
    return float(np.mean(true_range))


class BreakoutIndicators:
    """The breakout's indicators at each closed ``interval`` candle, held until the next.

    The Donchian channel that candle's close is tested against (the ``lookback`` candles before it) and the ATR its
    exits are sized with.
    """

    def __init__(self, params: BreakoutParams) -> None:
        self.params = params

    def __call__(self, candles: np.ndarray) -> dict[str, np.ndarray]:
        """Return ``{"Donchian upper": …, "Donchian lower": …, "ATR": …}`` per 1m candle."""
        p = self.params
        bars, last_minute = interval_candles(candles, p.interval)
        high, low, close = bars["high"], bars["low"], bars["close"]
        upper, lower, atr = (np.full(len(bars), np.nan) for _ in range(3))
        if len(bars) > p.lookback:
            upper[p.lookback :] = sliding_window_view(high, p.lookback).max(axis=1)[:-1]
            lower[p.lookback :] = sliding_window_view(low, p.lookback).min(axis=1)[:-1]
        if len(bars) > 1:
            previous = close[:-1]
            true_range = np.maximum(high[1:], previous) - np.minimum(low[1:], previous)
            atr[1:] = moving_average(true_range, p.atr_period)
        count = len(candles)
        return {
            "Donchian upper": spread_to_minutes(upper, last_minute, count),
            "Donchian lower": spread_to_minutes(lower, last_minute, count),
            "ATR": spread_to_minutes(atr, last_minute, count),
        }


class BreakoutSignal:
    """The ``get_signal`` of the breakout; an object of a module-level class, so it pickles by reference."""

    def __init__(self, params: BreakoutParams) -> None:
        self.params = params

    async def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        """Return a market order when the newest close leaves the channel, else None."""
        p = self.params
        candles = await ws.get_candles(symbol, p.interval, max(p.lookback, p.atr_period) + 1)
        high, low, close = candles["high"], candles["low"], candles["close"]
        upper, lower = donchian_channel(high, low, p.lookback)
        last_close = float(close[-1])
        if last_close > upper:
            position: Literal["long", "short"] = "long"
            note = f"close {last_close:g} above the {p.lookback}-candle high {upper:g}"
        elif last_close < lower:
            position = "short"
            note = f"close {last_close:g} below the {p.lookback}-candle low {lower:g}"
        else:
            return None
        price = await ws.get_average_price(symbol)
        atr_percent = average_true_range(high, low, close, p.atr_period) / price * 100
        if atr_percent < p.min_atr_percent:
            return None
        take_profit = max(p.tp_atr * atr_percent, p.min_distance_percent) / 100
        stop_loss = min(max(p.sl_atr * atr_percent, p.min_distance_percent), p.max_stop_loss_percent) / 100
        if position == "long":
            take_profit_price, stop_loss_price = price * (1.0 + take_profit), price * (1.0 - stop_loss)
        else:
            take_profit_price, stop_loss_price = price * (1.0 - take_profit), price * (1.0 + stop_loss)
        return ws.Signal(
            position=position,
            price_take_profit=take_profit_price,
            price_stop_loss=stop_loss_price,
            minute_estimated_time=p.minute_estimated_time,
            note=f"{note}, ATR {atr_percent:.2f} %",
        )


def _build(params: BreakoutParams) -> StrategySchema:
    """Build the ``breakout`` strategy, called once per closed ``interval`` candle while flat."""
    return StrategySchema(
        strategy_name="breakout",
        interval=params.interval,
        get_signal=BreakoutSignal(params),
        note=f"Donchian {params.lookback} breakout on {params.interval} (market), exits at ATR multiples",
        indicators=IndicatorSpec(
            compute=BreakoutIndicators(params),
            lines=(
                IndicatorLine(name="Donchian upper"),
                IndicatorLine(name="Donchian lower"),
                IndicatorLine(name="ATR", pane="ATR"),
            ),
        ),
    )


#: ``make_strategy(params)``: any subset of the `BreakoutParams` fields (None keeps the defaults) -> the strategy.
make_strategy = StrategyFactory(BreakoutParams, _build, "breakout")
