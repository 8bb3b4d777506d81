"""Turning what an exchange returns into a clean candle array, and judging it (SPEC §4.1, §4.4, §4.6)."""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from workstation.errors import CandleAnomalyError
from workstation.models.candles import CANDLE_DTYPE, CANDLE_FIELDS
from workstation.timeutil import iso

logger = logging.getLogger("workstation.exchange")

#: The margin a read-only array's lowest price keeps above its highest over the factor for its pages to pass
#: unchecked: a page's median or mean (a float sum) can exceed its highest price only by rounding, far below this.
_REFERENCE_MARGIN = 1 + 1e-9


def _as_matrix(raw: Any, exchange_name: str) -> np.ndarray:
    """Return the response as an ``(n, 6)`` float matrix in CANDLE_FIELDS order, or raise ``TypeError``."""
    refused = TypeError(
        f"exchange {exchange_name!r}: get_candles returned {type(raw).__name__}, expected rows of "
        "(timestamp, open, high, low, close, volume), dicts with those keys, or a numpy array"
    )
    try:
        if isinstance(raw, np.ndarray):
            if raw.dtype.names is not None:
                if not set(CANDLE_FIELDS) <= set(raw.dtype.names):
                    raise refused
                return np.column_stack([raw[name].astype(np.float64) for name in CANDLE_FIELDS]).reshape(-1, 6)
            matrix = raw.astype(np.float64)
        elif isinstance(raw, Sequence) and not isinstance(raw, str | bytes):
            if len(raw) == 0:
                return np.empty((0, 6))
            if all(isinstance(row, Mapping) for row in raw):
                matrix = np.array([[row[name] for name in CANDLE_FIELDS] for row in raw], dtype=np.float64)
            else:
                matrix = np.array(raw, dtype=np.float64)
        else:
            raise refused
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise refused from exc
    if matrix.ndim != 2 or matrix.shape[1] != 6:
        if matrix.size == 0:
            return np.empty((0, 6))
        raise refused
    return matrix


def normalise_candles(raw: Any, exchange_name: str, since: int, end: int, prefix: str) -> np.ndarray:
    """Convert a response to ``CANDLE_DTYPE``, keep ``[since, end)``, sort, drop duplicate timestamps.

    A ``CANDLE_DTYPE`` array that is already sorted, unique and inside the window is returned as it is.
    """
    if isinstance(raw, np.ndarray) and raw.dtype == CANDLE_DTYPE and raw.ndim == 1:
        stamps_in = raw["timestamp"]
        if len(raw) == 0 or (
            stamps_in[0] >= since and stamps_in[-1] < end and (len(raw) == 1 or bool((np.diff(stamps_in) > 0).all()))
        ):
            return raw
    matrix = _as_matrix(raw, exchange_name)
    stamps = matrix[:, 0]
    finite = np.isfinite(stamps)
    if not finite.all():
        index = int(np.argmin(finite))
        raise CandleAnomalyError(
            f"{prefix}candle[{index}] at {stamps[index]} has invalid numeric values (NaN or Infinity)"
        )
    keep = (stamps >= since) & (stamps < end)
    if not keep.all():
        matrix = matrix[keep]
    candles = np.empty(len(matrix), dtype=CANDLE_DTYPE)
    candles["timestamp"] = matrix[:, 0].astype(np.int64)
    for column, name in enumerate(CANDLE_FIELDS[1:], start=1):
        candles[name] = matrix[:, column]
    stamps_int = candles["timestamp"]
    if len(candles) > 1 and not (np.diff(stamps_int) > 0).all():
        candles = candles[np.argsort(stamps_int, kind="stable")]
        unique = np.ones(len(candles), dtype=bool)
        unique[1:] = np.diff(candles["timestamp"]) != 0
        dropped = int(len(candles) - unique.sum())
        if dropped:
            logger.warning("%sdropped %d duplicate candle(s)", prefix, dropped)
            candles = candles[unique]
    return candles


def read_only_owner(candles: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Return the read-only candle array that owns ``candles`` and their offset in it, if there is one.

    Only an owner nobody can write to may be shared: the cache must never change under a run.
    """
    owner = candles
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if (
        owner.flags.writeable
        or owner.dtype != CANDLE_DTYPE
        or owner.ndim != 1
        or not owner.flags.c_contiguous
        or not candles.flags.c_contiguous
    ):
        return None
    distance = candles.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    offset, remainder = divmod(distance, CANDLE_DTYPE.itemsize)
    return (owner, offset) if remainder == 0 else None


class _OwnerPrices(NamedTuple):
    """What decides every page of a read-only candle array at once: whether all its candles are sound, its range."""

    sound: bool
    lowest: float
    highest: float


# By the id of a read-only candle array (a CSV file's), while it lives: worked out once, whatever pages are read.
_OWNER_PRICES: dict[int, _OwnerPrices] = {}


def _owner_prices(owner: np.ndarray) -> _OwnerPrices:
    key = id(owner)
    known = _OWNER_PRICES.get(key)
    if known is None:
        # Two reductions per column, on the columns in place (a year of candles is half a million): a NaN makes a
        # column's minimum and maximum NaN, which fails both comparisons, as an infinity or a non-positive price fails
        # one of them.
        lows = [float(owner[name].min()) for name in ("open", "high", "low", "close")] if len(owner) else []
        highs = [float(owner[name].max()) for name in ("open", "high", "low", "close")] if len(owner) else []
        volume = owner["volume"]
        sound = (
            len(owner) > 0
            and all(low > 0 for low in lows)
            and all(high < math.inf for high in highs)
            and float(volume.min()) >= 0
            and float(volume.max()) < math.inf
        )
        known = _OWNER_PRICES[key] = (
            _OwnerPrices(True, min(lows), max(highs)) if sound else _OwnerPrices(False, 0.0, 0.0)
        )
        weakref.finalize(owner, _OWNER_PRICES.pop, key, None)
    return known


def check_page(candles: np.ndarray, prefix: str, factor: float, min_for_median: int) -> None:
    """`check_anomalies` on one page an exchange returned, deciding the pages of a read-only array once.

    A page of a read-only array (a CSV file's candles) passes without a look when every candle of the whole array is
    sound and its lowest price stays above its highest over ``factor``: no page's reference (a median or mean of its
    prices, at most the highest) can then put a price below the threshold. The array's figures are worked out the
    first time one of its pages is read and kept while it lives, so a run, and every later run on the same file,
    checks it once. Any other page is checked as it comes, with the same error for the same candle.
    """
    shared = read_only_owner(candles)
    if shared is not None and len(candles) and pages_pass(shared[0], factor):
        return
    check_anomalies(candles, prefix, factor, min_for_median)


def pages_pass(owner: np.ndarray, factor: float) -> bool:
    """Tell whether every page of the read-only candle array ``owner`` passes `check_anomalies` with ``factor``.

    True when every candle of the array is sound and its lowest price stays above its highest over ``factor`` (see
    `check_page`); worked out once per array while it lives.
    """
    prices = _owner_prices(owner)
    return prices.sound and prices.lowest >= prices.highest / factor * _REFERENCE_MARGIN


def check_anomalies(candles: np.ndarray, prefix: str, factor: float, min_for_median: int) -> None:
    """Raise ``CandleAnomalyError`` for the first failing check of SPEC §4.4, in candle order."""
    if len(candles) == 0:
        return
    ohlc = np.column_stack([candles[name] for name in ("open", "high", "low", "close")])
    prices = ohlc.reshape(-1)  # candle by candle, o h l c: the order of the sequential mean
    positive = prices[prices > 0]
    if len(positive) == 0:
        raise CandleAnomalyError(f"{prefix}cannot calculate reference price (all prices are zero)")
    if len(candles) >= min_for_median:
        reference = float(np.partition(positive, len(positive) // 2)[len(positive) // 2])
    else:
        total = 0.0
        for price in positive.tolist():
            total = total + price
        reference = total / len(positive)
    if reference == 0:
        raise CandleAnomalyError(f"{prefix}cannot calculate reference price (all prices are zero)")
    threshold = reference / factor
    volume = candles["volume"]
    invalid = ~(np.isfinite(ohlc).all(axis=1) & np.isfinite(volume))
    non_positive = (ohlc <= 0).any(axis=1) | (volume < 0)
    low = (ohlc < threshold).any(axis=1)
    bad = invalid | non_positive | low
    if not bad.any():
        return
    index = int(np.argmax(bad))
    where = f"candle[{index}] at {iso(int(candles['timestamp'][index]))}"
    if invalid[index]:
        raise CandleAnomalyError(f"{prefix}{where} has invalid numeric values (NaN or Infinity)")
    if non_positive[index]:
        raise CandleAnomalyError(f"{prefix}{where} has zero or negative values")
    o, h, lo, c = (float(x) for x in ohlc[index])
    raise CandleAnomalyError(
        f"{prefix}{where} has anomalously low price. OHLC: [{o}, {h}, {lo}, {c}], "
        f"reference: {reference}, threshold: {threshold}"
    )


def vwap_series(candles: np.ndarray, count: int) -> np.ndarray:
    """Return the VWAP of every full window of ``count`` candles, ending at index ``count - 1`` onwards.

    Sums run left to right one column at a time, so every value is bit-identical to the sequential loop of
    SPEC §4.6; a window without volume falls back to the mean of its closes.
    """
    windows = len(candles) - count + 1
    if windows <= 0:
        return np.empty(0)
    with np.errstate(over="ignore", invalid="ignore"):
        # Prices near the float limit overflow to inf exactly as the sequential Python loop would, silently.
        return _vwap_windows(candles, count, windows)


def _vwap_windows(candles: np.ndarray, count: int, windows: int) -> np.ndarray:
    high, low, close, volume = candles["high"], candles["low"], candles["close"], candles["volume"]
    typical_volume = ((high + low + close) / 3) * volume
    weighted = typical_volume[0:windows].copy()
    volumes = volume[0:windows].copy()
    for offset in range(1, count):
        weighted += typical_volume[offset : offset + windows]
        volumes += volume[offset : offset + windows]
    no_volume = volumes == 0
    out: np.ndarray = np.divide(weighted, volumes, out=np.zeros(windows), where=~no_volume)
    if no_volume.any():
        closes = close[0:windows].copy()
        for offset in range(1, count):
            closes += close[offset : offset + windows]
        out[no_volume] = (closes / count)[no_volume]
    return out
