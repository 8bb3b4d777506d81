"""SMA crossover: the peer's parity strategy (SPEC §20.2), as a market or a limit variant.

A long signal when the fast SMA of 1m closes crosses above the slow one (compared with ``shift`` candles
earlier), a short when it crosses below. Take profit and stop loss are fixed multiples of the entry price.
The limit variant asks for a slightly better entry (``offset_long`` / ``offset_short``) and waits for it.

    >>> import workstation as ws
    >>> from workstation.examples.sma_cross import make_strategy
    >>> ws.add_strategy(make_strategy({"variant": "limit", "fast": 10, "slow": 30}))  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import add
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

import workstation as ws
from workstation.examples.params import StrategyFactory, StrategyParams
from workstation.indicators import moving_average
from workstation.schemas.indicators import IndicatorLine, IndicatorSpec
from workstation.schemas.strategy import SignalInterval, StrategySchema
from workstation.timeutil import to_ms


class SmaCrossParams(StrategyParams):
    """Parameters of the SMA crossover; the defaults are the peer's."""

    variant: Literal["market", "limit"] = Field(
        "market",
        title="Entry",
        description="market: enter at once at the current price; limit: wait for a slightly better price.",
    )
    interval: SignalInterval = Field(
        "5m", title="Signal interval", description="How often the crossover is checked while flat."
    )
    fast: int = Field(20, gt=0, title="Fast SMA", description="Number of 1m closes in the fast moving average.")
    slow: int = Field(
        50,
        gt=0,
        validate_default=True,
        title="Slow SMA",
        description="Number of 1m closes in the slow one; above fast.",
    )
    shift: int = Field(
        5, ge=1, title="Shift", description="The crossover compares the averages now with those this many minutes ago."
    )
    minute_estimated_time: int = Field(
        240, ge=1, title="Lifetime (minutes)", description="A position still open after this long is closed."
    )
    tp_long: float = Field(1.01, gt=0, title="Long take profit", description="Take profit of a long, times the entry.")
    sl_long: float = Field(0.99, gt=0, title="Long stop loss", description="Stop loss of a long, times the entry.")
    tp_short: float = Field(
        0.99, gt=0, title="Short take profit", description="Take profit of a short, times the entry."
    )
    sl_short: float = Field(1.01, gt=0, title="Short stop loss", description="Stop loss of a short, times the entry.")
    offset_long: float = Field(
        0.997, gt=0, title="Long limit price", description="Limit entry of a long, times the price (limit only)."
    )
    offset_short: float = Field(
        1.003, gt=0, title="Short limit price", description="Limit entry of a short, times the price (limit only)."
    )

    @field_validator("slow")
    @classmethod
    def _slow_above_fast(cls, slow: int, info: ValidationInfo) -> int:
        fast = info.data.get("fast")
        if fast is not None and slow <= fast:
            raise ValueError(f"slow must be above fast, got fast={fast}, slow={slow}")
        return slow


def _mean(values: list[float]) -> float:
    # A left-to-right sum from 0.0, as the peer does: sum() on Python >= 3.12 compensates and would differ.
    return reduce(add, values, 0.0) / len(values)


class SmaCrossSignal:
    """The ``get_signal`` of the crossover; an object of a module-level class, so it pickles by reference.

    Parameters
    ----------
    params
        The crossover's parameters.
    id_prefix
        The signal ids are ``<id_prefix>-<epoch ms>``; None: the variant (``market-1709251500000``).
    """

    def __init__(self, params: SmaCrossParams, id_prefix: str | None = None) -> None:
        self.params = params
        self.id_prefix = params.variant if id_prefix is None else id_prefix

    async def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        """Return a long or short signal on a crossover, else None."""
        p = self.params
        price = await ws.get_average_price(symbol)
        length = p.slow + p.shift
        closes: list[float] = (await ws.get_candles(symbol, "1m", length))["close"].tolist()
        fast_now = _mean(closes[length - p.fast : length])
        slow_now = _mean(closes[length - p.slow : length])
        fast_prev = _mean(closes[length - p.shift - p.fast : length - p.shift])
        slow_prev = _mean(closes[length - p.shift - p.slow : length - p.shift])
        if fast_prev <= slow_prev and fast_now > slow_now:
            position: Literal["long", "short"] = "long"
        elif fast_prev >= slow_prev and fast_now < slow_now:
            position = "short"
        else:
            return None
        signal_id = f"{self.id_prefix}-{to_ms(when)}"
        entry = price
        if p.variant == "limit":
            entry = price * (p.offset_long if position == "long" else p.offset_short)
        if position == "long":
            take_profit, stop_loss = entry * p.tp_long, entry * p.sl_long
        else:
            take_profit, stop_loss = entry * p.tp_short, entry * p.sl_short
        return ws.Signal(
            id=signal_id,
            position=position,
            price_open=entry if p.variant == "limit" else None,
            price_take_profit=take_profit,
            price_stop_loss=stop_loss,
            minute_estimated_time=p.minute_estimated_time,
            note=f"SMA {p.fast}/{p.slow} cross",
        )


class SmaCrossIndicators:
    """The crossover's indicators: the fast and the slow SMA of 1m closes, as the signal computes them."""

    def __init__(self, params: SmaCrossParams) -> None:
        self.params = params

    def __call__(self, candles: np.ndarray) -> dict[str, np.ndarray]:
        """Return ``{"SMA fast": …, "SMA slow": …}``, each the mean of the closes up to and with each candle."""
        closes, p = candles["close"], self.params
        return {"SMA fast": moving_average(closes, p.fast), "SMA slow": moving_average(closes, p.slow)}


def sma_indicators(params: SmaCrossParams) -> IndicatorSpec:
    """Return the indicators of a crossover built with ``params`` (the managed variant declares the same)."""
    return IndicatorSpec(
        compute=SmaCrossIndicators(params),
        lines=(IndicatorLine(name="SMA fast"), IndicatorLine(name="SMA slow")),
    )


def _build(params: SmaCrossParams) -> StrategySchema:
    """Build the ``sma-cross-<variant>`` strategy from a dict of `SmaCrossParams` fields."""
    return StrategySchema(
        strategy_name=f"sma-cross-{params.variant}",
        interval=params.interval,
        get_signal=SmaCrossSignal(params),
        note=f"SMA {params.fast}/{params.slow} crossover ({params.variant} entries)",
        indicators=sma_indicators(params),
    )


#: ``make_strategy(params)``: any subset of the `SmaCrossParams` fields (None keeps the defaults) -> the strategy.
make_strategy = StrategyFactory(SmaCrossParams, _build, "sma_cross")
