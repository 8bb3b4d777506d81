"""An exchange replaying recorded candles on a clock (SPEC §4.7, §15.2): paper trading in accelerated time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from workstation.engine.clock import Clock, clock_ms
from workstation.exchanges.aggregate import aggregate_candles, request_window
from workstation.models.candles import CANDLE_DTYPE
from workstation.schemas.exchange import ExchangeSchema


class ReplayCandles:
    """``get_candles`` over a recorded 1m array that serves only what the clock has already closed."""

    def __init__(self, candles: np.ndarray, clock: Clock) -> None:
        if candles.dtype != CANDLE_DTYPE:
            raise TypeError(f"candles must be a CANDLE_DTYPE array, got dtype {candles.dtype}")
        order = np.argsort(candles["timestamp"], kind="stable")
        self._candles = candles[order]
        self._candles.flags.writeable = False
        self.clock = clock

    @property
    def candles(self) -> np.ndarray:
        """The recorded 1m candles, oldest first (read-only)."""
        return self._candles

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        """Return the closed candles of ``[since, since + limit·step)`` (any symbol: one recorded market)."""
        window = request_window(interval, since, limit, clock_ms(self.clock))
        stamps = self._candles["timestamp"]
        if window.end_ms <= window.start_ms:
            return np.empty(0, dtype=CANDLE_DTYPE)
        first = int(np.searchsorted(stamps, window.start_ms, side="left"))
        last = int(np.searchsorted(stamps, window.end_ms, side="left"))
        return aggregate_candles(self._candles[first:last], window)


def make_replay_exchange(exchange_name: str, candles: np.ndarray, clock: Clock, **fields: Any) -> ExchangeSchema:
    """Build an exchange that serves ``candles`` only once ``clock`` has closed them.

    Parameters
    ----------
    exchange_name
        Name to register the exchange under.
    candles
        Recorded 1m candles (``CANDLE_DTYPE``), in any order.
    clock
        The clock of the live runs using this exchange (usually a ``ReplayClock``).
    **fields
        Further ``ExchangeSchema`` fields (``note``, ``callbacks``, formatters).

    Returns
    -------
    ExchangeSchema
        Ready for ``ws.add_exchange``.
    """
    return ExchangeSchema(exchange_name=exchange_name, get_candles=ReplayCandles(candles, clock), **fields)
