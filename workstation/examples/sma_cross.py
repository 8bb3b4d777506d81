"""SMA crossover: the peer's parity strategy (SPEC §20.2), as a market or a limit variant.

A long signal when the fast SMA of 1m closes crosses above the slow one (compared with ``shift`` candles
earlier), a short when it crosses below. Take profit and stop loss are fixed multiples of the entry price.
The limit variant asks for a slightly better entry (``offset_long`` / ``offset_short``) and waits for it.

    >>> import workstation as ws
    >>> from workstation.examples.sma_cross import make_strategy
    >>> ws.add_strategy(make_strategy({"variant": "limit", "fast": 10, "slow": 30}))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import add
from typing import Any, Literal

import workstation as ws
from workstation.examples.params import build_params
from workstation.schemas.strategy import SignalInterval, StrategySchema
from workstation.timeutil import to_ms


@dataclass(frozen=True)
class SmaCrossParams:
    """Parameters of the SMA crossover; the defaults are the peer's."""

    variant: Literal["market", "limit"] = "market"
    interval: SignalInterval = "5m"
    fast: int = 20
    slow: int = 50
    shift: int = 5
    minute_estimated_time: int = 240
    tp_long: float = 1.01
    sl_long: float = 0.99
    tp_short: float = 0.99
    sl_short: float = 1.01
    offset_long: float = 0.997
    offset_short: float = 1.003

    def __post_init__(self) -> None:
        if self.variant not in ("market", "limit"):
            raise ValueError(f"variant must be 'market' or 'limit', got {self.variant!r}")
        if not 0 < self.fast < self.slow:
            raise ValueError(f"fast must be positive and below slow, got fast={self.fast}, slow={self.slow}")
        if self.shift < 1:
            raise ValueError(f"shift must be at least 1, got {self.shift}")


def _mean(values: list[float]) -> float:
    # A left-to-right sum from 0.0, as the peer does: sum() on Python >= 3.12 compensates and would differ.
    return reduce(add, values, 0.0) / len(values)


class SmaCrossSignal:
    """The ``get_signal`` of the crossover; an object of a module-level class, so it pickles by reference."""

    def __init__(self, params: SmaCrossParams) -> None:
        self.params = params

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
        signal_id = f"{p.variant}-{to_ms(when)}"
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


def make_strategy(params: dict[str, Any] | None = None) -> StrategySchema:
    """Build the ``sma-cross-<variant>`` strategy from a dict of ``SmaCrossParams`` fields."""
    chosen = build_params(SmaCrossParams, params, "sma_cross")
    return StrategySchema(
        strategy_name=f"sma-cross-{chosen.variant}",
        interval=chosen.interval,
        get_signal=SmaCrossSignal(chosen),
        note=f"SMA {chosen.fast}/{chosen.slow} crossover ({chosen.variant} entries)",
    )
