"""A synthetic, offline, deterministic exchange for any symbol: the workstation's demo data.

How the candles are made, and why any window can be produced without its past:

* a coarse **daily path** per market, laid out once for 2020-01-01 → 2100-01-01 (29,220 days, a few milliseconds):
  fat-tailed daily returns whose volatility switches between regimes lasting weeks to months, plus slow bull/bear
  cycles as the trend. It passes exactly through the market's anchor price on 2024-01-01 and is squashed with
  ``tanh`` into a band of ×10 around it, so prices stay positive and far from the engine's anomaly threshold;
* every **day** is then drawn alone from a Philox counter-based stream keyed by (seed, market) whose counter starts
  at the day index, so no earlier day is needed. Its 1440 log-returns follow an intraday volatility profile and
  random bursts, and are bridged from the day's open to its close (the next day's open), with the correction spread
  in proportion to the cumulative variance so the bursts keep their shape. Consecutive days therefore join exactly;
* prices are rounded to the market's tick (at least four significant digits at the anchor), high/low wicks extend
  past the body, and volume grows with the minute's volatility and with the size of its move.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import numpy as np

from workstation.exchanges.aggregate import CandleWindow, aggregate_candles, request_window
from workstation.models.candles import empty_candles
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import DAY_MS, MINUTE_MS, now_ms

#: Open time of the first demo candle: 2020-01-01T00:00:00Z.
DEMO_START_MS = 1_577_836_800_000
#: The daily path ends here (2100-01-01T00:00:00Z); no candle opens at or after it.
DEMO_END_MS = 4_102_444_800_000

_ANCHOR_DAY = (1_704_067_200_000 - DEMO_START_MS) // DAY_MS  # 2024-01-01, where the anchor prices hold
_DAYS = (DEMO_END_MS - DEMO_START_MS) // DAY_MS
_MINUTES = DAY_MS // MINUTE_MS
_PRICE_BAND_LOG = math.log(10.0)

#: Anchor price on 2024-01-01, daily volatility and quote volume per minute of the markets known by name.
_KNOWN_MARKETS: dict[str, tuple[float, float, float]] = {
    "BTCUSDT": (42_000.0, 0.03, 400_000.0),
    "ETHUSDT": (2_300.0, 0.04, 200_000.0),
    "SOLUSDT": (100.0, 0.06, 60_000.0),
}

# The Philox counter's highest word separates the daily path's stream from the per-day streams.
_DAY_STREAM = 0
_PATH_STREAM = 1

# A 1000-candle request spans at most two days; a few more keep several charts or symbols warm (69 KB per day).
_CACHED_DAYS = 16
_CACHED_MARKETS = 16
# Requests spanning more days than this are generated in a worker thread so the event loop stays responsive.
_INLINE_SPAN_MS = 4 * DAY_MS

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class _LruCache(Generic[_Key, _Value]):
    """A small thread-safe LRU cache of values that are never None.

    Values are created outside the lock: they are deterministic, so two threads racing for one key build equal
    values, and neither waits behind a long generation in the other.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[_Key, _Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _Key, create: Callable[[], _Value]) -> _Value:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = create()
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class _Market:
    """What a market looks like, independent of the seed."""

    anchor_price: float
    daily_volatility: float
    quote_volume: float
    decimals: int


@dataclass(frozen=True)
class _MarketPath:
    """The coarse path of one market under one seed: what every day's generation starts from."""

    market: _Market
    philox_key: np.ndarray
    day_open: np.ndarray  # _DAYS + 1 prices: the open of day d is the close of day d - 1
    day_volatility: np.ndarray


def market_key(symbol: str) -> str:
    """Return the market a symbol names: upper case, punctuation dropped (``"btc/usdt"`` → ``"BTCUSDT"``)."""
    return "".join(char for char in symbol.upper() if char.isalnum())


def _unit_floats(text: str, count: int) -> list[float]:
    """Return ``count`` numbers in [0, 1) derived from ``text`` (hashlib: stable across runs, unlike ``hash``)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [int.from_bytes(digest[8 * i : 8 * i + 8], "little") / 2**64 for i in range(count)]


def _describe_market(market: str) -> _Market:
    known = _KNOWN_MARKETS.get(market)
    if known is not None:
        anchor_price, daily_volatility, quote_volume = known
    else:
        price_u, volatility_u, volume_u = _unit_floats(f"workstation-demo-market:{market}", 3)
        anchor_price = float(f"{10 ** (-2 + 5 * price_u):.4g}")  # 0.01 … 1000
        daily_volatility = 0.03 + 0.04 * volatility_u
        quote_volume = 10 ** (3.7 + 1.3 * volume_u)  # 5k … 100k per minute
    decimals = max(2, 3 - math.floor(math.log10(anchor_price)))
    return _Market(anchor_price, daily_volatility, quote_volume, decimals)


def _generator(philox_key: np.ndarray, day: int, stream: int) -> np.random.Generator:
    # Each day owns 2**64 counter blocks, so the streams of two days never overlap.
    counter = np.array([0, day, 0, stream], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=philox_key, counter=counter))


def _build_path(seed: int, market: str) -> _MarketPath:
    described = _describe_market(market)
    digest = hashlib.sha256(f"workstation-demo:{seed}:{market}".encode()).digest()
    philox_key = np.frombuffer(digest[:16], dtype="<u8").astype(np.uint64)
    rng = _generator(philox_key, 0, _PATH_STREAM)
    regime_count = _DAYS // 15 + 1
    regime_days = rng.integers(15, 120, size=regime_count)
    regime_levels = np.clip(np.exp(0.5 * rng.standard_normal(regime_count)), 0.4, 3.0)
    shocks = rng.standard_t(5, size=_DAYS) * math.sqrt(3 / 5)  # unit variance, fat tails
    periods = rng.uniform(300.0, 1500.0, size=2)
    phases = rng.uniform(0.0, 2 * math.pi, size=2)
    amplitudes = rng.uniform(0.15, 0.5, size=2)

    regimes = np.repeat(regime_levels, regime_days)[:_DAYS]
    # A week-long moving average turns regime switches into ramps.
    smoothed = np.convolve(np.pad(regimes, 3, mode="edge"), np.full(7, 1 / 7), mode="valid")
    day_volatility = described.daily_volatility * smoothed
    days = np.arange(_DAYS + 1)
    cycles = (amplitudes[:, None] * np.sin(2 * math.pi * days / periods[:, None] + phases[:, None])).sum(axis=0)
    log_move = np.concatenate(([0.0], np.cumsum(day_volatility * shocks))) + cycles
    log_move -= log_move[_ANCHOR_DAY]
    bounded = _PRICE_BAND_LOG * np.tanh(log_move / _PRICE_BAND_LOG)
    day_open = np.round(described.anchor_price * np.exp(bounded), described.decimals)
    day_open.flags.writeable = False
    return _MarketPath(described, philox_key, day_open, day_volatility)


@functools.cache
def _intraday_profile() -> np.ndarray:
    """Relative volatility per minute of the UTC day (Asia, Europe and US opens), root mean square 1."""
    minute = np.arange(_MINUTES)

    def bump(center: float, width: float, height: float) -> np.ndarray:
        heights: np.ndarray = height * np.exp(-0.5 * ((minute - center) / width) ** 2)
        return heights

    shape = 0.8 + bump(60, 60, 0.3) + bump(480, 60, 0.25) + bump(870, 90, 0.6)
    profile: np.ndarray = shape / np.sqrt(np.mean(shape**2))
    profile.flags.writeable = False
    return profile


def _build_day(path: _MarketPath, day: int) -> np.ndarray:
    market = path.market
    rng = _generator(path.philox_key, day, _DAY_STREAM)
    move_z, high_z, low_z, volume_z = rng.standard_normal((4, _MINUTES))
    burst_count = min(int(rng.poisson(0.9)), 3)
    burst_starts = rng.integers(0, _MINUTES, size=3)
    burst_lengths = rng.integers(30, 240, size=3)
    burst_strengths = rng.uniform(2.0, 4.0, size=3)

    bursts = np.ones(_MINUTES)
    for start, length, strength in zip(
        burst_starts[:burst_count], burst_lengths[:burst_count], burst_strengths[:burst_count], strict=True
    ):
        segment = bursts[start : start + length]
        np.maximum(segment, strength, out=segment)
    typical_sigma = market.daily_volatility / math.sqrt(_MINUTES)
    sigma = path.day_volatility[day] / math.sqrt(_MINUTES) * _intraday_profile() * bursts

    day_open = float(path.day_open[day])
    day_close = float(path.day_open[day + 1])
    walk = np.cumsum(sigma * move_z)
    variance = np.cumsum(sigma * sigma)
    walk -= variance / variance[-1] * (walk[-1] - math.log(day_close / day_open))
    moves = np.diff(walk, prepend=0.0)

    decimals = market.decimals
    close = np.round(day_open * np.exp(walk), decimals)
    close[-1] = day_close  # exact join with the next day, whatever the rounding did
    open_ = np.concatenate(([day_open], close[:-1]))
    body_top = np.maximum(open_, close)
    body_bottom = np.minimum(open_, close)
    high = np.maximum(np.round(body_top * np.exp(0.6 * sigma * np.abs(high_z)), decimals), body_top)
    low = np.minimum(np.round(body_bottom * np.exp(-0.6 * sigma * np.abs(low_z)), decimals), body_bottom)
    quote_volume = (
        market.quote_volume * (sigma / typical_sigma) * (0.5 + np.abs(moves) / sigma) * np.exp(0.4 * volume_z)
    )

    candles = empty_candles(_MINUTES)
    candles["timestamp"] = DEMO_START_MS + day * DAY_MS + np.arange(_MINUTES, dtype=np.int64) * MINUTE_MS
    candles["open"] = open_
    candles["high"] = high
    candles["low"] = low
    candles["close"] = close
    candles["volume"] = np.maximum(np.round(quote_volume / close, 4), 0.0001)
    candles.flags.writeable = False
    return candles


class DemoCandles:
    """The ``get_candles`` of the demo exchange: synthetic candles for any symbol from 2020-01-01 on.

    A candle depends only on (seed, market, its day): whichever window asks for it, it comes out identical.
    Symbols are reduced with `market_key`, so ``"BTC/USDT"`` and ``"BTCUSDT"`` are the same market.
    Pickling keeps only the seed.

    Parameters
    ----------
    seed
        Any integer; each seed gives other paths for every market.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._paths: _LruCache[str, _MarketPath] = _LruCache(_CACHED_MARKETS)
        self._days: _LruCache[tuple[str, int], np.ndarray] = _LruCache(_CACHED_DAYS)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.seed,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        """Return the ``CANDLE_DTYPE`` candles with open times in ``[since, since + limit * interval)``.

        Parameters
        ----------
        symbol
            Any symbol.
        interval
            Candle interval; above ``1m`` complete epoch-aligned buckets are aggregated from the 1m candles.
        since
            Aware datetime of the first open time.
        limit
            Number of candles asked for.

        Returns
        -------
        numpy.ndarray
            Oldest first; nothing before 2020-01-01 and nothing that is not closed yet.
        """
        window = request_window(interval, since, limit, now_ms())
        if window.end_ms - window.start_ms > _INLINE_SPAN_MS:
            return await asyncio.to_thread(self.candles, symbol, window)
        return self.candles(symbol, window)

    def candles(self, symbol: str, window: CandleWindow) -> np.ndarray:
        """Return the candles of ``window`` synchronously (the work behind ``__call__``).

        Parameters
        ----------
        symbol
            Any symbol.
        window
            Which candles, from `workstation.exchanges.aggregate.request_window`.

        Returns
        -------
        numpy.ndarray
            A new ``CANDLE_DTYPE`` array, oldest first.
        """
        market = market_key(symbol)
        start_ms = max(window.start_ms, DEMO_START_MS)
        end_ms = min(window.end_ms, DEMO_END_MS)
        if end_ms <= start_ms:
            return empty_candles()
        if window.step_minutes > 1:
            # Every interval divides a day, so no bucket straddles midnight: aggregating day by day never
            # materialises the minutes of a long window (1000 daily candles are 1.44 million minutes).
            return np.concatenate(
                [aggregate_candles(minutes, window) for minutes in self._day_slices(market, start_ms, end_ms)]
            )
        # Filled day by day so that a long window holds at most the cached days besides its result.
        candles = empty_candles((end_ms - start_ms) // MINUTE_MS)
        filled = 0
        for minutes in self._day_slices(market, start_ms, end_ms):
            candles[filled : filled + len(minutes)] = minutes
            filled += len(minutes)
        return candles

    def _day_slices(self, market: str, start_ms: int, end_ms: int) -> Iterator[np.ndarray]:
        """Yield, day by day, read-only views of the 1m candles opening in ``[start_ms, end_ms)``."""
        for day in range((start_ms - DEMO_START_MS) // DAY_MS, (end_ms - DEMO_START_MS - 1) // DAY_MS + 1):
            day_start_ms = DEMO_START_MS + day * DAY_MS
            first = max(start_ms - day_start_ms, 0) // MINUTE_MS
            last = min(end_ms - day_start_ms, DAY_MS) // MINUTE_MS
            yield self._day(market, day)[first:last]

    def _day(self, market: str, day: int) -> np.ndarray:
        path = self._paths.get(market, lambda: _build_path(self.seed, market))
        return self._days.get((market, day), lambda: _build_day(path, day))


def make_demo_exchange(name: str = "demo", seed: int = 0) -> ExchangeSchema:
    """Create the offline demo exchange: synthetic, deterministic 1m candles for any symbol since 2020-01-01.

    ``BTCUSDT`` starts 2024 at 42,000, ``ETHUSDT`` at 2,300 and ``SOLUSDT`` at 100; any other symbol gets a level
    derived from a hash of its name.

    Parameters
    ----------
    name
        Name of the exchange schema.
    seed
        Selects the price paths; the same seed always gives the same candles.

    Returns
    -------
    ExchangeSchema
        Its ``get_candles`` is a `DemoCandles`, so the schema pickles by reference.
    """
    return ExchangeSchema(
        exchange_name=name,
        get_candles=DemoCandles(seed),
        note=f"synthetic demo candles since 2020-01-01 (seed {seed})",
    )
