"""The demo exchange: deterministic, window-independent, coherent synthetic candles since 2020-01-01."""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from workstation.exchanges import make_demo_exchange
from workstation.exchanges.demo import DEMO_START_MS, DemoCandles
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import DAY_MS, MINUTE_MS, from_ms, now_ms

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "FOO/USDT")

GetCandles = Callable[[str, str, datetime, int], Awaitable[np.ndarray]]


def fetch_chunks(candles: GetCandles, symbol: str, interval: str, requests: list[tuple[datetime, int]]) -> np.ndarray:
    """Await the requests one after another in one event loop and concatenate the answers.

    The answers leave through a list, not as the task's result: on exit, Python 3.11's ``asyncio.run`` formats the
    main task's repr, and numpy prints an array of up to 1000 rows in full (tens of milliseconds per call).
    """
    answers: list[np.ndarray] = []

    async def run() -> None:
        for since, limit in requests:
            answers.append(await candles(symbol, interval, since, limit))

    asyncio.run(run())
    return np.concatenate(answers)


def fetch(candles: GetCandles, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
    return fetch_chunks(candles, symbol, interval, [(since, limit)])


def fetch_minutes(candles: GetCandles, symbol: str, since: datetime, count: int) -> np.ndarray:
    """Fetch ``count`` 1m candles in requests of at most 1000, as the engine does."""
    requests = [(since + timedelta(minutes=offset), min(1000, count - offset)) for offset in range(0, count, 1000)]
    return fetch_chunks(candles, symbol, "1m", requests)


def test_the_schema_serves_a_demo_candles_object() -> None:
    default, paper = make_demo_exchange(), make_demo_exchange("paper", seed=7)

    assert (default.exchange_name, paper.exchange_name) == ("demo", "paper")
    assert isinstance(default.get_candles, DemoCandles)
    assert (repr(default.get_candles), repr(paper.get_candles)) == ("DemoCandles(seed=0)", "DemoCandles(seed=7)")


def test_the_same_seed_gives_the_same_candles_and_another_seed_others() -> None:
    first = fetch(DemoCandles(seed=1), "BTCUSDT", "1m", T0 + timedelta(days=40), 1000)
    again = fetch(DemoCandles(seed=1), "BTCUSDT", "1m", T0 + timedelta(days=40), 1000)
    other = fetch(DemoCandles(seed=2), "BTCUSDT", "1m", T0 + timedelta(days=40), 1000)

    assert first.dtype == CANDLE_DTYPE
    assert len(first) == 1000
    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first["close"], other["close"])


def test_a_window_equals_the_same_rows_of_a_larger_window_across_a_day_boundary() -> None:
    since = datetime(2023, 6, 10, 22, 0, tzinfo=UTC)
    alone = fetch(DemoCandles(), "ETHUSDT", "1m", since + timedelta(minutes=100), 300)  # 23:40 → 04:40 next day

    larger_source = DemoCandles()
    larger = fetch_minutes(larger_source, "ETHUSDT", since, 3 * 1440)  # three days, more than the day cache holds
    refetched = fetch(larger_source, "ETHUSDT", "1m", since + timedelta(minutes=100), 300)

    assert alone.tobytes() == larger[100:400].tobytes()
    assert refetched.tobytes() == alone.tobytes()


def test_the_hourly_window_does_not_depend_on_where_it_starts() -> None:
    wide = fetch(DemoCandles(), "SOLUSDT", "1h", datetime(2022, 3, 1, tzinfo=UTC), 200)
    narrow = fetch(DemoCandles(), "SOLUSDT", "1h", datetime(2022, 3, 5, 7, tzinfo=UTC), 10)

    assert narrow.tobytes() == wide[4 * 24 + 7 : 4 * 24 + 17].tobytes()


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_candles_are_coherent_positive_and_contiguous(symbol: str) -> None:
    candles = fetch_minutes(DemoCandles(), symbol, datetime(2021, 5, 18, 12, tzinfo=UTC), 3 * 1440)

    assert np.all(np.diff(candles["timestamp"]) == MINUTE_MS)
    assert np.all(candles["open"][1:] == candles["close"][:-1])  # also across the two day boundaries
    assert np.all(candles["high"] >= np.maximum(candles["open"], candles["close"]))
    assert np.all(candles["low"] <= np.minimum(candles["open"], candles["close"]))
    assert np.all(candles["low"] > 0)
    assert np.all(candles["volume"] > 0)
    for start in range(0, len(candles), 1000):
        chunk = candles[start : start + 1000]
        prices = np.sort(np.concatenate([chunk[name] for name in ("open", "high", "low", "close")]))
        assert prices[0] >= prices[len(prices) // 2] / 1000  # the engine's anomaly check (SPEC §4.4)


def test_prices_are_rounded_to_the_tick() -> None:
    candles = fetch(DemoCandles(), "BTCUSDT", "1m", T0, 1000)

    for name in ("open", "high", "low", "close"):
        assert candles[name].tolist() == [round(price, 2) for price in candles[name].tolist()]


@pytest.mark.parametrize(("symbol", "price"), [("BTCUSDT", 42_000.0), ("ETHUSDT", 2_300.0), ("SOLUSDT", 100.0)])
def test_known_markets_open_2024_at_their_anchor_price(symbol: str, price: float) -> None:
    first = fetch(DemoCandles(), symbol, "1m", T0, 1)

    assert first["open"].tolist() == [price]


def test_a_symbol_spelling_does_not_change_the_market() -> None:
    plain = fetch(DemoCandles(), "BTCUSDT", "1m", T0, 100)
    ccxt_style = fetch(DemoCandles(), "btc/usdt", "1m", T0, 100)
    other = fetch(DemoCandles(), "ETHUSDT", "1m", T0, 100)

    assert plain.tobytes() == ccxt_style.tobytes()
    assert not np.array_equal(plain["close"], other["close"])


def test_unknown_symbols_do_not_depend_on_the_python_hash_seed() -> None:
    probe = (
        "import asyncio; from datetime import datetime, UTC; from workstation.exchanges.demo import DemoCandles; "
        "c = asyncio.run(DemoCandles(3)('FOOBARUSDT', '1m', datetime(2024, 1, 1, tzinfo=UTC), 5)); "
        "print(c.tobytes().hex())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    }
    here = fetch(DemoCandles(3), "FOOBARUSDT", "1m", T0, 5).tobytes().hex() + "\n"

    assert outputs == {here}


def test_candles_start_on_2020_01_01() -> None:
    source = DemoCandles()
    straddling = fetch(source, "BTCUSDT", "1m", datetime(2019, 12, 31, 23, 55, tzinfo=UTC), 10)
    before = fetch(source, "BTCUSDT", "1m", datetime(2019, 12, 1, tzinfo=UTC), 1000)
    first_day = fetch(source, "BTCUSDT", "1d", datetime(2019, 12, 30, tzinfo=UTC), 3)

    assert straddling["timestamp"].tolist() == [DEMO_START_MS + k * MINUTE_MS for k in range(5)]
    assert len(before) == 0
    assert before.dtype == CANDLE_DTYPE
    assert first_day["timestamp"].tolist() == [DEMO_START_MS]


@pytest.mark.parametrize("interval", ["1m", "15m", "1h"])
def test_no_candle_closes_after_now(interval: str) -> None:
    step_ms = {"1m": MINUTE_MS, "15m": 15 * MINUTE_MS, "1h": 60 * MINUTE_MS}[interval]
    since_ms = (now_ms() - 100 * step_ms) // step_ms * step_ms

    candles = fetch(DemoCandles(), "BTCUSDT", interval, from_ms(since_ms), 1000)

    assert 99 <= len(candles) <= 100
    assert int(candles["timestamp"][0]) == since_ms
    assert int(candles["timestamp"][-1]) + step_ms <= now_ms()


@pytest.mark.parametrize(("interval", "minutes"), [("5m", 5), ("1h", 60), ("1d", 1440)])
def test_higher_intervals_aggregate_the_1m_candles(interval: str, minutes: int) -> None:
    since = datetime(2022, 11, 7, tzinfo=UTC)
    source = DemoCandles(seed=5)
    aggregated = fetch(source, "ETHUSDT", interval, since, 3)
    one_minute = fetch_minutes(source, "ETHUSDT", since, 3 * minutes)

    expected = []
    for bucket in range(3):
        part = one_minute[bucket * minutes : (bucket + 1) * minutes].tolist()
        volume = 0.0
        for row in part:
            volume = volume + row[5]
        expected.append(
            (part[0][0], part[0][1], max(row[2] for row in part), min(row[3] for row in part), part[-1][4], volume)
        )
    assert [tuple(row) for row in aggregated.tolist()] == expected


def test_volume_rises_with_volatility() -> None:
    candles = fetch_minutes(DemoCandles(), "BTCUSDT", datetime(2024, 2, 1, tzinfo=UTC), 10 * 1440)
    ranges = (candles["high"] - candles["low"]) / candles["close"]
    calm, wild = np.quantile(ranges, [0.1, 0.9])

    assert candles["volume"][ranges >= wild].mean() > 3 * candles["volume"][ranges <= calm].mean()


def test_volatility_clusters() -> None:
    candles = fetch_minutes(DemoCandles(), "BTCUSDT", datetime(2024, 2, 1, tzinfo=UTC), 10 * 1440)
    size = np.abs(np.diff(np.log(candles["close"])))
    size -= size.mean()

    lag_10_autocorrelation = float((size[:-10] * size[10:]).mean() / size.var())
    assert lag_10_autocorrelation > 0.1


def test_a_year_in_one_request_equals_the_chunked_requests() -> None:
    since = datetime(2023, 1, 1, tzinfo=UTC)
    year = fetch(DemoCandles(), "BTCUSDT", "1m", since, 365 * 1440)
    days = fetch_minutes(DemoCandles(), "BTCUSDT", since + timedelta(days=200), 2 * 1440)

    assert len(year) == 365 * 1440
    assert days.tobytes() == year[200 * 1440 : 202 * 1440].tobytes()
    assert int(year["timestamp"][-1]) == int(since.timestamp() * 1000) + 365 * DAY_MS - MINUTE_MS


def test_get_candles_pickles_by_reference() -> None:
    schema = make_demo_exchange("demo", seed=9)
    loaded = fetch(schema.get_candles, "BTCUSDT", "1h", T0, 24)

    payload = pickle.dumps(schema.get_candles)
    clone = pickle.loads(payload)
    schema_clone = pickle.loads(pickle.dumps(schema))

    assert len(payload) < 500  # the seed, not the cached days
    assert isinstance(clone, DemoCandles)
    assert clone.seed == 9
    assert fetch(clone, "BTCUSDT", "1h", T0, 24).tobytes() == loaded.tobytes()
    assert fetch(schema_clone.get_candles, "BTCUSDT", "1h", T0, 24).tobytes() == loaded.tobytes()


def test_an_unknown_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown candle interval '2m'"):
        fetch(DemoCandles(), "BTCUSDT", "2m", T0, 5)
