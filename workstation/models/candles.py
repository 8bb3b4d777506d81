"""Candles travel as numpy structured arrays of ``CANDLE_DTYPE``, oldest first."""

from __future__ import annotations

import numpy as np

#: One 1m (or coarser) candle: open time in epoch ms, then OHLCV.
CANDLE_DTYPE = np.dtype(
    [
        ("timestamp", np.int64),
        ("open", np.float64),
        ("high", np.float64),
        ("low", np.float64),
        ("close", np.float64),
        ("volume", np.float64),
    ]
)

CANDLE_FIELDS: tuple[str, ...] = ("timestamp", "open", "high", "low", "close", "volume")


def empty_candles(length: int = 0) -> np.ndarray:
    """Return an uninitialised candle array of ``length`` rows."""
    return np.empty(length, dtype=CANDLE_DTYPE)


def candles_from_columns(
    timestamp: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> np.ndarray:
    """Build a candle array from six equally long columns."""
    out = empty_candles(len(timestamp))
    out["timestamp"] = timestamp
    out["open"] = open_
    out["high"] = high
    out["low"] = low
    out["close"] = close
    out["volume"] = volume
    return out
