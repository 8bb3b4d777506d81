"""Re-aggregation of 1m candles into coarser timeframes, bucketed on epoch-aligned boundaries."""

from __future__ import annotations

import numpy as np

import workstation as ws

MINUTE_MS = 60_000

#: The timeframes the chart offers, as (label, minutes), finest first.
TIMEFRAMES: tuple[tuple[str, int], ...] = (
    ("1m", 1),
    ("5m", 5),
    ("15m", 15),
    ("1h", 60),
    ("4h", 240),
    ("1d", 1440),
)


def bucket_bounds(timestamps: np.ndarray, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the index of the first and of the last of the oldest-first ``timestamps`` in each ``minutes`` bucket.

    Buckets start at multiples of ``minutes`` since 1970-01-01 UTC; a bucket without any timestamp has no entry.
    """
    bucket = timestamps // (minutes * MINUTE_MS)
    first = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    last = np.concatenate((first[1:] - 1, [len(timestamps) - 1]))
    return first, last


def resample(candles: np.ndarray, minutes: int) -> np.ndarray:
    """Aggregate oldest-first 1m ``candles`` into ``minutes``-long candles aligned to the epoch.

    Each bucket starts at a multiple of ``minutes`` since 1970-01-01 UTC and takes the first open, the highest
    high, the lowest low, the last close and the summed volume of the 1m candles opening inside it. Buckets
    without any candle are left out (a gap stays a gap).

    Parameters
    ----------
    candles
        Structured array of ``ws.CANDLE_DTYPE``, oldest first; it may be read-only and is never written.
    minutes
        Length of one output candle in minutes, at least 1.

    Returns
    -------
    numpy.ndarray
        A new ``ws.CANDLE_DTYPE`` array (a copy even when ``minutes`` is 1).
    """
    if minutes < 1:
        raise ValueError(f"minutes must be at least 1, got {minutes}")
    if minutes == 1 or len(candles) == 0:
        return np.array(candles, dtype=ws.CANDLE_DTYPE)
    first, last = bucket_bounds(candles["timestamp"], minutes)
    out = np.empty(len(first), dtype=ws.CANDLE_DTYPE)
    out["timestamp"] = candles["timestamp"][first] // (minutes * MINUTE_MS) * (minutes * MINUTE_MS)
    out["open"] = candles["open"][first]
    out["high"] = np.maximum.reduceat(candles["high"], first)
    out["low"] = np.minimum.reduceat(candles["low"], first)
    out["close"] = candles["close"][last]
    out["volume"] = np.add.reduceat(candles["volume"], first)
    return out
