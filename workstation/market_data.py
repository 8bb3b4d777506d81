"""Candles of a period for charts and views, read through the backtest exchange client and its cache."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from workstation import registry
from workstation.config import get_config
from workstation.services.connections import exchange_connections
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, iso, to_ms


async def fetch_candles(
    exchange_name: str, symbol: str, start: datetime, end: datetime, interval: str = "1m"
) -> np.ndarray:
    """Return the candles of ``interval`` opening from ``start`` to ``end`` (both included), oldest first.

    The candles come through the same backtest exchange client (and cache) a backtest of the period uses, so a
    chart drawn after a run usually reads them from memory. The array is read-only (``CANDLE_DTYPE``).

    Parameters
    ----------
    exchange_name
        A registered exchange.
    symbol
        The symbol to read.
    start, end
        Timezone-aware datetimes; each is rounded down to its candle's open time.
    interval
        A candle interval (``1m``, ``5m``, ... ``1d``).

    Returns
    -------
    numpy.ndarray
        ``CANDLE_DTYPE`` rows, one per candle.

    Raises
    ------
    SchemaNotFoundError
        If no exchange is registered under ``exchange_name``.
    ValueError
        If the interval is unknown, a datetime is naive, or ``end`` is before ``start``.
    CandleWindowError
        If the exchange lacks a candle of the period (the data ends, or the period reaches into the future).
    """
    if interval not in CANDLE_INTERVAL_MINUTES:
        raise ValueError(f"interval must be one of {', '.join(CANDLE_INTERVAL_MINUTES)}, got {interval!r}")
    registry.exchanges.get(exchange_name, "fetch_candles")
    step = CANDLE_INTERVAL_MINUTES[interval] * MINUTE_MS
    first = to_ms(start) // step * step
    last = to_ms(end) // step * step
    if last < first:
        raise ValueError(f"end ({iso(to_ms(end))}) is before start ({iso(to_ms(start))})")
    exchange = exchange_connections.client(exchange_name, True)
    config = get_config()
    if interval == "1m":
        # One buffer for the whole period, instead of growing it (and copying it) chunk after chunk, with room for
        # what a backtest of the period reads past its end, so that run does not grow it either.
        exchange.expect(symbol, first, last + step + (config.max_candles_per_request + 1) * MINUTE_MS)
    return await exchange.get_candles(symbol, interval, (last - first) // step + 1, last + step, config)
