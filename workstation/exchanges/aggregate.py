"""Shared by the built-in exchanges: the time window of a request and 1m → higher-interval aggregation."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np

from workstation.models.candles import empty_candles
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, to_ms


class CandleWindow(NamedTuple):
    """The open times a ``get_candles`` request may return: ``[start_ms, end_ms)`` in steps of ``step_minutes``."""

    step_minutes: int
    start_ms: int
    end_ms: int

    @property
    def step_ms(self) -> int:
        """Length of one candle in milliseconds."""
        return self.step_minutes * MINUTE_MS


def request_window(interval: str, since: datetime, limit: int, now: int) -> CandleWindow:
    """Return the window of candle open times a request may be answered with.

    Parameters
    ----------
    interval
        A candle interval (``"1m"`` … ``"1d"``).
    since
        Aware datetime of the first requested open time.
    limit
        Number of candles asked for (at least 1).
    now
        The present in epoch milliseconds: candles that are not closed at ``now`` are excluded.

    Returns
    -------
    CandleWindow
        Both ends lie on the epoch-aligned grid of the interval. ``start_ms`` is the first grid time at or after
        ``since``; ``end_ms`` (exclusive) stops before ``since + limit * step`` and at the candle still forming at
        ``now``, so it may be at or before ``start_ms`` (nothing to return).

    Raises
    ------
    ValueError
        For an unknown interval, a naive ``since`` or ``limit < 1``.
    """
    minutes = CANDLE_INTERVAL_MINUTES.get(interval)
    if minutes is None:
        raise ValueError(f"unknown candle interval {interval!r}; expected one of {', '.join(CANDLE_INTERVAL_MINUTES)}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    step_ms = minutes * MINUTE_MS
    since_ms = to_ms(since)
    start_ms = -(-since_ms // step_ms) * step_ms
    requested_end_ms = -(-(since_ms + limit * step_ms) // step_ms) * step_ms
    # A candle opening at t closes at t + step; it exists only once t + step <= now.
    end_ms = min(requested_end_ms, now // step_ms * step_ms)
    return CandleWindow(minutes, start_ms, end_ms)


def aggregate_candles(minutes: np.ndarray, window: CandleWindow) -> np.ndarray:
    """Build the complete candles of ``window`` from its 1m candles.

    Parameters
    ----------
    minutes
        ``CANDLE_DTYPE`` array of 1m candles, sorted, unique, minute-aligned, all inside ``window`` (gaps allowed).
        It is never modified and never returned itself.
    window
        The request window; its buckets are aligned to the epoch.

    Returns
    -------
    numpy.ndarray
        A new ``CANDLE_DTYPE`` array, oldest first, with one candle per bucket whose ``step_minutes`` 1m candles
        are all present (incomplete buckets are left out): open = first open, high = max, low = min,
        close = last close, volume = left-to-right sum starting at 0.0 (bit-identical to a Python loop).
    """
    step = window.step_minutes
    if step == 1:
        return minutes.copy()
    bucket = (minutes["timestamp"] - window.start_ms) // window.step_ms
    counts = np.bincount(bucket, minlength=1)
    # Unique aligned minutes: a bucket holding `step` of them is complete, so the kept rows reshape exactly.
    grid = minutes[(counts == step)[bucket]].reshape(-1, step)
    out = empty_candles(len(grid))
    out["timestamp"] = grid["timestamp"][:, 0]
    out["open"] = grid["open"][:, 0]
    out["high"] = grid["high"].max(axis=1)
    out["low"] = grid["low"].min(axis=1)
    out["close"] = grid["close"][:, -1]
    # A running sum adds strictly left to right, as the peer does (np.sum would add pairwise); the final + 0.0
    # gives an all-(-0.0) bucket the +0.0 that a loop starting at 0.0 produces.
    out["volume"] = np.cumsum(grid["volume"], axis=1)[:, -1] + 0.0
    return out
