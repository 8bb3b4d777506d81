"""``ClientExchange``: candles for helpers, VWAP prices and forward scans (SPEC §4)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workstation.clients.calls import ErrorSink, call_callback, call_maybe_async, end_run, is_async_callable
from workstation.clients.candle_cache import CandleCache, CandleSegment
from workstation.clients.candle_data import check_page, normalise_candles, pages_pass
from workstation.config import Config
from workstation.errors import CandleAnomalyError, CandleWindowError
from workstation.exchanges.held import HeldCandles
from workstation.models.candles import CANDLE_DTYPE
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, from_ms, iso

logger = logging.getLogger("workstation.exchange")

#: Give the event loop a turn at least this often while reading many chunks (seconds of work).
_LOOP_TURN_SECONDS = 0.02


class ClientExchange:
    """Fetch, check and cache candles of one exchange in one mode.

    Every window is served from an in-memory cache of contiguous ranges; a miss asks the user ``get_candles``
    in chunks of at most ``max_candles_per_request`` (reading ahead in backtest), retrying each request.
    No candle whose close time is after ``now_ms()`` is ever requested or cached (the future guard).
    """

    def __init__(
        self,
        schema: ExchangeSchema,
        *,
        backtest: bool,
        now_ms: Callable[[], int],
        on_callback_error: ErrorSink,
    ) -> None:
        self.schema = schema
        self.exchange_name = schema.exchange_name
        self.backtest = backtest
        self.now_ms = now_ms
        self._on_callback_error = on_callback_error
        self._fetch_async = is_async_callable(schema.get_candles)
        self._caches: dict[tuple[str, str], CandleCache] = {}
        self._hot: dict[tuple[str, str], CandleSegment] = {}
        #: The last VWAP `cached_average_price` answered: (tick, candle count, symbol, price).
        self._last_price: tuple[int, int, str, float] = (-1, 0, "", 0.0)

    async def wait_for_init(self) -> None:
        """Nothing to load: exchanges are stateless until the first request."""

    async def get_candles(self, symbol: str, interval: str, limit: int, when: int, config: Config) -> np.ndarray:
        """Return the ``limit`` closed candles before ``when`` (SPEC §3.3), oldest first.

        The array is a view of the cache, read-only as the cache's buffers are (numpy refuses to make a view of a
        read-only array writeable): cached candles never change, and nobody can change them.
        """
        window = self.cached_candles(symbol, interval, limit, when)
        if window is not None:
            return window
        step = CANDLE_INTERVAL_MINUTES[interval] * MINUTE_MS
        since = when // step * step - limit * step
        segment = await self._ensure(symbol, interval, since, since + limit * step, strict=True, config=config)
        assert segment is not None
        return segment.window((since - segment.start) // step, limit)

    def cached_candles(self, symbol: str, interval: str, limit: int, when: int) -> np.ndarray | None:
        """Return `get_candles`' window if it is in the segment last read, else None (without a coroutine)."""
        step = CANDLE_INTERVAL_MINUTES[interval] * MINUTE_MS
        aligned = when // step * step
        since = aligned - limit * step
        # `_cached`, inline: a strategy asks at every call.
        segment = self._hot.get((symbol, interval))
        if segment is None or segment.start > since or segment.start + segment.length * step < aligned:
            return None
        return segment.window((since - segment.start) // step, limit)

    async def get_average_price(self, symbol: str, when: int, config: Config) -> float:
        """Return the VWAP of the ``avg_price_candles_count`` closed 1m candles before ``when``."""
        price = self.cached_average_price(symbol, when, config)
        if price is not None:
            return price
        count = config.avg_price_candles_count
        aligned = when // MINUTE_MS * MINUTE_MS
        segment = await self._ensure(symbol, "1m", aligned - count * MINUTE_MS, aligned, strict=True, config=config)
        assert segment is not None
        return segment.vwap_at(count, (aligned - MINUTE_MS - segment.start) // MINUTE_MS)

    def cached_average_price(self, symbol: str, when: int, config: Config) -> float | None:
        """Return `get_average_price` at ``when`` if its candles are in the segment last read, else None.

        Without a coroutine: the engine asks on every flat tick of a backtest, and most are answered here.
        """
        count = config.avg_price_candles_count
        last = self._last_price
        # The engine asks at a strategy call, then the strategy at the same tick: a cached VWAP never changes.
        if last[0] == when and last[1] == count and last[2] == symbol:
            return last[3]
        aligned = when // MINUTE_MS * MINUTE_MS
        # `_cached(symbol, "1m", aligned - count * MINUTE_MS, aligned)` and `segment.vwap_at`, inline.
        segment = self._hot.get((symbol, "1m"))
        if segment is None:
            return None
        start = segment.start
        if start > aligned - count * MINUTE_MS or start + segment.length * MINUTE_MS < aligned:
            return None
        index = (aligned - MINUTE_MS - start) // MINUTE_MS
        series = segment.vwaps.get(count)
        price = (
            float(segment.vwap(count, index + 1)[index])
            if series is None or series[1] <= index
            else float(series[0][index])
        )
        self._last_price = (when, count, symbol, price)
        return price

    def cached_average_prices(
        self, symbol: str, first: int, step: int, count: int, config: Config
    ) -> list[float] | None:
        """Return `get_average_price` at ``count`` times ``step`` ms apart from ``first``; None unless all are cached.

        ``step`` is whole minutes (a frame's). A backtest's flat minutes between two ``get_signal`` calls take their
        prices at once from here.
        """
        if step % MINUTE_MS:
            return None
        window = config.avg_price_candles_count
        last = first + (count - 1) * step
        segment = self._cached(
            symbol, "1m", first // MINUTE_MS * MINUTE_MS - window * MINUTE_MS, last // MINUTE_MS * MINUTE_MS
        )
        if segment is None:
            return None
        # Ticks whole minutes apart stay that far apart once aligned: their VWAPs are a strided slice of the series.
        stride = step // MINUTE_MS
        start = (first // MINUTE_MS * MINUTE_MS - MINUTE_MS - segment.start) // MINUTE_MS
        end = start + (count - 1) * stride + 1
        prices: list[float] = segment.vwap(window, end)[start:end:stride].tolist()
        return prices

    async def get_recent_candles(self, symbol: str, limit: int, now: int, config: Config) -> np.ndarray:
        """Return up to ``limit`` closed 1m candles before ``now``, oldest first (a live chart's window).

        When the exchange lacks the full window (its data starts later), the contiguous run of candles this client
        already holds up to ``now`` is returned instead, possibly fewer or none.
        """
        # One attempt: a chart asking for more history than the exchange has must not wait through retries.
        quick = config.model_copy(update={"get_candles_retry_count": 1})
        try:
            return await self.get_candles(symbol, "1m", limit, now, quick)
        except (CandleWindowError, CandleAnomalyError):
            aligned = now // MINUTE_MS * MINUTE_MS
            cache = self._caches.get((symbol, "1m"))
            segment = cache.find(aligned - MINUTE_MS) if cache is not None else None
            if segment is None:
                return np.empty(0, dtype=CANDLE_DTYPE)
            last = segment.index(aligned)
            window = segment.candles[max(0, last - limit) : last]
            window.flags.writeable = False
            return window

    def has_prices(self, symbol: str, first_tick: int, last_tick: int, config: Config) -> bool:
        """Tell whether the VWAP of every minute from ``first_tick`` to ``last_tick`` is in the segment last read."""
        # `_cached`, inline: the engine asks once per strategy call.
        segment = self._hot.get((symbol, "1m"))
        return (
            segment is not None
            and segment.start <= first_tick // MINUTE_MS * MINUTE_MS - config.avg_price_candles_count * MINUTE_MS
            and segment.start + segment.length * MINUTE_MS >= last_tick // MINUTE_MS * MINUTE_MS
        )

    def prices_held_until(self, symbol: str, first_tick: int, config: Config) -> int:
        """Return the last tick whose VWAP is held in the segment last read with every minute's from ``first_tick``.

        `has_prices` from ``first_tick`` holds for every last tick up to it; -1 when none. Cached candles stay cached,
        so a backtest asks once and then only past the answer (once per ``get_signal`` call otherwise).
        """
        segment = self._hot.get((symbol, "1m"))
        since = first_tick // MINUTE_MS * MINUTE_MS - config.avg_price_candles_count * MINUTE_MS
        if segment is None or segment.start > since:
            return -1
        return segment.start + segment.length * MINUTE_MS + MINUTE_MS - 1

    async def ensure_prices(self, symbol: str, first_tick: int, last_tick: int, config: Config) -> bool:
        """Make sure the VWAP of every minute from ``first_tick`` to ``last_tick`` is cached; tell if it is."""
        if self.has_prices(symbol, first_tick, last_tick, config):
            return True
        count = config.avg_price_candles_count
        since = first_tick // MINUTE_MS * MINUTE_MS - count * MINUTE_MS
        until = last_tick // MINUTE_MS * MINUTE_MS
        try:
            segment = await self._ensure(symbol, "1m", since, until, strict=True, config=config)
        except Exception:
            return False
        return segment is not None and segment.end >= until

    async def get_forward_candles(
        self, symbol: str, since: int, until: int, config: Config
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the 1m candles from ``since`` to ``until`` (inclusive) and their VWAPs, as views.

        Backtest only. A contiguous prefix is accepted (end of data, future guard); a hole is an error.
        """
        if not self.backtest:
            raise RuntimeError("get_forward_candles is only available in backtest mode")
        end = until + MINUTE_MS
        # Nearly always in the segment last read (the run announced its frame): then nothing is awaited.
        segment = self._hot.get((symbol, "1m"))
        if segment is None or segment.start > since or segment.start + segment.length * MINUTE_MS < end:
            segment = await self._ensure(symbol, "1m", since, end, strict=False, config=config)
        if segment is None:
            return np.empty(0, dtype=CANDLE_DTYPE), np.empty(0)
        start, count = segment.start, config.avg_price_candles_count
        first = (since - start) // MINUTE_MS
        last = min(segment.length, (end - start) // MINUTE_MS)
        series = segment.vwaps.get(count)
        # The VWAP series, extended first when it does not reach ``last`` yet (`segment.vwap`).
        vwap = series[0] if series is not None and series[1] >= last else segment.vwap(count, last)
        return segment.candles[first:last], vwap[first:last]

    def expect(self, symbol: str, since: int, until: int) -> None:
        """Announce that the 1m candles of ``[since, until)`` will be read (a backtest's whole frame)."""
        cache = self._caches.get((symbol, "1m"))
        if cache is None:
            cache = self._caches[(symbol, "1m")] = CandleCache(MINUTE_MS)
        cache.expect(since, until)

    async def format_price(self, symbol: str, price: float) -> str:
        """Format a price with the schema's formatter."""
        return str(await call_maybe_async(self.schema.format_price, symbol, price))

    async def format_quantity(self, symbol: str, quantity: float) -> str:
        """Format a quantity with the schema's formatter."""
        return str(await call_maybe_async(self.schema.format_quantity, symbol, quantity))

    def clear(self) -> None:
        """Drop every cached candle."""
        self._caches.clear()
        self._hot.clear()
        self._last_price = (-1, 0, "", 0.0)

    def _cached(self, symbol: str, interval: str, since: int, until: int) -> CandleSegment | None:
        """Return the most recently used segment if it already holds ``[since, until)`` (the hot path)."""
        segment = self._hot.get((symbol, interval))
        # `segment.end` spelled out: this runs three times per strategy call of a backtest.
        if segment is not None and segment.start <= since and segment.start + segment.length * segment.step >= until:
            return segment
        return None

    async def _ensure(
        self, symbol: str, interval: str, since: int, until: int, *, strict: bool, config: Config
    ) -> CandleSegment | None:
        """Make the cache hold ``[since, until)``; strict windows must be complete, forward reads a prefix."""
        step = CANDLE_INTERVAL_MINUTES[interval] * MINUTE_MS
        cache = self._caches.get((symbol, interval))
        if cache is None:
            cache = self._caches[(symbol, interval)] = CandleCache(step)
        segment = cache.find(since)
        if segment is not None and segment.end >= until:
            self._hot[(symbol, interval)] = segment
            return segment
        fetch_from = segment.end if segment is not None else since
        guard_end = self.now_ms() // step * step
        read_ahead = config.max_candles_per_request if self.backtest else 0
        fetch_end = min(max(until, fetch_from + read_ahead * step), guard_end)
        prefix = f"{self.exchange_name} {symbol} {interval}: "
        if fetch_end <= fetch_from and strict:
            missing = max(fetch_from, since)
            expected = (until - missing) // step
            raise CandleWindowError(
                f"{prefix}expected {expected} candles from {iso(missing)}, got 0 (first missing: {iso(missing)})"
            )
        continuation = (
            self._file_continuation(cache, segment, fetch_end, guard_end, config) if fetch_end >= until else None
        )
        if continuation is not None:
            assert segment is not None
            cache.insert(continuation)
            self._hot[(symbol, interval)] = segment
            return segment
        chunk_since = fetch_from
        next_turn = time.perf_counter() + _LOOP_TURN_SECONDS
        while chunk_since < fetch_end:
            if time.perf_counter() >= next_turn:
                # A long read (a year is 526 requests) must not freeze the GUI sharing this loop.
                await asyncio.sleep(0)
                next_turn = time.perf_counter() + _LOOP_TURN_SECONDS
            limit = min(config.max_candles_per_request, (fetch_end - chunk_since) // step)
            needed = max(0, min(until, chunk_since + limit * step) - chunk_since) // step
            candles = await self._request(symbol, interval, step, chunk_since, limit, needed, strict, config)
            cache.insert(candles)
            if len(candles) < limit:
                break
            chunk_since += limit * step
        segment = cache.find(since)
        if segment is not None:
            self._hot[(symbol, interval)] = segment
        if strict and (segment is None or segment.end < until):
            held = segment.end if segment is not None else since
            raise CandleWindowError(
                f"{prefix}expected {(until - since) // step} candles from {iso(since)}, "
                f"got {(held - since) // step} (first missing: {iso(held)})"
            )
        return segment

    def _file_continuation(
        self, cache: CandleCache, segment: CandleSegment | None, fetch_end: int, guard_end: int, config: Config
    ) -> np.ndarray | None:
        """Return what follows ``segment`` in a CSV file's candles, up to the run's announced end, when it is known.

        The same holds for any source answering from one read-only array (`HeldCandles`: a sweep's shared candles).
        A backtest reading a CSV file (`CsvCandles`) on 1m holds the file's read-only candles once the first page
        arrived, and its cached segment is a view of them. When the file's pages pass the anomaly check whatever
        their bounds (`pages_pass`), no one watches the pages (``on_candle_data``) and the file holds every candle
        the pages up to ``fetch_end`` would bring, the rest of the run's frame is that slice of the file: the same
        candles the pages would bring one by one (a year is 526 requests of 1,000), read at once. Otherwise None:
        the pages are requested as always, so a gap or the file's end is reported exactly as before.
        """
        source = self.schema.get_candles
        if (
            segment is None
            or not self.backtest
            or segment.step != MINUTE_MS
            or not isinstance(source, HeldCandles)
            or self.schema.callbacks.on_candle_data is not None
        ):
            return None
        owner = source.loaded
        offset = None if owner is None else segment.offset_in(owner)
        if owner is None or offset is None or not pages_pass(owner, config.price_anomaly_threshold_factor):
            return None
        expected = cache.expected
        end = min(max(fetch_end, expected[1] if expected is not None else fetch_end), guard_end)
        first = offset + segment.length
        following = owner[first : first + max(0, (end - segment.end) // MINUTE_MS)]
        contiguous = _contiguous_prefix(following, segment.end, MINUTE_MS)
        if contiguous < (fetch_end - segment.end) // MINUTE_MS:
            return None
        continuation: np.ndarray = following[:contiguous]
        return continuation

    async def _request(
        self,
        symbol: str,
        interval: str,
        step: int,
        since: int,
        limit: int,
        needed: int,
        strict: bool,
        config: Config,
    ) -> np.ndarray:
        """One exchange request with retries: fetch, normalise, check; return its contiguous prefix."""
        prefix = f"{self.exchange_name} {symbol} {interval}: "
        since_dt = from_ms(since)
        attempts = config.get_candles_retry_count
        last_error: Exception | None = None
        for attempt in range(1, attempts + 1):
            try:
                if self._fetch_async:
                    raw: Any = await self.schema.get_candles(symbol, interval, since_dt, limit)
                else:
                    raw = await asyncio.to_thread(self.schema.get_candles, symbol, interval, since_dt, limit)
                candles = normalise_candles(raw, self.exchange_name, since, since + limit * step, prefix)
                check_page(candles, prefix, config.price_anomaly_threshold_factor, config.min_candles_for_median)
                contiguous = _contiguous_prefix(candles, since, step)
                if contiguous < needed and (strict or contiguous < len(candles)):
                    in_window = int(np.count_nonzero(candles["timestamp"] < since + needed * step))
                    raise CandleWindowError(
                        f"{prefix}expected {needed} candles from {iso(since)}, got {in_window} "
                        f"(first missing: {iso(since + contiguous * step)})"
                    )
            except Exception as exc:
                logger.warning(
                    "get_candles attempt %d/%d failed: exchange=%s symbol=%s interval=%s since=%s limit=%d: %s",
                    attempt,
                    attempts,
                    self.exchange_name,
                    symbol,
                    interval,
                    iso(since),
                    limit,
                    exc,
                )
                last_error = exc
                if attempt < attempts:
                    await asyncio.sleep(config.get_candles_retry_delay_ms / 1000)
                continue
            except BaseException as raised:
                end_run(raised, where="get_candles", owner=f'exchange "{self.exchange_name}"')
            await self._notify(symbol, interval, since_dt, limit, candles)
            return candles[:contiguous]
        assert last_error is not None
        raise last_error

    async def _notify(self, symbol: str, interval: str, since: Any, limit: int, candles: np.ndarray) -> None:
        callback = self.schema.callbacks.on_candle_data
        if callback is None:
            return
        await call_callback(
            callback,
            symbol,
            interval,
            since,
            limit,
            candles,
            where="on_candle_data",
            on_error=self._on_callback_error,
            owner=f'exchange "{self.exchange_name}"',
        )


def _contiguous_prefix(candles: np.ndarray, since: int, step: int) -> int:
    """Count the leading candles that sit exactly at ``since``, ``since + step``, and so on."""
    if len(candles) == 0:
        return 0
    expected = since + step * np.arange(len(candles), dtype=np.int64)
    matches = candles["timestamp"] == expected
    if matches.all():
        return len(candles)
    return int(np.argmin(matches))
