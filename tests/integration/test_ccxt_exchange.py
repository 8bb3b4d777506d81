"""make_ccxt_exchange against a local fake binance: paging, the SQLite cache, retries, bad answers, precision."""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pytest
from exchange_server import EXCHANGE_INFO, FAKE_BINANCE_OPTIONS, KLINES, MINUTE, T0, FakeBinance, minute_candles

import workstation as ws
from workstation.exchanges import ccxt_exchange
from workstation.exchanges.candle_store import CandleStore, StoredSeries
from workstation.exchanges.ccxt_exchange import (
    CcxtCandles,
    ExchangeResponseError,
    close_ccxt_exchanges,
    make_ccxt_exchange,
)
from workstation.services.connections import exchange_connections
from workstation.timeutil import from_ms

SYMBOL = "BTC/USDT"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "candles.sqlite3"


def fake_exchange(server: FakeBinance, store_path: Path, name: str = "fake", **options: Any) -> ws.ExchangeSchema:
    return make_ccxt_exchange(
        name, "binance", store=CandleStore(store_path), api_url=server.url, **FAKE_BINANCE_OPTIONS, **options
    )


@asynccontextmanager
async def closing(schema: ws.ExchangeSchema) -> AsyncIterator[CcxtCandles]:
    candles = schema.get_candles
    assert isinstance(candles, CcxtCandles)
    try:
        yield candles
    finally:
        await candles.aclose()
        candles.store.close()


def klines_starts(server: FakeBinance) -> list[tuple[int, int]]:
    return [(int(query["startTime"]), int(query["limit"])) for query in server.klines_requests()]


def test_a_long_window_is_fetched_in_pages_of_the_exchange_limit(server: FakeBinance, store_path: Path) -> None:
    async def scenario() -> np.ndarray:
        async with closing(fake_exchange(server, store_path)) as get_candles:
            return await get_candles(SYMBOL, "1m", from_ms(T0), 2500)

    candles = asyncio.run(scenario())

    # After the first page each page starts at the newest candle it has, to prove the window is not shifted.
    assert klines_starts(server) == [(T0, 1000), (T0 + 999 * MINUTE, 1000), (T0 + 1998 * MINUTE, 502)]
    assert server.count(EXCHANGE_INFO) == 1
    np.testing.assert_array_equal(candles, server.candles)
    assert candles["close"][:3].tolist() == [42000.25, 42000.75, 42001.25]


def test_page_limit_option_overrides_the_exchange_limit(server: FakeBinance, store_path: Path) -> None:
    async def scenario() -> np.ndarray:
        async with closing(fake_exchange(server, store_path, page_limit=400)) as get_candles:
            return await get_candles(SYMBOL, "1m", from_ms(T0 + 100 * MINUTE), 1000)

    candles = asyncio.run(scenario())

    assert klines_starts(server) == [
        (T0 + 100 * MINUTE, 400),
        (T0 + 499 * MINUTE, 400),
        (T0 + 898 * MINUTE, 202),
    ]
    assert len(candles) == 1000


def test_the_second_fetch_of_a_period_makes_no_network_call(server: FakeBinance, store_path: Path) -> None:
    start, end = from_ms(T0 + 5 * MINUTE), from_ms(T0 + 104 * MINUTE)

    async def first_run() -> np.ndarray:
        async with closing(ws.add_exchange(fake_exchange(server, store_path))):
            return await ws.fetch_candles("fake", SYMBOL, start, end)

    first = asyncio.run(first_run())
    # The engine reads ahead a full request past the period (SPEC §4.2): one klines request of 1000 candles.
    assert klines_starts(server) == [(T0 + 5 * MINUTE, 1000)]
    assert server.count(EXCHANGE_INFO) == 1

    ws.reset()  # a new process, as far as the engine's in-memory cache knows

    async def second_run() -> np.ndarray:
        async with closing(ws.add_exchange(fake_exchange(server, store_path))):
            return await ws.fetch_candles("fake", SYMBOL, start, end)

    second = asyncio.run(second_run())
    assert len(server.requests) == 2
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(second, server.candles[5:105])


def test_429_then_500_are_retried_by_the_engine(
    server: FakeBinance, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    server.fail_next_klines([429, 500])

    async def scenario() -> np.ndarray:
        async with closing(ws.add_exchange(fake_exchange(server, store_path))):
            return await ws.fetch_candles("fake", SYMBOL, from_ms(T0), from_ms(T0 + 9 * MINUTE))

    with caplog.at_level(logging.WARNING, logger="workstation.exchange"):
        candles = asyncio.run(scenario())

    np.testing.assert_array_equal(candles, server.candles[:10])
    assert klines_starts(server) == [(T0, 1000)] * 3
    prefix = "get_candles attempt {}/3 failed: exchange=fake symbol=BTC/USDT interval=1m "
    prefix += "since=2024-01-01T00:00:00.000Z limit=1000: "
    url = f"{server.url}/api/v3/klines?interval=1m&limit=1000&symbol=BTCUSDT&startTime={T0}"
    assert [record.getMessage() for record in caplog.records if record.name == "workstation.exchange"] == [
        prefix.format(1) + 'binance 429 Too Many Requests {"code": -1003, "msg": "Too many requests."}',
        prefix.format(2) + f"binance GET {url} 500 Internal Server Error Internal Server Error",
    ]


def test_a_response_that_is_not_json_is_a_clear_error_and_not_a_gap(server: FakeBinance, store_path: Path) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    server.fail_next_klines(["garbage"] * 3)

    async def scenario() -> None:
        async with closing(ws.add_exchange(fake_exchange(server, store_path))):
            await ws.fetch_candles("fake", SYMBOL, from_ms(T0), from_ms(T0 + 9 * MINUTE))

    with pytest.raises(ExchangeResponseError) as raised:
        asyncio.run(scenario())

    assert str(raised.value) == (
        "fake BTC/USDT 1m: the response was not valid JSON (fetch_ohlcv since 2024-01-01T00:00:00.000Z, limit 1000);"
        " it starts with '<<not json at all>>'"
    )
    assert server.count(KLINES) == 3
    store = CandleStore(store_path)
    assert store.missing("fake", SYMBOL, "1m", T0, T0 + 1000 * MINUTE) == [(T0, T0 + 1000 * MINUTE)]
    assert store.series() == []
    store.close()


def test_a_markets_response_that_is_not_json_is_a_clear_error_and_retried(
    server: FakeBinance, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    server.fail_next(EXCHANGE_INFO, ["garbage"])

    async def scenario() -> np.ndarray:
        async with closing(ws.add_exchange(fake_exchange(server, store_path))):
            return await ws.fetch_candles("fake", SYMBOL, from_ms(T0), from_ms(T0 + 4 * MINUTE))

    with caplog.at_level(logging.WARNING, logger="workstation.exchange"):
        candles = asyncio.run(scenario())

    np.testing.assert_array_equal(candles, server.candles[:5])
    assert server.count(EXCHANGE_INFO) == 2
    assert [record.getMessage() for record in caplog.records] == [
        "get_candles attempt 1/3 failed: exchange=fake symbol=BTC/USDT interval=1m since=2024-01-01T00:00:00.000Z "
        "limit=1000: binance: the markets response was not valid JSON; it starts with '<<not json at all>>'"
    ]


def test_a_hole_in_the_exchange_data_is_recorded_as_a_gap_never_invented_and_the_end_stays_to_ask(
    store_path: Path,
) -> None:
    with FakeBinance(minute_candles(30, without=range(10, 15))) as server:

        async def scenario() -> tuple[np.ndarray, np.ndarray]:
            async with closing(fake_exchange(server, store_path)) as get_candles:
                first = await get_candles(SYMBOL, "1m", from_ms(T0), 40)
                again = await get_candles(SYMBOL, "1m", from_ms(T0 + 5 * MINUTE), 20)
                return first, again

        first, again = asyncio.run(scenario())

    expected = [T0 + minute * MINUTE for minute in [*range(10), *range(15, 30)]]
    assert first["timestamp"].tolist() == expected
    assert again["timestamp"].tolist() == [T0 + minute * MINUTE for minute in [*range(5, 10), *range(15, 25)]]
    assert klines_starts(server) == [(T0, 40)]
    store = CandleStore(store_path)
    assert store.series() == [
        StoredSeries(
            exchange="fake",
            symbol=SYMBOL,
            interval="1m",
            first=T0,
            last=T0 + 29 * MINUTE,
            count=25,
            # Past its last candle the exchange published nothing: not proven a gap, asked again next time.
            gaps=[(T0 + 10 * MINUTE, T0 + 15 * MINUTE)],
            covered=[(T0, T0 + 30 * MINUTE)],
        )
    ]
    store.close()


def test_a_window_over_a_hole_fails_in_the_engine_instead_of_being_filled(store_path: Path) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    with FakeBinance(minute_candles(30, without=range(10, 15))) as server:

        async def scenario() -> None:
            async with closing(ws.add_exchange(fake_exchange(server, store_path))):
                await ws.fetch_candles("fake", SYMBOL, from_ms(T0), from_ms(T0 + 19 * MINUTE))

        with pytest.raises(ws.CandleWindowError, match=r"first missing: 2024-01-01T00:10:00.000Z"):
            asyncio.run(scenario())
        # Each retry reads the recorded gap from the store and asks only for what lies past the exchange's last
        # candle, which no answer has proven empty yet.
        assert klines_starts(server) == [(T0, 1000), (T0 + 29 * MINUTE, 971), (T0 + 29 * MINUTE, 971)]


def test_the_candle_still_forming_is_neither_stored_nor_covered(
    server: FakeBinance, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ccxt_exchange, "now_ms", lambda: T0 + 20 * MINUTE + 30_000)

    async def scenario() -> np.ndarray:
        async with closing(fake_exchange(server, store_path)) as get_candles:
            return await get_candles(SYMBOL, "1m", from_ms(T0 + 10 * MINUTE), 50)

    candles = asyncio.run(scenario())

    assert candles["timestamp"].tolist() == [T0 + minute * MINUTE for minute in range(10, 20)]
    assert klines_starts(server) == [(T0 + 10 * MINUTE, 10)]
    store = CandleStore(store_path)
    assert store.missing("fake", SYMBOL, "1m", T0, T0 + 60 * MINUTE) == [
        (T0, T0 + 10 * MINUTE),
        (T0 + 20 * MINUTE, T0 + 60 * MINUTE),
    ]
    store.close()


def test_a_closed_candle_not_yet_published_is_fetched_again_not_recorded_as_a_gap(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 00:20:30 the exchange has published candles up to 00:18 only: 00:19 must be asked for again later."""
    monkeypatch.setattr(ccxt_exchange, "now_ms", lambda: T0 + 20 * MINUTE + 30_000)

    async def read(server: FakeBinance) -> list[int]:
        async with closing(fake_exchange(server, store_path)) as get_candles:
            candles = await get_candles(SYMBOL, "1m", from_ms(T0 + 10 * MINUTE), 10)
        return [(int(stamp) - T0) // MINUTE for stamp in candles["timestamp"]]

    with FakeBinance(minute_candles(19)) as late:
        assert asyncio.run(read(late)) == list(range(10, 19))
    store = CandleStore(store_path)
    assert store.missing("fake", SYMBOL, "1m", T0 + 10 * MINUTE, T0 + 20 * MINUTE) == [
        (T0 + 19 * MINUTE, T0 + 20 * MINUTE)
    ]
    assert store.series()[0].gaps == []
    store.close()
    with FakeBinance(minute_candles(20)) as published:
        assert asyncio.run(read(published)) == list(range(10, 20))
        assert klines_starts(published) == [(T0 + 18 * MINUTE, 2)]


def test_formatters_use_the_market_precision(server: FakeBinance, store_path: Path) -> None:
    schema = fake_exchange(server, store_path)

    async def scenario() -> list[str]:
        async with closing(ws.add_exchange(schema)):
            client = exchange_connections.client("fake", True)
            return [
                await client.format_price(SYMBOL, 42000.126),
                await client.format_price(SYMBOL, 0.5),
                await client.format_quantity(SYMBOL, 0.123456789),
                await client.format_quantity(SYMBOL, 2.0),
            ]

    # ccxt prints without padding: the tick size rounds, the step size cuts.
    assert asyncio.run(scenario()) == ["42000.13", "0.5", "0.12345", "2"]
    assert server.count(EXCHANGE_INFO) == 1
    assert server.count(KLINES) == 0


def test_the_schema_pickles_by_reference_and_the_copy_reads_the_store(server: FakeBinance, store_path: Path) -> None:
    schema = fake_exchange(server, store_path)

    async def fill() -> None:
        async with closing(schema) as get_candles:
            await get_candles(SYMBOL, "1m", from_ms(T0), 100)

    asyncio.run(fill())
    copy = pickle.loads(pickle.dumps(schema))
    assert type(copy.get_candles) is CcxtCandles
    assert repr(copy.get_candles) == "CcxtCandles('fake', 'binance')"
    assert copy.get_candles.store.path == store_path
    assert copy.get_candles.connection.api_url == server.url
    assert copy.format_price.connection is copy.get_candles.connection

    async def read_copy() -> np.ndarray:
        async with closing(copy) as get_candles:
            return await get_candles(SYMBOL, "1m", from_ms(T0 + 50 * MINUTE), 50)

    candles = asyncio.run(read_copy())
    np.testing.assert_array_equal(candles, server.candles[50:100])
    assert server.count(KLINES) == 1


def test_closing_leaves_no_unclosed_session_behind(
    server: FakeBinance, store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with closing(fake_exchange(server, store_path)) as get_candles:
            await get_candles(SYMBOL, "1m", from_ms(T0), 10)

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        asyncio.run(scenario())
        gc.collect()

    assert [str(warning.message) for warning in caught] == []
    assert [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage() or "close()" in r.getMessage()] == []


def test_bad_arguments_name_what_is_wrong(server: FakeBinance, store_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^exchange_id 'nosuchexchange' is not a ccxt exchange id"):
        make_ccxt_exchange("fake", "nosuchexchange")
    with pytest.raises(ValueError, match=r"^option 'secret': API keys come from the OS keyring only"):
        make_ccxt_exchange("fake", "binance", secret="abc")
    with pytest.raises(ValueError, match=r"^page_limit must be a positive int, got 0"):
        make_ccxt_exchange("fake", "binance", page_limit=0)

    async def unknown_symbol() -> None:
        async with closing(fake_exchange(server, store_path)) as get_candles:
            await get_candles("DOGE/USDT", "1m", from_ms(T0), 10)

    with pytest.raises(ccxt.BadSymbol, match=r"^binance does not have market symbol DOGE/USDT$"):
        asyncio.run(unknown_symbol())
    assert server.count(KLINES) == 0


def test_close_ccxt_exchanges_closes_every_ccxt_session_and_skips_the_others(
    server: FakeBinance, store_path: Path
) -> None:
    first = ws.add_exchange(fake_exchange(server, store_path, name="one"))
    second = ws.add_exchange(fake_exchange(server, store_path, name="two"))
    ws.add_exchange(exchange_name="plain", get_candles=lambda *_: [])

    sources: list[CcxtCandles] = []
    for schema in (first, second):
        assert isinstance(schema.get_candles, CcxtCandles)
        sources.append(schema.get_candles)

    async def scenario() -> list[bool]:
        for source in sources:
            await source(SYMBOL, "1m", from_ms(T0), 5)
        sessions = [source.connection._instance.session for source in sources]
        await close_ccxt_exchanges(ws.list_exchanges())
        return [session.closed for session in sessions]

    assert asyncio.run(scenario()) == [True, True]
    assert [source.connection._instance for source in sources] == [None, None]
