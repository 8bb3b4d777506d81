"""The fake binance of the tests: `workstation.exchanges.fake_binance` re-exported, plus candle ladders.

Use it as a context manager and point a ccxt binance at it with ``make_ccxt_exchange(..., api_url=server.url)``::

    with FakeBinance(candles) as server:
        ws.add_exchange(make_ccxt_exchange("fake", "binance", api_url=server.url, **FAKE_BINANCE_OPTIONS))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

import workstation as ws
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles, make_ccxt_exchange
from workstation.exchanges.fake_binance import (
    ACCOUNT,
    EXCHANGE_INFO,
    FAKE_API_KEY,
    FAKE_BINANCE_OPTIONS,
    FAKE_SECRET,
    KLINES,
    MAX_KLINES_LIMIT,
    Failure,
    FakeBinance,
    Fault,
    RecordedRequest,
    klines_rows,
)
from workstation.models.candles import CANDLE_DTYPE

__all__ = [
    "ACCOUNT",
    "EXCHANGE_INFO",
    "FAKE_API_KEY",
    "FAKE_BINANCE_OPTIONS",
    "FAKE_SECRET",
    "KLINES",
    "MAX_KLINES_LIMIT",
    "MINUTE",
    "T0",
    "Failure",
    "FakeBinance",
    "Fault",
    "RecordedRequest",
    "fake_binance",
    "klines_rows",
    "minute_candles",
]

T0 = 1704067200000
"""2024-01-01T00:00:00Z in epoch ms."""
MINUTE = 60_000


def fake_binance(server: FakeBinance, store: CandleStore, *, register: bool = True) -> CcxtCandles:
    """Return the ``get_candles`` of a ccxt binance named ``fake`` that talks to ``server`` and keeps its candles in
    ``store``, registered unless ``register`` is False; close it with ``aclose`` when done."""
    schema = make_ccxt_exchange("fake", "binance", store=store, api_url=server.url, **FAKE_BINANCE_OPTIONS)
    if register:
        ws.add_exchange(schema)
    assert isinstance(schema.get_candles, CcxtCandles)
    return schema.get_candles


def minute_candles(count: int, *, start: int = T0, without: Iterable[int] = ()) -> np.ndarray:
    """Return ``count`` 1m candles from ``start`` minus the minute indexes in ``without``.

    Candle ``k`` opens at ``start + k`` minutes with ``open = 42000 + k / 2``, ``high = open + 10``,
    ``low = open - 10``, ``close = open + 0.25`` and ``volume = 1 + k % 7`` (all exact in binary).
    """
    index = np.arange(count)
    candles = np.empty(count, dtype=CANDLE_DTYPE)
    candles["timestamp"] = start + index * MINUTE
    candles["open"] = 42000.0 + index / 2
    candles["high"] = candles["open"] + 10
    candles["low"] = candles["open"] - 10
    candles["close"] = candles["open"] + 0.25
    candles["volume"] = 1.0 + index % 7
    return np.delete(candles, list(without))
