"""The SMA crossover as a trader first writes it: the naive strategy of issue 17's benchmarks.

``benchmarks.backtest`` times it beside the peer (its ratio is taken against the peer's time for the market
strategy, whose trades it makes) and ``benchmarks.profile`` splits its run into the strategy's time and the engine's.
"""

from __future__ import annotations

from datetime import datetime

import workstation as ws
from workstation.timeutil import to_ms

# The crossover's parameters as the naive strategy hard-codes them (the example's defaults).
FAST, SLOW, SHIFT = 20, 50, 5


def average(values: list[float]) -> float:
    """Return the mean of ``values``, summed one by one from the left as a trader writes it."""
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


class NaiveSmaCross:
    """The SMA crossover as a trader writes it first: every close copied into a list, the averages summed in loops.

    It makes the example's trades (same signals, ids, prices and lifetime) the slow way: the floor of a strategy
    written without numpy in mind.
    """

    async def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        """Return a long or short signal on a crossover of the 20 and 50 minute averages, else None."""
        price = await ws.get_average_price(symbol)
        candles = await ws.get_candles(symbol, "1m", SLOW + SHIFT)
        closes = []
        for candle in candles:
            closes.append(float(candle["close"]))
        fast_now = average(closes[-FAST:])
        slow_now = average(closes[-SLOW:])
        fast_before = average(closes[-FAST - SHIFT : -SHIFT])
        slow_before = average(closes[-SLOW - SHIFT : -SHIFT])
        if fast_before <= slow_before and fast_now > slow_now:
            return ws.Signal(
                id=f"market-{to_ms(when)}",
                position="long",
                price_take_profit=price * 1.01,
                price_stop_loss=price * 0.99,
                minute_estimated_time=240,
            )
        if fast_before >= slow_before and fast_now < slow_now:
            return ws.Signal(
                id=f"market-{to_ms(when)}",
                position="short",
                price_take_profit=price * 0.99,
                price_stop_loss=price * 1.01,
                minute_estimated_time=240,
            )
        return None
