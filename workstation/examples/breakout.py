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

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import numpy as np

import workstation as ws
from workstation.examples.params import build_params
from workstation.schemas.strategy import SignalInterval, StrategySchema


@dataclass(frozen=True)
class BreakoutParams:
    """Parameters of the Donchian breakout; percentages are of the price (``0.6`` means 0.6 %)."""

    interval: SignalInterval = "1h"
    lookback: int = 20
    atr_period: int = 14
    tp_atr: float = 3.0
    sl_atr: float = 1.5
    min_atr_percent: float = 0.2
    min_distance_percent: float = 0.6
    max_stop_loss_percent: float = 19.5
    minute_estimated_time: int = 720

    def __post_init__(self) -> None:
        if self.interval not in get_args(SignalInterval):
            raise ValueError(f"interval must be one of {', '.join(get_args(SignalInterval))}, got {self.interval!r}")
        if self.lookback < 1:
            raise ValueError(f"lookback must be at least 1, got {self.lookback}")
        if self.atr_period < 1:
            raise ValueError(f"atr_period must be at least 1, got {self.atr_period}")
        if self.tp_atr <= 0 or self.sl_atr <= 0:
            raise ValueError(f"tp_atr and sl_atr must be positive, got tp_atr={self.tp_atr}, sl_atr={self.sl_atr}")
        if self.min_atr_percent < 0:
            raise ValueError(f"min_atr_percent must not be negative, got {self.min_atr_percent}")
        if not 0 < self.min_distance_percent <= self.max_stop_loss_percent < 100:
            raise ValueError(
                "need 0 < min_distance_percent <= max_stop_loss_percent < 100, got "
                f"min_distance_percent={self.min_distance_percent}, max_stop_loss_percent={self.max_stop_loss_percent}"
            )
        if self.minute_estimated_time < 1:
            raise ValueError(f"minute_estimated_time must be positive, got {self.minute_estimated_time}")


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


def make_strategy(params: dict[str, Any] | None = None) -> StrategySchema:
    """Build the ``breakout`` strategy from a dict of `BreakoutParams` fields.

    Parameters
    ----------
    params
        Any subset of the `BreakoutParams` fields; None or ``{}`` keeps every default.

    Returns
    -------
    StrategySchema
        Called once per closed ``interval`` candle while flat.

    Raises
    ------
    ValueError
        For an unknown parameter name or an invalid value.
    """
    chosen = build_params(BreakoutParams, params, "breakout")
    return StrategySchema(
        strategy_name="breakout",
        interval=chosen.interval,
        get_signal=BreakoutSignal(chosen),
        note=f"Donchian {chosen.lookback} breakout on {chosen.interval} (market), exits at ATR multiples",
    )
