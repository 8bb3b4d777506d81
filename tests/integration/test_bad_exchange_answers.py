"""Fault 14: one bad exchange answer never poisons the candle store; every page is judged before it is stored.

A real ccxt binance talks to the local fake server; the bad answers are scripted HTTP bodies, so they travel ccxt's
whole request and parsing path. After each bad answer the store holds no gap and no candle from it, and the next
request against the healthy server gets the right candles.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import numpy as np
import pytest
from exchange_server import MINUTE, T0, FakeBinance, fake_binance, klines_rows, minute_candles

import workstation as ws
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles, ExchangeResponseError
from workstation.exchanges.download import download_history
from workstation.timeutil import from_ms

SYMBOL = "BTC/USDT"
CANDLES = minute_candles(300)  # the first of those the server fixture (tests/conftest.py) serves


def answer(rows: list[list[Any]] | dict[str, Any]) -> tuple[int, str]:
    return 200, json.dumps(rows)


def minutes(candles: np.ndarray) -> list[int]:
    return [(int(stamp) - T0) // MINUTE for stamp in candles["timestamp"]]


def read(get_candles: CcxtCandles, first_minute: int, count: int) -> np.ndarray:
    async def scenario() -> np.ndarray:
        try:
            return await get_candles(SYMBOL, "1m", from_ms(T0 + first_minute * MINUTE), count)
        finally:
            await get_candles.aclose()

    return asyncio.run(scenario())


def klines_starts(server: FakeBinance) -> list[tuple[int, int]]:
    return [((int(q["startTime"]) - T0) // MINUTE, int(q["limit"])) for q in server.klines_requests()]


def with_value(minute: int, field: str, value: float) -> np.ndarray:
    candles = CANDLES[:10].copy()
    candles[field][minute] = value
    return candles


WHERE = "fake BTC/USDT 1m: fetch_ohlcv since 2024-01-01T00:00:00.000Z, limit 10, returned "
REFUSED = [
    pytest.param(
        [*klines_rows(CANDLES[:5]), [T0 + 4 * MINUTE + 30_000, "1", "2", "0.5", "1", "3"], *klines_rows(CANDLES[5:9])],
        WHERE + "a candle at 2024-01-01T00:04:30.000Z that is off the 1-minute grid",
        id="off-grid-row",
    ),
    pytest.param(
        # Ten rows, as many as the page limit, with one minute twice: the tenth minute is not in the answer.
        klines_rows(CANDLES[[0, 1, 2, 3, 4, 4, 5, 6, 7, 8]]),
        WHERE + "the candle at 2024-01-01T00:04:00.000Z twice",
        id="duplicates-up-to-the-limit",
    ),
    pytest.param(
        klines_rows(with_value(3, "close", -1.0)),
        WHERE + "the candle at 2024-01-01T00:03:00.000Z with open 42001.5, high 42011.5, low 41991.5, close -1.0, "
        "volume 4.0 (prices must be positive numbers, the volume zero or more)",
        id="negative-price",
    ),
    pytest.param(
        klines_rows(with_value(7, "volume", -2.0)),
        WHERE + "the candle at 2024-01-01T00:07:00.000Z with open 42003.5, high 42013.5, low 41993.5, close "
        "42003.75, volume -2.0 (prices must be positive numbers, the volume zero or more)",
        id="negative-volume",
    ),
]


@pytest.mark.parametrize(("rows", "message"), REFUSED)
def test_a_page_that_breaks_the_contract_is_refused_whole_and_asked_again(
    server: FakeBinance, store: CandleStore, rows: list[list[Any]], message: str
) -> None:
    server.fail_next_klines([answer(rows)])
    with pytest.raises(ExchangeResponseError) as refused:
        read(fake_binance(server, store, register=False), 0, 10)
    assert str(refused.value) == message + "; the page was not stored"
    assert store.series() == []

    np.testing.assert_array_equal(read(fake_binance(server, store, register=False), 0, 10), CANDLES[:10])
    assert klines_starts(server) == [(0, 10), (0, 10)]


@pytest.mark.parametrize("body", [[], {}], ids=["empty-list", "json-object"])
def test_an_empty_answer_proves_nothing_and_the_next_run_gets_the_candles(
    server: FakeBinance, store: CandleStore, body: list[Any] | dict[str, Any]
) -> None:
    server.fail_next_klines([answer(body)])
    assert len(read(fake_binance(server, store, register=False), 0, 10)) == 0
    assert store.series() == []
    assert store.missing("fake", SYMBOL, "1m", T0, T0 + 10 * MINUTE) == [(T0, T0 + 10 * MINUTE)]

    np.testing.assert_array_equal(read(fake_binance(server, store, register=False), 0, 10), CANDLES[:10])
    assert klines_starts(server) == [(0, 10), (0, 10)]


def test_a_window_shifted_later_is_refused_against_the_candle_already_stored(
    server: FakeBinance, store: CandleStore
) -> None:
    read(fake_binance(server, store, register=False), 0, 100)
    # Asked from minute 99 (stored), the answer starts at minute 129: the first 30 minutes look like a hole.
    server.fail_next_klines([answer(klines_rows(CANDLES[129:230]))])
    with pytest.raises(ExchangeResponseError) as refused:
        read(fake_binance(server, store, register=False), 100, 100)
    assert str(refused.value) == (
        "fake BTC/USDT 1m: fetch_ohlcv since 2024-01-01T01:39:00.000Z, limit 101, returned a window shifted to "
        "start at 2024-01-01T02:09:00.000Z instead of the 2024-01-01T01:39:00.000Z candle it published before; "
        "the page was not stored"
    )
    [series] = store.series()
    assert (series.count, series.gaps, series.covered) == (100, [], [(T0, T0 + 100 * MINUTE)])

    np.testing.assert_array_equal(read(fake_binance(server, store, register=False), 100, 100), CANDLES[100:200])
    assert klines_starts(server) == [(0, 100), (99, 101), (99, 101)]


def test_a_window_shifted_earlier_stores_what_it_proves_and_leaves_the_rest_to_ask(
    server: FakeBinance, store: CandleStore
) -> None:
    read(fake_binance(server, store, register=False), 0, 100)
    # Asked from minute 99, the answer starts at minute 69; ccxt drops what is before the start: 99 ... 169 remain.
    server.fail_next_klines([answer(klines_rows(CANDLES[69:170]))])
    assert minutes(read(fake_binance(server, store, register=False), 100, 100)) == list(range(100, 170))
    [series] = store.series()
    assert (series.count, series.gaps, series.covered) == (170, [], [(T0, T0 + 170 * MINUTE)])

    np.testing.assert_array_equal(read(fake_binance(server, store, register=False), 100, 100), CANDLES[100:200])
    assert klines_starts(server) == [(0, 100), (99, 101), (169, 31)]


def test_a_hole_the_exchange_published_past_is_a_gap_and_only_that(store: CandleStore) -> None:
    with FakeBinance(minute_candles(30, without=range(10, 15))) as holed:
        assert minutes(read(fake_binance(holed, store, register=False), 0, 40)) == [*range(10), *range(15, 30)]
    [series] = store.series()
    assert (series.gaps, series.covered) == ([(T0 + 10 * MINUTE, T0 + 15 * MINUTE)], [(T0, T0 + 30 * MINUTE)])


def test_a_download_asks_for_a_refused_page_again_and_stores_the_good_answer(
    server: FakeBinance, store: CandleStore, caplog: pytest.LogCaptureFixture
) -> None:
    ws.set_config(get_candles_retry_delay_ms=0)
    get_candles = fake_binance(server, store)
    server.fail_next_klines([answer(klines_rows(with_value(2, "low", 0.0)))])

    async def scenario() -> int:
        try:
            summary = await download_history(
                "fake", [SYMBOL], "1m", T0, T0 + 10 * MINUTE, store=store, on_progress=lambda _: None
            )
        finally:
            await get_candles.aclose()
        return summary.downloaded_candles

    with caplog.at_level(logging.WARNING, logger="workstation.exchange"):
        assert asyncio.run(scenario()) == 10
    assert [record.getMessage() for record in caplog.records] == [
        "fetch_ohlcv attempt 1/3 failed: exchange=fake symbol=BTC/USDT interval=1m since=2024-01-01T00:00:00.000Z "
        "limit=10: "
        + WHERE
        + "the candle at 2024-01-01T00:02:00.000Z with open 42001.0, high 42011.0, low 0.0, close 42001.25, "
        "volume 3.0 (prices must be positive numbers, the volume zero or more); the page was not stored"
    ]
    np.testing.assert_array_equal(store.read("fake", SYMBOL, "1m", T0, T0 + 10 * MINUTE), CANDLES[:10])
    assert store.series()[0].gaps == []
