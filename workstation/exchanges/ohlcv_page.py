"""Judge one page of ``fetch_ohlcv`` rows before anything of it reaches the candle store.

An exchange answers "the candles from ``since`` on, at most ``limit`` of them". A page that breaks that contract (not
rows of six numbers, more rows than asked, a timestamp off the interval's grid or before ``since``, a timestamp twice
or out of order, a price that is not a positive finite number, a negative volume) is refused as a whole: storing any
of it would make a wrong answer permanent. A page asked from a candle the exchange published before (the *anchor*,
the candle just before the window) must start with it, or the window is shifted. A page that keeps the contract
proves the steps up to its newest candle: a step before that candle without one is a gap in the exchange's data. The
steps after the newest candle prove nothing (the exchange may not have published them yet, or cut the answer short),
so they stay to be asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workstation.errors import WorkstationError
from workstation.models.candles import CANDLE_DTYPE, CANDLE_FIELDS
from workstation.timeutil import iso

__all__ = ["ExchangeResponseError", "OhlcvPage", "checked_page"]

_ROW = "[timestamp, open, high, low, close, volume]"


class ExchangeResponseError(WorkstationError, ValueError):
    """An exchange answered with something that is not candles (not JSON, or not rows of six numbers)."""


@dataclass(frozen=True)
class OhlcvPage:
    """A page that kept the contract: its candles inside the asked window and how far it proves the series.

    ``candles`` are the ``CANDLE_DTYPE`` candles of ``[start, end)``, oldest first. ``proven_end`` is where the
    exchange's answer stops proving anything: the step after its newest candle (``end`` at most), or ``start`` for
    an empty answer. ``[start, proven_end)`` may be recorded as fetched, its steps without a candle as gaps.
    """

    candles: np.ndarray
    proven_end: int


def checked_page(rows: Any, *, start: int, end: int, step: int, limit: int, anchored: bool, where: str) -> OhlcvPage:
    """Return the candles of ``[start, end)`` in ``rows`` and how far they prove the series, or refuse the page.

    Parameters
    ----------
    rows
        What ``fetch_ohlcv(symbol, interval, since=start, limit=limit)`` returned.
    start, end
        The window the page was asked for, epoch ms on the interval's grid; rows at or after ``end`` are allowed
        (an exchange fills its page past a hole), prove the whole window and are not kept.
    step
        The interval in ms.
    limit
        The most rows the page may hold.
    anchored
        True when the page was asked from the candle before ``start`` (at ``start - step``), one the exchange
        published before: its first row must be that candle, or the exchange answered a shifted window. The anchor
        candle is not part of the result.
    where
        Names the request in an error, e.g. ``"fake BTC/USDT 1m: fetch_ohlcv since 2024-01-01T00:00:00.000Z"``.

    Raises
    ------
    ExchangeResponseError
        For a page that breaks the contract; the message names the request and the first fault found.
    """

    def refused(fault: str) -> ExchangeResponseError:
        return ExchangeResponseError(f"{where} returned {fault}; the page was not stored")

    if not isinstance(rows, list):
        raise refused(f"{type(rows).__name__} instead of a list of {_ROW} rows")
    if len(rows) > limit:
        raise refused(f"{len(rows)} rows where at most {limit} were asked for")
    for index, row in enumerate(rows):
        if not _is_candle_row(row):
            raise refused(f"row {index} {str(row)[:80]} that is not {_ROW}")
    if not rows:
        return OhlcvPage(np.empty(0, dtype=CANDLE_DTYPE), start)
    matrix = np.array([row[:6] for row in rows], dtype=np.float64)
    stamps = matrix[:, 0]
    if not np.isfinite(stamps).all():
        raise refused(f"row {int(np.argmin(np.isfinite(stamps)))} whose timestamp is not a number")
    off_grid = np.flatnonzero(np.mod(stamps, step) != 0)
    if len(off_grid):
        raise refused(f"a candle at {_when(stamps[off_grid[0]])} that is off the {step // 60_000}-minute grid")
    since = start - step if anchored else start
    if stamps[0] < since:
        raise refused(f"a candle at {_when(stamps[0])}, before the {iso(since)} asked for")
    if anchored and stamps[0] != since:
        raise refused(
            f"a window shifted to start at {_when(stamps[0])} instead of the {iso(since)} candle it published before"
        )
    repeated = np.flatnonzero(np.diff(stamps) <= 0)
    if len(repeated):
        later = stamps[repeated[0] + 1]
        fault = "twice" if later == stamps[repeated[0]] else "out of order"
        raise refused(f"the candle at {_when(later)} {fault}")
    values = matrix[:, 1:6]
    bad = ~np.isfinite(values).all(axis=1) | (values[:, :4] <= 0).any(axis=1) | (values[:, 4] < 0)
    if bad.any():
        index = int(np.argmax(bad))
        named = zip(CANDLE_FIELDS[1:], values[index].tolist(), strict=True)
        described = ", ".join(f"{name} {value!r}" for name, value in named)
        raise refused(
            f"the candle at {_when(stamps[index])} with {described} (prices must be positive numbers, the volume "
            "zero or more)"
        )
    inside = matrix[(stamps >= start) & (stamps < end)]
    candles = np.empty(len(inside), dtype=CANDLE_DTYPE)
    candles["timestamp"] = inside[:, 0].astype(np.int64)
    for column, name in enumerate(CANDLE_FIELDS[1:], start=1):
        candles[name] = inside[:, column]
    return OhlcvPage(candles, min(end, int(stamps[-1]) + step))


def _is_candle_row(row: Any) -> bool:
    return (
        isinstance(row, list | tuple)
        and len(row) >= 6
        and all(isinstance(value, int | float) and not isinstance(value, bool) for value in row[:6])
    )


def _when(stamp: float) -> str:
    return iso(int(stamp)) if abs(stamp) < 2**53 else repr(stamp)
