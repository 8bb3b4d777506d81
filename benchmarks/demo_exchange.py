"""Time one year of 1m BTCUSDT candles from the demo exchange: in requests of 1000 (as the engine asks) and at once.

Run ``python -m benchmarks.demo_exchange``. Every measurement starts from a new exchange (cold caches) and the best of
three is kept. The last line holds the figures as ``name=value`` pairs.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta

import numpy as np

from workstation.exchanges import make_demo_exchange

SYMBOL = "BTCUSDT"
SINCE = datetime(2023, 1, 1, tzinfo=UTC)
YEAR_MINUTES = 365 * 1440
CHUNK = 1000
REPEATS = 3


async def fetch_in_chunks() -> int:
    get_candles = make_demo_exchange().get_candles
    count = 0
    for offset in range(0, YEAR_MINUTES, CHUNK):
        candles = await get_candles(SYMBOL, "1m", SINCE + timedelta(minutes=offset), min(CHUNK, YEAR_MINUTES - offset))
        count += len(candles)
    return count


async def fetch_at_once() -> int:
    candles: np.ndarray = await make_demo_exchange().get_candles(SYMBOL, "1m", SINCE, YEAR_MINUTES)
    return len(candles)


def best_seconds(fetch: Callable[[], Coroutine[None, None, int]]) -> float:
    """Run ``fetch`` (a coroutine function returning the candle count) REPEATS times; return the fastest run."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        count = asyncio.run(fetch())
        best = min(best, time.perf_counter() - started)
        assert count == YEAR_MINUTES, count
    return best


def main() -> None:
    chunked_seconds = best_seconds(fetch_in_chunks)
    year_seconds = best_seconds(fetch_at_once)
    tracemalloc.start()
    asyncio.run(fetch_at_once())
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    candles_per_s = YEAR_MINUTES / chunked_seconds
    print(f"{SYMBOL} 1m, {YEAR_MINUTES:,} candles from {SINCE:%Y-%m-%d}, best of {REPEATS}, cold caches")
    print(f"  in requests of {CHUNK}: {chunked_seconds:.3f} s ({candles_per_s:,.0f} candles/s)")
    print(f"  in one request:        {year_seconds:.3f} s (peak {peak_bytes / 2**20:.1f} MiB traced)")
    print(
        f"candles_per_s={candles_per_s:.0f} chunked_seconds={chunked_seconds:.3f} "
        f"year_seconds={year_seconds:.3f} peak_mb={peak_bytes / 2**20:.1f}"
    )


if __name__ == "__main__":
    main()
