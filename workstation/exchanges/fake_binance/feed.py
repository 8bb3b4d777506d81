"""Where the fake exchange's 1m candles come from: a fixed array, or the demo exchange's synthetic market."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import MINUTE_MS


class CandleFeed(Protocol):
    """The 1m candles of every market the server lists."""

    def between(self, symbol: str, start_ms: int, end_ms: int) -> np.ndarray:
        """Return the ``CANDLE_DTYPE`` candles of ``symbol`` opening in ``[start_ms, end_ms)``, oldest first."""
        ...

    def newest(self, symbol: str, until_ms: int, count: int) -> np.ndarray:
        """Return at most ``count`` candles of ``symbol`` opening before ``until_ms``, the newest ones, oldest first."""
        ...


class ArrayFeed:
    """The same candles (sorted by open time, gaps allowed) for every market."""

    def __init__(self, candles: np.ndarray | None) -> None:
        self.candles = np.empty(0, dtype=CANDLE_DTYPE) if candles is None else candles

    def between(self, symbol: str, start_ms: int, end_ms: int) -> np.ndarray:
        """Return the candles opening in ``[start_ms, end_ms)`` whatever the symbol."""
        stamps = self.candles["timestamp"]
        return self.candles[np.searchsorted(stamps, start_ms) : np.searchsorted(stamps, end_ms)]

    def newest(self, symbol: str, until_ms: int, count: int) -> np.ndarray:
        """Return the last ``count`` candles opening before ``until_ms`` whatever the symbol."""
        end = int(np.searchsorted(self.candles["timestamp"], until_ms))
        return self.candles[max(end - count, 0) : end]

    def last_open_ms(self) -> int | None:
        """Return the open time of the last candle, None without candles."""
        return int(self.candles["timestamp"][-1]) if len(self.candles) else None


class DemoFeed:
    """The demo exchange's deterministic synthetic candles (`workstation.exchanges.demo`), one path per market."""

    def __init__(self, seed: int = 0) -> None:
        self._demo = DemoCandles(seed)

    def between(self, symbol: str, start_ms: int, end_ms: int) -> np.ndarray:
        """Return the demo candles of ``symbol`` opening in ``[start_ms, end_ms)``."""
        start = -(-start_ms // MINUTE_MS) * MINUTE_MS
        return self._demo.candles(symbol, CandleWindow(1, start, max(end_ms, start)))

    def newest(self, symbol: str, until_ms: int, count: int) -> np.ndarray:
        """Return the ``count`` demo candles of ``symbol`` opening before ``until_ms``."""
        end = -(-until_ms // MINUTE_MS) * MINUTE_MS
        return self._demo.candles(symbol, CandleWindow(1, end - count * MINUTE_MS, end))
